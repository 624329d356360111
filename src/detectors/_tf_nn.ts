/**
 * Building blocks shared by the tfjs detectors (autoencoder, lstm, flow-lm):
 * seeded weight initialisation, a named parameter store that saves to and
 * loads from binary blobs, a fitted column scaler, chunked inference, and a
 * mini-batch training loop with a benign validation split and early stopping.
 *
 * Weights are created from nadir's own seeded {@link Rng} (not tfjs's
 * initialisers) and batches are shuffled with it, so a seed fixes the whole
 * training run; on a deterministic backend (single-threaded wasm, cpu) the
 * same seed gives bit-identical scores.
 *
 * @module
 */
import type { Tensor, Variable } from "@tensorflow/tfjs";
import type { Matrix } from "../data/matrix.ts";
import { initTf, type Tf } from "./tf_backend.ts";
import { Rng } from "../util/random.ts";
import { InputError } from "../util/errors.ts";
import type { Detector, DetectorState, FitOptions, ScoreContext } from "./types.ts";
import { runEpochs, type TrainResult } from "../nn/train.ts";
import { decodeWeightBlob, Params } from "../nn/params.ts";
import { toBytes } from "../util/bytes.ts";
import { nnEngine } from "../nn/engine.ts";

/** Rows per inference chunk: big enough to amortise kernel launches, small enough for memory. */
export const CHUNK_ROWS = 16384;

/** Glorot-uniform values for a `fanIn × fanOut` weight. */
export function glorot(rng: Rng, fanIn: number, fanOut: number, size = fanIn * fanOut): Float32Array {
  const lim = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.next() * 2 - 1) * lim;
  return out;
}

/** Normal(0, std) values. */
export function normalInit(rng: Rng, size: number, std: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal(0, std);
  return out;
}

/** Named trainable variables with blob (de)serialisation. */
export class ParamStore {
  readonly tf: Tf;
  readonly vars = new Map<string, Variable>();
  constructor(tf: Tf) {
    this.tf = tf;
  }

  /** Adds a variable initialised from `values`. */
  add(name: string, shape: number[], values: Float32Array): Variable {
    if (this.vars.has(name)) throw new Error(`duplicate parameter ${name}`);
    const v = this.tf.variable(this.tf.tensor(values, shape, "float32"), true, undefined);
    this.vars.set(name, v);
    return v;
  }

