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
 * assert.equal(rows, 736);
 * const s = await sampleCsv(path, { rows: 100, seed: 1, rowsPerChunk: 500 });
 * assert.equal(s.df.height, 100);
 * assert.equal(s.sourceRows, 736);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { csvChunks } from "./chunks.ts";
import { type DatasetInfo, datasetInfo, fromParquet, hasHeader, loadDataset } from "./datasets.ts";
import { atParquetRow, frameAsCsv } from "./csv.ts";
import { featureColumns } from "./schema.ts";
import { detectFamily, isParquetPath, loadTable, sniffFirstLine } from "./table.ts";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";

/** Files above this size are read in chunks by default (reading one whole costs ~3.5× its size in memory). */
export const BIG_CSV_BYTES = 64 * 2 ** 20;

/** Whether `source` is a CSV file (plain or gzip; not a dataset name, folder or Parquet) over {@link BIG_CSV_BYTES}. */
export function isBigCsv(source: string): boolean {
  return !isParquetPath(source) && fileOver(source, BIG_CSV_BYTES);
}

/** Whether `source` is a file of more than `bytes` (false for a dataset name or a folder). */
function fileOver(source: string, bytes: number): boolean {
  try {
    const st = Deno.statSync(source);
    return st.isFile && st.size > bytes;
  } catch {
    return false; // a dataset name
  }
}

/**
 * Parquet files above this size are read by row group by default: compressed, a Parquet file holds ~5–10×
 * its size in values (the 1 M-flow flood's 6 MB file read whole by polars took 735 MB).
 */
export const BIG_PARQUET_BYTES = 16 * 2 ** 20;

/** Whether `source` is a Parquet file (`.parquet`, `.pq`) over {@link BIG_PARQUET_BYTES}. */
export function isBigParquet(source: string): boolean {
  return isParquetPath(source) && fileOver(source, BIG_PARQUET_BYTES);
}

/**
 * {@link parquetFrames} for a Parquet file of no known dataset family, {@link csvFrames} for anything else
 * (a Parquet file of a family goes through its loader, as its CSV would).
 */
export async function* tableFrames(input: string, o: CsvFramesOptions = {}): AsyncGenerator<CsvFrame> {
  if (!isParquetPath(input)) return yield* csvFrames(input, o);
  // The family found here is handed on, so that the footer is read once.
  const family = o.schema ?? await detectFamily(input);
  if (family) yield* csvFrames(input, { ...o, schema: family });
  else yield* parquetFrames(input, { rowsPerChunk: o.rowsPerChunk });
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
  /** Bytes of the file on disk read so far (compressed ones for a gzip file), for progress against its size. */
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
  // The CSV form of a Parquet file (readBytes) names its columns unless the family's files never do.
  if (isParquetPath(input)) return { family, header: family === undefined || hasHeader(family) };
  // Only UNSW-NB15 comes both with a header (the train/test sets) and without (the raw parts).
  const header = family === undefined || family === "cic-ids2017" ||
    (family === "unsw-nb15" && /attack_cat/i.test(await sniffFirstLine(input)));
  return { family, header };
}

/**
 * Reads `input` as frames of at most `rowsPerChunk` rows; see the module doc. A Parquet file is read by row
 * group ({@link parquetFrames}), each piece loaded by its family's loader ({@link loadParquetPiece}).
 */
