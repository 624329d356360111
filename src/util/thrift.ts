/**
 * Thrift's compact protocol, as much as Parquet's metadata needs: {@link Compact} writes it (the
 * Parquet writer, src/flows/parquet_sink.ts) and {@link CompactReader} reads it back into plain
 * objects keyed by field id (the Parquet reader, src/data/parquet.ts). Written for nadir from the
 * Apache Thrift compact protocol specification.
 *
 * @module
 */

const enc = new TextEncoder();

/** Zigzag: signed → unsigned (0, -1, 1, -2 … → 0, 1, 2, 3 …), for numbers up to ±2^52. */
export function zigzag(v: number): number {
  return v >= 0 ? 2 * v : -2 * v - 1;
}

/**
 * A Thrift compact-protocol writer, enough for Parquet's metadata: structs (field headers with id deltas),
 * i32/i64 (zigzag varints), binary/string, lists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Compact } from "./thrift.ts";
 * const w = new Compact();
 * w.i32(1, -1); // field 1, type i32 (5): header 0x15, zigzag(-1) = 1
 * w.string(3, "hi"); // delta 2, type binary (8): 0x28, length 2, "hi"
 * w.stop();
 * assert.deepEqual([...w.bytes()], [0x15, 0x01, 0x28, 0x02, 0x68, 0x69, 0x00]);
 * ```
 */
