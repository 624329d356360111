/**
 * Layer normalisation over the last axis, forward and backward, for the
 * native engine's transformer (src/nn/transformer.ts).
 *
 * The maths is tfjs's `moments`-based layer norm as flow-lm writes it:
 * biased variance (divide by `d`, not `d − 1`) and `eps` inside the square
 * root, `y = (x − mean) / √(var + eps) · g + b`. The forward keeps the
 * normalised values `xhat` and `1/√(var + eps)` per row, which is all the
 * backward needs — so the residual stream itself can be updated in place.
 *
 * When the width is a multiple of 4 both directions run in WebAssembly SIMD
 * (simd.ts: `layerNormRows` for inference, `layerNormTrainRows` and
 * `layerNormBackRows` for training): float32 lanes, two-pass moments. The
 * JS loops cost 3.5–6 ns a value here, which made flow-lm's three norms a
 * step about a quarter of its native training time (profiled: 5.2 of 25 s
 * over two epochs); the kernels take about a third of that, copies in and
 * out of their memory included. Otherwise (odd widths, no SIMD) the loops
 * below run: sums in float64 (JS numbers) stored in float32, moments from
 * one pass (Σx, Σx²), the normalisation from a second. Both stay within
 * float32 rounding of tfjs's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layerNormForward } from "./norm.ts";
 * const x = new Float32Array([1, 3]), y = new Float32Array(2);
 * layerNormForward(x, 1, 2, new Float32Array([1, 1]), new Float32Array([0, 0]), y, new Float32Array(2), new Float32Array(1));
 * // mean 2, variance 1: (x − 2)/√(1 + 1e-5)
 * assert.ok(Math.abs(y[0] + 1) < 1e-5 && Math.abs(y[1] - 1) < 1e-5);
 * ```
 * @module
 */
import { layerNormBackRows, layerNormRows, layerNormTrainRows } from "./simd.ts";

/** The epsilon of nadir's layer norm (both engines). */
export const LAYER_NORM_EPS = 1e-5;

/** Options of {@link layerNormForward}. */
export interface LayerNormOptions {
  eps?: number;
  /**
   * Residual to add first: `x += add` (in place) before normalising, in the
   * same pass that sums the row — the pre-norm block's "residual, then
   * norm" without a separate pass over the stream.
   */
  add?: Float32Array;
}

/**
 * `y = (x − mean) · rstd · g + b` row by row for `rows` rows of width `d`;
 * writes the normalised `xhat` (rows × d) and `rstd = 1/√(var + eps)` (rows)
 * for {@link layerNormBackward} — both may be omitted when no backward
 * follows (inference). `y` may not alias `x`.
 */
export function layerNormForward(
  x: Float32Array,
  rows: number,
  d: number,
  g: Float32Array,
  b: Float32Array,
  y: Float32Array,
  xhat: Float32Array | undefined,
  rstd: Float32Array | undefined,
  opts: LayerNormOptions = {},
): void {
  const eps = opts.eps ?? LAYER_NORM_EPS, add = opts.add;
  // The WebAssembly SIMD kernels when they can run: inference (nothing kept), or training (both kept).
  if (!xhat && !rstd && layerNormRows(x, add, rows, d, g, b, y, eps)) return;
  if (xhat && rstd && layerNormTrainRows(x, add, rows, d, g, b, y, xhat, rstd, eps)) return;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    // One pass for both moments: float64 sums of float32 values, so E[x²] − mean² loses
    // nothing that matters unless |mean| exceeds the spread a millionfold.
    let s = 0, s2 = 0;
    if (add) {
      for (let j = 0; j < d; j++) {
        const v = x[o + j] += add[o + j];
        s += v;
        s2 += v * v;
      }
    } else {
      for (let j = 0; j < d; j++) {
        const v = x[o + j];
        s += v;
        s2 += v * v;
      }
    }
    const mean = s / d;
    const rs = 1 / Math.sqrt(Math.max(0, s2 / d - mean * mean) + eps);
    if (rstd) rstd[r] = rs;
    if (xhat) {
      for (let j = 0; j < d; j++) {
        const h = (x[o + j] - mean) * rs;
        xhat[o + j] = h;
        y[o + j] = h * g[j] + b[j];
      }
    } else {
      for (let j = 0; j < d; j++) y[o + j] = (x[o + j] - mean) * rs * g[j] + b[j];
    }
  }
}

/**
 * Backward of {@link layerNormForward}: given `dy` (rows × d) accumulates
 * `dg += Σ dy ⊙ xhat`, `db += Σ dy` and writes (or, with `accumulate`, adds)
 * `dx = rstd/d · (d·dxhat − Σ dxhat − xhat · Σ dxhat ⊙ xhat)` with
 * `dxhat = dy ⊙ g`. With `dxSum`, also adds Σ rows of the final dx into it:
 * in a pre-norm block dx is the output gradient of the dense layer before
 * the norm, so this is that layer's bias gradient without another pass
 * over the rows.
 */
export function layerNormBackward(
  dy: Float32Array,
  rows: number,
  d: number,
  g: Float32Array,
  xhat: Float32Array,
  rstd: Float32Array,
  dx: Float32Array,
  dg: Float32Array,
  db: Float32Array,
  accumulate = false,
  dxSum?: Float32Array,
): void {
  if (layerNormBackRows(dy, rows, d, g, xhat, rstd, dx, dg, db, accumulate, dxSum)) return;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let s1 = 0, s2 = 0;
    for (let j = 0; j < d; j++) {
      const dyj = dy[o + j], h = xhat[o + j];
      dg[j] += dyj * h;
      db[j] += dyj;
      const dh = dyj * g[j];
      s1 += dh;
      s2 += dh * h;
    }
    const k = rstd[r] / d;
    if (accumulate) {
      for (let j = 0; j < d; j++) dx[o + j] += k * (d * dy[o + j] * g[j] - s1 - xhat[o + j] * s2);
    } else {
      for (let j = 0; j < d; j++) dx[o + j] = k * (d * dy[o + j] * g[j] - s1 - xhat[o + j] * s2);
    }
    if (dxSum) { for (let j = 0; j < d; j++) dxSum[j] += dx[o + j]; }
  }
}
