/**
 * `lstm`: a sequence model over windows of consecutive flows.
 *
 * **Windows.** With `context.groups` (e.g. source host) the rows of each group
 * are ordered by `context.timestamps` (input order when absent) and every flow
 * gets the window of the `window` flows of its group ending at it (earlier
 * slots zero-padded and masked out). Without groups all rows form one
 * sequence in input order — datasets such as NSL-KDD carry no host or time, so
 * this is the only honest choice there, and it means the sequence part learns
 * little on shuffled data (the model then behaves like a per-flow
 * autoencoder). Windows never look ahead, so a flow's score only depends on
 * its past: the same rule works for batch scoring and for a live monitor.
 *
 * **Modes.**
 * - `autoencoder` (default): an encoder LSTM reads the window, a decoder LSTM
 *   fed the encoder's final state reconstructs it. The flow's score is the
 *   reconstruction error of its own (last) step of the window ending at it
 *   (`windowScore: "last"`), or the mean error over the window's real steps
 *   (`"window"`).
 * - `predict`: the LSTM reads the `window` flows *before* a flow and predicts
 *   it; the score is the prediction error.
 *
 * Errors are mean squared errors in the scaled feature space (min-max fitted
 * on training rows).
 *
 * **Engines.** The native engine (src/nn/lstm.ts: products on OpenBLAS, the
 * cell step in WebAssembly SIMD, hand-written backpropagation through time)
 * runs it by default; the tfjs implementation below is the reference and the
 * fallback (`NADIR_BACKEND=tfjs`, or no OpenBLAS). Both train with the same
 * windows, masked loss, Adam and gradient-norm clip, and save the same
 * per-gate weights, so a model saved by one scores on the other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lstmFactory } from "./lstm.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const m = lstmFactory.create({ window: 3, units: 4, epochs: 1 }, 1);
 * await m.fit(matrixFromRows([[0, 1], [1, 0], [0, 1], [1, 0], [0, 1]]));
 * const s = await m.score(matrixFromRows([[5, 5], [0, 1]]));
 * assert.equal(s.length, 2);
 * m.dispose?.();
 * ```
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs";
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import { checkFitInput, checkScoreInput } from "./_linalg.ts";
import {
  applyScaler,
  CHUNK_ROWS,
  fitScaler,
  glorot,
  ScaledTfDetector,
  splitIds,
  trainLoop,
  type WeightSpec,
} from "./_tf_nn.ts";
import { Adam } from "../nn/adam.ts";
import { LstmSeqModel } from "../nn/lstm.ts";
import type { Params } from "../nn/params.ts";
import { type EpochLoopOptions, runEpochs } from "../nn/train.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Tf } from "./tf_backend.ts";
import { nnBackendName } from "./nn_backend.ts";
import type { DetectorFactory, FitOptions, ScoreContext } from "./types.ts";

const NAME = "lstm";

/** Hyperparameters of {@link lstmFactory}. */
export const lstmParams = defineParams({
  window: { type: "int", default: 10, min: 1, max: 256, description: "flows per window" },
  units: { type: "int", default: 32, min: 1, max: 1024, description: "LSTM hidden units" },
  mode: {
    type: "string",
    default: "autoencoder",
    choices: ["autoencoder", "predict"],
    description: "sequence autoencoder or next-flow predictor",
  },
  windowScore: {
    type: "string",
    default: "last",
    choices: ["last", "window"],
    description: "autoencoder: error of the flow's own step or mean over the window",
  },
  epochs: { type: "int", default: 20, min: 1, description: "maximum training epochs" },
  batchSize: { type: "int", default: 128, min: 1, description: "mini-batch size (windows)" },
  lr: { type: "number", default: 3e-3, min: 0, description: "Adam learning rate" },
  patience: { type: "int", default: 3, min: 0, description: "early-stopping patience in epochs (0 = off)" },
  valFraction: { type: "number", default: 0.1, min: 0, max: 0.5, description: "benign windows held out" },
  maxTrainWindows: {
    type: "int",
    default: 30000,
    min: 1,
    description: "seeded subsample of training windows",
  },
  scale: {
    type: "string",
    default: "minmax",
    choices: ["minmax", "standard", "none"],
    description: "input scaling fitted on training rows",
  },
});

