/**
 * Evaluation: metrics (ROC/PR curves and areas, confusion-matrix metrics,
 * Wilson and bootstrap intervals), the evaluation protocols and experiment
 * runner behind `nadir experiment`, loading and comparing committed result
 * folders ({@link loadRuns}, {@link compareRows}), published baselines, and
 * matching Snort/Suricata alerts to flows. docs/protocols.md, docs/results.md,
 * docs/baselines.md and docs/ids.md describe each.
 *
 * The headline F1 uses a threshold fit on benign training scores only
 * (nadir/thresholds); {@link f1Oracle} is the papers' convention, for
 * comparison only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluate, getProtocol, rocAuc, rocCurve, wilson } from "nadir/eval";
 *
 * const labels = [0, 0, 0, 1, 1];
 * const scores = [0.1, 0.2, 0.6, 0.5, 0.9];
 * assert.equal(rocAuc(labels, scores), 5 / 6);
 * const roc = rocCurve(labels, scores);
 * assert.deepEqual([roc.fpr[0], roc.tpr[0]], [0, 0]);
 * const m = evaluate(labels, scores, 0.55);
 * assert.deepEqual([m.tp, m.fp, m.tn, m.fn], [1, 1, 2, 1]);
 * assert.equal(m.precision, 0.5);
 * const [lo, hi] = wilson(8, 10);
 * assert.ok(lo < 0.8 && 0.8 < hi);
 * assert.equal(getProtocol("nsl-kdd").name, "nsl-kdd");
 * ```
 * @module
 */
export * from "./metrics.ts";
export * from "./protocols.ts";
export * from "./config.ts";
export * from "./runner.ts";
export * from "./runs.ts";
export * from "./compare.ts";
export * from "./published.ts";
export * from "./search.ts";
export * from "./datasets.ts";
export * from "./prep.ts";
export * from "./env.ts";
export * from "./results.ts";
export * from "./match.ts";
export * from "./alert_labels.ts";
export * from "./ids_baseline.ts";
export * from "./ids_compare.ts";
export * from "./adaptation.ts";
export * from "./adaptation_captures.ts";
