import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs";
import { LSTM_GATES, LstmLayer, type LstmMode, LstmSeqModel } from "../../src/nn/lstm.ts";
import { Params } from "../../src/nn/params.ts";
import { initTf, type Tf } from "../../src/detectors/tf_backend.ts";
import { needBlas, testWhen } from "../_shared.ts";
import { assertClose, finiteDiff, rand, Rng } from "./_grad.ts";

/** Random weights for `cells` (each `[name, nIn]`) and, with `out`, `out.W`/`out.b` for F features. */
function randomParams(rng: Rng, cells: [string, number][], U: number, F?: number): Params {
  const p = new Params();
  for (const [cell, nIn] of cells) {
    for (const g of LSTM_GATES) {
      p.add(`${cell}.W${g}`, [nIn, U], rand(rng, nIn * U, 0.8));
      p.add(`${cell}.U${g}`, [U, U], rand(rng, U * U, 0.8));
      p.add(`${cell}.b${g}`, [U], rand(rng, U, 0.5));
    }
  }
  if (F !== undefined) {
    p.add("out.W", [U, F], rand(rng, U * F, 0.8));
    p.add("out.b", [F], rand(rng, F, 0.3));
  }
  return p;
}

/** The tfjs detector's `#run`, over tensors for one cell's per-gate weights. */
function tfRun(
  tf: Tf,
  w: Record<string, Tensor>,
  cell: string,
  inputs: Tensor[],
  B: number,
  U: number,
): Tensor[] {
  let h: Tensor = tf.zeros([B, U]);
  let c: Tensor = tf.zeros([B, U]);
  const hs: Tensor[] = [];
  const gate = (x: Tensor, g: string) =>
    tf.add(tf.add(tf.matMul(x, w[`${cell}.W${g}`]), tf.matMul(h, w[`${cell}.U${g}`])), w[`${cell}.b${g}`]);
  for (const x of inputs) {
    const i = tf.sigmoid(gate(x, "i"));
    const f = tf.sigmoid(gate(x, "f"));
    const g = tf.tanh(gate(x, "g"));
    const o = tf.sigmoid(gate(x, "o"));
    c = tf.add(tf.mul(f, c), tf.mul(i, g));
    h = tf.mul(o, tf.tanh(c));
    hs.push(h);
  }
  return hs;
}

/** Loss Σ u ⊙ H + Σ v ⊙ h_last of one layer (`repeat`: the same x at every step), native. */
function layerCase(B: number, T: number, nIn: number, U: number, repeat: boolean, seed: number, simd = true) {
  const rng = new Rng(seed);
  const p = randomParams(rng, [["enc", nIn]], U);
  const x = rand(rng, (repeat ? B : T * B) * nIn, 1.5);
  const u = rand(rng, T * B * U), v = rand(rng, B * U);
  const layer = new LstmLayer(p, "enc", nIn, U, { simd });
  const loss = () => {
    const h = layer.forward(x, B, T, repeat);
    let s = 0;
    for (let i = 0; i < h.length; i++) s += u[i] * h[i];
    const lo = (T - 1) * B * U;
    for (let i = 0; i < B * U && T > 0; i++) s += v[i] * h[lo + i];
    return s;
  };
  const grads = () => {
    const l = loss();
    p.zeroGrad();
    const dx = new Float32Array(x.length).fill(NaN);
    layer.backward(u, v, dx);
    return { l, dx };
  };
  return { p, x, u, v, layer, loss, grads };
}

/** Both step kernels: WebAssembly SIMD (U a multiple of 4) and the scalar loops (every U). */
const KERNELS = [{ simd: true, name: "simd" }, { simd: false, name: "scalar" }] as const;

