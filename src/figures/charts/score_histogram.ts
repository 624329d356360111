/**
 * Score distributions by class, the chart that shows how far a detector's
 * scores separate benign traffic from each attack class.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupScores, scoreHistogram } from "./score_histogram.ts";
 * const groups = groupScores([0.1, 0.2, 0.9, 0.3], ["DoS", "normal", "DoS", "normal"]);
 * assert.deepEqual(groups.map((g) => g.name), ["normal", "DoS"]);
 * assert.ok(scoreHistogram(groups, { threshold: 0.5 }).toSVG().includes("threshold 0.5"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { Figure } from "../figure.ts";
import { type ChartOptions, fmt, paletteScale, valueAxis } from "./_shared.ts";
import { plotFigure, seriesItems } from "./_plot.ts";
import { binGroups } from "./reduce.ts";

/** Scores of one class (e.g. "benign", "DoS"). */
export interface ScoreGroup {
  name: string;
  scores: ArrayLike<number>;
}

/**
 * Splits `scores` by `labels` (same length) into {@link ScoreGroup}s,
 * benign-like names first (so benign traffic gets the first palette colour),
 * then the others alphabetically.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupScores } from "./score_histogram.ts";
 * const groups = groupScores([5, 1, 7], [true, false, true]);
 * assert.deepEqual(groups.map((g) => [g.name, Array.from(g.scores)]), [["false", [1]], ["true", [5, 7]]]);
 * ```
 */
export function groupScores(
  scores: ArrayLike<number>,
  labels: ArrayLike<string | number | boolean>,
): ScoreGroup[] {
  if (scores.length !== labels.length) {
    throw new RangeError(`groupScores: ${scores.length} scores but ${labels.length} labels`);
  }
  const by = new Map<string, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const k = String(labels[i]);
    let a = by.get(k);
    if (!a) by.set(k, a = []);
    a.push(scores[i]);
  }
  const benign = /^(benign|normal|0|false)\.?$/i;
  return [...by.entries()]
    .sort(([a], [b]) => (benign.test(a) ? 0 : 1) - (benign.test(b) ? 0 : 1) || a.localeCompare(b))
    .map(([name, s]) => ({ name, scores: Float64Array.from(s) }));
}

/**
 * Score distributions by class (each class normalised to sum 1, so a rare
 * attack class is as visible as benign traffic), with the detector's
 * threshold as a vertical rule. `logX` for heavy-tailed scores such as
 * reconstruction errors; `logY` (default true) so small tails show.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scoreHistogram } from "./score_histogram.ts";
 * const fig = scoreHistogram([{ name: "benign", scores: [0.01, 0.02, 0.05] }, { name: "DoS", scores: [3, 40] }], {
 *   logX: true,
 *   xLabel: "Reconstruction error",
 * });
 * const svg = fig.toSVG();
 * assert.ok(svg.includes("benign (n=3)"));
 * assert.ok(svg.includes("Reconstruction error"));
 * ```
 */
export function scoreHistogram(
  groups: ScoreGroup[],
  opts: ChartOptions & {
    threshold?: number;
    bins?: number;
    logX?: boolean;
    logY?: boolean;
    range?: [number, number];
    xLabel?: string;
  } = {},
): Figure {
  const { bins } = binGroups(groups.map((g) => ({ name: g.name, values: g.scores })), opts);
  const logY = opts.logY ?? true;
  // Empty bins are dropped on a log y axis; the rest start from this floor instead of 0.
  const floor = 1e-5;
  const rows = bins.filter((b) => !logY || b.frac > 0).map((b) => ({ ...b, frac: Math.max(b.frac, floor) }));
  const names = groups.map((g) => `${g.name} (n=${g.scores.length.toLocaleString("en-US")})`);
  const nameOf = new Map(groups.map((g, i) => [g.name, names[i]]));
  for (const r of rows) r.s = nameOf.get(r.s)!;
  const items = seriesItems(names);
  if (opts.threshold !== undefined) {
    items.push({ name: `threshold ${fmt(opts.threshold)}`, color: "#d62728", dash: true });
  }
  return plotFigure(items, () => ({
    marginLeft: 64,
    marginBottom: 46,
    grid: true,
    x: { ...valueAxis(opts.xLabel ?? "Anomaly score", opts.logX), ...(opts.logX ? { ticks: 8 } : {}) },
    y: logY
      ? {
        type: "log",
        label: "Share of class (log)",
        ticks: 6,
        tickFormat: (v: number) => `${fmt(v * 100)}%`,
      }
      : { label: "Share of class", tickFormat: (v: number) => `${fmt(v * 100)}%` },
    color: paletteScale(names),
    marks: [
      Plot.rectY(rows, {
        x1: "x1",
        x2: "x2",
        y1: logY ? floor : 0,
        y2: "frac",
        fill: "s",
        fillOpacity: 0.35,
        stroke: "s",
        strokeOpacity: 0.9,
        strokeWidth: 0.8,
      }),
      ...(opts.threshold !== undefined
        ? [
          Plot.ruleX([opts.threshold], { stroke: "#d62728", strokeWidth: 2.5, strokeDasharray: "6,4" }),
        ]
        : []),
    ],
  }), opts);
}
