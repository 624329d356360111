import assert from "node:assert/strict";
import {
  attentionBackward,
  attentionForward,
  type AttentionShape,
  probsPerSequence,
  probsStride,
} from "../../src/nn/attention.ts";
import { initTf, type Tf } from "../../src/detectors/tf_backend.ts";
import { needBlas, testWhen } from "../_shared.ts";
import { assertClose, finiteDiff, rand, Rng } from "./_grad.ts";

/** Whether row i may see key j: causal, j ≤ i and, with a window, i − j < context; bidirectional, always. */
function visible(s: AttentionShape, i: number, j: number): boolean {
  return s.causal === false || (j <= i && (s.context === 0 || i - j < s.context));
}

/** flow-lm's additive mask. */
function mask(s: AttentionShape): Float32Array {
  const T = s.T, m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) m[i * T + j] = visible(s, i, j) ? 0 : -1e9;
  return m;
}

/** tfjs attention written the way flow-lm's tfjs path writes it (training form: scale after QKᵀ). */
function tfAttention(tf: Tf, q: any, k: any, v: any, s: AttentionShape): any {
  const { B, T, d, heads: H } = s, hd = d / H;
  const heads = (t: any) =>
    tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]);
  const qk = tf.matMul(heads(q), heads(k), false, true);
  const att = tf.softmax(tf.add(tf.mul(qk, 1 / Math.sqrt(hd)), tf.tensor2d(mask(s), [T, T])));
  return tf.reshape(tf.transpose(tf.reshape(tf.matMul(att, heads(v)), [B, H, T, hd]), [0, 2, 1, 3]), [
    B * T,
    d,
  ]);
}

function nativeAttention(s: AttentionShape, seed: number) {
  const rng = new Rng(seed), n = s.B * s.T * s.d;
  const q = rand(rng, n, 1.5), k = rand(rng, n, 1.5), v = rand(rng, n), u = rand(rng, n);
  const probs = new Float32Array(s.B * probsPerSequence(s.T, s.heads)), out = new Float32Array(n);
  const loss = () => {
    attentionForward(q, k, v, s, probs, out);
    let acc = 0;
    for (let i = 0; i < n; i++) acc += u[i] * out[i];
    return acc;
  };
  const grads = () => {
    loss();
    const dq = new Float32Array(n), dk = new Float32Array(n), dv = new Float32Array(n);
    attentionBackward(q, k, v, probs, u, s, dq, dk, dv, new Float32Array(s.T * probsStride(s.T)));
    return { dq, dk, dv };
  };
  return { q, k, v, u, out, probs, loss, grads };
}

const SHAPES: AttentionShape[] = [
  { B: 3, T: 5, d: 6, heads: 3, context: 0 },
  { B: 3, T: 5, d: 6, heads: 3, context: 2 },
  { B: 1, T: 1, d: 1, heads: 1, context: 0 },
  { B: 2, T: 9, d: 8, heads: 2, context: 4 },
  { B: 4, T: 7, d: 10, heads: 5, context: 1 },
  // Bidirectional (the masked-field objective): every position sees every key; T 5 and 9 leave padding.
  { B: 3, T: 5, d: 6, heads: 3, context: 0, causal: false },
  { B: 2, T: 9, d: 8, heads: 2, context: 0, causal: false },
];

testWhen(
  [needBlas()],
  "attention: forward and q/k/v gradients match tfjs (1e-4), context window on and off, bidirectional",
  async () => {
    const tf = await initTf();
    for (const [i, s] of SHAPES.entries()) {
      const n = nativeAttention(s, 11 + i);
      const g = n.grads();
      const shape = [s.B * s.T, s.d];
      const [q, k, v, u] = [n.q, n.k, n.v, n.u].map((a) => tf.tensor2d(a, shape as [number, number]));
      const fwd = tfAttention(tf, q, k, v, s);
      const [gq, gk, gv] = tf.grads((q: any, k: any, v: any) =>
        tf.sum(tf.mul(u, tfAttention(tf, q, k, v, s)))
      )([
        q,
        k,
        v,
      ]);
      const what = JSON.stringify(s);
      assertClose(`forward ${what}`, n.out, await fwd.data(), 1e-4, 1e-5);
      assertClose(`dq ${what}`, g.dq, await gq.data(), 1e-4, 1e-5);
      assertClose(`dk ${what}`, g.dk, await gk.data(), 1e-4, 1e-5);
      assertClose(`dv ${what}`, g.dv, await gv.data(), 1e-4, 1e-5);
      tf.dispose([q, k, v, u, fwd, gq, gk, gv]);
    }
  },
);

