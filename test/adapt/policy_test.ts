import assert from "node:assert/strict";
import {
  acceptRows,
  BenignPool,
  checkPolicy,
  FeedbackBudget,
  UPDATE_POLICIES,
} from "../../src/adapt/policy.ts";
import { Rng } from "../../src/util/random.ts";

Deno.test("policy: names are checked, naming the valid ones", () => {
  assert.deepEqual([...UPDATE_POLICIES], ["frozen", "sliding", "incremental", "on-drift"]);
  assert.equal(checkPolicy("sliding"), "sliding");
  assert.throws(
    () => checkPolicy("greedy"),
    /expected one of frozen, sliding, incremental, on-drift, found "greedy"/,
  );
});

Deno.test("acceptRows: only unalerted rows at or below the cut, at most max, a seeded sample in stream order", () => {
  const scores = Float64Array.from({ length: 1000 }, (_, i) => (i % 10) / 10);
  const alerted = Uint8Array.from({ length: 1000 }, (_, i) => (i % 7 === 0 ? 1 : 0));
  const all = acceptRows(scores, alerted, 0.45, Infinity, new Rng(1));
  for (const i of all) assert.ok(scores[i] <= 0.45 && !alerted[i], `row ${i}`);
  assert.equal(all.length, [...scores].filter((s, i) => s <= 0.45 && !alerted[i]).length);
  const some = acceptRows(scores, alerted, 0.45, 50, new Rng(2));
  assert.equal(some.length, 50);
  assert.deepEqual([...some], [...some].sort((a, b) => a - b), "stream order");
  assert.equal(new Set(some).size, 50, "distinct rows");
  assert.deepEqual([...acceptRows(scores, alerted, 0.45, 50, new Rng(2))], [...some], "same seed, same rows");
  assert.notDeepEqual([...acceptRows(scores, alerted, 0.45, 50, new Rng(3))], [...some]);
});

Deno.test("BenignPool: sliding keeps the newest rows up to its capacity; unbounded keeps all", () => {
  const rows = (from: number, n: number) =>
    Float64Array.from({ length: 2 * n }, (_, i) => from + Math.floor(i / 2));
  const sliding = new BenignPool(2, 5);
  sliding.add(rows(0, 3));
  sliding.add(rows(3, 4)); // 7 rows in: the oldest 2 leave
  assert.equal(sliding.size, 5);
  assert.deepEqual([...sliding.matrix().data].filter((_, i) => i % 2 === 0), [2, 3, 4, 5, 6]);
  sliding.add(rows(100, 9)); // more than the capacity at once: the last 5 of them
  assert.deepEqual([...sliding.matrix().data].filter((_, i) => i % 2 === 0), [104, 105, 106, 107, 108]);
  const grow = new BenignPool(2);
  for (let k = 0; k < 50; k++) grow.add(rows(k * 100, 100));
  assert.equal(grow.size, 5000);
  const m = grow.matrix(["a", "b"]);
  assert.deepEqual([m.rows, m.cols, m.names], [5000, 2, ["a", "b"]]);
  assert.equal(m.data[2 * 4999], 4999);
  assert.throws(() => grow.add(new Float64Array(3)), /3 values is not a multiple of 2/);
  assert.throws(() => new BenignPool(0), RangeError);
});

Deno.test("FeedbackBudget: never more answers than the share of all alerts so far", () => {
  const b = new FeedbackBudget(0.01);
  let alerts = 0;
  for (const a of [10, 90, 0, 250, 49, 1, 600]) {
    alerts += a;
    b.allow(a);
    assert.ok(b.used <= 0.01 * alerts + 1e-9, `${b.used} answers after ${alerts} alerts`);
    assert.equal(b.used, Math.floor(0.01 * alerts + 1e-9));
  }
  assert.equal(new FeedbackBudget(0).allow(1e6), 0);
  assert.throws(() => new FeedbackBudget(1.5), /expected a share in \[0, 1\], found 1.5/);
});
