import { defineExperiment } from "../src/eval/config.ts";

/**
 * KitNET (Kitsune, Mirsky et al. 2018): features clustered by correlation over the first fmGrace rows,
 * one small autoencoder per cluster and an output autoencoder over their RMSEs, one streaming pass in row
 * order; score = the output autoencoder's RMSE.
 * Model selection (signed-log scaling or not): ranked on benign validation rows against the same rows
 * with columns permuted — the protocol's only anomalies are test rows (docs/protocols.md "Model selection").
 * Other hyperparameters: registry defaults (not searched yet) except fmGrace: the protocol fits on
 * 1,000 benign rows, fewer than the default 5,000-row feature-mapping grace period (kitnet.fit refuses that);
 * 100 keeps Kitsune's 1:10 ratio of feature-mapping rows to autoencoder-training rows.
 * Protocol: CIC-IDS2017 improved sample, half the benign rows for training — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "cic-ids2017-kitnet",
  protocol: "cic-ids2017",
  detector: "kitnet",
  params: { fmGrace: 100 },
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: { preprocess: [{}, { log1p: true }] },
  quick: { maxRows: 1500, seeds: [0], params: { fmGrace: 100 } },
});
