/**
 * `kmeans`: k-means clustering of benign rows; a row's score is its distance to
 * the nearest centroid divided by that cluster's radius, so a score of 1 means
 * "as far out as the cluster's `radiusQuantile` member" whatever the cluster's
 * spread.
 *
 * - Initialisation: k-means++ (Arthur & Vassilvitskii 2007) with the greedy
 *   variant's `2 + ln k` local trials, as scikit-learn does.
 * - Training: Lloyd's algorithm accelerated with Hamerly's bounds (exact, same
 *   result as plain Lloyd), or mini-batch k-means (Sculley 2010) when
 *   `batchSize > 0`.
 * - Radius of cluster c: the `radiusQuantile` quantile (default 0.95) of the
 *   distances of c's training members to c, floored at 1 % of the median
 *   positive radius so that clusters of identical rows do not divide by zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const d = createDetector("kmeans", { k: 2 }, 1);
 * await d.fit(matrixFromRows([[0, 0], [0, 1], [10, 10], [10, 11]]));
 * const s = await d.score(matrixFromRows([[0, 0.5], [50, 50]]));
 * assert.ok(s[1] > s[0], `an outlier scores higher: ${s[1]} > ${s[0]}`);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import {
  checkFitInput,
  checkMagnitude,
  checkScoreInput,
  f64Blob,
  quantileSorted,
  saturateScore,
  sqDist,
  sqDistBounded,
  stateNumber,
  toBytes,
} from "./_linalg.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const PARAMS = defineParams({
  k: { type: "int", default: 8, min: 1, description: "number of clusters" },
  maxIter: {
    type: "int",
    default: 300,
    min: 1,
    description: "Lloyd iterations (or mini-batch epochs) at most",
  },
  tol: {
    type: "number",
    default: 1e-4,
    min: 0,
    description: "stop when centroids move less than tol × mean feature variance (squared)",
  },
  batchSize: {
    type: "int",
    default: 0,
    min: 0,
    description: "0 = full-batch Lloyd; > 0 = mini-batch k-means with this batch size",
  },
  radiusQuantile: {
    type: "number",
    default: 0.95,
    min: 0,
    max: 1,
    description: "quantile of member distances that defines a cluster's radius",
  },
});

/**
 * Largest training value k-means accepts: centroids, inertia and variances
 * sum squares over rows and columns, which stay finite below ±1e100 for any
 * realistic matrix (and any real feature is far below it). Scoring accepts
 * every finite value; distances that overflow saturate (see saturateScore).
 */
const FIT_LIMIT = 1e100;

/** Validated hyperparameters of the k-means detector. */
export type KMeansParams = ParamValues<typeof PARAMS>;

/** The k-means detector. */
export class KMeansDetector implements Detector {
  readonly name = "kmeans";
  readonly params: Readonly<KMeansParams>;
  readonly #seed: number;
  #d: number | undefined;
  #k = 0;
  #centroids: Float64Array = new Float64Array(0);
  #radii: Float64Array = new Float64Array(0);
  #inertia = NaN;
  #iterations = 0;

  constructor(params: KMeansParams, seed: number) {
    this.params = params;
    this.#seed = seed;
  }

  get nFeatures(): number | undefined {
    return this.#d;
  }

  /** Centroids, row-major k × nFeatures (a copy). */
  get centroids(): Float64Array {
    return this.#centroids.slice();
  }

  /** Per-cluster radii (a copy). */
  get radii(): Float64Array {
    return this.#radii.slice();
  }

