/**
 * `lof`: Local Outlier Factor (Breunig, Kriegel, Ng & Sander, SIGMOD 2000),
 * scoring new rows against the benign training rows ("novelty" detection, as
 * scikit-learn's `LocalOutlierFactor(novelty=True)`).
 *
 * With N_k(p) the k nearest training rows of p and k-dist(o) the distance from
 * training row o to its own k-th nearest other training row:
 *
 *   reach-dist(p, o) = max(k-dist(o), d(p, o))
 *   lrd(p)           = 1 / (mean_{o ∈ N_k(p)} reach-dist(p, o) + 1e-10)
 *   LOF(p)           = mean_{o ∈ N_k(p)} lrd(o) / lrd(p)
 *
 * LOF ≈ 1 inside a cluster of even density, ≫ 1 for a row in a sparser region
 * than its neighbours — local density, so a dense and a sparse benign cluster
 * are both "normal". The 1e-10 is scikit-learn's guard against dividing by 0.
 *
 * - **Ties**: N_k(p) holds every training row within the k-th distance (the
 *   paper's definition, so |N_k| may exceed k). scikit-learn keeps exactly k
 *   and breaks ties by its search order; both agree wherever the k-th and
 *   (k+1)-th distances differ.
 * - **Duplicates** are dropped before fitting (the paper assumes none: with ≥ k
 *   copies of a row its k-distance is 0 and its lrd infinite). NSL-KDD and
 *   KDD99 repeat benign rows thousands of times.
 * - **Search** is exact: a k-d tree over the distinct rows (./knn.ts
 *   {@link KdTree}, columns ordered by decreasing variance), pruning boxes
 *   farther than the current k-th distance. Fit runs one k-NN query per
 *   distinct training row, score one per scored row.
 * - k defaults to 20 (scikit-learn's and PyOD's `n_neighbors`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * // an evenly spaced grid: every inner row has LOF 1
 * const grid = [];
 * for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) grid.push([i, j]);
 * const d = createDetector("lof", { k: 4 }, 0);
 * await d.fit(matrixFromRows(grid));
 * const [inside, outside] = await d.score(matrixFromRows([[2.5, 2.5], [12, 12]]));
 * assert.ok(Math.abs(inside - 1) < 1e-6, `inside the grid: ${inside}`);
 * assert.ok(outside > 5, `far outside: ${outside}`);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import {
  checkFitInput,
  checkMagnitude,
  checkScoreInput,
  f64Blob,
  i32Blob,
  permuteColumns,
  saturateScore,
  sqDistBounded,
  stateNumber,
  toBytes,
  varianceOrder,
} from "./_linalg.ts";
import { defineDetector } from "./factory.ts";
import { dedupeRows, KdTree } from "./knn.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const PARAMS = defineParams({
  k: { type: "int", default: 20, min: 1, description: "neighbours (MinPts); scikit-learn's n_neighbors" },
  leafSize: { type: "int", default: 16, min: 1, description: "k-d tree leaf size" },
});

/** Validated hyperparameters of the LOF detector. */
export type LofParams = ParamValues<typeof PARAMS>;

/** Guard added to the mean reachability distance, as scikit-learn does. */
const REACH_EPS = 1e-10;

/** Training values beyond this would overflow squared distances between training rows. */
const MAGNITUDE_LIMIT = 1e100;

/**
 * The k nearest points found so far, sorted, plus every further point tied
 * with the k-th (same squared distance), so ties are all kept.
 */
class NeighbourList {
  readonly k: number;
  readonly sq: Float64Array;
  readonly idx: Int32Array;
  count = 0;
  ties: number[] = [];

  constructor(k: number) {
    this.k = k;
    this.sq = new Float64Array(k);
    this.idx = new Int32Array(k);
  }

  reset(): void {
    this.count = 0;
    this.ties.length = 0;
  }

  /** Squared distance a candidate must not exceed to enter (ties enter). */
  bound(): number {
    return this.count < this.k ? Infinity : this.sq[this.k - 1];
  }

  offer(s: number, i: number): void {
    const k = this.k, sq = this.sq, idx = this.idx;
    if (this.count < k) {
      let p = this.count++;
      while (p > 0 && sq[p - 1] > s) {
        sq[p] = sq[p - 1];
        idx[p] = idx[p - 1];
        p--;
      }
      sq[p] = s;
      idx[p] = i;
      return;
    }
    const kth = sq[k - 1];
    if (s > kth) return;
    if (s === kth) {
      this.ties.push(i);
      return;
    }
    const evicted = idx[k - 1];
    let p = k - 1;
    while (p > 0 && sq[p - 1] > s) {
      sq[p] = sq[p - 1];
      idx[p] = idx[p - 1];
      p--;
    }
    sq[p] = s;
    idx[p] = i;
    // The evicted row still ties with the new k-th when the distances are equal; else old ties are out.
    if (sq[k - 1] === kth) this.ties.push(evicted);
    else this.ties.length = 0;
  }
}

