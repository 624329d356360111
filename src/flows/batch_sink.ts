/**
 * The part the streaming columnar sinks share (Arrow IPC: {@link ArrowFileSink}, Parquet:
 * {@link ParquetFileSink}): rows are gathered into column buffers of `batchRows` rows (typed arrays; IPv4
 * addresses and MACs written as ASCII bytes, no string made), and each full batch is handed to the
 * format's encoder, so memory stays bounded however many flows a capture holds.
 *
 * Types: `int` columns hold 64-bit integers (a value that is not a safe integer becomes null), `float`
 * columns doubles (NaN and ±Infinity kept as they are), `str` columns UTF-8; {@link BatchSink.nul} makes
 * a null in any of them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BatchSink, type ColumnBuffer } from "./batch_sink.ts";
 * // A sink that keeps each batch's first column as numbers.
 * class Firsts extends BatchSink {
 *   got: number[][] = [];
 *   protected writeBatch(n: number, bufs: readonly ColumnBuffer[]): void {
 *     const b = bufs[0];
 *     if (b.kind === "int") this.got.push([...b.values.subarray(0, n)].map(Number));
 *   }
 *   protected finish(): void {}
 * }
 * const s = new Firsts("Firsts", { batchRows: 2 });
 * s.header([{ name: "id", type: "int" }, { name: "ip", type: "str" }]);
 * for (let i = 0; i < 3; i++) s.row([i, `10.0.0.${i}`]);
 * await s.close();
 * assert.deepEqual(s.got, [[0, 1], [2]]);
 * ```
 * @module
 */
import type pl from "nodejs-polars";
import type { Column, RowWriter } from "./features/types.ts";
import { writeIpv4Text, writeIpv6Text } from "../capture/decode.ts";
import { type RowSink, writeMac48 } from "./writer.ts";

/** Options for the batch sinks. */
export interface BatchSinkOptions {
  /** Rows per batch (default 65,536): the memory held is about this × the row's width. */
  batchRows?: number;
}

/** An int column's batch: 64-bit values. */
export interface IntBuffer {
  kind: "int";
  values: BigInt64Array;
  /** The same bytes as two int32 words a value (low word first: little-endian). */
  words: Int32Array;
}
/** A float column's batch. */
export interface FloatBuffer {
  kind: "float";
  values: Float64Array;
}
/** A string column's batch: value `r` is `bytes[offsets[r] .. offsets[r + 1])` (UTF-8). */
export interface StrBuffer {
  kind: "str";
  offsets: Int32Array;
  bytes: Uint8Array;
}
/**
 * `nulls`: the rows of this batch that are null, ascending: an int value that is not a safe integer, or a
 * value given as {@link BatchSink.nul}.
 */
export type ColumnBuffer = (IntBuffer | FloatBuffer | StrBuffer) & { nulls: number[] };

const enc = new TextEncoder();
const TWO32 = 4294967296;

/** Gathers rows into column batches; a format encodes each full batch ({@link writeBatch}) and ends the file. */
export abstract class BatchSink implements RowSink, RowWriter {
  readonly #batchRows: number;
  #cols: readonly Column[] = [];
  #bufs: ColumnBuffer[] = [];
  #n = 0;
  #col = 0;
  #batches = 0;

  /** `name` starts error messages (the format's class). */
  constructor(readonly name: string, opts: BatchSinkOptions = {}) {
    this.#batchRows = opts.batchRows ?? 65_536;
    if (!(Number.isInteger(this.#batchRows) && this.#batchRows > 0)) {
      throw new RangeError(`${name}: batchRows expects an integer > 0, found ${opts.batchRows}`);
    }
  }

  /** Encodes the first `n` rows of `bufs` (one per column, in header order) and writes them. */
  protected abstract writeBatch(n: number, bufs: readonly ColumnBuffer[]): void;
  /** Ends the file after the last batch. */
  protected abstract finish(): void;

  /** The columns given to {@link header}. */
  protected get columns(): readonly Column[] {
    return this.#cols;
  }

  header(columns: readonly Column[]): void {
    this.#cols = columns;
    const n = this.#batchRows;
    this.#bufs = columns.map((c): ColumnBuffer => {
      if (c.type === "int") {
        const values = new BigInt64Array(n);
        return { kind: "int", values, words: new Int32Array(values.buffer), nulls: [] };
      }
      if (c.type === "float") return { kind: "float", values: new Float64Array(n), nulls: [] };
      return { kind: "str", offsets: new Int32Array(n + 1), bytes: new Uint8Array(16 * n), nulls: [] };
    });
  }

