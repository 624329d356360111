/**
 * `knn`: the score of a row is its Euclidean distance to the k-th nearest
 * *distinct* benign training row. A classical baseline that is hard to beat on
 * KDD-style data; the deep models are always reported against it.
 *
 * - Training rows are deduplicated first: NSL-KDD/KDD99 repeat identical rows
 *   thousands of times, and with duplicates the k nearest neighbours of a
 *   common row are all copies of it (distance 0 for every k), which makes k
 *   meaningless. Deduplication also shrinks the index.
 * - k defaults to 5 (as PyOD's KNN): the 5th distinct neighbour is robust to a
 *   few mislabelled or odd rows in the benign set, where k = 1 would let one
 *   stray training row mask every anomaly near it.
 * - Search is exact. Small sets (≤ `bruteMax` distinct rows) are scanned; larger
 *   ones go into a k-d tree with tight bounding boxes (see {@link KdTree}),
 *   searched depth first, nearer child first, pruning boxes whose distance
 *   exceeds the current k-th distance. Columns are reordered by decreasing
 *   variance so that a row's distance sum (and a box's) passes the bound, and
 *   is abandoned, after as few columns as possible.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const d = createDetector("knn", { k: 1 }, 0);
 * await d.fit(matrixFromRows([[0, 0], [0, 0], [3, 4]])); // the duplicate is dropped
 * const s = await d.score(matrixFromRows([[0, 0], [6, 8]]));
 * assert.deepEqual([...s], [0, 5]);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import {
  checkFitInput,
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
import { defineParams, type ParamValues } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const PARAMS = defineParams({
  k: {
    type: "int",
    default: 5,
    min: 1,
    description: "score = distance to the k-th nearest distinct benign row",
  },
  algorithm: {
    type: "string",
    default: "auto",
    choices: ["auto", "brute", "kd-tree"],
    description: "exact search method; auto = brute force up to bruteMax distinct rows, else a k-d tree",
  },
  bruteMax: {
    type: "int",
    default: 2048,
    min: 0,
    description: "auto uses brute force up to this many distinct rows",
  },
  leafSize: { type: "int", default: 16, min: 1, description: "k-d tree leaf size" },
});

/** Validated hyperparameters of the kNN detector. */
export type KnnParams = ParamValues<typeof PARAMS>;

/** Distinct rows of `x` (first occurrence order) and how many rows were dropped. */
export function dedupeRows(x: Matrix): { data: Float64Array; rows: number; dropped: number } {
  const d = x.cols;
  const words = new Uint32Array(x.data.buffer, x.data.byteOffset, x.data.length * 2);
  const seen = new Map<number, number[]>();
  const keep: number[] = [];
  for (let i = 0; i < x.rows; i++) {
    // FNV-1a over the row's 32-bit words; -0 and 0 differ in bits, so normalise them.
    let h = 0x811c9dc5;
    for (let j = 0; j < 2 * d; j++) {
      const w = (j & 1) === 1 && x.data[i * d + (j >> 1)] === 0 ? 0 : words[i * 2 * d + j];
      h = Math.imul(h ^ w, 0x01000193);
    }
    const bucket = seen.get(h);
    if (bucket) {
      let dup = false;
      for (const o of bucket) {
        let same = true;
        for (let j = 0; j < d; j++) {
          if (x.data[i * d + j] !== x.data[o * d + j]) {
            same = false;
            break;
          }
        }
        if (same) {
          dup = true;
          break;
        }
      }
      if (dup) continue;
      bucket.push(i);
    } else seen.set(h, [i]);
    keep.push(i);
  }
  const data = new Float64Array(keep.length * d);
  keep.forEach((r, t) => data.set(x.data.subarray(r * d, r * d + d), t * d));
  return { data, rows: keep.length, dropped: x.rows - keep.length };
}

