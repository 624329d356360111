import assert from "node:assert/strict";
import { kthNeighbourDistance, normaliseRows } from "../../src/nn/neighbours.ts";
import { Rng } from "../../src/util/random.ts";
import { needBlas, testWhen } from "../_shared.ts";

/** The k-th smallest distance by a plain float64 loop. */
function bruteKth(ref: Float32Array, q: Float32Array, d: number, k: number): number[] {
  const nR = ref.length / d, out: number[] = [];
  for (let i = 0; i < q.length / d; i++) {
    const dist: number[] = [];
    for (let r = 0; r < nR; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (q[i * d + j] - ref[r * d + j]) ** 2;
      dist.push(Math.sqrt(s));
    }
    dist.sort((a, b) => a - b);
    out.push(dist[Math.min(k, nR) - 1]);
  }
  return out;
}

testWhen(
  [needBlas()],
  "kthNeighbourDistance: equals a float64 loop over blocks of queries, k clamped",
  () => {
    const rng = new Rng(3), d = 24;
    const rand = (rows: number) =>
      normaliseRows(Float32Array.from({ length: rows * d }, () => rng.next() - 0.5), d);
    // 600 queries span three sgemm blocks; one query duplicates a reference row.
    const ref = rand(97), q = rand(600);
    q.set(ref.subarray(5 * d, 6 * d), 17 * d);
    for (const k of [1, 5, 200]) {
      const got = kthNeighbourDistance(ref, q, d, k), want = bruteKth(ref, q, d, k);
      for (let i = 0; i < want.length; i++) {
        assert.ok(Math.abs(got[i] - want[i]) < 2e-3, `k ${k}, query ${i}: ${got[i]} vs ${want[i]}`);
      }
    }
    assert.ok(kthNeighbourDistance(ref, q, d, 1)[17] < 1e-3, "a reference row is at distance 0");
    assert.throws(() => kthNeighbourDistance(ref, q.subarray(1), d, 1), /expected rows of 24 values/);
    assert.throws(() => kthNeighbourDistance(new Float32Array(0), q, d, 1), /at least one reference row/);
  },
);

Deno.test("normaliseRows: unit rows, a zero row stays zero", () => {
  const x = normaliseRows(Float32Array.from([3, 4, 0, 0]), 2);
  assert.deepEqual([...x], [0.6000000238418579, 0.800000011920929, 0, 0]);
});