/**
 * Fills `list` with the k nearest tree points of `q[qo..qo+d)` and their ties,
 * skipping point `exclude` (the query itself when it is a training row; -1 for none).
 */
function searchTree(
  tree: KdTree,
  q: Float64Array,
  qo: number,
  exclude: number,
  list: NeighbourList,
): void {
  list.reset();
  const d = tree.d, pts = tree.points, left = tree.left, right = tree.right;
  const lo = tree.lo, hi = tree.hi, start = tree.start, end = tree.end;
  const boxSq = (node: number): number => {
    const o = node * d, limit = list.bound();
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = q[qo + j];
      const l = lo[o + j];
      if (v < l) s += (l - v) * (l - v);
      else {
        const h = hi[o + j];
        if (v > h) s += (v - h) * (v - h);
      }
      if (s > limit) return s;
    }
    return s;
  };
  const visit = (node: number, lb: number): void => {
    if (lb > list.bound()) return;
    const l = left[node];
    if (l < 0) {
      for (let t = start[node]; t < end[node]; t++) {
        if (t === exclude) continue;
        const s = sqDistBounded(q, qo, pts, t * d, d, list.bound(), true);
        if (s <= list.bound()) list.offer(s, t);
      }
      return;
    }
    const r = right[node];
    const ll = boxSq(l), lr = boxSq(r);
    if (ll <= lr) {
      visit(l, ll);
      visit(r, lr);
    } else {
      visit(r, lr);
      visit(l, ll);
    }
  };
  visit(0, 0);
}

/** The LOF detector. */
export class LofDetector implements Detector {
  readonly name = "lof";
  readonly params: Readonly<LofParams>;
  #d: number | undefined;
  #n = 0;
  #dropped = 0;
  #order: Int32Array = new Int32Array(0);
  #tree: KdTree | undefined;
  /** Per distinct training row (tree order): distance to its k-th nearest other row, and its lrd. */
  #kdist: Float64Array = new Float64Array(0);
  #lrd: Float64Array = new Float64Array(0);

  constructor(params: LofParams) {
    this.params = params;
  }

  get nFeatures(): number | undefined {
    return this.#d;
  }

  /** Number of distinct training rows kept. */
  get distinctRows(): number {
    return this.#n;
  }

