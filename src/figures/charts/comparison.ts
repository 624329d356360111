/**
 * Detector comparisons: grouped bars of several metrics per detector.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonChart } from "./comparison.ts";
 * const fig = comparisonChart([{ label: "kmeans", values: { precision: 0.8, recall: 0.6 } }], { percent: true });
 * assert.ok(fig.toSVG().includes(">recall</text>"));
 * ```
 * @module
 */
import type { Figure } from "../figure.ts";
import type { ChartOptions } from "./_shared.ts";
import { barChart } from "./bar.ts";

/**
 * Grouped comparison: rows × series values, e.g. detectors × {precision,
 * recall, F1}. A {@link barChart} with one group per series and value labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonChart } from "./comparison.ts";
 * const fig = comparisonChart([
 *   { label: "kmeans", values: { precision: 0.71, F1: 0.65 } },
 *   { label: "autoencoder", values: { precision: 0.92, F1: 0.88 } },
 * ]);
 * assert.ok(fig.toSVG().includes(">0.92</text>"));
 * ```
 */
export function comparisonChart(
  rows: { label: string; values: Record<string, number> }[],
  opts: ChartOptions & { xLabel?: string; domain?: [number, number]; percent?: boolean } = {},
): Figure {
  return barChart(
    rows.flatMap((r) => Object.entries(r.values).map(([group, value]) => ({ label: r.label, group, value }))),
    { valueLabels: true, ...opts },
  );
}
