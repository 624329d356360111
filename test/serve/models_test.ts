import assert from "node:assert/strict";
import { topIndices } from "../../src/serve/models.ts";
import { Rng } from "../../src/util/random.ts";

Deno.test("topIndices: the k largest, largest first, ties in index order, NaN after every number", () => {
  assert.deepEqual(topIndices([3, 9, NaN, 9, Infinity, 1], 3), [4, 1, 3]);
  assert.deepEqual(topIndices([NaN, 2, NaN, -Infinity], 4), [1, 3, 0, 2], "NaNs last, in their order");
  assert.deepEqual(topIndices([5, 6], 0), []);
  assert.deepEqual(topIndices([], 3), []);
  // Against a stable sort of every index with a consistent comparator, on random values with ties,
  // infinities and NaNs (the case a comparator by difference gets wrong).
  const rng = new Rng(3);
  for (let t = 0; t < 2_000; t++) {
    const c = Array.from({ length: 1 + rng.int(60) }, () => {
      const r = rng.next();
      return r < 0.1 ? Infinity : r < 0.3 ? rng.int(3) : r < 0.4 ? NaN : rng.next() * 100;
    });
    const k = rng.int(8);
    const order = c.map((_, j) => j).sort((a, b) => {
      const x = c[a], y = c[b];
      if (Number.isNaN(x) || Number.isNaN(y)) {
        return Number.isNaN(x) === Number.isNaN(y) ? a - b : Number.isNaN(x) ? 1 : -1;
      }
      return x > y ? -1 : x < y ? 1 : a - b;
    });
    assert.deepEqual(topIndices(c, k), order.slice(0, k), `case ${t}: ${c} (k ${k})`);
  }
});
