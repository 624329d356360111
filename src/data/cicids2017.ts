/**
 * CIC-IDS2017 loader for both published layouts, mapped to one canonical schema (the improved
 * version's column names, {@link CIC_IDS2017_SCHEMA}):
 * - improved (Engelen et al. 2021): 91 columns, `Label` and `Attempted Category`, per-class CSVs;
 * - original MachineLearningCVE / TrafficLabelling CSVs: leading spaces in headers, 'Infinity' and
 *   'NaN' values, a duplicated 'Fwd Header Length', older names ({@link CIC_ORIGINAL_RENAME}).
 *
 * Columns the original layout lacks (Fwd/Bwd RST Flags, ICMP Code/Type, Total TCP Flow Time, and
 * in MachineLearningCVE every id/address/timestamp column) are absent from the frame, not invented.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCicIds2017 } from "./cicids2017.ts";
 * const df = loadCicIds2017("cic-ids2017");
 * assert.equal(df.height, 25127);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import {
  type ColumnSpec,
  firstLine,
  frameAsCsv,
  isParquetPath,
  listSourceFiles,
  parseTable,
  readBytes,
  readParquetFile,
  splitCsvLine,
  typedFrame,
} from "./csv.ts";
import { CIC_COLUMNS, CIC_IDS2017_SCHEMA } from "./schema.ts";
import { cicAttackName, cicCategory, labelFromCategory, mapDistinct, withTargets } from "./targets.ts";
import { type LoaderOptions, resolveSource, selectColumns } from "./source.ts";
import { InputError } from "../util/errors.ts";

/**
 * Original-release header (trimmed) → canonical (improved) name, for every name that differs.
 * The second 'Fwd Header Length' of MachineLearningCVE (pandas: 'Fwd Header Length.1') duplicates
 * the first and is dropped.
 */
export const CIC_ORIGINAL_RENAME: Readonly<Record<string, string>> = {
  "Source IP": "Src IP",
  "Source Port": "Src Port",
  "Destination IP": "Dst IP",
  "Destination Port": "Dst Port",
  "Total Fwd Packets": "Total Fwd Packet",
  "Total Backward Packets": "Total Bwd packets",
  "Total Length of Fwd Packets": "Total Length of Fwd Packet",
  "Total Length of Bwd Packets": "Total Length of Bwd Packet",
  "Min Packet Length": "Packet Length Min",
  "Max Packet Length": "Packet Length Max",
  "CWE Flag Count": "CWR Flag Count",
  "Avg Fwd Segment Size": "Fwd Segment Size Avg",
  "Avg Bwd Segment Size": "Bwd Segment Size Avg",
  "Fwd Avg Bytes/Bulk": "Fwd Bytes/Bulk Avg",
  "Fwd Avg Packets/Bulk": "Fwd Packet/Bulk Avg",
  "Fwd Avg Bulk Rate": "Fwd Bulk Rate Avg",
  "Bwd Avg Bytes/Bulk": "Bwd Bytes/Bulk Avg",
  "Bwd Avg Packets/Bulk": "Bwd Packet/Bulk Avg",
  "Bwd Avg Bulk Rate": "Bwd Bulk Rate Avg",
  "Init_Win_bytes_forward": "FWD Init Win Bytes",
  "Init_Win_bytes_backward": "Bwd Init Win Bytes",
  "act_data_pkt_fwd": "Fwd Act Data Pkts",
  "min_seg_size_forward": "Fwd Seg Size Min",
};

const DROP_PREFIX = "__drop_";
const STRING_COLS = new Set(["Flow ID", "Src IP", "Dst IP", "Timestamp", "Label"]);
const INT_COLS = new Set(["id", "Src Port", "Dst Port", "Attempted Category"]);
const CANON_LOWER = new Map<string, string>(CIC_COLUMNS.map((c) => [c.toLowerCase(), c]));
const RENAME_LOWER = new Map(Object.entries(CIC_ORIGINAL_RENAME).map(([k, v]) => [k.toLowerCase(), v]));

/** Which layout a header is in. */
export type CicLayout = "improved" | "original";

/**
 * Maps a header line (or a Parquet file's column names) to canonical column specs; throws InputError for
 * names it does not know.
 */
