/**
 * `kitnet`: KitNET, the anomaly detector of Kitsune (Mirsky, Doitshman, Elovici
 * & Shabtai, "Kitsune: An Ensemble of Autoencoders for Online Network
 * Intrusion Detection", NDSS 2018), in plain TypeScript so that one packet
 * costs microseconds.
 *
 * 1. Feature mapping (the first `fmGrace` rows): incremental correlation
 *    statistics are kept for every feature pair; when the grace period ends
 *    the features are clustered by correlation distance (1 − |corr|-like, as in
 *    the paper's reference implementation: 1 − C/(√rss·√rssᵀ)) with
 *    single-linkage agglomerative clustering, and the dendrogram is cut
 *    top-down until no cluster has more than `maxAESize` features.
 * 2. Ensemble layer: one small autoencoder per cluster (hidden size
 *    ⌈`hiddenRatio` · inputs⌉, sigmoid units, tied weights, plain SGD with
 *    learning rate `learningRate`), each normalising its inputs to [0, 1] with
 *    running min/max seen during training.
 * 3. Output layer: one autoencoder over the ensemble's RMSEs. The row's score
 *    is the output autoencoder's reconstruction RMSE.
 *
 * Streaming: `learnOne` feeds the feature mapper during the grace period, then
 * trains the ensemble and output layer; `scoreOne` returns NaN until the map is
 * built and every autoencoder has seen at least one row. Per row after the
 * grace period the work is O(features × maxAESize), i.e. linear in the
 * features. `fit(x)` is exactly `learnOne` over the rows in order (`epochs`
 * passes of the autoencoder phase), and `score(x)` is `scoreOne` per row, so
 * batch and streaming agree bit for bit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { isStreaming } from "./types.ts";
 * const d = createDetector("kitnet", { fmGrace: 50 }, 1);
 * assert.ok(isStreaming(d), "kitnet streams");
 * for (let i = 0; i < 500; i++) d.learnOne([Math.random(), Math.random(), 0.5]);
 * assert.ok(Number.isFinite(d.scoreOne([0.5, 0.5, 0.5])));
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import { checkFitInput, checkOne, checkScoreInput, f64Blob, stateNumber, toBytes } from "./_linalg.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { DetectorFactory, DetectorState, FitOptions, StreamingDetector } from "./types.ts";

const PARAMS = defineParams({
  maxAESize: { type: "int", default: 10, min: 1, description: "most features per ensemble autoencoder (m)" },
  fmGrace: {
    type: "int",
    default: 5000,
    min: 1,
    description: "rows used for feature mapping before autoencoders train",
  },
  hiddenRatio: {
    type: "number",
    default: 0.75,
    min: 0.01,
    max: 1,
    description: "hidden units / visible units",
  },
  learningRate: { type: "number", default: 0.1, min: 0, description: "SGD learning rate" },
  epochs: {
    type: "int",
    default: 1,
    min: 1,
    description: "passes of fit() over the post-grace rows (1 = streaming)",
  },
});

/** Validated hyperparameters of the KitNET detector. */
export type KitNetParams = ParamValues<typeof PARAMS>;

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/**
 * Largest magnitude of a min-max-scaled input. A row far outside the training
 * range (a test value of 1e300 against a range of 1e-3) would otherwise scale
 * to ±Infinity, and ∞·w sums of mixed sign give NaN in the sigmoids. At 1e100
 * the squared errors of any autoencoder stay far below float64's 1.8e308, and
 * no ordinary row comes near: it would have to lie 1e100 ranges away.
 */
const SCALED_LIMIT = 1e100;

/**
 * Min-max scaling of a value for which the direct formula overflowed: the
 * training range itself overflows float64 (min −1e308, max 1e308 give
 * Infinity, and Infinity/Infinity = NaN would poison the weights during
 * `learnOne`), or the value is astronomically far outside it. Halving every
 * term keeps the differences finite; the result is clamped to
 * ±{@link SCALED_LIMIT}.
 */
function scaleExtreme(raw: number, min: number, max: number): number {
  const t = (raw / 2 - min / 2) / (max / 2 - min / 2 + 5e-17);
  return t > SCALED_LIMIT ? SCALED_LIMIT : t < -SCALED_LIMIT ? -SCALED_LIMIT : t;
}

