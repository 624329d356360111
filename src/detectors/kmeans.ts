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
 * - Scoring: the nearest centroid (the lower index on a tie) and the exact
 *   distance to it; a row's score depends on that row alone, not on the batch
 *   it comes in.
 * - Distances: when OpenBLAS is loaded and the engine is not forced to tfjs
 *   ({@link kmeansUsesBlas}: the switch the neural detectors' native engine
 *   uses, so `NADIR_BACKEND=tfjs` means "no OpenBLAS" everywhere), a block of
 *   rows gets its distances to all centres from one float32 sgemm,
 *   ‖x − c‖² = ‖x‖² − 2x·c + ‖c‖², as intervals guaranteed to hold the float64
 *   value (src/nn/distance.ts); only the centres an interval leaves in the
 *   running get the exact float64 distance. That serves k-means++ (all trials
 *   of a round at once, once the triangle inequality has set aside the rows
 *   no trial can bring closer), the rows Hamerly's bounds send to a full
 *   assignment, mini-batches and scoring. The exact distances are the plain
 *   loops' own sums (same terms, same order; several rows per loop only to
 *   overlap the additions), so seeds, centroids, labels and scores are those
 *   of the plain loops to the bit, ties included, and a model scores the same
 *   whichever kernel fitted it. Scoring batches under {@link BLAS_MIN_ROWS}
 *   rows stay on the plain loop. The kernel in use is the reported backend
 *   ("native (OpenBLAS …)" or "js").
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
import { blasAvailable } from "../nn/blas.ts";
import { nativeEngineLine, nnEngine } from "../nn/engine.ts";
import {
  F32_NORM_LIMIT,
  prepareRows,
  type Rows32,
  rows32,
  rowsView,
  selectRows,
  sqDistBounds,
} from "../nn/distance.ts";
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

