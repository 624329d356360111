/**
 * Streaming Arrow IPC file output for flow rows (`nadir flows --out F.arrow`): rows are gathered into
 * column buffers of `batchRows` rows (typed arrays; IPv4 addresses and MACs written as ASCII bytes, no
 * string made), and each full batch is encoded and written at once, so memory stays bounded however many
 * flows a capture holds. The file is the Arrow IPC *file* format (what `pl.readIPC` and flechette's
 * `tableFromIPC` read): a magic, the schema, one record batch per `batchRows` rows, and a footer that
 * points at them.
 *
 * Types: `int` columns are Int64 (a value that is not a safe integer is written as null), `float` columns
 * Float64 (NaN and ±Infinity kept as they are, as polars writes them), `str` columns Utf8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromIPC } from "@uwdata/flechette";
 * import { ArrowFileSink } from "./arrow_sink.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".arrow" });
 * const sink = new ArrowFileSink(path, { batchRows: 2 });
 * sink.header([{ name: "id", type: "int" }, { name: "ip", type: "str" }, { name: "mean", type: "float" }]);
 * for (let i = 0; i < 3; i++) sink.row([i, `10.0.0.${i}`, i / 2]);
 * await sink.close();
 * const t = tableFromIPC(Deno.readFileSync(path));
 * assert.deepEqual(t.toArray().map((r) => ({ ...r })), [
 *   { id: 0, ip: "10.0.0.0", mean: 0 },
 *   { id: 1, ip: "10.0.0.1", mean: 0.5 },
 *   { id: 2, ip: "10.0.0.2", mean: 1 },
 * ]);
 * Deno.removeSync(path);
 * ```
 * @module
 */
import { batchType, Column, float64, int64, tableFromColumns, tableToIPC, utf8 } from "@uwdata/flechette";
// flechette encodes a whole table at once; the footer of a file written batch by batch comes from its own
// footer writer (version pinned in deno.json).
import { Builder } from "@uwdata/flechette/src/encode/builder.js";
import { writeFooter } from "@uwdata/flechette/src/encode/footer.js";
import type { Column as FlowColumn, RowWriter } from "./features/types.ts";
import type { RowSink } from "./writer.ts";

/** Options for {@link ArrowFileSink}. */
export interface ArrowSinkOptions {
  /** Rows per record batch (default 65,536): the memory held is about this × the row's width. */
  batchRows?: number;
}

interface IntBuf {
  kind: "int";
  values: BigInt64Array;
  /** The same bytes as two int32 words a value (low word first: little-endian). */
  words: Int32Array;
}
interface FloatBuf {
  kind: "float";
  values: Float64Array;
}
interface StrBuf {
  kind: "str";
  offsets: Int32Array;
  bytes: Uint8Array;
}
/** `nulls`: the rows of this batch that are null (only an int column has any: the rare unsafe integer). */
type Buf = (IntBuf | FloatBuf | StrBuf) & { nulls: number[] };

const MAGIC = new TextEncoder().encode("ARROW1\0\0");
const HEX = new TextEncoder().encode("0123456789abcdef");
const enc = new TextEncoder();
const TWO32 = 4294967296;

/** Writes flow rows as an Arrow IPC file, one record batch at a time (see the module doc). */
export class ArrowFileSink implements RowSink, RowWriter {
  readonly #batchRows: number;
  #file: Deno.FsFile;
  #pos = 0;
  #cols: readonly FlowColumn[] = [];
  #bufs: Buf[] = [];
  #n = 0;
  #col = 0;
  #schema: unknown;
  #blocks: { offset: number; metadataLength: number; bodyLength: number }[] = [];

