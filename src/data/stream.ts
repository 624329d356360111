/**
 * A CSV file bigger than memory read as a sequence of data frames of a
 * bounded number of rows, each loaded by the ordinary loader of the file's
 * dataset family (the same schema checks, the same errors), with the error
 * told against the big file's own line. On top of it: a seeded uniform
 * sample of rows ({@link sampleCsv}, what training takes from a file too big
 * to load), and the dataset summary of `nadir data info` ({@link csvInfo}).
 *
 * Each chunk (src/data/chunks.ts) is handed to the loader as a file in memory
 * (/dev/shm where the system has one): the loaders read files, and a 100,000-row
 * chunk costs ~60 MB there for a few milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvFrames, sampleCsv } from "./stream.ts";
 * const path = "data/cic-ids2017/Botnet_736.csv.gz";
 * let rows = 0;
 * for await (const f of csvFrames(path, { rowsPerChunk: 500 })) rows += f.df.height;
 * assert.equal(rows, 2500);
 * const s = await sampleCsv(path, { rows: 100, seed: 1, rowsPerChunk: 500 });
 * assert.equal(s.df.height, 100);
 * assert.equal(s.sourceRows, 2500);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { csvChunks } from "./chunks.ts";
import { type DatasetInfo, datasetInfo, loadDataset } from "./datasets.ts";
import { featureColumns } from "./schema.ts";
import { detectFamily, loadTable, sniffFirstLine } from "./table.ts";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";

/** Files above this size are read in chunks by default (reading one whole costs ~3.5× its size in memory). */
export const BIG_CSV_BYTES = 64 * 2 ** 20;

/** Whether `source` is a CSV file (plain or gzip; not a dataset name, folder or Parquet) over {@link BIG_CSV_BYTES}. */
export function isBigCsv(source: string): boolean {
  if (/\.(parquet|pq)$/i.test(source)) return false;
  try {
    const st = Deno.statSync(source);
    return st.isFile && st.size > BIG_CSV_BYTES;
  } catch {
    return false; // a dataset name
  }
}

/** Options for {@link csvFrames}. */
export interface CsvFramesOptions {
  /** Dataset family of the file when detection fails (as `--schema`). */
  schema?: string;
  /** Rows per frame (default 100,000). */
  rowsPerChunk?: number;
  /** Feature set the loader keeps (as `--features`; default all); needs a known family. */
  features?: string;
}

/** One chunk of a big file, loaded. */
export interface CsvFrame {
  df: pl.DataFrame;
  /** 1-based line of the file the frame's first row is on. */
  firstLine: number;
  /** Bytes of the file (uncompressed) read so far, for progress. */
  bytesRead: number;
  /** Rows of the file before this frame. */
  rowsBefore: number;
  /**
   * An error met while working on this frame (loading it, or scoring it later), told against the big
   * file and its own line numbers; other errors come back unchanged.
   */
  relocate(e: unknown): unknown;
}

/**
 * The dataset family of `input` and whether its CSV has a header line: KDD-style files and UNSW-NB15's
 * released CSVs have none, the others do.
 */
export async function csvLayout(
  input: string,
  schema?: string,
): Promise<{ family?: string; header: boolean }> {
  const family = schema ?? await detectFamily(input);
  const first = await sniffFirstLine(input);
  const header = family === undefined || family === "cic-ids2017" ||
    (family === "unsw-nb15" && /attack_cat/i.test(first));
  return { family, header };
}

