/**
 * Gradient-check helpers for the native engine's tests: seeded random
 * buffers, relative comparison with a floor, and central finite differences
 * in float64 around a float32 function.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Rng } from "../../src/util/random.ts";

/** `n` uniform values in [-scale, scale) from a seeded Rng. */
export function rand(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * scale;
  return a;
}

/** Asserts |a − b| ≤ rel·max(|a|, |b|) + abs elementwise, naming the first offender. */
export function assertClose(
  what: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  rel = 1e-4,
  abs = 1e-6,
): void {
  assert.equal(a.length, b.length, `${what}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const tol = rel * Math.max(Math.abs(a[i]), Math.abs(b[i])) + abs;
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]} (tolerance ${tol})`);
  }
}

/**
 * Central finite differences of the scalar `loss()` with respect to each
 * value of `x` (perturbed in place and restored): step `h` relative to the
 * value's size. Float32 buffers limit accuracy, so callers compare at ~1e-2.
 */
export function finiteDiff(x: Float32Array, loss: () => number, h = 1e-2): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const step = h * Math.max(1, Math.abs(v));
    x[i] = v + step;
    const up = loss();
    x[i] = v - step;
    const down = loss();
    x[i] = v;
    g[i] = (up - down) / (2 * step);
  }
  return g;
}

export { Rng };
