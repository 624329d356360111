import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { loadDataset } from "../../src/data/datasets.ts";
import { type Matrix, matrix } from "../../src/data/matrix.ts";
import { fitTransform } from "../../src/data/preprocess.ts";
import { BLAS_MIN_ROWS, KMeansDetector, kmeansUsesBlas } from "../../src/detectors/kmeans.ts";
import { createDetector, getDetectorFactory } from "../../src/detectors/registry.ts";
import { setNnEngine } from "../../src/nn/engine.ts";
import { quantileSorted } from "../../src/util/quantile.ts";
import { Rng } from "../../src/util/random.ts";
import { needBlas, testWhen } from "../_shared.ts";

const CENTRES = [[0, 0], [10, 0], [0, 10]];

function blobs(n: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const c = CENTRES[i % 3];
    x[2 * i] = c[0] + rng.normal(0, 0.5);
    x[2 * i + 1] = c[1] + rng.normal(0, 0.5);
  }
  return matrix(x, n, 2);
}

for (const batchSize of [0, 64]) {
  Deno.test(`kmeans (${batchSize ? "mini-batch" : "Lloyd/Hamerly"}): recovers separated clusters; score 1 = cluster radius`, async () => {
    const x = blobs(900, 1);
    const det = createDetector("kmeans", { k: 3, batchSize }, 2) as KMeansDetector;
    await det.fit(x);
    const c = det.centroids;
    for (const t of CENTRES) {
      const best = Math.min(...[0, 1, 2].map((j) => Math.hypot(c[2 * j] - t[0], c[2 * j + 1] - t[1])));
      assert.ok(best < 0.2, `no centroid near ${t} (closest ${best})`);
    }
    const s = await det.score(x);
    const within = s.filter((v) => v <= 1).length / s.length;
    assert.ok(within > 0.93 && within < 0.97, `fraction within radius ${within}, expected about 0.95`);
    const far = await det.score(matrix(Float64Array.from([5, 5]), 1, 2));
    assert.ok(far[0] > 3);
  });
}

Deno.test("kmeans: a radius is the quantile of its members' distances, as sorting them would give", async () => {
  // Blobs with every row twice (ties among the distances), at quantiles on and between ranks.
  const b = blobs(601, 4),
    x = matrix(
      Float64Array.from({ length: 2 * b.data.length }, (_, i) => b.data[i % b.data.length]),
      2 * b.rows,
      2,
    );
  for (const radiusQuantile of [0, 0.5, 0.95, 0.999, 1]) {
    const det = createDetector("kmeans", { k: 3, radiusQuantile }, 1) as KMeansDetector;
    await det.fit(x);
    const c = det.centroids, labels = det.assign(x), members: number[][] = [[], [], []];
    for (let i = 0; i < x.rows; i++) {
      const a = labels[i], t0 = x.data[2 * i] - c[2 * a], t1 = x.data[2 * i + 1] - c[2 * a + 1];
      members[a].push(Math.sqrt(0 + t0 * t0 + t1 * t1));
    }
    const want = members.map((m) => quantileSorted(Float64Array.from(m).sort(), radiusQuantile));
    // The floor (1 % of the median radius) does not bind for separated blobs.
    assert.deepEqual([...det.radii], want.map((r) => Math.max(r, 1e-12)), `quantile ${radiusQuantile}`);
  }
});

Deno.test("kmeans: k larger than the rows is a clear error", async () => {
  const det = createDetector("kmeans", { k: 10 }, 0);
  await assert.rejects(async () => await det.fit(blobs(5, 1)), /k = 10 exceeds the 5 training rows/);
});

// ---- The sgemm kernel and the plain loops give the same model and scores ----
//
// Real slice: benign KDDTrain+_20Percent rows (vendored), min-max scaled as in the bench; scored on KDDTest-21
// (attacks included, so scores reach far beyond the radii).
const kdd = (() => {
  const train = loadDataset("nsl-kdd-train-20").df.filter(pl.col("label").eq(0));
  const { transform, matrix: x } = fitTransform(train, { scale: "minmax" });
  return { train: x, test: transform.apply(loadDataset("nsl-kdd-test-21").df) };
})();

/** The first `n` rows of `m`, keeping only the columns named in `cols` (all when absent). */
function slice(m: Matrix, n: number, cols?: string[]): Matrix {
  const keep = cols ? cols.map((c) => m.names.indexOf(c)) : m.names.map((_, j) => j);
  assert.ok(keep.every((j) => j >= 0), `columns ${cols} not all in the matrix`);
  const r = Math.min(n, m.rows), out = new Float64Array(r * keep.length);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < keep.length; j++) out[i * keep.length + j] = m.data[i * m.cols + keep[j]];
  }
  return matrix(out, r, keep.length, keep.map((j) => m.names[j]));
}

