import { defineExperiment } from "../src/eval/config.ts";

/**
 * flow-lm: small causal transformer language model of flows (fields tokenised, numeric ones into
 * quantile bins), trained from scratch on normal rows; score = mean token surprisal in nats.
 * Model selection (the number of field orders averaged, `orders` 1 or 3; the score — mean surprisal,
 * or each field standardised by its benign held-out surprisal first: zmean, ztopk; or knn, the hidden
 * states' distance to the 5th nearest benign training row — and the threshold percentile): ranked on KDDTrain+ attack rows beside benign validation rows, never on the
 * test files (search block; docs/protocols.md "Model selection").
 * Other parameters: as below.
 * Protocol: NSL-KDD, KDDTrain+ normal rows → KDDTest+ / KDDTest-21 — see docs/protocols.md.
 * Threshold: the percentile the search chose, fit on the scores of normal training rows held out from
 * fitting (no test labels).
 */
export default defineExperiment({
  id: "nsl-kdd-flow-lm",
  protocol: "nsl-kdd",
  detector: "flow-lm",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: {
    params: { score: ["mean", "zmean", "ztopk", "knn"], orders: [1, 3] },
    maxFitRows: 20000,
    threshold: [{ q: 0.9 }, { q: 0.95 }, { q: 0.97 }, { q: 0.98 }, { q: 0.99 }, { q: 0.995 }],
  },
  quick: { maxRows: 1500, seeds: [0], params: { epochs: 1 } },
});
