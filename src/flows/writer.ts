/**
 * Flow-row sinks: streaming CSV (file or stdout), and {@link sinkFor}, which also opens the streaming
 * Arrow IPC (src/flows/arrow_sink.ts) and Parquet (src/flows/parquet_sink.ts) writers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvField } from "./writer.ts";
 * assert.ok(csvField('a,"b"') === '"a,""b"""' && csvField(1.5) === "1.5");
 * ```
 * @module
 */
import { writeIpv4Text, writeIpv6Text } from "../capture/decode.ts";
import type { Column, RowWriter } from "./features/types.ts";

/** Formats one CSV field (RFC 4180 quoting). */
export function csvField(v: number | string): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Something rows can be written to. */
export interface RowSink {
  header(columns: readonly Column[]): void;
  row(values: readonly (number | string)[]): void;
  /** Flushes and closes; resolves when the output is complete. */
  close(): Promise<void>;
}

const enc = new TextEncoder();
const CH_COMMA = 44, CH_NL = 10, CH_MINUS = 45, CH_0 = 48, CH_DOT = 46;
const HEX = new TextEncoder().encode("0123456789abcdef");

/**
 * Streaming CSV to a file or (path undefined) stdout. Rows are formatted
 * straight into a byte buffer (integers digit by digit, ASCII strings char by
 * char) that is written in large blocks: no per-field strings, no join, no
 * re-encoding, which keeps the CSV step a small part of `nadir flows`.
 */
export class CsvSink implements RowSink, RowWriter {
  #out: { writeSync(b: Uint8Array): number };
  #file: Deno.FsFile | undefined;
  #buf = new Uint8Array(1 << 20);
  #pos = 0;

