import { defineExperiment } from "../src/eval/config.ts";

/**
 * PCA residual: squared distance to the subspace of the leading principal components that explain
 * 95 % of the normal training variance.
 * Hyperparameters: registry defaults (no search yet — issue 13 item 4).
 * Protocol: CIC-IDS2017 improved sample, half the benign rows for training — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "cic-ids2017-pca",
  protocol: "cic-ids2017",
  detector: "pca",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  quick: { maxRows: 1500, seeds: [0] },
});
