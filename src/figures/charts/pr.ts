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

/**
 * Precision–recall curves; `baseline` draws the no-skill line at the attack prevalence.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prChart } from "./pr.ts";
 * const fig = prChart([{ name: "iforest", recall: [0, 1], precision: [1, 0.1] }], { baseline: 0.1 });
 * assert.ok(fig.toSVG().includes("no skill (0.100)"));
 * ```
 */
export function prChart(curves: PrCurve[], opts: ChartOptions & { baseline?: number } = {}): Figure {
  const names = curves.map((c) => c.ap === undefined ? c.name : `${c.name} (AP ${c.ap.toFixed(3)})`);
  const data = curves.flatMap((c, i) => thinCurve(c.recall, c.precision).map((p) => ({ ...p, s: names[i] })));
  const items = seriesItems(names);
  if (opts.baseline !== undefined) {
    items.push({ name: `no skill (${opts.baseline.toFixed(3)})`, color: "#999", dash: true });
  }
  return plotFigure(items, () => ({
    marginLeft: 60,
    marginBottom: 46,
    grid: true,
    x: { domain: [0, 1], label: "Recall" },
    y: { domain: [0, 1], label: "Precision" },
    color: paletteScale(names),
    marks: [
      ...(opts.baseline !== undefined
        ? [Plot.ruleY([opts.baseline], { stroke: "#999", strokeDasharray: "4,4" })]
        : []),
      Plot.line(data, { x: "x", y: "y", stroke: "s", z: "s", strokeWidth: 2.5 }),
    ],
  }), opts);
}
