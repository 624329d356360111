/**
 * A training corpus of flows from many files: captures (pcap, pcapng) are
 * metered with a feature set's own defaults, as `nadir flows --features SET`
 * meters them; flow tables (CSV or Parquet, e.g. `nadir flows` output or a
 * CIC-IDS2017 CSV) contribute the same feature columns. The result is one
 * matrix of the set's numeric, non-metadata columns — what `nadir pretrain`
 * trains on — plus what each file gave, so a run can say where its rows came
 * from.
 *
 * Folders are searched recursively for captures only (`.pcap`, `.pcapng`,
 * `.cap`): a data folder also holds CSVs of other schemas, which a flow table
 * must be named to join. Damaged captures are read up to the damage (the
 * reader's default) and the damage is reported per file; a file that is not a
 * capture or lacks a feature column is an error naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flowCorpus } from "./corpus.ts";
 * const c = await flowCorpus(["data/pcaps/zeek-smtp.pcap"], { features: "cic" });
 * assert.equal(c.files.length, 1);
 * assert.equal(c.matrix.rows, c.files[0].flows);
 * assert.ok(c.matrix.names.includes("Flow Duration"));
 * ```
 * @module
 */
import { extname, join } from "node:path";
import type { Matrix } from "../data/matrix.ts";
import { InputError, withFile } from "../util/errors.ts";
import { Progress } from "../util/progress.ts";
import { featureSet, type FeatureSetName } from "./features/mod.ts";
import type { Column, FeatureSet } from "./features/types.ts";
import { meterFile, type MeterFileSummary } from "./pipeline.ts";

/** Extensions a folder is searched for. */
export const CAPTURE_EXTENSIONS: readonly string[] = [".pcap", ".pcapng", ".cap"];
const TABLE_EXTENSIONS = [".csv", ".csv.gz", ".parquet"];

/** What one file gave. */
export interface CorpusFile {
  file: string;
  kind: "capture" | "flows";
  flows: number;
  /** Packets read (captures). */
  packets?: number;
  /** The reader's damage summary ("" when none; captures). */
  damage?: string;
}

/** A metered corpus: one matrix over every file, in input order. */
export interface FlowCorpus {
  matrix: Matrix;
  files: CorpusFile[];
  features: FeatureSetName;
}

/** Options for {@link flowCorpus}. */
export interface FlowCorpusOptions {
  /** Feature set captures are metered with and tables must carry (default "cic"). */
  features?: FeatureSetName;
  /** No progress bar. */
  silent?: boolean;
}

/** The numeric, non-metadata columns of a feature set: what a flow model is trained on. */
export function modelColumns(fs: FeatureSet): string[] {
  return fs.columns.filter((c) => !c.meta && c.type !== "str").map((c) => c.name);
}

/**
 * The files `inputs` name, folders expanded (recursively, captures only, sorted by path so a run is
 * repeatable). A missing input or a folder without captures is an error.
 */
export async function corpusFiles(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile && CAPTURE_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  for (const input of inputs) {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(input);
    } catch {
      throw new InputError("no such file or folder", { file: input });
    }
    if (st.isDirectory) {
      const before = out.length;
      await walk(input);
      if (out.length === before) {
        throw new InputError(
          `expected captures (${CAPTURE_EXTENSIONS.join(", ")}) in the folder, found none`,
          {
            file: input,
          },
        );
      }
    } else out.push(input);
  }
  return out;
}

/**
 * Meters a capture with `features` and appends each flow's model columns ({@link modelColumns}, in
 * order) to `values`; `onRow` also sees the whole row (metadata included), e.g. to label it.
 */
export async function meterModelRows(
  file: string,
  features: FeatureSetName,
  values: number[],
  onRow?: (row: readonly (number | string)[], columns: readonly Column[]) => void,
): Promise<MeterFileSummary> {
  const fs = featureSet(features);
  const at = fs.columns.map((c) => c.name);
  const idx = modelColumns(fs).map((n) => at.indexOf(n));
  return await meterFile(file, {
    features,
    onRow: (row, columns) => {
      for (const i of idx) values.push(Number(row[i]));
      onRow?.(row, columns);
    },
  });
}

/** Meters and reads every file of `inputs` (see the module docs) into one matrix. */
export async function flowCorpus(
  inputs: readonly string[],
  opts: FlowCorpusOptions = {},
): Promise<FlowCorpus> {
  const features = opts.features ?? "cic";
  const names = modelColumns(featureSet(features));
  const files = await corpusFiles(inputs);
  const values: number[] = [];
  const done: CorpusFile[] = [];
  const bar = new Progress({ label: "pretrain corpus", total: files.length, silent: opts.silent });
  for (const file of files) {
    if (TABLE_EXTENSIONS.some((e) => file.toLowerCase().endsWith(e))) {
      done.push(await readFlowTable(file, names, values));
    } else {
      const s = await meterModelRows(file, features, values);
      done.push({ file, kind: "capture", flows: s.flows, packets: s.capture.packets, damage: s.damage });
    }
    bar.update(done.length, { flows: values.length / names.length });
  }
  bar.done();
  const rows = values.length / names.length;
  return {
    matrix: { data: Float64Array.from(values), rows, cols: names.length, names },
    files: done,
    features,
  };
}

/** Appends a flow table's feature columns (row-major) to `values`. */
async function readFlowTable(file: string, names: string[], values: number[]): Promise<CorpusFile> {
  const { loadTable } = await import("../data/table.ts");
  const { numericColumn } = await import("../data/frame.ts");
  const df = await loadTable(file);
  const missing = names.filter((n) => !df.columns.includes(n));
  if (missing.length) {
    throw new InputError(
      `expected the feature set's ${names.length} columns in the flow table; missing ${missing.length}: ${
        missing.slice(0, 5).join(", ")
      }${missing.length > 5 ? ", …" : ""}`,
      { file },
    );
  }
  const cols = await withFile(file, () => Promise.resolve(names.map((n) => numericColumn(df, n))));
  for (let r = 0; r < df.height; r++) for (const c of cols) values.push(c[r]);
  return { file, kind: "flows", flows: df.height };
}
