import assert from "node:assert/strict";
import { LAYER_NORM_EPS, layerNormBackward, layerNormForward } from "../../src/nn/norm.ts";
import { initTf } from "../../src/detectors/tf_backend.ts";
import { assertClose, finiteDiff, rand, Rng } from "./_grad.ts";

/** Loss Σ u ⊙ LN(x) for a fixed random u, and its native gradients. */
function nativeNorm(rows: number, d: number, seed: number) {
  const rng = new Rng(seed);
  const x = rand(rng, rows * d, 3), g = rand(rng, d, 1.5), b = rand(rng, d), u = rand(rng, rows * d);
  const y = new Float32Array(rows * d), xhat = new Float32Array(rows * d), rstd = new Float32Array(rows);
  const loss = () => {
    layerNormForward(x, rows, d, g, b, y, xhat, rstd);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += u[i] * y[i];
    return s;
  };
  const grads = () => {
    loss();
    const dx = new Float32Array(rows * d), dg = new Float32Array(d), db = new Float32Array(d);
    layerNormBackward(u, rows, d, g, xhat, rstd, dx, dg, db);
    return { dx, dg, db };
  };
  return { x, g, b, u, y, loss, grads };
}

Deno.test("layerNorm: forward and gradients match tfjs moments-based layer norm (1e-4), odd widths and SIMD ones", async () => {
  const tf = await initTf();
  // Widths that are multiples of 4 run the WebAssembly SIMD kernels (2100 × 8 spans two of their chunks).
  for (const [rows, d] of [[1, 1], [3, 6], [17, 5], [40, 33], [40, 32], [2100, 8]]) {
    const n = nativeNorm(rows, d, rows * 7 + d);
    const g = n.grads();
    const [x, gt, bt, u] = [
      tf.tensor2d(n.x, [rows, d]),
      tf.tensor1d(n.g),
      tf.tensor1d(n.b),
      tf.tensor2d(n.u, [rows, d]),
    ];
    // The formula flow-lm's tfjs path uses.
    const ln = (x: any, g: any, b: any) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, LAYER_NORM_EPS))), g), b);
    };
    const fwd = ln(x, gt, bt);
    const [gx, gg, gb] = tf.grads((x: any, g: any, b: any) => tf.sum(tf.mul(u, ln(x, g, b))))([x, gt, bt]);
    assertClose(`forward ${rows}×${d}`, n.y, await fwd.data(), 1e-4, 1e-5);
    assertClose(`dx ${rows}×${d}`, g.dx, await gx.data(), 1e-4, 1e-4);
    assertClose(`dg ${rows}×${d}`, g.dg, await gg.data(), 1e-4, 1e-5);
    assertClose(`db ${rows}×${d}`, g.db, await gb.data(), 1e-4, 1e-5);
    tf.dispose([x, gt, bt, u, fwd, gx, gg, gb]);
  }
});

Deno.test("layerNorm: gradients match central finite differences; accumulate adds; empty input is a no-op", () => {
  // d 7 runs the JS loops, d 8 the WebAssembly SIMD kernels.
  for (const d of [7, 8]) {
    const n = nativeNorm(4, d, 3);
    const g = n.grads();
    assertClose(`dx (finite differences, d ${d})`, g.dx, finiteDiff(n.x, n.loss, 1e-3), 2e-2, 2e-3);
    assertClose(`dg (finite differences, d ${d})`, g.dg, finiteDiff(n.g, n.loss, 1e-3), 2e-2, 2e-3);
    assertClose(`db (finite differences, d ${d})`, g.db, finiteDiff(n.b, n.loss, 1e-3), 2e-2, 2e-3);
    // accumulate = true adds onto what dx held; dg and db add onto theirs.
    const xhat = new Float32Array(4 * d), rstd = new Float32Array(4);
    layerNormForward(n.x, 4, d, n.g, n.b, new Float32Array(4 * d), xhat, rstd);
    const acc = new Float32Array(4 * d).fill(1),
      dg = new Float32Array(d).fill(2),
      db = new Float32Array(d).fill(3);
    layerNormBackward(n.u, 4, d, n.g, xhat, rstd, acc, dg, db, true);
    assertClose(`accumulated dx (d ${d})`, acc, g.dx.map((v) => v + 1), 1e-6, 1e-6);
    assertClose(`accumulated dg (d ${d})`, dg, g.dg.map((v) => v + 2), 1e-6, 1e-6);
    assertClose(`accumulated db (d ${d})`, db, g.db.map((v) => v + 3), 1e-6, 1e-6);
    // dxSum adds the column sums of the final dx (here 1 + dx).
    const sum = new Float32Array(d).fill(5), dx2 = new Float32Array(4 * d).fill(1);
    layerNormBackward(n.u, 4, d, n.g, xhat, rstd, dx2, new Float32Array(d), new Float32Array(d), true, sum);
    const want = Array.from(
      { length: d },
      (_, j) => 5 + [0, 1, 2, 3].reduce((a, r) => a + dx2[r * d + j], 0),
    );
    assertClose(`dxSum (d ${d})`, sum, want, 1e-6, 1e-6);
  }
  const dg = new Float32Array(2);
  layerNormForward(
    new Float32Array(0),
    0,
    2,
    dg,
    dg,
    new Float32Array(0),
    new Float32Array(0),
    new Float32Array(0),
  );
  layerNormBackward(new Float32Array(0), 0, 2, dg, dg, dg, new Float32Array(0), dg, dg);
  assert.deepEqual([...dg], [0, 0]);
});

Deno.test("layerNorm: `add` folds the residual in first; inference (no xhat/rstd, SIMD when d % 4 = 0) gives the same y", () => {
  const rng = new Rng(4);
  for (const [rows, d] of [[5, 9], [7, 8], [1000, 32], [3, 4]]) {
    const x = rand(rng, rows * d, 2), res = rand(rng, rows * d), g = rand(rng, d), b = rand(rng, d);
    // An offset row mean (|mean| ≫ spread) as the residual stream can have.
    for (let j = 0; j < d; j++) x[j] += 50;
    for (const add of [undefined, res]) {
      const sum = add ? x.map((v, i) => v + add[i]) : x.slice();
      const want = new Float32Array(rows * d);
      layerNormForward(sum, rows, d, g, b, want, new Float32Array(rows * d), new Float32Array(rows));
      const xs = x.slice(), y = new Float32Array(rows * d);
      layerNormForward(xs, rows, d, g, b, y, undefined, undefined, { add });
      assert.deepEqual(xs, sum, "x holds x + add afterwards");
      assertClose(`${rows}×${d}${add ? " + add" : ""}`, y, want, 1e-5, 2e-6);
    }
  }
});
