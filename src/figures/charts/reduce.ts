/**
 * Reduces big inputs before Plot sees them, so a chart of millions of scores
 * still renders in well under a second: curves are thinned to a fixed number
 * of points and histograms are binned here over typed arrays.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thinCurve } from "./reduce.ts";
 * const xs = Array.from({ length: 10_000 }, (_, i) => i);
 * assert.equal(thinCurve(xs, xs).length, 1500);
 * ```
 * @module
 */
import { quantileSorted } from "../../util/quantile.ts";
import { sortedSample } from "./_shared.ts";

/**
 * Keeps at most `max` points of a curve (evenly by index, always the first and last).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thinCurve } from "./reduce.ts";
 * assert.deepEqual(thinCurve([0, 1, 2, 3, 4], [0, 10, 20, 30, 40], 3), [
 *   { x: 0, y: 0 },
 *   { x: 2, y: 20 },
 *   { x: 4, y: 40 },
 * ]);
 * ```
 */
export function thinCurve(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  max = 1500,
): { x: number; y: number }[] {
  const n = Math.min(xs.length, ys.length);
  if (xs.length !== ys.length) {
    throw new RangeError(`curve has ${xs.length} x values but ${ys.length} y values`);
  }
  const out: { x: number; y: number }[] = [];
  if (n === 0) return out;
  const step = Math.max(1, (n - 1) / (max - 1));
  let last = -1;
  for (let k = 0; k < max; k++) {
    const i = Math.min(n - 1, Math.round(k * step));
    if (i === last) continue;
    out.push({ x: xs[i], y: ys[i] });
    last = i;
    if (i === n - 1) break;
  }
  if (last !== n - 1) out.push({ x: xs[n - 1], y: ys[n - 1] });
  return out;
}

/**
 * Per-class histogram bins, each class normalised to sum 1. Values outside the
 * range go to the edge bins. Without `range`, the range runs between the
 * `clipQuantile` and `1 - clipQuantile` quantiles of all classes together, so
 * a few outliers do not squeeze the rest into one bin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { binGroups } from "./reduce.ts";
 * const { bins, range } = binGroups([{ name: "a", values: [0.1, 0.2, 0.9, 5] }], { bins: 2, range: [0, 1] });
 * assert.deepEqual(range, [0, 1]);
 * assert.deepEqual(bins.map((b) => b.count), [2, 2]);
 * assert.deepEqual(bins.map((b) => b.frac), [0.5, 0.5]);
 * ```
 */
export function binGroups(
  groups: { name: string; values: ArrayLike<number> }[],
  opts: { bins?: number; range?: [number, number]; logX?: boolean; clipQuantile?: number } = {},
): { bins: { x1: number; x2: number; frac: number; count: number; s: string }[]; range: [number, number] } {
  const nb = opts.bins ?? 60;
  const logX = opts.logX ?? false;
  let [lo, hi] = opts.range ?? [NaN, NaN];
  if (!opts.range) {
    const s = sortedSample(groups.map((g) => g.values), logX);
    const q = opts.clipQuantile ?? 0.001;
    lo = quantileSorted(s, q);
    hi = quantileSorted(s, 1 - q);
    if (!Number.isFinite(lo)) [lo, hi] = logX ? [1, 10] : [0, 1];
  }
  if (!(hi > lo)) hi = lo === 0 ? 1 : lo + Math.abs(lo) * 0.01 + (logX ? lo : 1);
  const f = logX ? Math.log10 : (v: number) => v;
  const flo = f(lo), fhi = f(hi);
  const width = (fhi - flo) / nb;
  const edge = (k: number) => logX ? 10 ** (flo + k * width) : flo + k * width;
  const bins: { x1: number; x2: number; frac: number; count: number; s: string }[] = [];
  for (const g of groups) {
    const counts = new Float64Array(nb);
    let n = 0;
    for (let i = 0; i < g.values.length; i++) {
      const v = g.values[i];
      if (Number.isNaN(v) || (logX && v <= 0 && v !== -Infinity)) {
        // A log axis has no room for zero or below: such values count in the first bin.
        if (logX && v <= 0) counts[0]++, n++;
        continue;
      }
      let b = Math.floor((f(v) - flo) / width);
      if (!(b >= 0)) b = 0;
      if (b >= nb) b = nb - 1;
      counts[b]++;
      n++;
    }
    for (let b = 0; b < nb; b++) {
      bins.push({ x1: edge(b), x2: edge(b + 1), frac: n ? counts[b] / n : 0, count: counts[b], s: g.name });
    }
  }
  return { bins, range: [lo, hi] };
}