  get(name: string): Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`unknown parameter ${name}`);
    return v;
  }

  list(): Variable[] {
    return [...this.vars.values()];
  }

  /** Number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Copies current values (for "restore best weights"). */
  snapshot(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.vars) out.set(k, v.dataSync() as Float32Array);
    return out;
  }

  restore(snap: Map<string, Float32Array>): void {
    for (const [k, v] of this.vars) {
      const vals = snap.get(k);
      if (vals) v.assign(this.tf.tensor(vals, v.shape, "float32"));
    }
  }

  /** One little-endian float32 blob per variable plus a shape table for the manifest. */
  toBlobs(prefix = "w."): { shapes: Record<string, number[]>; blobs: Record<string, Uint8Array> } {
    const shapes: Record<string, number[]> = {};
    const blobs: Record<string, Uint8Array> = {};
    for (const [k, v] of this.vars) {
      shapes[k] = v.shape.slice();
      blobs[prefix + k] = toBytes(v.dataSync() as Float32Array);
    }
    return { shapes, blobs };
  }

  /** Replaces values from blobs written by {@link toBlobs}; checks names and sizes. */
  fromBlobs(
    detector: string,
    shapes: Record<string, number[]>,
    blobs: Record<string, Uint8Array> | undefined,
    prefix = "w.",
  ): void {
    for (const [k, v] of this.vars) {
      const f = decodeWeightBlob(detector, k, v.shape, shapes[k], blobs?.[prefix + k], prefix);
      v.assign(this.tf.tensor(f, v.shape, "float32"));
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** Per-column affine scaling fitted on training data (min-max, z-score or identity). */
export interface Scaler {
  kind: "none" | "minmax" | "standard";
  shift: number[];
  scale: number[];
}

/**
 * Fits a scaler on row-major float64 data. Constant columns get scale 1.
 *
 * A column whose spread overflows float64 (values from −1e308 to 1e308: the
 * range, or the sum of squared deviations, is Infinity) cannot be scaled —
 * the scale would be 0 and ∞·0 = NaN would reach the network — so it is an
 * {@link InputError} naming the column (`where.detector`, `where.names`).
 */
export function fitScaler(
  kind: Scaler["kind"],
  data: Float64Array,
  rows: number,
  cols: number,
  where: { detector?: string; names?: readonly string[] } = {},
): Scaler {
  const shift = new Array(cols).fill(0);
  const scale = new Array(cols).fill(1);
  if (kind === "none") return { kind, shift, scale };
  const overflow = (j: number, lo: number, hi: number, what: string) =>
    new InputError(
      `${where.detector ?? "scaler"}.fit: column "${where.names?.[j] ?? j + 1}" spans ${lo} to ${hi}; ` +
        `its ${what} overflows float64 (expected a spread below ${Number.MAX_VALUE}); ` +
        `rescale the column first (e.g. log1p)`,
    );
  // Extremes in one row-major pass: a column at a time strides the whole matrix once per column
  // (78 passes over 42 MB for NSL-KDD: 30 ms against 5 measured).
  const los = new Float64Array(cols).fill(Infinity), his = new Float64Array(cols).fill(-Infinity);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = data[o + j];
      if (v < los[j]) los[j] = v;
      if (v > his[j]) his[j] = v;
    }
  }
  if (kind === "minmax") {
    for (let j = 0; j < cols; j++) {
      const lo = los[j], hi = his[j];
      if (!Number.isFinite(hi - lo)) throw overflow(j, lo, hi, "range (max − min)");
      shift[j] = lo;
      scale[j] = hi - lo > 1e-12 ? 1 / (hi - lo) : 1;
    }
    return { kind, shift, scale };
  }
  // Mean, then the sum of squared deviations, each in one row-major pass (same summation order per column).
  const mean = new Float64Array(cols), ss = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0, o = i * cols; j < cols; j++) mean[j] += data[o + j];
  for (let j = 0; j < cols; j++) mean[j] /= rows;
  for (let i = 0; i < rows; i++) {
    for (let j = 0, o = i * cols; j < cols; j++) ss[j] += (data[o + j] - mean[j]) ** 2;
  }
  for (let j = 0; j < cols; j++) {
    const m = mean[j], s = ss[j];
    if (!Number.isFinite(m) || !Number.isFinite(s)) throw overflow(j, los[j], his[j], "mean or variance");
    const sd = Math.sqrt(s / rows);
    shift[j] = m;
    scale[j] = sd > 1e-12 ? 1 / sd : 1;
  }
  return { kind, shift, scale };
}

/**
 * Largest magnitude of a scaled value handed to tfjs. Float32 ends at 3.4e38:
 * a test value of 1e300 in a column trained on [0, 1] would become Infinity,
 * and ∞ − ∞ inside a matrix product NaN. At 1e12 a squared error stays below
 * float32's limit even if a network amplifies its input ten-million-fold, and
 * no ordinary row comes near (it would lie 1e12 training ranges or standard
 * deviations away).
 */
export const SCALED_LIMIT = 1e12;

/** Applies a scaler, returning float32 (tfjs) values clamped to ±{@link SCALED_LIMIT}. */
export function applyScaler(s: Scaler, data: Float64Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  applyScalerInto(s, data, 0, rows, cols, out);
  return out;
}

/**
 * {@link applyScaler} of rows `start … start+rows−1` into `out` (rows × cols
 * at offset 0): lets chunked scoring reuse one buffer.
 */
export function applyScalerInto(
  s: Scaler,
  data: Float64Array,
  start: number,
  rows: number,
  cols: number,
  out: Float32Array,
): void {
  // Typed copies: indexing plain number[] in the inner loop costs ~3× here (measured on 60 k × 78).
  const shift = Float64Array.from(s.shift), scale = Float64Array.from(s.scale);
  for (let i = 0; i < rows; i++) {
    const o = i * cols, src = (start + i) * cols;
    for (let j = 0; j < cols; j++) {
      // Finite inputs and positive finite scales: v is finite or ±Infinity, never NaN.
      const v = (data[src + j] - shift[j]) * scale[j];
      out[o + j] = v > SCALED_LIMIT ? SCALED_LIMIT : v < -SCALED_LIMIT ? -SCALED_LIMIT : v;
    }
  }
}

