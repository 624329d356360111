/**
 * A GPT-style causal transformer language model on the native engine:
 * forward pass, per-position negative log-likelihood and a hand-written
 * backward pass, every product through sgemm. It is flow-lm's network
 * (src/detectors/flow_lm.ts), written so both engines compute the same
 * maths from the same weights:
 *
 * token + position embeddings → `layers` pre-norm blocks (LayerNorm →
 * multi-head causal self-attention → output projection → (dropout) →
 * residual; LayerNorm → dense → GELU x·σ(1.702x) → dense → (dropout) →
 * residual) → final LayerNorm → per-position output heads. Position `t`
 * scores only its own vocabulary of `vocab[t]` words: positions are grouped
 * into buckets that share a padded size `K`, with weights `head{i}.W`
 * [len, d, K] and `head{i}.b` [len, 1, K]; logits past `vocab[t]` are masked
 * out (probability exactly 0, as tfjs's −1e9 gives). The loss is the mean
 * token surprisal (log-softmax cross-entropy, nats), or its weighted mean
 * when the caller gives per-position weights.
 *
 * With `causal: false` the same network is a bidirectional masked-token
 * model (BERT-style): every position attends to every other one, the
 * caller replaces some inputs by a mask token and weights the loss to the
 * masked positions (flow-lm's `objective=masked`).
 *
 * Weight names and shapes are flow-lm's tfjs layout (`tokEmb`, `posEmb`,
 * `l{l}.ln1.g`, `l{l}.q.W`, …, `lnf.b`, `head{i}.W`), so a model saved by
 * either engine loads in the other. Activations kept for the backward pass
 * live in buffers allocated once per model and batch size (they grow to the
 * largest batch seen); inference reuses one layer's buffers for every
 * layer, so scoring needs no per-layer memory.
 *
 * Where a training step's time goes, and why the code is shaped this way
 * (flow-lm 1 × 32, batch 128, T 39, one BLAS thread, profiled): the
 * products are most of it (≈ 6.5 of 10.5 ms), and every elementwise pass
 * runs in simd.ts — layer norms forward and backward, GELU, both softmaxes,
 * the embedding and the output log-softmax — because the JS loops they
 * replaced cost 2–6 ns a value here (≈ 8 of 14.6 ms before). q, k and v are
 * one `[d, 3d]` product (attention reads them at stride 3d); GELU keeps
 * σ(1.702·f1) so its backward has no exponential; bias gradients come from
 * the passes that already read the rows (layer norm's backward for o and
 * fc2) or from `1ᵀ·dz` through sgemm; each position's logits are padded to
 * whole SIMD vectors (`K4`).
 *
 * Inputs: `inp` holds `B · T` token ids (sequence `b` at `b·T … b·T+T−1`,
 * ids index `tokEmb`), `tgt` the `T · B` targets position-major (position
 * `t`, sequence `b` at `t·B + b`; a target indexes position `t`'s own
 * vocabulary) — the layout flow-lm batches in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CausalLm, causalLmLayout } from "./transformer.ts";
 * import { Params } from "./params.ts";
 * import { blasAvailable } from "./blas.ts";
 * import { Rng } from "../util/random.ts";
 * if (blasAvailable()) {
 *   const cfg = { seqLen: 2, width: 4, heads: 2, layers: 1, mlp: 8, context: 0, tokens: 5, vocab: [3, 2] };
 *   const rng = new Rng(1);
 *   const p = new Params();
 *   for (const [name, shape] of causalLmLayout(cfg)) {
 *     const n = shape.reduce((a, b) => a * b, 1);
 *     p.add(name, shape, Float32Array.from({ length: n }, () => rng.normal(0, 0.1)));
 *   }
 *   const lm = new CausalLm(p, cfg);
 *   const nll = lm.forward(Int32Array.from([4, 0]), Int32Array.from([2, 1]), 1);
 *   assert.equal(nll.length, 2);
 *   assert.ok(nll[0] > 0 && nll[1] > 0); // surprisal in nats
 *   const loss = lm.trainStep(Int32Array.from([4, 0]), Int32Array.from([2, 1]), 1);
 *   assert.ok(Math.abs(loss - (nll[0] + nll[1]) / 2) < 1e-6);
 *   assert.ok(p.gradNorm() > 0);
 * }
 * ```
 * @module
 */
