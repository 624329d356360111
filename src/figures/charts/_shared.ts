/**
 * Helpers every chart shares: the palette, the chart options type, number
 * formats for axis labels, and the range and log-scale decisions made from a
 * sorted sample of the data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colorOf, fmt, logTick } from "./_shared.ts";
 * assert.equal(colorOf(20), colorOf(0));
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
 * Categorical palette: Tableau 10's colours first (the first is used for
 * benign traffic), then ten darker or more saturated ones of our choosing, so
 * that the 14–16 detectors of a benchmark chart never share a colour (a
 * 10-colour palette gave knn and autoencoder the same blue on one ROC slide).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PALETTE } from "./_shared.ts";
 * assert.equal(PALETTE.length, 20);
 * assert.equal(new Set(PALETTE).size, 20);
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
  "#1f3a5f",
  "#b35c00",
  "#8c1c13",
  "#2a6f6a",
  "#2e6b2a",
  "#8a7300",
  "#6b3f7a",
  "#c2185b",
  "#5a3e2b",
  "#555555",
];

/**
 * Colour of series `i` (cycles through {@link PALETTE}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colorOf, PALETTE } from "./_shared.ts";
 * assert.equal(colorOf(1), PALETTE[1]);
 * assert.equal(colorOf(21), PALETTE[1]);
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
 * A share as a percentage with enough digits to tell it from zero: one
 * decimal from 0.1 % up, two significant digits below (a class of 0.04 % of
 * the rows must not print as "0.0%"), "0%" only for zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pct } from "./_shared.ts";
 * assert.deepEqual([0.912, 0.0012, 0.00042, 0.0000051, 0].map(pct), ["91.2%", "0.1%", "0.042%", "0.00051%", "0%"]);
 * ```
 */
export function pct(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const p = 100 * v;
  if (p === 0) return "0%";
  if (Math.abs(p) >= 0.1) return `${p.toFixed(1)}%`;
  return `${Number(p.toPrecision(2))}%`;
}

/**
 * Log-axis tick labels: only mantissas 1, 2 and 5 are labelled, so dense
 * decades stay readable. Plot hands a log axis's `tickFormat` only the value,
 * and thins the labels further by its own count; {@link valueAxis} with the
 * data extent avoids both (see {@link logTicks}).
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

/** One tick of a log axis: where it goes, in data units, and its label ("" for an unlabelled tick). */
export interface LogTick {
  value: number;
  label: string;
}

/** Below this many decades a log axis labels every tick: 1/2/5 alone would leave whole stretches unread. */
const NARROW_DECADES = 1.5;
/** Up to this many decades 1, 2 and 5 are labelled; above, only powers of ten. */
const MEDIUM_DECADES = 5;
/** Above this many decades only powers of ten are drawn (nine grid lines a decade would be a grey wash). */
const WIDE_DECADES = 6;
/** The share of the axis at each end that must hold a label. */
const END_SHARE = 0.25;

/** `m × 10^e`, computed as a division for negative `e` so that 3e-2 comes out as 0.03 exactly. */
function decadeValue(m: number, e: number): number {
  return e < 0 ? m / 10 ** -e : m * 10 ** e;
}

/** The step 1, 2 or 5 × 10^k nearest above `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  // The slack keeps 0.08 / 4 (0.020000000000000004) a step of 0.02, not 0.05.
  const m = raw / p * (1 - 1e-9);
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/**
 * The "roundest" number in [a, b] (fewest significant digits, a multiple of 5
 * before any other at the same precision), the one nearest `b` when `nearTop`
 * and nearest `a` otherwise.
 */
function roundestIn(a: number, b: number, nearTop: boolean): number {
  const top = Math.floor(Math.log10(b));
  for (let p = 0; p < 15; p++) {
    for (const m of [10, 5, 1]) {
      const step = m * 10 ** (top - p - 1);
      const v = Number(
        ((nearTop ? Math.floor(b / step + 1e-9) : Math.ceil(a / step - 1e-9)) * step).toPrecision(p + 2),
      );
      if (v >= a && v <= b) return v;
    }
  }
  return nearTop ? b : a;
}

