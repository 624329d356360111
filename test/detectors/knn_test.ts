import assert from "node:assert/strict";
import { matrix } from "../../src/data/matrix.ts";
import { dedupeRows, KnnDetector } from "../../src/detectors/knn.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { Rng } from "../../src/util/random.ts";

function distinct(train: Float64Array, n: number, d: number): Float64Array[] {
  const seen = new Set<string>();
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const r = train.subarray(i * d, i * d + d);
    const key = Array.from(r).join(",");
    if (!seen.has(key)) {
      seen.add(key);
      out.push(r);
    }
  }
  return out;
}

function naiveKth(rows: Float64Array[], q: Float64Array, qi: number, d: number, k: number): number {
  const ds = rows.map((r) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (q[qi * d + j] - r[j]) ** 2;
    return Math.sqrt(s);
  });
  ds.sort((a, b) => a - b);
  return ds[k - 1];
}

/** One-hot + numeric rows with many duplicates, like preprocessed KDD data. */
function kddLike(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const d = 12, out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    if (i > 0 && rng.next() < 0.3) {
      const src = rng.int(i) * d;
      out.copyWithin(o, src, src + d); // an exact duplicate of an earlier row
      continue;
    }
    out[o + rng.int(4)] = 1; // one-hot "service"
    out[o + 4 + rng.int(3)] = 1; // one-hot "flag"
    for (let j = 7; j < d; j++) out[o + j] = rng.next() < 0.5 ? 0 : rng.next();
  }
  return out;
}

Deno.test("knn: k-d tree and brute force are exact (match a naive scan with dedupe)", async () => {
  const d = 12, n = 3000, m = 200;
  const train = kddLike(n, 1), test = kddLike(m, 2);
  const rows = distinct(train, n, d);
  for (const k of [1, 5]) {
    for (const algorithm of ["brute", "kd-tree"]) {
      const det = createDetector("knn", { k, algorithm, leafSize: 8 }, 0);
      await det.fit(matrix(train, n, d));
      const s = await det.score(matrix(test, m, d));
      for (let i = 0; i < m; i++) {
        const want = naiveKth(rows, test, i, d, k);
        assert.ok(Math.abs(s[i] - want) < 1e-12, `${algorithm} k=${k} row ${i}: ${s[i]} vs ${want}`);
      }
    }
  }
});

Deno.test("knn: duplicates are dropped before the k-th distance", async () => {
  const x = matrix(Float64Array.from([0, 0, 0, 0, 0, 0, 1, 0, 3, 0]), 5, 2);
  const u = dedupeRows(x);
  assert.equal(u.rows, 3);
  assert.equal(u.dropped, 2);
  assert.ok(dedupeRows(matrix(Float64Array.from([0, -0]), 2, 1)).rows === 1, "0 and -0 are the same value");
  const det = createDetector("knn", { k: 2 }, 0) as KnnDetector;
  await det.fit(x);
  assert.equal(det.distinctRows, 3);
  // Without dedupe the 2nd neighbour of (0,0) would be a copy at distance 0.
  assert.deepEqual(Array.from(await det.score(matrix(Float64Array.from([0, 0]), 1, 2))), [1]);
  await assert.rejects(async () => {
    const d3 = createDetector("knn", { k: 4 }, 0);
    await d3.fit(x);
  }, /k = 4 exceeds the 3 distinct training rows/);
});
