/**
 * Coarse kernels of the native engine: fused bias + activation, their
 * gradients, dense layers whose products go through sgemm, mean squared
 * error and inverted dropout. Every kernel writes into buffers the caller
 * owns (allocated once per model and batch size), so a training step
 * allocates nothing.
 *
 * Row-major throughout: a batch of `rows` vectors of width `n` is one
 * Float32Array of `rows · n`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { activationForward } from "./ops.ts";
 * const z = new Float32Array([-1, 2]);
 * const y = new Float32Array(2);
 * activationForward("relu", z, y, 2);
 * assert.deepEqual([...y], [0, 2]);
 * ```
 * @module
 */
import { sgemm } from "./blas.ts";
import { addColumnSums, biasActRows, reluBackwardBias, squaredErrorSum } from "./workspace.ts";
import type { Rng } from "../util/random.ts";

/** Activations both engines implement with the same formulas. */
export type Activation = "relu" | "tanh" | "sigmoid" | "elu" | "gelu" | "linear";

/** The activations by name (for parameter validation). */
export const ACTIVATIONS: readonly Activation[] = ["relu", "tanh", "sigmoid", "elu", "gelu", "linear"];

/** The GELU used by nadir (both engines): x·σ(1.702x), the sigmoid approximation. */
export const GELU_K = 1.702;

function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

/** `y[i] = act(z[i])` for the first `n` values (`y` may be `z`, except for gelu's backward, which needs `z`). */
export function activationForward(act: Activation, z: Float32Array, y: Float32Array, n: number): void {
  switch (act) {
    case "relu":
      // Branch-free: signs of pre-activations are random, and a mispredicted `z > 0 ? z : 0` cost
      // 5–9 ns an element here against ~1 ns for this form (V8 on x86-64, measured). Same value for
      // every finite z; z is a float32 product of clamped inputs, so ±Infinity does not reach it.
      for (let i = 0; i < n; i++) y[i] = (z[i] + Math.abs(z[i])) * 0.5;
      return;
    case "tanh":
      for (let i = 0; i < n; i++) y[i] = Math.tanh(z[i]);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) y[i] = sigmoid(z[i]);
      return;
    case "elu":
      for (let i = 0; i < n; i++) y[i] = z[i] > 0 ? z[i] : Math.expm1(z[i]);
      return;
    case "gelu":
      for (let i = 0; i < n; i++) y[i] = z[i] * sigmoid(GELU_K * z[i]);
      return;
    case "linear":
      if (y !== z) y.set(z.subarray(0, n));
      return;
  }
  throw new Error(`unknown activation ${act}`);
}

/** `dz[i] = dy[i] · act'(z[i])` given the pre-activation `z` and output `y` (`dz` may be `dy`). */
export function activationBackward(
  act: Activation,
  z: Float32Array,
  y: Float32Array,
  dy: Float32Array,
  dz: Float32Array,
  n: number,
): void {
  switch (act) {
    case "relu":
      for (let i = 0; i < n; i++) dz[i] = dy[i] * +(z[i] > 0); // branch-free, as in the forward
      return;
    case "tanh":
      for (let i = 0; i < n; i++) dz[i] = dy[i] * (1 - y[i] * y[i]);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) dz[i] = dy[i] * y[i] * (1 - y[i]);
      return;
    case "elu":
      for (let i = 0; i < n; i++) dz[i] = z[i] > 0 ? dy[i] : dy[i] * (y[i] + 1);
      return;
    case "gelu":
      for (let i = 0; i < n; i++) {
        const s = sigmoid(GELU_K * z[i]);
        dz[i] = dy[i] * (s + GELU_K * z[i] * s * (1 - s));
      }
      return;
    case "linear":
      if (dz !== dy) dz.set(dy.subarray(0, n));
      return;
  }
  throw new Error(`unknown activation ${act}`);
}

/**
 * `z = x · W + b` then `y = act(z)` for `rows` rows: the product through
 * sgemm, then bias and activation in one pass over the output (the pass
 * count, not the products, dominates steps at autoencoder sizes). `y` may be
 * `z` when the backward pass does not need z (relu, tanh, sigmoid, elu,
 * linear derive from y; gelu needs z).
 */
export function denseActForward(
  x: Float32Array,
  rows: number,
  nIn: number,
  w: Float32Array,
  b: Float32Array,
  nOut: number,
  act: Activation,
  z: Float32Array,
  y: Float32Array,
): void {
  sgemm(false, false, rows, nOut, nIn, 1, x, nIn, w, nOut, 0, z, nOut);
  // In SIMD when z is a workspace view (./workspace.ts) and the pass is bias (+ relu) in place.
  if ((act === "relu" || act === "linear") && z === y && biasActRows(z, b, rows, nOut, act === "relu")) {
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * nOut;
    switch (act) {
      case "relu":
        for (let j = 0; j < nOut; j++) {
          const v = z[o + j] + b[j];
          z[o + j] = v;
          y[o + j] = (v + Math.abs(v)) * 0.5; // branch-free relu (see activationForward)
        }
        break;
      case "linear":
        for (let j = 0; j < nOut; j++) y[o + j] = z[o + j] = z[o + j] + b[j];
        break;
      default:
        for (let j = 0; j < nOut; j++) z[o + j] += b[j];
        activationForward(act, z.subarray(o, o + nOut), y.subarray(o, o + nOut), nOut);
    }
  }
}

