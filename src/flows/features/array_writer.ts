/**
 * A {@link RowWriter} that collects a row into an array: one definition of a feature set's row (its
 * `writeRow`) then also serves {@link FeatureSet.row}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rowInto } from "./array_writer.ts";
 * const out: (number | string)[] = [];
 * rowInto(out, (x: number, y: Float64Array, w) => {
 *   w.ip4(x);
 *   w.nums(y, 2);
 * }, 0x0a000001, new Float64Array([1.5, 2]));
 * assert.deepEqual(out, ["10.0.0.1", 1.5, 2]);
 * ```
 * @module
 */
import { formatIpv6Words } from "../../capture/decode.ts";
import { formatIp4, formatMac48 } from "../meter.ts";
import type { RowWriter } from "./types.ts";

const NO_ROW: (number | string)[] = [];

class ArrayWriter implements RowWriter {
  out: (number | string)[] = NO_ROW;
  i = 0;
  num(v: number): void {
    this.out[this.i++] = v;
  }
  nums(v: Float64Array, n: number): void {
    for (let k = 0; k < n; k++) this.out[this.i++] = v[k];
  }
  str(v: string): void {
    this.out[this.i++] = v;
  }
  ip4(x: number): void {
    this.out[this.i++] = formatIp4(x);
  }
  ip6(w0: number, w1: number, w2: number, w3: number): void {
    this.out[this.i++] = formatIpv6Words(w0, w1, w2, w3);
  }
  mac48(hi: number, lo: number): void {
    this.out[this.i++] = formatMac48(hi, lo);
  }
  end(): void {}
}
const WRITER = new ArrayWriter();

/**
 * Runs `emit(a, b, w)` with a writer `w` that stores each value at the next index of `out`, from 0. The
 * arguments are passed through rather than closed over: a row costs no allocation.
 */
export function rowInto<A, B>(
  out: (number | string)[],
  emit: (a: A, b: B, w: RowWriter) => void,
  a: A,
  b: B,
): void {
  const w = WRITER;
  w.out = out;
  w.i = 0;
  try {
    emit(a, b, w);
  } finally {
    w.out = NO_ROW; // keep no reference to the caller's array
  }
}
