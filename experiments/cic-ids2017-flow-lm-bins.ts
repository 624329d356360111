import { defineExperiment } from "../src/eval/config.ts";

/**
 * EXPLORATORY VARIANT, added after the bench ablation (docs/llm.md "Model ablation") showed 32 bins
 * helping the z aggregates on KDDTest+: the search grid of `cic-ids2017-flow-lm` with `bins` 16 or 32 added.
 * The choice among the candidates is still made without test labels; the grid itself was not.
 * flow-lm: small causal transformer language model of flows (fields tokenised, numeric ones into
 * quantile bins), trained from scratch on normal rows; score = mean token surprisal in nats.
 * Model selection (the number of field orders averaged, `orders` 1 or 3; quantile bins a numeric field,
 * 16 or 32; the surprisal aggregate:
 * mean, or each field standardised by its benign held-out surprisal first: zmean, ztopk): ranked on
 * benign validation rows against the same rows with columns permuted — the protocol's only anomalies
 * are test rows (docs/protocols.md "Model selection").
 * Other hyperparameters: registry defaults.
 * Protocol: CIC-IDS2017 improved sample, half the benign rows for training — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "cic-ids2017-flow-lm-bins",
  variant: "bins-search",
  protocol: "cic-ids2017",
  detector: "flow-lm",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: { params: { score: ["mean", "zmean", "ztopk"], orders: [1, 3], bins: [16, 32] } },
  quick: { maxRows: 1500, seeds: [0], params: { epochs: 1 } },
});