export async function* csvFrames(input: string, o: CsvFramesOptions = {}): AsyncGenerator<CsvFrame> {
  const { family, header } = await csvLayout(input, o.schema);
  const scratch = await Scratch.open("chunk.csv");
  const rowsPerChunk = o.rowsPerChunk ?? 100_000;
  let rowsBefore = 0;
  try {
    if (isParquetPath(input)) {
      for await (const f of parquetFrames(input, { rowsPerChunk })) {
        const before = f.rowsBefore;
        const df = await loadParquetPiece(
          f.df,
          input,
          scratch,
          { family, header, features: o.features },
          (k) => before + k,
        );
        yield { ...f, df };
      }
      return;
    }
    for await (const c of csvChunks(input, { rowsPerChunk, header })) {
      const chunkFile = await scratch.write(c.bytes);
      const before = rowsBefore;
      const relocate = (e: unknown) => relocated(e, input, chunkFile, c.firstLine, header, before);
      // A loader's note names the file it read: the user's, not this scratch copy of a piece of it.
      const warn = (m: string) =>
        console.warn(m.replaceAll(chunkFile, `${input} (the piece from line ${c.firstLine})`));
      let df: pl.DataFrame;
      try {
        df = o.features && family
          ? loadDataset({ name: family, path: chunkFile }, { features: o.features, warn }).df
          : await loadTable(chunkFile, family, warn);
      } catch (e) {
        throw relocate(e);
      }
      yield { df, firstLine: c.firstLine, bytesRead: c.fileBytes, rowsBefore, relocate };
      rowsBefore += df.height;
    }
  } finally {
    await scratch.close();
  }
}

/**
 * Reads a Parquet file as frames of at most `rowsPerChunk` rows, each row group cut into pieces decoded as
 * they come (src/data/parquet.ts): memory holds a group's compressed bytes and one frame's values, whatever
 * the file's size. A frame's
 * `firstLine` is its first row's 1-based number. The columns keep the dtypes polars gives them when it reads
 * the whole file (Int32/Int64, Float32/Float64, String, Boolean), so a frame scores as that file would.
 */
export async function* parquetFrames(
  input: string,
  o: { rowsPerChunk?: number } = {},
): AsyncGenerator<CsvFrame> {
  const { parquetRowGroups } = await import("./parquet.ts");
  // Pieces of a row group are decoded as they come: memory holds one piece's values, not the group's.
  for (const g of parquetRowGroups(input, { rowsPerChunk: o.rowsPerChunk })) {
    const df = pl.DataFrame(g.columns.map((c) => seriesOf(c, c.values)));
    const rowsBefore = g.rowsBefore;
    const relocate = (e: unknown) =>
      !(e instanceof InputError) || e.location.file !== undefined
        ? e
        : e.location.row !== undefined
        ? atFileRow(e, input, rowsBefore)
        : new InputError(`rows ${rowsBefore + 1}–${rowsBefore + df.height}: ${e.detail}`, { file: input }, {
          cause: e,
        });
    yield { df, firstLine: rowsBefore + 1, bytesRead: g.bytesRead, rowsBefore, relocate };
    // A turn of the event loop: polars frees a frame's memory in a finalizer, which runs only there. A
    // consumer that awaits nothing else (data info) held every piece until the end: 3.8 GB against ~0.9 GB
    // on the 2.5 M-row bench file.
    await new Promise((r) => setTimeout(r, 0));
  }
}

/**
 * Rows read from a Parquet file of dataset family `o.family` (a piece, or a sample), loaded as the family's
 * loader loads the same rows of a CSV: straight from their columns where it can ({@link fromParquet}),
 * else from their CSV text, written to `scratch` — an error then names the file's row (`rowOf` maps the
 * k-th row of `raw` to it). Without a family, `raw` as it is.
 */
async function loadParquetPiece(
  raw: pl.DataFrame,
  input: string,
  scratch: Scratch,
  o: { family?: string; header: boolean; features?: string },
  rowOf: (k: number) => number,
): Promise<pl.DataFrame> {
  if (!o.family) return raw;
  const opts = o.features ? { features: o.features } : {};
  const direct = fromParquet(o.family, raw, input, opts);
  if (direct) return direct;
  const file = await scratch.write(frameAsCsv(raw, o.header));
  try {
    return loadDataset({ name: o.family, path: file }, opts).df;
  } catch (e) {
    throw fromScratch(e, file, (e) => atParquetRow(e, o.header, input, rowOf));
  }
}

/** `e` passed through `tell` when it is an InputError about the scratch file `file`; unchanged otherwise. */
function fromScratch(e: unknown, file: string, tell: (e: InputError) => unknown): unknown {
  return e instanceof InputError && e.location.file === file ? tell(e) : e;
}

