/**
 * `autoencoder`: a dense autoencoder trained on benign rows; the anomaly score
 * is the reconstruction error (mean squared error over features, or the
 * largest per-feature squared error).
 *
 * Inputs are scaled with a scaler fitted on the training rows (min-max by
 * default, so already min-max-scaled matrices pass through unchanged); test
 * values outside the training range are not clipped, so they show up as large
 * errors. A seeded fraction of the benign rows is held out for early stopping
 * and the best weights are restored. Optional denoising (Gaussian input noise)
 * and dropout use per-step seeds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { autoencoderFactory } from "./autoencoder.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const ae = autoencoderFactory.create({ layers: [4, 2, 4], epochs: 2 }, 1);
 * await ae.fit(matrixFromRows([[0, 1], [1, 0], [0.5, 0.5], [0.2, 0.8]]));
 * const s = await ae.score(matrixFromRows([[9, 9]]));
 * assert.equal(s.length, 1);
 * assert.ok(s[0] > 0);
 * ae.dispose?.();
 * ```
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs";
import type { Matrix } from "../data/matrix.ts";
import { Rng } from "../util/random.ts";
import { checkFitInput, checkPartialFit, checkScoreInput } from "./_linalg.ts";
import {
  activate,
  applyScaler,
  applyScalerInto,
  CHUNK_ROWS,
  dropout,
  fitScaler,
  glorot,
  scaledRowGatherer,
  ScaledTfDetector,
  splitIds,
  trainLoop,
  type WeightSpec,
} from "./_tf_nn.ts";
import { Adam } from "../nn/adam.ts";
import { Mlp } from "../nn/mlp.ts";
import { type Activation, mseLoss } from "../nn/ops.ts";
import { type EpochLoopOptions, runEpochs } from "../nn/train.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Tf } from "./tf_backend.ts";
import { nnBackendName } from "./nn_backend.ts";
import type { DetectorFactory, FitOptions } from "./types.ts";

const NAME = "autoencoder";

/** Rows the native engine scores per chunk (its buffers are reused across chunks and calls). */
const NATIVE_CHUNK = 2048;

/** Hyperparameters of {@link autoencoderFactory}. */
export const autoencoderParams = defineParams({
  layers: {
    type: "int[]",
    default: [64, 32, 64],
    description: "hidden layer sizes (encoder, bottleneck, decoder)",
  },
  activation: {
    type: "string",
    default: "relu",
    choices: ["relu", "tanh", "elu", "sigmoid", "gelu"],
    description: "hidden activation",
  },
  dropout: {
    tunable: true,
    type: "number",
    default: 0,
    min: 0,
    max: 0.9,
    description: "dropout rate on hidden layers",
  },
  noise: {
    tunable: true,
    type: "number",
    default: 0,
    min: 0,
    description: "std of Gaussian input noise (denoising AE; 0 = off)",
  },
  epochs: { tunable: true, type: "int", default: 50, min: 1, description: "maximum training epochs" },
  batchSize: { tunable: true, type: "int", default: 256, min: 1, description: "mini-batch size" },
  lr: { tunable: true, type: "number", default: 1e-3, min: 0, description: "Adam learning rate" },
  patience: {
    tunable: true,
    type: "int",
    default: 5,
    min: 0,
    description: "early-stopping patience in epochs (0 = off)",
  },
  valFraction: {
    tunable: true,
    type: "number",
    default: 0.1,
    min: 0,
    max: 0.5,
    description: "benign rows held out for early stopping",
  },
  scale: {
    type: "string",
    default: "minmax",
    choices: ["minmax", "standard", "none"],
    description: "input scaling fitted on training rows",
  },
  score: {
    tunable: true,
    type: "string",
    default: "mse",
    choices: ["mse", "max"],
    description: "reconstruction error aggregate",
  },
});

/** Validated hyperparameters of the autoencoder. */
export type AutoencoderParams = ParamValues<typeof autoencoderParams>;

class Autoencoder extends ScaledTfDetector<AutoencoderParams> {
  readonly name = NAME;
  #sizes: number[] = [];
  #mlp: Mlp | undefined;

  get layers(): number[] {
    return this.params.layers;
  }

  protected override get nativeImplemented(): boolean {
    return true;
  }

