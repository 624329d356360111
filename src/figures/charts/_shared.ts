/**
 * Helpers every chart shares: the palette, the chart options type, number
 * formats for axis labels, and the range and log-scale decisions made from a
 * sorted sample of the data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colorOf, fmt, logTick } from "./_shared.ts";
 * assert.equal(colorOf(10), colorOf(0));
 * assert.equal(fmt(0.000123), "1.23e-4");
 * assert.deepEqual([1, 3, 20].map(logTick), ["1", "", "20"]);
 * ```
 * @module
 */
import { quantileSorted } from "../../util/quantile.ts";
import type { FrameText } from "../figure.ts";

/** Options shared by all charts: the frame texts. */
export type ChartOptions = FrameText;

/**
 * Categorical palette (Tableau 10): first colour is used for benign traffic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PALETTE } from "./_shared.ts";
 * assert.equal(PALETTE.length, 10);
 * ```
 */
export const PALETTE: readonly string[] = [
  "#4e79a7",
  "#f28e2c",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc949",
  "#af7aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ab",
];

/**
 * Colour of series `i` (cycles through {@link PALETTE}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colorOf, PALETTE } from "./_shared.ts";
 * assert.equal(colorOf(1), PALETTE[1]);
 * assert.equal(colorOf(11), PALETTE[1]);
 * ```
 */
export function colorOf(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/**
 * Plot's `color` scale for series named `domain`, coloured in {@link PALETTE}
 * order so the chart matches the legend drawn from {@link colorOf}.
 */
export function paletteScale(domain: string[]): { domain: string[]; range: string[] } {
  // A copy: Plot's option type wants a mutable array.
  return { domain, range: PALETTE.slice() as string[] };
}

/**
 * Short number format for labels (3 significant digits, exponent when tiny/huge).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fmt } from "./_shared.ts";
 * assert.equal(fmt(1.23456), "1.23");
 * assert.equal(fmt(1e7), "1e+7");
 * assert.equal(fmt(NaN), "NaN");
 * ```
 */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2).replace(/\.?0+e/, "e");
  return Number(v.toPrecision(3)).toString();
}

/**
 * Log-axis tick labels: only mantissas 1, 2 and 5 are labelled, so dense decades stay readable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logTick } from "./_shared.ts";
 * assert.deepEqual([0.001, 0.002, 0.003, 0.005, 0].map(logTick), ["0.001", "0.002", "", "0.005", ""]);
 * ```
 */
export function logTick(v: number): string {
  if (!(v > 0)) return "";
  const m = Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
  return m === 1 || m === 2 || m === 5 ? fmt(v) : "";
}

/**
 * A value axis for Plot, linear or log; a log axis labels only the 1, 2 and 5
 * ticks of each decade ({@link logTick}), as every chart with a log option does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logTick, valueAxis } from "./_shared.ts";
 * assert.deepEqual(valueAxis("Loss"), { type: "linear", label: "Loss" });
 * assert.deepEqual(valueAxis("Loss (log)", true), { type: "log", label: "Loss (log)", tickFormat: logTick });
 * ```
 */
export function valueAxis(
  label: string,
  log = false,
): { type: "linear" | "log"; label: string; tickFormat?: (v: number) => string } {
  return log ? { type: "log", label, tickFormat: logTick } : { type: "linear", label };
}

/**
 * A sorted sample (≤ 200k values) of the finite values of all groups, for
 * picking a range; with `logX` only the positive ones (a log axis cannot show
 * the rest). Sampling by a fixed stride keeps this fast and deterministic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sortedSample } from "./_shared.ts";
 * assert.deepEqual([...sortedSample([[3, NaN, 0], [1]], true)], [1, 3]);
 * ```
 */
export function sortedSample(groups: ArrayLike<number>[], logX: boolean): Float64Array {
  const total = groups.reduce((n, g) => n + g.length, 0);
  const step = Math.max(1, Math.floor(total / 200_000));
  const out: number[] = [];
  let k = 0;
  for (const g of groups) {
    for (let i = 0; i < g.length; i++, k++) {
      if (k % step) continue;
      const v = g[i];
      if (Number.isFinite(v) && (!logX || v > 0)) out.push(v);
    }
  }
  return Float64Array.from(out).sort();
}

/**
 * True when a log axis reads better: every finite value is ≥ 0, and the
 * positive values span more than three decades between their 5th and 99th
 * percentiles (byte and packet counters). Zeros then fall into the first bin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heavyTailed } from "./_shared.ts";
 * const bytes = Array.from({ length: 100 }, (_, i) => 10 ** (i / 15));
 * assert.equal(heavyTailed([bytes]), true);
 * assert.equal(heavyTailed([bytes.map((b) => -b)]), false);
 * ```
 */
export function heavyTailed(groups: ArrayLike<number>[]): boolean {
  for (const g of groups) for (let i = 0; i < g.length; i++) if (g[i] < 0) return false;
  const s = sortedSample(groups, true);
  if (s.length < 10) return false;
  return quantileSorted(s, 0.99) / quantileSorted(s, 0.05) > 1000;
}