/**
 * A Parquet column's values as a Series of the dtype polars gives the column reading the whole file. A typed
 * array (a numeric column without nulls) becomes a Series of its own type as it lies; integers narrower
 * than their physical INT32 (Int8, Int16, UInt8, UInt16) are then cast to their width.
 */
function seriesOf(
  c: { name: string; kind: "int" | "float" | "str" | "bool"; bits: number; unsigned?: boolean },
  values: ArrayBufferView | unknown[],
): pl.Series {
  const dtype = dtypeOf(c);
  const s = ArrayBuffer.isView(values)
    ? pl.Series(c.name, values as unknown as number[])
    : pl.Series(c.name, values as unknown[], dtype);
  return c.kind === "int" && c.bits < 32 ? s.cast(dtype) : s;
}

/** The dtype polars gives a Parquet column of this kind when it reads the whole file. */
function dtypeOf(
  c: { kind: "int" | "float" | "str" | "bool"; bits: number; unsigned?: boolean },
): pl.DataType {
  if (c.kind === "str") return pl.Utf8;
  if (c.kind === "bool") return pl.Bool;
  if (c.kind === "float") return c.bits === 32 ? pl.Float32 : pl.Float64;
  const ints = c.unsigned
    ? [pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64]
    : [pl.Int8, pl.Int16, pl.Int32, pl.Int64];
  return ints[Math.max(0, Math.log2(c.bits) - 3)] ?? pl.Int64;
}

/**
 * A uniform random sample of `rows` rows of a Parquet file, in the file's order, as {@link sampleCsv}
 * draws it (the same seed and row count pick the same rows): the count comes from the footer, then the
 * row groups are read in pieces of 100,000 rows and the picked rows kept. Memory holds the sample and one
 * piece.
 */
export async function sampleParquet(
  input: string,
  o: { rows: number; seed?: number; schema?: string; onChunk?: (rows: number) => void },
): Promise<{ df: pl.DataFrame; sourceRows: number }> {
  if (!(Number.isInteger(o.rows) && o.rows >= 1)) {
    throw new RangeError(`sample rows must be an integer ≥ 1, found ${o.rows}`);
  }
  const { parquetLayout, parquetRowGroups } = await import("./parquet.ts");
  const total = parquetLayout(input).rows;
  if (total === 0) throw new InputError("no data rows", { file: input });
  if (total <= o.rows) { // every row: the file whole, as sampleCsv reads it
    return { df: await loadTable(input, (await csvLayout(input, o.schema)).family), sourceRows: total };
  }
  const pick = drawSorted(total, o.rows, new Rng(o.seed ?? 0)), n = pick.length;
  // A numeric column without nulls is gathered into a typed array of its own type, as parquetFrames hands
  // it to polars (the same dtype); text, booleans and columns with nulls into plain arrays. Pushing every
  // value as a plain number was most of a sample's time (and polars then converted each one).
  type Typed = Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;
  type Col = {
    name: string;
    kind: "int" | "float" | "str" | "bool";
    bits: number;
    unsigned?: boolean;
    typed?: Typed;
    values: unknown[];
  };
  let cols: Col[] = [];
  let at = 0;
  for (const g of parquetRowGroups(input)) {
    if (g.rowsBefore === 0) {
      cols = g.columns.map((c) => {
        const v = c.values;
        const typed = ArrayBuffer.isView(v) ? new (v.constructor as new (n: number) => Typed)(n) : undefined;
        return { name: c.name, kind: c.kind, bits: c.bits, unsigned: c.unsigned, typed, values: [] };
      });
    }
    const a0 = at, base = g.rowsBefore;
    while (at < n && pick[at] < base + g.rows) at++;
    for (let j = 0; j < cols.length; j++) {
      const col = cols[j], src = g.columns[j].values;
      if (col.typed !== undefined && src.constructor === col.typed.constructor) {
        const t = col.typed as Float64Array, from = src as Float64Array;
        for (let k = a0; k < at; k++) t[k] = from[pick[k] - base];
        continue;
      }
      if (col.typed !== undefined) { // nulls in this group: plain values from here on
        col.values = Array.from(col.typed.subarray(0, a0) as Float64Array, Number);
        col.typed = undefined;
      }
      for (let k = a0; k < at; k++) {
        const v = src[pick[k] - base];
        col.values.push(typeof v === "bigint" ? Number(v) : v);
      }
    }
    o.onChunk?.(g.rows);
  }
  const df = pl.DataFrame(
    cols.map((c) => seriesOf(c, c.typed ?? c.values)),
  );
  // A file of a dataset family: the sample goes through the family's loader, as a CSV sample does.
  const scratch = await Scratch.open("sample.csv");
  try {
    const layout = await csvLayout(input, o.schema);
    return {
      df: await loadParquetPiece(df, input, scratch, layout, (k) => pick[k - 1] + 1),
      sourceRows: total,
    };
  } finally {
    await scratch.close();
  }
}

