import assert from "node:assert/strict";
import { matrix, matrixFromRows } from "../../src/data/matrix.ts";
import type { LofDetector } from "../../src/detectors/lof.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { Rng } from "../../src/util/random.ts";
import { testWhen } from "../_shared.ts";
import { assertAurocClose, needSklearn, nslSlice, reference, worstRelative } from "./_baselines.ts";

/**
 * LOF straight from Breunig et al.'s definitions, O(n²): N_k holds every row within the k-th distance,
 * training rows exclude themselves, lrd = 1 / (mean reach-dist + 1e-10).
 */
function naiveLof(train: number[][], test: number[][], k: number): number[] {
  const dist = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0));
  const neighbours = (p: number[], self: number) => {
    const ds = train.map((o, i) => ({ i, d: dist(p, o) })).filter((e) => e.i !== self);
    const kth = ds.map((e) => e.d).sort((a, b) => a - b)[k - 1];
    return { kth, set: ds.filter((e) => e.d <= kth) };
  };
  const kdist = train.map((p, i) => neighbours(p, i).kth);
  const lrdOf = (p: number[], self: number) => {
    const { set } = neighbours(p, self);
    return { set, lrd: 1 / (set.reduce((s, e) => s + Math.max(kdist[e.i], e.d), 0) / set.length + 1e-10) };
  };
  const lrd = train.map((p, i) => lrdOf(p, i).lrd);
  return test.map((q) => {
    const { set, lrd: lq } = lrdOf(q, -1);
    return set.reduce((s, e) => s + lrd[e.i], 0) / set.length / lq;
  });
}

Deno.test("lof: rows tied at the k-th distance are all neighbours (hand-computed)", async () => {
  // Training rows 0, 2, 3 on a line, k = 1. The query 1 has two nearest rows at distance 1 (0 and 2).
  // k-dist: 0 → 2, 2 → 1, 3 → 1; lrd(0) = 1/2, lrd(2) = 1; lrd(1) = 1 / mean(max(2, 1), max(1, 1)) = 2/3.
  // LOF = mean(1/2, 1) / (2/3) = 1.125 (keeping only one of the tied rows would give 1).
  const d = createDetector("lof", { k: 1 }, 0);
  await d.fit(matrixFromRows([[0], [2], [3]]));
  const [s] = await d.score(matrixFromRows([[1]]));
  assert.ok(Math.abs(s - 1.125) < 1e-9, `${s}`);
});

Deno.test("lof: the k-d tree search equals the definition on tie-rich data", async () => {
  // Hand-made integer grid data: many equal distances, so ties cross leaf boundaries.
  const rng = new Rng(5);
  const seen = new Set<string>(), train: number[][] = [];
  while (train.length < 300) {
    const r = [rng.int(6), rng.int(6), rng.int(4), rng.int(3)];
    if (!seen.has(r.join())) {
      seen.add(r.join());
      train.push(r);
    }
  }
  const test = Array.from({ length: 120 }, () => [rng.int(8) - 1, rng.int(6), rng.int(5), rng.int(3) + 0.5]);
  for (const k of [1, 5, 12]) {
    const want = naiveLof(train, test, k);
    for (const leafSize of [1, 4, 64]) {
      const d = createDetector("lof", { k, leafSize }, 0);
      await d.fit(matrixFromRows(train));
      const got = await d.score(matrixFromRows(test));
      for (let i = 0; i < test.length; i++) {
        assert.ok(
          Math.abs(got[i] - want[i]) <= 1e-9 * Math.max(1, want[i]),
          `k=${k} leafSize=${leafSize} row ${i}: ${got[i]} vs ${want[i]}`,
        );
      }
    }
  }
});

Deno.test("lof: duplicate training rows are dropped; k needs k + 1 distinct rows", async () => {
  const rows = [[0, 0], [1, 0], [0, 1], [1, 1], [3, 3]];
  const once = createDetector("lof", { k: 2 }, 0), twice = createDetector("lof", { k: 2 }, 0) as LofDetector;
  await once.fit(matrixFromRows(rows));
  await twice.fit(matrixFromRows([...rows, ...rows, [0, 0]]));
  assert.equal(twice.distinctRows, 5);
  const q = matrixFromRows([[0.5, 0.5], [2, 2], [0, 0]]);
  assert.deepEqual(await twice.score(q), await once.score(q));
  const big = createDetector("lof", { k: 5 }, 0);
  await assert.rejects(
    async () => await big.fit(matrixFromRows([...rows, ...rows])),
    /k = 5 needs at least 6 distinct training rows .* found 5; lower k/,
  );
  await assert.rejects(
    async () => await createDetector("lof", {}, 0).fit(matrix(Float64Array.from([1e200, 0]), 2, 1)),
    /within ±1e\+100/,
  );
});

testWhen(
  [needSklearn()],
  "lof: matches scikit-learn's LocalOutlierFactor(novelty=True) on NSL-KDD",
  async () => {
    const s = nslSlice(3000, 4000);
    const d = createDetector("lof", {}, 0);
    await d.fit(s.train);
    const ours = await d.score(s.test);
    const k = (d.params as { k: number }).k;
    const ref = await reference("lof", s.train, s.test, { k });
    // Row by row wherever no tie can change scikit-learn's exactly-k neighbour choice.
    const w = worstRelative(ours, ref.scores, ref.mask);
    assert.ok(w.compared > s.test.rows / 2, `only ${w.compared} of ${s.test.rows} rows are free of ties`);
    assert.ok(w.err < 1e-8, `row ${w.row} differs by ${w.err} (relative)`);
    assertAurocClose(`lof k=${k}`, s.testLabels, ours, ref.scores);
  },
);
