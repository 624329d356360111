/**
 * Synthetic data for the detector conformance suite: benign rows lie near a
 * 2-dimensional linear manifold around three cluster centres in [0, 1]^d
 * (correlated features, as real flow features are); planted anomalies sit off
 * the manifold, at least 0.3 away from every centre. Generated from a seed.
 *
 * @module
 */
import { type Matrix, matrix } from "../../src/data/matrix.ts";
import type { ScoreContext } from "../../src/detectors/types.ts";
import { Rng } from "../../src/util/random.ts";

export interface SyntheticSet {
  train: Matrix;
  trainContext: ScoreContext;
  test: Matrix;
  testContext: ScoreContext;
  /** 1 = planted anomaly, per test row. */
  labels: Uint8Array;
}

export function syntheticSet(
  opts: { d?: number; nTrain?: number; nBenign?: number; nAnomalies?: number; seed?: number } = {},
): SyntheticSet {
  const d = opts.d ?? 6,
    nTrain = opts.nTrain ?? 800,
    nBenign = opts.nBenign ?? 300,
    nAnom = opts.nAnomalies ?? 60;
  const rng = new Rng(opts.seed ?? 12345);
  const centres = Array.from({ length: 3 }, () => Array.from({ length: d }, () => 0.25 + 0.5 * rng.next()));
  const basis = Array.from(
    { length: 2 },
    () => Array.from({ length: d }, () => rng.normal(0, 1) / Math.sqrt(d)),
  );
  const benign = (out: Float64Array, o: number) => {
    const c = centres[rng.int(3)];
    const z0 = rng.normal(0, 0.06), z1 = rng.normal(0, 0.06);
    for (let j = 0; j < d; j++) {
      out[o + j] = c[j] + z0 * basis[0][j] + z1 * basis[1][j] + rng.normal(0, 0.005);
    }
  };
  const anomaly = (out: Float64Array, o: number) => {
    for (;;) {
      for (let j = 0; j < d; j++) out[o + j] = -0.2 + 1.4 * rng.next();
      const ok = centres.every((c) => {
        let s = 0;
        for (let j = 0; j < d; j++) s += (out[o + j] - c[j]) ** 2;
        return Math.sqrt(s) > 0.3;
      });
      if (ok) return;
    }
  };
  const names = Array.from({ length: d }, (_, j) => `x${j}`);
  const tr = new Float64Array(nTrain * d);
  for (let i = 0; i < nTrain; i++) benign(tr, i * d);
  const n = nBenign + nAnom;
  const labels = new Uint8Array(n);
  const anomalyRows = rng.sampleIndices(n, nAnom);
  for (const r of anomalyRows) labels[r] = 1;
  const te = new Float64Array(n * d);
  for (let i = 0; i < n; i++) (labels[i] ? anomaly : benign)(te, i * d);
  const ctx = (rows: number): ScoreContext => ({
    groups: Array.from({ length: rows }, (_, i) => `10.0.0.${i % 4}`),
    timestamps: Array.from({ length: rows }, (_, i) => 1_700_000_000_000 + i * 1000),
  });
  return {
    train: matrix(tr, nTrain, d, names),
    trainContext: ctx(nTrain),
    test: matrix(te, n, d, names),
    testContext: ctx(n),
    labels,
  };
}
