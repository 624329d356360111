import assert from "node:assert/strict";
import {
  actBackwardBias,
  type Activation,
  activationBackward,
  activationForward,
  ACTIVATIONS,
  denseActForward,
  denseBackward,
  denseForward,
  dropoutBackward,
  dropoutForward,
  mseLoss,
} from "../../src/nn/ops.ts";
import { initTf } from "../../src/detectors/tf_backend.ts";
import { activate } from "../../src/detectors/_tf_nn.ts";
import { needBlas, testWhen } from "../_shared.ts";
import { assertClose, finiteDiff, rand, Rng } from "./_grad.ts";

/** Loss = Σ u ⊙ act(x·W + b) for a fixed random u: its gradients exercise every path. */
function nativeDense(act: Activation, rows: number, nIn: number, nOut: number, seed: number) {
  const rng = new Rng(seed);
  const x = rand(rng, rows * nIn, 2),
    w = rand(rng, nIn * nOut),
    b = rand(rng, nOut),
    u = rand(rng, rows * nOut);
  const z = new Float32Array(rows * nOut), y = new Float32Array(rows * nOut);
  const loss = () => {
    denseForward(x, rows, nIn, w, b, nOut, z);
    activationForward(act, z, y, rows * nOut);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += u[i] * y[i];
    return s;
  };
  const grads = () => {
    loss();
    const dz = new Float32Array(rows * nOut);
    activationBackward(act, z, y, u, dz, rows * nOut);
    const dw = new Float32Array(nIn * nOut), db = new Float32Array(nOut), dx = new Float32Array(rows * nIn);
    denseBackward(x, rows, nIn, w, nOut, dz, dw, db, dx);
    return { dw, db, dx };
  };
  return { x, w, b, u, y, loss, grads };
}

for (const act of ACTIVATIONS) {
  testWhen(
    [needBlas()],
    `dense + ${act}: forward and gradients match tfjs (1e-4) on odd shapes`,
    async () => {
      const tf = await initTf();
      for (const [rows, nIn, nOut] of [[1, 1, 1], [3, 7, 5], [33, 13, 9]]) {
        const n = nativeDense(act, rows, nIn, nOut, rows * 31 + nIn);
        const g = n.grads();
        const [x, w, b, u] = [
          tf.tensor2d(n.x, [rows, nIn]),
          tf.tensor2d(n.w, [nIn, nOut]),
          tf.tensor1d(n.b),
          tf.tensor2d(n.u, [rows, nOut]),
        ];
        const f = (x: any, w: any, b: any) =>
          tf.sum(tf.mul(u, activate(tf, tf.add(tf.matMul(x, w), b), act)));
        const [gx, gw, gb] = tf.grads(f)([x, w, b]);
        const fwd = activate(tf, tf.add(tf.matMul(x, w), b), act);
        assertClose(`${act} forward`, n.y, await fwd.data(), 1e-4, 1e-6);
        assertClose(`${act} dx`, g.dx, await gx.data(), 1e-4, 1e-5);
        assertClose(`${act} dW`, g.dw, await gw.data(), 1e-4, 1e-5);
        assertClose(`${act} db`, g.db, await gb.data(), 1e-4, 1e-5);
        tf.dispose([x, w, b, u, gx, gw, gb, fwd]);
      }
    },
  );
}

testWhen([needBlas()], "dense + activations: gradients match central finite differences", () => {
  for (const act of ACTIVATIONS) {
    // relu/elu have kinks at 0: random inputs almost surely avoid them at this step size.
    const n = nativeDense(act, 4, 5, 3, 99);
    const g = n.grads();
    assertClose(`${act} dW (finite differences)`, g.dw, finiteDiff(n.w, n.loss, 1e-3), 2e-2, 2e-3);
    assertClose(`${act} db (finite differences)`, g.db, finiteDiff(n.b, n.loss, 1e-3), 2e-2, 2e-3);
    assertClose(`${act} dx (finite differences)`, g.dx, finiteDiff(n.x, n.loss, 1e-3), 2e-2, 2e-3);
  }
});

