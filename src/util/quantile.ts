/**
 * One quantile for the whole code base: linear interpolation between order
 * statistics (Hyndman & Fan type 7, numpy's and R's default), so a threshold,
 * a robust scaler and a chart's axis range agree on what "the 99th percentile"
 * means.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantileSorted } from "./quantile.ts";
 * assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
 * assert.ok(Number.isNaN(quantileSorted([], 0.5)));
 * ```
 * @module
 */

/**
 * Type-7 quantile of an ascending-sorted array; NaN when it is empty (there is
 * no honest value to return — callers decide their own default).
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h), hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
