import assert from "node:assert/strict";
import {
  attentionSoftmax,
  attentionSoftmaxBackward,
  expInPlace,
  geluBackward,
  geluForward,
  layerNormRows,
  logSoftmaxRows,
  simdAvailable,
  simdModuleBytes,
} from "../../src/nn/simd.ts";
import { activationBackward, activationForward } from "../../src/nn/ops.ts";
import { assertClose, rand, Rng } from "./_grad.ts";
import { testWhen } from "../_shared.ts";

Deno.test("simd: the assembled module validates; its kernels are in use unless NADIR_SIMD=off", () => {
  assert.ok(WebAssembly.validate(simdModuleBytes(3)), "the module's bytes are valid WebAssembly");
  // Deno's V8 has WebAssembly SIMD on every platform it ships for.
  assert.equal(simdAvailable(), Deno.env.get("NADIR_SIMD") !== "off");
});

Deno.test("simd: exp matches Math.exp to 3e-7 relative over [−80, 80], odd lengths and chunk boundaries", () => {
  const rng = new Rng(1);
  for (const n of [1, 3, 5, 16384 + 7, 40001]) {
    const x = rand(rng, n, 80);
    const a = x.slice();
    expInPlace(a, n);
    assertClose(`exp (n ${n})`, a, Array.from(x, (v) => Math.fround(Math.exp(v))), 3e-7, 0);
  }
  // Only the first n values change.
  const b = new Float32Array([0, 0, 5]);
  expInPlace(b, 2);
  assert.deepEqual([...b], [1, 1, 5]);
  // Clamped below −87 and above 88: finite, never NaN; NaN stays NaN.
  const e = new Float32Array([-1e30, -200, 200, 1e30, NaN]);
  expInPlace(e, 5);
  assert.ok(e[0] >= 0 && e[0] < 1e-37 && e[1] < 1e-37, `${e[0]}, ${e[1]}`);
  assert.ok(Number.isFinite(e[2]) && e[2] > 1e38 && Number.isFinite(e[3]), `${e[2]}, ${e[3]}`);
  assert.ok(Number.isNaN(e[4]));
});

Deno.test('simd: GELU forward and backward match ops.ts activationForward/Backward("gelu")', () => {
  const rng = new Rng(2);
  const n = 20003;
  const z = rand(rng, n, 12), dy = rand(rng, n);
  const y = new Float32Array(n), yRef = new Float32Array(n);
  geluForward(z, y, n);
  activationForward("gelu", z, yRef, n);
  assertClose("gelu", y, yRef, 1e-5, 1e-7);
  const dz = new Float32Array(n), dzRef = new Float32Array(n);
  geluBackward(z, dy, dz, n);
  activationBackward("gelu", z, yRef, dy, dzRef, n);
  assertClose("gelu backward", dz, dzRef, 1e-5, 1e-6);
  // Training form: σ(1.702 z) kept by the forward, then a backward without exponentials.
  const sig = new Float32Array(n), yKeep = new Float32Array(n), dzKeep = new Float32Array(n);
  geluForward(z, yKeep, n, sig);
  assertClose("gelu (σ kept)", yKeep, yRef, 1e-5, 1e-7);
  assertClose("σ kept", sig, Array.from(z, (v) => 1 / (1 + Math.exp(-1.702 * v))), 1e-5, 1e-7);
  geluBackward(z, dy, dzKeep, n, sig);
  assertClose("gelu backward (σ kept)", dzKeep, dzRef, 1e-5, 1e-6);
  // In place (dz = dy) as the transformer calls it.
  const d2 = dy.slice();
  geluBackward(z, d2, d2, n);
  assert.deepEqual(d2, dz);
  const ext = new Float32Array([-1e30, -100, 100, 1e30]), out = new Float32Array(4);
  geluForward(ext, out, 4);
  assert.ok(out.every(Number.isFinite), `${[...out]}`);
  assert.ok(Math.abs(out[1]) < 1e-30 && out[2] === 100 && out[3] === ext[3], `${[...out]}`);
});

Deno.test("simd: layerNormRows runs for widths that are multiples of 4 and declines the rest", () => {
  const rng = new Rng(3);
  const g = rand(rng, 8), b = rand(rng, 8), x = rand(rng, 3 * 8, 3), y = new Float32Array(24);
  assert.equal(layerNormRows(x, undefined, 4, 6, g, b, new Float32Array(24), 1e-5), false, "width 6");
  assert.equal(layerNormRows(x, undefined, 3, 8, g, b, y, 1e-5), simdAvailable(), "width 8");
  if (simdAvailable()) {
    for (let r = 0; r < 3; r++) {
      const row = Array.from(x.subarray(r * 8, r * 8 + 8));
      const mean = row.reduce((a, v) => a + v, 0) / 8;
      const v = row.reduce((a, u) => a + (u - mean) ** 2, 0) / 8;
      const want = row.map((u, j) => ((u - mean) / Math.sqrt(v + 1e-5)) * g[j] + b[j]);
      assertClose(`row ${r}`, y.subarray(r * 8, r * 8 + 8), want, 1e-5, 1e-6);
    }
  }
});

/** Softmax cases: [T, context]; context −1 marks the bidirectional ones. */
const SOFTMAX_CASES: [number, number][] = [[1, 0], [5, 0], [5, 2], [39, 0], [39, 7], [8, 3], [5, -1], [
  39,
  -1,
]];