/** Reads `input` as frames of at most `rowsPerChunk` rows; see the module doc. */
export async function* csvFrames(input: string, o: CsvFramesOptions = {}): AsyncGenerator<CsvFrame> {
  const { family, header } = await csvLayout(input, o.schema);
  let shm: string | undefined;
  try {
    shm = Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
  } catch { /* not Linux */ }
  const dir = await Deno.makeTempDir({ prefix: "nadir-chunk-", dir: shm });
  const chunkFile = join(dir, "chunk.csv");
  let bytesRead = 0, rowsBefore = 0;
  try {
    for await (const c of csvChunks(input, { rowsPerChunk: o.rowsPerChunk ?? 100_000, header })) {
      await Deno.writeFile(chunkFile, c.bytes);
      const relocate = (e: unknown) => relocated(e, input, chunkFile, c.firstLine, header);
      let df: pl.DataFrame;
      try {
        df = o.features && family
          ? loadDataset({ name: family, path: chunkFile }, { features: o.features }).df
          : await loadTable(chunkFile, family);
      } catch (e) {
        throw relocate(e);
      }
      bytesRead += c.bytes.length;
      yield { df, firstLine: c.firstLine, bytesRead, rowsBefore, relocate };
      rowsBefore += df.height;
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** An error found in a chunk, told against the input file and its own line numbers. */
function relocated(
  e: unknown,
  input: string,
  chunkFile: string,
  firstLine: number,
  header: boolean,
): unknown {
  if (!(e instanceof InputError) || e.location.file !== chunkFile) return e;
  const l = e.location.line;
  const line = l === undefined ? undefined : header ? (l === 1 ? 1 : firstLine + l - 2) : firstLine + l - 1;
  return new InputError(e.detail, { ...e.location, file: input, line }, { cause: e });
}

/** Options for {@link sampleCsv}. */
export interface SampleCsvOptions extends CsvFramesOptions {
  /** Rows to keep (the whole file when it has no more). */
  rows: number;
  seed?: number;
  /** Called after each chunk of the second pass (progress). */
  onFrame?: (f: CsvFrame) => void;
}

/**
 * A uniform random sample of `rows` rows of `input` without replacement, in the file's order, read in
 * chunks, twice: the first pass counts the rows (no parsing beyond the line breaks), a seeded draw picks
 * which (Floyd's algorithm), and the second pass keeps them from each loaded chunk. Memory holds the
 * sample and one chunk whatever the file's size; the same seed and file give the same sample, whatever
 * the chunk size. A blank line counts as a row when drawing (the loaders skip it), so a file with blank
 * lines can give a few rows fewer.
 */
export async function sampleCsv(
  input: string,
  o: SampleCsvOptions,
): Promise<{ df: pl.DataFrame; sourceRows: number }> {
  if (!(Number.isInteger(o.rows) && o.rows >= 1)) {
    throw new RangeError(`sample rows must be an integer ≥ 1, found ${o.rows}`);
  }
  const { header } = await csvLayout(input, o.schema);
  let lines = 0;
  for await (const c of csvChunks(input, { rowsPerChunk: 100_000, header })) lines += c.rows;
  const pick = drawSorted(lines, o.rows, new Rng(o.seed ?? 0));
  const parts: pl.DataFrame[] = [];
  let total = 0, at = 0;
  for await (const f of csvFrames(input, o)) {
    const n = f.df.height;
    const from = at;
    while (at < pick.length && pick[at] < total + n) at++;
    if (at - from === n) parts.push(f.df);
    else if (at > from) {
      const mask = new Array<boolean>(n).fill(false);
      for (let i = from; i < at; i++) mask[pick[i] - total] = true;
      parts.push(f.df.filter(pl.Series(mask)));
    }
    total += n;
    o.onFrame?.(f);
  }
  if (total === 0) throw new InputError("no data rows", { file: input });
  const df = parts.length === 1 ? parts[0] : pl.concat(parts, { how: "vertical" });
  return { df, sourceRows: total };
}

/** `k` distinct integers of [0, n) drawn uniformly (Floyd's algorithm), ascending; all of them when k ≥ n. */
function drawSorted(n: number, k: number, rng: Rng): Float64Array {
  if (k >= n) return Float64Array.from({ length: n }, (_, i) => i);
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Float64Array.from(chosen).sort();
}

/** `nadir data info` of a file read in chunks: the same object as {@link datasetInfo} of the whole file. */
export async function csvInfo(
  name: string,
  input: string,
  o: CsvFramesOptions & { onFrame?: (f: CsvFrame) => void } = {},
): Promise<DatasetInfo> {
  let sum: DatasetInfo | undefined;
  for await (const f of csvFrames(input, { ...o, schema: o.schema ?? name })) {
    const part = datasetInfo(name, f.df, featureColumns(f.df, o.features ?? "all"));
    if (!sum) sum = part;
    else {
      sum.rows += part.rows;
      for (const k of ["0", "1"] as const) sum.label_counts[k] += part.label_counts[k];
      for (const [c, n] of Object.entries(part.category_counts)) {
        sum.category_counts[c] = (sum.category_counts[c] ?? 0) + n;
      }
    }
    o.onFrame?.(f);
  }
  if (!sum) throw new InputError("no data rows", { file: input });
  sum.category_counts = Object.fromEntries(
    Object.entries(sum.category_counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
  );
  return sum;
}
