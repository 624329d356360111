/**
 * UNSW-NB15 loader (Moustafa & Slay 2015) for both published forms:
 * - the official training/testing CSVs (UNSW_NB15_training-set.csv / testing-set.csv): a header of
 *   45 lower-case names, optionally preceded by a UTF-8 byte-order mark → {@link UNSW_NB15_SCHEMA};
 * - the raw UNSW-NB15_1..4.csv files: no header, the 49 published features
 *   ({@link UNSW_RAW_COLUMNS}) → {@link UNSW_NB15_RAW_SCHEMA}, renamed to the training/testing names
 *   where those exist ({@link UNSW_RAW_RENAME}).
 *
 * In the raw files ct_flw_http_mthd, is_ftp_login and ct_ftp_cmd are blank (or a space) for most
 * flows; the training/testing CSVs carry 0 there, so a blank reads as 0. Any other non-number is an
 * error. sport/dsport stay strings (the raw files hold hex values such as "0x000b" and "-").
 *
 * @example
 * ```ts ignore
 * import { loadUnswNb15 } from "./unsw_nb15.ts";
 * const df = loadUnswNb15("UNSW_NB15_training-set.csv");
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { type ColumnSpec, firstLine, listSourceFiles, parseTable, readBytes, splitCsvLine } from "./csv.ts";
import {
  UNSW_COLUMNS,
  UNSW_NB15_RAW_SCHEMA,
  UNSW_NB15_SCHEMA,
  UNSW_RAW_COLUMNS,
  UNSW_RAW_RENAME,
} from "./schema.ts";
import { mapDistinct, unswCategory, withTargets } from "./targets.ts";
import { type LoaderOptions, resolveSource, selectColumns } from "./source.ts";
import { InputError } from "../util/errors.ts";

const OFFICIAL_STR = new Set(["proto", "service", "state", "attack_cat"]);
const RAW_STR = new Set(["srcip", "sport", "dstip", "dsport", "proto", "state", "service", "attack_cat"]);
const RAW_BLANK_IS_ZERO = ["ct_flw_http_mthd", "is_ftp_login", "ct_ftp_cmd"];

/** Which UNSW-NB15 form a file is in. */
export type UnswLayout = "official" | "raw";

function officialSpecs(header: string[], file: string): ColumnSpec[] {
  const expected = new Set<string>(UNSW_COLUMNS);
  const seen = new Set<string>();
  const specs = header.map((h, i): ColumnSpec => {
    const name = h.trim().toLowerCase();
    if (!expected.has(name)) {
      throw new InputError(`unknown UNSW-NB15 column "${h}"; expected the training/testing-set names`, {
        file,
        line: 1,
        column: i + 1,
      });
    }
    if (seen.has(name)) throw new InputError(`duplicate column "${h}"`, { file, line: 1, column: i + 1 });
    seen.add(name);
    return {
      name,
      type: name === "id" || name === "label" ? "int" : OFFICIAL_STR.has(name) ? "str" : "num",
      nullable: name === "attack_cat",
    };
  });
  const missing = UNSW_COLUMNS.filter((c) => !seen.has(c));
  if (missing.length) {
    throw new InputError(`missing UNSW-NB15 column(s) ${missing.join(", ")}`, { file, line: 1 });
  }
  return specs;
}

function rawSpecs(): ColumnSpec[] {
  return UNSW_RAW_COLUMNS.map((name): ColumnSpec => {
    if (RAW_BLANK_IS_ZERO.includes(name)) return { name, type: "str", nullable: true };
    if (name === "attack_cat") return { name, type: "str", nullable: true };
    if (name === "Label") return { name, type: "int" };
    return { name, type: RAW_STR.has(name) ? "str" : "num" };
  });
}