/**
 * A gatherer of training mini-batches: `(ids, out)` writes rows `ids` of
 * `data` (the rows `s` was fitted on), scaled, into `out` in the order given
 * — {@link applyScaler} and a row gather in one pass.
 *
 * Why not scale the whole matrix once and gather from that: the scaled copy
 * is fresh memory (21 MB for NSL-KDD), and first-touch page faults on this
 * VM made that one pass cost 80–90 ms of the autoencoder's 0.6 s fit, more
 * than scaling every gathered row of five epochs (measured).
 *
 * Rows the scaler was fitted on scale into [0, 1] (min-max) or within √rows
 * standard deviations, so only `none` needs the ±{@link SCALED_LIMIT} clamp.
 *
 * Four rows go side by side: at 60 k × 78 values the source is larger than
 * the TLB reaches, so a random row costs a page walk before its first value,
 * and one row at a time leaves those walks waiting in line; four independent
 * rows in one loop keep several in flight (a shuffled NSL-KDD epoch of plain
 * float32 gathers took 31 ms this way against 65 one row at a time).
 */
export function scaledRowGatherer(
  s: Scaler,
  data: Float64Array,
  cols: number,
): (ids: Int32Array, out: Float32Array) => void {
  const shift = Float64Array.from(s.shift), scale = Float64Array.from(s.scale), F = cols;
  if (s.kind === "none") {
    return (ids, out) => {
      for (let i = 0; i < ids.length; i++) {
        const a = ids[i] * F, o = i * F;
        for (let j = 0; j < F; j++) {
          const v = data[a + j];
          out[o + j] = v > SCALED_LIMIT ? SCALED_LIMIT : v < -SCALED_LIMIT ? -SCALED_LIMIT : v;
        }
      }
    };
  }
  return (ids, out) => {
    const n = ids.length;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const a0 = ids[i] * F, a1 = ids[i + 1] * F, a2 = ids[i + 2] * F, a3 = ids[i + 3] * F;
      const o0 = i * F, o1 = o0 + F, o2 = o1 + F, o3 = o2 + F;
      for (let j = 0; j < F; j++) {
        const c = shift[j], k = scale[j];
        out[o0 + j] = (data[a0 + j] - c) * k;
        out[o1 + j] = (data[a1 + j] - c) * k;
        out[o2 + j] = (data[a2 + j] - c) * k;
        out[o3 + j] = (data[a3 + j] - c) * k;
      }
    }
    for (; i < n; i++) {
      const a = ids[i] * F, o = i * F;
      for (let j = 0; j < F; j++) out[o + j] = (data[a + j] - shift[j]) * scale[j];
    }
  };
}

/** Validates a saved scaler. */
export function checkScaler(detector: string, s: unknown, cols: number): Scaler {
  const sc = s as Scaler;
  if (
    !sc || !Array.isArray(sc.shift) || !Array.isArray(sc.scale) || sc.shift.length !== cols ||
    sc.scale.length !== cols
  ) {
    throw new InputError(`${detector}: saved model has no valid scaler for ${cols} features`);
  }
  return sc;
}

/** Options for {@link trainLoop}. */
export interface TrainLoopOptions {
  tf: Tf;
  rng: Rng;
  /** Training example ids (already excluding validation). */
  train: Int32Array;
  /** Validation example ids (may be empty: then no early stopping). */
  val: Int32Array;
  epochs: number;
  batchSize: number;
  patience: number;
  params: ParamStore;
  /** Lr-scheduled optimiser. */
  lr: number;
  /** Loss of one batch of example ids (scalar tensor), used inside optimizer.minimize. */
  batchLoss: (ids: Int32Array, training: boolean) => Tensor;
  onProgress?: FitOptions["onProgress"];
  /** Gradient-norm clip (0 = off). */
  clipNorm?: number;
}

/** Result of {@link trainLoop}. */
export type { TrainResult };

/**
 * Mini-batch Adam on tfjs inside the shared epoch loop ({@link runEpochs}:
 * seeded shuffling, validation, early stopping, best-weight restore).
 */