/** Labels for `values`: {@link fmt}'s, or more significant digits where that makes two alike. */
function distinctLabels(values: number[]): string[] {
  let labels = values.map(fmt);
  for (let p = 4; p <= 15 && new Set(labels).size < labels.length; p++) {
    labels = values.map((v) => Number(v.toPrecision(p)).toString());
  }
  return labels;
}

/**
 * The ticks of a log axis over [lo, hi] and which of them carry a label,
 * chosen so the axis can be read wherever the data lie:
 * - under 1.5 decades every tick is labelled (mantissas 1–9; below about a
 *   third of a decade, where those are too few, evenly spaced round values);
 * - up to 5 decades the 1, 2 and 5 ticks are labelled, above that the powers
 *   of ten (every second, third, … past 10 decades);
 * - the top and the bottom quarter of the axis always hold a label: the
 *   nearest tick there gets one, or a round value is added.
 *
 * Non-positive or non-finite bounds give no ticks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logTicks } from "./_shared.ts";
 * // A loss from 0.02 to 0.6: every tick is labelled, 0.3 to 0.6 included.
 * const narrow = logTicks(0.02, 0.6).filter((t) => t.label).map((t) => t.label);
 * assert.deepEqual(narrow.slice(-5), ["0.2", "0.3", "0.4", "0.5", "0.6"]);
 * // Four decades: 1, 2 and 5 only.
 * const wide = logTicks(1e-4, 1).filter((t) => t.label).map((t) => t.value);
 * assert.deepEqual(wide.slice(0, 4), [0.0001, 0.0002, 0.0005, 0.001]);
 * // The bottom quarter of 0.105–0.5 holds no mantissa tick: a round value is added there.
 * assert.deepEqual(logTicks(0.105, 0.5).map((t) => t.label), ["0.15", "0.2", "0.3", "0.4", "0.5"]);
 * // A tenth of a decade: round linear steps.
 * assert.deepEqual(logTicks(0.31, 0.39).map((t) => t.label), ["0.32", "0.34", "0.36", "0.38"]);
 * assert.deepEqual(logTicks(0, 1), []);
 * ```
 */
export function logTicks(lo: number, hi: number): LogTick[] {
  if (!(lo > 0 && hi > 0 && Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) return [{ value: lo, label: fmt(lo) }];
  const L = Math.log10(lo), H = Math.log10(hi), span = H - L;
  const inside = (v: number) => v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12);
  let ticks: { value: number; labelled: boolean }[] = [];
  // Label every k-th power of ten, so that at most about ten are labelled.
  const every = Math.max(1, Math.ceil(span / 10));
  for (let e = Math.floor(L); e <= Math.ceil(H); e++) {
    for (let m = 1; m <= (span > WIDE_DECADES ? 1 : 9); m++) {
      const value = decadeValue(m, e);
      if (!inside(value)) continue;
      const labelled = span < NARROW_DECADES ||
        (span <= MEDIUM_DECADES ? m === 1 || m === 2 || m === 5 : m === 1 && e % every === 0);
      ticks.push({ value, labelled });
    }
  }
  if (ticks.length < 4) {
    // A fraction of a decade: the mantissa ticks are one or two, so use round linear steps.
    const step = niceStep((hi - lo) / 4);
    ticks = [];
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi * (1 + 1e-12); k++) {
      ticks.push({ value: Number((k * step).toPrecision(12)), labelled: true });
    }
  }
  // Each end of the axis gets a label: the outermost tick there, or a round value added.
  for (const top of [true, false]) {
    const a = top ? 10 ** (H - END_SHARE * span) : lo, b = top ? hi : 10 ** (L + END_SHARE * span);
    const zone = ticks.filter((t) => t.value >= a && t.value <= b);
    if (zone.some((t) => t.labelled)) continue;
    if (zone.length) zone[top ? zone.length - 1 : 0].labelled = true;
    else ticks.push({ value: roundestIn(a, b, top), labelled: true });
  }
  ticks.sort((p, q) => p.value - q.value);
  const shown = ticks.filter((t) => t.labelled);
  const labels = new Map(shown.map((t, i) => [t, distinctLabels(shown.map((s) => s.value))[i]]));
  return ticks.map((t) => ({ value: t.value, label: labels.get(t) ?? "" }));
}

