/**
 * Threshold strategies (percentile, fpr, pot), fit on benign validation scores
 * only — never on labelled test data. A fitted {@link Threshold} is a plain
 * JSON-able object saved with the model; `score > value` means anomaly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitThreshold, isAnomalous, listThresholdStrategies, parseThresholdSpec } from "nadir/thresholds";
 *
 * assert.deepEqual(listThresholdStrategies().map((s) => s.name), ["percentile", "fpr", "pot"]);
 * const benign = Array.from({ length: 100 }, (_, i) => i / 100);
 * const t = fitThreshold("fpr", benign, { rate: 0.05 });
 * assert.ok(!isAnomalous(t, 0.9) && isAnomalous(t, 0.99));
 * assert.deepEqual(parseThresholdSpec("percentile:0.9"), { strategy: "percentile", params: { q: 0.9 } });
 * ```
 * @module
 */
export * from "./index.ts";
export { fitGpd, type GpdFit, potThreshold } from "./pot.ts";