/** Scoring batches from this many rows up go through sgemm (when {@link kmeansUsesBlas}). */
export const BLAS_MIN_ROWS = 32;

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
    // Shape problems go straight to the shared check (for its messages); values are checked in one pass with the
    // column statistics, and the shared checks, which name the offending cell, run only when that pass objects.
    if (!(x?.data instanceof Float64Array) || x.rows < 1 || x.cols < 1 || x.data.length !== x.rows * x.cols) {
      checkFitInput(this.name, x);
    }
    // The first seed is drawn up front so that the same pass also measures every row's distance to it.
    const rng = new Rng(this.#seed);
    const first = rng.int(x.rows);
    const all = kmeansUsesBlas() ? allRowsBuffer(x) : undefined;
    const { meanVar, outside, closest, pot } = scanRows(x, FIT_LIMIT, first, all);
    if (outside) {
      checkFitInput(this.name, x);
      checkMagnitude(
        "kmeans.fit",
        x,
        FIT_LIMIT,
        "k-means sums squared distances, which overflow float64 beyond",
      );
    }
    const k = this.params.k;
    if (k > x.rows) {
      throw new InputError(`kmeans.fit: parameter k = ${k} exceeds the ${x.rows} training rows; lower k`);
    }
    const d = x.cols;
    const tolScaled = this.params.tol * meanVar;
    const centroids = kmeansPlusPlus(x, k, rng, all, first, closest, pot);
    const batch = this.params.batchSize;
    const maxIter = this.params.maxIter;
    const labels = new Int32Array(x.rows);
    if (batch > 0) {
      this.#iterations = miniBatch(x, centroids, k, batch, maxIter, tolScaled, rng, options, all);
      assignAll(x, centroids, k, labels, all);
    } else {
      this.#iterations = hamerlyLloyd(x, centroids, k, maxIter, tolScaled, labels, options, all, closest);
    }
    // Squared distance of each row to its final centre: the Lloyd path leaves them in `closest`.
    if (batch > 0) {
      for (let i = 0; i < x.rows; i++) closest[i] = sqDist(x.data, i * d, centroids, labels[i] * d, d);
    }
    const { radii, inertia } = memberRadii(closest, k, labels, this.params.radiusQuantile);
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
    const out = new Float64Array(x.rows);
    const labels = new Int32Array(x.rows);
    this.#nearest(x, labels, out);
    for (let i = 0; i < x.rows; i++) out[i] = saturateScore(Math.sqrt(out[i]) / this.#radii[labels[i]]);
    return out;
  }

  /** Index of the nearest centroid of every row of `x` (the cluster whose radius scales its score). */
  assign(x: Matrix): Int32Array {
    checkScoreInput(this.name, x, this.#d);
    const labels = new Int32Array(x.rows);
    this.#nearest(x, labels, new Float64Array(x.rows));
    return labels;
  }

  /**
   * Nearest centroid and the squared distance to it, exact in float64 on either kernel (the same values). Batches
   * of fewer than {@link BLAS_MIN_ROWS} rows stay on the plain loop, where converting the centroids and calling
   * into OpenBLAS would cost more than it saves.
   */
  #nearest(x: Matrix, labels: Int32Array, best: Float64Array): void {
    if (x.rows >= BLAS_MIN_ROWS && kmeansUsesBlas()) nearestBlas(x, this.#centroids, this.#k, labels, best);
    else nearestJs(x, this.#centroids, this.#k, labels, best);
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

/**
 * Nearest centroid of every row, plain loops: the first index among the
 * nearest, and its distance as the sequential sum over the columns — so a
 * row's result depends on that row alone, never on the batch around it. For
 * speed the previous row's cluster is tried first (consecutive rows are often
 * in the same one), and centre j is skipped when ‖c_b − c_j‖ > 2‖x − c_b‖
 * for the current best b (triangle inequality, Elkan 2003: j is then
 * strictly farther).
 */
function nearestJs(x: Matrix, c: Float64Array, k: number, labels: Int32Array, out: Float64Array): void {
  const d = x.cols, data = x.data;
  const cc = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) cc[a * k + b] = Math.sqrt(sqDist(c, a * d, c, b * d, d));
  }
  let guess = 0;
  for (let i = 0; i < x.rows; i++) {
    const xo = i * d;
    let bc = guess;
    let best = sqDistBounded(data, xo, c, bc * d, d, Infinity);
    let twice = 2 * Math.sqrt(best);
    for (let j = 0; j < k; j++) {
      if (j === bc || cc[bc * k + j] > twice) continue;
      const s = sqDistBounded(data, xo, c, j * d, d, best);
      // A tie goes to the lower index (a partial sum that stopped at `best` is checked in full first).
      if (s < best || (s === best && j < bc && sqDistBounded(data, xo, c, j * d, d, Infinity) === best)) {
        best = s;
        bc = j;
        twice = 2 * Math.sqrt(best);
      }
    }
    guess = bc;
    labels[i] = bc;
    out[i] = best;
  }
}

/**
 * {@link nearestJs} through sgemm: bounds on all k distances of a block of
 * rows at once, then the exact sequential sums for the centres the bounds
 * leave in the running, in index order — the same centre and distance.
 */
function nearestBlas(x: Matrix, c: Float64Array, k: number, labels: Int32Array, out: Float64Array): void {
  const d = x.cols, data = x.data, block = blockRows(k);
  const cs = prepareRows(c, d, 0, k);
  const { lo, hi } = boundsOf(block * k);
  for (let from = 0; from < x.rows; from += block) {
    const to = Math.min(x.rows, from + block);
    sqDistBounds(blockOf(data, d, from, to), cs, lo, hi);
    for (let i = from; i < to; i++) {
      const o = (i - from) * k;
      let h = Infinity;
      for (let j = 0; j < k; j++) if (hi[o + j] < h) h = hi[o + j];
      let best = Infinity, bc = 0;
      for (let j = 0; j < k; j++) {
        if (lo[o + j] > h || lo[o + j] > best) continue;
        const s = sqDistBounded(data, i * d, c, j * d, d, best);
        if (s < best) {
          best = s;
          bc = j;
        }
      }
      labels[i] = bc;
      out[i] = best;
    }
  }
}

/**
 * Per cluster, the `q` quantile of its members' distances to its centre (0
 * for an empty cluster), and the inertia (sum of the squared distances `sq`,
 * rows in order). Distances are bucketed by cluster (counting sort), and
 * each bucket's two order statistics around the quantile are selected
 * ({@link selectRank}) rather than the bucket sorted: the same two values, so
 * the same radius, in ≈1 ms instead of ≈5 for NSL-KDD's 67,343 rows.
 */
function memberRadii(
  sq: Float64Array,
  k: number,
  labels: Int32Array,
  q: number,
): { radii: Float64Array; inertia: number } {
  const n = sq.length;
  const start = new Int32Array(k + 1);
  for (let i = 0; i < n; i++) start[labels[i] + 1]++;
  for (let a = 0; a < k; a++) start[a + 1] += start[a];
  const next = start.slice(0, k);
  const dists = new Float64Array(n);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    inertia += sq[i];
    dists[next[labels[i]]++] = Math.sqrt(sq[i]);
  }
  const radii = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    const m = dists.subarray(start[a], start[a + 1]), len = m.length;
    if (len === 0) continue;
    // quantileSorted's interpolation between ranks lo and lo + 1, without sorting the rest.
    const h = (len - 1) * q, lo = Math.floor(h);
    const below = selectRank(m, lo);
    let above = below;
    if (lo + 1 < len) {
      above = m[lo + 1];
      for (let i = lo + 2; i < len; i++) if (m[i] < above) above = m[i];
    }
    radii[a] = below + (h - lo) * (above - below);
  }
  return { radii, inertia };
}

/**
 * Rearranges `m` so that m[r] is the value a sort would put there, none
 * before it larger and none after it smaller (Hoare's quickselect, median of
 * three pivots); returns m[r]. For values that are not NaN.
 */
function selectRank(m: Float64Array, r: number): number {
  let lo = 0, hi = m.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three into m[mid]: sorted inputs stay linear.
    if (m[mid] < m[lo]) swap(m, mid, lo);
    if (m[hi] < m[lo]) swap(m, hi, lo);
    if (m[hi] < m[mid]) swap(m, hi, mid);
    const pivot = m[mid];
    let i = lo, j = hi;
    while (i <= j) {
      while (m[i] < pivot) i++;
      while (m[j] > pivot) j--;
      if (i <= j) swap(m, i++, j--);
    }
    if (r <= j) hi = j;
    else if (r >= i) lo = i;
    else break;
  }
  return m[r];
}

function swap(m: Float64Array, a: number, b: number): void {
  const t = m[a];
  m[a] = m[b];
  m[b] = t;
}

/**
 * One row-major pass: the mean per-column variance (each column sums its rows
 * in order), whether any value is outside ±`limit` (or not finite), and every
 * row's squared distance to row `first` with their sum (the first k-means++
 * seed and its potential). With `all`, the same pass also fills it with the
 * float32 copy and norms of every row, as prepareRows would (same sums, same
 * order): a separate conversion read the 42 MB of NSL-KDD's float64 matrix
 * once more, ≈6 ms of a ≈148 ms fit, where folding it in here adds ≈2 ms.
 */