  constructor(readonly path: string, opts: ArrowSinkOptions = {}) {
    this.#batchRows = opts.batchRows ?? 65_536;
    if (!(Number.isInteger(this.#batchRows) && this.#batchRows > 0)) {
      throw new RangeError(`ArrowFileSink: batchRows expects an integer > 0, found ${opts.batchRows}`);
    }
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
    this.#write(MAGIC);
  }

  header(columns: readonly FlowColumn[]): void {
    this.#cols = columns;
    const n = this.#batchRows;
    this.#bufs = columns.map((c): Buf => {
      if (c.type === "int") {
        const values = new BigInt64Array(n);
        return { kind: "int", values, words: new Int32Array(values.buffer), nulls: [] };
      }
      if (c.type === "float") return { kind: "float", values: new Float64Array(n), nulls: [] };
      return {
        kind: "str",
        offsets: new Int32Array(n + 1),
        bytes: new Uint8Array(16 * n),
        nulls: [],
      };
    });
  }

  row(values: readonly (number | string)[]): void {
    if (values.length !== this.#cols.length) {
      throw new RangeError(
        `ArrowFileSink: a row has ${values.length} values, the header ${this.#cols.length} columns`,
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
      } else b.nulls.push(r);
    } else if (b.kind === "float") b.values[r] = v;
    else this.#text(b, String(v));
  }

