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
 *   ones go into a ball tree (split along the line between two far-apart
 *   points, at the median projection; leaves of `leafSize` rows), searched
 *   depth first, nearer child first, pruning balls whose lower bound
 *   `‖q − c‖ − r` exceeds the current k-th distance, and abandoning a leaf
 *   row's distance sum as soon as it exceeds that bound.
 *
 * @example
 * ```ts
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const d = createDetector("knn", { k: 1 }, 0);
 * await d.fit(matrixFromRows([[0, 0], [0, 0], [3, 4]])); // the duplicate is dropped
 * const s = await d.score(matrixFromRows([[0, 0], [6, 8]]));
 * console.assert(s[0] === 0 && s[1] === 5);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { checkFitInput, checkScoreInput, f64Blob, i32Blob, sqDist, stateNumber, toBytes } from "./_linalg.ts";
import { validateParams } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions, ParamSpec } from "./types.ts";

const PARAMS: Record<string, ParamSpec> = {
  k: { type: "int", default: 5, min: 1, description: "score = distance to the k-th nearest distinct benign row" },
  algorithm: {
    type: "string",
    default: "auto",
    choices: ["auto", "brute", "ball-tree"],
    description: "exact search method; auto = brute force up to bruteMax distinct rows, else a ball tree",
  },
  bruteMax: { type: "int", default: 2048, min: 0, description: "auto uses brute force up to this many distinct rows" },
  leafSize: { type: "int", default: 32, min: 1, description: "ball-tree leaf size" },
};

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
 * An exact ball tree over row-major points. Points are stored in tree order so
 * every leaf is a contiguous block.
 */
export class BallTree {
  readonly points: Float64Array;
  readonly d: number;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly left: Int32Array; // -1 at leaves
  readonly right: Int32Array;
  readonly centre: Float64Array;
  readonly radius: Float64Array;

  constructor(
    fields: Pick<BallTree, "points" | "d" | "start" | "end" | "left" | "right" | "centre" | "radius">,
  ) {
    this.points = fields.points;
    this.d = fields.d;
    this.start = fields.start;
    this.end = fields.end;
    this.left = fields.left;
    this.right = fields.right;
    this.centre = fields.centre;
    this.radius = fields.radius;
  }

  /** Builds the tree (deterministic: no randomness). */
  static build(points: Float64Array, n: number, d: number, leafSize: number): BallTree {
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const maxNodes = 2 * Math.ceil(n / Math.max(1, Math.floor(leafSize / 2))) + 1;
    const start = new Int32Array(maxNodes), end = new Int32Array(maxNodes);
    const left = new Int32Array(maxNodes).fill(-1), right = new Int32Array(maxNodes).fill(-1);
    const centre = new Float64Array(maxNodes * d), radius = new Float64Array(maxNodes);
    const proj = new Float64Array(n);
    const dir = new Float64Array(d);
    let count = 0;
    const build = (lo: number, hi: number): number => {
      const node = count++;
      start[node] = lo;
      end[node] = hi;
      const co = node * d;
      for (let t = lo; t < hi; t++) {
        const r = idx[t] * d;
        for (let j = 0; j < d; j++) centre[co + j] += points[r + j];
      }
      for (let j = 0; j < d; j++) centre[co + j] /= hi - lo;
      let far = -1, p1 = idx[lo];
      for (let t = lo; t < hi; t++) {
        const s = sqDist(points, idx[t] * d, centre, co, d);
        if (s > far) {
          far = s;
          p1 = idx[t];
        }
      }
      radius[node] = Math.sqrt(far);
      if (hi - lo <= leafSize || far === 0) return node;
      let far2 = -1, p2 = p1;
      for (let t = lo; t < hi; t++) {
        const s = sqDist(points, idx[t] * d, points, p1 * d, d);
        if (s > far2) {
          far2 = s;
          p2 = idx[t];
        }
      }
      for (let j = 0; j < d; j++) dir[j] = points[p2 * d + j] - points[p1 * d + j];
      for (let t = lo; t < hi; t++) {
        const r = idx[t] * d;
        let s = 0;
        for (let j = 0; j < d; j++) s += points[r + j] * dir[j];
        proj[idx[t]] = s;
      }
      const sub = idx.subarray(lo, hi);
      sub.sort((a, b) => proj[a] - proj[b]);
      const mid = (lo + hi) >> 1;
      left[node] = build(lo, mid);
      right[node] = build(mid, hi);
      return node;
    };
    build(0, n);
    const ordered = new Float64Array(n * d);
    for (let t = 0; t < n; t++) ordered.set(points.subarray(idx[t] * d, idx[t] * d + d), t * d);
    return new BallTree({
      points: ordered,
      d,
      start: start.slice(0, count),
      end: end.slice(0, count),
      left: left.slice(0, count),
      right: right.slice(0, count),
      centre: centre.slice(0, count * d),
      radius: radius.slice(0, count),
    });
  }

  /** Squared distance to the k-th nearest point of `q[qo..qo+d)`; `best` is scratch of length k. */
  kthSq(q: Float64Array, qo: number, k: number, best: Float64Array): number {
    best.fill(Infinity);
    const d = this.d, pts = this.points, left = this.left, right = this.right;
    const centre = this.centre, radius = this.radius, start = this.start, end = this.end;
    const lowerSq = (node: number): number => {
      const c = Math.sqrt(sqDist(q, qo, centre, node * d, d)) - radius[node];
      return c > 0 ? c * c : 0;
    };
    const visit = (node: number, lb: number): void => {
      if (lb >= best[k - 1]) return;
      const l = left[node];
      if (l < 0) {
        scanBlock(q, qo, pts, start[node], end[node], d, k, best);
        return;
      }
      const r = right[node];
      const ll = lowerSq(l), lr = lowerSq(r);
      if (ll <= lr) {
        visit(l, ll);
        visit(r, lr);
      } else {
        visit(r, lr);
        visit(l, ll);
      }
    };
    visit(0, lowerSq(0));
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
    const po = t * d;
    let s = 0, j = 0;
    // Check the bound every 8 dimensions: most far points are abandoned early.
    while (j < d) {
      const stop = j + 8 < d ? j + 8 : d;
      for (; j < stop; j++) {
        const v = q[qo + j] - pts[po + j];
        s += v * v;
      }
      if (s >= worst) break;
    }
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
  readonly params: Readonly<Record<string, unknown>>;
  #d: number | undefined;
  #n = 0;
  #dropped = 0;
  #points: Float64Array = new Float64Array(0); // distinct rows (brute) or tree-ordered rows
  #tree: BallTree | undefined;

  constructor(params: Record<string, unknown>) {
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
    const k = this.params.k as number;
    const u = dedupeRows(x);
    if (u.rows < k) {
      throw new InputError(`knn.fit: parameter k = ${k} exceeds the ${u.rows} distinct training rows; lower k`);
    }
    const algo = this.params.algorithm as string;
    const useTree = algo === "ball-tree" || (algo === "auto" && u.rows > (this.params.bruteMax as number));
    this.#tree = useTree ? BallTree.build(u.data, u.rows, x.cols, this.params.leafSize as number) : undefined;
    this.#points = this.#tree ? this.#tree.points : u.data;
    this.#n = u.rows;
    this.#dropped = u.dropped;
    this.#d = x.cols;
    options.onProgress?.({ step: 1, total: 1 });
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.#d);
    const k = this.params.k as number, d = this.#d!;
    const out = new Float64Array(x.rows);
    const best = new Float64Array(k);
    if (this.#tree) {
      for (let i = 0; i < x.rows; i++) out[i] = Math.sqrt(this.#tree.kthSq(x.data, i * d, k, best));
      return out;
    }
    // Brute force, blocked over training rows so a block stays in cache for many queries.
    const block = Math.max(1, Math.floor(32768 / d));
    const bests = new Float64Array(x.rows * k).fill(Infinity);
    for (let b = 0; b < this.#n; b += block) {
      const e = Math.min(this.#n, b + block);
      for (let i = 0; i < x.rows; i++) {
        const view = bests.subarray(i * k, i * k + k);
        scanBlock(x.data, i * d, this.#points, b, e, d, k, view);
      }
    }
    for (let i = 0; i < x.rows; i++) out[i] = Math.sqrt(bests[i * k + k - 1]);
    return out;
  }

  save(): DetectorState {
    if (this.#d === undefined) throw new InputError("knn.save: the model is not fitted");
    const state = { nFeatures: this.#d, distinctRows: this.#n, droppedDuplicates: this.#dropped, tree: !!this.#tree };
    const blobs: Record<string, Uint8Array> = { points: toBytes(this.#points) };
    if (this.#tree) {
      const t = this.#tree;
      Object.assign(state, { nodes: t.start.length });
      Object.assign(blobs, {
        start: toBytes(t.start),
        end: toBytes(t.end),
        left: toBytes(t.left),
        right: toBytes(t.right),
        centre: toBytes(t.centre),
        radius: toBytes(t.radius),
      });
    }
    return { state, blobs };
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    const n = this.name, s = saved.state;
    const d = stateNumber(s, "nFeatures", n), rows = stateNumber(s, "distinctRows", n);
    this.#points = f64Blob(saved.blobs, "points", n, rows * d);
    if (s.tree === true) {
      const nodes = stateNumber(s, "nodes", n);
      const start = i32Blob(saved.blobs, "start", n, nodes), end = i32Blob(saved.blobs, "end", n, nodes);
      const left = i32Blob(saved.blobs, "left", n, nodes), right = i32Blob(saved.blobs, "right", n, nodes);
      for (let i = 0; i < nodes; i++) {
        if (start[i] < 0 || end[i] > rows || start[i] > end[i] || left[i] >= nodes || right[i] >= nodes || (left[i] >= 0 && left[i] <= i)) {
          throw new InputError(`knn: saved ball-tree node ${i} is inconsistent (corrupt weights)`);
        }
      }
      this.#tree = new BallTree({
        points: this.#points,
        d,
        start,
        end,
        left,
        right,
        centre: f64Blob(saved.blobs, "centre", n, nodes * d),
        radius: f64Blob(saved.blobs, "radius", n, nodes),
      });
    } else this.#tree = undefined;
    this.#n = rows;
    this.#d = d;
    this.#dropped = typeof s.droppedDuplicates === "number" ? s.droppedDuplicates : 0;
    return this;
  }
}

/** Registry entry. */
export const knn: DetectorFactory = {
  name: "knn",
  summary: "distance to the k-th nearest distinct benign row (exact; brute force or ball tree)",
  params: PARAMS,
  create: (params) => new KnnDetector(validateParams("knn", PARAMS, params)),
  load: (saved, params) => new KnnDetector(validateParams("knn", PARAMS, params)).restore(saved),
  conformanceParams: { k: 3, bruteMax: 256 },
  backend: () => "js",
};
