import assert from "node:assert/strict";
import { CausalLm, type CausalLmConfig, causalLmLayout } from "../../src/nn/transformer.ts";
import { Params } from "../../src/nn/params.ts";
import { LAYER_NORM_EPS } from "../../src/nn/norm.ts";
import { initTf, type Tf } from "../../src/detectors/tf_backend.ts";
import { needBlas, testWhen } from "../_shared.ts";
import { assertClose, finiteDiff, rand, Rng } from "./_grad.ts";

/** Odd sizes on purpose: d 6 over 3 heads, T 5, buckets of padded vocabularies. */
const CFG: CausalLmConfig = {
  seqLen: 5,
  width: 6,
  heads: 3,
  layers: 2,
  mlp: 10,
  context: 0,
  tokens: 12,
  vocab: [3, 4, 2, 7, 5],
  buckets: [{ start: 0, len: 2, K: 4 }, { start: 2, len: 1, K: 2 }, { start: 3, len: 2, K: 7 }],
};

function params(cfg: CausalLmConfig, seed: number): Params {
  const rng = new Rng(seed);
  const p = new Params();
  for (const [name, shape] of causalLmLayout(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    // Gains near 1, everything else of order 0.5: every path carries signal.
    const v = rand(rng, n, 0.5);
    if (/\.g$/.test(name)) { for (let i = 0; i < n; i++) v[i] += 1; }
    p.add(name, shape, v);
  }
  return p;
}

function batch(cfg: CausalLmConfig, B: number, seed: number) {
  const rng = new Rng(seed), T = cfg.seqLen;
  const inp = Int32Array.from({ length: B * T }, () => rng.int(cfg.tokens));
  const tgt = new Int32Array(T * B);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) tgt[t * B + b] = rng.int(cfg.vocab[t]);
  return { inp, tgt };
}

/**
 * The same network on tfjs, written op for op as flow-lm's tfjs path (training form):
 * per-position surprisal [T, B].
 */
function tfNll(
  tf: Tf,
  cfg: CausalLmConfig,
  w: Map<string, any>,
  inp: Int32Array,
  tgt: Int32Array,
  B: number,
) {
  const { seqLen: T, width: d, heads: H, layers: L, context } = cfg, hd = d / H;
  const ln = (x: any, g: any, b: any) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, LAYER_NORM_EPS))), g), b);
  };
  const dense = (a: any, n: string) => tf.add(tf.matMul(a, w.get(n + ".W")), w.get(n + ".b"));
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      m[i * T + j] = cfg.causal === false || (j <= i && (context === 0 || i - j < context)) ? 0 : -1e9;
    }
  }
  const mask = tf.tensor2d(m, [T, T]);
  const heads = (t: any) =>
    tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]);
  const oh = tf.oneHot(tf.tensor1d(inp, "int32"), cfg.tokens).toFloat();
  let x: any = tf.reshape(tf.add(tf.reshape(tf.matMul(oh, w.get("tokEmb")), [B, T, d]), w.get("posEmb")), [
    B * T,
    d,
  ]);
  for (let l = 0; l < L; l++) {
    const p = `l${l}.`;
    const h1 = ln(x, w.get(p + "ln1.g"), w.get(p + "ln1.b"));
    const qk = tf.matMul(heads(dense(h1, p + "q")), heads(dense(h1, p + "k")), false, true);
    const att = tf.softmax(tf.add(tf.mul(qk, 1 / Math.sqrt(hd)), mask));
    const o = tf.reshape(
      tf.transpose(tf.reshape(tf.matMul(att, heads(dense(h1, p + "v"))), [B, H, T, hd]), [0, 2, 1, 3]),
      [B * T, d],
    );
    x = tf.add(x, dense(o, p + "o"));
    const f1 = dense(ln(x, w.get(p + "ln2.g"), w.get(p + "ln2.b")), p + "fc1");
    x = tf.add(x, dense(tf.mul(f1, tf.sigmoid(tf.mul(f1, 1.702))), p + "fc2"));
  }
  x = ln(x, w.get("lnf.g"), w.get("lnf.b"));
  const byPos = tf.transpose(tf.reshape(x, [B, T, d]), [1, 0, 2]);
  const parts = cfg.buckets!.map((bk, i) => {
    const om = new Float32Array(bk.len * bk.K);
    for (let t = 0; t < bk.len; t++) {
      for (let k = cfg.vocab[bk.start + t]; k < bk.K; k++) om[t * bk.K + k] = -1e9;
    }
    const h = tf.slice(byPos, [bk.start, 0, 0], [bk.len, B, d]);
    const logits = tf.add(
      tf.add(tf.matMul(h, w.get(`head${i}.W`)), w.get(`head${i}.b`)),
      tf.tensor3d(om, [bk.len, 1, bk.K]),
    );
    const logp = tf.sub(logits, tf.logSumExp(logits, -1, true));
    const y = tf.tensor2d(tgt.subarray(bk.start * B, (bk.start + bk.len) * B), [bk.len, B], "int32");
    return tf.neg(tf.sum(tf.mul(tf.oneHot(y, bk.K), logp), -1));
  });
  return tf.concat(parts, 0);
}

