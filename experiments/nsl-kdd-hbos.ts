import { defineExperiment } from "../src/eval/config.ts";

/**
 * HBOS (Goldstein & Dengel 2012): equal-width histograms per feature; score = Σ log(fullest bin / bin of
 * the value), features assumed independent.
 * Hyperparameters: registry defaults (no search yet — issue 13 item 4).
 * Protocol: NSL-KDD, KDDTrain+ normal rows → KDDTest+ / KDDTest-21 — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "nsl-kdd-hbos",
  protocol: "nsl-kdd",
  detector: "hbos",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  quick: { maxRows: 1500, seeds: [0] },
});
