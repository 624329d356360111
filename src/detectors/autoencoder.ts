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
import { checkFitInput, checkScoreInput } from "./_linalg.ts";
import {
  activate,
  applyScaler,
  CHUNK_ROWS,
  dropout,
  fitScaler,
  glorot,
  ParamStore,
  ScaledTfDetector,
  splitIds,
  trainLoop,
} from "./_tf_nn.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import { initTf, type Tf, tfBackendName } from "./tf_backend.ts";
import type { DetectorFactory, FitOptions } from "./types.ts";

const NAME = "autoencoder";

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
  dropout: { type: "number", default: 0, min: 0, max: 0.9, description: "dropout rate on hidden layers" },
  noise: {
    type: "number",
    default: 0,
    min: 0,
    description: "std of Gaussian input noise (denoising AE; 0 = off)",
  },
  epochs: { type: "int", default: 50, min: 1, description: "maximum training epochs" },
  batchSize: { type: "int", default: 256, min: 1, description: "mini-batch size" },
  lr: { type: "number", default: 1e-3, min: 0, description: "Adam learning rate" },
  patience: { type: "int", default: 5, min: 0, description: "early-stopping patience in epochs (0 = off)" },
  valFraction: {
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

  get layers(): number[] {
    return this.params.layers;
  }

  protected build(tf: Tf, nIn: number, rng: Rng): ParamStore {
    const sizes = [nIn, ...this.layers, nIn];
    const store = new ParamStore(tf);
    for (let l = 0; l + 1 < sizes.length; l++) {
      store.add(`W${l}`, [sizes[l], sizes[l + 1]], glorot(rng, sizes[l], sizes[l + 1]));
      store.add(`b${l}`, [sizes[l + 1]], new Float32Array(sizes[l + 1]));
    }
    this.#sizes = sizes;
    return store;
  }

  /** Forward pass: reconstruction of `x` (already scaled). */
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
    const tf = this.tf = await initTf();
    const rng = new Rng(this.seed);
    this.store?.dispose();
    this.scaler = fitScaler(this.params.scale, x.data, x.rows, x.cols, {
      detector: this.name,
      names: x.names,
    });
    const xs = applyScaler(this.scaler, x.data, x.rows, x.cols);
    this.store = this.build(tf, x.cols, rng.fork());
    this.nFeatures = x.cols;
    const all = tf.tensor2d(xs, [x.rows, x.cols]);
    const stepRng = rng.fork();
    const noise = this.params.noise;
    try {
      const { train, val } = splitIds(rng.fork(), x.rows, this.params.valFraction);
      this.trainHistory = await trainLoop({
        tf,
        rng: rng.fork(),
        train,
        val,
        epochs: this.params.epochs,
        batchSize: this.params.batchSize,
        patience: this.params.patience,
        lr: this.params.lr,
        params: this.store,
        onProgress: options.onProgress,
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

  /** Per-feature squared reconstruction errors (rows × cols, scaled space). */
  async featureErrors(x: Matrix): Promise<Float32Array> {
    checkScoreInput(NAME, x, this.nFeatures);
    const tf = this.tf!;
    const xs = applyScaler(this.scaler!, x.data, x.rows, x.cols);
    const out = new Float32Array(x.rows * x.cols);
    for (let r = 0; r < x.rows; r += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, x.rows - r);
      const t = tf.tidy(() => {
        const xb = tf.tensor2d(xs.subarray(r * x.cols, (r + n) * x.cols), [n, x.cols]);
        return tf.squaredDifference(this.#forward(tf, xb), xb);
      });
      out.set(await t.data() as Float32Array, r * x.cols);
      t.dispose();
    }
    return out;
  }

  async score(x: Matrix): Promise<Float64Array> {
    checkScoreInput(NAME, x, this.nFeatures);
    const out = new Float64Array(x.rows);
    if (x.rows === 0) return out;
    const tf = this.tf!;
    const xs = applyScaler(this.scaler!, x.data, x.rows, x.cols);
    const useMax = this.params.score === "max";
    for (let r = 0; r < x.rows; r += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, x.rows - r);
      const t = tf.tidy(() => {
        const xb = tf.tensor2d(xs.subarray(r * x.cols, (r + n) * x.cols), [n, x.cols]);
        const e = tf.squaredDifference(this.#forward(tf, xb), xb);
        return useMax ? tf.max(e, 1) : tf.mean(e, 1);
      });
      out.set(await t.data() as Float32Array, r);
      t.dispose();
    }
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
  summary: "dense autoencoder (tfjs); score = reconstruction error",
  params: autoencoderParams,
  create: (params, seed) => new Autoencoder(params, seed),
  conformanceParams: autoencoderTestParams,
  backend: tfBackendName,
});
