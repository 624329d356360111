import { defineExperiment } from "../src/eval/config.ts";

/**
 * LSTM sequence autoencoder over windows of consecutive rows in file order; score = reconstruction error of
 * the row's own (last) step. NSL-KDD carries no host or time and its files are shuffled (adjacent rows share
 * their label no more often than chance), so a window is random context and the model acts as a per-flow
 * autoencoder (docs/llm.md). Left out on the KDD'99 and CIC protocols, whose row order follows the label
 * (docs/protocols.md "Detectors left out").
 * Model selection (signed-log scaling or not and the threshold percentile): ranked on KDDTrain+ attack rows beside benign validation rows,
 * never on the test files (search block; docs/protocols.md "Model selection"). Other parameters: as below.
 * Protocol: NSL-KDD, KDDTrain+ normal rows → KDDTest+ / KDDTest-21 — see docs/protocols.md.
 * Threshold: the percentile the search chose, fit on the scores of normal training rows held out from
 * fitting (no test labels).
 */
export default defineExperiment({
  id: "nsl-kdd-lstm",
  protocol: "nsl-kdd",
  detector: "lstm",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: {
    preprocess: [{}, { log1p: true }],
    threshold: [{ q: 0.9 }, { q: 0.95 }, { q: 0.97 }, { q: 0.98 }, { q: 0.99 }, { q: 0.995 }],
  },
  quick: { maxRows: 1500, seeds: [0], params: { epochs: 1 } },
});