Deno.test("simd: attentionSoftmax matches a float64 masked softmax (context on/off, bidirectional, odd T); padding and masked keys are 0", () => {
  const rng = new Rng(6);
  for (const [T, ctx] of SOFTMAX_CASES) {
    const Tp = Math.ceil(T / 4) * 4, blocks = 3;
    const p = rand(rng, blocks * T * Tp, 10);
    const want = new Float64Array(p.length);
    for (let b = 0; b < blocks; b++) {
      for (let i = 0; i < T; i++) {
        const r = (b * T + i) * Tp, lo = ctx > 0 ? Math.max(0, i - ctx + 1) : 0, hi = ctx < 0 ? T - 1 : i;
        let m = -Infinity, sum = 0;
        for (let j = lo; j <= hi; j++) m = Math.max(m, p[r + j]);
        for (let j = lo; j <= hi; j++) sum += Math.exp(p[r + j] - m);
        for (let j = lo; j <= hi; j++) want[r + j] = Math.exp(p[r + j] - m) / sum;
      }
    }
    const ran = attentionSoftmax(p, blocks, T, Tp, Math.max(0, ctx), ctx >= 0);
    assert.equal(ran, simdAvailable());
    if (!ran) continue; // the JS loops in attention.ts take over (tested there)
    assertClose(`T ${T}, context ${ctx}`, p, want, 1e-6, 1e-7);
    for (let i = 0; i < p.length; i++) if (want[i] === 0) assert.equal(p[i], 0, `masked entry ${i}`);
  }
  // A row stride that is not a multiple of 4 is declined.
  assert.equal(attentionSoftmax(new Float32Array(6), 1, 2, 3, 0), false);
});

testWhen(
  [simdAvailable() ? undefined : { kind: "unavailable", why: "WebAssembly SIMD is off (NADIR_SIMD=off)" }],
  "simd: attentionSoftmaxBackward matches float64 dS = P ⊙ (dP − Σ dP ⊙ P)·scale; zero past the diagonal and where P is 0",
  () => {
    const rng = new Rng(7);
    for (const [T, ctx] of SOFTMAX_CASES) {
      const Tp = Math.ceil(T / 4) * 4, blocks = 30; // 30 blocks of 39 × 40 span two kernel calls
      const p = rand(rng, blocks * T * Tp, 4);
      assert.ok(attentionSoftmax(p, blocks, T, Tp, Math.max(0, ctx), ctx >= 0));
      const dp = rand(rng, blocks * T * Tp, 2);
      const want = new Float64Array(p.length);
      for (let r = 0; r < blocks * T; r++) {
        const o = r * Tp;
        let dot = 0;
        for (let j = 0; j < Tp; j++) dot += dp[o + j] * p[o + j];
        for (let j = 0; j < Tp; j++) want[o + j] = p[o + j] * (dp[o + j] - dot) * 0.25;
      }
      assert.ok(attentionSoftmaxBackward(p, dp, blocks, T, Tp, 0.25, ctx >= 0));
      assertClose(`T ${T}, context ${ctx}`, dp, want, 1e-5, 1e-6);
      // ±0 (P · (dP − dot) with P = 0 may be −0; either is the same in the products that follow).
      for (let i = 0; i < p.length; i++) {
        if (p[i] === 0) assert.ok(dp[i] === 0, `entry ${i} (P = 0): ${dp[i]}`);
      }
    }
    assert.equal(attentionSoftmaxBackward(new Float32Array(6), new Float32Array(6), 1, 2, 3, 1), false);
  },
);

testWhen(
  [simdAvailable() ? undefined : { kind: "unavailable", why: "WebAssembly SIMD is off (NADIR_SIMD=off)" }],
  "simd: logSoftmaxRows gives each row's max and Σ exp(x − max) over its first V entries; probabilities when kept, 0 on the padding",
  () => {
    const rng = new Rng(8);
    // 5000 rows of 16 span two kernel calls (4096 rows each).
    for (const [rows, K4, V] of [[3, 4, 1], [7, 8, 5], [5000, 16, 13], [4, 12, 12]]) {
      for (const keep of [false, true]) {
        const lg = rand(rng, rows * K4, 8), orig = lg.slice(), stats = new Float32Array(2 * rows);
        assert.ok(logSoftmaxRows(lg, rows, K4, V, keep, stats));
        for (let b = 0; b < rows; b++) {
          const row = Array.from(orig.subarray(b * K4, b * K4 + V));
          const mx = row.reduce((a, x) => Math.max(a, x), -Infinity),
            sum = row.reduce((a, x) => a + Math.exp(x - mx), 0);
          assert.equal(stats[2 * b], Math.fround(mx));
          assertClose(`sum, row ${b} of ${rows}×${K4}, V ${V}`, [stats[2 * b + 1]], [sum], 2e-6, 0);
          const want = keep
            ? [...row.map((x) => Math.exp(x - mx) / sum), ...Array(K4 - V).fill(0)]
            : orig.subarray(b * K4, b * K4 + K4);
          assertClose(`row ${b} (keep ${keep})`, lg.subarray(b * K4, b * K4 + K4), want, 1e-5, 1e-7);
        }
      }
    }
    assert.equal(logSoftmaxRows(new Float32Array(6), 1, 6, 3, false, new Float32Array(2)), false);
  },
);