export async function trainLoop(o: TrainLoopOptions): Promise<TrainResult> {
  const { tf } = o;
  const opt = tf.train.adam(o.lr);
  const vars = o.params.list();
  try {
    return await runEpochs({
      rng: o.rng,
      train: o.train,
      val: o.val,
      epochs: o.epochs,
      batchSize: o.batchSize,
      patience: o.patience,
      valChunk: CHUNK_ROWS,
      onProgress: o.onProgress,
      snapshot: () => o.params.snapshot(),
      restore: (s) => o.params.restore(s),
      trainBatch: async (ids) => {
        const l = tf.tidy(() => {
          if (!o.clipNorm) {
            return opt.minimize(() => o.batchLoss(ids, true) as any, true, vars) as Tensor;
          }
          const { value, grads } = tf.variableGrads(() => o.batchLoss(ids, true) as any, vars);
          const names = Object.keys(grads);
          const norm = tf.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k]))))).dataSync()[0];
          const f = norm > o.clipNorm ? o.clipNorm / norm : 1;
          const clipped: Record<string, Tensor> = {};
          for (const k of names) clipped[k] = f === 1 ? grads[k] : tf.mul(grads[k], f);
          opt.applyGradients(clipped as any);
          return value;
        });
        const v = (await l.data())[0];
        l.dispose();
        return v;
      },
      valLoss: async (ids) => {
        const t = tf.tidy(() => o.batchLoss(ids, false));
        const v = (await t.data())[0];
        t.dispose();
        return v;
      },
    });
  } finally {
    opt.dispose();
  }
}

/** Splits `n` example ids into seeded train / validation parts. */
export function splitIds(rng: Rng, n: number, valFraction: number): { train: Int32Array; val: Int32Array } {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  rng.shuffle(ids);
  let nVal = Math.floor(n * valFraction);
  if (n - nVal < 1) nVal = n - 1;
  if (nVal < 2) nVal = 0; // too few rows to validate on: train on everything
  return { train: ids.slice(nVal), val: ids.slice(0, nVal) };
}

/** Activation by name. */
export function activate(tf: Tf, x: Tensor, name: string): Tensor {
  switch (name) {
    case "relu":
      return tf.relu(x);
    case "tanh":
      return tf.tanh(x);
    case "sigmoid":
      return tf.sigmoid(x);
    case "elu":
      return tf.elu(x);
    case "gelu":
      return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
    case "linear":
      return x;
  }
  throw new Error(`unknown activation ${name}`);
}

/** Inverted dropout with a per-call seed (deterministic given the seed). */
export function dropout(tf: Tf, x: Tensor, rate: number, seed: number): Tensor {
  if (rate <= 0) return x;
  const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, "float32", seed), rate), "float32");
  return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
}

/** The positive integer `nFeatures` of a saved tfjs detector's state, or an InputError naming the detector. */
export function savedNFeatures(detector: string, state: Record<string, unknown>): number {
  const nF = state.nFeatures;
  if (typeof nF !== "number" || !Number.isInteger(nF) || nF < 1) {
    throw new InputError(`${detector}: saved state has no valid nFeatures (found ${JSON.stringify(nF)})`);
  }
  return nF;
}

/** Training history a tfjs detector keeps and saves (loss and validation loss per epoch). */
export interface History {
  epochs: number;
  loss: number[];
  valLoss: number[];
}

/** One weight of a model's layout: name, shape and initial values (drawn from the seeded Rng). */
export type WeightSpec = [name: string, shape: number[], values: Float32Array];

/** A tfjs {@link ParamStore} holding `specs`. */
export function storeFrom(tf: Tf, specs: WeightSpec[]): ParamStore {
  const s = new ParamStore(tf);
  for (const [name, shape, values] of specs) s.add(name, shape, values);
  return s;
}

/** A native {@link Params} set holding `specs`. */
export function paramsFrom(specs: WeightSpec[]): Params {
  const p = new Params();
  for (const [name, shape, values] of specs) p.add(name, shape, values);
  return p;
}

/**
 * What every neural detector (autoencoder, lstm, flow-lm) holds: its typed
 * params and seed, the engine that runs it (see src/nn/engine.ts: native
 * sgemm kernels, or tfjs), the weights — a native {@link Params} set or a
 * tfjs {@link ParamStore}, built from one {@link WeightSpec} layout so both
 * engines start from the same seeded values — and the last training history;
 * and how those are saved and restored. The weights go to one blob per
 * variable, the rest to JSON state as `{ ...head, shapes, history }` (the key
 * order of the versioned model format), identical for both engines.
 */
