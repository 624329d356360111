import assert from "node:assert/strict";
import { loadDataset } from "../../src/data/datasets.ts";
import { fitTransform } from "../../src/data/preprocess.ts";
import { sqDist } from "../../src/detectors/_linalg.ts";
import {
  F32_NORM_LIMIT,
  gatherRows,
  prepareRows,
  rows32,
  rowsView,
  selectRows,
  sqDistBounds,
  sqDistSlack,
} from "../../src/nn/distance.ts";
import { Rng } from "../../src/util/random.ts";
import { needBlas, testWhen } from "../_shared.ts";

// Real rows: KDDTest-21 (vendored), min-max scaled as the detectors see them, and unscaled ("none"), where
// byte counts up to ~1e9 make ‖x‖² huge next to the distance between similar rows — the expansion's worst case.
const df = loadDataset("nsl-kdd-test-21").df;
const scaled = fitTransform(df, { scale: "minmax" }).matrix;
const raw = fitTransform(df, { scale: "none" }).matrix;

/** Checks every pair of rows a × b: the float64 loop's value lies in [lo, hi], and the width is the slack. */
function checkPairs(
  what: string,
  a: Float64Array,
  na: number,
  b: Float64Array,
  nb: number,
  d: number,
): number {
  const ra = prepareRows(a, d, 0, na), rb = prepareRows(b, d, 0, nb);
  const lo = new Float64Array(na * nb), hi = new Float64Array(na * nb);
  sqDistBounds(ra, rb, lo, hi);
  let worst = 0;
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      const e = sqDist(a, i * d, b, j * d, d), l = lo[i * nb + j], h = hi[i * nb + j];
      assert.ok(l <= e && e <= h, `${what}: pair (${i}, ${j}): ${e} outside [${l}, ${h}]`);
      assert.ok(l >= 0, `${what}: pair (${i}, ${j}): negative lower bound ${l}`);
      if (ra.norm[i] !== Infinity && rb.norm[j] !== Infinity) {
        const slack = sqDistSlack(d, ra.norm[i], rb.norm[j], ra.sq[i], rb.sq[j]);
        assert.ok(
          h - l <= 2 * slack + 4e-16 * (h + Math.abs(l)),
          `${what}: pair (${i}, ${j}): width ${h - l} > 2 × ${slack}`,
        );
        worst = Math.max(worst, (h - l) / Math.max(e, 1e-300));
      }
    }
  }
  return worst;
}

testWhen([needBlas()], "sqDistBounds: real NSL-KDD rows (scaled and raw) lie inside their bounds", () => {
  for (const [what, m] of [["min-max", scaled], ["raw", raw]] as const) {
    const d = m.cols;
    // 300 rows against 40 others (as centres would be), and consecutive rows, often near-duplicates.
    const a = m.data.subarray(0, 300 * d), b = m.data.subarray(5000 * d, 5040 * d);
    checkPairs(`${what}, rows vs others`, a, 300, b, 40, d);
    checkPairs(`${what}, near neighbours`, m.data.subarray(0, 60 * d), 60, m.data.subarray(d, 61 * d), 60, d);
  }
  // On scaled rows the bounds are tight enough to decide: relative width well under 1 % for the far pairs.
  const d = scaled.cols;
  const ra = prepareRows(scaled.data, d, 0, 200), rb = prepareRows(scaled.data, d, 7000, 7010);
  const lo = new Float64Array(2000), hi = new Float64Array(2000);
  sqDistBounds(ra, rb, lo, hi);
  let tight = 0;
  for (let i = 0; i < 2000; i++) if (hi[i] - lo[i] < 1e-2 * Math.max(lo[i], 1e-3)) tight++;
  assert.ok(tight > 1500, `only ${tight} of 2000 pairs have a bound narrower than 1 %`);
});

testWhen(
  [needBlas()],
  "sqDistBounds: odd shapes — 1 column, 1 row, empty sets, d not a multiple of 4",
  () => {
    const rng = new Rng(3);
    for (const [m, n, d] of [[1, 1, 1], [7, 1, 1], [1, 5, 3], [33, 17, 5], [2, 3, 130]]) {
      const a = Float64Array.from({ length: m * d }, () => rng.normal(0, 3));
      const b = Float64Array.from({ length: n * d }, () => rng.normal(1, 2));
      checkPairs(`${m}×${n}×${d}`, a, m, b, n, d);
    }
    // Empty sets write nothing and do not call sgemm.
    const lo = new Float64Array(1).fill(-1), hi = new Float64Array(1).fill(-1);
    sqDistBounds(rows32(4, 0), prepareRows(new Float64Array(4), 4), lo, hi);
    assert.deepEqual([...lo, ...hi], [-1, -1]);
  },
);