/**
 * An exact k-d tree over row-major points with tight per-node bounding boxes.
 * Points are stored in tree order so every leaf is a contiguous block.
 *
 * Splits go along the dimension of largest spread, at the value boundary
 * nearest the median. On one-hot + min-max data this separates categories
 * cleanly (all rows with `service=http` on one side), so a query's box lower
 * bound jumps by a whole category mismatch and prunes most of the tree;
 * splitting at the exact median (or along far-point lines, as ball trees do)
 * mixes categories and prunes far less in our measurements on NSL-KDD.
 */
export class KdTree {
  readonly points: Float64Array;
  readonly d: number;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly left: Int32Array; // -1 at leaves
  readonly right: Int32Array;
  readonly lo: Float64Array; // nodes × d
  readonly hi: Float64Array;

  constructor(fields: Pick<KdTree, "points" | "d" | "start" | "end" | "left" | "right" | "lo" | "hi">) {
    this.points = fields.points;
    this.d = fields.d;
    this.start = fields.start;
    this.end = fields.end;
    this.left = fields.left;
    this.right = fields.right;
    this.lo = fields.lo;
    this.hi = fields.hi;
  }

  /** Builds the tree (deterministic: no randomness). */
  static build(points: Float64Array, n: number, d: number, leafSize: number): KdTree {
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    let cap = 2 * Math.ceil(n / Math.max(1, leafSize)) + 16;
    let start = new Int32Array(cap),
      end = new Int32Array(cap),
      left = new Int32Array(cap),
      right = new Int32Array(cap);
    let lo = new Float64Array(cap * d), hi = new Float64Array(cap * d);
    const scratch = new Float64Array(n);
    const bl = new Float64Array(d), bh = new Float64Array(d);
    let count = 0;
    const grow = () => {
      cap *= 2;
      const g32 = (a: Int32Array) => {
        const b = new Int32Array(cap);
        b.set(a);
        return b;
      };
      const g64 = (a: Float64Array) => {
        const b = new Float64Array(cap * d);
        b.set(a);
        return b;
      };
      start = g32(start), end = g32(end), left = g32(left), right = g32(right), lo = g64(lo), hi = g64(hi);
    };
    const build = (a: number, b: number): number => {
      if (count === cap) grow();
      const node = count++;
      start[node] = a;
      end[node] = b;
      left[node] = right[node] = -1;
      bl.fill(Infinity);
      bh.fill(-Infinity);
      for (let t = a; t < b; t++) {
        const r = idx[t] * d;
        for (let j = 0; j < d; j++) {
          const v = points[r + j];
          if (v < bl[j]) bl[j] = v;
          if (v > bh[j]) bh[j] = v;
        }
      }
      lo.set(bl, node * d);
      hi.set(bh, node * d);
      if (b - a <= leafSize) return node;
      let dim = 0, spread = 0;
      for (let j = 0; j < d; j++) {
        if (bh[j] - bl[j] > spread) {
          spread = bh[j] - bl[j];
          dim = j;
        }
      }
      if (spread === 0) return node; // identical rows (cannot happen after dedupe)
      // Median value via a native typed-array sort of the keys, then a three-way
      // partition (< v | = v | > v) so the split can sit on a value boundary.
      const keys = scratch.subarray(0, b - a);
      for (let t = a; t < b; t++) keys[t - a] = points[idx[t] * d + dim];
      keys.sort();
      const v = keys[(b - a) >> 1];
      let lt = a, gt = b, t = a;
      while (t < gt) {
        const key = points[idx[t] * d + dim];
        if (key < v) {
          const tmp = idx[t];
          idx[t++] = idx[lt];
          idx[lt++] = tmp;
        } else if (key > v) {
          const tmp = idx[t];
          idx[t] = idx[--gt];
          idx[gt] = tmp;
        } else t++;
      }
      // Rows equal to the median go wholly to the side that keeps the halves most even.
      const mid = (a + b) >> 1;
      const split = lt > a && (gt >= b || mid - lt <= gt - mid) ? lt : gt;
      const l = build(a, split);
      const r = build(split, b);
      left[node] = l;
      right[node] = r;
      return node;
    };
    build(0, n);
    const ordered = new Float64Array(n * d);
    for (let t = 0; t < n; t++) ordered.set(points.subarray(idx[t] * d, idx[t] * d + d), t * d);
    return new KdTree({
      points: ordered,
      d,
      start: start.slice(0, count),
      end: end.slice(0, count),
      left: left.slice(0, count),
      right: right.slice(0, count),
      lo: lo.slice(0, count * d),
      hi: hi.slice(0, count * d),
    });
  }