/** Validated hyperparameters of the LSTM. */
export type LstmParams = ParamValues<typeof lstmParams>;

/** Windows are scored this many at a time. */
const SCORE_CHUNK = 8192;

/** Windows per native forward pass when scoring or validating, at most … */
const NATIVE_CHUNK = 1024;
/** … and fewer when the per-step state of that many windows would pass this many bytes. */
const NATIVE_CHUNK_BYTES = 64 << 20;

/** Clip on the global gradient norm (both engines). */
const CLIP_NORM = 5;

/**
 * For each row, the indices of the `w` rows of its group ending at it (oldest
 * first); `pad` marks slots before the group's start.
 */
export function windowIndex(rows: number, w: number, pad: number, context?: ScoreContext): Int32Array {
  const groups = context?.groups;
  const ts = context?.timestamps;
  if (groups && groups.length !== rows) {
    throw new InputError(
      `${NAME}: context.groups has ${groups.length} entries, expected one per row (${rows})`,
    );
  }
  if (ts && ts.length !== rows) {
    throw new InputError(
      `${NAME}: context.timestamps has ${ts.length} entries, expected one per row (${rows})`,
    );
  }
  const order = Array.from({ length: rows }, (_, i) => i);
  if (groups || ts) {
    order.sort((a, b) => {
      if (groups) {
        const ga = String(groups[a]), gb = String(groups[b]);
        if (ga !== gb) return ga < gb ? -1 : 1;
      }
      if (ts && ts[a] !== ts[b]) return ts[a] - ts[b];
      return a - b;
    });
  }
  const out = new Int32Array(rows * w).fill(pad);
  let start = 0;
  for (let p = 0; p < rows; p++) {
    const i = order[p];
    if (groups && p > 0 && String(groups[order[p - 1]]) !== String(groups[i])) start = p;
    for (let k = 0; k < w; k++) {
      const q = p - (w - 1 - k);
      if (q >= start) out[i * w + k] = order[q];
    }
  }
  return out;
}

/**
 * Step-major window buffers for the native engine: inputs (W·B) × F with
 * padded slots zero, the step mask B × W and, in predict mode, the targets
 * B × F — the same windows the tfjs path builds step by step.
 */
class WindowBatch {
  x = new Float32Array(0);
  mask = new Float32Array(0);
  target = new Float32Array(0);
  err = new Float32Array(0);
  #cap = 0;

  constructor(readonly W: number, readonly F: number, readonly ae: boolean) {}

  /** Fills the buffers for windows `ids` of `win` (rows `pad` are padding). */
  fill(xs: Float32Array, win: Int32Array, ids: ArrayLike<number>, pad: number): void {
    const { W, F, ae } = this;
    const B = ids.length;
    if (B > this.#cap) {
      const cap = Math.max(B, 2 * this.#cap);
      this.x = new Float32Array(W * cap * F);
      this.mask = new Float32Array(cap * W);
      this.target = new Float32Array(cap * F);
      this.err = new Float32Array(cap * W);
      this.#cap = cap;
    }
    const { x, mask, target } = this;
    for (let b = 0; b < B; b++) {
      const base = ids[b] * W;
      for (let k = 0; k < W; k++) {
        // predict mode reads the W flows before the target: the window shifted by one.
        const r = ae ? win[base + k] : k === 0 ? pad : win[base + k - 1];
        const o = (k * B + b) * F;
        if (r !== pad) {
          for (let j = 0, s = r * F; j < F; j++) x[o + j] = xs[s + j];
          mask[b * W + k] = 1;
        } else {
          x.fill(0, o, o + F);
          mask[b * W + k] = 0;
        }
      }
      if (!ae) {
        const r = win[base + W - 1];
        target.set(xs.subarray(r * F, r * F + F), b * F);
      }
    }
  }
}

class Lstm extends ScaledTfDetector<LstmParams> {
  readonly name = NAME;
  #net: LstmSeqModel | undefined;
  #netParams: Params | undefined;

