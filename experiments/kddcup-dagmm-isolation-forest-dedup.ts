import { defineExperiment } from "../src/eval/config.ts";

/**
 * VARIANT (added after the deduplicated run, for fidelity to DAGMM, which trains on the raw split):
 * training rows keep their duplicates (smurf/neptune dominate, as in the paper).
 * standard isolation forest (ψ = 256, 100 trees).
 * Protocol: KDD'99 10 % with DAGMM's inverted labelling (Zong et al. 2018) — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "kddcup-dagmm-isolation-forest-dup",
  protocol: "kddcup-dagmm",
  detector: "isolation-forest",
  variant: "keep-duplicates",
  params: { nTrees: 100, maxSamples: 256 },
  features: "all",
  preprocess: { scale: "minmax", dropDuplicates: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2],
  quick: { maxRows: 1500, seeds: [0], params: { nTrees: 50 } },
});
