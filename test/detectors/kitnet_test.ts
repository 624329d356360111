import assert from "node:assert/strict";
import { matrix } from "../../src/data/matrix.ts";
import { KitNetDetector } from "../../src/detectors/kitnet.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { Rng } from "../../src/util/random.ts";

/** 3 groups of 4 strongly correlated features (plus noise). */
function correlated(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(n * 12);
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < 3; g++) {
      const z = rng.next();
      for (let j = 0; j < 4; j++) out[i * 12 + g * 4 + j] = z * (j + 1) + rng.normal(0, 0.01);
    }
  }
  return out;
}

Deno.test("kitnet: feature map clusters correlated features, covers each once, respects maxAESize", async () => {
  const x = correlated(600, 1);
  const det = createDetector("kitnet", { fmGrace: 300, maxAESize: 4 }, 0) as KitNetDetector;
  await det.fit(matrix(x, 600, 12));
  const map = det.featureMap!;
  assert.deepEqual(map.flat().sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
  assert.ok(map.every((g) => g.length <= 4));
  const groups = map.map((g) => new Set(g.map((f) => Math.floor(f / 4))));
  assert.ok(groups.every((s) => s.size === 1), `clusters mix groups: ${JSON.stringify(map)}`);
});

Deno.test("kitnet: NaN during the grace period, then finite; fit needs more rows than fmGrace", () => {
  const x = correlated(200, 2);
  const det = createDetector("kitnet", { fmGrace: 100 }, 0) as KitNetDetector;
  for (let i = 0; i < 100; i++) {
    assert.ok(Number.isNaN(det.scoreOne(x.subarray(i * 12, i * 12 + 12))));
    det.learnOne(x.subarray(i * 12, i * 12 + 12));
  }
  assert.ok(!det.ready);
  det.learnOne(x.subarray(100 * 12, 101 * 12));
  assert.ok(det.ready);
  assert.ok(Number.isFinite(det.scoreOne(x.subarray(0, 12))));
  assert.throws(() => det.learnOne([1, 2]), /expected a row of 12 features, found 2/);
  assert.throws(() => det.scoreOne(new Array(12).fill(NaN)), /feature 1 is NaN/);
  const small = createDetector("kitnet", { fmGrace: 500 }, 0);
  assert.throws(
    () => small.fit(matrix(x, 200, 12)),
    /200 rows do not outlast the feature-mapping grace period \(fmGrace = 500\)/,
  );
});