  constructor(path?: string) {
    if (path) {
      this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
      this.#out = this.#file;
    } else this.#out = Deno.stdout;
  }
  header(columns: readonly Column[]): void {
    for (let i = 0; i < columns.length; i++) {
      if (i) this.#byte(CH_COMMA);
      this.#str(csvField(columns[i].name));
    }
    this.#byte(CH_NL);
  }
  row(values: readonly (number | string)[]): void {
    const n = values.length;
    // One bound check per row: a number takes at most 24 bytes + the comma; strings check their own room.
    if (this.#pos + n * 26 + 1 > this.#buf.length) this.#room(n * 26 + 1);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === "number") {
        let p = this.#pos;
        if (i) this.#buf[p++] = CH_COMMA;
        this.#numAt(p, v);
      } else {
        if (i) this.#buf[this.#pos++] = CH_COMMA;
        this.#field(v, (n - i) * 26 + 1);
      }
    }
    this.#buf[this.#pos++] = CH_NL;
  }
  // RowWriter: a feature set's writeRow() hands values over one by one (no row array, no boxed doubles).
  #col = 0;
  /** Appends a number field to the current row. */
  num(v: number): void {
    if (this.#pos + 27 > this.#buf.length) this.#room(27);
    let p = this.#pos;
    if (this.#col++ !== 0) this.#buf[p++] = CH_COMMA;
    this.#numAt(p, v);
  }
  /** Appends `v[0..n)` as number fields: one room check, the int32 digits written in this loop. */
  nums(v: Float64Array, n: number): void {
    if (this.#pos + n * 26 > this.#buf.length) this.#room(n * 26);
    const b = this.#buf;
    let p = this.#pos, col = this.#col;
    for (let i = 0; i < n; i++) {
      if (col++ !== 0) b[p++] = CH_COMMA;
      const x = v[i];
      if ((x | 0) === x && x !== -2147483648) {
        let u = x;
        if (u < 0) {
          b[p++] = CH_MINUS;
          u = -u;
        }
        p = writeUint(b, p, u);
      } else if (x > 0 && x < 9007199254740992 && Math.floor(x) === x) {
        // Millisecond timestamps (one in ten of a basic row's numbers) are written here, not through #num.
        p = writeUint53(b, p, x);
      } else {
        this.#pos = p;
        this.#num(x);
        p = this.#pos;
      }
    }
    this.#pos = p;
    this.#col = col;
  }
  /** Appends a text field (quoted when needed) to the current row. */
  str(v: string): void {
    if (this.#pos + 1 > this.#buf.length) this.#room(1);
    if (this.#col++ !== 0) this.#buf[this.#pos++] = CH_COMMA;
    this.#field(v, 1);
  }
  /** Appends an IPv4 address as a dotted quad (digits straight into the buffer). */
  ip4(x: number): void {
    if (this.#pos + 17 > this.#buf.length) this.#room(17);
    const b = this.#buf;
    let p = this.#pos;
    if (this.#col++ !== 0) b[p++] = CH_COMMA;
    this.#pos = writeIpv4Text(b, p, x);
  }
  /** Appends an IPv6 address given as four big-endian 32-bit words (RFC 5952 text, no string made). */
  ip6(w0: number, w1: number, w2: number, w3: number): void {
    if (this.#pos + 40 > this.#buf.length) this.#room(40);
    const b = this.#buf;
    let p = this.#pos;
    if (this.#col++ !== 0) b[p++] = CH_COMMA;
    this.#pos = writeIpv6Text(b, p, w0, w1, w2, w3);
  }
  /** Appends a MAC address (two 24-bit halves) as lower-case colon hex. */
  mac48(hi: number, lo: number): void {
    if (this.#pos + 18 > this.#buf.length) this.#room(18);
    const b = this.#buf;
    let p = this.#pos;
    if (this.#col++ !== 0) b[p++] = CH_COMMA;
    this.#pos = writeMac48(b, p, hi, lo);
  }
  /** Ends the current row. */
  end(): void {
    this.#byte(CH_NL);
    this.#col = 0;
  }
  #byte(c: number): void {
    if (this.#pos >= this.#buf.length) this.#flush();
    this.#buf[this.#pos++] = c;
  }
  #room(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      this.#flush();
      if (n > this.#buf.length) this.#buf = new Uint8Array(n);
    }
  }
  /** A number field at `p` (past any comma; room is reserved): int32 digit by digit here, the rest in #num. */
  #numAt(p: number, v: number): void {
    if ((v | 0) === v && v !== -2147483648) { // int32 (and -0, printed "0" as String does)
      const b = this.#buf;
      let x = v;
      if (x < 0) {
        b[p++] = CH_MINUS;
        x = -x;
      }
      this.#pos = writeUint(b, p, x);
    } else {
      this.#pos = p;
      this.#num(v);
    }
  }
  /** Numbers that are not int32: integers up to 2^53 digit by digit, the rest via String. Room is reserved. */
  #num(v: number): void {
    const b = this.#buf;
    let p = this.#pos;
    if (Number.isInteger(v) && v > -9007199254740992 && v < 9007199254740992) {
      if (v < 0) {
        b[p++] = CH_MINUS;
        this.#pos = writeUint53(b, p, -v);
      } else this.#pos = writeUint53(b, p, v);
      return;
    }
    if (!Number.isFinite(v)) return; // NaN / ±Infinity: empty field
    const d = decimalsOf(v);
    if (d !== 0) {
      this.#pos = writeFixed(b, p, v, d);
      return;
    }
    const s = String(v);
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.#pos = p;
  }
  /** A string field; `after` = room to keep for the rest of the row. */
  #field(s: string, after: number): void {
    let plain = true;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || c === 34 || c === 44 || c === 10 || c === 13) {
        plain = false;
        break;
      }
    }
    if (plain) {
      this.#room(s.length + after);
      const b = this.#buf;
      let p = this.#pos;
      for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
      this.#pos = p;
    } else {
      this.#str(csvField(s));
      this.#room(after);
    }
  }
  /** Writes any (already quoted) string as UTF-8. */
  #str(s: string): void {
    this.#room(s.length * 3);
    this.#pos += enc.encodeInto(s, this.#buf.subarray(this.#pos)).written;
  }
  #flush(): void {
    const b = this.#buf.subarray(0, this.#pos);
    let off = 0;
    while (off < b.length) off += this.#out.writeSync(b.subarray(off));
    this.#pos = 0;
  }
  close(): Promise<void> {
    this.#flush();
    this.#file?.close();
    return Promise.resolve();
  }
}

/** Writes a MAC address (two 24-bit halves) as lower-case colon hex at `p` (17 bytes); returns the end. */
export function writeMac48(b: Uint8Array, p: number, hi: number, lo: number): number {
  for (let k = 0; k < 6; k++) {
    const x = k < 3 ? (hi >>> (16 - 8 * k)) & 255 : (lo >>> (40 - 8 * k)) & 255;
    if (k) b[p++] = 58; // ":"
    b[p++] = HEX[x >>> 4];
    b[p++] = HEX[x & 15];
  }
  return p;
}

/** "00" to "99": digits are written two at a time, halving the divisions. */
const PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  PAIRS[2 * i] = CH_0 + ((i / 10) | 0);
  PAIRS[2 * i + 1] = CH_0 + (i % 10);
}

/** Writes the decimal digits of a non-negative integer below 2^31 at `p`; returns the end. */
function writeUint(b: Uint8Array, p: number, x: number): number {
  if (x < 10) {
    b[p] = CH_0 + x;
    return p + 1;
  }
  if (x < 100) {
    b[p] = PAIRS[2 * x];
    b[p + 1] = PAIRS[2 * x + 1];
    return p + 2;
  }
  const n = x < 1000
    ? 3
    : x < 10000
    ? 4
    : x < 100000
    ? 5
    : x < 1000000
    ? 6
    : x < 10000000
    ? 7
    : x < 100000000
    ? 8
    : x < 1000000000
    ? 9
    : 10;
  let q = p + n;
  while (x >= 100) {
    const t = (x / 100) | 0, r = 2 * (x - t * 100);
    b[--q] = PAIRS[r + 1];
    b[--q] = PAIRS[r];
    x = t;
  }
  if (x >= 10) {
    b[--q] = PAIRS[2 * x + 1];
    b[--q] = PAIRS[2 * x];
  } else b[--q] = CH_0 + x;
  return p + n;
}

const POW10 = [1, 10, 100, 1000];

/**
 * For a non-integer |v| < 10^9: the number of decimals d (1..3) when v is exactly the double nearest to a
 * decimal with d digits after the point, else 0. Then that decimal is what String(v) prints: it round-trips
 * (the parser and r / 10^d both round the same real number once), and no other string with as few digits
 * does, since decimals with ≤ 3 digits after the point lie ≥ 0.001 apart and doubles below 10^9 lie < 2^-22
 * apart. Mean packet sizes and inter-arrival times (89.25, 0.5) take this path instead of String().
 */
function decimalsOf(v: number): number {
  const a = v < 0 ? -v : v;
  if (!(a < 1e9)) return 0;
  for (let d = 1; d <= 3; d++) {
    const s = POW10[d];
    if (Math.round(a * s) / s === a) return d;
  }
  return 0;
}

/** Writes v (see {@link decimalsOf}) with exactly `d` decimals at `p`; returns the end. */
function writeFixed(b: Uint8Array, p: number, v: number, d: number): number {
  if (v < 0) {
    b[p++] = CH_MINUS;
    v = -v;
  }
  const s = POW10[d];
  const r = Math.round(v * s);
  const q = Math.floor(r / s);
  p = writeUint(b, p, q);
  b[p++] = CH_DOT;
  let frac = r - q * s;
  for (let i = p + d - 1; i >= p; i--) {
    const t = (frac / 10) | 0;
    b[i] = CH_0 + frac - t * 10;
    frac = t;
  }
  return p + d;
}

/**
 * Writes the digits of a non-negative integer below 2^53 (ms timestamps, byte counts) at `p`: two int32-sized
 * halves, the low one zero-padded to 9 digits. Returns the end.
 */
function writeUint53(b: Uint8Array, p: number, x: number): number {
  const hi = Math.floor(x / 1e9), lo = x - hi * 1e9;
  return hi > 0 ? write9(b, writeUint(b, p, hi), lo) : writeUint(b, p, lo);
}

/** Writes exactly 9 digits (zero-padded) of a non-negative integer below 10^9 at `p`; returns the end. */
function write9(b: Uint8Array, p: number, x: number): number {
  for (let q = p + 7; q > p; q -= 2) {
    const t = (x / 100) | 0, r = 2 * (x - t * 100);
    b[q] = PAIRS[r];
    b[q + 1] = PAIRS[r + 1];
    x = t;
  }
  b[p] = CH_0 + x;
  return p + 9;
}

/**
 * Picks a sink from the output file name (undefined: CSV on stdout). Every format streams its rows out in
 * bounded memory. The Arrow and Parquet writers are loaded only when asked for: flechette and node:zlib
 * cost ~20 ms of start-up, a tenth of metering a small capture.
 */
export async function sinkFor(path: string | undefined): Promise<RowSink & Partial<RowWriter>> {
  if (!path) return new CsvSink();
  const lower = path.toLowerCase();
  if (lower.endsWith(".parquet")) return new (await import("./parquet_sink.ts")).ParquetFileSink(path);
  if (lower.endsWith(".arrow") || lower.endsWith(".ipc") || lower.endsWith(".feather")) {
    return new (await import("./arrow_sink.ts")).ArrowFileSink(path);
  }
  return new CsvSink(path);
}

/** The sink as a {@link RowWriter} when it is one (rows handed over value by value, no row array). */
export function rowWriterOf(sink: RowSink & Partial<RowWriter>): RowWriter | undefined {
  return sink.num && sink.str && sink.ip4 && sink.mac48 && sink.end ? sink as RowWriter : undefined;
}
