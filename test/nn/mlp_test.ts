import assert from "node:assert/strict";
import { Mlp } from "../../src/nn/mlp.ts";
import { Params } from "../../src/nn/params.ts";
import { mseLoss } from "../../src/nn/ops.ts";
import { initTf } from "../../src/detectors/tf_backend.ts";
import { activate } from "../../src/detectors/_tf_nn.ts";
import { needBlas, testWhen } from "../_shared.ts";
import { assertClose, finiteDiff, rand, Rng } from "./_grad.ts";

function net(sizes: number[], seed: number): Params {
  const rng = new Rng(seed);
  const p = new Params();
  for (let l = 0; l + 1 < sizes.length; l++) {
    p.add(`W${l}`, [sizes[l], sizes[l + 1]], rand(rng, sizes[l] * sizes[l + 1], 0.6));
    p.add(`b${l}`, [sizes[l + 1]], rand(rng, sizes[l + 1], 0.1));
  }
  return p;
}

testWhen(
  [needBlas()],
  "Mlp: autoencoder-shaped MSE loss and every weight gradient match tfjs (1e-4)",
  async () => {
    const tf = await initTf();
    for (const act of ["relu", "tanh", "gelu"] as const) {
      const sizes = [7, 5, 3, 5, 7], rows = 11;
      const p = net(sizes, 4);
      const x = rand(new Rng(8), rows * 7);
      const mlp = new Mlp(p, sizes, act);
      const grad = new Float32Array(rows * 7);
      const loss = mseLoss(mlp.forward(x, rows), x, rows * 7, grad);
      p.zeroGrad();
      mlp.backward(grad);
      const vars = p.list().map((q) => tf.variable(tf.tensor(q.value, q.shape)));
      const xt = tf.tensor2d(x, [rows, 7]);
      const { value, grads } = tf.variableGrads(() => {
        let h: any = xt;
        for (let l = 0; l < 4; l++) {
          h = tf.add(tf.matMul(h, vars[2 * l]), vars[2 * l + 1]);
          if (l < 3) h = activate(tf, h, act);
        }
        return tf.mean(tf.squaredDifference(h, xt)) as any;
      }, vars);
      assertClose(`${act} loss`, [loss], await value.data(), 1e-5, 1e-7);
      const list = p.list();
      for (let i = 0; i < list.length; i++) {
        assertClose(`${act} d${list[i].name}`, list[i].grad, await grads[vars[i].name].data(), 1e-4, 1e-6);
      }
      tf.dispose([...vars, xt, value, ...Object.values(grads)]);
    }
  },
);

testWhen([needBlas()], "Mlp: gradients with dropout match finite differences under the same mask", () => {
  const sizes = [4, 6, 4], rows = 5;
  const p = net(sizes, 9);
  const mlp = new Mlp(p, sizes, "tanh");
  const x = rand(new Rng(2), rows * 4);
  // Same seed for every evaluation → the same dropout mask, so the loss is a smooth function of the weights.
  const loss = () => mseLoss(mlp.forward(x, rows, { rate: 0.3, rng: new Rng(77) }), x, rows * 4);
  const grad = new Float32Array(rows * 4);
  mseLoss(mlp.forward(x, rows, { rate: 0.3, rng: new Rng(77) }), x, rows * 4, grad);
  p.zeroGrad();
  mlp.backward(grad);
  const w0 = p.get("W0"), g0 = p.grad("W0").slice();
  assertClose("dW0 with dropout", g0, finiteDiff(w0, loss, 1e-3), 2e-2, 1e-4);
  const dropped = mlp.forward(x, rows, { rate: 0.3, rng: new Rng(77) }).slice();
  const plain = mlp.forward(x, rows).slice();
  assert.notDeepEqual([...dropped], [...plain], "dropout changed the output");
});

testWhen(
  [needBlas()],
  "Mlp: a larger batch after a smaller one regrows its buffers; output views stay correct",
  () => {
    const sizes = [3, 2, 3];
    const p = net(sizes, 1);
    const mlp = new Mlp(p, sizes, "relu");
    const x = rand(new Rng(1), 100 * 3);
    const big = mlp.forward(x, 100).slice();
    const small = mlp.forward(x.subarray(0, 6), 2).slice();
    assert.equal(small.length, 6);
    assertClose("first rows agree", small, big.subarray(0, 6), 1e-6, 1e-7);
  },
);
