import assert from "node:assert/strict";
import { coveragePicks } from "../../src/adapt/triage.ts";
import { matrix } from "../../src/data/matrix.ts";
import { Rng } from "../../src/util/random.ts";

const none = (c: number) => matrix(new Float64Array(0), 0, c);

Deno.test("coveragePicks: one pick per group, densest first; never more than asked or than there are groups", () => {
  // Three groups of 10, 5 and 2 points around (0,0), (10,0), (0,10).
  const r = new Rng(3), d: number[] = [];
  for (const [cx, cy, k] of [[0, 0, 10], [10, 0, 5], [0, 10, 2]]) {
    for (let i = 0; i < k; i++) d.push(cx + 0.1 * r.next(), cy + 0.1 * r.next());
  }
  const x = matrix(Float64Array.from(d), 17, 2);
  const all = Array.from({ length: 17 }, (_, i) => i);
  const picks = coveragePicks(x, all, none(2), 1, 10);
  assert.equal(picks.length, 3);
  assert.ok(picks[0] < 10 && picks[1] >= 10 && picks[1] < 15 && picks[2] >= 15, String(picks));
  assert.deepEqual(coveragePicks(x, all, none(2), 1, 1).length, 1);
  // Only the rows offered are considered.
  assert.ok(coveragePicks(x, [10, 11, 15], none(2), 1, 5).every((i) => [10, 11, 15].includes(i)));
  // Radius 0: every distinct row is its own group.
  assert.equal(coveragePicks(x, all, none(2), 0, 100).length, 17);
});

Deno.test("coveragePicks: bad arguments say what was expected", () => {
  const x = matrix(new Float64Array(4), 2, 2);
  assert.throws(
    () => coveragePicks(x, [0], matrix(new Float64Array(3), 1, 3), 1, 1),
    /attacks have 3 columns, the rows 2/,
  );
  assert.throws(() => coveragePicks(x, [0], none(2), -1, 1), /radius must be ≥ 0, found -1/);
});
