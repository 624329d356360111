import assert from "node:assert/strict";
import { ModelAdapter, type ModelAdapterOptions } from "../../src/adapt/adapter.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { type Matrix, matrix, takeRows } from "../../src/data/matrix.ts";
import { Rng } from "../../src/util/random.ts";

// Two columns; benign rows on a small grid around the origin, "attacks" far away.
function rows(n: number, off: number, seed: number): Matrix {
  const r = new Rng(seed), d = new Float64Array(2 * n);
  for (let i = 0; i < d.length; i++) d[i] = off + r.next();
  return matrix(d, n, 2, ["a", "b"]);
}
const opts = (policy: ModelAdapterOptions["policy"], extra: Partial<ModelAdapterOptions> = {}) => ({
  policy,
  create: () => createDetector("knn", { k: 1 }, 0),
  threshold: { strategy: "percentile", params: { q: 0.95 } },
  names: ["a", "b"],
  rng: new Rng(7),
  ...extra,
});

Deno.test("ModelAdapter: the threshold comes from the calibration rows, the cut is their quantile under it", async () => {
  const a = await ModelAdapter.start(opts("sliding"), rows(300, 0, 1), rows(100, 0, 2));
  const s = Float64Array.from(a.calibrationScores).sort();
  assert.equal(a.calibrationScores.length, 100);
  assert.ok(a.cut <= a.threshold, `cut ${a.cut} threshold ${a.threshold}`);
  assert.ok(a.threshold >= s[90] && a.threshold <= s[99]);
  a.dispose();
});

Deno.test("ModelAdapter: alerted rows and rows above the cut are never learned; confirmed FPs are", async () => {
  const a = await ModelAdapter.start(opts("sliding"), rows(300, 0, 1), rows(100, 0, 2));
  const x = matrix(new Float64Array([...rows(50, 0, 3).data, ...rows(10, 5, 4).data]), 60, 2, ["a", "b"]);
  const scores = await a.detector.score(x);
  const alerted = Uint8Array.from(scores, (v) => (v > a.threshold ? 1 : 0));
  const cut = a.cut;
  const r = await a.update(x, scores, alerted, [55]);
  assert.ok(r.refit && a.updates === 1);
  for (const i of r.learnedRows) {
    assert.ok(i === 55 || (scores[i] <= cut && !alerted[i]), `row ${i} score ${scores[i]} cut ${cut}`);
  }
  assert.ok(r.learnedRows.includes(55));
  assert.equal(r.learned + r.calibrated, r.learnedRows.length + r.calibrated);
  // The far row the analyst vouched for now scores 0 (it is in the kNN's pool).
  assert.equal((await a.detector.score(takeRows(x, [55])))[0], 0);
  a.dispose();
});

Deno.test("ModelAdapter: a confirmed attack keeps the threshold below its score, never below the cut", async () => {
  const a = await ModelAdapter.start(opts("incremental"), rows(300, 0, 1), rows(100, 0, 2));
  const near = matrix(new Float64Array([0.5, 0.5 + 1e-3]), 1, 2, ["a", "b"]);
  a.confirmAttack(near.data);
  const x = rows(50, 0, 5);
  await a.update(x, await a.detector.score(x), new Uint8Array(50));
  const s = (await a.detector.score(near))[0];
  assert.ok(a.threshold < s || a.threshold === a.cut, `threshold ${a.threshold} attack ${s} cut ${a.cut}`);
  assert.ok(a.threshold >= a.cut);
  a.dispose();
});

Deno.test("ModelAdapter: sliding keeps its capacity, incremental grows", async () => {
  const s = await ModelAdapter.start(opts("sliding", { capacity: 300 }), rows(300, 0, 1), rows(100, 0, 2));
  const i = await ModelAdapter.start(opts("incremental"), rows(300, 0, 1), rows(100, 0, 2));
  for (const a of [s, i]) {
    const x = rows(400, 0, 9);
    await a.update(x, await a.detector.score(x), new Uint8Array(400));
  }
  assert.equal(s.pool.size, 300);
  assert.ok(i.pool.size > 300);
  s.dispose();
  i.dispose();
});

