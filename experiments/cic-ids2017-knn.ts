import { defineExperiment } from "../src/eval/config.ts";

/**
 * 1-NN distance to the deduplicated normal training rows (exact k-d tree, or brute force for small sets).
 * Model selection (signed-log scaling or not): ranked on benign validation rows against the same rows
 * with columns permuted — the protocol's only anomalies are test rows (docs/protocols.md "Model selection").
 * Protocol: CIC-IDS2017 improved sample, half the benign rows for training — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "cic-ids2017-knn",
  protocol: "cic-ids2017",
  detector: "knn",
  params: { k: 1 },
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: { preprocess: [{}, { log1p: true }] },
  quick: { maxRows: 1500, seeds: [0] },
});