export abstract class TfDetector<P extends Record<string, unknown>> implements Detector {
  abstract readonly name: string;
  readonly params: Readonly<P>;
  nFeatures: number | undefined;
  protected readonly seed: number;
  protected tf: Tf | undefined;
  /** tfjs weights (engine "tfjs"). */
  protected store: ParamStore | undefined;
  /** Native weights (engine "native"). */
  protected native: Params | undefined;
  protected trainHistory: History | undefined;

  constructor(params: P, seed: number) {
    this.params = params;
    this.seed = seed;
  }

  /** Whether this detector has a native implementation (false: always tfjs). */
  protected get nativeImplemented(): boolean {
    return false;
  }

  /** The engine that fits, restores and scores this model, decided per process (NADIR_BACKEND). */
  get engine(): "native" | "tfjs" {
    return this.nativeImplemented ? nnEngine().name : "tfjs";
  }

  /** Training history of the last fit (or of the saved model). */
  get history(): History | undefined {
    return this.trainHistory;
  }

  abstract fit(x: Matrix, options?: FitOptions): Promise<void>;
  abstract score(x: Matrix, context?: ScoreContext): Promise<Float64Array>;
  abstract save(): DetectorState;

  /**
   * Saved state `{ ...head, shapes, history }` plus the weight blobs (named `w.…`) and the detector's `extra`
   * blobs; throws when not fitted.
   */
  protected saveWeights(
    head: Record<string, unknown>,
    extra: Record<string, Uint8Array> = {},
  ): DetectorState {
    const w = this.native ?? this.store;
    if (!w || this.nFeatures === undefined) {
      throw new InputError(`${this.name}.save: the model is not fitted`);
    }
    const { shapes, blobs } = w.toBlobs();
    return { state: { ...head, shapes, history: this.trainHistory }, blobs: { ...blobs, ...extra } };
  }

  /**
   * Reverse of {@link saveWeights}: checks `nFeatures`, lets `layout` check
   * the detector's own state and lay out the weights (for `nFeatures`
   * inputs), builds them on the engine in use, then fills them from the
   * blobs, which checks every name and size.
   */
  protected async restoreWeights(
    saved: DetectorState,
    layout: (nFeatures: number, state: Record<string, unknown>) => WeightSpec[],
  ): Promise<void> {
    const st = saved.state ?? {};
    const nF = savedNFeatures(this.name, st);
    const specs = layout(nF, st);
    const shapes = (st.shapes ?? {}) as Record<string, number[]>;
    this.dispose();
    if (this.engine === "native") {
      const p = paramsFrom(specs);
      p.fromBlobs(this.name, shapes, saved.blobs);
      this.native = p;
    } else {
      const tf = this.tf = await initTf();
      const store = storeFrom(tf, specs);
      store.fromBlobs(this.name, shapes, saved.blobs);
      this.store = store;
    }
    this.nFeatures = nF;
    this.trainHistory = st.history as History | undefined;
  }

  /** Builds fresh weights from `specs` on the engine in use (drops earlier ones). */
  protected async initWeights(specs: WeightSpec[]): Promise<void> {
    this.dispose();
    if (this.engine === "native") this.native = paramsFrom(specs);
    else this.store = storeFrom(this.tf = await initTf(), specs);
  }

  dispose(): void {
    this.store?.dispose();
    this.store = undefined;
    this.native = undefined;
  }
}

/**
 * A {@link TfDetector} whose inputs pass through one fitted {@link Scaler}
 * (autoencoder, lstm): saved as `{ nFeatures, scaler, shapes, history }`.
 */
export abstract class ScaledTfDetector<P extends Record<string, unknown>> extends TfDetector<P> {
  protected scaler: Scaler | undefined;

  /** The weight layout for `nFeatures` inputs, initialised from `rng`. */
  protected abstract layout(nFeatures: number, rng: Rng): WeightSpec[];

  save(): DetectorState {
    return this.saveWeights({ nFeatures: this.nFeatures, scaler: this.scaler });
  }

  /** Restores a model saved by {@link save} (the registry's `load` calls this). */
  async restore(saved: DetectorState): Promise<void> {
    await this.restoreWeights(saved, (nF, st) => {
      this.scaler = checkScaler(this.name, st.scaler, nF);
      return this.layout(nF, new Rng(0));
    });
  }
}
