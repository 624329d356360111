/**
 * A Parquet file read one row group, or one piece of a row group, at a time, for inputs bigger than memory
 * (`nadir predict`, `preprocess` and `train` on a big `.parquet`): nodejs-polars 0.25.2 reads a whole file, its
 * `readParquet` row limit takes no offset, and `scanParquet(…).slice(…)` grew 65 MiB per 100 k-row slice of
 * a 1 M-flow file, which no collection gave back (measured 2026-12-06).
 *
 * Written for nadir from the Apache Parquet format specification. It reads flat schemas (REQUIRED or
 * OPTIONAL columns, no nesting) of BOOLEAN, INT32, INT64, FLOAT, DOUBLE and BYTE_ARRAY values in PLAIN or
 * dictionary encoding (booleans also RLE), data pages of version 1 and 2, uncompressed or compressed with
 * snappy, gzip or zstd — what polars, pyarrow and nadir's own writer produce by default. Anything else
 * (nested columns, INT96, delta encodings, LZ4, Brotli) is an error naming the file, row group and column.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { parquetRowGroups } from "./parquet.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".parquet" });
 * pl.DataFrame({ id: [1, 2, 3], ip: ["a", null, "a"] }).writeParquet(path, { compression: "snappy" });
 * const groups = [...parquetRowGroups(path)];
 * assert.deepEqual(groups.map((g) => g.rows), [3]);
 * assert.deepEqual(groups[0].columns.map((c) => [c.name, [...c.values]]), [
 *   ["id", [1, 2, 3]], // a numeric column without nulls: a typed array (Float64Array here)
 *   ["ip", ["a", null, "a"]],
 * ]);
 * Deno.removeSync(path);
 * ```
 * @module
 */
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { InputError } from "../util/errors.ts";
import { CompactReader, type ThriftStruct, type ThriftValue } from "../util/thrift.ts";

/** One column of a row group. */
export interface ParquetColumn {
  name: string;
  /** What the values are: `int` (INT32/INT64), `float` (FLOAT/DOUBLE), `str` (BYTE_ARRAY), `bool`. */
  kind: "int" | "float" | "str" | "bool";
  /**
   * The bit width of the numbers (32 or 64 by the physical type; 8 or 16 for an INT32 column annotated so),
   * for a reader that keeps it.
   */
  bits: number;
  /**
   * Integers annotated unsigned (UINT_32, INT(32, false)…): their values are unsigned views of the physical
   * ones (Uint32Array, BigUint64Array). Read as signed, a UInt32 column's values ≥ 2³¹ had come out negative.
   */
  unsigned?: boolean;
  /**
   * One value a row. A numeric column without nulls is a typed array of its physical type (Int32Array,
   * BigInt64Array, Float32Array, Float64Array: what polars builds a Series from without a copy per value);
   * otherwise a plain array with null where a row has none (INT64 as numbers).
   */
  values:
    | Int32Array
    | Uint32Array
    | BigInt64Array
    | BigUint64Array
    | Float32Array
    | Float64Array
    | (number | string | boolean | null)[];
}

/** One row group, read. */
export interface ParquetRowGroup {
  rows: number;
  /** Rows of the file before this group. */
  rowsBefore: number;
  /** Bytes of the file read up to the end of this group (for progress against its size). */
  bytesRead: number;
  columns: ParquetColumn[];
}

/** The schema and row groups of a file (its footer). */
export interface ParquetLayout {
  rows: number;
  columns: {
    name: string;
    type: number;
    optional: boolean;
    str: boolean;
    bits?: number;
    unsigned?: boolean;
  }[];
  groups: { rows: number; chunks: { offset: number; length: number; codec: number; values: number }[] }[];
}

const TYPES = ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"];
const CODECS = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"];
const ENCODINGS: Record<number, string> = {
  0: "PLAIN",
  2: "PLAIN_DICTIONARY",
  3: "RLE",
  4: "BIT_PACKED",
  5: "DELTA_BINARY_PACKED",
  6: "DELTA_LENGTH_BYTE_ARRAY",
  7: "DELTA_BYTE_ARRAY",
  8: "RLE_DICTIONARY",
  9: "BYTE_STREAM_SPLIT",
};
const MAGIC = "PAR1";
const dec = new TextDecoder("utf-8", { fatal: false });