  nums(v: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) this.num(v[i]);
  }

  str(v: string): void {
    const b = this.#bufs[this.#col++];
    if (b.kind !== "str") {
      throw new TypeError(
        `ArrowFileSink: column "${this.#cols[this.#col - 1].name}" is ${b.kind}, found the string ${
          JSON.stringify(v)
        }`,
      );
    }
    this.#text(b, v);
  }

  ip4(x: number): void {
    const b = this.#strBuf();
    let p = b.offsets[this.#n];
    this.#room(b, p + 15);
    const out = b.bytes;
    for (let k = 24; k >= 0; k -= 8) {
      p = digits(out, p, (x >>> k) & 255);
      if (k) out[p++] = 46; // "."
    }
    this.#close(b, p);
  }

  mac48(hi: number, lo: number): void {
    const b = this.#strBuf();
    let p = b.offsets[this.#n];
    this.#room(b, p + 17);
    const out = b.bytes;
    for (let k = 0; k < 6; k++) {
      const x = k < 3 ? (hi >>> (16 - 8 * k)) & 255 : (lo >>> (40 - 8 * k)) & 255;
      if (k) out[p++] = 58; // ":"
      out[p++] = HEX[x >>> 4];
      out[p++] = HEX[x & 15];
    }
    this.#close(b, p);
  }

  end(): void {
    if (this.#col !== this.#cols.length) {
      const n = this.#col;
      this.#abandonRow();
      throw new RangeError(`ArrowFileSink: a row has ${n} values, the header ${this.#cols.length} columns`);
    }
    this.#col = 0;
    if (++this.#n === this.#batchRows) this.#flush();
  }

  close(): Promise<void> {
    // No rows at all still gets one empty batch: polars refuses a file without record batches.
    if (this.#n > 0 || this.#blocks.length === 0) this.#flush();
    const file = this.#file;
    const sink = {
      write: (bytes: Uint8Array) => this.#write(bytes),
      pad: (n: number) => this.#write(new Uint8Array(n)),
      finish: () => null,
    };
    // EOS marker, footer (the schema and every record batch's block), its length and the magic again.
    writeFooter(new Builder(sink), this.#schema, [], this.#blocks, null);
    file.close();
    return Promise.resolve();
  }

  /** Forgets the values of a row that failed half way: the next row takes its place. */
  #abandonRow(): void {
    const r = this.#n;
    for (const b of this.#bufs) if (b.nulls.length && b.nulls[b.nulls.length - 1] === r) b.nulls.pop();
    this.#col = 0;
  }

  #strBuf(): StrBuf {
    const b = this.#bufs[this.#col++];
    if (b.kind !== "str") {
      throw new TypeError(`ArrowFileSink: column "${this.#cols[this.#col - 1].name}" is ${b.kind}, not str`);
    }
    return b;
  }

  /** Appends `s` (UTF-8) as the current row's value of string column `b`. */
  #text(b: StrBuf, s: string): void {
    const at = b.offsets[this.#n];
    this.#room(b, at + 3 * s.length);
    this.#close(b, at + enc.encodeInto(s, b.bytes.subarray(at)).written);
  }

  /** Grows a string column's bytes to hold `need`. */
  #room(b: StrBuf, need: number): void {
    if (need <= b.bytes.length) return;
    const grown = new Uint8Array(Math.max(need, 2 * b.bytes.length));
    grown.set(b.bytes);
    b.bytes = grown;
  }

  #close(b: StrBuf, end: number): void {
    const r = this.#n;
    b.offsets[r + 1] = end;
  }

  /** Encodes the rows gathered so far as one record batch, writes it, and starts the next. */
  #flush(): void {
    const n = this.#n, columns: Record<string, Column<unknown>> = {};
    this.#cols.forEach((c, i) => {
      const b = this.#bufs[i];
      const type = b.kind === "int" ? int64() : b.kind === "float" ? float64() : utf8();
      const nullCount = b.nulls.length;
      let validity = new Uint8Array(0);
      if (nullCount) {
        validity = new Uint8Array((n + 7) >> 3).fill(255);
        for (const r of b.nulls) validity[r >> 3] &= ~(1 << (r & 7));
      }
      const common = { length: n, nullCount, type, validity };
      const Batch = batchType(type);
      const batch = b.kind === "str"
        ? new Batch({
          ...common,
          offsets: b.offsets.subarray(0, n + 1),
          values: b.bytes.subarray(0, b.offsets[n]),
        })
        : new Batch({ ...common, values: b.values.subarray(0, n) });
      columns[c.name] = new Column([batch]);
    });
    // Encoded into a list of the encoder's own buffers (the column arrays among them), not joined into one.
    const chunks: Uint8Array[] = [];
    const sink = {
      write: (b: Uint8Array) => chunks.push(b),
      pad: (k: number) => chunks.push(new Uint8Array(k)),
    };
    const table = tableFromColumns(columns);
    tableToIPC(table, { format: "stream", sink: { ...sink, finish: () => null } });
    const ipc = new Chunks(chunks);
    // The stream: the schema message, this batch's message, the 8-byte end-of-stream marker. Each message
    // is a continuation marker, its metadata's length, the metadata (8-aligned) and its body.
    const schemaEnd = 8 + ipc.int32(4);
    const end = ipc.length - 8;
    if (this.#schema === undefined) {
      ipc.copy(0, schemaEnd, (b) => this.#write(b));
      this.#schema = table.schema;
    }
    const metadataLength = 8 + ipc.int32(schemaEnd + 4);
    this.#blocks.push({ offset: this.#pos, metadataLength, bodyLength: end - schemaEnd - metadataLength });
    ipc.copy(schemaEnd, end, (b) => this.#write(b));
    for (const b of this.#bufs) b.nulls.length = 0;
    this.#n = 0;
  }

  #write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
    this.#pos += bytes.length;
  }
}

/** A byte sequence held as a list of buffers. */
class Chunks {
  readonly length: number;
  constructor(readonly parts: Uint8Array[]) {
    this.length = parts.reduce((n, p) => n + p.length, 0);
  }
  /** Hands `fn` the bytes [from, to) as views of the parts. */
  copy(from: number, to: number, fn: (b: Uint8Array) => void): void {
    let at = 0;
    for (const p of this.parts) {
      const a = Math.max(from, at), z = Math.min(to, at + p.length);
      if (a < z) fn(p.subarray(a - at, z - at));
      at += p.length;
    }
  }
  /** The little-endian int32 at `pos`. */
  int32(pos: number): number {
    const b = new Uint8Array(4);
    let k = 0;
    this.copy(pos, pos + 4, (v) => {
      b.set(v, k);
      k += v.length;
    });
    return new DataView(b.buffer).getInt32(0, true);
  }
}

/** Writes 0–255 in decimal at `p`; returns the position after it. */
function digits(out: Uint8Array, p: number, x: number): number {
  if (x >= 100) out[p++] = 48 + Math.floor(x / 100);
  if (x >= 10) out[p++] = 48 + (Math.floor(x / 10) % 10);
  out[p++] = 48 + (x % 10);
  return p;
}