  row(values: readonly (number | string)[]): void {
    if (values.length !== this.#cols.length) {
      throw new RangeError(
        `${this.name}: a row has ${values.length} values, the header ${this.#cols.length} columns`,
      );
    }
    try {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v === "number") this.num(v);
        else this.str(v);
      }
    } catch (e) {
      this.#abandonRow();
      throw e;
    }
    this.end();
  }

  num(v: number): void {
    const b = this.#bufs[this.#col++], r = this.#n;
    if (b.kind === "int") {
      if ((v | 0) === v) {
        b.words[2 * r] = v;
        b.words[2 * r + 1] = v >> 31;
      } else if (Number.isSafeInteger(v)) {
        const hi = Math.floor(v / TWO32);
        b.words[2 * r] = (v - hi * TWO32) | 0;
        b.words[2 * r + 1] = hi | 0;
      } else {
        b.words[2 * r] = b.words[2 * r + 1] = 0;
        b.nulls.push(r);
      }
    } else if (b.kind === "float") b.values[r] = v;
    else this.#text(b, String(v));
  }

  /** Appends a null (no value) to the current row: in any column, unlike NaN, which only a float holds. */
  nul(): void {
    const b = this.#bufs[this.#col++], r = this.#n;
    if (b.kind === "int") b.words[2 * r] = b.words[2 * r + 1] = 0;
    else if (b.kind === "float") b.values[r] = 0;
    else b.offsets[r + 1] = b.offsets[r];
    b.nulls.push(r);
  }

  nums(v: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) this.num(v[i]);
  }

  str(v: string): void {
    const b = this.#bufs[this.#col++];
    if (b.kind !== "str") {
      throw new TypeError(
        `${this.name}: column "${this.#cols[this.#col - 1].name}" is ${b.kind}, found the string ${
          JSON.stringify(v)
        }`,
      );
    }
    this.#text(b, v);
  }

  ip4(x: number): void {
    const b = this.#strBuf();
    const p = b.offsets[this.#n];
    this.#room(b, p + 15);
    b.offsets[this.#n + 1] = writeIpv4Text(b.bytes, p, x);
  }

  ip6(w0: number, w1: number, w2: number, w3: number): void {
    const b = this.#strBuf();
    const p = b.offsets[this.#n];
    this.#room(b, p + 39);
    b.offsets[this.#n + 1] = writeIpv6Text(b.bytes, p, w0, w1, w2, w3);
  }

  mac48(hi: number, lo: number): void {
    const b = this.#strBuf();
    const p = b.offsets[this.#n];
    this.#room(b, p + 17);
    b.offsets[this.#n + 1] = writeMac48(b.bytes, p, hi, lo);
  }

  end(): void {
    if (this.#col !== this.#cols.length) {
      const n = this.#col;
      this.#abandonRow();
      throw new RangeError(`${this.name}: a row has ${n} values, the header ${this.#cols.length} columns`);
    }
    this.#col = 0;
    if (++this.#n === this.#batchRows) this.#flush();
  }

  /**
   * Writes the last batch and ends the file. `emptyBatch`: with no rows at all, still write one empty
   * batch (polars refuses an Arrow file without record batches).
   */
  protected closeWith(emptyBatch: boolean): Promise<void> {
    if (this.#n > 0 || (emptyBatch && this.#batches === 0)) this.#flush();
    this.finish();
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.closeWith(false);
  }

  /** Forgets the values of a row that failed half way: the next row takes its place. */
  #abandonRow(): void {
    const r = this.#n;
    for (const b of this.#bufs) if (b.nulls.length && b.nulls[b.nulls.length - 1] === r) b.nulls.pop();
    this.#col = 0;
  }

  #strBuf(): StrBuffer {
    const b = this.#bufs[this.#col++];
    if (b.kind !== "str") {
      throw new TypeError(`${this.name}: column "${this.#cols[this.#col - 1].name}" is ${b.kind}, not str`);
    }
    return b;
  }

  /** Appends `s` (UTF-8) as the current row's value of string column `b`. */
  #text(b: StrBuffer, s: string): void {
    const at = b.offsets[this.#n];
    this.#room(b, at + 3 * s.length);
    b.offsets[this.#n + 1] = at + enc.encodeInto(s, b.bytes.subarray(at)).written;
  }

  /** Grows a string column's bytes to hold `need`. */
  #room(b: StrBuffer, need: number): void {
    if (need <= b.bytes.length) return;
    const grown = new Uint8Array(Math.max(need, 2 * b.bytes.length));
    grown.set(b.bytes);
    b.bytes = grown;
  }

  #flush(): void {
    this.writeBatch(this.#n, this.#bufs);
    for (const b of this.#bufs) b.nulls.length = 0;
    this.#n = 0;
    this.#batches++;
  }
}

/** The columns of a polars frame as a sink's header: text (and categories) `str`, integers and booleans `int`, the rest `float`. */
export function frameColumns(df: pl.DataFrame): Column[] {
  return df.getColumns().map((c) => {
    const t = String(c.dtype);
    return {
      name: c.name,
      type: /Utf8|String|Categorical/.test(t) ? "str" : /Int|Bool/.test(t) ? "int" : "float",
    };
  });
}

/**
 * Appends the rows of a polars frame (columns as {@link frameColumns} gives them) to `sink`, value by value:
 * numbers stay numbers, text stays text, a null stays null.
 */
export function writeFrame(sink: BatchSink, df: pl.DataFrame): void {
  const cols = df.getColumns().map((c) => c.toArray());
  for (let i = 0; i < df.height; i++) {
    for (let j = 0; j < cols.length; j++) {
      const v = cols[j][i];
      if (v === null || v === undefined) sink.nul();
      else if (typeof v === "string") sink.str(v);
      else sink.num(Number(v));
    }
    sink.end();
  }
}

/** Writes `bytes` to `file` in full (writeSync may write less than asked). */
export function writeAll(file: { writeSync(b: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}
