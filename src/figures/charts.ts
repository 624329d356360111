/**
 * The charts nadir's notebooks, reports and slides use, drawn with Observable
 * Plot into SVG strings (no browser). Every function takes plain numbers (no
 * dependency on eval/ or detectors/ types) and returns a `Figure`
 * (./figure.ts).
 *
 * One chart per module under `charts/`; this index re-exports them all with
 * the shared helpers, so importers keep one path.
 *
 * Large inputs are reduced before Plot sees them (curves thinned to ~1500
 * points, histograms binned over typed arrays in `charts/reduce.ts`, timelines
 * bucketed) so a chart of millions of scores still renders in well under a
 * second.
 *
 * Legends are drawn as SVG by `charts/_plot.ts` (Plot's own legends are HTML,
 * which neither resvg nor a plain SVG viewer shows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocChart } from "./charts.ts";
 * const fig = rocChart([{ name: "kmeans", fpr: [0, 0.1, 1], tpr: [0, 0.8, 1], auc: 0.85 }]);
 * assert.ok(fig.toSVG().includes("AUC 0.850"));
 * ```
 * @module
 */
export { type ChartOptions, colorOf, fmt, heavyTailed, logTick, PALETTE, pct } from "./charts/_shared.ts";
export { binGroups, thinCurve } from "./charts/reduce.ts";
export { rocChart, type RocCurve } from "./charts/roc.ts";
export { prChart, type PrCurve, type PrecisionAxis, precisionDomain } from "./charts/pr.ts";
export { groupScores, type ScoreGroup, scoreHistogram } from "./charts/score_histogram.ts";
export { type ConfusionData, confusionMatrix } from "./charts/confusion_matrix.ts";
export { lossCurve, type LossHistory } from "./charts/loss_curve.ts";
export { type Bar, barChart } from "./charts/bar.ts";
export { comparisonChart } from "./charts/comparison.ts";
export { type RecallCell, recallGrid } from "./charts/recall_grid.ts";
export { timeline, type TimelineData } from "./charts/timeline.ts";
export { heatmap } from "./charts/heatmap.ts";
export { distributionGrid } from "./charts/distribution_grid.ts";