  fit(x: Matrix, options: FitOptions = {}): void {
    checkFitInput(this.name, x);
    checkMagnitude("lof.fit", x, MAGNITUDE_LIMIT, "squared distances between training rows would overflow");
    const k = this.params.k, d = x.cols;
    const u = dedupeRows(x);
    if (u.rows < k + 1) {
      throw new InputError(
        `lof.fit: parameter k = ${k} needs at least ${
          k + 1
        } distinct training rows (each row's k neighbours ` +
          `exclude itself), found ${u.rows}; lower k`,
      );
    }
    const order = varianceOrder(u.data, u.rows, d);
    const tree = KdTree.build(permuteColumns(u.data, u.rows, d, order), u.rows, d, this.params.leafSize);
    const n = u.rows, pts = tree.points;
    // Pass 1: every training row's neighbours (ties included) and k-distance.
    const list = new NeighbourList(k);
    const nbrStart = new Int32Array(n + 1);
    let nbrIdx = new Int32Array(n * k), nbrDist = new Float64Array(n * k);
    const kdist = new Float64Array(n);
    let used = 0;
    const report = Math.max(1, Math.floor(n / 20));
    for (let i = 0; i < n; i++) {
      searchTree(tree, pts, i * d, i, list);
      const m = k + list.ties.length;
      if (used + m > nbrIdx.length) {
        const cap = Math.max(nbrIdx.length * 2, used + m);
        const a = new Int32Array(cap), b = new Float64Array(cap);
        a.set(nbrIdx);
        b.set(nbrDist);
        nbrIdx = a;
        nbrDist = b;
      }
      for (let t = 0; t < k; t++) {
        nbrIdx[used + t] = list.idx[t];
        nbrDist[used + t] = Math.sqrt(list.sq[t]);
      }
      const kth = Math.sqrt(list.sq[k - 1]);
      for (let t = 0; t < list.ties.length; t++) {
        nbrIdx[used + k + t] = list.ties[t];
        nbrDist[used + k + t] = kth;
      }
      used += m;
      nbrStart[i + 1] = used;
      kdist[i] = kth;
      if ((i + 1) % report === 0) options.onProgress?.({ step: (i + 1) / n, total: 2, partial: true });
    }
    // Pass 2: local reachability densities.
    const lrd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let t = nbrStart[i]; t < nbrStart[i + 1]; t++) sum += Math.max(kdist[nbrIdx[t]], nbrDist[t]);
      lrd[i] = 1 / (sum / (nbrStart[i + 1] - nbrStart[i]) + REACH_EPS);
    }
    this.#tree = tree;
    this.#order = order;
    this.#kdist = kdist;
    this.#lrd = lrd;
    this.#n = n;
    this.#dropped = u.dropped;
    this.#d = d;
    options.onProgress?.({ step: 2, total: 2 });
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.#d);
    const d = this.#d!, tree = this.#tree!, kdist = this.#kdist, lrd = this.#lrd;
    const q = permuteColumns(x.data, x.rows, d, this.#order);
    const list = new NeighbourList(this.params.k);
    const out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      searchTree(tree, q, i * d, -1, list);
      const k = list.k, kth = Math.sqrt(list.sq[k - 1]);
      let reach = 0, dens = 0;
      for (let t = 0; t < k; t++) {
        const o = list.idx[t];
        reach += Math.max(kdist[o], Math.sqrt(list.sq[t]));
        dens += lrd[o];
      }
      for (const o of list.ties) {
        reach += Math.max(kdist[o], kth);
        dens += lrd[o];
      }
      const m = k + list.ties.length;
      // LOF = mean lrd(o) / lrd(q), lrd(q) = 1 / (mean reach + eps).
      out[i] = saturateScore((dens / m) * (reach / m + REACH_EPS));
    }
    return out;
  }

  save(): DetectorState {
    if (this.#d === undefined || !this.#tree) throw new InputError("lof.save: the model is not fitted");
    const t = this.#tree;
    return {
      state: {
        nFeatures: this.#d,
        distinctRows: this.#n,
        droppedDuplicates: this.#dropped,
        nodes: t.start.length,
      },
      blobs: {
        points: toBytes(t.points),
        order: toBytes(this.#order),
        kdist: toBytes(this.#kdist),
        lrd: toBytes(this.#lrd),
        start: toBytes(t.start),
        end: toBytes(t.end),
        left: toBytes(t.left),
        right: toBytes(t.right),
        lo: toBytes(t.lo),
        hi: toBytes(t.hi),
      },
    };
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    const n = this.name, s = saved.state;
    const d = stateNumber(s, "nFeatures", n), rows = stateNumber(s, "distinctRows", n);
    // fit() refuses this (see its message); an edited manifest must not get past loading.
    if (this.params.k >= rows) {
      throw new InputError(
        `lof: parameter k = ${this.params.k} needs more than ${rows} distinct training rows, which the model holds ` +
          `(manifest detector.params.k)`,
      );
    }
    const nodes = stateNumber(s, "nodes", n);
    const points = f64Blob(saved.blobs, "points", n, rows * d);
    const order = i32Blob(saved.blobs, "order", n, d);
    const seen = new Uint8Array(d);
    for (const c of order) {
      if (c < 0 || c >= d || seen[c]) {
        throw new InputError("lof: saved column order is not a permutation (corrupt weights)");
      }
      seen[c] = 1;
    }
    const kdist = f64Blob(saved.blobs, "kdist", n, rows), lrd = f64Blob(saved.blobs, "lrd", n, rows);
    for (let i = 0; i < rows; i++) {
      if (!(kdist[i] >= 0 && lrd[i] > 0 && Number.isFinite(kdist[i]) && Number.isFinite(lrd[i]))) {
        throw new InputError(`lof: saved k-distance or density of row ${i + 1} is invalid (corrupt weights)`);
      }
    }
    const start = i32Blob(saved.blobs, "start", n, nodes), end = i32Blob(saved.blobs, "end", n, nodes);
    const left = i32Blob(saved.blobs, "left", n, nodes), right = i32Blob(saved.blobs, "right", n, nodes);
    for (let i = 0; i < nodes; i++) {
      if (
        start[i] < 0 || end[i] > rows || start[i] > end[i] || left[i] >= nodes || right[i] >= nodes ||
        (left[i] >= 0 && (left[i] <= i || right[i] <= i))
      ) {
        throw new InputError(`lof: saved k-d tree node ${i} is inconsistent (corrupt weights)`);
      }
    }
    this.#tree = new KdTree({
      points,
      d,
      start,
      end,
      left,
      right,
      lo: f64Blob(saved.blobs, "lo", n, nodes * d),
      hi: f64Blob(saved.blobs, "hi", n, nodes * d),
    });
    this.#order = order;
    this.#kdist = kdist;
    this.#lrd = lrd;
    this.#n = rows;
    this.#d = d;
    this.#dropped = typeof s.droppedDuplicates === "number" ? s.droppedDuplicates : 0;
    return this;
  }
}

/** Registry entry. */
export const lof: DetectorFactory = defineDetector({
  name: "lof",
  summary: "Local Outlier Factor (Breunig et al. 2000), novelty scoring against distinct benign rows; k = 20",
  params: PARAMS,
  create: (params) => new LofDetector(params),
  conformanceParams: { k: 10 },
});
