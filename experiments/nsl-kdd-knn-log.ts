import { defineExperiment } from "../src/eval/config.ts";

/**
 * VARIANT (not the headline: the stated method is plain min-max): signed log sign(x)·ln(1+|x|) of
 * every numeric feature before min-max scaling — standard practice for heavy-tailed byte/count features.
 * 1-NN distance to the deduplicated normal training rows (exact k-d tree, or brute force for small sets).
 * Protocol: NSL-KDD, KDDTrain+ normal rows → KDDTest+ / KDDTest-21 — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "nsl-kdd-knn-log",
  protocol: "nsl-kdd",
  detector: "knn",
  variant: "log1p",
  params: { k: 1 },
  features: "all",
  preprocess: { log1p: true, scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  quick: { maxRows: 1500, seeds: [0] },
});