/** Reads the footer of `path` (see {@link ParquetLayout}). */
export function parquetLayout(path: string): ParquetLayout {
  const file = openFile(path);
  try {
    const size = file.statSync().size;
    const fail = (what: string) => new InputError(`not a Parquet file: ${what}`, { file: path });
    if (size < 12) throw fail(`${size} bytes, fewer than the 12 of two magics and a footer length`);
    const tail = readAt(file, size - 8, 8);
    if (dec.decode(tail.subarray(4)) !== MAGIC || dec.decode(readAt(file, 0, 4)) !== MAGIC) {
      throw fail(`expected the magic "${MAGIC}" at both ends`);
    }
    const len = new DataView(tail.buffer, tail.byteOffset).getUint32(0, true);
    if (len > size - 12) throw fail(`footer length ${len} exceeds the file (${size} bytes)`);
    let meta: ThriftStruct;
    try {
      meta = new CompactReader(readAt(file, size - 8 - len, len)).struct();
    } catch (e) {
      throw new InputError(`damaged Parquet footer: ${(e as Error).message}`, { file: path });
    }
    return layoutOf(meta, path);
  } finally {
    file.close();
  }
}

function layoutOf(meta: ThriftStruct, path: string): ParquetLayout {
  const schema = (meta[2] ?? []) as ThriftStruct[];
  const root = schema[0];
  const leaves = schema.slice(1);
  const nested = leaves.find((e) => (e[5] as number | undefined) !== undefined || e[3] === 2);
  if (!root || nested || (root[5] as number) !== leaves.length) {
    throw new InputError(
      `nested Parquet schemas are not read here${nested ? ` (column "${text(nested[4])}")` : ""}: ` +
        `expected flat columns`,
      { file: path },
    );
  }
  // BYTE_ARRAY values are read as UTF-8 text: flow tables hold no raw binary columns.
  const columns = leaves.map((e) => ({
    name: text(e[4]),
    type: e[1] as number,
    optional: e[3] === 1,
    str: e[1] === 6,
    ...(e[1] === 1 || e[1] === 2 ? intAnnotation(e) : {}),
  }));
  const groups = ((meta[4] ?? []) as ThriftStruct[]).map((g) => {
    const chunks = ((g[1] ?? []) as ThriftStruct[]).map((c, k) => {
      const m = c[3] as ThriftStruct | undefined;
      if (!m) throw new InputError(`row group column ${k} has no metadata`, { file: path });
      const data = m[9] as number, dict = m[11] as number | undefined;
      const offset = dict !== undefined && dict > 0 && dict < data ? dict : data;
      return { offset, length: m[7] as number, codec: m[4] as number, values: m[5] as number };
    });
    if (chunks.length !== columns.length) {
      throw new InputError(`a row group has ${chunks.length} columns, the schema ${columns.length}`, {
        file: path,
      });
    }
    return { rows: g[3] as number, chunks };
  });
  return { rows: meta[3] as number, columns, groups };
}

/**
 * The integer annotation of an INT32/INT64 schema element: the logical type INTEGER (field 10, its
 * IntType: bit width, signed) or the older converted type (field 6: UINT_8…UINT_64 = 11…14, INT_8…INT_64
 * = 15…18). Nothing when there is none (a plain INT32/INT64).
 */
function intAnnotation(e: ThriftStruct): { bits: number; unsigned: boolean } | Record<never, never> {
  const int = (e[10] as ThriftStruct | undefined)?.[10] as ThriftStruct | undefined;
  if (int && typeof int[1] === "number") return { bits: int[1], unsigned: int[2] === false };
  const ct = e[6];
  if (typeof ct === "number" && ct >= 11 && ct <= 18) {
    return { bits: 8 << ((ct - 11) % 4), unsigned: ct <= 14 };
  }
  return {};
}

