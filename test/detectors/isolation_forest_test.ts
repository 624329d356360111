import assert from "node:assert/strict";
import { matrix } from "../../src/data/matrix.ts";
import { averagePathLength } from "../../src/detectors/isolation_forest.ts";
import { createDetector, loadDetector } from "../../src/detectors/registry.ts";
import { nslSlice } from "./_baselines.ts";
import { Rng } from "../../src/util/random.ts";

Deno.test("isolation-forest: c(n) as in Liu et al. 2008", () => {
  assert.equal(averagePathLength(1), 0);
  assert.equal(averagePathLength(2), 1);
  // 2 (ln 255 + γ) − 2·255/256
  assert.ok(Math.abs(averagePathLength(256) - 10.244770920116851) < 1e-9);
});

Deno.test("isolation-forest: scores in (0, 1], outliers near 1, inliers near 0.5", async () => {
  const rng = new Rng(9);
  const n = 1000, d = 3;
  const x = Float64Array.from({ length: n * d }, () => rng.normal(0, 1));
  const det = createDetector("isolation-forest", {}, 1);
  await det.fit(matrix(x, n, d));
  const s = await det.score(matrix(Float64Array.from([0, 0, 0, 8, 8, 8]), 2, d));
  assert.ok(s[0] > 0 && s[0] < 0.5, `inlier ${s[0]}`);
  assert.ok(s[1] > 0.7 && s[1] <= 1, `outlier ${s[1]}`);
  // Constant columns never become splits (they would waste depth).
  const c = Float64Array.from({ length: 200 * 2 }, (_, i) => (i % 2 === 0 ? 5 : rng.next()));
  const det2 = createDetector("isolation-forest", { nTrees: 10 }, 1);
  await det2.fit(matrix(c, 200, 2));
  const st = await det2.save();
  const feature = new Int32Array(st.blobs!.feature.buffer);
  assert.ok(feature.every((f) => f !== 0), "split on a constant column");
});

Deno.test("isolation-forest: scores are the walk of the saved trees, shallow (laid out) or deep, and after load", async () => {
  // Real rows (NSL-KDD, min-max scaled). The default ψ = 256 gives trees of depth ≤ 8, scored in their
  // laid-out form; ψ = 20,000 gives deeper ones, walked by child index. Both must score exactly what a
  // walk of the saved child indices gives, also once loaded from the saved state.
  const { train, test } = nslSlice(20_000, 3_003); // not a multiple of 4: every path of the scoring loop
  for (const params of [{ nTrees: 40 }, { nTrees: 5, maxSamples: 20_000 }]) {
    const det = createDetector("isolation-forest", params, 3);
    await det.fit(train);
    const st = await det.save();
    const blob = (k: string) => st.blobs![k];
    const feature = new Int32Array(blob("feature").slice().buffer),
      left = new Int32Array(blob("left").slice().buffer);
    const right = new Int32Array(blob("right").slice().buffer),
      roots = new Int32Array(blob("roots").slice().buffer);
    const split = new Float64Array(blob("split").slice().buffer);
    const psi = (st.state as { psi: number }).psi, d = test.cols;
    let deepest = 0;
    const want = new Float64Array(test.rows);
    for (let i = 0; i < test.rows; i++) {
      let total = 0;
      for (const r of roots) {
        let node = r, depth = 0;
        while (feature[node] >= 0) {
          node = test.data[i * d + feature[node]] < split[node] ? left[node] : right[node];
          depth++;
        }
        deepest = Math.max(deepest, depth);
        total += split[node];
      }
      want[i] = Math.pow(2, -total / (averagePathLength(psi) * roots.length));
    }
    assert.ok(
      params.maxSamples ? deepest > 12 : deepest <= 8,
      `depth ${deepest} with ${JSON.stringify(params)}`,
    );
    assert.deepEqual(await det.score(test), want);
    const loaded = await loadDetector("isolation-forest", st, params, 3);
    assert.deepEqual(await loaded.score(test), want);
  }
});
