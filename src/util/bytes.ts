/**
 * The bytes of a typed array, as model blobs store them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toBytes } from "./bytes.ts";
 * const b = toBytes(new Float32Array([1]).subarray(0, 1));
 * assert.deepEqual([...b], [0, 0, 128, 63]);
 * ```
 * @module
 */

/**
 * A copy of the bytes of `a` (its view only, not the whole buffer), little-endian as on every platform Deno
 * runs on. A copy, because blobs outlive training buffers that keep changing.
 */
export function toBytes(a: Float64Array | Float32Array | Int32Array | Uint32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}