// Width 6 runs the layer norms and embeddings in JS; width 8 (a multiple of 4) in WebAssembly SIMD.
// The bidirectional runs (causal false: the masked-field objective) weight the loss to some positions.
for (
  const [context, width, heads, causal] of [
    [0, 6, 3, true],
    [2, 6, 3, true],
    [0, 8, 2, true],
    [2, 8, 4, true],
    [0, 6, 3, false],
    [0, 8, 2, false],
  ] as const
) {
  testWhen(
    [needBlas()],
    `CausalLm (${
      causal ? `context ${context}` : "bidirectional, weighted loss"
    }, width ${width}): per-position surprisal and every weight gradient match tfjs (1e-4)`,
    async () => {
      const tf = await initTf();
      const cfg = { ...CFG, context, width, heads, causal };
      const B = 3;
      const p = params(cfg, 21 + context);
      const { inp, tgt } = batch(cfg, B, 5);
      // Weights 0, 1 or 2 a position (position-major), a few of them 0 as masked-out positions are.
      const wRng = new Rng(13);
      const weights = causal ? undefined : Float32Array.from({ length: B * cfg.seqLen }, () => wRng.int(3));
      const lm = new CausalLm(p, cfg);
      const nll = lm.forward(inp, tgt, B).slice();
      p.zeroGrad();
      const loss = lm.trainStep(inp, tgt, B, undefined, weights);
      const vars = new Map(
        p.list().map((
          q,
        ) => [q.name, tf.variable(tf.tensor(q.value, q.shape), true, `t${context}.${width}.${q.name}`)]),
      );
      const ref = tf.tidy(() => tfNll(tf, cfg, vars, inp, tgt, B));
      assertClose("surprisal", nll, await ref.data(), 1e-4, 1e-5);
      const w = weights ? tf.tensor2d(weights, [cfg.seqLen, B]) : undefined;
      const tfLoss = () => {
        const n = tfNll(tf, cfg, vars, inp, tgt, B);
        return (w ? tf.div(tf.sum(tf.mul(n, w)), tf.sum(w)) : tf.mean(n)) as any;
      };
      const { value, grads } = tf.variableGrads(tfLoss, [...vars.values()]);
      assertClose("loss", [loss], await value.data(), 1e-5, 1e-6);
      for (const q of p.list()) {
        const g = grads[vars.get(q.name)!.name];
        assertClose(`d${q.name}`, q.grad, await g.data(), 1e-4, 2e-6);
      }
      // Inference (one shared buffer set for every layer) gives the training forward's values.
      assertClose("inference vs training forward", lm.forward(inp, tgt, B), nll, 1e-6, 1e-7);
      tf.dispose([...vars.values(), ref, value, ...Object.values(grads), ...(w ? [w] : [])]);
    },
  );
}

testWhen([needBlas()], "CausalLm: gradients match finite differences, with and without dropout", () => {
  const B = 2;
  for (const [rate, width] of [[0, 6], [0.3, 6], [0, 8], [0.3, 8]]) {
    const cfg = { ...CFG, context: 3, width, heads: 2 };
    const p = params(cfg, 8);
    const { inp, tgt } = batch(cfg, B, 9);
    const lm = new CausalLm(p, cfg);
    // A fresh generator per pass: every forward draws the same dropout masks.
    const loss = () => {
      const nll = lm.forward(inp, tgt, B, { training: true, dropout: { rate, rng: new Rng(4) } });
      return nll.reduce((a, b) => a + b, 0) / nll.length;
    };
    p.zeroGrad();
    lm.trainStep(inp, tgt, B, { rate, rng: new Rng(4) });
    for (
      const name of [
        "posEmb",
        "l0.ln1.g",
        "l0.q.W",
        "l0.k.b",
        "l1.v.W",
        "l1.fc1.b",
        "l1.fc2.W",
        "l0.fc2.b",
        "l1.o.b",
        "lnf.b",
        "head2.W",
        "head1.b",
      ]
    ) {
      const fd = finiteDiff(p.get(name), loss, 1e-3);
      assertClose(
        `d${name} (finite differences, dropout ${rate}, width ${width})`,
        p.grad(name),
        fd,
        3e-2,
        3e-3,
      );
    }
  }
});