testWhen([needBlas()], "dense: an empty batch leaves gradients untouched and writes nothing", () => {
  const w = new Float32Array([1, 2]), dw = new Float32Array(2), db = new Float32Array(1);
  denseForward(new Float32Array(0), 0, 2, w, new Float32Array([1]), 1, new Float32Array(0));
  denseBackward(new Float32Array(0), 0, 2, w, 1, new Float32Array(0), dw, db, new Float32Array(0));
  assert.deepEqual([...dw, ...db], [0, 0, 0]);
});

Deno.test("mseLoss: value and gradient (2(p−t)/n · scale); empty input is 0", () => {
  const g = new Float32Array(2);
  assert.equal(mseLoss(new Float32Array([1, 3]), new Float32Array([0, 0]), 2, g, 0.5), 5);
  assert.deepEqual([...g], [0.5, 1.5]);
  assert.equal(mseLoss(new Float32Array(0), new Float32Array(0), 0), 0);
});

Deno.test("dropout: kept values scaled by 1/(1−rate), rate ≈ share dropped, backward applies the same mask", () => {
  const n = 20000;
  const x = new Float32Array(n).fill(1), mask = new Float32Array(n);
  dropoutForward(x, mask, n, 0.25, new Rng(5));
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    if (x[i] === 0) dropped++;
    else assert.ok(Math.abs(x[i] - 4 / 3) < 1e-6, `kept value ${x[i]}`);
  }
  assert.ok(Math.abs(dropped / n - 0.25) < 0.02, `dropped share ${dropped / n}`);
  const dy = new Float32Array(n).fill(2);
  dropoutBackward(dy, mask, n);
  for (let i = 0; i < n; i++) assert.equal(dy[i], x[i] * 2);
  const keep = new Float32Array(3).fill(5), m = new Float32Array(3);
  dropoutForward(keep, m, 3, 0, new Rng(1));
  assert.deepEqual([...keep, ...m], [5, 5, 5, 1, 1, 1]);
});

Deno.test("activations: extreme inputs stay finite (sigmoid/gelu never overflow exp)", () => {
  const z = new Float32Array([-1e30, -100, 0, 100, 1e30]);
  for (const act of ACTIVATIONS) {
    const y = new Float32Array(5), d = new Float32Array(5);
    activationForward(act, z, y, 5);
    activationBackward(act, z, y, new Float32Array(5).fill(1), d, 5);
    for (let i = 0; i < 5; i++) {
      assert.ok(!Number.isNaN(y[i]) && !Number.isNaN(d[i]), `${act}(${z[i]}) = ${y[i]}, d = ${d[i]}`);
    }
  }
});

testWhen([needBlas()], "fused kernels: denseActForward and actBackwardBias equal the unfused passes", () => {
  const rng = new Rng(21);
  const rows = 9, nIn = 6, nOut = 5, n = rows * nOut;
  const x = rand(rng, rows * nIn, 2), w = rand(rng, nIn * nOut), b = rand(rng, nOut), dy = rand(rng, n);
  for (const act of ACTIVATIONS) {
    const z1 = new Float32Array(n),
      y1 = new Float32Array(n),
      z2 = new Float32Array(n),
      y2 = new Float32Array(n);
    denseForward(x, rows, nIn, w, b, nOut, z1);
    activationForward(act, z1, y1, n);
    denseActForward(x, rows, nIn, w, b, nOut, act, z2, y2);
    assertClose(`${act} z`, z2, z1, 1e-6, 1e-7);
    assertClose(`${act} y`, y2, y1, 1e-6, 1e-7);
    const dz1 = new Float32Array(n), db1 = new Float32Array(nOut);
    activationBackward(act, z1, y1, dy, dz1, n);
    for (let i = 0; i < n; i++) db1[i % nOut] += dz1[i];
    const dz2 = new Float32Array(n), db2 = new Float32Array(nOut).fill(99);
    actBackwardBias(act, z1, y1, dy, dz2, rows, nOut, db2, false);
    assertClose(`${act} dz`, dz2, dz1, 1e-6, 1e-7);
    assertClose(`${act} db (overwritten, not added to 99)`, db2, db1, 1e-5, 1e-6);
  }
});
