/**
 * `flow-lm`: a small causal transformer language model of traffic, trained
 * from scratch on benign flows. A flow is tokenised field by field (see
 * tokenizer.ts: one-hot groups become categorical words, numeric columns
 * quantile bins) into `[BOS, f1, …, fK]`; the model learns
 * p(f_i | f_1 … f_{i−1}) and the anomaly score of a flow is its mean (or max)
 * token surprisal −log p, in nats. Because the i-th token is always field i,
 * the output layer only scores field i's own vocabulary (a per-position
 * softmax), which is both exact and much cheaper than a full-vocabulary head.
 *
 * Architecture (GPT-style): token + position embeddings → `layers` pre-norm
 * blocks (LayerNorm → multi-head causal self-attention → residual; LayerNorm
 * → MLP (GELU) → residual) → LayerNorm → per-field output head. `context`
 * limits how many previous tokens each position attends to (0 = all).
 * Trained with Adam (gradient clipping) in the shared epoch loop, seeded init
 * and shuffling, early stopping on a held-out benign split.
 *
 * `objective=masked` trains the same network bidirectionally instead
 * (BERT-style): the input is `[f1, …, fK]` with a seeded `maskRate` share of
 * the fields replaced by a mask token, and the loss is the surprisal of the
 * masked fields only. A flow's per-field surprisal is then its
 * pseudo-likelihood: −log p(f_i | every other field), with field i masked —
 * one pass per field, or per group of fields with `maskGroups`. `tail=log`
 * adds an a-priori ln(1 + distance in benign ranges) to a value outside its
 * field's benign range, which the model, never having seen such a word,
 * cannot rank.
 *
 * Two engines, one network: the native engine (src/nn/transformer.ts, every
 * product through OpenBLAS sgemm, a hand-written backward pass) is the
 * default; the tfjs ops below (tfjs-layers has no multi-head attention) are
 * the reference and the fallback without OpenBLAS. Both use the weight
 * layout of `#layout`, so a model saved on one scores the same on the other.
 * The default size (1 block × width 32) is the largest that scores ≥ 20 k
 * flows/s on the native engine here (docs/llm.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flowLmFactory } from "./flow_lm.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const lm = flowLmFactory.create({ layers: 1, width: 8, heads: 2, epochs: 1 }, 1);
 * await lm.fit(matrixFromRows([[0, 1], [1, 2], [0, 1], [1, 2]], ["a", "b"]));
 * const s = await lm.score(matrixFromRows([[0, 2]], ["a", "b"]));
 * assert.equal(s.length, 1);
 * assert.ok(s[0] > 0);
 * lm.dispose?.();
 * ```
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs";
import { type Matrix, takeRows } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import { checkFitInput, checkPartialFit, checkScoreInput, i32Blob, savedFormat, toBytes } from "./_linalg.ts";
import {
  dropout,
  glorot,
  normalInit,
  savedNFeatures,
  splitIds,
  TfDetector,
  trainLoop,
  type WeightSpec,
} from "./_tf_nn.ts";
import { Adam } from "../nn/adam.ts";
import type { Params } from "../nn/params.ts";
import { type EpochLoopOptions, runEpochs, type TrainResult } from "../nn/train.ts";
import { CausalLm } from "../nn/transformer.ts";
import { kthNeighbourDistance, normaliseRows } from "../nn/neighbours.ts";
import { defineDetector } from "./factory.ts";
import { nnBackendName } from "./nn_backend.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Tf } from "./tf_backend.ts";
import { fitTokenizer, OUT_OF_RANGE_EDGES, Tokenizer } from "./tokenizer.ts";
import type { DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const NAME = "flow-lm";

/** Hyperparameters of {@link flowLmFactory}. */
export const flowLmParams = defineParams({
  layers: { type: "int", default: 1, min: 1, max: 12, description: "transformer blocks" },
  heads: { type: "int", default: 2, min: 1, max: 16, description: "attention heads (must divide width)" },
  width: { type: "int", default: 32, min: 4, max: 512, description: "model width (embedding size)" },
  mlpRatio: { type: "int", default: 2, min: 1, max: 8, description: "MLP hidden size = mlpRatio × width" },
  context: {
    type: "int",
    default: 0,
    min: 0,
    description: "tokens each position attends to (0 = whole flow)",
  },
  bins: { type: "int", default: 16, min: 2, max: 256, description: "quantile bins per numeric field" },
  fine: {
    type: "int",
    default: 0,
    min: 0,
    max: 64,
    description:
      "fine tokens: a second token per numeric field, its value's quantile sub-bin (up to this many) inside its bin (0 = off)",
  },
  outOfRange: {
    type: "string",
    default: "graded",
    choices: ["graded", "single"],
    description:
      "words for values outside the benign range: graded by distance (≤0.1, 0.1–1, 1–10, >10 ranges) or one per side",
  },
  epochs: {
    tunable: true,
    type: "int",
    default: 0,
    min: 0,
    description:
      "maximum training epochs; 0 = auto: about 1.2M row-passes on the native engine (20 epochs at 60k rows), 360k on tfjs (6), 3–50 epochs",
  },
  batchSize: { tunable: true, type: "int", default: 128, min: 1, description: "mini-batch size" },
  lr: { tunable: true, type: "number", default: 3e-3, min: 0, description: "Adam learning rate" },
  dropout: {
    tunable: true,
    type: "number",
    default: 0,
    min: 0,
    max: 0.9,
    description: "dropout on residual branches",
  },
  patience: {
    tunable: true,
    type: "int",
    default: 2,
    min: 0,
    description: "early-stopping patience in epochs (0 = off)",
  },
  valFraction: {
    tunable: true,
    type: "number",
    default: 0.1,
    min: 0,
    max: 0.5,
    description: "benign rows held out",
  },
  maxTrainRows: {
    tunable: true,
    type: "int",
    default: 60000,
    min: 1,
    description: "seeded subsample of training rows (bounds training time)",
  },
  score: {
    tunable: true,
    type: "string",
    default: "mean",
    choices: ["mean", "max", "topk", "zmean", "ztopk", "knn"],
    description: "token surprisal aggregate (topk = mean of the topK highest field surprisals; z… = each " +
      "field's surprisal standardised by its benign mean and spread on held-out rows first), or knn: the " +
      "distance from the row's hidden states to those of its knnK-th nearest benign training row (native " +
      "engine only)",
  },
  knnK: {
    tunable: true,
    type: "int",
    default: 5,
    min: 1,
    description: "score=knn: the neighbour whose distance is the score (5, as the knn detector and PyOD)",
  },
  knnRows: {
    type: "int",
    default: 10000,
    min: 1,
    description: "distinct benign training rows kept as score=knn's reference, a seeded sample beyond it " +
      "(bounds scoring time and memory: each costs width × fields × orders floats)",
  },
  orders: {
    type: "int",
    default: 1,
    min: 1,
    max: 8,
    description: "field orders: one network per seeded order of the fields, surprisals averaged over them " +
      "(order 1 is the vocabulary-size order; native engine only)",
  },
  topK: { tunable: true, type: "int", default: 5, min: 1, description: "fields averaged by score=topk" },
  tail: {
    type: "string",
    default: "none",
    choices: ["none", "log"],
    description: "a-priori cost added to a value outside its field's benign range: log = + ln(1 + distance " +
      "in benign ranges) nats (the model never saw such words, so it cannot rank far out above just out)",
  },
  objective: {
    type: "string",
    default: "causal",
    choices: ["causal", "masked"],
    description:
      "causal: p(field | earlier fields); masked: BERT-style bidirectional model of masked fields, " +
      "scored by pseudo-likelihood (each field predicted from the others; native engine only)",
  },
  maskRate: {
    tunable: true,
    type: "number",
    default: 0.15,
    min: 0.01,
    max: 0.9,
    description: "objective=masked: share of a row's fields masked in training (at least one)",
  },
  maskGroups: {
    type: "int",
    default: 0,
    min: 0,
    description: "objective=masked: scoring passes; 0 = one per field (exact pseudo-likelihood), G > 0 = " +
      "fields dealt into G groups, each pass masks one group (G× the causal scoring cost instead of T×)",
  },
});

