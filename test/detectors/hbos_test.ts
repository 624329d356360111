import assert from "node:assert/strict";
import { matrix, matrixFromRows } from "../../src/data/matrix.ts";
import { binOf } from "../../src/detectors/hbos.ts";
import { createDetector, getDetectorFactory } from "../../src/detectors/registry.ts";
import { testWhen } from "../_shared.ts";
import { assertAurocClose, needSklearn, nslSlice, reference, worstRelative } from "./_baselines.ts";

Deno.test("hbos: hand-computed scores — bins, the closed last edge, outside values, a constant feature", async () => {
  // Hand-written: feature 1 on [0, 4] with 4 bins [0,1) [1,2) [2,3) [3,4]; feature 2 constant 7.
  const d = createDetector("hbos", { bins: 4 }, 0);
  await d.fit(matrixFromRows([[0, 7], [0.5, 7], [0.9, 7], [1, 7], [2.5, 7], [4, 7]]));
  // counts: 3, 1, 1, 1 (4 = max lands in the last bin); max 3.
  const s = await d.score(matrixFromRows([[0.2, 7], [1.5, 7], [3, 7], [4, 7], [4.01, 7], [-1, 7], [0.2, 8]]));
  const l3 = Math.log(3), out = Math.log(3 / 0.5);
  const expected = [0, l3, l3, l3, out, out, 0 + Math.log(6 / 0.5)];
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(s[i] - expected[i]) < 1e-12, `row ${i}: ${s[i]} vs ${expected[i]}`);
  }
});

Deno.test("hbos: an empty bin scores as emptyCount rows, below every filled bin", async () => {
  const d = createDetector("hbos", { bins: 3, emptyCount: 0.25 }, 0);
  await d.fit(matrixFromRows([[0], [0], [0.1], [3]])); // bins [0,1) [1,2) [2,3]: 3, 0, 1
  const [empty, sparse] = await d.score(matrixFromRows([[1.5], [2.9]]));
  assert.equal(empty, Math.log(3 / 0.25));
  assert.equal(sparse, Math.log(3));
  assert.ok(empty > sparse);
});

Deno.test("hbos: every training value lands in a bin (the arithmetic is shared by fit and score)", () => {
  for (const [lo, hi, bins] of [[0, 1, 10], [-3.3, 7.1, 7], [0.1, 0.3, 3], [5, 5, 4]] as const) {
    for (let t = 0; t <= 1000; t++) {
      const v = lo + ((hi - lo) * t) / 1000;
      const b = binOf(v, lo, hi, bins);
      assert.ok(b >= 0 && b < bins, `${v} in [${lo}, ${hi}] / ${bins}: bin ${b}`);
    }
    assert.equal(binOf(hi, lo, hi, bins), lo === hi ? 0 : bins - 1);
    assert.equal(binOf(lo - 1e-9, lo, hi, bins), -1);
    assert.equal(binOf(NaN, lo, hi, bins), -1);
  }
});

Deno.test("hbos: a restored model must carry the bins its params name; overflowing ranges are refused", async () => {
  const d = createDetector("hbos", { bins: 5 }, 0);
  await d.fit(matrixFromRows([[0], [1], [2]]));
  const saved = await d.save();
  assert.throws(
    () => getDetectorFactory("hbos").load(saved, { bins: 6 }, 0),
    /saved model has 5 bins but its params say 6/,
  );
  const wide = createDetector("hbos", {}, 0);
  assert.throws(() => wide.fit(matrix(Float64Array.from([-1e308, 1e308]), 2, 1)), /width overflows/);
});

testWhen(
  [needSklearn()],
  "hbos: matches the published definition (numpy) row by row on NSL-KDD",
  async () => {
    const s = nslSlice();
    for (const params of [{}, { bins: 25, emptyCount: 0.1 }]) {
      const d = createDetector("hbos", params, 0);
      await d.fit(s.train);
      const ours = await d.score(s.test);
      const p = d.params as { bins: number; emptyCount: number };
      const ref = await reference("hbos", s.train, s.test, { bins: p.bins, empty: p.emptyCount });
      const w = worstRelative(ours, ref.scores);
      assert.ok(w.err < 1e-9, `bins ${p.bins}: row ${w.row} differs by ${w.err} (relative)`);
      assertAurocClose(`hbos bins=${p.bins}`, s.testLabels, ours, ref.scores);
    }
  },
);