/**
 * A file the loaders read one chunk at a time: in memory (/dev/shm) where the system has one with room,
 * else in the temp folder (a container's /dev/shm is often 64 MB, less than a chunk).
 */
class Scratch {
  #dirs: string[] = [];
  #path: string;
  private constructor(dir: string, readonly name: string) {
    this.#dirs.push(dir);
    this.#path = join(dir, name);
  }

  static async open(name: string): Promise<Scratch> {
    let shm: string | undefined;
    try {
      shm = Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
    } catch { /* not Linux */ }
    return new Scratch(await Deno.makeTempDir({ prefix: "nadir-chunk-", dir: shm }), name);
  }

  /** Writes `bytes` as the scratch file and returns its path. */
  async write(bytes: Uint8Array): Promise<string> {
    try {
      await Deno.writeFile(this.#path, bytes);
    } catch (e) {
      if (this.#dirs.length > 1) throw e;
      // No room in memory: the temp folder from now on.
      await Deno.remove(this.#path).catch(() => {});
      const dir = await Deno.makeTempDir({ prefix: "nadir-chunk-" });
      this.#dirs.push(dir);
      this.#path = join(dir, this.name);
      await Deno.writeFile(this.#path, bytes);
    }
    return this.#path;
  }

  async close(): Promise<void> {
    for (const d of this.#dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

/**
 * An error found in a chunk, told against the input file and its own line numbers; one that names a row
 * of the chunk's frame and no file (a cell found wrong once the rows were read), against the file's row.
 */
function relocated(
  e: unknown,
  input: string,
  chunkFile: string,
  firstLine: number,
  header: boolean,
  rowsBefore: number,
): unknown {
  if (e instanceof InputError && e.location.file === undefined && e.location.row !== undefined) {
    return atFileRow(e, input, rowsBefore);
  }
  return fromScratch(e, chunkFile, (e) => {
    const l = e.location.line;
    const line = l === undefined ? undefined : header ? (l === 1 ? 1 : firstLine + l - 2) : firstLine + l - 1;
    return atFileRow(e, input, rowsBefore, line);
  });
}

/**
 * `e`, found in a frame that starts after `rowsBefore` rows of `input`, told against the file: its data
 * row (if it names one) counted from the file's first, and `line` when the caller mapped one.
 */
function atFileRow(e: InputError, input: string, rowsBefore: number, line?: number): InputError {
  const row = e.location.row === undefined ? undefined : rowsBefore + e.location.row;
  return new InputError(e.detail, { ...e.location, file: input, line: line ?? e.location.line, row }, {
    cause: e,
  });
}

/** The line breaks in `b[from, to)`, found with indexOf (no loop per byte). */
function newlines(b: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = b.indexOf(0x0a, from); i !== -1 && i < to; i = b.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** Options for {@link sampleCsv}. */
export interface SampleCsvOptions extends CsvFramesOptions {
  /** Rows to keep (the whole file when it has no more). */
  rows: number;
  seed?: number;
  /** Called with each chunk's rows, in both passes (progress). */
  onChunk?: (rows: number, pass: 1 | 2) => void;
}

/**
 * A uniform random sample of `rows` rows of `input` without replacement, in the file's order, read in
 * chunks, twice: the first pass counts the rows (no parsing beyond the line breaks), a seeded draw picks
 * which (Floyd's algorithm), the second copies the picked rows' bytes, and the family's loader reads them
 * once, as one file (an error names `input` and the row's own line). Memory holds the sample and one
 * chunk whatever the file's size — loading every chunk into a frame and keeping a few rows of each piled
 * up native memory the garbage collector does not see (8 GB at 16 M rows). The same seed and file give the
 * same sample, whatever the chunk size.
 */
export async function sampleCsv(
  input: string,
  o: SampleCsvOptions,
): Promise<{ df: pl.DataFrame; sourceRows: number }> {
  if (!(Number.isInteger(o.rows) && o.rows >= 1)) {
    throw new RangeError(`sample rows must be an integer ≥ 1, found ${o.rows}`);
  }
  const { family, header } = await csvLayout(input, o.schema);
  const rowsPerChunk = o.rowsPerChunk ?? 100_000;
  let total = 0;
  for await (const c of csvChunks(input, { rowsPerChunk, header, bytes: false })) {
    total += c.rows;
    o.onChunk?.(c.rows, 1);
  }
  if (total === 0) throw new InputError("no data rows", { file: input });
  // A sample of every row is the file: read it whole, as the loaders do (memory holds the sample anyway).
  if (total <= o.rows) return { df: await loadTable(input, family), sourceRows: total };
  const pick = drawSorted(total, o.rows, new Rng(o.seed ?? 0));
  // The picked rows' bytes, after room for the header: grown by doubling, no array per row or run.
  let bytes = new Uint8Array(1 << 20), size = 0;
  const lines = new Float64Array(pick.length); // the file line of each picked row
  let headed = !header;
  let before = 0, at = 0;
  for await (const c of csvChunks(input, { rowsPerChunk, header, rowEnds: true })) {
    const ends = c.rowEnds!, b = c.bytes;
    const start0 = c.headerLength;
    if (!headed) {
      if (start0 > bytes.length) bytes = new Uint8Array(2 * start0);
      bytes.set(b.subarray(0, start0));
      size = start0;
      headed = true;
    }
    let line = c.firstLine, lineAt = start0;
    while (at < pick.length && pick[at] < before + c.rows) {
      // A run of picked rows that follow each other in the file is one copy.
      const r0 = pick[at] - before, from = r0 === 0 ? start0 : ends[r0 - 1];
      // Lines to each row: rows may hold quoted newlines, so they are counted.
      line += newlines(b, lineAt, from);
      lineAt = from;
      let r = r0;
      for (;;) {
        lines[at++] = line;
        line += newlines(b, lineAt, ends[r]);
        lineAt = ends[r];
        if (!(at < pick.length && pick[at] === before + r + 1 && r + 1 < c.rows)) break;
        r++;
      }
      const n = ends[r] - from;
      if (size + n > bytes.length) {
        const grown = new Uint8Array(Math.max(2 * bytes.length, size + n));
        grown.set(bytes.subarray(0, size));
        bytes = grown;
      }
      bytes.set(b.subarray(from, ends[r]), size);
      size += n;
    }
    before += c.rows;
    o.onChunk?.(c.rows, 2);
  }
  const scratch = await Scratch.open("sample.csv");
  try {
    const file = await scratch.write(bytes.subarray(0, size));
    bytes = new Uint8Array(0); // the loader reads the file: let the copy go
    try {
      return { df: await loadTable(file, family), sourceRows: total };
    } catch (e) {
      throw fromScratch(e, file, (e) => {
        const l = e.location.line;
        const k = l === undefined ? -1 : header ? l - 2 : l - 1;
        const line = k >= 0 && k < lines.length ? lines[k] : l === 1 && header ? 1 : undefined;
        return new InputError(e.detail, { ...e.location, file: input, line }, { cause: e });
      });
    }
  } finally {
    await scratch.close();
  }
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
