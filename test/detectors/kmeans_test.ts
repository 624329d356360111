import assert from "node:assert/strict";
import { matrix } from "../../src/data/matrix.ts";
import { KMeansDetector } from "../../src/detectors/kmeans.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { Rng } from "../../src/util/random.ts";

const CENTRES = [[0, 0], [10, 0], [0, 10]];

function blobs(n: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const c = CENTRES[i % 3];
    x[2 * i] = c[0] + rng.normal(0, 0.5);
    x[2 * i + 1] = c[1] + rng.normal(0, 0.5);
  }
  return matrix(x, n, 2);
}

for (const batchSize of [0, 64]) {
  Deno.test(`kmeans (${batchSize ? "mini-batch" : "Lloyd/Hamerly"}): recovers separated clusters; score 1 = cluster radius`, async () => {
    const x = blobs(900, 1);
    const det = createDetector("kmeans", { k: 3, batchSize }, 2) as KMeansDetector;
    await det.fit(x);
    const c = det.centroids;
    for (const t of CENTRES) {
      const best = Math.min(...[0, 1, 2].map((j) => Math.hypot(c[2 * j] - t[0], c[2 * j + 1] - t[1])));
      assert.ok(best < 0.2, `no centroid near ${t} (closest ${best})`);
    }
    const s = await det.score(x);
    const within = s.filter((v) => v <= 1).length / s.length;
    assert.ok(within > 0.93 && within < 0.97, `fraction within radius ${within}, expected about 0.95`);
    const far = await det.score(matrix(Float64Array.from([5, 5]), 1, 2));
    assert.ok(far[0] > 3);
  });
}

Deno.test("kmeans: k larger than the rows is a clear error", async () => {
  const det = createDetector("kmeans", { k: 10 }, 0);
  await assert.rejects(async () => await det.fit(blobs(5, 1)), /k = 10 exceeds the 5 training rows/);
});