function scanRows(
  x: Matrix,
  limit: number,
  first: number,
  all: Rows32 | undefined,
): { meanVar: number; outside: boolean; closest: Float64Array; pot: number } {
  const d = x.cols, n = x.rows, data = x.data;
  const m = new Float64Array(d), m2 = new Float64Array(d), closest = new Float64Array(n);
  const f32 = all?.f32, norm2 = all?.sq, norm = all?.norm;
  let outside = false, pot = 0;
  for (let i = 0; i < n; i++) {
    const r = i * d;
    if (f32 && norm2 && norm) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = data[r + j], v2 = v * v;
        m[j] += v;
        m2[j] += v2;
        s += v2;
        f32[r + j] = v;
        if (!((v < 0 ? -v : v) <= limit)) outside = true; // NaN too
      }
      // As prepareRows: a row too large for the float32 expansion gets norm ∞ and zeros (see F32_NORM_LIMIT).
      const root = Math.sqrt(s);
      norm2[i] = s;
      norm[i] = root <= F32_NORM_LIMIT ? root : Infinity;
      if (!(root <= F32_NORM_LIMIT)) f32.fill(0, r, r + d);
    } else {
      for (let j = 0; j < d; j++) {
        const v = data[r + j];
        m[j] += v;
        m2[j] += v * v;
        if (!((v < 0 ? -v : v) <= limit)) outside = true; // NaN too
      }
    }
    const s = sqDist(data, r, data, first * d, d);
    closest[i] = s;
    pot += s;
  }
  let total = 0;
  for (let j = 0; j < d; j++) {
    const mean = m[j] / n;
    total += Math.max(0, m2[j] / n - mean * mean);
  }
  return { meanVar: total / d, outside, closest, pot };
}

/**
 * Greedy k-means++ seeding from row `first` (drawn by the caller), with
 * `closest` every row's squared distance to it and `pot` their sum; on return
 * `closest` holds each row's squared distance to its nearest seed. With
 * `blas`, each round goes through sgemm ({@link PpRoundBlas}); the JS loop
 * abandons each distance once it exceeds the row's current one.
 */
function kmeansPlusPlus(
  x: Matrix,
  k: number,
  rng: Rng,
  all: Rows32 | undefined,
  first: number,
  closest: Float64Array,
  pot: number,
): Float64Array {
  const n = x.rows, d = x.cols, data = x.data;
  const c = new Float64Array(k * d);
  c.set(data.subarray(first * d, first * d + d), 0);
  const trials = 2 + Math.floor(Math.log(k));
  const idx = new Int32Array(trials);
  const round = all ? new PpRoundBlas(x, all, trials, k, closest) : undefined;
  const cand = new Float64Array(round ? 0 : n);
  const bestCand = new Float64Array(round ? 0 : n);
  for (let m = 1; m < k; m++) {
    // The trial centres depend only on `closest`, so they can all be drawn first (the same draws as one by one).
    for (let t = 0; t < trials; t++) idx[t] = pot <= 0 ? rng.int(n) : drawRow(closest, rng.next() * pot);
    let bestPot = Infinity, bestT = 0;
    if (round) {
      [bestT, bestPot] = round.run(idx, closest, c, m);
    } else {
      for (let t = 0; t < trials; t++) {
        let p = 0;
        const co = idx[t] * d;
        for (let i = 0; i < n; i++) {
          const s = sqDistBounded(data, i * d, data, co, d, closest[i]);
          cand[i] = s < closest[i] ? s : closest[i];
          p += cand[i];
        }
        if (p < bestPot) {
          bestPot = p;
          bestT = t;
          bestCand.set(cand);
        }
      }
      closest.set(bestCand);
    }
    const bestIdx = idx[bestT];
    c.set(data.subarray(bestIdx * d, bestIdx * d + d), m * d);
    pot = bestPot;
  }
  return c;
}