import type { Rng } from "../util/random.ts";
import {
  attentionBackward,
  attentionForward,
  type AttentionShape,
  probsPerSequence,
  probsStride,
} from "./attention.ts";
import { sgemm } from "./blas.ts";
import { embedBackward, embedForward } from "./embedding.ts";
import { layerNormBackward, layerNormForward } from "./norm.ts";
import { denseForward as dense, dropoutBackward, dropoutForward, fillRows } from "./ops.ts";
import { geluBackward, geluForward, logSoftmaxRows } from "./simd.ts";
import type { Params } from "./params.ts";

/** Sequences whose attention weights inference computes at once (bounds its scratch). */
const INFER_GROUP = 32;

/** Sizes of a {@link CausalLm}. */
export interface CausalLmConfig {
  /** Tokens per sequence (T). */
  seqLen: number;
  /** Model width (d). */
  width: number;
  heads: number;
  layers: number;
  /** MLP hidden size. */
  mlp: number;
  /** Tokens each position attends to, itself included (0 = all earlier ones). */
  context: number;
  /** Causal attention (default true); false: bidirectional, every position sees all (context must be 0). */
  causal?: boolean;
  /** Rows of `tokEmb` (input vocabulary, BOS included). */
  tokens: number;
  /** Output vocabulary size per sequence position. */
  vocab: readonly number[];
  /**
   * Output buckets in sequence order: positions `start … start+len−1` share a
   * head of padded size `K` (≥ each position's vocabulary). Default: one
   * bucket per position with `K = vocab[t]`.
   */
  buckets?: readonly OutputBucket[];
}

/** Positions that share one output head. */
export interface OutputBucket {
  start: number;
  len: number;
  K: number;
}

/** Dropout on the residual branches while training. */
export interface DropoutOption {
  rate: number;
  rng: Rng;
}

/** Weight names and shapes of a {@link CausalLm} in flow-lm's order (values are the caller's). */
export function causalLmLayout(cfg: CausalLmConfig): [name: string, shape: number[]][] {
  const d = cfg.width, m = cfg.mlp, T = cfg.seqLen;
  const out: [string, number[]][] = [["tokEmb", [cfg.tokens, d]], ["posEmb", [T, d]]];
  for (let l = 0; l < cfg.layers; l++) {
    out.push([`l${l}.ln1.g`, [d]], [`l${l}.ln1.b`, [d]]);
    for (const w of ["q", "k", "v", "o"]) out.push([`l${l}.${w}.W`, [d, d]], [`l${l}.${w}.b`, [d]]);
    out.push([`l${l}.ln2.g`, [d]], [`l${l}.ln2.b`, [d]]);
    out.push([`l${l}.fc1.W`, [d, m]], [`l${l}.fc1.b`, [m]], [`l${l}.fc2.W`, [m, d]], [`l${l}.fc2.b`, [d]]);
  }
  out.push(["lnf.g", [d]], ["lnf.b", [d]]);
  bucketsOf(cfg).forEach((b, i) =>
    out.push([`head${i}.W`, [b.len, d, b.K]], [`head${i}.b`, [b.len, 1, b.K]])
  );
  return out;
}

function bucketsOf(cfg: CausalLmConfig): readonly OutputBucket[] {
  return cfg.buckets ?? cfg.vocab.map((K, start) => ({ start, len: 1, K }));
}

/** Value and gradient of one weight. */
interface W {
  v: Float32Array;
  g: Float32Array;
}

interface LayerWeights {
  ln1g: W;
  ln1b: W;
  q: [W, W];
  k: [W, W];
  v: [W, W];
  o: [W, W];
  ln2g: W;
  ln2b: W;
  fc1: [W, W];
  fc2: [W, W];
}

/** Activations of one block (kept per layer while training; one shared set for inference). */
interface LayerActs {
  xhat1: Float32Array;
  rstd1: Float32Array;
  h1: Float32Array;
  /** q, k and v side by side, `[N, 3d]` (one sgemm projects all three). */
  qkv: Float32Array;
  probs: Float32Array;
  att: Float32Array;
  mask1: Float32Array;
  xhat2: Float32Array;
  rstd2: Float32Array;
  h2: Float32Array;
  f1: Float32Array;
  g: Float32Array;
  /** σ(1.702·f1), kept by the training forward so GELU's backward needs no exponential (empty for inference). */
  sig: Float32Array;
  mask2: Float32Array;
}