testWhen(
  [needBlas()],
  "sqDistBounds: identical rows give lower bound 0; subnormal and huge rows stay sound",
  () => {
    const d = scaled.cols;
    const row = scaled.data.subarray(0, d);
    const r = prepareRows(row, d), lo = new Float64Array(1), hi = new Float64Array(1);
    sqDistBounds(r, r, lo, hi);
    assert.equal(lo[0], 0);
    assert.ok(hi[0] >= 0 && hi[0] < 1e-4, `distance of a row to itself bounded by ${hi[0]}`);
    // Subnormal values underflow in float32: the absolute slack term keeps the bound sound.
    const tiny = Float64Array.from([5e-324, 1e-310, 0, -2e-320, 1e-40, 3e-39]);
    const tiny2 = Float64Array.from([0, 1e-310, 5e-324, 0, -1e-40, 3e-39]);
    checkPairs("subnormal", tiny, 2, tiny2, 2, 3);
    // Beyond F32_NORM_LIMIT a row would overflow float32: it gets [0, ∞] and leaves the others untouched.
    const big = Float64Array.from([1e300, 0, 1, 2, 2 * F32_NORM_LIMIT, 0, 0.5, 0.5]);
    const rb = prepareRows(big, 2);
    assert.deepEqual([...rb.norm.subarray(0, 4)].map((v) => v === Infinity), [true, false, true, false]);
    const lo4 = new Float64Array(8), hi4 = new Float64Array(8);
    sqDistBounds(rb, prepareRows(Float64Array.from([1, 2, 0, 0]), 2), lo4, hi4);
    assert.deepEqual([lo4[0], hi4[0], lo4[4], hi4[4]], [0, Infinity, 0, Infinity]);
    assert.ok(lo4[2] === 0 && hi4[2] < 1e-5, `(1, 2) to (1, 2): [${lo4[2]}, ${hi4[2]}]`);
    assert.ok(lo4[7] <= 0.5 && 0.5 <= hi4[7], `(0.5, 0.5) to (0, 0): [${lo4[7]}, ${hi4[7]}]`);
  },
);

testWhen(
  [needBlas()],
  "gatherRows equals prepareRows on the same rows; buffers are reused; sizes are checked",
  () => {
    const d = scaled.cols;
    const idx = [17, 3, 3, 900, 0];
    const g = gatherRows(scaled.data, d, idx, idx.length);
    for (let t = 0; t < idx.length; t++) {
      const p = prepareRows(scaled.data, d, idx[t], idx[t] + 1);
      assert.deepEqual([...g.f32.subarray(t * d, t * d + d)], [...p.f32.subarray(0, d)]);
      assert.equal(g.sq[t], p.sq[0]);
      assert.equal(g.norm[t], p.norm[0]);
    }
    const again = prepareRows(scaled.data, d, 10, 12, g);
    assert.equal(again, g, "a buffer with room is reused");
    assert.equal(again.rows, 2);
    assert.notEqual(prepareRows(scaled.data, d, 0, 50, g), g, "a buffer without room is replaced");
    assert.throws(
      () => sqDistBounds(g, prepareRows(new Float64Array(6), 3), new Float64Array(10), new Float64Array(10)),
      /rows of 1\d\d and 3 columns/,
    );
    assert.throws(
      () => sqDistBounds(g, g, new Float64Array(3), new Float64Array(4)),
      /output holds 3 values, need 4/,
    );
  },
);

Deno.test("rowsView and selectRows: the rows prepareRows and gatherRows convert, without converting again", () => {
  // Real rows plus one beyond F32_NORM_LIMIT (its zeros and ∞ norm must carry over as they are).
  const d = raw.cols, n = 40;
  const data = raw.data.slice(0, n * d);
  data[7 * d + 2] = 4 * F32_NORM_LIMIT;
  const all = prepareRows(data, d);
  assert.equal(all.norm[7], Infinity);

  // rowsView: a window on the same buffers, equal to converting that range.
  const v = rowsView(all, 5, 12);
  assert.equal(v.rows, 7);
  assert.equal(v.d, d);
  const p = prepareRows(data, d, 5, 12);
  assert.deepEqual([...v.f32], [...p.f32.subarray(0, 7 * d)]);
  assert.deepEqual([...v.sq], [...p.sq.subarray(0, 7)]);
  assert.deepEqual([...v.norm], [...p.norm.subarray(0, 7)]);
  v.f32[0] = -1;
  assert.equal(all.f32[5 * d], -1, "a view writes through to its source");
  all.f32[5 * d] = p.f32[0];
  assert.equal(rowsView(all, 3, 3).rows, 0);

  // selectRows: equal to gathering the same rows from float64, repeats and the huge row included.
  const idx = Int32Array.from([7, 0, 39, 7, 12]);
  const s = selectRows(all, idx, idx.length);
  const g = gatherRows(data, d, idx, idx.length);
  assert.equal(s.rows, idx.length);
  assert.deepEqual([...s.f32.subarray(0, idx.length * d)], [...g.f32.subarray(0, idx.length * d)]);
  assert.deepEqual([...s.sq.subarray(0, idx.length)], [...g.sq.subarray(0, idx.length)]);
  assert.deepEqual([...s.norm.subarray(0, idx.length)], [...g.norm.subarray(0, idx.length)]);
  assert.equal(s.norm[0], Infinity);

  // Buffers: reused with room, replaced without; only the first `count` indices are read.
  const again = selectRows(all, idx, 2, s);
  assert.equal(again, s);
  assert.equal(again.rows, 2);
  assert.notEqual(selectRows(all, Int32Array.from({ length: 30 }, (_, i) => i), 30, s), s);
  assert.equal(selectRows(all, idx, 0).rows, 0);
});
