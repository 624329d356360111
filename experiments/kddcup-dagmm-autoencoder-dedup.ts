import { defineExperiment } from "../src/eval/config.ts";

/**
 * VARIANT (added after the deduplicated run, for fidelity to DAGMM, which trains on the raw split):
 * training rows keep their duplicates (smurf/neptune dominate, as in the paper).
 * dense autoencoder, reconstruction MSE; early stopping on benign rows held out from training.
 * Protocol: KDD'99 10 % with DAGMM's inverted labelling (Zong et al. 2018) — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "kddcup-dagmm-autoencoder-dup",
  protocol: "kddcup-dagmm",
  detector: "autoencoder",
  variant: "keep-duplicates",
  params: { layers: [64, 16, 64], epochs: 8, batchSize: 1024, patience: 3, lr: 0.001 },
  features: "all",
  preprocess: { scale: "minmax", dropDuplicates: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0],
  quick: { maxRows: 1500, seeds: [0], params: { epochs: 2 } },
});