/** Row stride of an output head's logits: `K` rounded up to whole SIMD vectors. */
function padK(K: number): number {
  return Math.ceil(K / 4) * 4;
}

/** Log-softmax of output rows in plain JS (no WebAssembly SIMD): as simd.ts `logSoftmaxRows`. */
function logSoftmaxLoops(
  lg: Float32Array,
  rows: number,
  K4: number,
  V: number,
  keep: boolean,
  stats: Float32Array,
): void {
  for (let b = 0; b < rows; b++) {
    const o = b * K4;
    let mx = -Infinity, sum = 0;
    for (let j = 0; j < V; j++) if (lg[o + j] > mx) mx = lg[o + j];
    for (let j = 0; j < V; j++) sum += Math.exp(lg[o + j] - mx);
    stats[2 * b] = mx;
    stats[2 * b + 1] = sum;
    if (keep) {
      for (let j = 0; j < V; j++) lg[o + j] = Math.exp(lg[o + j] - mx) / sum;
      for (let j = V; j < K4; j++) lg[o + j] = 0;
    }
  }
}

/**
 * Gradients of {@link dense} given `dz`: `dW += xᵀ·dz`, `db += 1ᵀ·dz` and
 * `dx = dz · Wᵀ` (when given; `db` undefined when a layer norm's backward
 * already summed dz into it). The bias gradient goes through sgemm with a
 * row of ones (`ones` holds ≥ rows of them) rather than a JS loop over the
 * rows: the loop cost ≈ 2 ns a value here, 6 % of a flow-lm step.
 */
function denseGrad(
  x: Float32Array,
  rows: number,
  nIn: number,
  w: Float32Array,
  nOut: number,
  dz: Float32Array,
  dw: Float32Array,
  db: Float32Array | undefined,
  ones: Float32Array,
  dx?: Float32Array,
): void {
  sgemm(true, false, nIn, nOut, rows, 1, x, nIn, dz, nOut, 1, dw, nOut);
  if (db) sgemm(false, false, 1, nOut, rows, 1, ones, rows, dz, nOut, 1, db, nOut);
  if (dx) sgemm(false, true, rows, nIn, nOut, 1, dz, nOut, w, nOut, 0, dx, nIn);
}

/**
 * Packs a block's q, k and v weights side by side into `W` ([d, 3d]) and
 * their biases into `b` ([3d]): one `[N, d] × [d, 3d]` product instead of
 * three `[N, d] × [d, d]` ones (and one `K = 3d` product for the input
 * gradient instead of three), which OpenBLAS runs faster for the same FLOPs.
 * The weights stay separate parameters (flow-lm's tfjs layout), so the
 * pack is redone every forward — 3d² floats, negligible next to the product.
 */
function packQkv(w: LayerWeights, d: number, W: Float32Array, b: Float32Array): void {
  const parts = [w.q, w.k, w.v];
  for (let c = 0; c < 3; c++) {
    const src = parts[c][0].v;
    for (let i = 0; i < d; i++) W.set(src.subarray(i * d, i * d + d), i * 3 * d + c * d);
    b.set(parts[c][1].v, c * d);
  }
}

/** Adds the packed q/k/v gradients (`dW` [d, 3d], `db` [3d]) into each weight's own gradient. */
function unpackQkvGrad(w: LayerWeights, d: number, dW: Float32Array, db: Float32Array): void {
  const parts = [w.q, w.k, w.v];
  for (let c = 0; c < 3; c++) {
    const gw = parts[c][0].g, gb = parts[c][1].g;
    for (let i = 0; i < d; i++) {
      const o = i * 3 * d + c * d, r = i * d;
      for (let j = 0; j < d; j++) gw[r + j] += dW[o + j];
    }
    for (let j = 0; j < d; j++) gb[j] += db[c * d + j];
  }
}

/** The transformer over a {@link Params} set laid out by {@link causalLmLayout}. */
export class CausalLm {
  readonly config: Readonly<CausalLmConfig>;
  readonly #buckets: readonly OutputBucket[];
  /** Bucket index and index inside the bucket, per position. */
  readonly #posBucket: Int32Array;
  readonly #posInBucket: Int32Array;
  /** Offset of position t's B×K block in the kept output probabilities, per unit of B. */
  readonly #posOut: Int32Array;
  readonly #outPerRow: number;
  readonly #maxK: number;
  readonly #tok: W;
  readonly #pos: W;
  readonly #layers: LayerWeights[];
  readonly #lnf: [W, W];
  readonly #heads: [W, W][];