  fit(x: Matrix, options: FitOptions = {}): void {
    checkFitInput(this.name, x);
    checkMagnitude(
      "kmeans.fit",
      x,
      FIT_LIMIT,
      "k-means sums squared distances, which overflow float64 beyond",
    );
    const k = this.params.k;
    if (k > x.rows) {
      throw new InputError(`kmeans.fit: parameter k = ${k} exceeds the ${x.rows} training rows; lower k`);
    }
    const rng = new Rng(this.#seed);
    const d = x.cols;
    const tolScaled = this.params.tol * meanVariance(x);
    const centroids = kmeansPlusPlus(x, k, rng);
    const batch = this.params.batchSize;
    const maxIter = this.params.maxIter;
    const labels = new Int32Array(x.rows);
    if (batch > 0) {
      this.#iterations = miniBatch(x, centroids, k, batch, maxIter, tolScaled, rng, options);
      assignAll(x, centroids, k, labels);
    } else {
      this.#iterations = hamerlyLloyd(x, centroids, k, maxIter, tolScaled, labels, options);
    }
    // Radii from the final assignment.
    const dists: number[][] = Array.from({ length: k }, () => []);
    let inertia = 0;
    for (let i = 0; i < x.rows; i++) {
      const s = sqDist(x.data, i * d, centroids, labels[i] * d, d);
      inertia += s;
      dists[labels[i]].push(Math.sqrt(s));
    }
    const q = this.params.radiusQuantile;
    const radii = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      const a = Float64Array.from(dists[c]).sort();
      radii[c] = a.length ? quantileSorted(a, q) : 0;
    }
    const positive = Array.from(radii).filter((r) => r > 0).sort((a, b) => a - b);
    const floor = positive.length ? 0.01 * quantileSorted(positive, 0.5) : 1e-12;
    for (let c = 0; c < k; c++) radii[c] = Math.max(radii[c], floor, 1e-12);
    this.#k = k;
    this.#d = d;
    this.#centroids = centroids;
    this.#radii = radii;
    this.#inertia = inertia;
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.#d);
    const d = this.#d!, k = this.#k, c = this.#centroids, data = x.data;
    const out = new Float64Array(x.rows);
    // Centre-to-centre distances: by the triangle inequality, centre j cannot be
    // nearer than the current best b when ‖c_b − c_j‖ ≥ 2‖x − c_b‖ (Elkan 2003).
    const cc = new Float64Array(k * k);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) cc[a * k + b] = Math.sqrt(sqDist(c, a * d, c, b * d, d));
    }
    let guess = 0; // consecutive rows are often in the same cluster
    for (let i = 0; i < x.rows; i++) {
      let bc = guess;
      let best = sqDist(data, i * d, c, bc * d, d);
      let twice = 2 * Math.sqrt(best);
      for (let j = 0; j < k; j++) {
        if (j === bc || cc[bc * k + j] >= twice) continue;
        const s = sqDistBounded(data, i * d, c, j * d, d, best);
        if (s < best) {
          best = s;
          bc = j;
          twice = 2 * Math.sqrt(best);
        }
      }
      guess = bc;
      out[i] = saturateScore(Math.sqrt(best) / this.#radii[bc]);
    }
    return out;
  }

  save(): DetectorState {
    if (this.#d === undefined) throw new InputError("kmeans.save: the model is not fitted");
    return {
      state: { k: this.#k, nFeatures: this.#d, inertia: this.#inertia, iterations: this.#iterations },
      blobs: { centroids: toBytes(this.#centroids), radii: toBytes(this.#radii) },
    };
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    const k = stateNumber(saved.state, "k", this.name), d = stateNumber(saved.state, "nFeatures", this.name);
    this.#centroids = f64Blob(saved.blobs, "centroids", this.name, k * d);
    this.#radii = f64Blob(saved.blobs, "radii", this.name, k);
    this.#k = k;
    this.#d = d;
    this.#inertia = typeof saved.state.inertia === "number" ? saved.state.inertia : NaN;
    this.#iterations = typeof saved.state.iterations === "number" ? saved.state.iterations : 0;
    return this;
  }
}

function meanVariance(x: Matrix): number {
  const d = x.cols, n = x.rows;
  let total = 0;
  for (let j = 0; j < d; j++) {
    let m = 0, m2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x.data[i * d + j];
      m += v;
      m2 += v * v;
    }
    m /= n;
    total += Math.max(0, m2 / n - m * m);
  }
  return total / d;
}

/** Greedy k-means++ seeding. */
function kmeansPlusPlus(x: Matrix, k: number, rng: Rng): Float64Array {
  const n = x.rows, d = x.cols, data = x.data;
  const c = new Float64Array(k * d);
  const first = rng.int(n);
  c.set(data.subarray(first * d, first * d + d), 0);
  const closest = new Float64Array(n);
  let pot = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = sqDist(data, i * d, c, 0, d);
    pot += closest[i];
  }
  const trials = 2 + Math.floor(Math.log(k));
  const cand = new Float64Array(n);
  const bestCand = new Float64Array(n);
  for (let m = 1; m < k; m++) {
    let bestPot = Infinity, bestIdx = -1;
    for (let t = 0; t < trials; t++) {
      let idx: number;
      if (pot <= 0) idx = rng.int(n);
      else {
        let r = rng.next() * pot;
        idx = n - 1;
        for (let i = 0; i < n; i++) {
          r -= closest[i];
          if (r < 0) {
            idx = i;
            break;
          }
        }
      }
      let p = 0;
      for (let i = 0; i < n; i++) {
        const s = sqDistBounded(data, i * d, data, idx * d, d, closest[i]);
        cand[i] = s < closest[i] ? s : closest[i];
        p += cand[i];
      }
      if (p < bestPot) {
        bestPot = p;
        bestIdx = idx;
        bestCand.set(cand);
      }
    }
    c.set(data.subarray(bestIdx * d, bestIdx * d + d), m * d);
    closest.set(bestCand);
    pot = bestPot;
  }
  return c;
}

function assignAll(x: Matrix, c: Float64Array, k: number, labels: Int32Array): void {
  const d = x.cols;
  for (let i = 0; i < x.rows; i++) {
    let best = Infinity, bc = 0;
    for (let j = 0; j < k; j++) {
      const s = sqDistBounded(x.data, i * d, c, j * d, d, best);
      if (s < best) {
        best = s;
        bc = j;
      }
    }
    labels[i] = bc;
  }
}

/**
 * Full assignment of row `i` for {@link hamerlyLloyd}: its nearest centre,
 * the distance to it (upper bound) and to the second nearest (lower bound).
 */
function assignNearest(
  data: Float64Array,
  i: number,
  d: number,
  c: Float64Array,
  k: number,
  labels: Int32Array,
  upper: Float64Array,
  lower: Float64Array,
): void {
  let b1 = Infinity, b2 = Infinity, bc = 0;
  for (let j = 0; j < k; j++) {
    const s = sqDistBounded(data, i * d, c, j * d, d, b2);
    if (s < b1) {
      b2 = b1;
      b1 = s;
      bc = j;
    } else if (s < b2) b2 = s;
  }
  labels[i] = bc;
  upper[i] = Math.sqrt(b1);
  lower[i] = Math.sqrt(b2);
}

/**
 * Lloyd's algorithm with Hamerly's (2010) bounds: an upper bound on the
 * distance to the assigned centre and a lower bound on the distance to every
 * other centre let most points skip the k distance computations once the
 * centres settle. Gives exactly the assignments plain Lloyd would.
 */
function hamerlyLloyd(
  x: Matrix,
  c: Float64Array,
  k: number,
  maxIter: number,
  tolScaled: number,
  labels: Int32Array,
  options: FitOptions,
): number {
  const n = x.rows, d = x.cols, data = x.data;
  const upper = new Float64Array(n), lower = new Float64Array(n);
  const sums = new Float64Array(k * d), counts = new Float64Array(k);
  const shift = new Float64Array(k), half = new Float64Array(k);
  // Initial full assignment.
  for (let i = 0; i < n; i++) {
    assignNearest(data, i, d, c, k, labels, upper, lower);
  }
  let it = 0;
  for (; it < maxIter; it++) {
    // Half the distance from each centre to its nearest other centre.
    for (let a = 0; a < k; a++) {
      let m = Infinity;
      for (let b = 0; b < k; b++) if (b !== a) m = Math.min(m, sqDist(c, a * d, c, b * d, d));
      half[a] = k > 1 ? Math.sqrt(m) / 2 : Infinity;
    }
    for (let i = 0; i < n; i++) {
      const a = labels[i];
      const bound = Math.max(half[a], lower[i]);
      if (upper[i] <= bound) continue;
      upper[i] = Math.sqrt(sqDist(data, i * d, c, a * d, d));
      if (upper[i] <= bound) continue;
      assignNearest(data, i, d, c, k, labels, upper, lower);
    }
    // Recompute centres.
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const a = labels[i], o = a * d, r = i * d;
      counts[a]++;
      for (let j = 0; j < d; j++) sums[o + j] += data[r + j];
    }
    // Empty clusters take the point farthest from its centre (as scikit-learn does).
    for (let a = 0; a < k; a++) {
      if (counts[a] > 0) continue;
      let far = -1, fi = 0;
      for (let i = 0; i < n; i++) {
        if (counts[labels[i]] > 1 && upper[i] > far) {
          far = upper[i];
          fi = i;
        }
      }
      const old = labels[fi];
      counts[old]--;
      for (let j = 0; j < d; j++) sums[old * d + j] -= data[fi * d + j];
      labels[fi] = a;
      counts[a] = 1;
      for (let j = 0; j < d; j++) sums[a * d + j] = data[fi * d + j];
      upper[fi] = Infinity; // forces a full recomputation next iteration
      lower[fi] = 0;
    }
    let totalShift = 0, maxShift = 0;
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = sums[a * d + j] / counts[a];
        const t = v - c[a * d + j];
        s += t * t;
        c[a * d + j] = v;
      }
      totalShift += s;
      shift[a] = Math.sqrt(s);
      if (shift[a] > maxShift) maxShift = shift[a];
    }
    for (let i = 0; i < n; i++) {
      upper[i] += shift[labels[i]];
      lower[i] -= maxShift;
    }
    options.onProgress?.({ step: it + 1, total: maxIter, loss: totalShift });
    if (totalShift <= tolScaled) {
      it++;
      break;
    }
  }
  // Final exact assignment to the final centres.
  assignAll(x, c, k, labels);
  return it;
}