/**
 * The smallest and largest positive finite value of `groups`, the extent a
 * log axis can show; undefined when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positiveExtent } from "./_shared.ts";
 * assert.deepEqual(positiveExtent([0.5, 0, -1], [NaN, 0.02]), [0.02, 0.5]);
 * assert.equal(positiveExtent([0, -1]), undefined);
 * ```
 */
export function positiveExtent(...groups: ArrayLike<number>[]): [number, number] | undefined {
  let lo = Infinity, hi = -Infinity;
  for (const g of groups) {
    for (let i = 0; i < g.length; i++) {
      const v = g[i];
      if (!(v > 0) || v === Infinity) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** Plot scale options for a value axis, as {@link valueAxis} returns them. */
export interface ValueAxis {
  type: "linear" | "log";
  label: string;
  tickFormat?: (v: number) => string;
  /** With a data extent on a log axis: the domain, in decades (log10 units). */
  domain?: [number, number];
  /** With a data extent on a log axis: every tick, in decades. */
  ticks?: number[];
  /** With a data extent on a log axis: log10, applied to every value bound to the scale. */
  transform?: (v: number) => number;
}

/**
 * A value axis for Plot, linear or log.
 *
 * Without `extent` a log axis labels the 1, 2 and 5 ticks of each decade
 * ({@link logTick}), which Plot may thin further. With the data's `extent`
 * (see {@link positiveExtent}) it gets the ticks and labels of
 * {@link logTicks} instead: every tick under 1.5 decades, a label in the top
 * and the bottom quarter always. Plot would thin the labels of a `"log"`
 * scale by its own count whatever `tickFormat` says, so that axis is a linear
 * scale over log10 of the values (`transform`), with its domain and ticks in
 * decades; it draws exactly as a log scale does. Non-positive values become
 * NaN there and are left out, as on a log scale.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logTick, valueAxis } from "./_shared.ts";
 * assert.deepEqual(valueAxis("Loss"), { type: "linear", label: "Loss" });
 * assert.deepEqual(valueAxis("Loss (log)", true), { type: "log", label: "Loss (log)", tickFormat: logTick });
 * const axis = valueAxis("Loss (log)", true, [0.02, 0.6]);
 * assert.deepEqual(axis.domain, [Math.log10(0.02), Math.log10(0.6)]);
 * assert.equal(axis.transform!(100), 2);
 * assert.ok(Number.isNaN(axis.transform!(0)));
 * const labels = axis.ticks!.map(axis.tickFormat!).filter((s) => s);
 * assert.ok(labels.includes("0.3") && labels.includes("0.6"));
 * ```
 */
export function valueAxis(label: string, log = false, extent?: readonly [number, number]): ValueAxis {
  if (!log) return { type: "linear", label };
  const ticks = extent ? logTicks(extent[0], extent[1]) : [];
  if (!extent || ticks.length === 0) return { type: "log", label, tickFormat: logTick };
  const lo = Math.min(extent[0], extent[1]), hi = Math.max(extent[0], extent[1]);
  // A constant series would give an empty domain: widen it by half a decade each way.
  const pad = lo === hi ? 0.5 : 0;
  const at = ticks.map((t) => Math.log10(t.value));
  const labels = new Map(at.map((d, i) => [d, ticks[i].label]));
  return {
    type: "linear",
    label,
    domain: [Math.log10(lo) - pad, Math.log10(hi) + pad],
    ticks: at,
    tickFormat: (d) => labels.get(d) ?? "",
    transform: (v) => v > 0 ? Math.log10(v) : NaN,
  };
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
