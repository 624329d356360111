import assert from "node:assert/strict";
import { Adam } from "../../src/nn/adam.ts";
import { Params } from "../../src/nn/params.ts";
import { initTf } from "../../src/detectors/tf_backend.ts";
import { assertClose, rand, Rng } from "./_grad.ts";

Deno.test("Adam: ten steps on the same gradients match tf.train.adam (1e-5)", async () => {
  const tf = await initTf();
  const rng = new Rng(3);
  const w0 = rand(rng, 7), grads = Array.from({ length: 10 }, () => rand(rng, 7, 3));
  const p = new Params();
  const w = p.add("w", [7], w0);
  const opt = new Adam(p, { lr: 0.01 });
  const v = tf.variable(tf.tensor1d(w0));
  const ref = tf.train.adam(0.01);
  for (const g of grads) {
    p.grad("w").set(g);
    opt.step();
    ref.applyGradients([{ name: v.name, tensor: tf.tensor1d(g) }]);
  }
  assertClose("weights after 10 steps", w, await v.data(), 1e-5, 1e-7);
  ref.dispose();
  v.dispose();
});

Deno.test("Adam: global-norm clipping scales every gradient by clip/norm and reports the norm", () => {
  const run = (clipNorm: number, g: number[]) => {
    const p = new Params();
    const a = p.add("a", [1], new Float32Array([0]));
    const b = p.add("b", [1], new Float32Array([0]));
    const opt = new Adam(p, { lr: 1, clipNorm });
    p.grad("a")[0] = g[0];
    p.grad("b")[0] = g[1];
    return { norm: opt.step(), a: a[0], b: b[0] };
  };
  // Adam's first step moves each weight by ≈ lr·sign(g) whatever the scale, so compare the clipped
  // run with an unclipped run on gradients scaled by hand: they must agree exactly.
  const clipped = run(1, [3, 4]);
  const manual = run(0, [0.6, 0.8]);
  assert.equal(clipped.norm, 5);
  assert.equal(clipped.a, manual.a);
  assert.equal(clipped.b, manual.b);
});

Deno.test("AdamW: decoupled weight decay shrinks weights with zero gradient by lr·wd per step", () => {
  const p = new Params();
  const w = p.add("w", [1], new Float32Array([1]));
  const opt = new Adam(p, { lr: 0.1, weightDecay: 0.5 });
  opt.step();
  assert.ok(Math.abs(w[0] - 0.95) < 1e-6, `w = ${w[0]}`);
});

Deno.test("Adam: the SIMD kernel and the plain loop agree (odd sizes, chunked parameters, decay, clipping)", () => {
  // Sizes: empty, shorter than a vector, odd, and longer than the kernel's 16,384-float chunk.
  const sizes = [0, 1, 3, 5, 130, 16384 + 7];
  const run = (simd: boolean) => {
    const rng = new Rng(11);
    const p = new Params();
    for (const [i, n] of sizes.entries()) p.add(`p${i}`, [n], rand(rng, n));
    const opt = new Adam(p, { lr: 0.01, weightDecay: 0.1, clipNorm: 5, simd });
    for (let step = 0; step < 20; step++) {
      for (const [i, n] of sizes.entries()) p.grad(`p${i}`).set(rand(rng, n, 2));
      opt.step();
    }
    return sizes.map((_, i) => p.get(`p${i}`));
  };
  const fast = run(true), plain = run(false);
  for (const [i, n] of sizes.entries()) {
    assert.equal(fast[i].length, n);
    assertClose(`p${i} after 20 steps`, fast[i], plain[i], 1e-5, 1e-7);
  }
});