  /** Squared distance to the k-th nearest point of `q[qo..qo+d)`; `best` is scratch of length k. */
  kthSq(q: Float64Array, qo: number, k: number, best: Float64Array): number {
    best.fill(Infinity);
    const d = this.d, pts = this.points, left = this.left, right = this.right;
    const lo = this.lo, hi = this.hi, start = this.start, end = this.end;
    // Squared distance from q to the node's box, abandoned once it reaches the current k-th distance.
    const boxSq = (node: number): number => {
      const o = node * d, limit = best[k - 1];
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = q[qo + j];
        const l = lo[o + j];
        if (v < l) s += (l - v) * (l - v);
        else {
          const h = hi[o + j];
          if (v > h) s += (v - h) * (v - h);
        }
        if (s >= limit) return s;
      }
      return s;
    };
    const visit = (node: number, lb: number): void => {
      if (lb >= best[k - 1]) return;
      const l = left[node];
      if (l < 0) {
        scanBlock(q, qo, pts, start[node], end[node], d, k, best);
        return;
      }
      const r = right[node];
      const ll = boxSq(l), lr = boxSq(r);
      if (ll <= lr) {
        visit(l, ll);
        visit(r, lr); // a bound abandoned early is still >= the (now smaller) k-th distance
      } else {
        visit(r, lr);
        visit(l, ll);
      }
    };
    visit(0, 0);
    return best[k - 1];
  }
}

/** Scans points [from, to) into the sorted k-best list with early abandoning. */
function scanBlock(
  q: Float64Array,
  qo: number,
  pts: Float64Array,
  from: number,
  to: number,
  d: number,
  k: number,
  best: Float64Array,
): void {
  let worst = best[k - 1];
  for (let t = from; t < to; t++) {
    // Abandoned at the bound (checked every 8 dimensions): most far points stop early.
    const s = sqDistBounded(q, qo, pts, t * d, d, worst);
    if (s >= worst) continue;
    let p = k - 1;
    while (p > 0 && best[p - 1] > s) {
      best[p] = best[p - 1];
      p--;
    }
    best[p] = s;
    worst = best[k - 1];
  }
}

/** The kNN detector. */
export class KnnDetector implements Detector {
  readonly name = "knn";
  readonly params: Readonly<KnnParams>;
  #d: number | undefined;
  #n = 0;
  #dropped = 0;
  /** Column order used internally: largest variance first, so partial distances abandon early. */
  #order: Int32Array = new Int32Array(0);
  #points: Float64Array = new Float64Array(0); // distinct rows, columns in #order (tree order when a tree is used)
  #tree: KdTree | undefined;

