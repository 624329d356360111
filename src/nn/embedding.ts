/**
 * Token and position embeddings for the native engine's transformer
 * (src/nn/transformer.ts): a table lookup whose gradient is a scatter-add
 * into the rows that were read, plus a learned position vector per sequence
 * slot whose gradient sums over the batch.
 *
 * Row-major: `ids` holds `B · T` token ids (sequence `b` at `b·T … b·T+T−1`),
 * the output `B · T` rows of width `d`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { embedForward } from "./embedding.ts";
 * const table = new Float32Array([0, 0, 1, 2]); // 2 tokens × d 2
 * const pos = new Float32Array([10, 20]); // T 1 × d 2
 * const out = new Float32Array(2);
 * embedForward(table, pos, Int32Array.from([1]), 1, 1, 2, out);
 * assert.deepEqual([...out], [11, 22]);
 * ```
 * Widths that are multiples of 4 run in WebAssembly SIMD (simd.ts
 * `embedRows`, `embedBackRows`: the tables copied into the kernel's memory,
 * rows a vector at a time); the JS loops below are the fallback. The ids
 * are checked here first either way.
 *
 * @module
 */
import { embedBackRows, embedRows } from "./simd.ts";

/**
 * `out[b·T + t] = table[ids[b·T + t]] + pos[t]` for `B` sequences of `T`
 * tokens (width `d`). Throws a RangeError naming the first id outside the
 * table (a wrong id would otherwise read another token's row or garbage).
 */
export function embedForward(
  table: Float32Array,
  pos: Float32Array,
  ids: Int32Array,
  B: number,
  T: number,
  d: number,
  out: Float32Array,
): void {
  const V = table.length / d;
  for (let r = 0; r < B * T; r++) {
    const id = ids[r];
    if (!(id >= 0 && id < V)) {
      throw new RangeError(`embedding: token id ${id} at row ${r} is outside the table of ${V} tokens`);
    }
  }
  if (embedRows(table, pos, ids, B, T, d, out)) return;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const r = b * T + t, o = r * d, w = ids[r] * d, p = t * d;
      for (let j = 0; j < d; j++) out[o + j] = table[w + j] + pos[p + j];
    }
  }
}

/**
 * Backward of {@link embedForward}: scatter-adds `dOut` rows into
 * `dTable[ids[r]]` and sums them per position into `dPos` (both accumulate).
 */
export function embedBackward(
  dOut: Float32Array,
  ids: Int32Array,
  B: number,
  T: number,
  d: number,
  dTable: Float32Array,
  dPos: Float32Array,
): void {
  if (embedBackRows(dOut, ids, B, T, d, dTable, dPos)) return;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const r = b * T + t, o = r * d, w = ids[r] * d, p = t * d;
      for (let j = 0; j < d; j++) {
        const v = dOut[o + j];
        dTable[w + j] += v;
        dPos[p + j] += v;
      }
    }
  }
}