/**
 * One denoising-free autoencoder with tied weights, as in Kitsune's dA:
 * y = σ(x̃W + b_h), z = σ(yWᵀ + b_v), inputs scaled by running min/max.
 */
class TinyAE {
  readonly nv: number;
  readonly nh: number;
  readonly w: Float64Array; // nv × nh
  readonly hb: Float64Array;
  readonly vb: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  trained = 0;
  // scratch
  readonly #x: Float64Array;
  readonly #y: Float64Array;
  readonly #z: Float64Array;
  readonly #e: Float64Array;
  readonly #eh: Float64Array;

  constructor(nv: number, nh: number, rng: Rng | undefined) {
    this.nv = nv;
    this.nh = nh;
    this.w = new Float64Array(nv * nh);
    this.hb = new Float64Array(nh);
    this.vb = new Float64Array(nv);
    this.min = new Float64Array(nv).fill(Infinity);
    this.max = new Float64Array(nv).fill(-Infinity);
    if (rng) {
      const a = 1 / nv; // Kitsune: W ~ U(-1/n_visible, 1/n_visible)
      for (let i = 0; i < this.w.length; i++) this.w[i] = (rng.next() * 2 - 1) * a;
    }
    this.#x = new Float64Array(nv);
    this.#y = new Float64Array(nh);
    this.#z = new Float64Array(nv);
    this.#e = new Float64Array(nv);
    this.#eh = new Float64Array(nh);
  }

  #forward(): void {
    const nv = this.nv, nh = this.nh, w = this.w, x = this.#x, y = this.#y, z = this.#z;
    for (let h = 0; h < nh; h++) {
      let s = this.hb[h];
      for (let v = 0; v < nv; v++) s += x[v] * w[v * nh + h];
      y[h] = sigmoid(s);
    }
    for (let v = 0; v < nv; v++) {
      let s = this.vb[v];
      const o = v * nh;
      for (let h = 0; h < nh; h++) s += y[h] * w[o + h];
      z[v] = sigmoid(s);
    }
  }

  #load(src: ArrayLike<number>, idx: Int32Array | undefined): void {
    const x = this.#x;
    for (let v = 0; v < this.nv; v++) {
      const raw = idx ? src[idx[v]] : src[v];
      const t = (raw - this.min[v]) / (this.max[v] - this.min[v] + 1e-16);
      // `!(|t| <= limit)` also catches NaN; ordinary rows never reach the slow path, so their scores are Kitsune's.
      x[v] = t >= -SCALED_LIMIT && t <= SCALED_LIMIT ? t : scaleExtreme(raw, this.min[v], this.max[v]);
    }
  }

  /** One SGD step on a row; returns the RMSE before the update. */
  train(src: ArrayLike<number>, idx: Int32Array | undefined, lr: number): number {
    for (let v = 0; v < this.nv; v++) {
      const raw = idx ? src[idx[v]] : src[v];
      if (raw < this.min[v]) this.min[v] = raw;
      if (raw > this.max[v]) this.max[v] = raw;
    }
    this.#load(src, idx);
    this.#forward();
    const nv = this.nv,
      nh = this.nh,
      w = this.w,
      x = this.#x,
      y = this.#y,
      z = this.#z,
      e = this.#e,
      eh = this.#eh;
    let se = 0;
    for (let v = 0; v < nv; v++) {
      e[v] = x[v] - z[v];
      se += e[v] * e[v];
    }
    // Kitsune's gradient (its L_h2 omits the output sigmoid's derivative).
    for (let h = 0; h < nh; h++) {
      let s = 0;
      for (let v = 0; v < nv; v++) s += e[v] * w[v * nh + h];
      eh[h] = s * y[h] * (1 - y[h]);
    }
    for (let v = 0; v < nv; v++) {
      const o = v * nh, xv = x[v], ev = e[v];
      for (let h = 0; h < nh; h++) w[o + h] += lr * (xv * eh[h] + ev * y[h]);
    }
    for (let h = 0; h < nh; h++) this.hb[h] += lr * eh[h];
    for (let v = 0; v < nv; v++) this.vb[v] += lr * e[v];
    this.trained++;
    return Math.sqrt(se / nv);
  }

  /** Reconstruction RMSE of a row (no learning). */
  execute(src: ArrayLike<number>, idx: Int32Array | undefined): number {
    this.#load(src, idx);
    this.#forward();
    let se = 0;
    for (let v = 0; v < this.nv; v++) {
      const t = this.#x[v] - this.#z[v];
      se += t * t;
    }
    return Math.sqrt(se / this.nv);
  }

  /** Packs weights, biases and normalisation into one array. */
  pack(): Float64Array {
    const out = new Float64Array(this.w.length + this.nh + 3 * this.nv);
    let o = 0;
    for (const a of [this.w, this.hb, this.vb, this.min, this.max]) {
      out.set(a, o);
      o += a.length;
    }
    return out;
  }

  static unpack(nv: number, nh: number, src: Float64Array, offset: number): TinyAE {
    const ae = new TinyAE(nv, nh, undefined);
    let o = offset;
    for (const a of [ae.w, ae.hb, ae.vb, ae.min, ae.max]) {
      a.set(src.subarray(o, o + a.length));
      o += a.length;
    }
    return ae;
  }

  static packedLength(nv: number, nh: number): number {
    return nv * nh + nh + 3 * nv;
  }
}