  constructor(params: KnnParams) {
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
    const k = this.params.k;
    const u = dedupeRows(x);
    if (u.rows < k) {
      throw new InputError(
        `knn.fit: parameter k = ${k} exceeds the ${u.rows} distinct training rows; lower k`,
      );
    }
    const d = x.cols;
    const order = varianceOrder(u.data, u.rows, d);
    const permuted = permuteColumns(u.data, u.rows, d, order);
    const algo = this.params.algorithm;
    const useTree = algo === "kd-tree" || (algo === "auto" && u.rows > this.params.bruteMax);
    this.#tree = useTree ? KdTree.build(permuted, u.rows, d, this.params.leafSize) : undefined;
    this.#points = this.#tree ? this.#tree.points : permuted;
    this.#order = order;
    this.#n = u.rows;
    this.#dropped = u.dropped;
    this.#d = d;
    options.onProgress?.({ step: 1, total: 1 });
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.#d);
    const k = this.params.k, d = this.#d!;
    const q = permuteColumns(x.data, x.rows, d, this.#order);
    const out = new Float64Array(x.rows);
    const best = new Float64Array(k);
    if (this.#tree) {
      for (let i = 0; i < x.rows; i++) out[i] = saturateScore(Math.sqrt(this.#tree.kthSq(q, i * d, k, best)));
      return out;
    }
    // Brute force, blocked over training rows so a block stays in cache for many queries.
    const block = Math.max(1, Math.floor(32768 / d));
    const bests = new Float64Array(x.rows * k).fill(Infinity);
    for (let b = 0; b < this.#n; b += block) {
      const e = Math.min(this.#n, b + block);
      for (let i = 0; i < x.rows; i++) {
        scanBlock(q, i * d, this.#points, b, e, d, k, bests.subarray(i * k, i * k + k));
      }
    }
    // A row whose every distance overflowed (1e300 away) keeps Infinity here: saturated, like the tree path.
    for (let i = 0; i < x.rows; i++) out[i] = saturateScore(Math.sqrt(bests[i * k + k - 1]));
    return out;
  }

  save(): DetectorState {
    if (this.#d === undefined) throw new InputError("knn.save: the model is not fitted");
    const state: Record<string, unknown> = {
      nFeatures: this.#d,
      distinctRows: this.#n,
      droppedDuplicates: this.#dropped,
      tree: !!this.#tree,
    };
    const blobs: Record<string, Uint8Array> = { points: toBytes(this.#points), order: toBytes(this.#order) };
    if (this.#tree) {
      const t = this.#tree;
      state.nodes = t.start.length;
      Object.assign(blobs, {
        start: toBytes(t.start),
        end: toBytes(t.end),
        left: toBytes(t.left),
        right: toBytes(t.right),
        lo: toBytes(t.lo),
        hi: toBytes(t.hi),
      });
    }
    return { state, blobs };
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    const n = this.name, s = saved.state;
    const d = stateNumber(s, "nFeatures", n), rows = stateNumber(s, "distinctRows", n);
    // fit() refuses this; a manifest edited (or damaged) to ask for it scored every row MAX_VALUE.
    if (this.params.k > rows) {
      throw new InputError(
        `knn: parameter k = ${this.params.k} exceeds the ${rows} distinct training rows the model holds ` +
          `(manifest detector.params.k)`,
      );
    }
    this.#points = f64Blob(saved.blobs, "points", n, rows * d);
    this.#order = i32Blob(saved.blobs, "order", n, d);
    const seen = new Uint8Array(d);
    for (const c of this.#order) {
      if (c < 0 || c >= d || seen[c]) {
        throw new InputError("knn: saved column order is not a permutation (corrupt weights)");
      }
      seen[c] = 1;
    }
    if (s.tree === true) {
      const nodes = stateNumber(s, "nodes", n);
      const start = i32Blob(saved.blobs, "start", n, nodes), end = i32Blob(saved.blobs, "end", n, nodes);
      const left = i32Blob(saved.blobs, "left", n, nodes), right = i32Blob(saved.blobs, "right", n, nodes);
      for (let i = 0; i < nodes; i++) {
        if (
          start[i] < 0 || end[i] > rows || start[i] > end[i] || left[i] >= nodes || right[i] >= nodes ||
          (left[i] >= 0 && (left[i] <= i || right[i] <= i))
        ) {
          throw new InputError(`knn: saved k-d tree node ${i} is inconsistent (corrupt weights)`);
        }
      }
      this.#tree = new KdTree({
        points: this.#points,
        d,
        start,
        end,
        left,
        right,
        lo: f64Blob(saved.blobs, "lo", n, nodes * d),
        hi: f64Blob(saved.blobs, "hi", n, nodes * d),
      });
    } else this.#tree = undefined;
    this.#n = rows;
    this.#d = d;
    this.#dropped = typeof s.droppedDuplicates === "number" ? s.droppedDuplicates : 0;
    return this;
  }
}

/** Registry entry. */
export const knn: DetectorFactory = defineDetector({
  name: "knn",
  summary: "distance to the k-th nearest distinct benign row (exact; brute force or k-d tree)",
  params: PARAMS,
  create: (params) => new KnnDetector(params),
  conformanceParams: { k: 3, bruteMax: 256 },
});
