import assert from "node:assert/strict";
import { embedBackward, embedForward } from "../../src/nn/embedding.ts";
import { initTf } from "../../src/detectors/tf_backend.ts";
import { assertClose, finiteDiff, rand, Rng } from "./_grad.ts";

Deno.test("embedding: lookup + position add and scatter-add gradient match tfjs (one-hot product), repeats included, JS and SIMD widths", async () => {
  const tf = await initTf();
  const rng = new Rng(3);
  // d 8 and 64 run the WebAssembly SIMD kernels; 40 × 9 rows of 64 span two of their chunks
  // (256 rows each, so the second starts mid-sequence).
  for (const [V, B, T, d] of [[2, 1, 1, 1], [7, 3, 5, 6], [20, 4, 9, 5], [20, 4, 9, 8], [20, 40, 9, 64]]) {
    const table = rand(rng, V * d), pos = rand(rng, T * d), u = rand(rng, B * T * d);
    const ids = Int32Array.from({ length: B * T }, () => rng.int(V));
    ids[0] = ids[ids.length - 1]; // at least one id read twice: the gradient must add up
    const out = new Float32Array(B * T * d);
    embedForward(table, pos, ids, B, T, d, out);
    const dTable = new Float32Array(V * d), dPos = new Float32Array(T * d);
    embedBackward(u, ids, B, T, d, dTable, dPos);
    const [tt, pt, ut] = [tf.tensor2d(table, [V, d]), tf.tensor2d(pos, [T, d]), tf.tensor2d(u, [B * T, d])];
    const oh = tf.oneHot(tf.tensor1d(ids, "int32"), V).toFloat();
    const f = (tb: any, p: any) =>
      tf.reshape(tf.add(tf.reshape(tf.matMul(oh, tb), [B, T, d]), p), [B * T, d]);
    const fwd = f(tt, pt);
    const [gT, gP] = tf.grads((tb: any, p: any) => tf.sum(tf.mul(ut, f(tb, p))))([tt, pt]);
    assertClose("forward", out, await fwd.data(), 1e-6, 1e-7);
    assertClose("dTable", dTable, await gT.data(), 1e-5, 1e-6);
    assertClose("dPos", dPos, await gP.data(), 1e-5, 1e-6);
    tf.dispose([tt, pt, ut, oh, fwd, gT, gP]);
  }
});

Deno.test("embedding: gradient matches finite differences; ids outside the table are refused", () => {
  const rng = new Rng(9);
  const V = 4, B = 2, T = 3, d = 2;
  const table = rand(rng, V * d), pos = rand(rng, T * d), u = rand(rng, B * T * d);
  const ids = Int32Array.from([3, 0, 3, 1, 1, 2]);
  const out = new Float32Array(B * T * d);
  const loss = () => {
    embedForward(table, pos, ids, B, T, d, out);
    return out.reduce((s, v, i) => s + v * u[i], 0);
  };
  const dTable = new Float32Array(V * d), dPos = new Float32Array(T * d);
  embedBackward(u, ids, B, T, d, dTable, dPos);
  assertClose("dTable (finite differences)", dTable, finiteDiff(table, loss, 1e-3), 1e-2, 1e-3);
  assertClose("dPos (finite differences)", dPos, finiteDiff(pos, loss, 1e-3), 1e-2, 1e-3);
  assert.throws(
    () => embedForward(table, pos, Int32Array.from([0, 4, 0, 0, 0, 0]), B, T, d, out),
    /token id 4 at row 1 is outside the table of 4 tokens/,
  );
  embedForward(table, pos, new Int32Array(0), 0, T, d, new Float32Array(0)); // empty batch: nothing to do
});