/**
 * Backward of the activation fused with the bias gradient: `dz = dy ·
 * act'(z)` and `db (+)= Σ rows dz` in one pass (`dz` may be `dy`). With
 * `accumulate` false, db is overwritten (no zeroing pass needed first).
 */
export function actBackwardBias(
  act: Activation,
  z: Float32Array,
  y: Float32Array,
  dy: Float32Array,
  dz: Float32Array,
  rows: number,
  n: number,
  db: Float32Array,
  accumulate: boolean,
): void {
  if (act === "relu" && dz === dy && reluBackwardBias(z, dy, rows, n, db, accumulate)) return;
  if (!accumulate) db.fill(0, 0, n);
  if (act === "relu") {
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      for (let j = 0; j < n; j++) {
        const d = dy[o + j] * +(z[o + j] > 0); // branch-free, as in the forward
        dz[o + j] = d;
        db[j] += d;
      }
    }
    return;
  }
  activationBackward(act, z, y, dy, dz, rows * n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) db[j] += dz[o + j];
  }
}

/**
 * Copies `row` into the first `rows` rows of `z`, doubling with `copyWithin`
 * (log2(rows) memmoves rather than one call per row).
 */
export function fillRows(z: Float32Array, row: Float32Array, rows: number): void {
  const k = row.length, n = rows * k;
  if (n === 0) return;
  z.set(row);
  for (let filled = k; filled < n; filled *= 2) z.copyWithin(filled, 0, Math.min(filled, n - filled));
}

/**
 * `z = x · W + b` for `rows` rows: x is rows × nIn, W nIn × nOut, b nOut. The bias rows go in by
 * {@link fillRows} (log2(rows) copies; one `set` per row took ≈ 0.3 ms a call at flow-lm's 5 k rows),
 * then sgemm accumulates onto them.
 */
export function denseForward(
  x: Float32Array,
  rows: number,
  nIn: number,
  w: Float32Array,
  b: Float32Array | undefined,
  nOut: number,
  z: Float32Array,
): void {
  if (b) fillRows(z, b, rows);
  sgemm(false, false, rows, nOut, nIn, 1, x, nIn, w, nOut, b ? 1 : 0, z, nOut);
}

/**
 * Gradients of {@link denseForward} given `dz` (rows × nOut): accumulates
 * `dW += xᵀ·dz` (overwrites when `accumulateDw` is false) and `db += Σ rows
 * dz` (pass `db` undefined when it was done elsewhere, e.g. by
 * {@link actBackwardBias}), and writes `dx = dz · Wᵀ` when `dx` is given
 * (also accumulating when `accumulateDx`).
 */
export function denseBackward(
  x: Float32Array,
  rows: number,
  nIn: number,
  w: Float32Array,
  nOut: number,
  dz: Float32Array,
  dw: Float32Array,
  db: Float32Array | undefined,
  dx?: Float32Array,
  accumulateDx = false,
  accumulateDw = true,
): void {
  if (rows === 0) return;
  sgemm(true, false, nIn, nOut, rows, 1, x, nIn, dz, nOut, accumulateDw ? 1 : 0, dw, nOut);
  if (db && !addColumnSums(dz, rows, nOut, db, true)) {
    for (let r = 0; r < rows; r++) {
      const o = r * nOut;
      for (let j = 0; j < nOut; j++) db[j] += dz[o + j];
    }
  }
  if (dx) sgemm(false, true, rows, nIn, nOut, 1, dz, nOut, w, nOut, accumulateDx ? 1 : 0, dx, nIn);
}

/**
 * Mean squared error over `n` values and its gradient: returns
 * mean((pred − target)²) and, when `grad` is given, writes
 * `grad = scale · 2(pred − target)/n` (scale lets a caller weight batches).
 */
export function mseLoss(
  pred: Float32Array,
  target: Float32Array,
  n: number,
  grad?: Float32Array,
  scale = 1,
): number {
  if (n === 0) return 0;
  let s = 0, i = 0;
  const k = (2 * scale) / n;
  if (grad) {
    // In SIMD when all three are views of one workspace (./workspace.ts); the loop finishes the rest.
    const simd = squaredErrorSum(pred, target, grad, n, k);
    if (simd) [s, i] = [simd.sum, simd.done];
  }
  for (; i < n; i++) {
    const d = pred[i] - target[i];
    s += d * d;
    if (grad) grad[i] = k * d;
  }
  return s / n;
}

/**
 * Inverted dropout: draws a keep mask (1/(1−rate) or 0) for `n` values from
 * `rng` into `mask` and multiplies `x` by it in place. `rate` 0 fills the
 * mask with 1 and leaves `x` alone.
 */
export function dropoutForward(x: Float32Array, mask: Float32Array, n: number, rate: number, rng: Rng): void {
  if (rate <= 0) {
    mask.fill(1, 0, n);
    return;
  }
  const keep = 1 / (1 - rate);
  for (let i = 0; i < n; i++) {
    const m = rng.next() >= rate ? keep : 0;
    mask[i] = m;
    x[i] *= m;
  }
}

/** `dx = dy ⊙ mask` in place (the backward of {@link dropoutForward}). */
export function dropoutBackward(dy: Float32Array, mask: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dy[i] *= mask[i];
}