export class Compact {
  static readonly I32 = 5;
  static readonly I64 = 6;
  static readonly BINARY = 8;
  static readonly LIST = 9;
  static readonly STRUCT = 12;
  #buf = new Uint8Array(256);
  #pos = 0;
  /** The last field id written in each struct being written (ids are written as deltas). */
  #last: number[] = [0];

  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
  byte(b: number): void {
    if (this.#pos === this.#buf.length) {
      const grown = new Uint8Array(2 * this.#buf.length);
      grown.set(this.#buf);
      this.#buf = grown;
    }
    this.#buf[this.#pos++] = b;
  }
  /** An unsigned varint, 7 bits a byte, low first (arithmetic, not bitwise: values reach 2^53). */
  varint(v: number): void {
    while (v >= 128) {
      this.byte((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    this.byte(v);
  }
  binary(b: Uint8Array): void {
    this.varint(b.length);
    for (const x of b) this.byte(x);
  }
  i32(id: number, v: number): void {
    this.#field(id, Compact.I32);
    this.varint(zigzag(v));
  }
  i64(id: number, v: number): void {
    this.#field(id, Compact.I64);
    this.varint(zigzag(v));
  }
  string(id: number, s: string): void {
    this.#field(id, Compact.BINARY);
    this.binary(enc.encode(s));
  }
  /** A struct field; `body` writes its fields. */
  struct(id: number, body: () => void): void {
    this.#field(id, Compact.STRUCT);
    this.#nested(body);
  }
  /** A list field of `n` elements; `item(k)` writes element k (a struct element's fields, or a value). */
  list(id: number, type: number, n: number, item: (k: number) => void): void {
    this.#field(id, Compact.LIST);
    if (n < 15) this.byte((n << 4) | type);
    else {
      this.byte(0xf0 | type);
      this.varint(n);
    }
    for (let k = 0; k < n; k++) {
      if (type === Compact.STRUCT) this.#nested(() => item(k));
      else item(k);
    }
  }
  /** Ends the struct being written. */
  stop(): void {
    this.byte(0);
  }
  #nested(body: () => void): void {
    this.#last.push(0);
    body();
    this.stop();
    this.#last.pop();
  }
  #field(id: number, type: number): void {
    const last = this.#last.length - 1, delta = id - this.#last[last];
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
    else {
      this.byte(type);
      this.varint(zigzag(id));
    }
    this.#last[last] = id;
  }
}

/** A decoded compact-protocol value: numbers (i8–i64, doubles), booleans, binary, lists, structs. */
export type ThriftValue = number | boolean | Uint8Array | ThriftValue[] | ThriftStruct;
/** A decoded struct: its fields by id. */
export interface ThriftStruct {
  [id: number]: ThriftValue;
}

/**
 * Reads compact-protocol structs from `bytes` at `pos`, for metadata whose field meanings the caller
 * knows (unknown fields are read and kept, so a newer writer's additions do not stop it). An i64 past
 * 2^53 loses precision, which no offset or count of a file here reaches. A value running past the end
 * is a RangeError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Compact, CompactReader } from "./thrift.ts";
 * const w = new Compact();
 * w.i64(1, -(2 ** 40));
 * w.list(20, Compact.I32, 2, (k) => w.varint(2 * k)); // field id 20: a long-form header
 * w.struct(21, () => w.string(1, "x"));
 * w.stop();
 * const r = new CompactReader(w.bytes());
 * const s = r.struct();
 * assert.deepEqual([s[1], s[20], new TextDecoder().decode((s[21] as { 1: Uint8Array })[1])], [-(2 ** 40), [0, 1], "x"]);
 * assert.equal(r.pos, w.bytes().length);
 * ```
 */
export class CompactReader {
  constructor(readonly bytes: Uint8Array, public pos = 0) {}

  #byte(): number {
    if (this.pos >= this.bytes.length) {
      throw new RangeError(
        `thrift: expected more bytes at offset ${this.pos}, found the end (${this.bytes.length})`,
      );
    }
    return this.bytes[this.pos++];
  }
  /** An unsigned varint (arithmetic: values reach 2^53). */
  varint(): number {
    let v = 0, mul = 1;
    for (;;) {
      const b = this.#byte();
      v += (b & 127) * mul;
      if (b < 128) return v;
      mul *= 128;
      if (mul > 2 ** 63) throw new RangeError(`thrift: varint longer than 10 bytes at offset ${this.pos}`);
    }
  }
  #zigzag(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }
  /** The fields of a struct, up to its stop byte. */
  struct(): ThriftStruct {
    const out: ThriftStruct = {};
    let last = 0;
    for (;;) {
      const h = this.#byte();
      if (h === 0) return out;
      const type = h & 15, delta = h >> 4;
      const id = delta === 0 ? this.#zigzag() : last + delta;
      last = id;
      out[id] = type === 1 ? true : type === 2 ? false : this.#value(type);
    }
  }
  #value(type: number): ThriftValue {
    switch (type) {
      case 1:
        return true;
      case 2:
        return false;
      case 3: {
        const b = this.#byte();
        return b > 127 ? b - 256 : b;
      }
      case 4:
      case 5:
      case 6:
        return this.#zigzag();
      case 7: {
        if (this.pos + 8 > this.bytes.length) throw new RangeError(`thrift: a double runs past the end`);
        const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8).getFloat64(0, true);
        this.pos += 8;
        return v;
      }
      case 8: {
        const n = this.varint();
        if (this.pos + n > this.bytes.length) {
          throw new RangeError(`thrift: ${n} bytes of binary at offset ${this.pos} run past the end`);
        }
        const b = this.bytes.subarray(this.pos, this.pos + n);
        this.pos += n;
        return b;
      }
      case 9:
      case 10: {
        const h = this.#byte();
        const n = (h >> 4) === 15 ? this.varint() : h >> 4, t = h & 15;
        const out: ThriftValue[] = [];
        // A bool element is a byte of its own (1 true), unlike a bool field.
        for (let i = 0; i < n; i++) out.push(t === 1 || t === 2 ? this.#byte() === 1 : this.#value(t));
        return out;
      }
      case 11: {
        const n = this.varint();
        const out: ThriftValue[] = [];
        if (n === 0) return out;
        const kv = this.#byte();
        for (let i = 0; i < n; i++) out.push([this.#value(kv >> 4), this.#value(kv & 15)]);
        return out;
      }
      case 12:
        return this.struct();
      default:
        throw new RangeError(`thrift: unknown type ${type} at offset ${this.pos - 1}`);
    }
  }
}
