import assert from "node:assert/strict";
import { blasInfo, matmul, sgemm } from "../../src/nn/blas.ts";
import { needBlas, testWhen } from "../_shared.ts";
import { assertClose, rand, Rng } from "./_grad.ts";

/** Reference product in float64 with the same transpose/stride conventions as sgemm. */
function naive(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) {
        s += (tA ? a[q * lda + i] : a[i * lda + q]) * (tB ? b[j * ldb + q] : b[q * ldb + j]);
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

testWhen(
  [needBlas()],
  "sgemm: every transpose combination, odd sizes, strides and offsets match a float64 product",
  () => {
    const rng = new Rng(12);
    for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [17, 1, 9], [64, 33, 130], [300, 70, 260]]) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const lda = (tA ? m : k) + 2, ldb = (tB ? k : n) + 1;
          const a = rand(rng, (tA ? k : m) * lda + 3).subarray(3);
          const b = rand(rng, (tB ? n : k) * ldb);
          const c = new Float32Array(m * n + 5);
          sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c.subarray(5), n);
          assertClose(
            `${m}×${n}×${k} tA=${tA} tB=${tB}`,
            c.subarray(5),
            naive(tA, tB, m, n, k, a, lda, b, ldb),
            1e-4,
            1e-5,
          );
          assert.deepEqual([...c.subarray(0, 5)], [0, 0, 0, 0, 0], "nothing written before the view");
        }
      }
    }
  },
);

testWhen(
  [needBlas()],
  "sgemm: alpha/beta accumulate; k = 0 scales C by beta; empty m or n is a no-op",
  () => {
    const c = new Float32Array([1, 1, 1, 1]);
    matmul(new Float32Array([1, 2, 3, 4]), new Float32Array([1, 0, 0, 1]), c, 2, 2, 2, { accumulate: true });
    assert.deepEqual([...c], [2, 3, 4, 5]);
    const d = new Float32Array([2, 4]);
    sgemm(false, false, 1, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0.5, d, 2);
    assert.deepEqual([...d], [1, 2]);
    const e = new Float32Array([7]);
    sgemm(false, false, 0, 1, 3, 1, new Float32Array(0), 3, new Float32Array(3), 1, 0, e, 1);
    assert.deepEqual([...e], [7]);
  },
);

testWhen([needBlas()], "sgemm: a buffer too small for the stated shape is refused before the call", () => {
  assert.throws(
    () => matmul(new Float32Array(5), new Float32Array(6), new Float32Array(4), 2, 3, 2),
    /A is 2×3 \(lda 3\) but its buffer holds 5 floats/,
  );
  assert.throws(
    () => matmul(new Float32Array(6), new Float32Array(6), new Float32Array(3), 2, 3, 2),
    /C is 2×2 \(ldc 2\) but its buffer holds 3 floats/,
  );
});

testWhen([needBlas()], "blasInfo: reports OpenBLAS's configuration and a thread count", () => {
  const b = blasInfo();
  assert.equal(b.available, true);
  assert.match(b.config ?? "", /OpenBLAS/);
  assert.ok(b.maxThreads >= 1);
});