export function cicHeader(
  line: string | readonly string[],
  file: string,
): { columns: ColumnSpec[]; layout: CicLayout } {
  if (typeof line === "string" && line.trim() === "") {
    throw new InputError("empty file: expected a CIC-IDS2017 header line and rows", { file });
  }
  const raw = (typeof line === "string" ? splitCsvLine(line) : line).map((h) => h.trim());
  const seen = new Set<string>();
  let original = false;
  const columns: ColumnSpec[] = raw.map((h, i) => {
    const low = h.toLowerCase();
    let name = CANON_LOWER.get(low);
    if (!name) {
      name = RENAME_LOWER.get(low);
      if (name) original = true;
    }
    if (!name && low === "fwd header length.1") name = "Fwd Header Length";
    if (!name) {
      throw new InputError(
        `unknown CIC-IDS2017 column "${h}" (expected the improved names or the original MachineLearningCVE names; see docs/datasets.md)`,
        { file, line: 1, column: i + 1 },
      );
    }
    if (seen.has(name)) {
      // The original release repeats 'Fwd Header Length' (same values): keep the first.
      if (name === "Fwd Header Length") return { name: `${DROP_PREFIX}${i}`, type: "num", nullable: true };
      throw new InputError(`duplicate column "${h}"`, { file, line: 1, column: i + 1 });
    }
    seen.add(name);
    return { name, type: STRING_COLS.has(name) ? "str" : INT_COLS.has(name) ? "int" : "num" };
  });
  if (!seen.has("Label")) {
    throw new InputError(`no "Label" column in the header; is this a CIC-IDS2017 file?`, { file, line: 1 });
  }
  if (!seen.has("Flow Duration")) {
    throw new InputError(`no "Flow Duration" column in the header; is this a CIC-IDS2017 file?`, {
      file,
      line: 1,
    });
  }
  return { columns, layout: original || !seen.has("Total Fwd Packet") ? "original" : "improved" };
}

/** Options for {@link loadCicIds2017}. */
export interface CicOptions extends LoaderOptions {
  /**
   * How to label improved-version flows marked "... - Attempted" (attack attempts that carried no
   * attack): "attack" (default: label 1, family of the attack) or "benign" (label 0, category
   * "normal"; `attack` keeps the raw name so they stay identifiable).
   */
  attempted?: "attack" | "benign";
}

/**
 * Loads CIC-IDS2017 from `cic-ids2017` (the vendored improved sample) or a path: one CSV (plain or
 * .gz) or a directory of per-class CSVs, in either layout.
 */
export function loadCicIds2017(source: string, opts: CicOptions = {}): pl.DataFrame {
  const files = listSourceFiles(resolveSource(source, "cic-ids2017"));
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const parts: pl.DataFrame[] = [];
  let firstCols: string | undefined;
  for (const file of files) {
    // A Parquet file's columns as they are where they can be taken so, else the CSV text of its rows (what
    // readBytes makes of it), from the frame already read.
    const raw = isParquetPath(file) ? readParquetFile(file) : undefined;
    const kept = (raw && cicParquetColumns(raw, file)) ??
      cicCsvColumns(raw ? frameAsCsv(raw, true) : readBytes(file), file, warn);
    const sig = kept.columns.join(",");
    if (firstCols !== undefined && sig !== firstCols) {
      throw new InputError(`columns differ from ${files[0]}; a directory must hold files of one layout`, {
        file,
        line: 1,
      });
    }
    firstCols = sig;
    parts.push(kept);
  }
  return cicTargets(parts.length === 1 ? parts[0] : pl.concat(parts, { how: "vertical" }), opts);
}

/**
 * A CIC-IDS2017 frame as Parquet holds it (`raw`, a whole file or a piece of one) loaded as
 * {@link loadCicIds2017} loads its CSV, straight from its columns; undefined when only the CSV text of
 * those rows can tell (see {@link typedFrame}), and the caller reads that instead.
 */
export function cicFromParquet(
  raw: pl.DataFrame,
  file: string,
  opts: CicOptions = {},
): pl.DataFrame | undefined {
  const kept = cicParquetColumns(raw, file);
  return kept && cicTargets(kept, opts);
}

/** The canonical columns of a CIC-IDS2017 CSV file's bytes, every empty row skipped and counted. */
function cicCsvColumns(bytes: Uint8Array, file: string, warn: (m: string) => void): pl.DataFrame {
  const { columns } = cicHeader(firstLine(bytes), file);
  const { df, emptyRowsSkipped } = parseTable(bytes, {
    file,
    columns,
    header: true,
    skipEmptyRows: true,
    encoding: "utf8-lossy",
  });
  if (emptyRowsSkipped) warn(`${file}: skipped ${emptyRowsSkipped} rows whose every field is empty`);
  return df.select(...df.columns.filter((c) => !c.startsWith(DROP_PREFIX)));
}

/** The same from a Parquet frame's columns, or undefined (see {@link typedFrame}). */
function cicParquetColumns(raw: pl.DataFrame, file: string): pl.DataFrame | undefined {
  const df = typedFrame(raw, cicHeader(raw.columns, file).columns);
  return df && df.select(...df.columns.filter((c) => !c.startsWith(DROP_PREFIX)));
}

/** Attack name, category and label from the `Label` column, then the canonical column selection. */
function cicTargets(df: pl.DataFrame, opts: CicOptions): pl.DataFrame {
  const attack = mapDistinct(df.getColumn("Label"), "attack", (v) => cicAttackName(v ?? ""));
  const benignAttempts = opts.attempted === "benign";
  const category = mapDistinct(attack, "category", (v) => {
    const a = v ?? "";
    if (benignAttempts && / - attempted$/i.test(a)) return "normal";
    return cicCategory(a);
  });
  const label = labelFromCategory(category);
  return selectColumns(
    withTargets(df.drop("Label"), attack, category, label),
    CIC_IDS2017_SCHEMA,
    opts.features,
  );
}