  protected override get nativeImplemented(): boolean {
    return true;
  }

  /** Windows per native inference pass: ≤ {@link NATIVE_CHUNK}, state (gates, c, tanh c, h, dH per step and cell) ≤ 64 MiB. */
  #nativeChunk(): number {
    const { window: W, units: U } = this.params;
    const cells = this.params.mode === "autoencoder" ? 2 : 1;
    const perWindow = W * 8 * U * 4 * cells;
    return Math.max(1, Math.min(NATIVE_CHUNK, Math.floor(NATIVE_CHUNK_BYTES / perWindow)));
  }

  override dispose(): void {
    super.dispose();
    this.#net = undefined;
    this.#netParams = undefined;
  }

  /** The native network over the current weights (rebuilt when the weights were replaced). */
  #model(): LstmSeqModel {
    if (!this.#net || this.#netParams !== this.native) {
      this.#net = new LstmSeqModel(
        this.native!,
        this.params.mode as "autoencoder" | "predict",
        this.nFeatures!,
        this.params.units,
      );
      this.#netParams = this.native;
    }
    return this.#net;
  }

  protected layout(F: number, rng: Rng): WeightSpec[] {
    const U = this.params.units;
    const s: WeightSpec[] = [];
    const add = (name: string, shape: number[], values: Float32Array) => s.push([name, shape, values]);
    const cells = this.params.mode === "autoencoder" ? ["enc", "dec"] : ["enc"];
    for (const c of cells) {
      const nIn = c === "enc" ? F : U;
      for (const g of ["i", "f", "g", "o"]) {
        add(`${c}.W${g}`, [nIn, U], glorot(rng, nIn, U));
        add(`${c}.U${g}`, [U, U], glorot(rng, U, U));
        // Forget-gate bias 1: the usual trick so early training keeps memory.
        add(`${c}.b${g}`, [U], new Float32Array(U).fill(g === "f" ? 1 : 0));
      }
    }
    add("out.W", [U, F], glorot(rng, U, F));
    add("out.b", [F], new Float32Array(F));
    return s;
  }

  #run(tf: Tf, cell: string, inputs: Tensor[], B: number): Tensor[] {
    const s = this.store!;
    const U = this.params.units;
    let h: Tensor = tf.zeros([B, U]);
    let c: Tensor = tf.zeros([B, U]);
    const hs: Tensor[] = [];
    const gate = (x: Tensor, g: string) =>
      tf.add(
        tf.add(tf.matMul(x, s.get(`${cell}.W${g}`)), tf.matMul(h, s.get(`${cell}.U${g}`))),
        s.get(`${cell}.b${g}`),
      );
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

  /**
   * Per-window errors for windows `ids` of `win`: returns [B, W] squared-error
   * means per step (autoencoder) or [B, 1] (predict), plus the step mask.
   */
  #errors(tf: Tf, xs: Float32Array, F: number, win: Int32Array, ids: ArrayLike<number>, pad: number): {
    err: Tensor;
    mask: Float32Array;
  } {
    const W = this.params.window;
    const B = ids.length;
    const s = this.store!;
    const ae = this.params.mode === "autoencoder";
    // predict mode reads the W flows before the target: shift the window by one.
    const steps: Tensor[] = [];
    const mask = new Float32Array(B * W);
    const target = new Float32Array(B * F);
    for (let k = 0; k < W; k++) {
      const buf = new Float32Array(B * F);
      for (let b = 0; b < B; b++) {
        const base = ids[b] * W;
        let r: number;
        if (ae) r = win[base + k];
        else r = k === 0 ? pad : win[base + k - 1];
        if (r !== pad) {
          buf.set(xs.subarray(r * F, r * F + F), b * F);
          mask[b * W + k] = 1;
        }
      }
      steps.push(tf.tensor2d(buf, [B, F]));
    }
    if (!ae) {
      for (let b = 0; b < B; b++) {
        const r = win[ids[b] * W + W - 1];
        target.set(xs.subarray(r * F, r * F + F), b * F);
      }
      const hs = this.#run(tf, "enc", steps, B);
      const pred = tf.add(tf.matMul(hs[hs.length - 1], s.get("out.W")), s.get("out.b"));
      return { err: tf.mean(tf.squaredDifference(pred, tf.tensor2d(target, [B, F])), 1, true), mask };
    }
    const enc = this.#run(tf, "enc", steps, B);
    const z = enc[enc.length - 1];
    const dec = this.#run(tf, "dec", Array.from({ length: W }, () => z), B);
    const outs = dec.map((h, k) =>
      tf.mean(tf.squaredDifference(tf.add(tf.matMul(h, s.get("out.W")), s.get("out.b")), steps[k]), 1, true)
    );
    return { err: tf.concat(outs, 1), mask }; // [B, W]
  }

  async fit(x: Matrix, options: FitOptions = {}): Promise<void> {
    checkFitInput(NAME, x, 2);
    const rng = new Rng(this.seed);
    const W = this.params.window;
    const F = x.cols;
    this.scaler = fitScaler(this.params.scale, x.data, x.rows, x.cols, {
      detector: this.name,
      names: x.names,
    });
    const xs = applyScaler(this.scaler, x.data, x.rows, x.cols);
    const win = windowIndex(x.rows, W, x.rows, options.context);
    await this.initWeights(this.layout(F, rng.fork()));
    this.nFeatures = F;
    let all = Int32Array.from({ length: x.rows }, (_, i) => i);
    const cap = this.params.maxTrainWindows;
    if (all.length > cap) all = Int32Array.from(rng.fork().sampleIndices(all.length, cap));
    const { train, val } = splitIds(rng.fork(), all.length, this.params.valFraction);
    const pick = (ids: Int32Array) => ids.map((i) => all[i]);
    const ae = this.params.mode === "autoencoder";
    const loop = {
      rng: rng.fork(),
      train: pick(train),
      val: pick(val),
      epochs: this.params.epochs,
      batchSize: this.params.batchSize,
      patience: this.params.patience,
      onProgress: options.onProgress,
    };
    if (this.engine === "native") {
      this.trainHistory = await this.#fitNative(xs, F, win, x.rows, loop);
      return;
    }
    const tf = this.tf!;
    this.trainHistory = await trainLoop({
      ...loop,
      tf,
      lr: this.params.lr,
      params: this.store!,
      clipNorm: CLIP_NORM,
      batchLoss: (ids) => {
        const { err, mask } = this.#errors(tf, xs, F, win, ids, x.rows);
        if (!ae) return tf.mean(err);
        const m = tf.tensor2d(mask, [ids.length, W]);
        return tf.div(tf.sum(tf.mul(err, m)), tf.maximum(tf.sum(m), 1));
      },
    });
  }

  /**
   * Native training: gather windows → forward → masked mean loss → BPTT →
   * Adam (global-norm clip 5), in buffers allocated once.
   */
  #fitNative(
    xs: Float32Array,
    F: number,
    win: Int32Array,
    pad: number,
    loop: Omit<
      EpochLoopOptions<Map<string, Float32Array>>,
      "trainBatch" | "valLoss" | "snapshot" | "restore"
    >,
  ) {
    const params = this.native!;
    const net = this.#model();
    const W = this.params.window;
    const opt = new Adam(params, { lr: this.params.lr, clipNorm: CLIP_NORM });
    const batch = new WindowBatch(W, F, this.params.mode === "autoencoder");
    return runEpochs({
      ...loop,
      valChunk: CHUNK_ROWS,
      snapshot: () => params.snapshot(),
      restore: (s) => params.restore(s),
      trainBatch: (ids) => {
        batch.fill(xs, win, ids, pad);
        params.zeroGrad();
        const { loss } = net.lossAndGrad(batch.x, ids.length, W, batch.mask, batch.target);
        opt.step();
        return loss;
      },
      // The loss over all of `ids` (the tfjs path's one batch), computed a sub-chunk at a time.
      valLoss: (ids) => {
        let sum = 0, count = 0;
        const chunk = this.#nativeChunk();
        for (let r = 0; r < ids.length; r += chunk) {
          const sub = ids.subarray(r, Math.min(ids.length, r + chunk));
          batch.fill(xs, win, sub, pad);
          const l = net.lossAndGrad(batch.x, sub.length, W, batch.mask, batch.target, false);
          sum += l.sum;
          count += l.count;
        }
        return sum / Math.max(count, 1);
      },
    });
  }

  /** Native per-window errors in the tfjs path's layout ([n, W] or [n, 1]) for windows r … r+n−1. */
  #errorsNative(
    xs: Float32Array,
    win: Int32Array,
    pad: number,
    r0: number,
    n: number,
    batch: WindowBatch,
  ) {
    const W = this.params.window;
    const net = this.#model();
    const cols = net.mode === "autoencoder" ? W : 1;
    const v = new Float32Array(n * cols);
    const mask = new Float32Array(n * W);
    const chunk = this.#nativeChunk();
    for (let r = 0; r < n; r += chunk) {
      const m = Math.min(chunk, n - r);
      const ids = Int32Array.from({ length: m }, (_, i) => r0 + r + i);
      batch.fill(xs, win, ids, pad);
      net.errors(batch.x, m, W, batch.target, batch.err, this.params.windowScore === "last");
      v.set(batch.err.subarray(0, m * cols), r * cols);
      mask.set(batch.mask.subarray(0, m * W), r * W);
    }
    return { v, mask };
  }

  async score(x: Matrix, context?: ScoreContext): Promise<Float64Array> {
    checkScoreInput(NAME, x, this.nFeatures);
    const out = new Float64Array(x.rows);
    if (x.rows === 0) return out;
    const W = this.params.window;
    const F = x.cols;
    const xs = applyScaler(this.scaler!, x.data, x.rows, x.cols);
    const win = windowIndex(x.rows, W, x.rows, context);
    const last = this.params.mode === "predict" || this.params.windowScore === "last";
    const native = this.engine === "native";
    const batch = new WindowBatch(W, F, this.params.mode === "autoencoder");
    for (let r = 0; r < x.rows; r += SCORE_CHUNK) {
      const n = Math.min(SCORE_CHUNK, x.rows - r);
      let mask: Float32Array = new Float32Array(0);
      let v: Float32Array;
      if (native) {
        ({ v, mask } = this.#errorsNative(xs, win, x.rows, r, n, batch));
      } else {
        const tf = this.tf!;
        const ids = Int32Array.from({ length: n }, (_, i) => r + i);
        const t = tf.tidy(() => {
          const e = this.#errors(tf, xs, F, win, ids, x.rows);
          mask = e.mask;
          return e.err;
        });
        v = await t.data() as Float32Array;
        t.dispose();
      }
      const cols = v.length / n;
      for (let i = 0; i < n; i++) {
        if (last || cols === 1) {
          out[r + i] = v[i * cols + cols - 1];
        } else {
          let s = 0, c = 0;
          for (let k = 0; k < W; k++) {
            if (mask[i * W + k]) {
              s += v[i * cols + k];
              c++;
            }
          }
          out[r + i] = s / Math.max(1, c);
        }
      }
    }
    return out;
  }
}

/** Small, fast settings for the conformance suite and unit tests. */
export const lstmTestParams: Record<string, unknown> = {
  window: 2,
  units: 8,
  epochs: 5,
  batchSize: 128,
  lr: 0.02,
};

/** Registry entry for the LSTM sequence model. */
export const lstmFactory: DetectorFactory = defineDetector({
  name: NAME,
  summary:
    "LSTM sequence autoencoder / next-flow predictor over per-host windows (native sgemm engine, tfjs fallback)",
  params: lstmParams,
  create: (params, seed) => new Lstm(params, seed),
  conformanceParams: lstmTestParams,
  backend: nnBackendName,
});
