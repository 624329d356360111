import { defineExperiment } from "../src/eval/config.ts";

/**
 * standard isolation forest (ψ = 256, 100 trees).
 * Protocol: NSL-KDD, KDDTrain+ normal rows → KDDTest+ / KDDTest-21 — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "nsl-kdd-isolation-forest",
  protocol: "nsl-kdd",
  detector: "isolation-forest",
  params: { nTrees: 100, maxSamples: 256 },
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  quick: { maxRows: 1500, seeds: [0], params: { nTrees: 50 } },
});
