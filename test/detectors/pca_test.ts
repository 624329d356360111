import assert from "node:assert/strict";
import { matrix } from "../../src/data/matrix.ts";
import { type PcaDetector, symmetricEigen } from "../../src/detectors/pca.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { Rng } from "../../src/util/random.ts";
import { testWhen } from "../_shared.ts";
import { assertAurocClose, needSklearn, nslSlice, reference, worstRelative } from "./_baselines.ts";

Deno.test("pca: the Jacobi eigen-solver decomposes symmetric matrices (A v = λ v, orthonormal, descending)", () => {
  const rng = new Rng(3);
  for (const d of [1, 2, 5, 30]) {
    // B Bᵀ − 2I: symmetric and indefinite (negative eigenvalues sort last).
    const b = Float64Array.from({ length: d * d }, () => rng.normal());
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += b[i * d + k] * b[j * d + k];
        a[i * d + j] = s - (i === j ? 2 : 0);
      }
    }
    const { values, vectors } = symmetricEigen(a, d);
    for (let r = 0; r < d; r++) {
      if (r > 0) assert.ok(values[r] <= values[r - 1], `eigenvalues descend: ${values[r - 1]}, ${values[r]}`);
      for (let i = 0; i < d; i++) {
        let av = 0;
        for (let k = 0; k < d; k++) av += a[i * d + k] * vectors[r * d + k];
        assert.ok(Math.abs(av - values[r] * vectors[r * d + i]) < 1e-9, `d=${d}: (A v)_${i} ≠ λ v_${i}`);
      }
      for (let s = 0; s <= r; s++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += vectors[r * d + k] * vectors[s * d + k];
        assert.ok(Math.abs(dot - (r === s ? 1 : 0)) < 1e-12, `d=${d}: v${r}·v${s} = ${dot}`);
      }
    }
  }
});

Deno.test("pca: k = the fewest components explaining varianceKept; residual is the distance to their span", async () => {
  // Hand-made: independent columns with variances 100, 10, 1 (a plane-like cloud); 0.95 of 111 needs two axes.
  const rng = new Rng(1);
  const n = 4000, x = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    x[i * 3] = 10 * rng.normal();
    x[i * 3 + 1] = Math.sqrt(10) * rng.normal();
    x[i * 3 + 2] = rng.normal();
  }
  const d = createDetector("pca", {}, 0) as PcaDetector;
  await d.fit(matrix(x, n, 3));
  assert.equal(d.components, 2);
  const ev = d.eigenvalues;
  assert.ok(ev[0] > ev[1] && ev[1] > ev[2]);
  // The kept plane is (nearly) the first two axes: a row off it by 3 in the third column scores ≈ 9.
  const [s] = await d.score(matrix(Float64Array.from([0, 0, 3]), 1, 3));
  assert.ok(Math.abs(s - 9) < 0.2, `${s}`);
  const all = createDetector("pca", { varianceKept: 1 }, 0) as PcaDetector;
  await all.fit(matrix(x, n, 3));
  assert.equal(all.components, 2, "k is capped at d − 1 so a residual remains");
});

Deno.test("pca: nComponents must leave a residual", async () => {
  const d = createDetector("pca", { nComponents: 3 }, 0);
  await assert.rejects(
    async () => await d.fit(matrix(new Float64Array(12), 4, 3)),
    /nComponents = 3 leaves no residual with 3 feature\(s\); expected at most 2/,
  );
  const huge = createDetector("pca", {}, 0);
  await assert.rejects(
    async () => await huge.fit(matrix(Float64Array.from([1e200, 0]), 1, 2)),
    /within ±1e\+150/,
  );
});

testWhen(
  [needSklearn()],
  "pca: matches scikit-learn's PCA reconstruction row by row on NSL-KDD",
  async () => {
    const s = nslSlice();
    for (const params of [{}, { nComponents: 10, standardize: true }]) {
      const d = createDetector("pca", params, 0) as PcaDetector;
      await d.fit(s.train);
      const ours = await d.score(s.test);
      // Default: scikit-learn picks k for a 0.95 variance share itself, so the choice of k is checked too.
      const p = d.params as { nComponents: number; standardize: boolean; varianceKept: number };
      const ref = await reference("pca", s.train, s.test, {
        components: p.nComponents || p.varianceKept.toFixed(2),
        standardize: p.standardize,
      });
      assert.equal(d.components, ref.info.components, "components kept");
      const w = worstRelative(ours, ref.scores);
      assert.ok(w.err < 1e-8, `${JSON.stringify(params)}: row ${w.row} differs by ${w.err} (relative)`);
      assertAurocClose(
        `pca k=${d.components}${p.standardize ? " standardized" : ""}`,
        s.testLabels,
        ours,
        ref.scores,
      );
    }
  },
);
