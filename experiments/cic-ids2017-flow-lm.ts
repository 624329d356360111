import { defineExperiment } from "../src/eval/config.ts";

/**
 * flow-lm: small causal transformer language model of flows (fields tokenised, numeric ones into
 * quantile bins), trained from scratch on normal rows; score = mean token surprisal in nats.
 * Model selection (the number of field orders averaged, `orders` 1 or 3; the score: mean surprisal,
 * or each field standardised by its benign held-out surprisal first: zmean, ztopk; or knn, the
 * hidden states' distance to the 5th nearest benign training row): ranked on
 * benign validation rows against the same rows with columns permuted — the protocol's only anomalies
 * are test rows (docs/protocols.md "Model selection").
 * Other hyperparameters: registry defaults.
 * Protocol: CIC-IDS2017 improved sample, half the benign rows for training — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "cic-ids2017-flow-lm",
  protocol: "cic-ids2017",
  detector: "flow-lm",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: { params: { score: ["mean", "zmean", "ztopk", "knn"], orders: [1, 3] } },
  quick: { maxRows: 1500, seeds: [0], params: { epochs: 1 } },
});