  // Buffers (grown on demand).
  #trainCap = 0;
  #inferCap = 0;
  #train: LayerActs[] = [];
  #infer: LayerActs | undefined;
  #x = new Float32Array(0);
  #branch = new Float32Array(0);
  #xhatf = new Float32Array(0);
  #rstdf = new Float32Array(0);
  #hf = new Float32Array(0);
  #out = new Float32Array(0);
  #nll = new Float32Array(0);
  /** Per output row: max logit and Σ exp(logit − max) (from logSoftmaxRows). */
  #stats = new Float32Array(0);
  /** One output head's bias row padded with zeros to its row stride. */
  #biasPad = new Float32Array(0);
  // Backward scratch.
  #dX = new Float32Array(0);
  #dBr = new Float32Array(0);
  #dH = new Float32Array(0);
  #dAtt = new Float32Array(0);
  #dQkv = new Float32Array(0);
  /** All ones, one per row: bias gradients are `1ᵀ · dz` through sgemm. */
  #ones = new Float32Array(0);
  /** Per layer: q, k and v weights packed side by side ([d, 3d]) and their biases ([3d]), refreshed each forward. */
  readonly #qkvW: Float32Array[];
  readonly #qkvB: Float32Array[];
  /** Gradient scratch of the packed q/k/v weights and biases (unpacked into each weight's own gradient). */
  #dQkvW = new Float32Array(0);
  #dQkvB = new Float32Array(0);
  #dG = new Float32Array(0);
  #attScratch = new Float32Array(0);

  // The last training forward, for backward().
  #last: { inp: Int32Array; tgt: Int32Array; B: number; dropped: boolean } | undefined;
  #lastRows = 0;

