/**
 * ROC curves: true-positive rate against false-positive rate for several
 * detectors on one chart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocChart } from "./roc.ts";
 * const fig = rocChart([{ name: "kmeans", fpr: [0, 0.1, 1], tpr: [0, 0.8, 1], auc: 0.85 }]);
 * assert.ok(fig.toSVG().includes("kmeans (AUC 0.850)"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { Figure } from "../figure.ts";
import { type ChartOptions, colorOf, paletteScale, valueAxis } from "./_shared.ts";
import { plotFigure, seriesItems } from "./_plot.ts";
import { thinCurve } from "./reduce.ts";

/** One ROC curve. */
export interface RocCurve {
  name: string;
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
  /** Area under the curve, shown in the legend. */
  auc?: number;
}

/**
 * ROC curves of several detectors on one chart, with the chance diagonal.
 * `logX` plots the false-positive rate on a log axis from 1e-4 (the part
 * operators care about). `points` adds single operating points, e.g. of a
 * signature IDS that has no score to sweep.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocChart } from "./roc.ts";
 * const fig = rocChart([{ name: "autoencoder", fpr: [0, 0.001, 0.01, 1], tpr: [0, 0.5, 0.9, 1] }], {
 *   logX: true,
 *   points: [{ name: "Suricata", fpr: 0.0005, tpr: 0.3 }],
 * });
 * const svg = fig.toSVG();
 * assert.ok(svg.includes("False-positive rate (log)"));
 * assert.ok(svg.includes("Suricata (operating point)"));
 * assert.ok(svg.includes(">0.0005</text>") || svg.includes(">5e-4</text>"));
 * ```
 */
export function rocChart(
  curves: RocCurve[],
  opts: ChartOptions & { logX?: boolean; points?: { name: string; fpr: number; tpr: number }[] } = {},
): Figure {
  const names = curves.map((c) => c.auc === undefined ? c.name : `${c.name} (AUC ${c.auc.toFixed(3)})`);
  const data = curves.flatMap((c, i) => thinCurve(c.fpr, c.tpr).map((p) => ({ ...p, s: names[i] })));
  const floor = 1e-4;
  const pts = (opts.points ?? []).map((p) => ({ ...p, x: opts.logX ? Math.max(p.fpr, floor) : p.fpr }));
  const ptItems = pts.map((p, i) => ({
    name: `${p.name} (operating point)`,
    color: colorOf(names.length + i),
  }));
  return plotFigure([...seriesItems(names), ...ptItems], () => ({
    marginLeft: 60,
    marginBottom: 46,
    grid: true,
    x: opts.logX
      // From the fixed extent, so 1, 2 and 5 of every decade are labelled (Plot alone would drop the 5s).
      ? valueAxis("False-positive rate (log)", true, [floor, 1])
      : { domain: [0, 1], label: "False-positive rate" },
    y: { domain: [0, 1], label: "True-positive rate (recall)" },
    color: paletteScale([...names, ...pts.map((p) => p.name)]),
    marks: [
      opts.logX
        // Chance (tpr = fpr) is a curve on a log x axis: draw it through log-spaced points.
        ? Plot.line(Array.from({ length: 41 }, (_, i) => [10 ** (-4 + i / 10), 10 ** (-4 + i / 10)]), {
          stroke: "#999",
          strokeDasharray: "4,4",
        })
        : Plot.line([[0, 0], [1, 1]], { stroke: "#999", strokeDasharray: "4,4" }),
      Plot.line(
        opts.logX ? data.map((d) => ({ ...d, x: Math.max(d.x, floor) })) : data,
        { x: "x", y: "y", stroke: "s", z: "s", strokeWidth: 2.5, curve: "step-after" },
      ),
      Plot.dot(pts, { x: "x", y: "tpr", fill: "name", r: 7, stroke: "white", symbol: "diamond" }),
    ],
  }), opts);
}
