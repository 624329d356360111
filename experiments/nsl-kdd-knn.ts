import { defineExperiment } from "../src/eval/config.ts";

/** 1-NN distance to the deduplicated benign KDDTrain+ rows; threshold at the 99th percentile of held-out benign rows. */
export default defineExperiment({
  id: "nsl-kdd-knn",
  protocol: "nsl-kdd",
  detector: "knn",
  params: { k: 1 },
  features: "all",
  preprocess: { scale: "minmax" },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0],
  quick: { maxRows: 1500 },
});