for (const { simd, name } of KERNELS) {
  testWhen(
    [needBlas()],
    `lstm layer [${name}]: forward and gradients match tfjs (1e-4) on odd shapes, both input modes`,
    async () => {
      const tf = await initTf();
      const shapes: [number, number, number, number][] = [
        [3, 5, 7, 5],
        [1, 1, 1, 1],
        [4, 3, 2, 6],
        [2, 12, 3, 4],
        [3, 5, 7, 8],
        [5, 4, 3, 12],
      ];
      for (const [B, T, nIn, U] of shapes) {
        for (const repeat of [false, true]) {
          const what = `B=${B} T=${T} nIn=${nIn} U=${U}${repeat ? " repeat" : ""}`;
          const n = layerCase(B, T, nIn, U, repeat, B * 100 + T * 10 + nIn + (repeat ? 7 : 0), simd);
          assert.equal(n.layer.simd, simd && U % 4 === 0, `${what}: kernel in use`);
          const h = n.layer.forward(n.x, B, T, repeat).slice();
          const g = n.grads();
          const names = n.p.list().map((q) => q.name);
          const vars = n.p.list().map((q) => tf.tensor(q.value, q.shape));
          const xT = tf.tensor2d(n.x, [repeat ? B : T * B, nIn]);
          const uT = tf.tensor2d(n.u, [T * B, U]), vT = tf.tensor2d(n.v, [B, U]);
          const build = (xt: Tensor, ...ws: Tensor[]) => {
            const w: Record<string, Tensor> = {};
            names.forEach((k, i) => w[k] = ws[i]);
            const steps = Array.from(
              { length: T },
              (_, t) => repeat ? xt : tf.slice(xt, [t * B, 0], [B, nIn]),
            );
            return tfRun(tf, w, "enc", steps, B, U);
          };
          const f = (xt: Tensor, ...ws: Tensor[]) => {
            const hs = build(xt, ...ws);
            return tf.add(tf.sum(tf.mul(tf.concat(hs, 0), uT)), tf.sum(tf.mul(hs[T - 1], vT)));
          };
          const hRef = await tf.concat(build(xT, ...vars), 0).data();
          assertClose(`${what} h`, h, hRef, 1e-4, 1e-6);
          const lossRef = (await (f(xT, ...vars) as Tensor).data())[0];
          assertClose(`${what} loss`, [g.l], [lossRef], 1e-4, 1e-6);
          const gs = tf.grads(f as any)([xT, ...vars]);
          assertClose(`${what} dx`, g.dx, await gs[0].data(), 1e-4, 1e-5);
          for (let i = 0; i < names.length; i++) {
            assertClose(`${what} d${names[i]}`, n.p.grad(names[i]), await gs[i + 1].data(), 1e-4, 1e-5);
          }
          tf.dispose([...vars, xT, uT, vT, ...gs]);
        }
      }
    },
  );

  testWhen([needBlas()], `lstm layer [${name}]: gradients match central finite differences`, () => {
    for (const repeat of [false, true]) {
      for (const U of [2, 4]) {
        const n = layerCase(3, 4, 3, U, repeat, repeat ? 5 : 6, simd);
        const { dx } = n.grads();
        const grads = new Map(n.p.list().map((q) => [q.name, q.grad.slice()]));
        for (const q of n.p.list()) {
          assertClose(
            `U=${U} ${q.name} (finite differences)`,
            grads.get(q.name)!,
            finiteDiff(q.value, n.loss, 1e-3),
            2e-2,
            2e-3,
          );
        }
        assertClose(`U=${U} dx (finite differences)`, dx, finiteDiff(n.x, n.loss, 1e-3), 2e-2, 2e-3);
      }
    }
  });

  testWhen(
    [needBlas()],
    `lstm layer [${name}]: an empty batch or no steps gives no output and no gradient`,
    () => {
      for (const [B, T, U] of [[0, 5, 5], [3, 0, 5], [0, 5, 8], [3, 0, 8]]) {
        const n = layerCase(B, T, 7, U, false, 3, simd);
        assert.equal(n.layer.forward(n.x, B, T).length, 0);
        const { dx } = n.grads();
        assert.ok(dx.every((v) => v === 0));
        for (const q of n.p.list()) assert.ok(q.grad.every((v) => v === 0), q.name);
      }
      // After an empty batch the layer still works; buffers grow with the batch.
      const n = layerCase(2, 3, 4, 4, false, 4, simd);
      assert.equal(n.layer.forward(n.x, 2, 3).length, 24);
      const big = layerCase(300, 7, 4, 4, false, 4, simd);
      const h = big.layer.forward(big.x, 300, 7);
      assert.equal(h.length, 300 * 7 * 4);
      assert.ok(h.every((v) => Math.abs(v) < 1));
    },
  );
}

/** The detector's model (both modes) on random data: native loss/grads and a tfjs reference function. */
function seqCase(mode: LstmMode, B: number, T: number, F: number, U: number, seed: number, simd = true) {
  const rng = new Rng(seed);
  const cells: [string, number][] = mode === "autoencoder" ? [["enc", F], ["dec", U]] : [["enc", F]];
  const p = randomParams(rng, cells, U, F);
  const x = rand(rng, T * B * F);
  const mask = new Float32Array(B * T).fill(1);
  // Padded steps: zero inputs, masked out (the first steps of some windows).
  for (let b = 0; b < B; b++) {
    const pad = b % 3 === 1 ? Math.min(T, 2) : b % 3 === 2 ? T : 0;
    for (let t = 0; t < pad; t++) {
      mask[b * T + t] = 0;
      x.fill(0, (t * B + b) * F, (t * B + b + 1) * F);
    }
  }
  const target = rand(rng, B * F);
  const model = new LstmSeqModel(p, mode, F, U, { simd });
  const loss = () => model.lossAndGrad(x, B, T, mask, target, false).loss;
  return { p, x, mask, target, model, loss };
}