/** Options for {@link parquetRowGroups}. */
export interface ParquetReadOptions {
  /**
   * Rows a piece holds at most (default: the whole row group). A row group is cut into pieces of this many
   * rows, decoded page by page as they are asked for: memory holds the group's compressed bytes and one
   * piece's values, not the whole group's.
   */
  rowsPerChunk?: number;
}

/** Reads `path` one row group at a time, or in pieces of a row group (see {@link ParquetReadOptions}). */
export function* parquetRowGroups(path: string, o: ParquetReadOptions = {}): Generator<ParquetRowGroup> {
  const layout = parquetLayout(path);
  const file = openFile(path);
  let rowsBefore = 0;
  try {
    for (let g = 0; g < layout.groups.length; g++) {
      const group = layout.groups[g];
      const step = Math.max(1, Math.min(group.rows, o.rowsPerChunk ?? group.rows));
      let end = 0;
      const where = (k: number) => `row group ${g}, column "${layout.columns[k].name}"`;
      const fail = (k: number, e: unknown) =>
        e instanceof InputError ? e : new InputError(`${where(k)}: ${(e as Error).message}`, { file: path });
      const cursors = layout.columns.map((c, k) => {
        const chunk = group.chunks[k];
        end = Math.max(end, chunk.offset + chunk.length);
        try {
          return new ColumnCursor(readAt(file, chunk.offset, chunk.length), c, chunk.codec, group.rows);
        } catch (e) {
          throw fail(k, e);
        }
      });
      // At least one piece a group, an empty one for a group of no rows.
      for (let from = 0;; from += step) {
        const to = Math.min(group.rows, from + step);
        const columns = cursors.map((cur, k) => {
          try {
            return cur.take(from, to);
          } catch (e) {
            throw fail(k, e);
          }
        });
        yield { rows: to - from, rowsBefore: rowsBefore + from, bytesRead: end, columns };
        if (to >= group.rows) break;
      }
      rowsBefore += group.rows;
    }
  } finally {
    file.close();
  }
}

/** Numbers of a physical type, as a typed array (INT32, INT64, FLOAT, DOUBLE). */
type Numbers = Int32Array | BigInt64Array | Float32Array | Float64Array;
/** Decoded values of a page or dictionary: numbers typed, text and booleans in plain arrays. */
type Decoded = Numbers | (string | boolean)[];

/** A typed array of `n` values of physical type `type` (1 INT32, 2 INT64, 4 FLOAT, 5 DOUBLE). */
function numbers(type: number, n: number): Numbers {
  return type === 1
    ? new Int32Array(n)
    : type === 2
    ? new BigInt64Array(n)
    : type === 4
    ? new Float32Array(n)
    : new Float64Array(n);
}

/** A decoded data page: its first row, rows, values and where each row's value is (-1: null; none: all). */
interface Page {
  at: number;
  n: number;
  values: Decoded;
  index: Int32Array | undefined;
}

/**
 * One column chunk read in order, a piece at a time: {@link take} decodes the pages the rows it asks for
 * lie in (a dictionary page first, when there is one), keeping the last page for the next piece.
 */