/** Validated hyperparameters of flow-lm. */
export type FlowLmParams = ParamValues<typeof flowLmParams>;

/** Saved-state format of flow-lm; states without `format` are format 1 (one out-of-range word per side). */
export const FLOW_LM_FORMAT = 2;

/**
 * Epoch budget: an explicit `epochs` wins; 0 means a fixed budget of
 * row-passes (`rowPasses`, by engine: {@link AUTO_ROW_PASSES}), so small
 * training sets get more epochs (early stopping on benign validation loss
 * still decides when to stop) and big ones stay within the 15-minute target
 * for 60 k rows. The native engine's budget is 20 epochs of 60 k rows (about
 * 5 minutes wall for the default model on this shared 2-core machine); the
 * tfjs fallback, about 4× slower per epoch, keeps its 6.
 */
export function autoEpochs(
  epochs: number,
  trainRows: number,
  rowPasses: number = AUTO_ROW_PASSES.native,
): number {
  if (epochs > 0) return epochs;
  return Math.max(3, Math.min(50, Math.round(rowPasses / Math.max(1, trainRows))));
}

/** Row-passes of the automatic epoch budget per engine (see {@link autoEpochs}). */
export const AUTO_ROW_PASSES = { native: 1_200_000, tfjs: 360_000 } as const;

/** Rows per scoring chunk (attention tensors are rows × heads × T × T floats). */
const SCORE_CHUNK = 4096;

/**
 * Rows per native scoring/validation chunk: the native engine keeps one
 * layer's activations (≈ 10 · rows · T · width floats), and products of
 * 512 · T rows already run at full sgemm speed.
 */
const NATIVE_CHUNK = 512;
/** Rows embedded at once by score=knn (their hidden states: rows × fields × width × orders floats). */
const KNN_CHUNK = 2048;

/**
 * What a fitted flow-lm gives besides its score, for reading several scores off one model (the benches'
 * variants): the per-field surprisals, their benign statistics, and score=knn's value whatever `score` says.
 */
export interface FlowLmScores {
  surprisal(x: Matrix): Promise<Float32Array>;
  readonly fieldStats: FieldStats | undefined;
  neighbourScore(x: Matrix): Float64Array;
}

class FlowLm extends TfDetector<FlowLmParams> implements FlowLmScores {
  readonly name = NAME;
  #tok: Tokenizer | undefined;
  /**
   * Per-field surprisal of benign rows the model did not train on (its validation split): mean and
   * spread, for the z… aggregates. Absent in models saved before they existed.
   */
  #fieldStats: FieldStats | undefined;
  #consts: { mask: Tensor; outMasks: Tensor[] } | undefined;
  /** Per field order: the native network over its weights in `this.native` (rebuilt when they are replaced). */
  #lms: ({ net: CausalLm; over: Params } | undefined)[] = [];
  /**
   * The field orders: sequence position → field index, and the contiguous position ranges whose
   * fields share a padded output vocabulary. The first sorts fields by vocabulary size; the others
   * (`orders` > 1) are seeded shuffles of its buckets.
   */
  #orders: FieldOrder[] = [];
  /**
   * score=knn's reference: distinct benign training rows as tokens (rows × fields), kept in the saved
   * model so that their hidden states can be recomputed from the weights. Absent in models saved before.
   */
  #reference: Int32Array | undefined;
  /** The reference rows' embeddings ({@link FlowLm.embed}), computed on first use. */
  #referenceEmb: Float32Array | undefined;

  constructor(params: FlowLmParams, seed: number) {
    const w = params.width, h = params.heads;
    if (w % h !== 0) throw new InputError(`detector "${NAME}": width ${w} must be a multiple of heads ${h}`);
    if (params.objective === "masked" && (params.orders > 1 || params.context > 0)) {
      throw new InputError(
        `detector "${NAME}": objective "masked" reads every field at once, so it takes neither orders ` +
          `(found ${params.orders}, expected 1) nor a context window (found ${params.context}, expected 0)`,
      );
    }
    super(params, seed);
  }

