import { defineExperiment } from "../src/eval/config.ts";

/**
 * Training rows keep their duplicates, as in DAGMM's protocol (the paper trains on the raw split;
 * smurf/neptune copies carry the density a reconstruction/isolation model learns).
 * dense autoencoder, reconstruction MSE; early stopping on benign rows held out from training.
 * Model selection (signed-log scaling or not): ranked on benign validation rows against the same rows
 * with columns permuted — the protocol's only anomalies are test rows (docs/protocols.md "Model selection").
 * Protocol: KDD'99 10 % with DAGMM's inverted labelling (Zong et al. 2018) — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "kddcup-dagmm-autoencoder",
  protocol: "kddcup-dagmm",
  detector: "autoencoder",
  params: { layers: [64, 16, 64], epochs: 8, batchSize: 1024, patience: 3, lr: 0.001 },
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false, dropDuplicates: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: { preprocess: [{}, { log1p: true }] },
  quick: { maxRows: 1500, seeds: [0], params: { epochs: 2 } },
});
