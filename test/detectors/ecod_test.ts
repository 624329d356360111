import assert from "node:assert/strict";
import { matrixFromRows } from "../../src/data/matrix.ts";
import { createDetector, getDetectorFactory } from "../../src/detectors/registry.ts";
import { testWhen } from "../_shared.ts";
import { assertAurocClose, needSklearn, nslSlice, reference, worstRelative } from "./_baselines.ts";

// Hand-written: column A is right-skewed, column B its mirror (left-skewed); n = 5.
const TRAIN = matrixFromRows([[0, 5], [0, 5], [0, 5], [1, 4], [5, 0]]);
const L6 = Math.log(6), L15 = Math.log(1.5);

function close(actual: ArrayLike<number>, expected: number[]): void {
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) < 1e-12, `row ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

Deno.test("ecod: the largest of the left, right and skewness-chosen tail sums (hand-computed)", async () => {
  const d = createDetector("ecod", {}, 0);
  await d.fit(TRAIN);
  const s = await d.score(matrixFromRows([[6, -1], [6, 5], [0, 5], [1, 4]]));
  // (6, -1): A above every value (right tail 1/6), B below every value (left tail 1/6): only the
  // skewness-chosen sum (right for A, left for B) adds both, 2·log 6.
  // (6, 5): O_right = log 6 + log 1.5 (3 of 5 B values are >= 5) beats O_auto = log 6 + 0.
  // (0, 5): O_left = log 1.5 (A: 3 values <= 0), O_right = log 1.5 (B: 3 values >= 5), O_auto = 0.
  // (1, 4): A: 4 values <= 1 → left 5/6, 2 values >= 1 → right 3/6; B mirrored: left 3/6, right 5/6.
  // O_left = O_right = log 1.2 + log 2 < O_auto = log 2 + log 2.
  close(s, [2 * L6, L6 + L15, L15, 2 * Math.log(2)]);
});

Deno.test("ecod: a row scores the same alone as in any batch", async () => {
  const d = createDetector("ecod", {}, 0);
  await d.fit(TRAIN);
  const rows = [[6, -1], [0.5, 4.5], [3, 3], [-2, 9]];
  const batch = await d.score(matrixFromRows(rows));
  for (let i = 0; i < rows.length; i++) assert.equal((await d.score(matrixFromRows([rows[i]])))[0], batch[i]);
});

Deno.test("ecod: equals copod with combine = paper (the two papers' Algorithm 1 coincide)", async () => {
  const s = nslSlice(2000, 2000);
  const e = createDetector("ecod", {}, 0), c = createDetector("copod", { combine: "paper" }, 0);
  await e.fit(s.train);
  await c.fit(s.train);
  assert.deepEqual(await e.score(s.test), await c.score(s.test));
});

Deno.test("ecod: a corrupt saved table is refused", async () => {
  const d = createDetector("ecod", {}, 0);
  await d.fit(TRAIN);
  const saved = await d.save();
  const values = new Float64Array(saved.blobs!.values.slice().buffer);
  values.reverse();
  const bad = { state: saved.state, blobs: { ...saved.blobs, values: new Uint8Array(values.buffer) } };
  assert.throws(() => getDetectorFactory("ecod").load(bad, {}, 0), /column 1 table is not ascending/);
});

testWhen(
  [needSklearn()],
  "ecod: matches the published definition (numpy) row by row on NSL-KDD",
  async () => {
    const s = nslSlice();
    const d = createDetector("ecod", {}, 0);
    await d.fit(s.train);
    const ours = await d.score(s.test);
    const ref = await reference("ecod", s.train, s.test);
    const w = worstRelative(ours, ref.scores);
    assert.ok(w.err < 1e-9, `row ${w.row} differs by ${w.err} (relative)`);
    assertAurocClose("ecod", s.testLabels, ours, ref.scores);
  },
);