testWhen(
  [needBlas()],
  "attention: gradients match finite differences; masked weights are 0; rows sum to 1",
  () => {
    for (const s of [SHAPES[0], SHAPES[1], SHAPES[5]]) {
      const n = nativeAttention(s, 5);
      const g = n.grads();
      assertClose("dq (finite differences)", g.dq, finiteDiff(n.q, n.loss, 1e-3), 2e-2, 2e-3);
      assertClose("dk (finite differences)", g.dk, finiteDiff(n.k, n.loss, 1e-3), 2e-2, 2e-3);
      assertClose("dv (finite differences)", g.dv, finiteDiff(n.v, n.loss, 1e-3), 2e-2, 2e-3);
      n.loss();
      const { T } = s, Tp = probsStride(T);
      for (let bh = 0; bh < s.B * s.heads; bh++) {
        for (let i = 0; i < T; i++) {
          let sum = 0;
          // Padding columns (j ≥ T) are 0 too.
          for (let j = 0; j < Tp; j++) {
            const p = n.probs[bh * T * Tp + i * Tp + j];
            const allowed = j < T && visible(s, i, j);
            assert.ok(!Number.isNaN(p));
            if (!allowed) assert.equal(p, 0, `masked weight (${i}, ${j}) of ${JSON.stringify(s)}`);
            sum += p;
          }
          assert.ok(Math.abs(sum - 1) < 1e-6, `row ${i} sums to ${sum}`);
        }
      }
    }
  },
);

testWhen(
  [needBlas()],
  "attention: inference with a smaller scratch gives the training output; empty batch; bad sizes refused",
  () => {
    const s = { ...SHAPES[4], B: 5 };
    const n = nativeAttention(s, 2);
    n.loss();
    const per = probsPerSequence(s.T, s.heads);
    for (const groups of [1, 2, 4]) {
      const out = new Float32Array(n.out.length);
      attentionForward(n.q, n.k, n.v, s, new Float32Array(groups * per + 3), out);
      assert.deepEqual(out, n.out, `scratch for ${groups} sequences`);
    }
    const e = new Float32Array(0);
    attentionForward(e, e, e, { ...s, B: 0 }, new Float32Array(per), e);
    attentionBackward(e, e, e, e, e, { ...s, B: 0 }, e, e, e, new Float32Array(s.T * probsStride(s.T)));
    const out = new Float32Array(n.out.length);
    assert.throws(
      () => attentionForward(n.q, n.k, n.v, { ...s, heads: 3 }, n.probs, out),
      /multiple of heads 3/,
    );
    assert.throws(
      () => attentionForward(n.q, n.k, n.v, s, new Float32Array(per - 1), out),
      /expected at least heads·T·stride = 280/,
    );
  },
);

testWhen(
  [needBlas()],
  "attention: q, k, v packed side by side (stride 3d, as the transformer keeps them) give the same output and gradients",
  () => {
    for (const s of [SHAPES[0], SHAPES[3], SHAPES[6]]) {
      const ref = nativeAttention(s, 11);
      const g = ref.grads();
      const { B, T, d } = s, N = B * T, ld = 3 * d;
      // Pack q | k | v into one [N, 3d] buffer.
      const qkv = new Float32Array(N * ld);
      for (let r = 0; r < N; r++) {
        qkv.set(ref.q.subarray(r * d, r * d + d), r * ld);
        qkv.set(ref.k.subarray(r * d, r * d + d), r * ld + d);
        qkv.set(ref.v.subarray(r * d, r * d + d), r * ld + 2 * d);
      }
      const packed: AttentionShape = { ...s, stride: ld };
      const probs = new Float32Array(B * probsPerSequence(T, s.heads)), out = new Float32Array(N * d);
      attentionForward(qkv, qkv.subarray(d), qkv.subarray(2 * d), packed, probs, out);
      assert.deepEqual(out, ref.out);
      const dqkv = new Float32Array(N * ld);
      attentionBackward(
        qkv,
        qkv.subarray(d),
        qkv.subarray(2 * d),
        probs,
        ref.u,
        packed,
        dqkv,
        dqkv.subarray(d),
        dqkv.subarray(2 * d),
        new Float32Array(T * probsStride(T)),
      );
      for (let r = 0; r < N; r++) {
        assert.deepEqual(dqkv.subarray(r * ld, r * ld + d), g.dq.subarray(r * d, r * d + d));
        assert.deepEqual(dqkv.subarray(r * ld + d, r * ld + 2 * d), g.dk.subarray(r * d, r * d + d));
        assert.deepEqual(dqkv.subarray(r * ld + 2 * d, r * ld + 3 * d), g.dv.subarray(r * d, r * d + d));
      }
    }
    assert.throws(
      () =>
        attentionForward(
          new Float32Array(8),
          new Float32Array(8),
          new Float32Array(8),
          { B: 1, T: 2, d: 4, heads: 1, context: 0, stride: 3 },
          new Float32Array(8),
          new Float32Array(8),
        ),
      RangeError,
    );
  },
);