class ColumnCursor {
  readonly #r: CompactReader;
  readonly #typed: boolean;
  #dict: Decoded | undefined;
  /** The page decoded last. */
  #page: Page | undefined;
  #next = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly c: ParquetLayout["columns"][number],
    readonly codec: number,
    readonly rows: number,
  ) {
    const type = c.type;
    if (!(type === 0 || type === 1 || type === 2 || type === 4 || type === 5 || type === 6)) {
      throw new RangeError(`the physical type ${TYPES[type] ?? type} is not read here`);
    }
    if (!(codec === 0 || codec === 1 || codec === 2 || codec === 6)) {
      throw new RangeError(
        `the ${CODECS[codec] ?? codec} compression is not read here (snappy, gzip, zstd are)`,
      );
    }
    this.#r = new CompactReader(bytes);
    this.#typed = type === 1 || type === 2 || type === 4 || type === 5;
  }

  /** The values of rows [from, to): `from` is where the last piece ended. */
  take(from: number, to: number): ParquetColumn {
    const type = this.c.type, n = to - from;
    // Numbers go straight into one typed array (a null leaves a 0 and is marked); text and booleans into a
    // plain array.
    const col: Decoded = this.#typed ? numbers(type, n) : new Array(n);
    let nulls: Uint8Array | undefined;
    for (let row = from; row < to;) {
      const held = this.#page;
      const p = held === undefined || row >= held.at + held.n ? this.#readPage() : held;
      const stop = Math.min(to, p.at + p.n);
      const i0 = row - p.at, i1 = stop - p.at;
      if (!p.index) {
        if (this.#typed) (col as Numbers).set((p.values as Numbers).subarray(i0, i1) as never, row - from);
        else {for (let i = i0; i < i1; i++) {
            (col as unknown[])[row - from + i - i0] = (p.values as unknown[])[i];
          }}
      } else {
        for (let i = i0; i < i1; i++) {
          const k = p.index[i], at = row - from + i - i0;
          if (k >= 0) (col as unknown[])[at] = p.values[k];
          else {
            (nulls ??= new Uint8Array(n))[at] = 1;
            if (!this.#typed) (col as unknown[])[at] = null;
          }
        }
      }
      row = stop;
    }
    const kind = type === 0 ? "bool" : type === 6 ? "str" : type === 4 || type === 5 ? "float" : "int";
    let values: ParquetColumn["values"] = col as ParquetColumn["values"];
    const unsigned = this.c.unsigned === true && kind === "int";
    if (unsigned && col instanceof Int32Array) {
      values = new Uint32Array(col.buffer, col.byteOffset, col.length);
    }
    if (unsigned && col instanceof BigInt64Array) {
      values = new BigUint64Array(col.buffer, col.byteOffset, col.length);
    }
    if (this.#typed && nulls) {
      // Nulls in a numeric column: a plain array holding them (rare in flow tables).
      const out: (number | null)[] = new Array(n);
      const typed = values as Numbers | Uint32Array | BigUint64Array;
      for (let i = 0; i < n; i++) out[i] = nulls[i] ? null : Number(typed[i]);
      values = out;
    }
    const bits = this.c.bits ?? (type === 1 || type === 4 ? 32 : 64);
    return { name: this.c.name, kind, bits, ...(unsigned ? { unsigned } : {}), values };
  }

  /** Decodes the next data page (reading a dictionary page met on the way). */
  #readPage(): Page {
    const r = this.#r, bytes = this.bytes;
    for (;;) {
      if (this.#next >= this.rows || r.pos >= bytes.length) {
        throw new RangeError(`expected ${this.rows} values, found ${this.#next}`);
      }
      const h = r.struct();
      const kind = h[1] as number, size = h[3] as number, start = r.pos;
      if (start + size > bytes.length) {
        throw new RangeError(`a page of ${size} bytes runs past its column chunk`);
      }
      r.pos = start + size;
      const body = bytes.subarray(start, start + size);
      if (kind === 2) { // dictionary page
        const dh = h[7] as ThriftStruct;
        this.#dict = plainValues(decompress(body, this.codec, h[2] as number), dh[1] as number, this.c.type);
        continue;
      }
      if (kind === 1) continue; // an index page: nothing to read
      if (kind !== 0 && kind !== 3) throw new RangeError(`unknown page type ${kind}`);
      const page = readDataPage(h, kind, body, this.codec, this.c, this.c.type, this.#dict);
      if (this.#next + page.n > this.rows) {
        throw new RangeError(`pages hold more than the group's ${this.rows} rows`);
      }
      let index: Int32Array | undefined;
      if (page.present) {
        index = new Int32Array(page.n);
        for (let i = 0, k = 0; i < page.n; i++) index[i] = page.present[i] ? k++ : -1;
      }
      const p = { at: this.#next, n: page.n, values: page.values, index };
      this.#next += page.n;
      this.#page = p;
      return p;
    }
  }
}

/** One data page: its row count, which rows hold a value (undefined: all) and the values they hold. */
function readDataPage(
  h: ThriftStruct,
  kind: number,
  body: Uint8Array,
  codec: number,
  c: ParquetLayout["columns"][number],
  type: number,
  dict: Decoded | undefined,
): { n: number; present: Uint8Array | undefined; values: Decoded } {
  let n: number, encoding: number, levels: Uint8Array | undefined, values: Uint8Array;
  if (kind === 0) {
    const dh = h[5] as ThriftStruct;
    n = dh[1] as number;
    encoding = dh[2] as number;
    const raw = decompress(body, codec, h[2] as number);
    let p = 0;
    if (c.optional) {
      const len = new DataView(raw.buffer, raw.byteOffset).getUint32(0, true);
      levels = raw.subarray(4, 4 + len);
      p = 4 + len;
    }
    values = raw.subarray(p);
  } else {
    const dh = h[8] as ThriftStruct;
    n = dh[1] as number;
    encoding = dh[4] as number;
    const dl = dh[5] as number, rl = dh[6] as number;
    if (rl !== 0) throw new RangeError(`repetition levels in a flat column`);
    levels = c.optional ? body.subarray(0, dl) : undefined;
    const compressed = dh[7] !== false;
    const rest = body.subarray(dl + rl);
    values = compressed ? decompress(rest, codec, (h[2] as number) - dl - rl) : rest;
  }
  // Definition levels (bit width 1: 1 = a value, 0 = null).
  let present: Uint8Array | undefined;
  let count = n;
  if (levels) {
    present = new Uint8Array(n);
    hybrid(levels, 0, levels.length, 1, n, present);
    count = 0;
    for (let i = 0; i < n; i++) count += present[i];
    if (count === n) present = undefined;
  }
  let vals: Decoded;
  if (encoding === 0) vals = plainValues(values, count, type);
  else if (encoding === 2 || encoding === 8) {
    if (!dict) throw new RangeError(`a dictionary-encoded page without a dictionary page`);
    const idx = new Uint32Array(count);
    hybrid(values, 1, values.length, values[0], count, idx);
    vals = ArrayBuffer.isView(dict) ? numbers(type, count) : new Array(count);
    const size = dict.length;
    for (let i = 0; i < count; i++) {
      if (idx[i] >= size) throw new RangeError(`dictionary index ${idx[i]} past its ${size} entries`);
      (vals as unknown[])[i] = dict[idx[i]];
    }
  } else if (encoding === 3 && type === 0) {
    const len = new DataView(values.buffer, values.byteOffset).getUint32(0, true);
    const bits = new Uint8Array(count);
    hybrid(values, 4, 4 + len, 1, count, bits);
    vals = Array.from(bits, (b) => b === 1);
  } else throw new RangeError(`the ${ENCODINGS[encoding] ?? encoding} encoding is not read here`);
  return { n, present, values: vals };
}

/** `count` PLAIN values of physical `type` from `b`: numbers copied as they lie (little-endian). */
function plainValues(b: Uint8Array, count: number, type: number): Decoded {
  const short = () => new RangeError(`PLAIN values run past their page (${count} expected)`);
  if (type === 0) {
    if (Math.ceil(count / 8) > b.length) throw short();
    const out: boolean[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = ((b[i >> 3] >> (i & 7)) & 1) === 1;
    return out;
  }
  if (type !== 6) {
    const out = numbers(type, count);
    if (out.byteLength > b.length) throw short();
    new Uint8Array(out.buffer).set(b.subarray(0, out.byteLength));
    return out;
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: string[] = new Array(count);
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 4 > b.length) throw short();
    const len = view.getUint32(p, true);
    if (p + 4 + len > b.length) throw short();
    out[i] = dec.decode(b.subarray(p + 4, p + 4 + len));
    p += 4 + len;
  }
  return out;
}

/**
 * Decodes `count` values of the RLE / bit-packing hybrid (bit width `width`) from `b[p..end)` into `out`:
 * runs of a header varint, then one value (`header >> 1` times) or `header >> 1` groups of 8 packed values.
 */
export function hybrid(
  b: Uint8Array,
  p: number,
  end: number,
  width: number,
  count: number,
  out: Uint8Array | Uint32Array,
): void {
  if (width > 32) throw new RangeError(`bit width ${width} exceeds 32`);
  const bytes = (width + 7) >> 3;
  let i = 0;
  while (i < count) {
    if (p >= end) throw new RangeError(`RLE/bit-packed values end after ${i} of ${count}`);
    let header = 0, mul = 1;
    for (;;) {
      const x = b[p++];
      header += (x & 127) * mul;
      if (x < 128) break;
      mul *= 128;
    }
    if (header % 2 === 0) {
      const run = header / 2;
      let v = 0;
      for (let k = 0; k < bytes; k++) v += b[p + k] * 2 ** (8 * k);
      p += bytes;
      const stop = Math.min(count, i + run);
      while (i < stop) out[i++] = v;
    } else {
      const groups = (header - 1) / 2, n = groups * 8;
      if (p + groups * width > end) throw new RangeError(`bit-packed values run past their page`);
      if (width <= 24) {
        // Values lie LSB first: shift bytes into an accumulator and take `width` bits at a time.
        const mask = (1 << width) - 1;
        let acc = 0, held = 0, q = p;
        for (let k = 0; k < n && i < count; k++) {
          while (held < width) {
            acc |= b[q++] << held;
            held += 8;
          }
          out[i++] = acc & mask;
          acc >>>= width;
          held -= width;
        }
      } else {
        for (let k = 0; k < n && i < count; k++) {
          let v = 0;
          const bit0 = k * width;
          for (let j = 0; j < width; j++) {
            const bit = bit0 + j;
            if ((b[p + (bit >> 3)] >> (bit & 7)) & 1) v += 2 ** j;
          }
          out[i++] = v;
        }
      }
      p += groups * width;
    }
  }
}

function decompress(b: Uint8Array, codec: number, size: number): Uint8Array {
  let out: Uint8Array;
  if (codec === 0) return b;
  if (codec === 1) out = snappy(b);
  else if (codec === 2) out = new Uint8Array(gunzipSync(b));
  else out = new Uint8Array(zstdDecompressSync(b));
  if (out.length !== size) {
    throw new RangeError(`a page decompressed to ${out.length} bytes, expected ${size}`);
  }
  return out;
}

/** Snappy's raw block format (what Parquet's SNAPPY codec holds): a length, then literals and copies. */
export function snappy(b: Uint8Array): Uint8Array {
  let p = 0, len = 0, mul = 1;
  for (;;) {
    const x = b[p++];
    len += (x & 127) * mul;
    if (x < 128) break;
    mul *= 128;
  }
  const out = new Uint8Array(len);
  let o = 0;
  while (p < b.length) {
    const tag = b[p++];
    const t = tag & 3;
    if (t === 0) {
      let n = tag >> 2;
      if (n >= 60) {
        const k = n - 59;
        n = 0;
        for (let j = 0; j < k; j++) n += b[p + j] * 2 ** (8 * j);
        p += k;
      }
      n += 1;
      if (p + n > b.length || o + n > len) throw new RangeError(`snappy: a literal runs past the block`);
      out.set(b.subarray(p, p + n), o);
      p += n;
      o += n;
      continue;
    }
    let n: number, off: number;
    if (t === 1) {
      n = ((tag >> 2) & 7) + 4;
      off = ((tag >> 5) << 8) | b[p++];
    } else if (t === 2) {
      n = (tag >> 2) + 1;
      off = b[p] | (b[p + 1] << 8);
      p += 2;
    } else {
      n = (tag >> 2) + 1;
      off = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
      p += 4;
    }
    if (off === 0 || off > o || o + n > len) {
      throw new RangeError(`snappy: a copy reaches outside the output`);
    }
    for (let j = 0; j < n; j++, o++) out[o] = out[o - off];
  }
  if (o !== len) throw new RangeError(`snappy: expected ${len} bytes, found ${o}`);
  return out;
}

function openFile(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new InputError("file not found", { file: path });
    throw e;
  }
}

function readAt(file: Deno.FsFile, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  file.seekSync(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = file.readSync(out.subarray(got));
    if (n === null) throw new RangeError(`the file ends ${length - got} bytes before a column chunk does`);
    got += n;
  }
  return out;
}

function text(v: ThriftValue | undefined): string {
  return v instanceof Uint8Array ? dec.decode(v) : String(v);
}