/**
 * Kitsune's incremental correlation statistics (corClust): running sums of
 * residuals against the running mean, their squares and cross products.
 */
class CorrelationStats {
  readonly d: number;
  n = 0;
  readonly c: Float64Array;
  readonly cr: Float64Array;
  readonly crs: Float64Array;
  readonly cc: Float64Array; // d × d
  readonly #rt: Float64Array;

  constructor(d: number) {
    this.d = d;
    this.c = new Float64Array(d);
    this.cr = new Float64Array(d);
    this.crs = new Float64Array(d);
    this.cc = new Float64Array(d * d);
    this.#rt = new Float64Array(d);
  }

  update(x: ArrayLike<number>): void {
    const d = this.d, rt = this.#rt;
    this.n++;
    for (let j = 0; j < d; j++) {
      this.c[j] += x[j];
      rt[j] = x[j] - this.c[j] / this.n;
      this.cr[j] += rt[j];
      this.crs[j] += rt[j] * rt[j];
    }
    for (let a = 0; a < d; a++) {
      const ra = rt[a], o = a * d;
      if (ra === 0) continue;
      for (let b = a; b < d; b++) this.cc[o + b] += ra * rt[b];
    }
  }

  /** Correlation distance matrix D = 1 − C / (√rss √rssᵀ) (upper triangle used). */
  distance(): Float64Array {
    const d = this.d, out = new Float64Array(d * d);
    const s = new Float64Array(d);
    for (let j = 0; j < d; j++) s[j] = this.crs[j] > 0 ? Math.sqrt(this.crs[j]) : 1e-100;
    for (let a = 0; a < d; a++) {
      for (let b = a + 1; b < d; b++) {
        let v = 1 - this.cc[a * d + b] / (s[a] * s[b]);
        if (v < 0) v = 0;
        // Sums that overflowed on huge inputs (∞ − ∞) say nothing about the pair: call it uncorrelated
        // rather than let NaN (every comparison false) drive the clustering.
        else if (Number.isNaN(v)) v = 1;
        out[a * d + b] = out[b * d + a] = v;
      }
    }
    return out;
  }

  /** Clusters features: single linkage, dendrogram cut top-down to clusters of ≤ maxSize. */
  cluster(maxSize: number): number[][] {
    const d = this.d;
    if (d <= maxSize) return [Array.from({ length: d }, (_, i) => i)];
    const dist = this.distance();
    // Single-linkage agglomeration (O(d³) worst case; d is at most a few hundred and this runs once).
    type Node = { members: number[]; left?: Node; right?: Node };
    let active: Node[] = Array.from({ length: d }, (_, i) => ({ members: [i] }));
    const link = new Float64Array(d * d); // cluster-to-cluster single-link distance, by active index
    link.set(dist);
    let size = d;
    const idxOf = Array.from({ length: d }, (_, i) => i); // active slot → row/col in link
    while (active.length > 1) {
      let best = Infinity, ba = 0, bb = 1;
      for (let a = 0; a < size; a++) {
        for (let b = a + 1; b < size; b++) {
          const v = link[idxOf[a] * d + idxOf[b]];
          if (v < best) {
            best = v;
            ba = a;
            bb = b;
          }
        }
      }
      const merged: Node = {
        members: [...active[ba].members, ...active[bb].members],
        left: active[ba],
        right: active[bb],
      };
      const ra = idxOf[ba], rb = idxOf[bb];
      for (let t = 0; t < size; t++) {
        const r = idxOf[t];
        const v = Math.min(link[ra * d + r], link[rb * d + r]);
        link[ra * d + r] = link[r * d + ra] = v;
      }
      active[ba] = merged;
      active = active.filter((_, t) => t !== bb);
      idxOf.splice(bb, 1);
      size--;
    }
    const out: number[][] = [];
    const cut = (n: Node): void => {
      if (n.members.length <= maxSize || !n.left || !n.right) out.push([...n.members].sort((a, b) => a - b));
      else {
        cut(n.left);
        cut(n.right);
      }
    };
    cut(active[0]);
    return out;
  }
}