  /** Whether this model is the bidirectional masked-field model (`objective=masked`). */
  get #masked(): boolean {
    return this.params.objective === "masked";
  }

  /** Scoring passes of the masked objective: `maskGroups`, or one per field (0), at most one per field. */
  #groups(T: number): number {
    const g = this.params.maskGroups;
    return g > 0 ? Math.min(g, T) : T;
  }

  protected override get nativeImplemented(): boolean {
    return true;
  }

  /** The fitted tokenizer. */
  get tokenizer(): Tokenizer | undefined {
    return this.#tok;
  }

  /** Sequence position → field index (fields are ordered by vocabulary size). */
  get seqOrder(): number[] {
    return [...this.#perm];
  }

  /** The first field order's permutation (the one the tfjs path and single-order models use). */
  get #perm(): number[] {
    return this.#orders[0]?.perm ?? [];
  }

  /** The first field order's output buckets. */
  get #buckets(): Bucket[] {
    return this.#orders[0]?.buckets ?? [];
  }

  /**
   * The weight layout for `tok` (also fixes the field orders and output buckets). Further orders
   * are `orders` (restored) or drawn from `rng` (fit); their weights carry the prefix `o<k>.`.
   */
  #layout(tok: Tokenizer, rng: Rng, orders?: number[][]): WeightSpec[] {
    // Order fields by vocabulary size and bucket them (sizes within 2×), so each
    // bucket's output head is a dense [len, d, K] batch matmul with little padding.
    // Fine fields come after every coarse one, so each is predicted knowing its bin.
    const vocab = tok.fields.map((f) => f.labels.length);
    const late = tok.fields.map((f) => f.kind === "fine" ? 1 : 0);
    const first = vocab.map((_, i) => i).sort((a, b) => late[a] - late[b] || vocab[a] - vocab[b] || a - b);
    this.#orders = [{ perm: first, buckets: bucketize(first, vocab) }];
    const s = this.#specs(tok, this.#buckets, rng, "");
    for (let k = 1; k < this.params.orders; k++) {
      const perm = orders?.[k - 1] ?? shuffledOrder(first, this.#buckets, late, rng);
      const buckets = bucketize(perm, vocab);
      this.#orders.push({ perm, buckets });
      for (const w of this.#specs(tok, buckets, rng, `o${k}.`)) s.push(w);
    }
    return s;
  }

  /** One network's weights (names prefixed `prefix`). */
  #specs(tok: Tokenizer, buckets: readonly Bucket[], rng: Rng, prefix: string): WeightSpec[] {
    const d = this.params.width;
    const L = this.params.layers;
    const m = d * this.params.mlpRatio;
    const T = tok.fields.length;
    const s: WeightSpec[] = [];
    const add = (name: string, shape: number[], values: Float32Array) =>
      s.push([prefix + name, shape, values]);
    const resid = 0.02 / Math.sqrt(2 * L);
    add("tokEmb", [tok.vocabSize + 1, d], normalInit(rng, (tok.vocabSize + 1) * d, 0.02));
    add("posEmb", [T, d], normalInit(rng, T * d, 0.02));
    for (let l = 0; l < L; l++) {
      add(`l${l}.ln1.g`, [d], new Float32Array(d).fill(1));
      add(`l${l}.ln1.b`, [d], new Float32Array(d));
      for (const w of ["q", "k", "v"]) {
        add(`l${l}.${w}.W`, [d, d], glorot(rng, d, d));
        add(`l${l}.${w}.b`, [d], new Float32Array(d));
      }
      add(`l${l}.o.W`, [d, d], normalInit(rng, d * d, resid));
      add(`l${l}.o.b`, [d], new Float32Array(d));
      add(`l${l}.ln2.g`, [d], new Float32Array(d).fill(1));
      add(`l${l}.ln2.b`, [d], new Float32Array(d));
      add(`l${l}.fc1.W`, [d, m], glorot(rng, d, m));
      add(`l${l}.fc1.b`, [m], new Float32Array(m));
      add(`l${l}.fc2.W`, [m, d], normalInit(rng, m * d, resid));
      add(`l${l}.fc2.b`, [d], new Float32Array(d));
    }
    add("lnf.g", [d], new Float32Array(d).fill(1));
    add("lnf.b", [d], new Float32Array(d));
    buckets.forEach((b, i) => {
      add(`head${i}.W`, [b.len, d, b.K], glorot(rng, d, b.K, b.len * d * b.K));
      add(`head${i}.b`, [b.len, 1, b.K], new Float32Array(b.len * b.K));
    });
    return s;
  }

  /** tfjs constants: the causal mask and the per-bucket output masks. */
  #tfConsts(tf: Tf, tok: Tokenizer): void {
    const T = tok.fields.length;
    const vocab = tok.fields.map((f) => f.labels.length);
    // Causal (and optional local-window) mask as an additive bias.
    const ctx = this.params.context;
    const mask = new Float32Array(T * T);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const ok = j <= i && (ctx === 0 || i - j < ctx);
        mask[i * T + j] = ok ? 0 : -1e9;
      }
    }
    // Output positions only score their own field's vocabulary.
    const outMasks = this.#buckets.map((b) => {
      const m = new Float32Array(b.len * b.K);
      for (let t = 0; t < b.len; t++) {
        for (let k = vocab[this.#perm[b.start + t]]; k < b.K; k++) m[t * b.K + k] = -1e9;
      }
      return tf.keep(tf.tensor3d(m, [b.len, 1, b.K]));
    });
    this.#disposeConsts();
    this.#consts = { mask: tf.keep(tf.tensor2d(mask, [T, T])), outMasks };
  }

  /**
   * The weights of field order `k` (shared with `this.native`): order 0's are unprefixed, order k's
   * carry `o<k>.`.
   */
  #orderParams(k: number): Params {
    const all = this.native!;
    if (this.params.orders === 1) return all;
    const p = `o${k}.`;
    return all.select((n) =>
      k === 0 ? (/^o\d+\./.test(n) ? undefined : n) : n.startsWith(p) ? n.slice(p.length) : undefined
    );
  }

  /** The native network of field order `k` over the current weights (same layout, names and maths as the tfjs path). */
  #net(k = 0): CausalLm {
    const params = this.native!;
    if (this.#lms[k]?.over !== params) {
      const tok = this.#tok!;
      const { perm, buckets } = this.#orders[k];
      const vocab = perm.map((f) => tok.fields[f].labels.length);
      const net = new CausalLm(this.#orderParams(k), {
        seqLen: tok.fields.length,
        width: this.params.width,
        heads: this.params.heads,
        layers: this.params.layers,
        mlp: this.params.width * this.params.mlpRatio,
        context: this.params.context,
        causal: !this.#masked,
        tokens: tok.vocabSize + 1,
        vocab,
        buckets,
      });
      this.#lms[k] = { net, over: params };
    }
    return this.#lms[k]!.net;
  }

  /** Input ids [B, T] (global, BOS first) and targets [T, B] (local) for rows `ids` of `tokens`. */
  #batch(
    tokens: Int32Array,
    ids: ArrayLike<number>,
    perm = this.#perm,
  ): { inp: Int32Array; tgt: Int32Array } {
    const tok = this.#tok!;
    const T = tok.fields.length;
    const B = ids.length;
    const inp = new Int32Array(B * T);
    const tgt = new Int32Array(T * B);
    const bos = tok.vocabSize;
    for (let b = 0; b < B; b++) {
      const r = ids[b] * T;
      inp[b * T] = bos;
      for (let t = 0; t < T; t++) {
        const f = perm[t];
        const v = tokens[r + f];
        if (t + 1 < T) inp[b * T + t + 1] = tok.offsets[f] + v;
        tgt[t * B + b] = v;
      }
    }
    return { inp, tgt };
  }

  /**
   * The masked objective's batch for rows `ids` of `tokens`: input ids [B, T] (global; no BOS), where
   * the positions `masked(b, t)` says hold the mask token (tokEmb's BOS row, unused without BOS),
   * targets [T, B] (local) and loss weights [T, B] (1 on masked positions, else 0).
   */
  #maskedBatch(
    tokens: Int32Array,
    ids: ArrayLike<number>,
    masked: (b: number, t: number) => boolean,
  ): { inp: Int32Array; tgt: Int32Array; weights: Float32Array } {
    const tok = this.#tok!, perm = this.#perm;
    const T = tok.fields.length, B = ids.length, mask = tok.vocabSize;
    const inp = new Int32Array(B * T), tgt = new Int32Array(T * B), weights = new Float32Array(T * B);
    for (let b = 0; b < B; b++) {
      const r = ids[b] * T;
      for (let t = 0; t < T; t++) {
        const f = perm[t], v = tokens[r + f], m = masked(b, t);
        inp[b * T + t] = m ? mask : tok.offsets[f] + v;
        tgt[t * B + b] = v;
        if (m) weights[t * B + b] = 1;
      }
    }
    return { inp, tgt, weights };
  }

  /**
   * Training masks: each position masked with probability `maskRate`, at least one a row (drawn from
   * `rng`). Returns `masked(b, t)` for {@link #maskedBatch}.
   */
  #trainingMask(B: number, T: number, rng: Rng): (b: number, t: number) => boolean {
    const rate = this.params.maskRate;
    const on = new Uint8Array(B * T);
    for (let b = 0; b < B; b++) {
      let any = false;
      for (let t = 0; t < T; t++) if (rng.next() < rate) on[b * T + t] = 1, any = true;
      if (!any) on[b * T + rng.int(T)] = 1;
    }
    return (b, t) => on[b * T + t] === 1;
  }

  /**
   * Embedding lookup [n] → [n, d]. The forward gather runs in JS (wasm's
   * GatherV2 is ~40× slower than a typed-array copy for this shape) and the
   * gradient is a scatter-add (wasm has no UnsortedSegmentSum for gather's
   * own gradient).
   */
  #embed(tf: Tf, table: Tensor, ids: Int32Array, inference = false): Tensor {
    const [V, d] = table.shape as number[];
    const lookup = (tbl: Tensor) => {
      const w = tbl.dataSync() as Float32Array;
      const out = new Float32Array(ids.length * d);
      for (let i = 0; i < ids.length; i++) out.set(w.subarray(ids[i] * d, ids[i] * d + d), i * d);
      return out;
    };
    // Scoring needs no gradient: skip customGrad's bookkeeping.
    if (inference) return tf.tensor2d(lookup(table), [ids.length, d]);
    const f = tf.customGrad((tbl: any) => {
      const out = lookup(tbl);
      return {
        value: tf.tensor2d(out, [ids.length, d]),
        gradFunc: (dy: any) => [tf.scatterND(tf.tensor2d(ids, [ids.length, 1], "int32"), dy, [V, d])],
      };
    });
    return f(table) as Tensor;
  }

  #layerNorm(tf: Tf, x: Tensor, g: Tensor, b: Tensor): Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
  }

  /**
   * Per-position negative log-likelihood [T, B] of a batch. `inference`
   * (scoring: no gradient) may reorder arithmetic for speed.
   */
  #nll(tf: Tf, inp: Int32Array, tgt: Int32Array, B: number, dropSeed?: number, inference = false): Tensor {
    const s = this.store!;
    const tok = this.#tok!;
    const T = tok.fields.length;
    const d = this.params.width;
    const H = this.params.heads;
    const hd = d / H;
    const L = this.params.layers;
    const rate = this.params.dropout;
    const drop = (x: Tensor, k: number) =>
      dropSeed !== undefined && rate > 0 ? dropout(tf, x, rate, (dropSeed + k * 7919) >>> 0) : x;
    let x = tf.reshape(
      tf.add(tf.reshape(this.#embed(tf, s.get("tokEmb"), inp, inference), [B, T, d]), s.get("posEmb")),
      [B * T, d],
    );
    const scale = 1 / Math.sqrt(hd);
    // Scoring fuses the bias into the matmul (one wasm kernel instead of two); training keeps plain ops.
    const dense = (a: Tensor, w: string) =>
      inference
        ? tf.fused.matMul({ a, b: s.get(w + ".W"), bias: s.get(w + ".b") }) as Tensor
        : tf.add(tf.matMul(a, s.get(w + ".W")), s.get(w + ".b"));
    const heads = (t: Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]);
    for (let l = 0; l < L; l++) {
      const p = `l${l}.`;
      const h1 = this.#layerNorm(tf, x, s.get(p + "ln1.g"), s.get(p + "ln1.b"));
      // Three matmuls beat one fused matmul + split: SplitV is slow on wasm.
      // Scoring folds the 1/√hd scale into q ([B·T, d]) instead of the [B·H, T, T] scores: fewer multiplies.
      let q = dense(h1, p + "q");
      if (inference) q = tf.mul(q, scale);
      const k = dense(h1, p + "k");
      const v = dense(h1, p + "v");
      const qk = tf.matMul(heads(q), heads(k), false, true);
      const att = tf.softmax(tf.add(inference ? qk : tf.mul(qk, scale), this.#consts!.mask));
      const o = tf.reshape(tf.transpose(tf.reshape(tf.matMul(att, heads(v)), [B, H, T, hd]), [0, 2, 1, 3]), [
        B * T,
        d,
      ]);
      x = tf.add(x, drop(dense(o, p + "o"), 2 * l));
      const h2 = this.#layerNorm(tf, x, s.get(p + "ln2.g"), s.get(p + "ln2.b"));
      const f1 = dense(h2, p + "fc1");
      const gelu = tf.mul(f1, tf.sigmoid(tf.mul(f1, 1.702)));
      x = tf.add(x, drop(dense(gelu, p + "fc2"), 2 * l + 1));
    }
    x = this.#layerNorm(tf, x, s.get("lnf.g"), s.get("lnf.b"));
    const byPos = tf.transpose(tf.reshape(x, [B, T, d]), [1, 0, 2]); // [T, B, d]
    const parts = this.#buckets.map((bk, i) => {
      const h = bk.len === T ? byPos : tf.slice(byPos, [bk.start, 0, 0], [bk.len, B, d]);
      const bias = s.get(`head${i}.b`), outMask = this.#consts!.outMasks[i];
      // Scoring adds bias + mask ([len, 1, K], tiny) in one broadcast add over the logits instead of two.
      const logits = inference
        ? tf.add(tf.matMul(h, s.get(`head${i}.W`)), tf.add(bias, outMask))
        : tf.add(tf.add(tf.matMul(h, s.get(`head${i}.W`)), bias), outMask);
      const logp = tf.sub(logits, tf.logSumExp(logits, -1, true)); // [len, B, K]
      const y = tf.tensor2d(tgt.subarray(bk.start * B, (bk.start + bk.len) * B), [bk.len, B], "int32");
      return tf.neg(tf.sum(tf.mul(tf.oneHot(y, bk.K), logp), -1)); // [len, B]
    });
    return parts.length === 1 ? parts[0] : tf.concat(parts, 0); // [T, B] in sequence order
  }

  async fit(x: Matrix, options: FitOptions = {}): Promise<void> {
    checkFitInput(NAME, x, 2);
    this.#checkEngine();
    const rng = new Rng(this.seed);
    const train = this.#capRows(x, rng);
    this.#reference = undefined;
    this.#tok = fitTokenizer(train, {
      bins: this.params.bins,
      outEdges: this.params.outOfRange === "single" ? [] : OUT_OF_RANGE_EDGES,
      fine: this.params.fine,
    });
    await this.initWeights(this.#layout(this.#tok, rng.fork()));
    this.nFeatures = x.cols;
    await this.#train(train, options, rng);
  }

  /**
   * Continues training from the current weights on `x`, with the tokenizer kept as it was fit (values
   * outside its bins take its out-of-range tokens): the `incremental` update policy's partial fit
   * (src/adapt/adapter.ts). Unfitted, it is `fit`.
   */
  async partialFit(x: Matrix, options: FitOptions = {}): Promise<void> {
    if (this.nFeatures === undefined) return await this.fit(x, options);
    const rng = checkPartialFit(NAME, this.seed, this.nFeatures, x);
    await this.#train(this.#capRows(x, rng), options, rng);
  }

  /** At most `maxTrainRows` rows of `x`, a seeded sample in row order (bounds training time). */
  #capRows(x: Matrix, rng: Rng): Matrix {
    const cap = this.params.maxTrainRows;
    return x.rows > cap ? takeRows(x, rng.fork().sampleIndices(x.rows, cap).sort()) : x;
  }

  async #train(train: Matrix, options: FitOptions, rng: Rng): Promise<void> {
    const tokens = this.#tok!.encode(train);
    const stepRng = rng.fork();
    const { train: tr, val } = splitIds(rng.fork(), train.rows, this.params.valFraction);
    const loop = {
      rng: rng.fork(),
      train: tr,
      val,
      epochs: autoEpochs(this.params.epochs, tr.length, AUTO_ROW_PASSES[this.engine]),
      batchSize: this.params.batchSize,
      patience: this.params.patience,
      onProgress: options.onProgress,
    };
    if (this.engine === "native") {
      this.trainHistory = await this.#fitNative(tokens, loop, stepRng);
    } else {
      const tf = this.tf!;
      this.#tfConsts(tf, this.#tok!);
      this.trainHistory = await trainLoop({
        ...loop,
        tf,
        lr: this.params.lr,
        params: this.store!,
        clipNorm: 1,
        batchLoss: (ids, training) => {
          const { inp, tgt } = this.#batch(tokens, ids);
          return tf.mean(this.#nll(tf, inp, tgt, ids.length, training ? stepRng.nextUint32() : undefined));
        },
      });
    }
    // Benign per-field surprisal on rows the model did not train on (all rows when too few were held out).
    const fromVal = val.length >= MIN_STATS_ROWS;
    const held = fromVal ? val : Array.from({ length: train.rows }, (_, i) => i);
    this.#fieldStats = fieldStats(
      await this.surprisal(takeRows(train, held)),
      this.#tok!.fields.length,
      fromVal ? "validation" : "training",
    );
    // After every other draw, so that adding the reference changed no trained weight. A partial fit adds
    // its rows to the reference it had.
    const T = this.#tok!.fields.length;
    this.#reference = referenceRows(
      this.#reference ? [this.#reference, tokens] : [tokens],
      T,
      this.params.knnRows,
      rng.fork(),
    );
    this.#referenceEmb = undefined;
  }

  /**
   * Native training: the same epoch loop, Adam (tfjs's defaults) and global
   * gradient-norm clip 1 as the tfjs path; dropout masks come from `stepRng`.
   */
  async #fitNative(
    tokens: Int32Array,
    loop: Omit<
      EpochLoopOptions<Map<string, Float32Array>>,
      "trainBatch" | "valLoss" | "snapshot" | "restore"
    >,
    stepRng: Rng,
  ): Promise<TrainResult> {
    // Each field order trains its own network (own optimiser, early stopping) on the same split; the
    // first order draws its batches from `loop.rng` and `stepRng`, as a single-order model always has.
    const orders = this.#orders;
    const T = this.#tok!.fields.length, G = this.#groups(T);
    // The masked objective draws its training masks from a generator of its own (dropout keeps stepRng).
    const maskRng = this.#masked ? stepRng.fork() : undefined;
    let first: TrainResult | undefined;
    for (let k = 0; k < orders.length; k++) {
      const params = this.#orderParams(k);
      const net = this.#net(k);
      const perm = orders[k].perm;
      const opt = new Adam(params, { lr: this.params.lr, clipNorm: 1 });
      const rate = this.params.dropout;
      const own = k === 0 ? undefined : new Rng((this.seed + 1_000_003 * k) >>> 0);
      const drop = rate > 0 ? { rate, rng: own?.fork() ?? stepRng } : undefined;
      const progress = loop.onProgress;
      const r = await runEpochs({
        ...loop,
        rng: own?.fork() ?? loop.rng,
        onProgress: progress && orders.length > 1
          ? (p) => progress({ ...p, step: k * p.total + p.step, total: orders.length * p.total })
          : progress,
        valChunk: NATIVE_CHUNK,
        snapshot: () => params.snapshot(),
        restore: (s) => params.restore(s),
        trainBatch: (ids) => {
          params.zeroGrad();
          let loss: number;
          if (maskRng) {
            const mask = this.#trainingMask(ids.length, T, maskRng);
            const { inp, tgt, weights } = this.#maskedBatch(tokens, ids, mask);
            loss = net.trainStep(inp, tgt, ids.length, drop, weights);
          } else {
            const { inp, tgt } = this.#batch(tokens, ids, perm);
            loss = net.trainStep(inp, tgt, ids.length, drop);
          }
          opt.step();
          return loss;
        },
        valLoss: (ids) => {
          if (maskRng) {
            // The same masks every epoch: row r masks scoring group r mod G.
            const { inp, tgt, weights } = this.#maskedBatch(tokens, ids, (b, t) => t % G === ids[b] % G);
            return net.meanLoss(inp, tgt, ids.length, weights);
          }
          const { inp, tgt } = this.#batch(tokens, ids, perm);
          return net.meanLoss(inp, tgt, ids.length);
        },
      });
      first ??= r;
    }
    return first!;
  }

  /**
   * Per-field surprisal (nats), rows × fields, row-major; with `tail=log`, a value outside its field's
   * benign range adds ln(1 + its distance in benign ranges).
   */
  async surprisal(x: Matrix): Promise<Float32Array> {
    const out = await this.#modelSurprisal(x);
    if (this.params.tail === "log") {
      const d = this.#tok!.outOfRange(x);
      for (let i = 0; i < out.length; i++) if (d[i] > 0) out[i] += Math.log1p(d[i]);
    }
    return out;
  }

  /** The network's own per-field surprisal (nats), rows × fields, row-major. */
  async #modelSurprisal(x: Matrix): Promise<Float32Array> {
    checkScoreInput(NAME, x, this.nFeatures);
    const tok = this.#tok!;
    const T = tok.fields.length;
    const tokens = tok.encode(x);
    const out = new Float32Array(x.rows * T);
    if (this.engine === "native" && this.#masked) {
      // Pseudo-likelihood: each pass masks one group of positions (t mod G) and keeps their surprisals.
      const net = this.#net(0), perm = this.#perm, G = this.#groups(T);
      for (let r = 0; r < x.rows; r += NATIVE_CHUNK) {
        const n = Math.min(NATIVE_CHUNK, x.rows - r);
        const ids = new Int32Array(n);
        for (let i = 0; i < n; i++) ids[i] = r + i;
        for (let g = 0; g < G; g++) {
          const { inp, tgt } = this.#maskedBatch(tokens, ids, (_, t) => t % G === g);
          const v = net.forward(inp, tgt, n); // [T, n], sequence order
          for (let p = g; p < T; p += G) {
            const f = perm[p];
            for (let i = 0; i < n; i++) out[(r + i) * T + f] = v[p * n + i];
          }
        }
      }
      return out;
    }
    if (this.engine === "native") {
      // Several field orders: each field's surprisal is the mean over the orders' networks.
      const orders = this.#orders;
      const w = 1 / orders.length;
      orders.forEach(({ perm }, k) => {
        const net = this.#net(k);
        for (let r = 0; r < x.rows; r += NATIVE_CHUNK) {
          const n = Math.min(NATIVE_CHUNK, x.rows - r);
          const ids = new Int32Array(n);
          for (let i = 0; i < n; i++) ids[i] = r + i;
          const { inp, tgt } = this.#batch(tokens, ids, perm);
          const v = net.forward(inp, tgt, n); // [T, n], sequence order
          // `out` starts at 0, so one order (w = 1) writes its surprisals exactly.
          for (let p = 0; p < T; p++) {
            const f = perm[p];
            for (let i = 0; i < n; i++) out[(r + i) * T + f] += w * v[p * n + i];
          }
        }
      });
      return out;
    }
    const tf = this.tf!;
    for (let r = 0; r < x.rows; r += SCORE_CHUNK) {
      const n = Math.min(SCORE_CHUNK, x.rows - r);
      const ids = new Int32Array(n);
      for (let i = 0; i < n; i++) ids[i] = r + i;
      const { inp, tgt } = this.#batch(tokens, ids);
      const t = tf.tidy(() => this.#nll(tf, inp, tgt, n, undefined, true)); // [T, n], sequence order
      const v = await t.data() as Float32Array;
      t.dispose();
      for (let p = 0; p < T; p++) {
        const f = this.#perm[p];
        for (let i = 0; i < n; i++) out[(r + i) * T + f] = v[p * n + i];
      }
    }
    return out;
  }

  /**
   * Each row's representation in the network: the final layer norm's output at every sequence position,
   * of every field order's network, concatenated and scaled to unit length (rows × {@link FlowLm.embedDim},
   * row-major). A causal network's positions read every field but the last one of its order. Native
   * engine only.
   */
  embed(x: Matrix): Float32Array {
    checkScoreInput(NAME, x, this.nFeatures);
    if (this.engine !== "native") {
      throw new InputError(
        `${NAME}: hidden states need the native engine (OpenBLAS); this run uses ${this.engine}`,
      );
    }
    return this.#embedTokens(this.#tok!.encode(x), x.rows);
  }

  /** Values per row of {@link FlowLm.embed}. */
  get embedDim(): number {
    return (this.#tok?.fields.length ?? 0) * this.params.width * this.#orders.length;
  }

  #embedTokens(tokens: Int32Array, rows: number): Float32Array {
    const T = this.#tok!.fields.length, d = this.params.width, dim = this.embedDim, per = T * d;
    const out = new Float32Array(rows * dim);
    this.#orders.forEach(({ perm }, k) => {
      const net = this.#net(k);
      for (let r = 0; r < rows; r += NATIVE_CHUNK) {
        const n = Math.min(NATIVE_CHUNK, rows - r);
        const ids = new Int32Array(n);
        for (let i = 0; i < n; i++) ids[i] = r + i;
        const { inp, tgt } = this.#masked
          ? this.#maskedBatch(tokens, ids, () => false)
          : this.#batch(tokens, ids, perm);
        net.forward(inp, tgt, n);
        const h = net.hidden; // row b·T + t
        for (let i = 0; i < n; i++) out.set(h.subarray(i * per, (i + 1) * per), (r + i) * dim + k * per);
      }
    });
    return normaliseRows(out, dim);
  }

  /**
   * score=knn's value for each row, whatever the `score` parameter says: the distance from its
   * {@link FlowLm.embed} to that of the `knnK`-th nearest benign reference row (0 = on it, at most 2).
   */
  neighbourScore(x: Matrix): Float64Array {
    checkScoreInput(NAME, x, this.nFeatures);
    return this.#neighbourScore(x);
  }

  /** {@link FlowLm.neighbourScore} of a checked `x`. */
  #neighbourScore(x: Matrix): Float64Array {
    if (this.engine !== "native") {
      throw new InputError(
        `${NAME}: score "knn" needs the native engine (OpenBLAS); this run uses ${this.engine}`,
      );
    }
    if (!this.#reference) {
      throw new InputError(
        `${NAME}: score "knn" needs the benign reference rows, which this model (saved before they were ` +
          `kept) lacks; refit it, or use another score`,
      );
    }
    const T = this.#tok!.fields.length, dim = this.embedDim;
    const ref = this.#referenceEmb ??= this.#embedTokens(this.#reference, this.#reference.length / T);
    const tokens = this.#tok!.encode(x);
    const out = new Float64Array(x.rows);
    for (let r = 0; r < x.rows; r += KNN_CHUNK) {
      const n = Math.min(KNN_CHUNK, x.rows - r);
      const q = this.#embedTokens(tokens.subarray(r * T, (r + n) * T), n);
      out.set(kthNeighbourDistance(ref, q, dim, this.params.knnK), r);
    }
    return out;
  }

  async score(x: Matrix): Promise<Float64Array> {
    checkScoreInput(NAME, x, this.nFeatures);
    const out = new Float64Array(x.rows);
    if (x.rows === 0) return out;
    const T = this.#tok!.fields.length;
    if (this.params.score === "knn") return this.#neighbourScore(x);
    const how = this.params.score as SurprisalAggregate;
    if ((how === "zmean" || how === "ztopk") && !this.#fieldStats) {
      throw new InputError(
        `${NAME}: score "${how}" needs the benign per-field surprisal statistics, which this model (saved ` +
          `before they were kept) lacks; refit it, or use score "mean", "max" or "topk"`,
      );
    }
    return aggregateSurprisal(await this.surprisal(x), T, how, this.params.topK, this.#fieldStats);
  }

  save(): DetectorState {
    if (!this.#tok) throw new InputError(`${NAME}.save: the model is not fitted`);
    return this.saveWeights({
      format: FLOW_LM_FORMAT,
      nFeatures: this.nFeatures,
      tokenizer: this.#tok.toJSON(),
      ...(this.#fieldStats ? { fieldStats: this.#fieldStats } : {}),
      ...(this.#orders.length > 1 ? { orders: this.#orders.slice(1).map((o) => o.perm) } : {}),
      ...(this.#masked ? { objective: "masked" } : {}),
      ...(this.#reference ? { referenceRows: this.#reference.length / this.#tok.fields.length } : {}),
    }, this.#reference ? { reference: toBytes(this.#reference) } : {});
  }

  /**
   * Several field orders, the masked objective and score=knn run on the native engine only (the tfjs path builds
   * one causal network).
   */
  #checkEngine(): void {
    if (this.engine === "native") return;
    const what = this.params.orders > 1
      ? `orders ${this.params.orders}`
      : this.#masked
      ? `objective "masked"`
      : this.params.score === "knn"
      ? `score "knn"`
      : undefined;
    if (what) {
      throw new InputError(
        `${NAME}: ${what} needs the native engine (OpenBLAS); this run uses ${this.engine}`,
      );
    }
  }

  async restore(saved: DetectorState): Promise<void> {
    const st = saved.state ?? {};
    savedFormat(st.format, FLOW_LM_FORMAT, `${NAME}: saved model`);
    const nF = savedNFeatures(NAME, st);
    const tok = Tokenizer.fromJSON(st.tokenizer, NAME);
    if (tok.nCols !== nF) {
      throw new InputError(`${NAME}: saved tokenizer expects ${tok.nCols} columns, model ${nF}`);
    }
    this.#checkEngine();
    const objective = st.objective ?? "causal";
    if (objective !== this.params.objective) {
      throw new InputError(
        `${NAME}: saved model was trained with objective "${objective}", the parameters say ` +
          `"${this.params.objective}"`,
      );
    }
    const orders = checkOrders(st.orders, this.params.orders, tok.fields.length);
    await this.restoreWeights(saved, () => {
      this.#tok = tok;
      return this.#layout(tok, new Rng(0), orders);
    });
    if (this.engine === "tfjs") this.#tfConsts(this.tf!, tok);
    this.#fieldStats = st.fieldStats === undefined
      ? undefined
      : checkFieldStats(st.fieldStats, tok.fields.length);
    this.#reference = st.referenceRows === undefined ? undefined : checkReference(saved, tok);
    this.#referenceEmb = undefined;
  }

  /** Benign per-field surprisal statistics (undefined for a model saved before they were kept). */
  get fieldStats(): FieldStats | undefined {
    return this.#fieldStats;
  }

  override dispose(): void {
    super.dispose();
    this.#disposeConsts();
    this.#lms = [];
    this.#referenceEmb = undefined;
  }

  #disposeConsts(): void {
    this.#consts?.mask.dispose();
    this.#consts?.outMasks.forEach((m) => m.dispose());
    this.#consts = undefined;
  }
}

/** Rows needed in the validation split to take the benign per-field statistics from it. */
const MIN_STATS_ROWS = 50;

/**
 * The distinct rows of the token matrices `parts` (rows × `T` each, in order, first occurrence kept), at
 * most `cap` of them: a seeded sample in row order beyond it.
 */
function referenceRows(parts: readonly Int32Array[], T: number, cap: number, rng: Rng): Int32Array {
  const seen = new Set<string>();
  const keep: Int32Array[] = [];
  for (const p of parts) {
    for (let r = 0; r < p.length / T; r++) {
      const row = p.subarray(r * T, (r + 1) * T);
      const key = row.join(",");
      if (seen.has(key)) continue;
      seen.add(key);
      keep.push(row);
    }
  }
  const idx = keep.length > cap ? rng.sampleIndices(keep.length, cap).sort() : null;
  const n = idx ? idx.length : keep.length;
  const out = new Int32Array(n * T);
  for (let i = 0; i < n; i++) out.set(keep[idx ? idx[i] : i], i * T);
  return out;
}

/** The saved reference rows of score=knn: `referenceRows` rows of tokens, each inside its field's vocabulary. */
function checkReference(saved: DetectorState, tok: Tokenizer): Int32Array {
  const rows = saved.state.referenceRows, T = tok.fields.length;
  if (!Number.isInteger(rows) || (rows as number) < 1) {
    throw new InputError(
      `${NAME}: saved referenceRows must be a positive integer, found ${JSON.stringify(rows)}`,
    );
  }
  const ref = i32Blob(saved.blobs, "reference", NAME, (rows as number) * T);
  for (let i = 0; i < ref.length; i++) {
    const f = i % T, K = tok.fields[f].labels.length;
    if (!(ref[i] >= 0 && ref[i] < K)) {
      throw new InputError(
        `${NAME}: saved reference row ${Math.floor(i / T)} has token ${ref[i]} for field ` +
          `"${tok.fields[f].name}", expected 0…${K - 1} (corrupt weights)`,
      );
    }
  }
  return ref;
}

/** The aggregates {@link aggregateSurprisal} knows (flow-lm's `score` parameter but knn). */
export type SurprisalAggregate = "mean" | "max" | "topk" | "zmean" | "ztopk";

/** Each field's benign surprisal: mean and standard deviation, and which rows they came from. */
export interface FieldStats {
  mean: number[];
  std: number[];
  from: "validation" | "training";
}

/** Smallest spread a field's z-score divides by (a field the model always predicts exactly). */
const MIN_FIELD_STD = 1e-3;

/**
 * Per-field mean and standard deviation of surprisals (rows × `T`, row-major).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fieldStats } from "./flow_lm.ts";
 * const st = fieldStats(Float32Array.from([1, 10, 3, 10]), 2, "validation");
 * assert.deepEqual([st.mean, st.std], [[2, 10], [1, 0]]);
 * ```
 */
export function fieldStats(s: Float32Array, T: number, from: FieldStats["from"]): FieldStats {
  const n = T > 0 ? s.length / T : 0;
  const mean = new Array<number>(T).fill(0), std = new Array<number>(T).fill(0);
  for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) mean[t] += s[i * T + t] / n;
  for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) std[t] += (s[i * T + t] - mean[t]) ** 2 / n;
  return { mean, std: std.map(Math.sqrt), from };
}

/** The saved further field orders: `orders − 1` permutations of the `T` fields. */
function checkOrders(v: unknown, orders: number, T: number): number[][] | undefined {
  if (orders === 1 && v === undefined) return undefined;
  const ok = Array.isArray(v) && v.length === orders - 1 &&
    v.every((p) =>
      Array.isArray(p) && p.length === T && new Set(p).size === T &&
      p.every((f) => Number.isInteger(f) && f >= 0 && f < T)
    );
  if (!ok) {
    throw new InputError(
      `${NAME}: saved orders: expected ${orders - 1} permutation(s) of the ${T} fields (orders ${orders})`,
    );
  }
  return v as number[][];
}

function checkFieldStats(v: unknown, T: number): FieldStats {
  const o = v as Partial<FieldStats> | null;
  const ok = (a: unknown) => Array.isArray(a) && a.length === T && a.every((x) => Number.isFinite(x));
  if (!o || !ok(o.mean) || !ok(o.std) || (o.from !== "validation" && o.from !== "training")) {
    throw new InputError(`${NAME}: saved fieldStats: expected {mean, std} of ${T} finite numbers and from`);
  }
  return { mean: [...o.mean!], std: [...o.std!], from: o.from };
}

/**
 * Per-row score from per-field surprisals (rows × `T`, row-major): the mean,
 * the max, or the mean of the `k` largest; `zmean` and `ztopk` first
 * standardise each field by its benign `stats` (a field that is always
 * uncertain then weighs no more than one the model predicts well).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { aggregateSurprisal } from "./flow_lm.ts";
 * const s = aggregateSurprisal(Float32Array.from([1, 2, 6]), 3, "topk", 2);
 * assert.equal(s[0], 4);
 * const stats = { mean: [1, 2, 3], std: [1, 1, 3], from: "validation" as const };
 * assert.equal(aggregateSurprisal(Float32Array.from([1, 2, 6]), 3, "zmean", 5, stats)[0], 1 / 3);
 * ```
 */
export function aggregateSurprisal(
  s: Float32Array,
  T: number,
  how: SurprisalAggregate,
  k = 5,
  stats?: FieldStats,
): Float64Array {
  const rows = T > 0 ? s.length / T : 0;
  const out = new Float64Array(rows);
  const kk = Math.max(1, Math.min(T, Math.floor(k)));
  const buf = new Float64Array(T);
  const z = how === "zmean" || how === "ztopk";
  if (z && (!stats || stats.mean.length !== T)) {
    throw new RangeError(`aggregateSurprisal: "${how}" needs per-field stats for ${T} fields`);
  }
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < T; t++) {
      const v = s[i * T + t];
      buf[t] = z ? (v - stats!.mean[t]) / Math.max(stats!.std[t], MIN_FIELD_STD) : v;
    }
    if (how === "max") {
      let m = -Infinity;
      for (let t = 0; t < T; t++) m = Math.max(m, buf[t]);
      out[i] = m;
    } else if (how === "topk" || how === "ztopk") {
      buf.sort();
      let acc = 0;
      for (let t = T - kk; t < T; t++) acc += buf[t];
      out[i] = acc / kk;
    } else {
      let acc = 0;
      for (let t = 0; t < T; t++) acc += buf[t];
      out[i] = acc / T;
    }
  }
  return out;
}