interface Run {
  centroids: Float64Array;
  radii: Float64Array;
  state: Record<string, unknown>;
  labels: Int32Array;
  scores: Float64Array;
}

/** Fits and scores with the given engine forced ("native" = sgemm kernel, "tfjs" = plain loops). */
function runOn(engine: "native" | "tfjs", params: Record<string, unknown>, x: Matrix, test: Matrix): Run {
  setNnEngine(engine);
  try {
    assert.equal(kmeansUsesBlas(), engine === "native");
    const det = createDetector("kmeans", params, 5) as KMeansDetector;
    det.fit(x);
    return {
      centroids: det.centroids,
      radii: det.radii,
      state: det.save().state,
      labels: det.assign(test),
      scores: det.score(test),
    };
  } finally {
    setNnEngine(undefined);
  }
}

function assertRel(what: string, a: ArrayLike<number>, b: ArrayLike<number>, rel = 1e-6): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const tol = rel * Math.max(Math.abs(a[i]), Math.abs(b[i])) + 1e-300;
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: sgemm ${a[i]} vs plain ${b[i]}`);
  }
}

/** The same model, labels and scores to the bit: the sgemm kernel's exact distances are the plain loops' sums. */
function assertSame(what: string, blas: Run, js: Run): void {
  assertRel(`${what}: centroids`, blas.centroids, js.centroids, 0);
  assertRel(`${what}: radii`, blas.radii, js.radii, 0);
  assert.equal(blas.state.iterations, js.state.iterations, `${what}: iterations`);
  assertRel(`${what}: inertia`, [blas.state.inertia as number], [js.state.inertia as number], 0);
  const moved = blas.labels.findIndex((l, i) => l !== js.labels[i]);
  assert.equal(
    moved,
    -1,
    `${what}: row ${moved} assigned to ${blas.labels[moved]} (sgemm) vs ${js.labels[moved]}`,
  );
  assertRel(`${what}: scores`, blas.scores, js.scores, 0);
}

const CONFIGS: [string, Record<string, unknown>][] = [
  ["Lloyd, default k", {}],
  ["Lloyd, k = 40", { k: 40, maxIter: 30 }],
  ["mini-batch", { k: 6, batchSize: 300, maxIter: 4 }],
  ["k = 1", { k: 1 }],
];

for (const [what, params] of CONFIGS) {
  testWhen([needBlas()], `kmeans (${what}): the sgemm kernel and the plain loops agree on real rows`, () => {
    const x = slice(kdd.train, 5000), test = slice(kdd.test, 4000);
    const blas = runOn("native", params, x, test), js = runOn("tfjs", params, x, test);
    assertSame(what, blas, js);
    // The slice is real work: test rows fall both inside and outside the radii, and k > 1 uses several clusters.
    const outside = blas.scores.filter((v) => v > 1).length;
    assert.ok(
      outside > 0 && outside < test.rows,
      `${what}: ${outside} of ${test.rows} rows outside the radii`,
    );
    const used = new Set(blas.labels).size;
    assert.ok(
      blas.radii.length === 1 || used > 1,
      `${what}: all test rows in one of ${blas.radii.length} clusters`,
    );
  });
}

testWhen(
  [needBlas()],
  "kmeans: sgemm and plain loops agree on odd shapes — 1 row, 1 column, k = rows, ties",
  () => {
    const row = slice(kdd.train, 1);
    for (
      const [what, params, x, test] of [
        ["1 training row", { k: 1 }, row, slice(kdd.test, 50)],
        ["1 column", { k: 3 }, slice(kdd.train, 2000, ["src_bytes"]), slice(kdd.test, 500, ["src_bytes"])],
        ["k = rows", { k: 12 }, slice(kdd.train, 12), slice(kdd.test, 300)],
        // Two binary columns: 4 distinct rows for k = 6, so seeding runs out of potential, centres coincide and
        // distances tie exactly — the tie rules of both kernels must match.
        [
          "exact ties",
          { k: 6 },
          slice(kdd.train, 3000, ["logged_in", "flag=SF"]),
          slice(kdd.test, 800, ["logged_in", "flag=SF"]),
        ],
      ] as [string, Record<string, unknown>, Matrix, Matrix][]
    ) {
      const blas = runOn("native", params, x, test), js = runOn("tfjs", params, x, test);
      assertSame(what, blas, js);
    }
    // Scoring rows far beyond float32 (and float64 squares) saturates the same way on both kernels; every other
    // row carries one 1e300 cell, the rest are ordinary (a batch large enough for the sgemm kernel).
    const n = 2 * BLAS_MIN_ROWS, cols = kdd.test.cols;
    const huge = matrix(
      Float64Array.from(slice(kdd.test, n).data, (v, i) => i % (2 * cols) === 5 ? 1e300 : v),
      n,
      cols,
    );
    const blas = runOn("native", { k: 3 }, slice(kdd.train, 500), huge),
      js = runOn("tfjs", { k: 3 }, slice(kdd.train, 500), huge);
    assertSame("1e300 rows", blas, js);
    for (let i = 0; i < n; i++) {
      assert.equal(
        blas.scores[i] === Number.MAX_VALUE,
        i % 2 === 0,
        `1e300 rows: row ${i} scored ${blas.scores[i]}`,
      );
    }
    // Training rows beyond F32_NORM_LIMIT (one 1e20 cell in every seventh row) take no part in the float32
    // expansion that the fit's first pass prepares; the model is still the plain loops' to the bit.
    const big = slice(kdd.train, 700), bigCols = big.cols;
    const wide = matrix(
      Float64Array.from(big.data, (v, i) => i % (7 * bigCols) === 3 ? 1e20 : v),
      big.rows,
      bigCols,
    );
    assertSame(
      "1e20 training rows",
      runOn("native", { k: 4 }, wide, slice(kdd.test, 200)),
      runOn("tfjs", { k: 4 }, wide, slice(kdd.test, 200)),
    );
    // k > rows is refused the same way on both.
    for (const engine of ["native", "tfjs"] as const) {
      assert.throws(
        () => runOn(engine, { k: 13 }, slice(kdd.train, 12), row),
        /k = 13 exceeds the 12 training rows/,
      );
    }
  },
);

testWhen([needBlas()], "kmeans: the backend names the engine that computes the distances", () => {
  for (const engine of ["native", "tfjs"] as const) {
    setNnEngine(engine);
    try {
      assert.match(
        getDetectorFactory("kmeans").backend!(),
        engine === "native" ? /^native \(OpenBLAS/ : /^js$/,
      );
    } finally {
      setNnEngine(undefined);
    }
  }
});

Deno.test("kmeans: a non-finite or too large training value is named by row and column", async () => {
  // Real rows with one cell replaced: the value check shares its pass with the column statistics.
  const x = slice(kdd.train, 40);
  const col = x.names.indexOf("src_bytes");
  for (
    const [bad, why] of [
      [NaN, /row 7, column "src_bytes" is NaN; expected finite numbers/],
      [-Infinity, /row 7, column "src_bytes" is -Infinity; expected finite numbers/],
      [2e100, /row 7, column "src_bytes" is 2e\+100; expected values within ±1e\+100/],
    ] as const
  ) {
    const data = x.data.slice();
    data[6 * x.cols + col] = bad;
    const det = createDetector("kmeans", { k: 2 }, 0);
    await assert.rejects(async () => await det.fit(matrix(data, x.rows, x.cols, x.names)), why);
  }
  // At the limit itself the fit goes through.
  const data = x.data.slice();
  data[6 * x.cols + col] = 1e100;
  const det = createDetector("kmeans", { k: 2 }, 0);
  await det.fit(matrix(data, x.rows, x.cols, x.names));
  assert.ok((await det.score(x)).every(Number.isFinite));
});

Deno.test("kmeans: assign gives the cluster whose radius scales the score", async () => {
  const x = slice(kdd.train, 3000), test = slice(kdd.test, 500);
  const det = createDetector("kmeans", { k: 5 }, 1) as KMeansDetector;
  await det.fit(x);
  const labels = det.assign(test), scores = await det.score(test);
  const c = det.centroids, r = det.radii, d = test.cols;
  for (let i = 0; i < test.rows; i++) {
    let best = Infinity, arg = -1;
    for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += (test.data[i * d + q] - c[j * d + q]) ** 2;
      if (s < best) [best, arg] = [s, j];
    }
    assert.equal(labels[i], arg, `row ${i}: nearest centroid`);
    const want = Math.sqrt(best) / r[arg];
    assert.ok(Math.abs(scores[i] - want) <= 1e-9 * want + 1e-12, `row ${i}: score ${scores[i]} vs ${want}`);
  }
});

testWhen(
  [needBlas()],
  "kmeans: small batches (plain loop) score as the same rows in a large batch (sgemm)",
  async () => {
    const det = createDetector("kmeans", { k: 6 }, 2) as KMeansDetector;
    await det.fit(slice(kdd.train, 3000));
    const test = slice(kdd.test, 3 * BLAS_MIN_ROWS), d = test.cols;
    const whole = await det.score(test);
    for (let from = 0; from < test.rows; from += 7) {
      const r = Math.min(7, test.rows - from);
      const part = await det.score(matrix(test.data.slice(from * d, (from + r) * d), r, d));
      assert.deepEqual([...part], [...whole.subarray(from, from + r)], `rows ${from}..${from + r}`);
    }
  },
);