Deno.test("ModelAdapter: a loaded model without kept rows calibrates on half of the traffic under its threshold, learns from the rest", async () => {
  const det = createDetector("knn", { k: 1 }, 0);
  await det.fit(rows(300, 0, 1));
  const empty = matrix(new Float64Array(0), 0, 2, ["a", "b"]);
  const a = await ModelAdapter.start(
    opts("sliding", { fitted: { detector: det, threshold: 0.2 } }),
    empty,
    empty,
  );
  assert.ok(Number.isNaN(a.cut));
  assert.equal(a.threshold, 0.2);
  const x = rows(100, 0, 3);
  const scores = await a.detector.score(x);
  const r = await a.update(x, scores, new Uint8Array(100));
  // Every other row under the threshold calibrated; of the rest, those under the new cut were learned.
  const under = scores.filter((v) => v <= 0.2).length;
  // (a tenth of the learned ones calibrate too).
  assert.ok(a.calibration.size >= Math.ceil(under / 2), `${a.calibration.size} of ${under}`);
  assert.ok(a.cut <= 0.2, `cut ${a.cut}`);
  assert.ok(r.refit && r.learned > 0 && r.learned + a.calibration.size <= under);
  assert.equal(r.calibrated, a.calibration.size);
  a.dispose();
});

Deno.test("ModelAdapter: mismatched shapes and options are errors that say what was expected", async () => {
  await assert.rejects(
    () => ModelAdapter.start(opts("sliding"), rows(10, 0, 1), matrix(new Float64Array(3), 1, 3)),
    /calibration rows have 3 columns, the model has 2/,
  );
  await assert.rejects(
    () => ModelAdapter.start(opts("greedy" as "frozen"), rows(10, 0, 1), rows(5, 0, 2)),
    /expected one of/,
  );
  const a = await ModelAdapter.start(opts("sliding"), rows(10, 0, 1), rows(5, 0, 2));
  await assert.rejects(
    () => a.update(rows(3, 0, 1), [1, 2], new Uint8Array(3)),
    /found 2 columns, 3 rows, 2 scores/,
  );
  a.dispose();
});

Deno.test("ModelAdapter: incremental on a streaming detector learns the new rows with learnOne on a copy", async () => {
  const retired: unknown[] = [];
  const o = {
    ...opts("incremental"),
    create: () => createDetector("kitnet", { fmGrace: 50, maxAESize: 2 }, 0),
    retire: (d: unknown) => retired.push(d),
  };
  const a = await ModelAdapter.start(o, rows(300, 0, 1), rows(100, 0, 2));
  const before = a.detector;
  const probe = rows(20, 0, 11);
  const s0 = await before.score(probe);
  const x = rows(200, 0, 12);
  const r = await a.update(x, await a.detector.score(x), new Uint8Array(200));
  assert.ok(r.refit && r.learned > 0);
  assert.notEqual(a.detector, before, "a new detector scores");
  assert.deepEqual(retired, [before], "the old one is handed back, not disposed under a running batch");
  assert.deepEqual(await before.score(probe), s0, "the detector that was scoring did not change");
  // KitNET's fit is learnOne over the rows in order, so continuing the copy on the new rows gives the
  // model a refit on the whole pool would, without going over the old rows again.
  const refit = createDetector("kitnet", { fmGrace: 50, maxAESize: 2 }, 0);
  await refit.fit(a.pool.matrix(["a", "b"]));
  assert.deepEqual(await a.detector.score(probe), await refit.score(probe));
  a.dispose();
});

Deno.test("ModelAdapter: incremental on a neural detector trains a copy further (partialFit) on new and rehearsed rows", async () => {
  const retired: unknown[] = [];
  const o = {
    ...opts("incremental"),
    create: () => createDetector("autoencoder", { epochs: 3, batchSize: 32 }, 0),
    retire: (d: unknown) => retired.push(d),
  };
  const a = await ModelAdapter.start(o, rows(300, 0, 1), rows(100, 0, 2));
  const before = a.detector, probe = rows(20, 0, 11), s0 = await before.score(probe);
  const x = rows(200, 0, 12);
  const r = await a.update(x, await a.detector.score(x), new Uint8Array(200));
  assert.ok(r.refit && r.learned > 0);
  assert.deepEqual(retired, [before]);
  assert.deepEqual(await before.score(probe), s0, "the detector that was scoring did not change");
  assert.notDeepEqual(await a.detector.score(probe), s0, "the copy trained further");
  // Not a refit from scratch: a fresh fit on the pool scores differently.
  const fresh = createDetector("autoencoder", { epochs: 3, batchSize: 32 }, 0);
  await fresh.fit(a.pool.matrix(["a", "b"]));
  assert.notDeepEqual(await a.detector.score(probe), await fresh.score(probe));
  a.dispose();
  before.dispose?.();
  fresh.dispose?.();
});