/** Reads the blank-is-zero raw columns as numbers; a non-number names the line (no header). */
function blankToZero(df: pl.DataFrame, file: string, firstDataLine: number): pl.DataFrame {
  const cols: pl.Series[] = [];
  for (const name of RAW_BLANK_IS_ZERO) {
    const values = df.getColumn(name).toArray() as (string | null)[];
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]?.trim() ?? "";
      if (v === "") continue;
      const n = Number(v);
      if (!Number.isFinite(n)) {
        throw new InputError(`expected a number or blank, found "${v}"`, {
          file,
          line: i + firstDataLine,
          column: name,
        });
      }
      out[i] = n;
    }
    cols.push(pl.Series(name, out));
  }
  return df.withColumns(...cols);
}

/** Reads one UNSW-NB15 file (either form). */
export function readUnswFile(file: string): { df: pl.DataFrame; layout: UnswLayout } {
  const bytes = readBytes(file);
  const head = splitCsvLine(firstLine(bytes));
  const lower = head.map((h) => h.trim().toLowerCase());
  const hasHeader = lower.includes("attack_cat") || lower.includes("label") || lower.includes("sttl");
  if (hasHeader && !lower.includes("srcip")) {
    const { df } = parseTable(bytes, { file, columns: officialSpecs(head, file), header: true });
    return { df: df.select(...UNSW_COLUMNS), layout: "official" };
  }
  if (hasHeader) {
    // A raw file with the published names added as a header (some mirrors do this).
    const got = lower.join(",");
    const want = UNSW_RAW_COLUMNS.map((c) => c.toLowerCase()).join(",");
    if (got !== want) {
      throw new InputError(`header does not match the 49 published UNSW-NB15 columns`, { file, line: 1 });
    }
  }
  let { df } = parseTable(bytes, { file, columns: rawSpecs(), header: hasHeader });
  df = blankToZero(df, file, hasHeader ? 2 : 1);
  df = df.rename(UNSW_RAW_RENAME as Record<string, string>);
  return { df, layout: "raw" };
}

/**
 * Loads UNSW-NB15 from a path (a file, .gz, or a directory of files of one form). There is no
 * vendored copy: `unsw-nb15` always needs a path.
 */
export function loadUnswNb15(source: string, opts: LoaderOptions = {}): pl.DataFrame {
  const files = listSourceFiles(resolveSource(source, "unsw-nb15"));
  const parts = files.map((f) => ({ file: f, ...readUnswFile(f) }));
  const layout = parts[0].layout;
  const bad = parts.find((p) => p.layout !== layout);
  if (bad) {
    throw new InputError(`is in the ${bad.layout} form but ${parts[0].file} is ${layout}; do not mix them`, {
      file: bad.file,
    });
  }
  const df = parts.length === 1 ? parts[0].df : pl.concat(parts.map((p) => p.df), { how: "vertical" });
  const raw = df.getColumn("label").toArray() as number[];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0 && raw[i] !== 1) {
      throw new InputError(`label must be 0 or 1, found ${raw[i]} (row ${i + 1})`, {
        file: source,
        column: "label",
      });
    }
  }
  const category = mapDistinct(df.getColumn("attack_cat"), "category", unswCategory);
  const cats = category.toArray() as string[];
  // A label-0 row is benign whatever attack_cat says; attack is the trimmed attack_cat otherwise.
  const attackCat = df.getColumn("attack_cat").toArray() as (string | null)[];
  const attack = pl.Series(
    "attack",
    raw.map((l, i) => (l === 0 ? "normal" : (attackCat[i] ?? "").trim() || "unknown")),
    pl.Utf8,
  );
  const fixedCat = pl.Series(
    "category",
    raw.map((l, i) => (l === 0 ? "normal" : cats[i] === "normal" ? "unknown" : cats[i])),
    pl.Utf8,
  );
  const label = pl.Series("label", Int32Array.from(raw));
  const schema = layout === "official" ? UNSW_NB15_SCHEMA : UNSW_NB15_RAW_SCHEMA;
  return selectColumns(withTargets(df.drop("label"), attack, fixedCat, label), schema, opts.features);
}