  constructor(params: Params, cfg: CausalLmConfig) {
    const { seqLen: T, width: d, heads, vocab } = cfg;
    if (!(T >= 1) || vocab.length !== T) {
      throw new RangeError(
        `CausalLm: expected ${T} output vocabularies (one per position), found ${vocab.length}`,
      );
    }
    if (!(heads >= 1) || d % heads !== 0) {
      throw new RangeError(`CausalLm: width ${d} must be a positive multiple of heads ${heads}`);
    }
    if (cfg.causal === false && cfg.context > 0) {
      throw new RangeError(`CausalLm: a context window (${cfg.context}) needs causal attention`);
    }
    this.config = { ...cfg, vocab: vocab.slice() };
    this.#buckets = bucketsOf(cfg).map((b) => ({ ...b }));
    this.#posBucket = new Int32Array(T).fill(-1);
    this.#posInBucket = new Int32Array(T);
    this.#posOut = new Int32Array(T);
    let off = 0, maxK = 0;
    this.#buckets.forEach((b, i) => {
      for (let tt = 0; tt < b.len; tt++) {
        const t = b.start + tt;
        if (t >= T || this.#posBucket[t] >= 0) {
          throw new RangeError(`CausalLm: bucket ${i} covers position ${t}, outside 0…${T - 1} or twice`);
        }
        if (!(vocab[t] >= 1 && vocab[t] <= b.K)) {
          throw new RangeError(`CausalLm: position ${t} has vocabulary ${vocab[t]}, expected 1…${b.K}`);
        }
        this.#posBucket[t] = i;
        this.#posInBucket[t] = tt;
        this.#posOut[t] = off;
        off += padK(b.K);
      }
      maxK = Math.max(maxK, padK(b.K));
    });
    const missing = this.#posBucket.indexOf(-1);
    if (missing >= 0) throw new RangeError(`CausalLm: no output bucket covers position ${missing}`);
    this.#outPerRow = off;
    this.#maxK = maxK;
    const shapes = new Map(causalLmLayout(cfg));
    const w = (name: string): W => {
      const want = shapes.get(name)!;
      const have = params.shape(name);
      if (have.join(",") !== want.join(",")) {
        throw new RangeError(`CausalLm: weight ${name} has shape [${have}], expected [${want}]`);
      }
      return { v: params.get(name), g: params.grad(name) };
    };
    this.#tok = w("tokEmb");
    this.#pos = w("posEmb");
    this.#layers = Array.from({ length: cfg.layers }, (_, l) => {
      const p = `l${l}.`;
      const dense = (n: string): [W, W] => [w(p + n + ".W"), w(p + n + ".b")];
      return {
        ln1g: w(p + "ln1.g"),
        ln1b: w(p + "ln1.b"),
        q: dense("q"),
        k: dense("k"),
        v: dense("v"),
        o: dense("o"),
        ln2g: w(p + "ln2.g"),
        ln2b: w(p + "ln2.b"),
        fc1: dense("fc1"),
        fc2: dense("fc2"),
      };
    });
    this.#lnf = [w("lnf.g"), w("lnf.b")];
    this.#qkvW = this.#layers.map(() => new Float32Array(d * 3 * d));
    this.#qkvB = this.#layers.map(() => new Float32Array(3 * d));
    this.#dQkvW = new Float32Array(d * 3 * d);
    this.#dQkvB = new Float32Array(3 * d);
    this.#heads = this.#buckets.map((_, i) => [w(`head${i}.W`), w(`head${i}.b`)]);
  }

  #acts(B: number, keep: boolean): LayerActs {
    const { seqLen: T, width: d, mlp: m, heads: H } = this.config;
    const N = B * T;
    return {
      xhat1: new Float32Array(N * d),
      rstd1: new Float32Array(N),
      h1: new Float32Array(N * d),
      qkv: new Float32Array(N * 3 * d),
      probs: new Float32Array((keep ? B : Math.min(B, INFER_GROUP)) * probsPerSequence(T, H)),
      att: new Float32Array(N * d),
      mask1: new Float32Array(keep ? N * d : 0),
      xhat2: new Float32Array(N * d),
      rstd2: new Float32Array(N),
      h2: new Float32Array(N * d),
      f1: new Float32Array(N * m),
      g: new Float32Array(N * m),
      sig: new Float32Array(keep ? N * m : 0),
      mask2: new Float32Array(keep ? N * d : 0),
    };
  }

  /** Shared buffers for `B` sequences (`keepOut`: room for every position's output probabilities). */
  #reserveShared(B: number, keepOut: boolean): void {
    const { seqLen: T, width: d } = this.config;
    const N = B * T;
    const grow = (a: Float32Array<ArrayBuffer>, n: number) => (a.length >= n ? a : new Float32Array(n));
    this.#x = grow(this.#x, N * d);
    this.#branch = grow(this.#branch, N * d);
    this.#xhatf = grow(this.#xhatf, N * d);
    this.#rstdf = grow(this.#rstdf, N);
    this.#hf = grow(this.#hf, N * d);
    this.#out = grow(this.#out, keepOut ? B * this.#outPerRow : B * this.#maxK);
    this.#nll = grow(this.#nll, N);
    this.#stats = grow(this.#stats, 2 * B);
    this.#biasPad = grow(this.#biasPad, this.#maxK);
  }

  #reserveTrain(B: number): void {
    if (B > this.#trainCap) {
      const cap = Math.max(B, this.#trainCap * 2);
      this.#train = this.#layers.map(() => this.#acts(cap, true));
      const { seqLen: T, width: d, mlp: m } = this.config;
      const N = cap * T;
      this.#dX = new Float32Array(N * d);
      this.#dBr = new Float32Array(N * d);
      this.#dH = new Float32Array(N * d);
      this.#dAtt = new Float32Array(N * d);
      this.#dQkv = new Float32Array(N * 3 * d);
      this.#ones = new Float32Array(N).fill(1);
      this.#dG = new Float32Array(N * m);
      // dP / dS blocks for the attention backward: 64 (sequence, head) pairs per SIMD call.
      this.#attScratch = new Float32Array(Math.min(64, cap * this.config.heads) * T * probsStride(T));
      this.#trainCap = cap;
    }
    this.#reserveShared(this.#trainCap, true);
  }

  #reserveInfer(B: number): void {
    if (B > this.#inferCap || !this.#infer) {
      this.#inferCap = Math.max(B, this.#inferCap);
      this.#infer = this.#acts(this.#inferCap, false);
    }
    this.#reserveShared(this.#inferCap, false);
  }

  /**
   * Per-position surprisal −log p(target) in nats, `T · B` values
   * position-major (a view into an internal buffer, valid until the next
   * call). With `training`, activations are kept for {@link backward} and
   * `dropout` (if any) is applied to the residual branches.
   */
  forward(
    inp: Int32Array,
    tgt: Int32Array,
    B: number,
    opts: { training?: boolean; dropout?: DropoutOption } = {},
  ): Float32Array {
    const { seqLen: T, width: d, mlp: m, heads, context } = this.config;
    const N = B * T;
    if (inp.length < N || tgt.length < N) {
      throw new RangeError(
        `CausalLm: ${B} sequences need ${N} inputs and targets, found ${inp.length}, ${tgt.length}`,
      );
    }
    const training = opts.training ?? false;
    const drop = training && opts.dropout && opts.dropout.rate > 0 ? opts.dropout : undefined;
    if (training) this.#reserveTrain(B);
    else this.#reserveInfer(B);
    this.#last = training ? { inp, tgt, B, dropped: !!drop } : undefined;
    const nll = this.#nll.subarray(0, N);
    this.#lastRows = N;
    if (B === 0) return nll;
    const x = this.#x, br = this.#branch;
    embedForward(this.#tok.v, this.#pos.v, inp, B, T, d, x);
    const shape: AttentionShape = { B, T, d, heads, context, causal: this.config.causal, stride: 3 * d };
    // The residual add of each branch is folded into the layer norm that follows it.
    let pending: Float32Array | undefined;
    for (let l = 0; l < this.#layers.length; l++) {
      const w = this.#layers[l];
      const a = training ? this.#train[l] : this.#infer!;
      const keep = training ? a : undefined;
      layerNormForward(x, N, d, w.ln1g.v, w.ln1b.v, a.h1, keep?.xhat1, keep?.rstd1, { add: pending });
      const qkvW = this.#qkvW[l], qkvB = this.#qkvB[l];
      packQkv(w, d, qkvW, qkvB);
      dense(a.h1, N, d, qkvW, qkvB, 3 * d, a.qkv);
      const qkv = a.qkv;
      attentionForward(qkv, qkv.subarray(d), qkv.subarray(2 * d), shape, a.probs, a.att);
      dense(a.att, N, d, w.o[0].v, w.o[1].v, d, br);
      if (drop) dropoutForward(br, a.mask1, N * d, drop.rate, drop.rng);
      layerNormForward(x, N, d, w.ln2g.v, w.ln2b.v, a.h2, keep?.xhat2, keep?.rstd2, { add: br });
      dense(a.h2, N, d, w.fc1[0].v, w.fc1[1].v, m, a.f1);
      geluForward(a.f1, a.g, N * m, training ? a.sig : undefined);
      dense(a.g, N, m, w.fc2[0].v, w.fc2[1].v, d, br);
      if (drop) dropoutForward(br, a.mask2, N * d, drop.rate, drop.rng);
      pending = br;
    }
    const [gf, bf] = this.#lnf;
    layerNormForward(x, N, d, gf.v, bf.v, this.#hf, this.#xhatf, this.#rstdf, { add: pending });
    this.#outputs(tgt, B, training, nll);
    return nll;
  }

  /**
   * The final layer norm's output of the last {@link forward}: `B·T` rows (row `b·T + t`) of `width`
   * values, the representation the output heads read. A view into an internal buffer, valid until the
   * next call.
   */
  get hidden(): Float32Array {
    return this.#hf.subarray(0, this.#lastRows * this.config.width);
  }

  /**
   * Output heads and log-softmax cross-entropy; keeps the probabilities when
   * training. Each position's logits are a `B × K4` block, `K4` = its
   * bucket's `K` rounded up to a multiple of 4 (zero padding), so the
   * log-softmax runs in WebAssembly SIMD whole vectors a row
   * (`logSoftmaxRows`); the JS loops below are the fallback.
   */
  #outputs(tgt: Int32Array, B: number, keep: boolean, nll: Float32Array): void {
    const { seqLen: T, width: d, vocab } = this.config;
    const hf = this.#hf, stats = this.#stats, pad = this.#biasPad;
    for (let t = 0; t < T; t++) {
      const bi = this.#posBucket[t], tt = this.#posInBucket[t], K = this.#buckets[bi].K, K4 = padK(K);
      const [W, bias] = this.#heads[bi];
      const lg = keep ? this.#out.subarray(this.#posOut[t] * B) : this.#out;
      const bo = tt * K;
      pad.set(bias.v.subarray(bo, bo + K));
      pad.fill(0, K, K4);
      fillRows(lg, pad.subarray(0, K4), B);
      sgemm(false, false, B, K, d, 1, hf.subarray(t * d), T * d, W.v.subarray(tt * d * K), K, 1, lg, K4);
      const V = vocab[t];
      for (let b = 0; b < B; b++) {
        const y = tgt[t * B + b];
        if (!(y >= 0 && y < V)) {
          throw new RangeError(
            `CausalLm: target ${y} at position ${t}, row ${b} is outside its vocabulary of ${V}`,
          );
        }
        nll[t * B + b] = -lg[b * K4 + y];
      }
      if (!logSoftmaxRows(lg, B, K4, V, keep, stats)) logSoftmaxLoops(lg, B, K4, V, keep, stats);
      // −log p(y) = max + log Σ exp(x − max) − x_y.
      for (let b = 0; b < B; b++) nll[t * B + b] += stats[2 * b] + Math.log(stats[2 * b + 1]);
    }
  }

  /**
   * Backward of the mean surprisal of the last training {@link forward}
   * (`scale` multiplies the loss, e.g. to weight batches): accumulates into
   * the parameters' gradients. With `weights` (`T · B`, position-major like
   * the surprisals) the loss is the weighted mean `Σ w·nll / Σ w` — the
   * masked objective's loss over its masked positions only.
   */
  backward(scale = 1, weights?: Float32Array): void {
    const last = this.#last;
    if (!last) throw new Error("CausalLm.backward: call forward with { training: true } first");
    const { inp, tgt, B, dropped } = last;
    if (B === 0) return;
    const { seqLen: T, width: d, mlp: m, heads, context } = this.config;
    const N = B * T;
    const hf = this.#hf, dX = this.#dX, dH = this.#dH;
    // Output heads: dlogits = (p − onehot) · scale · w / Σw, in place over the kept probabilities.
    const total = weights ? weightSum(weights, N) : N;
    const k = total > 0 ? scale / total : 0;
    for (let t = 0; t < T; t++) {
      const bi = this.#posBucket[t], tt = this.#posInBucket[t], K = this.#buckets[bi].K, K4 = padK(K);
      const [W, bias] = this.#heads[bi];
      const lg = this.#out.subarray(this.#posOut[t] * B);
      const bo = tt * K;
      for (let b = 0; b < B; b++) {
        const o = b * K4, kb = weights ? k * weights[t * B + b] : k;
        lg[o + tgt[t * B + b]] -= 1;
        for (let j = 0; j < K; j++) {
          lg[o + j] *= kb;
          bias.g[bo + j] += lg[o + j];
        }
      }
      sgemm(true, false, d, K, B, 1, hf.subarray(t * d), T * d, lg, K4, 1, W.g.subarray(tt * d * K), K);
      sgemm(false, true, B, d, K, 1, lg, K4, W.v.subarray(tt * d * K), K, 0, dH.subarray(t * d), T * d);
    }
    // Without dropout, each norm's dx is the output gradient of the dense layer before it, so the
    // norm's backward sums its rows into that layer's bias gradient (fused: no pass of its own).
    const layers = this.#layers, fuse = !dropped;
    const lastFc2 = layers.length ? layers[layers.length - 1].fc2[1].g : undefined;
    layerNormBackward(
      dH,
      N,
      d,
      this.#lnf[0].v,
      this.#xhatf,
      this.#rstdf,
      dX,
      this.#lnf[0].g,
      this.#lnf[1].g,
      false,
      fuse ? lastFc2 : undefined,
    );
    const shape: AttentionShape = { B, T, d, heads, context, causal: this.config.causal, stride: 3 * d };
    const ones = this.#ones;
    for (let l = this.#layers.length - 1; l >= 0; l--) {
      const w = this.#layers[l], a = this.#train[l];
      // MLP branch.
      let dBr = dX;
      if (dropped) {
        dBr = this.#dBr;
        dBr.set(dX.subarray(0, N * d));
        dropoutBackward(dBr, a.mask2, N * d);
      }
      denseGrad(a.g, N, m, w.fc2[0].v, d, dBr, w.fc2[0].g, fuse ? undefined : w.fc2[1].g, ones, this.#dG);
      geluBackward(a.f1, this.#dG, this.#dG, N * m, a.sig);
      denseGrad(a.h2, N, d, w.fc1[0].v, m, this.#dG, w.fc1[0].g, w.fc1[1].g, ones, dH);
      layerNormBackward(
        dH,
        N,
        d,
        w.ln2g.v,
        a.xhat2,
        a.rstd2,
        dX,
        w.ln2g.g,
        w.ln2b.g,
        true,
        fuse ? w.o[1].g : undefined,
      );
      // Attention branch.
      dBr = dX;
      if (dropped) {
        dBr = this.#dBr;
        dBr.set(dX.subarray(0, N * d));
        dropoutBackward(dBr, a.mask1, N * d);
      }
      denseGrad(a.att, N, d, w.o[0].v, d, dBr, w.o[0].g, fuse ? undefined : w.o[1].g, ones, this.#dAtt);
      const qkv = a.qkv, dQkv = this.#dQkv;
      attentionBackward(
        qkv,
        qkv.subarray(d),
        qkv.subarray(2 * d),
        a.probs,
        this.#dAtt,
        shape,
        dQkv,
        dQkv.subarray(d),
        dQkv.subarray(2 * d),
        this.#attScratch,
      );
      // One product for the three projections' weight gradients, one for their input gradient.
      const dW = this.#dQkvW, dB = this.#dQkvB;
      sgemm(true, false, d, 3 * d, N, 1, a.h1, d, dQkv, 3 * d, 0, dW, 3 * d);
      sgemm(false, false, 1, 3 * d, N, 1, ones, N, dQkv, 3 * d, 0, dB, 3 * d);
      unpackQkvGrad(w, d, dW, dB);
      sgemm(false, true, N, d, 3 * d, 1, dQkv, 3 * d, this.#qkvW[l], 3 * d, 0, dH, d);
      const prevFc2 = fuse && l > 0 ? layers[l - 1].fc2[1].g : undefined;
      layerNormBackward(dH, N, d, w.ln1g.v, a.xhat1, a.rstd1, dX, w.ln1g.g, w.ln1b.g, true, prevFc2);
    }
    embedBackward(dX, inp, B, T, d, this.#tok.g, this.#pos.g);
    this.#last = undefined;
  }

  /**
   * One training step's loss and gradients: forward (training), backward of
   * the mean surprisal (weighted by `weights` when given, as in
   * {@link backward}), gradients accumulated (zero them first). Returns the
   * batch's (weighted) mean surprisal (0 for an empty batch).
   */
  trainStep(
    inp: Int32Array,
    tgt: Int32Array,
    B: number,
    dropout?: DropoutOption,
    weights?: Float32Array,
  ): number {
    const nll = this.forward(inp, tgt, B, { training: true, dropout });
    const loss = meanOf(nll, weights);
    this.backward(1, weights);
    return loss;
  }

  /** (Weighted) mean surprisal of a batch without training (for validation). */
  meanLoss(inp: Int32Array, tgt: Int32Array, B: number, weights?: Float32Array): number {
    return meanOf(this.forward(inp, tgt, B), weights);
  }
}

/** Σ of the first `n` weights, refusing negative or non-finite ones. */
function weightSum(w: Float32Array, n: number): number {
  if (w.length < n) throw new RangeError(`CausalLm: expected ${n} loss weights, found ${w.length}`);
  let s = 0;
  for (let i = 0; i < n; i++) {
    if (!(w[i] >= 0 && w[i] < Infinity)) {
      throw new RangeError(`CausalLm: loss weight ${i} is ${w[i]}, expected a finite number ≥ 0`);
    }
    s += w[i];
  }
  return s;
}

/** Mean of the surprisals `nll`, weighted by `w` when given (0 when nothing carries weight). */
function meanOf(nll: Float32Array, w?: Float32Array): number {
  if (!w) {
    let s = 0;
    for (let i = 0; i < nll.length; i++) s += nll[i];
    return nll.length ? s / nll.length : 0;
  }
  const total = weightSum(w, nll.length);
  let s = 0;
  for (let i = 0; i < nll.length; i++) s += w[i] * nll[i];
  return total > 0 ? s / total : 0;
}