/** Small, fast settings for the conformance suite and unit tests. */
export const flowLmTestParams: Record<string, unknown> = {
  layers: 1,
  heads: 2,
  width: 16,
  bins: 8,
  epochs: 3,
  batchSize: 64,
  lr: 0.01,
};

/** Registry entry for the transformer language model of flows. */
export const flowLmFactory: DetectorFactory = defineDetector({
  name: NAME,
  summary:
    "transformer LM over tokenised flows, causal or masked-field (native sgemm engine, tfjs fallback); score = mean token surprisal",
  params: flowLmParams,
  create: (params, seed) => new FlowLm(params, seed),
  conformanceParams: flowLmTestParams,
  backend: nnBackendName,
});

/** One field order of flow-lm: sequence position → field, and its output buckets. */
interface FieldOrder {
  perm: number[];
  buckets: Bucket[];
}

/** Positions `start … start+len−1` of a field order that share one output head of padded size `K`. */
interface Bucket {
  start: number;
  len: number;
  K: number;
}

/**
 * Buckets of consecutive positions of `perm` whose vocabularies lie within 2× of the bucket's first
 * (never smaller than it), so each bucket's output head is one dense batched product.
 */
function bucketize(perm: readonly number[], vocab: readonly number[]): Bucket[] {
  const out: Bucket[] = [];
  for (let t = 0; t < perm.length; t++) {
    const v = vocab[perm[t]];
    const last = out[out.length - 1];
    const first = last ? vocab[perm[last.start]] : 0;
    if (last && v >= first && v <= 2 * first) {
      last.len++;
      last.K = Math.max(last.K, v);
    } else out.push({ start: t, len: 1, K: v });
  }
  return out;
}

/**
 * Another field order: the first order's buckets in a seeded random order, and the fields inside each
 * in a seeded random order, so the buckets (and the cost of the output heads) stay as they are. Fine
 * fields (`late`) stay after every coarse field, as in the first order.
 */
function shuffledOrder(
  perm: readonly number[],
  buckets: readonly Bucket[],
  late: readonly number[],
  rng: Rng,
): number[] {
  const groups = buckets.map((b) => perm.slice(b.start, b.start + b.len));
  const early = groups.filter((g) => !late[g[0]]), after = groups.filter((g) => late[g[0]]);
  const out: number[] = [];
  for (const part of [early, after]) {
    for (const i of rng.shuffle(part.map((_, i) => i))) {
      for (const f of rng.shuffle(part[i].slice())) out.push(f);
    }
  }
  return out;
}
