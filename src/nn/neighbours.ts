/**
 * Distance to the k-th nearest reference row for float32 embeddings whose rows
 * have unit length, through blocked sgemm.
 *
 * For unit rows ‖q − r‖² = 2 − 2 q·r, so one matrix product per block of
 * queries gives every squared distance. This is the float32 arithmetic of the
 * network that made the embeddings; unlike src/nn/distance.ts it does not
 * recompute near ties in float64, because a score over learned
 * representations has no exact float64 answer to match. Distances below float32's
 * resolution near 0 (about 3·10⁻⁴) read as 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blasAvailable } from "./blas.ts";
 * import { kthNeighbourDistance, normaliseRows } from "./neighbours.ts";
 * if (blasAvailable()) {
 *   const ref = normaliseRows(Float32Array.from([1, 0, 0, 1]), 2); // (1, 0) and (0, 1)
 *   const q = normaliseRows(Float32Array.from([1, 0, -1, 0]), 2);
 *   const d = kthNeighbourDistance(ref, q, 2, 1);
 *   assert.ok(Math.abs(d[0]) < 1e-3); // (1, 0) is a reference row
 *   assert.ok(Math.abs(d[1] - Math.SQRT2) < 1e-3); // (−1, 0) is √2 from (0, 1)
 * }
 * ```
 * @module
 */
import { sgemm } from "./blas.ts";

/** Scales every row of `x` (row-major, `d` columns) to unit Euclidean length in place; a zero row stays 0. */
export function normaliseRows(x: Float32Array, d: number): Float32Array {
  const rows = Math.floor(x.length / d);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = i * d; j < (i + 1) * d; j++) s += x[j] * x[j];
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let j = i * d; j < (i + 1) * d; j++) x[j] *= inv;
  }
  return x;
}

/** Query rows per sgemm block: the block's distances (block × references) stay a few MiB. */
const QUERY_BLOCK = 256;

/**
 * For every row of `query`, the Euclidean distance to its `k`-th nearest row of `ref` (both row-major,
 * `d` columns, unit rows as {@link normaliseRows} leaves them). With fewer than `k` reference rows the
 * farthest one counts.
 */
export function kthNeighbourDistance(
  ref: Float32Array,
  query: Float32Array,
  d: number,
  k: number,
): Float64Array {
  const nRef = Math.floor(ref.length / d), nQ = Math.floor(query.length / d);
  if (!(d >= 1) || ref.length !== nRef * d || query.length !== nQ * d) {
    throw new RangeError(
      `kthNeighbourDistance: expected rows of ${d} values, found ${ref.length} reference and ${query.length} ` +
        "query values",
    );
  }
  if (nRef === 0) throw new RangeError("kthNeighbourDistance: expected at least one reference row, found 0");
  const kk = Math.max(1, Math.min(Math.floor(k), nRef));
  const out = new Float64Array(nQ);
  const dots = new Float32Array(Math.min(QUERY_BLOCK, nQ) * nRef);
  // The kk largest dot products so far, in decreasing order (largest dot = nearest).
  const top = new Float64Array(kk);
  for (let q0 = 0; q0 < nQ; q0 += QUERY_BLOCK) {
    const B = Math.min(QUERY_BLOCK, nQ - q0);
    sgemm(false, true, B, nRef, d, 1, query.subarray(q0 * d, (q0 + B) * d), d, ref, d, 0, dots, nRef);
    for (let b = 0; b < B; b++) {
      top.fill(-Infinity);
      const row = b * nRef;
      for (let r = 0; r < nRef; r++) {
        const v = dots[row + r];
        if (v <= top[kk - 1]) continue;
        let i = kk - 1;
        while (i > 0 && top[i - 1] < v) {
          top[i] = top[i - 1];
          i--;
        }
        top[i] = v;
      }
      out[q0 + b] = Math.sqrt(Math.max(0, 2 - 2 * top[kk - 1]));
    }
  }
  return out;
}
