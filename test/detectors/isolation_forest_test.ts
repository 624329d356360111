import assert from "node:assert/strict";
import { matrix } from "../../src/data/matrix.ts";
import { averagePathLength } from "../../src/detectors/isolation_forest.ts";
import { createDetector } from "../../src/detectors/registry.ts";
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
