import { defineExperiment } from "../src/eval/config.ts";

/**
 * HBOS (Goldstein & Dengel 2012): equal-width histograms per feature; score = Σ log(fullest bin / bin of
 * the value), features assumed independent.
 * Model selection (signed-log scaling or not and the threshold percentile): ranked on attack rows of the UNSW-NB15 training set beside benign validation rows,
 * never on the test files (search block; docs/protocols.md "Model selection"). Other parameters: as below.
 * Protocol: UNSW-NB15 official partition, normal rows of the training set → the testing set — see
 * docs/protocols.md. The files are not in the repository: run with --path unsw-nb15-train=FILE
 * --path unsw-nb15-test=FILE.
 * Threshold: the percentile the search chose, fit on the scores of normal training rows held out from
 * fitting (no test labels).
 */
export default defineExperiment({
  id: "unsw-nb15-hbos",
  protocol: "unsw-nb15",
  detector: "hbos",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: {
    preprocess: [{}, { log1p: true }],
    threshold: [{ q: 0.9 }, { q: 0.95 }, { q: 0.97 }, { q: 0.98 }, { q: 0.99 }, { q: 0.995 }],
  },
  quick: { maxRows: 1500, seeds: [0] },
});
