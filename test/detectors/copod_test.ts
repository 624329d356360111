import assert from "node:assert/strict";
import { matrixFromRows } from "../../src/data/matrix.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { testWhen } from "../_shared.ts";
import { assertAurocClose, needSklearn, nslSlice, reference, worstRelative } from "./_baselines.ts";

// Hand-written: column A is right-skewed, column B its mirror (left-skewed); n = 5.
const TRAIN = matrixFromRows([[0, 5], [0, 5], [0, 5], [1, 4], [5, 0]]);

Deno.test("copod: per feature max(skewness-chosen tail, mean of both tails), summed (hand-computed)", async () => {
  const d = createDetector("copod", {}, 0);
  await d.fit(TRAIN);
  const [a, b] = await d.score(matrixFromRows([[6, 5], [6, -1]]));
  // (6, 5): A's right tail 1/6 (chosen: A is right-skewed) → log 6; B's chosen left tail is 1 (−log = 0)
  // but its right tail is 4/6, so the mean of both, log(1.5)/2, wins.
  assert.ok(Math.abs(a - (Math.log(6) + Math.log(1.5) / 2)) < 1e-12, `${a}`);
  assert.ok(Math.abs(b - 2 * Math.log(6)) < 1e-12, `${b}`);
  // The paper's formula takes the largest sum instead: O_right = log 6 + log 1.5 for (6, 5).
  const paper = createDetector("copod", { combine: "paper" }, 0);
  await paper.fit(TRAIN);
  const [p] = await paper.score(matrixFromRows([[6, 5]]));
  assert.ok(Math.abs(p - (Math.log(6) + Math.log(1.5))) < 1e-12, `${p}`);
});

Deno.test("copod: a row scores the same alone as in any batch", async () => {
  const d = createDetector("copod", {}, 0);
  await d.fit(TRAIN);
  const rows = [[6, -1], [0.5, 4.5], [3, 3], [-2, 9]];
  const batch = await d.score(matrixFromRows(rows));
  for (let i = 0; i < rows.length; i++) assert.equal((await d.score(matrixFromRows([rows[i]])))[0], batch[i]);
});

testWhen(
  [needSklearn()],
  "copod: matches the published definition (numpy) row by row on NSL-KDD",
  async () => {
    const s = nslSlice();
    for (const combine of ["dimension", "paper"]) {
      const d = createDetector("copod", { combine }, 0);
      await d.fit(s.train);
      const ours = await d.score(s.test);
      const ref = await reference("copod", s.train, s.test, { combine });
      const w = worstRelative(ours, ref.scores);
      assert.ok(w.err < 1e-9, `${combine}: row ${w.row} differs by ${w.err} (relative)`);
      assertAurocClose(`copod combine=${combine}`, s.testLabels, ours, ref.scores);
    }
  },
);