/** The KitNET detector. */
export class KitNetDetector implements StreamingDetector {
  readonly name = "kitnet";
  readonly params: Readonly<KitNetParams>;
  readonly #seed: number;
  #d: number | undefined;
  #seen = 0;
  #stats: CorrelationStats | undefined;
  #map: Int32Array[] | undefined;
  #ensemble: TinyAE[] = [];
  #output: TinyAE | undefined;
  #s: Float64Array = new Float64Array(0);
  #lastLoss = NaN;

  constructor(params: KitNetParams, seed: number) {
    this.params = params;
    this.#seed = seed;
  }

  get nFeatures(): number | undefined {
    return this.#d;
  }

  /** The feature map (feature indices per ensemble autoencoder), once built. */
  get featureMap(): number[][] | undefined {
    return this.#map?.map((a) => Array.from(a));
  }

  /** Rows learned so far (grace period included). */
  get seen(): number {
    return this.#seen;
  }

  /** True once `scoreOne` returns numbers. */
  get ready(): boolean {
    return this.#output !== undefined && this.#output.trained > 0;
  }

  #buildEnsemble(): void {
    const maxSize = this.params.maxAESize, ratio = this.params.hiddenRatio;
    const groups = this.#stats!.cluster(maxSize);
    this.#map = groups.map((g) => Int32Array.from(g));
    const rng = new Rng(this.#seed);
    this.#ensemble = this.#map.map((g) => new TinyAE(g.length, Math.ceil(g.length * ratio), rng));
    const k = this.#map.length;
    this.#output = new TinyAE(k, Math.ceil(k * ratio), rng);
    this.#s = new Float64Array(k);
    this.#stats = undefined; // O(d²) memory is only needed during the grace period
  }

