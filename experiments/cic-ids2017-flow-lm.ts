import { defineExperiment } from "../src/eval/config.ts";

/**
 * flow-lm: small causal transformer language model of flows (fields tokenised, numeric ones into
 * quantile bins), trained from scratch on normal rows; score = mean token surprisal in nats.
 * Other hyperparameters: registry defaults (not searched yet).
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
  quick: { maxRows: 1500, seeds: [0], params: { epochs: 1 } },
});