/** The row where the running sum of `weights` first exceeds `r` (the last row if it never does). */
function drawRow(weights: Float64Array, r: number): number {
  const n = weights.length;
  for (let i = 0; i < n; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return n - 1;
}

/**
 * One k-means++ round through sgemm. First the triangle inequality: trial t
 * cannot bring row x closer than its nearest centre a when
 * ‖c_a − t‖ ≥ 2‖x − c_a‖ (Elkan 2003), and once a few centres are placed that
 * holds for every trial on about half the rows, which are then done. The
 * other rows get bounds on their distance to every trial, a block at a time
 * through sgemm: a row whose lower bound is not below its current distance
 * keeps it (the plain loop would find the new distance no smaller), and
 * summing the bounds brackets each trial's potential. The brackets usually
 * settle the winner; only its candidate rows then get exact float64
 * distances (the ties, rarely, get theirs too), computed and summed as the
 * plain loop does — so the seeds and potentials are the plain loop's.
 */
class PpRoundBlas {
  readonly #x: Matrix;
  readonly #all: Rows32;
  readonly #trials: number;
  readonly #block: number;
  /**
   * flagged[t][0..count[t]): the rows trial t may bring closer than `closest`, ascending. Lists built by
   * `#tally` replace a row × trial flag array that `#exact` had to scan twice
   * per call (≈3 ms of NSL-KDD's ≈23 ms of exact distances).
   */
  readonly #flagged: Int32Array[];
  readonly #count: Int32Array;
  /** The centre closest[i] is measured to, and √closest[i]. */
  readonly #near: Int32Array;
  readonly #root: Float64Array;
  /** half[t·k + a] = ‖c_a − trial t‖ / 2. */
  readonly #half: Float64Array;
  readonly #ids: Int32Array;
  readonly #potLo: Float64Array;
  readonly #potHi: Float64Array;
  #trialRows: Rows32 | undefined;
  #flagDist = new Float64Array(0);

  /** For `trials` trials a round, k centres in all, rows at distance² `closest` from the first centre. */
  constructor(x: Matrix, all: Rows32, trials: number, k: number, closest: Float64Array) {
    this.#x = x;
    this.#all = all;
    this.#trials = trials;
    this.#block = blockRows(trials);
    this.#flagged = Array.from({ length: trials }, () => new Int32Array(1024));
    this.#count = new Int32Array(trials);
    this.#near = new Int32Array(x.rows);
    this.#root = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) this.#root[i] = Math.sqrt(closest[i]);
    this.#half = new Float64Array(trials * k);
    this.#ids = new Int32Array(this.#block);
    this.#potLo = new Float64Array(trials);
    this.#potHi = new Float64Array(trials);
  }

  /**
   * Evaluates the trial rows `idx` against the first `m` centres of `c`, updates `closest` for the winner;
   * returns [winner, its potential].
   */
  run(idx: Int32Array, closest: Float64Array, c: Float64Array, m: number): [number, number] {
    const { cols: d, data } = this.#x;
    const trials = this.#trials, half = this.#half, stride = half.length / trials;
    const potLo = this.#potLo.fill(0), potHi = this.#potHi.fill(0);
    for (let t = 0; t < trials; t++) {
      for (let a = 0; a < m; a++) half[t * stride + a] = Math.sqrt(sqDist(c, a * d, data, idx[t] * d, d)) / 2;
    }
    this.#trialRows = selectRows(this.#all, idx, trials, this.#trialRows);
    this.#count.fill(0);
    const kept = this.#screen(closest);
    for (let t = 0; t < trials; t++) {
      potLo[t] += kept;
      potHi[t] += kept;
    }
    // Trials whose potential may be the smallest (the 1e-9 margin covers the rounding of the sums).
    let minHi = Infinity;
    for (let t = 0; t < trials; t++) minHi = Math.min(minHi, potHi[t] * (1 + 1e-9));
    let contenders = 0, best = 0, bestPot = Infinity;
    for (let t = 0; t < trials; t++) {
      if (potLo[t] * (1 - 1e-9) <= minHi) {
        contenders++;
        best = t;
      }
    }
    if (contenders > 1) {
      // As the plain loop: the first trial with the smallest exact potential.
      for (let t = 0; t < trials; t++) {
        if (potLo[t] * (1 - 1e-9) > minHi) continue;
        const p = this.#exact(idx, closest, t, -1);
        if (p < bestPot) {
          bestPot = p;
          best = t;
        }
      }
    }
    return [best, this.#exact(idx, closest, best, m)];
  }

  /**
   * Rows no trial can bring closer (triangle inequality, with a relative and an absolute margin far above
   * rounding) are done: never flagged, their distances summed into the returned total. The others are
   * bounded and tallied a block at a time.
   */
  #screen(closest: Float64Array): number {
    const n = this.#x.rows, trials = this.#trials, half = this.#half, stride = half.length / trials;
    const near = this.#near, root = this.#root, ids = this.#ids, block = this.#block;
    let kept = 0;
    for (let from = 0; from < n; from += block) {
      const to = Math.min(n, from + block);
      let count = 0;
      for (let i = from; i < to; i++) {
        const r = root[i] * (1 + 1e-9) + 1e-150, a = near[i];
        let open = false;
        for (let t = 0; t < trials; t++) {
          if (!(half[t * stride + a] >= r)) {
            open = true;
            break;
          }
        }
        if (open) ids[count++] = i;
        else kept += closest[i];
      }
      if (count > 0) this.#bound(from, to, count, closest);
    }
    return kept;
  }

  /**
   * Bounds the rows [from, to) against every trial (the whole block: it is converted already, and the product
   * costs less than gathering the open rows would); flags the rows ids[0..count) each trial may bring closer,
   * brackets potentials.
   */
  #bound(from: number, to: number, count: number, closest: Float64Array): void {
    const { lo, hi } = boundsOf(this.#block * this.#trials);
    sqDistBounds(rowsView(this.#all, from, to), this.#trialRows!, lo, hi);
    for (let t = 0; t < this.#trials; t++) this.#tally(t, from, count, closest, lo, hi);
  }

  #tally(
    t: number,
    from: number,
    count: number,
    closest: Float64Array,
    lo: Float64Array,
    hi: Float64Array,
  ): void {
    const trials = this.#trials, ids = this.#ids;
    let pl = this.#potLo[t], ph = this.#potHi[t], list = this.#flagged[t], f = this.#count[t];
    for (let r = 0; r < count; r++) {
      const i = ids[r], o = (i - from) * trials + t, cl = closest[i], l = lo[o];
      if (l < cl) {
        const h = hi[o];
        if (f === list.length) {
          const grown = new Int32Array(2 * f);
          grown.set(list);
          list = this.#flagged[t] = grown;
        }
        list[f++] = i;
        pl += l;
        ph += h < cl ? h : cl;
      } else {
        pl += cl;
        ph += cl;
      }
    }
    this.#count[t] = f;
    this.#potLo[t] = pl;
    this.#potHi[t] = ph;
  }

  /**
   * Trial t's exact potential (rows summed in order, as the plain loop sums them). With `m` ≥ 0 the trial is
   * adopted as centre m: `closest` (and the nearest-centre bookkeeping) take its distances.
   */
  #exact(idx: Int32Array, closest: Float64Array, t: number, m: number): number {
    const { rows: n, cols: d, data } = this.#x;
    const co = idx[t] * d, near = this.#near, root = this.#root;
    // The flagged rows' exact distances first (full sums: where the plain loop abandons one, it is no smaller
    // than the row's current distance either way), then the potential in row order.
    const rows = this.#flagged[t], f = this.#count[t];
    if (this.#flagDist.length < f) this.#flagDist = new Float64Array(Math.max(f, 2 * this.#flagDist.length));
    const dist = this.#flagDist;
    seqDistsToPoint(data, d, rows, f, co, dist);
    let p = 0;
    for (let i = 0, q = 0; i < n; i++) {
      const cl = closest[i];
      let v = cl;
      if (q < f && rows[q] === i) {
        const s = dist[q++];
        if (s < cl) {
          v = s;
          if (m >= 0) {
            closest[i] = s;
            near[i] = m;
            root[i] = Math.sqrt(s);
          }
        }
      }
      p += v;
    }
    return p;
  }
}

/**
 * dist[q] = Σ_j (data[rows[q]·d + j] − data[p + j])², summed in column order
 * exactly as the plain loop ({@link sqDistBounded} without abandoning) sums
 * it. Eight rows go through one loop: the rows are scattered, so the loop
 * waits on memory (NSL-KDD: ≈0.45 ns per element with the rows in cache,
 * ≈1.9 with four rows a loop, ≈1.5 with eight), and more rows in flight
 * overlap more of those waits.
 */
function seqDistsToPoint(
  data: Float64Array,
  d: number,
  rows: Int32Array,
  count: number,
  p: number,
  dist: Float64Array,
): void {
  let q = 0;
  for (; q + 7 < count; q += 8) {
    const r0 = rows[q] * d, r1 = rows[q + 1] * d, r2 = rows[q + 2] * d, r3 = rows[q + 3] * d;
    const r4 = rows[q + 4] * d, r5 = rows[q + 5] * d, r6 = rows[q + 6] * d, r7 = rows[q + 7] * d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let j = 0; j < d; j++) {
      const c = data[p + j];
      const t0 = data[r0 + j] - c, t1 = data[r1 + j] - c, t2 = data[r2 + j] - c, t3 = data[r3 + j] - c;
      const t4 = data[r4 + j] - c, t5 = data[r5 + j] - c, t6 = data[r6 + j] - c, t7 = data[r7 + j] - c;
      s0 += t0 * t0;
      s1 += t1 * t1;
      s2 += t2 * t2;
      s3 += t3 * t3;
      s4 += t4 * t4;
      s5 += t5 * t5;
      s6 += t6 * t6;
      s7 += t7 * t7;
    }
    dist[q] = s0;
    dist[q + 1] = s1;
    dist[q + 2] = s2;
    dist[q + 3] = s3;
    dist[q + 4] = s4;
    dist[q + 5] = s5;
    dist[q + 6] = s6;
    dist[q + 7] = s7;
  }
  for (; q < count; q++) dist[q] = sqDistBounded(data, rows[q] * d, data, p, d, Infinity);
}

/**
 * Buffers of the sgemm kernels, kept between calls: fresh memory costs page
 * faults (measured here: touching 21 MB of it took about 60 ms), and fit and
 * score run synchronously, so one set serves every kernel in turn. `all` holds
 * the whole training matrix in float32 ({@link scanRows} converts it in its
 * pass over the rows, and every seeding round and Lloyd pass reads it;
 * converting the rows each of those needed instead took ≈42 ms of a ≈190 ms
 * fit); it stays at the largest matrix fitted so far.
 */
const scratch = {
  rows: undefined as Rows32 | undefined,
  all: undefined as Rows32 | undefined,
  lo: new Float64Array(0),
  hi: new Float64Array(0),
};

/** Rows [from, to) of `data`, converted into the shared block buffer. */
function blockOf(data: Float64Array, d: number, from: number, to: number): Rows32 {
  return scratch.rows = prepareRows(data, d, from, to, scratch.rows);
}

/** The shared whole-matrix buffer, with room for all rows of `x` and `rows` set to them ({@link scanRows} fills it). */
function allRowsBuffer(x: Matrix): Rows32 {
  const all = scratch.all;
  scratch.all = all && all.d === x.cols && all.sq.length >= x.rows ? all : rows32(x.cols, x.rows);
  scratch.all.rows = x.rows;
  return scratch.all;
}

/** The shared bound buffers, with room for `size` values each. */
function boundsOf(size: number): { lo: Float64Array; hi: Float64Array } {
  if (scratch.lo.length < size) {
    scratch.lo = new Float64Array(size);
    scratch.hi = new Float64Array(size);
  }
  return scratch;
}

/** Rows per sgemm block for `k` centres: a few hundred kB of bounds, at least 64 rows. */
function blockRows(k: number): number {
  return Math.max(64, Math.min(2048, Math.floor(32768 / Math.max(1, k))));
}

/**
 * Nearest centre of the block `rs` = rows [from, from + rs.rows) from sgemm
 * bounds, then the exact float64 loop over the centres the bounds leave in the
 * running; the first centre wins ties, as in the plain loop.
 */
function assignBlockBlas(
  rs: Rows32,
  from: number,
  data: Float64Array,
  c: Float64Array,
  cs: Rows32,
  k: number,
  labels: Int32Array,
  lo: Float64Array,
  hi: Float64Array,
): void {
  const d = rs.d;
  sqDistBounds(rs, cs, lo, hi);
  for (let t = 0; t < rs.rows; t++) {
    const i = from + t, o = t * k;
    let h = Infinity;
    for (let j = 0; j < k; j++) if (hi[o + j] < h) h = hi[o + j];
    let best = Infinity, bc = 0;
    for (let j = 0; j < k; j++) {
      if (lo[o + j] > h) continue;
      const s = sqDistBounded(data, i * d, c, j * d, d, best);
      if (s < best) {
        best = s;
        bc = j;
      }
    }
    labels[i] = bc;
  }
}

function assignAll(x: Matrix, c: Float64Array, k: number, labels: Int32Array, all: Rows32 | undefined): void {
  const d = x.cols;
  if (all) {
    const block = blockRows(k), cs = prepareRows(c, d, 0, k);
    const { lo, hi } = boundsOf(block * k);
    for (let from = 0; from < x.rows; from += block) {
      assignBlockBlas(
        rowsView(all, from, Math.min(x.rows, from + block)),
        from,
        x.data,
        c,
        cs,
        k,
        labels,
        lo,
        hi,
      );
    }
    return;
  }
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
 * {@link assignNearest} for blocks of rows through sgemm: rows are queued by
 * index and assigned a block at a time. From the bounds on all k distances,
 * only the centres that can be nearest get the exact float64 distance,
 * computed as assignNearest computes it, so the labels come out the same;
 * Hamerly's bounds come from the sgemm bounds where those settle the row
 * (looser than assignNearest's, never wrong). Skipping the exact distances of
 * the nearest and second nearest halved the Lloyd passes' assignment time
 * (NSL-KDD: ≈12 → 6.5 ms initially, ≈22 → 13 ms in the iterations).
 */
class BlasAssigner {
  readonly #n: number;
  readonly #d: number;
  readonly #data: Float64Array;
  readonly #all: Rows32;
  readonly #c: Float64Array;
  readonly #k: number;
  readonly #labels: Int32Array;
  readonly #upper: Float64Array;
  readonly #lower: Float64Array;
  readonly #block: number;
  readonly #ids: Int32Array;
  #count = 0;
  readonly #cand: Int32Array;
  readonly #dist: Float64Array;
  #cs: Rows32 | undefined;

  constructor(
    x: Matrix,
    all: Rows32,
    c: Float64Array,
    k: number,
    labels: Int32Array,
    upper: Float64Array,
    lower: Float64Array,
  ) {
    this.#n = x.rows;
    this.#d = x.cols;
    this.#data = x.data;
    this.#all = all;
    this.#c = c;
    this.#k = k;
    this.#labels = labels;
    this.#upper = upper;
    this.#lower = lower;
    this.#block = blockRows(k);
    this.#ids = new Int32Array(this.#block);
    this.#cand = new Int32Array(k);
    this.#dist = new Float64Array(k);
  }

  /** Takes the centres as they are now (call after every update, with the queue empty). */
  centresChanged(): void {
    this.#cs = prepareRows(this.#c, this.#d, 0, this.#k, this.#cs);
  }

  /** Assigns every row. */
  all(): void {
    const n = this.#n;
    for (let from = 0; from < n; from += this.#block) {
      this.#assign(rowsView(this.#all, from, Math.min(n, from + this.#block)), undefined, from);
    }
  }

  /** Queues row `i` (assigned by the next {@link flush} at the latest). */
  push(i: number): void {
    this.#ids[this.#count++] = i;
    if (this.#count === this.#block) this.flush();
  }

  /** Assigns the queued rows. */
  flush(): void {
    if (this.#count === 0) return;
    this.#assign(scratch.rows = selectRows(this.#all, this.#ids, this.#count, scratch.rows), this.#ids, 0);
    this.#count = 0;
  }

  #assign(rs: Rows32, ids: Int32Array | undefined, from: number): void {
    const k = this.#k, d = rs.d, data = this.#data, c = this.#c;
    const { lo, hi } = boundsOf(this.#block * k);
    const cand = this.#cand, dist = this.#dist;
    sqDistBounds(rs, this.#cs!, lo, hi);
    for (let t = 0; t < rs.rows; t++) {
      const i = ids ? ids[t] : from + t, o = t * k;
      // h1: the smallest upper bound; no centre with a lower bound above it can be the nearest.
      let h1 = Infinity, bc = 0;
      for (let j = 0; j < k; j++) {
        if (hi[o + j] < h1) {
          h1 = hi[o + j];
          bc = j;
        }
      }
      let nc = 0;
      for (let j = 0; j < k; j++) if (lo[o + j] <= h1) cand[nc++] = j;
      // One contender (most rows once the centres settle): it is strictly the nearest, and its upper bound serves
      // as Hamerly's upper bound — no exact distance needed. Otherwise the contenders' exact distances (two at a
      // time, full sums; see seqDistsToPoint) pick the first nearest, as the plain loop does.
      let b1 = h1, b2 = Infinity;
      if (nc > 1) {
        let q = 0;
        for (; q + 1 < nc; q += 2) seqDistPair(data, i * d, c, cand[q] * d, cand[q + 1] * d, d, dist, q);
        if (q < nc) dist[q] = sqDistBounded(data, i * d, c, cand[q] * d, d, Infinity);
        b1 = Infinity;
        for (q = 0; q < nc; q++) {
          const s = dist[q];
          if (s < b1) {
            b2 = b1;
            b1 = s;
            bc = cand[q];
          } else if (s < b2) b2 = s;
        }
      }
      // Hamerly's lower bound: the other centres' lower bounds (their exact distances for the contenders). Looser
      // than the plain loop's second-nearest distance, which only means a few more rows checked next time.
      for (let j = 0; j < k; j++) if (lo[o + j] > h1 && lo[o + j] < b2) b2 = lo[o + j];
      this.#labels[i] = bc;
      this.#upper[i] = Math.sqrt(b1);
      this.#lower[i] = Math.sqrt(b2);
    }
  }
}

/** dist[q], dist[q + 1] = the sequential squared distances of row x (at `xo`) to c[c1..], c[c2..] (see seqDistsToPoint). */
function seqDistPair(
  data: Float64Array,
  xo: number,
  c: Float64Array,
  c1: number,
  c2: number,
  d: number,
  dist: Float64Array,
  q: number,
): void {
  let s1 = 0, s2 = 0;
  for (let j = 0; j < d; j++) {
    const v = data[xo + j];
    const t1 = v - c[c1 + j], t2 = v - c[c2 + j];
    s1 += t1 * t1;
    s2 += t2 * t2;
  }
  dist[q] = s1;
  dist[q + 1] = s2;
}

/** sums[o..o+d) += data[r..r+d) (unrolled; each element gets the same additions in the same order). */
function addRow(sums: Float64Array, o: number, data: Float64Array, r: number, d: number): void {
  let j = 0;
  for (; j + 3 < d; j += 4) {
    sums[o + j] += data[r + j];
    sums[o + j + 1] += data[r + j + 1];
    sums[o + j + 2] += data[r + j + 2];
    sums[o + j + 3] += data[r + j + 3];
  }
  for (; j < d; j++) sums[o + j] += data[r + j];
}

/** Half the distance from each centre to its nearest other centre (Infinity when k = 1). */
function halfGaps(c: Float64Array, k: number, d: number, half: Float64Array): void {
  for (let a = 0; a < k; a++) {
    let m = Infinity;
    for (let b = 0; b < k; b++) if (b !== a) m = Math.min(m, sqDist(c, a * d, c, b * d, d));
    half[a] = k > 1 ? Math.sqrt(m) / 2 : Infinity;
  }
}

/**
 * Lloyd's algorithm with Hamerly's (2010) bounds: an upper bound on the
 * distance to the assigned centre and a lower bound on the distance to every
 * other centre let most points skip the k distance computations once the
 * centres settle. Gives exactly the assignments plain Lloyd would. With
 * `blas`, the rows that need all k distances go through sgemm in blocks
 * ({@link BlasAssigner}). Each pass over the rows is a function of its own:
 * V8 then optimizes it whole rather than piecewise on the first fit.
 */
function hamerlyLloyd(
  x: Matrix,
  c: Float64Array,
  k: number,
  maxIter: number,
  tolScaled: number,
  labels: Int32Array,
  options: FitOptions,
  all: Rows32 | undefined,
  sq: Float64Array,
): number {
  const n = x.rows, d = x.cols, data = x.data;
  const b: Bounds = { upper: new Float64Array(n), lower: new Float64Array(n), half: new Float64Array(k) };
  const sums = new Float64Array(k * d), counts = new Float64Array(k), shift = new Float64Array(k);
  const assigner = all ? new BlasAssigner(x, all, c, k, labels, b.upper, b.lower) : undefined;
  // Initial full assignment.
  if (assigner) {
    assigner.centresChanged();
    assigner.all();
  } else {
    for (let i = 0; i < n; i++) assignNearest(data, i, d, c, k, labels, b.upper, b.lower);
  }
  let it = 0;
  for (; it < maxIter; it++) {
    halfGaps(c, k, d, b.half);
    assigner?.centresChanged();
    boundPass(x, c, k, labels, b, assigner);
    // Recompute centres; empty clusters take the point farthest from its centre (as scikit-learn does).
    centreSums(data, d, labels, sums, counts);
    for (let a = 0; a < k; a++) if (counts[a] === 0) fillEmpty(data, d, c, a, labels, sums, counts, b);
    const [totalShift, maxShift] = moveCentres(c, sums, counts, k, d, shift);
    shiftBounds(labels, b, shift, maxShift);
    options.onProgress?.({ step: it + 1, total: maxIter, loss: totalShift });
    if (totalShift <= tolScaled) {
      it++;
      break;
    }
  }
  // Final assignment to the final centres, with each row's squared distance to its centre into `sq`.
  halfGaps(c, k, d, b.half);
  assigner?.centresChanged();
  finalPass(x, c, k, labels, b, assigner, sq);
  return it;
}

/**
 * The last assignment: every row's exact distance to its centre (wanted for
 * the radii anyway) is checked against its lower bound; where that proves the
 * centre strictly nearest (strict: no tie is possible) the label stands, the
 * other rows get a full assignment, which picks the first of tied centres as
 * a plain scan over all rows would, and their distance is measured again.
 */
function finalPass(
  x: Matrix,
  c: Float64Array,
  k: number,
  labels: Int32Array,
  b: Bounds,
  assigner: BlasAssigner | undefined,
  sq: Float64Array,
): void {
  const n = x.rows, d = x.cols, data = x.data, upper = b.upper, lower = b.lower, half = b.half;
  const redo: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = labels[i];
    const s = sqDist(data, i * d, c, a * d, d), u = Math.sqrt(s);
    sq[i] = s;
    if (u < (half[a] > lower[i] ? half[a] : lower[i])) continue;
    upper[i] = u;
    redo.push(i);
    if (assigner) assigner.push(i);
    else assignNearest(data, i, d, c, k, labels, upper, lower);
  }
  assigner?.flush();
  for (const i of redo) sq[i] = sqDist(data, i * d, c, labels[i] * d, d);
}

/** Hamerly's bounds: per row, upper (to its centre) and lower (to every other); per centre, half the gap to the nearest other. */
interface Bounds {
  upper: Float64Array;
  lower: Float64Array;
  half: Float64Array;
}

/**
 * One assignment pass: rows whose bounds prove the label keep it. Without
 * `assigner` the others get their upper bound tightened to the exact distance
 * and, if still not proven, a full assignment. With it they are queued for
 * the full assignment straight away: its sgemm bounds settle most rows with no
 * exact distance at all, where tightening first read each row's 624 bytes of
 * float64 (NSL-KDD) and settled only half of them — about 95,000 exact
 * distances over a fit's six passes, and ≈10 ms of a ≈140 ms fit. Either way
 * the labels are the plain loop's.
 */
function boundPass(
  x: Matrix,
  c: Float64Array,
  k: number,
  labels: Int32Array,
  b: Bounds,
  assigner: BlasAssigner | undefined,
): void {
  const n = x.rows, d = x.cols, data = x.data, upper = b.upper, lower = b.lower, half = b.half;
  for (let i = 0; i < n; i++) {
    const a = labels[i];
    const bound = half[a] > lower[i] ? half[a] : lower[i];
    if (upper[i] <= bound) continue;
    if (assigner) {
      assigner.push(i);
      continue;
    }
    const u = Math.sqrt(sqDist(data, i * d, c, a * d, d));
    upper[i] = u;
    if (u <= bound) continue;
    assignNearest(data, i, d, c, k, labels, upper, lower);
  }
  assigner?.flush();
}

/** Per-cluster sums and counts of the rows (rows added in order). */
function centreSums(
  data: Float64Array,
  d: number,
  labels: Int32Array,
  sums: Float64Array,
  counts: Float64Array,
): void {
  sums.fill(0);
  counts.fill(0);
  for (let i = 0; i < labels.length; i++) {
    const a = labels[i];
    counts[a]++;
    addRow(sums, a * d, data, i * d, d);
  }
}

/**
 * Moves the row farthest from its centre `c` (the first of the farthest, among clusters of 2 or more) into the
 * empty cluster `a`. Exact distances, not Hamerly's upper bounds: the sgemm kernel keeps looser bounds than the
 * plain loop, and the choice must not depend on them (an empty cluster is rare; one pass over the rows).
 */
function fillEmpty(
  data: Float64Array,
  d: number,
  c: Float64Array,
  a: number,
  labels: Int32Array,
  sums: Float64Array,
  counts: Float64Array,
  b: Bounds,
): void {
  const upper = b.upper;
  let far = -1, fi = 0;
  for (let i = 0; i < labels.length; i++) {
    if (counts[labels[i]] <= 1) continue;
    const s = sqDist(data, i * d, c, labels[i] * d, d);
    if (s > far) {
      far = s;
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
  b.lower[fi] = 0;
}

/** Centres ← sums / counts; per-centre shift into `shift`; returns [sum of squared shifts, largest shift]. */
function moveCentres(
  c: Float64Array,
  sums: Float64Array,
  counts: Float64Array,
  k: number,
  d: number,
  shift: Float64Array,
): [number, number] {
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
  return [totalShift, maxShift];
}

/** Keeps the bounds valid after the centres moved. */
function shiftBounds(labels: Int32Array, b: Bounds, shift: Float64Array, maxShift: number): void {
  const upper = b.upper, lower = b.lower;
  for (let i = 0; i < labels.length; i++) {
    upper[i] += shift[labels[i]];
    lower[i] -= maxShift;
  }
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
  all: Rows32 | undefined,
): number {
  const n = x.rows, d = x.cols, data = x.data;
  const counts = new Float64Array(k);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const bl = new Int32Array(Math.min(batch, n));
  const before = new Float64Array(k * d);
  const block = blockRows(k);
  let cs: Rows32 | undefined;
  let ep = 0;
  for (; ep < epochs; ep++) {
    rng.shuffle(order);
    before.set(c);
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      if (all) {
        // The same nearest centres as the loop below: bounds through sgemm, exact distances for the contenders.
        cs = prepareRows(c, d, 0, k, cs);
        for (let from = start; from < end; from += block) {
          const to = Math.min(end, from + block);
          const { lo, hi } = boundsOf(block * k);
          scratch.rows = selectRows(all, order.subarray(from, to), to - from, scratch.rows);
          sqDistBounds(scratch.rows, cs, lo, hi);
          for (let b = from; b < to; b++) {
            const i = order[b], o = (b - from) * k;
            let h = Infinity;
            for (let j = 0; j < k; j++) if (hi[o + j] < h) h = hi[o + j];
            let best = Infinity, bc = 0;
            for (let j = 0; j < k; j++) {
              if (lo[o + j] > h) continue;
              const s = sqDist(data, i * d, c, j * d, d);
              if (s < best) {
                best = s;
                bc = j;
              }
            }
            bl[b - start] = bc;
          }
        }
      } else {
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

/**
 * Whether k-means computes its distances through sgemm: when OpenBLAS loaded
 * and the engine is not forced to tfjs (`NADIR_BACKEND=tfjs` or
 * `setNnEngine("tfjs")`), the same switch as the neural detectors' native
 * engine. Either way the results are the same (exact float64 where it counts);
 * only the speed differs.
 */
export function kmeansUsesBlas(): boolean {
  return blasAvailable() && nnEngine().name === "native";
}

/** Registry entry. */
export const kmeans: DetectorFactory = defineDetector({
  name: "kmeans",
  summary: "k-means++ / Lloyd (Hamerly) or mini-batch; score = distance to nearest centroid / cluster radius",
  params: PARAMS,
  create: (params, seed) => new KMeansDetector(params, seed),
  conformanceParams: { k: 4 },
  backend: () => kmeansUsesBlas() ? nativeEngineLine() : "js",
});
