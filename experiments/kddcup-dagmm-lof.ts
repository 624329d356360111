import { defineExperiment } from "../src/eval/config.ts";

/**
 * Local Outlier Factor (Breunig et al. 2000) in novelty mode against the normal training rows (exact
 * k-d tree search; the detector drops duplicate rows itself, as kNN does).
 * Other hyperparameters: registry defaults (not searched yet).
 * Model selection (signed-log scaling or not): ranked on benign validation rows against the same rows
 * with columns permuted — the protocol's only anomalies are test rows (docs/protocols.md "Model selection").
 * Protocol: KDD'99 10 % with DAGMM's inverted labelling (Zong et al. 2018) — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "kddcup-dagmm-lof",
  protocol: "kddcup-dagmm",
  detector: "lof",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: { preprocess: [{}, { log1p: true }] },
  quick: { maxRows: 1500, seeds: [0] },
});
