import { defineExperiment } from "../src/eval/config.ts";

/**
 * Training rows keep their duplicates, as in the paper's protocol (docs/protocols.md "Duplicates"): the
 * copies' frequency is part of the density this detector models.
 * ν one-class SVM with an RBF kernel (γ = 1/(d·Var X)), exact dual by SMO on a seeded subsample of at
 * most maxSamples normal rows.
 * Hyperparameters: registry defaults (no search yet — issue 13 item 4).
 * Protocol: KDD'99 10 % with DAGMM's inverted labelling (Zong et al. 2018) — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "kddcup-dagmm-ocsvm",
  protocol: "kddcup-dagmm",
  detector: "ocsvm",
  params: {},
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false, dropDuplicates: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  quick: { maxRows: 1500, seeds: [0], params: { maxSamples: 512 } },
});