/** Mini-batch k-means (Sculley 2010): per-centre learning rate 1 / count. */
function miniBatch(
  x: Matrix,
  c: Float64Array,
  k: number,
  batch: number,
  epochs: number,
  tolScaled: number,
  rng: Rng,
  options: FitOptions,
): number {
  const n = x.rows, d = x.cols, data = x.data;
  const counts = new Float64Array(k);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const bl = new Int32Array(Math.min(batch, n));
  const before = new Float64Array(k * d);
  let ep = 0;
  for (; ep < epochs; ep++) {
    rng.shuffle(order);
    before.set(c);
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      for (let b = start; b < end; b++) {
        const i = order[b];
        let best = Infinity, bc = 0;
        for (let j = 0; j < k; j++) {
          const s = sqDist(data, i * d, c, j * d, d);
          if (s < best) {
            best = s;
            bc = j;
          }
        }
        bl[b - start] = bc;
      }
      for (let b = start; b < end; b++) {
        const i = order[b], a = bl[b - start];
        counts[a]++;
        const eta = 1 / counts[a];
        for (let j = 0; j < d; j++) c[a * d + j] += eta * (data[i * d + j] - c[a * d + j]);
      }
    }
    let s = 0;
    for (let t = 0; t < k * d; t++) s += (c[t] - before[t]) ** 2;
    options.onProgress?.({ step: ep + 1, total: epochs, loss: s });
    if (s <= tolScaled) {
      ep++;
      break;
    }
  }
  return ep;
}

/** Registry entry. */
export const kmeans: DetectorFactory = defineDetector({
  name: "kmeans",
  summary: "k-means++ / Lloyd (Hamerly) or mini-batch; score = distance to nearest centroid / cluster radius",
  params: PARAMS,
  create: (params, seed) => new KMeansDetector(params, seed),
  conformanceParams: { k: 4 },
});
