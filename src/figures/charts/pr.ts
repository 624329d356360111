/**
 * Precision–recall curves, the chart to read when attacks are rare.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prChart } from "./pr.ts";
 * const fig = prChart([{ name: "kmeans", recall: [0, 0.5, 1], precision: [1, 0.8, 0.2], ap: 0.7 }]);
 * assert.ok(fig.toSVG().includes("kmeans (AP 0.700)"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { Figure } from "../figure.ts";
import { type ChartOptions, paletteScale } from "./_shared.ts";
import { plotFigure, seriesItems } from "./_plot.ts";
import { thinCurve } from "./reduce.ts";

/** One precision–recall curve. */
export interface PrCurve {
  name: string;
  recall: ArrayLike<number>;
  precision: ArrayLike<number>;
  /** Average precision, shown in the legend. */
  ap?: number;
}

/** The y axis of a precision–recall chart: its domain, and whether that is zoomed in from [0, 1]. */
export interface PrecisionAxis {
  domain: [number, number];
  zoomed: boolean;
}

/** Zoom only when the curves fill at most this share of the full 0–1 axis. */
const ZOOM_SPAN = 0.5;
/** Axis steps to round a zoomed domain outward to, finest first. */
const STEPS = [0.005, 0.01, 0.02, 0.05, 0.1];

/**
 * The precision axis for `curves`: [0, 1], or, when every curve's precision
 * stays within a band no taller than half the axis (detectors that all score
 * 0.95–1 would be a flat line at the top of a 0–1 axis), that band rounded
 * outward to a step of 0.005–0.1 chosen to give at most ten steps, never above 1.
 * Non-finite precisions are ignored; no finite one gives [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { precisionDomain } from "./pr.ts";
 * const high = { name: "a", recall: [0, 0.5, 1], precision: [1, 0.985, 0.962] };
 * assert.deepEqual(precisionDomain([high]), { domain: [0.96, 1], zoomed: true });
 * const low = { name: "b", recall: [0, 1], precision: [1, 0.3] };
 * assert.deepEqual(precisionDomain([high, low]), { domain: [0, 1], zoomed: false });
 * ```
 */
export function precisionDomain(curves: readonly PrCurve[]): PrecisionAxis {
  let lo = Infinity, hi = -Infinity;
  for (const c of curves) {
    for (let i = 0; i < c.precision.length; i++) {
      const v = c.precision[i];
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const full: PrecisionAxis = { domain: [0, 1], zoomed: false };
  if (!(lo <= hi) || lo < 0 || hi > 1) return full;
  const step = STEPS.find((s) => (hi - lo) / s <= 10) ?? 0.1;
  // Rounded to the step's decimals, so 0.96 is not 0.9600000000000001 in labels and tests.
  const round = (v: number) => Number(v.toFixed(3));
  let a = round(Math.floor(lo / step + 1e-9) * step);
  const b = round(Math.min(1, Math.ceil(hi / step - 1e-9) * step));
  if (a >= b) a = round(b - step);
  return b - a <= ZOOM_SPAN ? { domain: [a, b], zoomed: true } : full;
}

/**
 * Precision–recall curves; `baseline` draws the no-skill line at the attack
 * prevalence. When all curves live in a narrow band of precision the y axis
 * zooms to it ({@link precisionDomain}) and says so in its label; a baseline
 * outside the zoomed axis is then neither drawn nor listed in the legend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prChart } from "./pr.ts";
 * const fig = prChart([{ name: "iforest", recall: [0, 1], precision: [1, 0.1] }], { baseline: 0.1 });
 * assert.ok(fig.toSVG().includes("no skill (0.100)"));
 * const zoomed = prChart([{ name: "ae", recall: [0, 1], precision: [1, 0.97] }], { baseline: 0.5 }).toSVG();
 * assert.ok(zoomed.includes("Precision (zoomed)"));
 * assert.ok(!zoomed.includes("no skill"));
 * ```
 */
export function prChart(curves: PrCurve[], opts: ChartOptions & { baseline?: number } = {}): Figure {
  const names = curves.map((c) => c.ap === undefined ? c.name : `${c.name} (AP ${c.ap.toFixed(3)})`);
  const data = curves.flatMap((c, i) => thinCurve(c.recall, c.precision).map((p) => ({ ...p, s: names[i] })));
  const { domain, zoomed } = precisionDomain(curves);
  const baseline = opts.baseline !== undefined && opts.baseline >= domain[0] && opts.baseline <= domain[1]
    ? opts.baseline
    : undefined;
  const items = seriesItems(names);
  if (baseline !== undefined) {
    items.push({ name: `no skill (${baseline.toFixed(3)})`, color: "#999", dash: true });
  }
  return plotFigure(items, () => ({
    marginLeft: 60,
    marginBottom: 46,
    grid: true,
    x: { domain: [0, 1], label: "Recall" },
    y: { domain, label: zoomed ? "Precision (zoomed)" : "Precision" },
    color: paletteScale(names),
    marks: [
      ...(baseline !== undefined ? [Plot.ruleY([baseline], { stroke: "#999", strokeDasharray: "4,4" })] : []),
      Plot.line(data, { x: "x", y: "y", stroke: "s", z: "s", strokeWidth: 2.5 }),
    ],
  }), opts);
}
