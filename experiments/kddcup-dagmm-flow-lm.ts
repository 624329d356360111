import { defineExperiment } from "../src/eval/config.ts";

/**
 * Training rows keep their duplicates, as in the paper's protocol (docs/protocols.md "Duplicates"): the
 * copies' frequency is part of the density this detector models.
 * flow-lm: small causal transformer language model of flows (fields tokenised, numeric ones into
 * quantile bins), trained from scratch on normal rows; score = mean token surprisal in nats.
 * Other hyperparameters: registry defaults (not searched yet).
 * Protocol: KDD'99 10 % with DAGMM's inverted labelling (Zong et al. 2018) — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "kddcup-dagmm-flow-lm",
  protocol: "kddcup-dagmm",
  detector: "flow-lm",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false, dropDuplicates: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  quick: { maxRows: 1500, seeds: [0], params: { epochs: 1 } },
});
