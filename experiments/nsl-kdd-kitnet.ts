import { defineExperiment } from "../src/eval/config.ts";

/**
 * KitNET (Kitsune, Mirsky et al. 2018): features clustered by correlation over the first fmGrace rows,
 * one small autoencoder per cluster and an output autoencoder over their RMSEs, one streaming pass in row
 * order; score = the output autoencoder's RMSE.
 * Hyperparameters: registry defaults (no search yet — issue 13 item 4).
 * Protocol: NSL-KDD, KDDTrain+ normal rows → KDDTest+ / KDDTest-21 — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "nsl-kdd-kitnet",
  protocol: "nsl-kdd",
  detector: "kitnet",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  quick: { maxRows: 1500, seeds: [0], params: { fmGrace: 100 } },
});