  learnOne(x: ArrayLike<number>): void {
    checkOne(this.name, "learnOne", x, this.#d);
    this.#learn(x);
  }

  #learn(x: ArrayLike<number>): void {
    if (this.#d === undefined) this.#d = x.length;
    const grace = this.params.fmGrace;
    this.#seen++;
    if (!this.#map) {
      if (!this.#stats) this.#stats = new CorrelationStats(this.#d);
      this.#stats.update(x);
      if (this.#seen >= grace) this.#buildEnsemble();
      return;
    }
    const lr = this.params.learningRate;
    const s = this.#s;
    for (let a = 0; a < this.#ensemble.length; a++) s[a] = this.#ensemble[a].train(x, this.#map[a], lr);
    this.#lastLoss = this.#output!.train(s, undefined, lr);
  }

  scoreOne(x: ArrayLike<number>): number {
    checkOne(this.name, "scoreOne", x, this.#d);
    return this.#score(x);
  }

  #score(x: ArrayLike<number>, s = new Float64Array(this.#ensemble.length)): number {
    if (!this.ready) return NaN;
    // `s` is scratch owned by the caller, so scoring leaves the model untouched.
    for (let a = 0; a < this.#ensemble.length; a++) s[a] = this.#ensemble[a].execute(x, this.#map![a]);
    return this.#output!.execute(s, undefined);
  }

  fit(x: Matrix, options: FitOptions = {}): void {
    checkFitInput(this.name, x);
    if (this.#d !== undefined && x.cols !== this.#d) {
      throw new InputError(
        `kitnet.fit: expected ${this.#d} feature columns (as learned so far), found ${x.cols}`,
      );
    }
    const grace = this.params.fmGrace;
    const epochs = this.params.epochs;
    const pending = Math.max(0, grace - this.#seen);
    if (x.rows <= pending) {
      throw new InputError(
        `kitnet.fit: ${x.rows} rows do not outlast the feature-mapping grace period (fmGrace = ${grace}); ` +
          `pass more rows or lower fmGrace`,
      );
    }
    const d = x.cols, data = x.data;
    const total = pending + (x.rows - pending) * epochs;
    let step = 0;
    const every = Math.max(1, Math.floor(total / 100));
    for (let e = 0; e < epochs; e++) {
      for (let i = e === 0 ? 0 : pending; i < x.rows; i++) {
        this.#learn(data.subarray(i * d, i * d + d));
        if (++step % every === 0) options.onProgress?.({ step, total, loss: this.#lastLoss });
      }
    }
    options.onProgress?.({ step: total, total, loss: this.#lastLoss });
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.ready ? this.#d : undefined);
    const d = x.cols, out = new Float64Array(x.rows), scratch = new Float64Array(this.#ensemble.length);
    for (let i = 0; i < x.rows; i++) out[i] = this.#score(x.data.subarray(i * d, i * d + d), scratch);
    return out;
  }

  save(): DetectorState {
    if (!this.ready) {
      throw new InputError("kitnet.save: the model is not ready (still in the feature-mapping grace period)");
    }
    const parts: Float64Array[] = [];
    const shapes: number[][] = [];
    for (const ae of [...this.#ensemble, this.#output!]) {
      parts.push(ae.pack());
      shapes.push([ae.nv, ae.nh, ae.trained]);
    }
    const total = parts.reduce((s, p) => s + p.length, 0);
    const weights = new Float64Array(total);
    let o = 0;
    for (const p of parts) {
      weights.set(p, o);
      o += p.length;
    }
    return {
      state: {
        nFeatures: this.#d,
        seen: this.#seen,
        featureMap: this.featureMap,
        shapes,
        weightCount: total,
      },
      blobs: { weights: toBytes(weights) },
    };
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    const n = this.name, s = saved.state;
    const d = stateNumber(s, "nFeatures", n);
    const map = s.featureMap, shapes = s.shapes;
    const bad = (what: string) => new InputError(`kitnet: saved state ${what} (corrupt model)`);
    if (!Array.isArray(map) || !Array.isArray(shapes) || shapes.length !== map.length + 1) {
      throw bad("featureMap/shapes are missing or disagree");
    }
    const weights = f64Blob(saved.blobs, "weights", n, stateNumber(s, "weightCount", n));
    let o = 0;
    const aes: TinyAE[] = [];
    for (const sh of shapes) {
      if (!Array.isArray(sh) || sh.length !== 3 || !sh.every((v) => Number.isInteger(v) && v >= 0)) {
        throw bad("has a malformed autoencoder shape");
      }
      const len = TinyAE.packedLength(sh[0], sh[1]);
      if (o + len > weights.length) throw bad("has fewer weights than its shapes need");
      const ae = TinyAE.unpack(sh[0], sh[1], weights, o);
      ae.trained = sh[2];
      aes.push(ae);
      o += len;
    }
    this.#map = (map as unknown[]).map((g, i) => {
      if (
        !Array.isArray(g) || g.length !== aes[i].nv || !g.every((f) => Number.isInteger(f) && f >= 0 && f < d)
      ) {
        throw bad(`has a malformed feature map entry ${i}`);
      }
      return Int32Array.from(g as number[]);
    });
    this.#output = aes.pop();
    if (this.#output!.nv !== this.#map.length) throw bad("output layer size disagrees with the feature map");
    this.#ensemble = aes;
    this.#s = new Float64Array(aes.length);
    this.#d = d;
    this.#seen = stateNumber(s, "seen", n);
    return this;
  }
}

/** Registry entry. */
export const kitnet: DetectorFactory = defineDetector({
  name: "kitnet",
  summary: "Kitsune's KitNET (NDSS 2018): correlation-clustered ensemble of tiny autoencoders; streaming",
  params: PARAMS,
  create: (params, seed) => new KitNetDetector(params, seed),
  conformanceParams: { fmGrace: 100, maxAESize: 4, epochs: 10 },
});