testWhen(
  [needBlas()],
  "CausalLm: dropout changes the training loss only; batches of any size reuse buffers",
  () => {
    const p = params(CFG, 3);
    const lm = new CausalLm(p, CFG);
    const big = batch(CFG, 7, 1), small = batch(CFG, 2, 2);
    const ref = lm.forward(small.inp, small.tgt, 2).slice();
    lm.forward(big.inp, big.tgt, 7, { training: true });
    assertClose("after a bigger batch", lm.forward(small.inp, small.tgt, 2), ref, 1e-6, 1e-7);
    const dropped = lm.forward(small.inp, small.tgt, 2, {
      training: true,
      dropout: { rate: 0.5, rng: new Rng(1) },
    });
    assert.ok(dropped.some((v, i) => Math.abs(v - ref[i]) > 1e-4), "dropout changes the training forward");
    assertClose(
      "inference ignores dropout",
      lm.forward(small.inp, small.tgt, 2, { dropout: { rate: 0.5, rng: new Rng(1) } }),
      ref,
      1e-6,
      1e-7,
    );
  },
);

testWhen(
  [needBlas()],
  "CausalLm: an empty batch scores nothing and leaves gradients at 0; bad inputs are refused",
  () => {
    const p = params(CFG, 3);
    const lm = new CausalLm(p, CFG);
    assert.equal(lm.forward(new Int32Array(0), new Int32Array(0), 0).length, 0);
    // The hidden states follow the last call: B·T rows of width values, none after an empty batch.
    const one = batch(CFG, 1, 1);
    lm.forward(one.inp, one.tgt, 1);
    assert.equal(lm.hidden.length, CFG.seqLen * CFG.width);
    lm.forward(new Int32Array(0), new Int32Array(0), 0);
    assert.equal(lm.hidden.length, 0);
    p.zeroGrad();
    assert.equal(lm.trainStep(new Int32Array(0), new Int32Array(0), 0), 0);
    assert.equal(p.gradNorm(), 0);
    assert.equal(lm.meanLoss(new Int32Array(0), new Int32Array(0), 0), 0);
    const { inp, tgt } = batch(CFG, 1, 1);
    const badTgt = tgt.slice();
    badTgt[2] = 2; // position 2 has a vocabulary of 2
    assert.throws(
      () => lm.forward(inp, badTgt, 1),
      /target 2 at position 2, row 0 is outside its vocabulary of 2/,
    );
    assert.throws(() => lm.forward(inp.subarray(1), tgt, 1), /1 sequences need 5 inputs/);
    assert.throws(() => lm.backward(), /call forward with \{ training: true \} first/);
    assert.throws(
      () => new CausalLm(p, { ...CFG, buckets: [{ start: 0, len: 5, K: 4 }] }),
      /position 3 has vocabulary 7, expected 1…4/,
    );
    assert.throws(() => new CausalLm(p, { ...CFG, width: 8, heads: 3 }), /multiple of heads 3/);
    assert.throws(
      () => new CausalLm(p, { ...CFG, context: 2, causal: false }),
      /context window \(2\) needs causal attention/,
    );
    const weights = new Float32Array(5);
    assert.throws(
      () => lm.trainStep(inp, tgt, 1, undefined, weights.subarray(1)),
      /expected 5 loss weights, found 4/,
    );
    weights[3] = -1;
    assert.throws(
      () => lm.meanLoss(inp, tgt, 1, weights),
      /loss weight 3 is -1, expected a finite number ≥ 0/,
    );
    // All weights 0: nothing to learn from, loss 0 and no gradient.
    p.zeroGrad();
    assert.equal(lm.trainStep(inp, tgt, 1, undefined, new Float32Array(5)), 0);
    assert.equal(p.gradNorm(), 0);
    assert.throws(
      () => new CausalLm(p, { ...CFG, mlp: 11 }),
      /l0\.fc1\.W has shape \[6,10\], expected \[6,11\]/,
    );
    // Default buckets: one per position, K = its vocabulary.
    const names = causalLmLayout({ ...CFG, buckets: undefined }).filter(([n]) => n.startsWith("head"));
    assert.deepEqual(names.slice(0, 2), [["head0.W", [1, 6, 3]], ["head0.b", [1, 1, 3]]]);
  },
);
