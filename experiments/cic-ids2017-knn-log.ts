import { defineExperiment } from "../src/eval/config.ts";

/**
 * EXPLORATORY VARIANT, added after the minmax run (see docs/results.md): signed-log features.
 * 1-NN distance to the deduplicated normal training rows (exact k-d tree, or brute force for small sets).
 * Protocol: CIC-IDS2017 improved sample, half the benign rows for training — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "cic-ids2017-knn-log",
  protocol: "cic-ids2017",
  detector: "knn",
  variant: "log1p",
  params: { k: 1 },
  features: "all",
  preprocess: { log1p: true, scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  quick: { maxRows: 1500, seeds: [0] },
});