  protected layout(nIn: number, rng: Rng): WeightSpec[] {
    const sizes = [nIn, ...this.layers, nIn];
    const specs: WeightSpec[] = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      specs.push([`W${l}`, [sizes[l], sizes[l + 1]], glorot(rng, sizes[l], sizes[l + 1])]);
      specs.push([`b${l}`, [sizes[l + 1]], new Float32Array(sizes[l + 1])]);
    }
    this.#sizes = sizes;
    return specs;
  }

  /** The native network over the current weights (rebuilt when the weights were replaced). */
  #net(): Mlp {
    if (!this.#mlp || this.#mlpParams !== this.native) {
      this.#mlp = new Mlp(this.native!, this.#sizes, this.params.activation as Activation);
      this.#mlpParams = this.native;
    }
    return this.#mlp;
  }
  #mlpParams: unknown;

  /** tfjs forward pass: reconstruction of `x` (already scaled). */
  #forward(tf: Tf, x: Tensor, dropSeed?: number): Tensor {
    const store = this.store!;
    const nL = this.#sizes.length - 1;
    let h = x;
    for (let l = 0; l < nL; l++) {
      h = tf.add(tf.matMul(h, store.get(`W${l}`)), store.get(`b${l}`));
      if (l < nL - 1) {
        h = activate(tf, h, this.params.activation);
        if (dropSeed !== undefined) h = dropout(tf, h, this.params.dropout, dropSeed + l);
      }
    }
    return h;
  }

  async fit(x: Matrix, options: FitOptions = {}): Promise<void> {
    checkFitInput(NAME, x, 2);
    const rng = new Rng(this.seed);
    this.scaler = fitScaler(this.params.scale, x.data, x.rows, x.cols, {
      detector: this.name,
      names: x.names,
    });
    await this.initWeights(this.layout(x.cols, rng.fork()));
    this.nFeatures = x.cols;
    await this.#train(x, options, rng);
  }

  /**
   * Continues training from the current weights on `x`, with the scaler kept as it was fit: the
   * `incremental` update policy's partial fit (src/adapt/adapter.ts). Unfitted, it is `fit`.
   */
  async partialFit(x: Matrix, options: FitOptions = {}): Promise<void> {
    if (this.nFeatures === undefined) return await this.fit(x, options);
    await this.#train(x, options, checkPartialFit(NAME, this.seed, this.nFeatures, x));
  }

  async #train(x: Matrix, options: FitOptions, rng: Rng): Promise<void> {
    const scaler = this.scaler!;
    const stepRng = rng.fork();
    const { train, val } = splitIds(rng.fork(), x.rows, this.params.valFraction);
    const loop = {
      rng: rng.fork(),
      train,
      val,
      epochs: this.params.epochs,
      batchSize: this.params.batchSize,
      patience: this.params.patience,
      onProgress: options.onProgress,
    };
    if (this.engine === "native") {
      this.trainHistory = await this.#fitNative(
        scaledRowGatherer(scaler, x.data, x.cols),
        loop,
        stepRng,
      );
      return;
    }
    const xs = applyScaler(scaler, x.data, x.rows, x.cols);
    const tf = this.tf!;
    const all = tf.tensor2d(xs, [x.rows, x.cols]);
    const noise = this.params.noise;
    try {
      this.trainHistory = await trainLoop({
        ...loop,
        tf,
        lr: this.params.lr,
        params: this.store!,
        batchLoss: (ids, training) => {
          const xb = tf.gather(all, tf.tensor1d(ids, "int32"));
          let inp = xb;
          let seed: number | undefined;
          if (training) {
            seed = stepRng.nextUint32();
            if (noise > 0) {
              inp = tf.add(xb, tf.randomNormal(xb.shape, 0, noise, "float32", seed ^ 0x5bd1e995));
            }
          }
          const rec = this.#forward(tf, inp, training ? seed : undefined);
          return tf.mean(tf.squaredDifference(rec, xb));
        },
      });
    } finally {
      all.dispose();
    }
  }

  /** Native training: gather → (noise) → forward → MSE → backward → Adam, all in preallocated buffers. */
  #fitNative(
    gatherScaled: (ids: Int32Array, out: Float32Array) => void,
    loop: Omit<
      EpochLoopOptions<Map<string, Float32Array>>,
      "trainBatch" | "valLoss" | "snapshot" | "restore"
    >,
    stepRng: Rng,
  ) {
    const params = this.native!;
    const net = this.#net();
    const opt = new Adam(params, { lr: this.params.lr });
    const { noise, dropout: rate } = this.params;
    let inp = new Float32Array(0); // noisy inputs (denoising), when noise > 0
    // Batches go into the network's own input buffer, so the loss runs in SIMD on workspace views.
    const gather = (ids: Int32Array) => {
      const xb = net.inputBuffer(ids.length);
      gatherScaled(ids, xb);
      return xb;
    };
    return runEpochs({
      ...loop,
      // Small validation chunks: every buffer sized by a chunk is fresh memory whose page faults cost more
      // than the validation itself at 16 k rows (≈40 ms per 11 MB here).
      valChunk: NATIVE_CHUNK,
      snapshot: () => params.snapshot(),
      restore: (s) => params.restore(s),
      trainBatch: (ids) => {
        const xb = gather(ids), n = xb.length;
        let x = xb;
        if (noise > 0) {
          if (inp.length < n) inp = new Float32Array(n);
          for (let i = 0; i < n; i++) inp[i] = xb[i] + stepRng.normal(0, noise);
          x = inp;
        }
        const rec = net.forward(x, ids.length, rate > 0 ? { rate, rng: stepRng } : undefined);
        const grad = net.outputGrad(ids.length); // in the network's workspace: its bias gradient in SIMD
        const loss = mseLoss(rec, xb, n, grad);
        net.backward(grad, { accumulate: false }); // the network is the only user of its weights
        opt.step();
        return loss;
      },
      valLoss: (ids) => {
        const xb = gather(ids);
        return mseLoss(net.forward(xb, ids.length), xb, xb.length);
      },
    });
  }

  /**
   * Squared reconstruction errors of scaled rows, chunk by chunk; `each(r, n, e)`
   * gets rows r … r+n−1 and their n × cols errors (a view, valid during the call).
   *
   * The native engine scales and scores {@link NATIVE_CHUNK} rows at a time in
   * buffers kept between calls: a fresh input-sized Float32Array costs more in
   * page faults (≈40 ms for 11 MB here) than the whole forward pass.
   */
  async #errors(x: Matrix, each: (r: number, n: number, e: Float32Array) => void): Promise<void> {
    const F = x.cols;
    if (this.engine === "native") {
      const net = this.#net();
      if (this.#scoreBuf.length < NATIVE_CHUNK * F) this.#scoreBuf = new Float32Array(NATIVE_CHUNK * F);
      if (this.#errBuf.length < NATIVE_CHUNK * F) this.#errBuf = new Float32Array(NATIVE_CHUNK * F);
      const xb = this.#scoreBuf, e = this.#errBuf;
      for (let r = 0; r < x.rows; r += NATIVE_CHUNK) {
        const n = Math.min(NATIVE_CHUNK, x.rows - r);
        applyScalerInto(this.scaler!, x.data, r, n, F, xb);
        const rec = net.forward(xb, n);
        for (let i = 0; i < n * F; i++) {
          const d = rec[i] - xb[i];
          e[i] = d * d;
        }
        each(r, n, e.subarray(0, n * F));
      }
      return;
    }
    const xs = applyScaler(this.scaler!, x.data, x.rows, x.cols);
    for (let r = 0; r < x.rows; r += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, x.rows - r);
      const xb = xs.subarray(r * F, (r + n) * F);
      const tf = this.tf!;
      const t = tf.tidy(() => {
        const xt = tf.tensor2d(xb, [n, F]);
        return tf.squaredDifference(this.#forward(tf, xt), xt);
      });
      each(r, n, await t.data() as Float32Array);
      t.dispose();
    }
  }
  #scoreBuf = new Float32Array(0);
  #errBuf = new Float32Array(0);

  /** Per-feature squared reconstruction errors (rows × cols, scaled space). */
  async featureErrors(x: Matrix): Promise<Float32Array> {
    checkScoreInput(NAME, x, this.nFeatures);
    const out = new Float32Array(x.rows * x.cols);
    await this.#errors(x, (r, _n, e) => out.set(e, r * x.cols));
    return out;
  }

  async score(x: Matrix): Promise<Float64Array> {
    checkScoreInput(NAME, x, this.nFeatures);
    const out = new Float64Array(x.rows);
    if (x.rows === 0) return out;
    const F = x.cols;
    const useMax = this.params.score === "max";
    // Both engines aggregate in float32 the way tf.mean/tf.max do, so scores agree to float32 rounding.
    await this.#errors(x, (r, n, e) => {
      for (let i = 0; i < n; i++) {
        let agg = useMax ? -Infinity : 0;
        for (let j = 0; j < F; j++) {
          const v = e[i * F + j];
          if (useMax) agg = v > agg ? v : agg;
          else agg += v;
        }
        out[r + i] = Math.fround(useMax ? agg : agg / F);
      }
    });
    return out;
  }
}

/** Small, fast settings for the conformance suite and unit tests. */
export const autoencoderTestParams: Record<string, unknown> = {
  layers: [8, 4, 8],
  epochs: 10,
  batchSize: 64,
  lr: 0.01,
};

/** Registry entry for the dense autoencoder. */
export const autoencoderFactory: DetectorFactory = defineDetector({
  name: NAME,
  summary: "dense autoencoder (native sgemm engine, tfjs fallback); score = reconstruction error",
  params: autoencoderParams,
  create: (params, seed) => new Autoencoder(params, seed),
  conformanceParams: autoencoderTestParams,
  backend: nnBackendName,
});