function tfSeqLoss(
  tf: Tf,
  mode: LstmMode,
  names: string[],
  ws: Tensor[],
  c: { x: Float32Array; mask: Float32Array; target: Float32Array },
  B: number,
  T: number,
  F: number,
  U: number,
): Tensor {
  const w: Record<string, Tensor> = {};
  names.forEach((k, i) => w[k] = ws[i]);
  const steps = Array.from(
    { length: T },
    (_, t) => tf.tensor2d(c.x.subarray(t * B * F, (t + 1) * B * F), [B, F]),
  );
  const enc = tfRun(tf, w, "enc", steps, B, U);
  const dense = (h: Tensor) => tf.add(tf.matMul(h, w["out.W"]), w["out.b"]);
  if (mode === "predict") {
    return tf.mean(tf.mean(tf.squaredDifference(dense(enc[T - 1]), tf.tensor2d(c.target, [B, F])), 1, true));
  }
  const dec = tfRun(tf, w, "dec", Array.from({ length: T }, () => enc[T - 1]), B, U);
  const err = tf.concat(dec.map((h, k) => tf.mean(tf.squaredDifference(dense(h), steps[k]), 1, true)), 1);
  const m = tf.tensor2d(c.mask, [B, T]);
  return tf.div(tf.sum(tf.mul(err, m)), tf.maximum(tf.sum(m), 1));
}

for (const { simd, name } of KERNELS) {
  for (const mode of ["autoencoder", "predict"] as const) {
    testWhen(
      [needBlas()],
      `lstm ${mode} [${name}]: loss, errors and gradients match tfjs (1e-4)`,
      async () => {
        const tf = await initTf();
        for (const [B, T, F, U] of [[3, 5, 7, 5], [5, 2, 4, 3], [1, 1, 2, 1], [3, 5, 7, 4], [6, 4, 5, 8]]) {
          const what = `${mode} B=${B} T=${T} F=${F} U=${U}`;
          const c = seqCase(mode, B, T, F, U, B + 10 * T + 100 * F + U, simd);
          c.p.zeroGrad();
          const { loss } = c.model.lossAndGrad(c.x, B, T, c.mask, c.target);
          const names = c.p.list().map((q) => q.name);
          const vars = c.p.list().map((q) => tf.tensor(q.value, q.shape));
          const f = (...ws: Tensor[]) => tfSeqLoss(tf, mode, names, ws, c, B, T, F, U);
          assertClose(`${what} loss`, [loss], await f(...vars).data(), 1e-4, 1e-7);
          const gs = tf.grads(f as any)(vars);
          for (let i = 0; i < names.length; i++) {
            assertClose(`${what} d${names[i]}`, c.p.grad(names[i]), await gs[i].data(), 1e-4, 1e-6);
          }
          // Per-window errors agree with the loss.
          const e = new Float32Array(mode === "autoencoder" ? B * T : B);
          c.model.errors(c.x, B, T, c.target, e);
          let s = 0, n = 0;
          for (let i = 0; i < e.length; i++) {
            const m = mode === "autoencoder" ? c.mask[i] : 1;
            s += m * e[i];
            n += m;
          }
          assertClose(`${what} errors`, [s / Math.max(n, 1)], [loss], 1e-5, 1e-8);
          // The last step alone (what the detector's default windowScore reads) is the same value.
          const last = new Float32Array(e.length).fill(NaN);
          c.model.errors(c.x, B, T, c.target, last, true);
          for (let b = 0; b < B; b++) {
            const i = mode === "autoencoder" ? b * T + T - 1 : b;
            assert.equal(last[i], e[i], `${what} last-step error of window ${b}`);
          }
          tf.dispose([...vars, ...gs]);
        }
      },
    );
  }

  testWhen(
    [needBlas()],
    `lstm autoencoder/predict [${name}]: gradients match finite differences; empty batch`,
    () => {
      for (const mode of ["autoencoder", "predict"] as const) {
        for (const U of [2, 4]) {
          const c = seqCase(mode, 3, 3, 3, U, mode === "predict" ? 11 : 12, simd);
          c.p.zeroGrad();
          c.model.lossAndGrad(c.x, 3, 3, c.mask, c.target);
          const grads = new Map(c.p.list().map((q) => [q.name, q.grad.slice()]));
          for (const q of c.p.list()) {
            assertClose(
              `${mode} U=${U} ${q.name} (finite differences)`,
              grads.get(q.name)!,
              finiteDiff(q.value, c.loss, 1e-3),
              2e-2,
              2e-4,
            );
          }
          const e = seqCase(mode, 0, 4, 3, U, 13, simd);
          e.p.zeroGrad();
          assert.equal(e.model.lossAndGrad(e.x, 0, 4, e.mask, e.target).loss, 0);
          for (const q of e.p.list()) assert.ok(q.grad.every((v) => v === 0), `${mode} empty ${q.name}`);
        }
      }
    },
  );
}

testWhen(
  [needBlas()],
  "lstm: the SIMD and scalar kernels agree (1e-5) at the detector's default size",
  () => {
    const B = 37, T = 10, F = 40, U = 32;
    const a = seqCase("autoencoder", B, T, F, U, 99, true), b = seqCase("autoencoder", B, T, F, U, 99, false);
    assert.ok(a.model.enc.simd && !b.model.enc.simd);
    a.p.zeroGrad();
    b.p.zeroGrad();
    const la = a.model.lossAndGrad(a.x, B, T, a.mask, a.target).loss;
    const lb = b.model.lossAndGrad(b.x, B, T, b.mask, b.target).loss;
    assertClose("loss", [la], [lb], 1e-5, 0);
    for (const q of a.p.list()) assertClose(q.name, q.grad, b.p.grad(q.name), 1e-4, 1e-6);
  },
);
