import { defineExperiment } from "../src/eval/config.ts";

/**
 * ECOD (Li et al. 2022): max of the left, right and skewness-chosen sums of −log empirical tail
 * probabilities per feature; the detector has no hyperparameters.
 * Other hyperparameters: registry defaults (not searched yet).
 * Model selection (signed-log scaling or not): ranked on benign validation rows against the same rows
 * with columns permuted — the protocol's only anomalies are test rows (docs/protocols.md "Model selection").
 * Protocol: CIC-IDS2017 improved sample, half the benign rows for training — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "cic-ids2017-ecod",
  protocol: "cic-ids2017",
  detector: "ecod",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: { preprocess: [{}, { log1p: true }] },
  quick: { maxRows: 1500, seeds: [0] },
});
