import { defineExperiment } from "../src/eval/config.ts";

/**
 * standard isolation forest (ψ = 256, 100 trees).
 * Model selection (signed-log scaling or not): ranked on benign validation rows against the same rows
 * with columns permuted — the protocol's only anomalies are test rows (docs/protocols.md "Model selection").
 * Protocol: KDD'99 10 %, attacks subsampled to 25 % of normal (Bergman & Hoshen 2020) — see docs/protocols.md.
 * Threshold: 99th percentile of the scores of normal training rows held out from fitting (no test labels).
 */
export default defineExperiment({
  id: "kddcup-rev-isolation-forest",
  protocol: "kddcup-rev",
  detector: "isolation-forest",
  params: { nTrees: 100, maxSamples: 256 },
  features: "all",
  preprocess: { scale: "minmax", dropConstant: false, dropDuplicates: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1, 2, 3, 4],
  search: { preprocess: [{}, { log1p: true }] },
  quick: { maxRows: 1500, seeds: [0], params: { nTrees: 50 } },
});
