/**
 * `isolation-forest`: Isolation Forest (Liu, Ting & Zhou, ICDM 2008). Each tree
 * is grown on a random subsample of ψ rows (default 256) by splitting on a
 * random feature at a uniformly random value between the node's min and max,
 * up to height ⌈log2 ψ⌉. Anomalies are isolated in few splits, so the score is
 * `2^(−E[h(x)] / c(ψ))` where h is the path length (plus c(size) at a leaf for
 * the unbuilt subtree) and c(n) = 2H(n−1) − 2(n−1)/n is the average path length
 * of an unsuccessful BST search. Scores lie in (0, 1]; ≈ 0.5 is ordinary,
 * close to 1 is anomalous.
 *
 * Features that are constant within a node are skipped when choosing the split
 * (as scikit-learn does), so one-hot columns that are all zero in a subsample
 * do not waste depth.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const d = createDetector("isolation-forest", { nTrees: 50 }, 7);
 * const rows = Array.from({ length: 200 }, (_, i) => [Math.sin(i), Math.cos(i)]);
 * await d.fit(matrixFromRows(rows));
 * const s = await d.score(matrixFromRows([[0, 0.5], [40, 40]]));
 * assert.ok(s[1] > s[0], `an outlier scores higher: ${s[1]} > ${s[0]}`);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import { checkFitInput, checkScoreInput, f64Blob, i32Blob, stateNumber, toBytes } from "./_linalg.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const PARAMS = defineParams({
  nTrees: { type: "int", default: 100, min: 1, description: "number of isolation trees" },
  maxSamples: {
    type: "int",
    default: 256,
    min: 2,
    description: "subsample size ψ per tree (capped at the training rows)",
  },
});

/** Validated hyperparameters of the isolation-forest detector. */
export type IsolationForestParams = ParamValues<typeof PARAMS>;

const EULER = 0.5772156649015329;

/** Average path length of an unsuccessful search in a BST of n nodes, c(n). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER) - (2 * (n - 1)) / n;
}

/** The isolation-forest detector. Trees are stored flat in typed arrays. */
export class IsolationForestDetector implements Detector {
  readonly name = "isolation-forest";
  readonly params: Readonly<IsolationForestParams>;
  readonly #seed: number;
  #d: number | undefined;
  #psi = 0;
  #feature: Int32Array = new Int32Array(0); // -1 at leaves
  #split: Float64Array = new Float64Array(0); // threshold, or at leaves: depth + c(size)
  #left: Int32Array = new Int32Array(0);
  #right: Int32Array = new Int32Array(0);
  #roots: Int32Array = new Int32Array(0);
  /** The trees as scoring walks them ({@link heapLayout}), or undefined where they are too deep for it. */
  #heap: HeapTrees | undefined;

  constructor(params: IsolationForestParams, seed: number) {
    this.params = params;
    this.#seed = seed;
  }

  get nFeatures(): number | undefined {
    return this.#d;
  }

  fit(x: Matrix, options: FitOptions = {}): void {
    checkFitInput(this.name, x);
    const rng = new Rng(this.#seed);
    const nTrees = this.params.nTrees;
    const psi = Math.min(this.params.maxSamples, x.rows);
    const heightLimit = Math.ceil(Math.log2(Math.max(psi, 2)));
    const d = x.cols, data = x.data;
    const cap = nTrees * (2 * psi);
    const feature = new Int32Array(cap), split = new Float64Array(cap);
    const left = new Int32Array(cap), right = new Int32Array(cap);
    const roots = new Int32Array(nTrees);
    const feats = new Int32Array(d);
    let next = 0;
    const build = (idx: Uint32Array, lo: number, hi: number, depth: number): number => {
      const node = next++;
      const size = hi - lo;
      if (depth >= heightLimit || size <= 1) {
        feature[node] = -1;
        split[node] = depth + averagePathLength(size);
        return node;
      }
      // Draw features without replacement until one is not constant here.
      for (let j = 0; j < d; j++) feats[j] = j;
      let chosen = -1, mn = 0, mx = 0;
      for (let remaining = d; remaining > 0; remaining--) {
        const r = rng.int(remaining);
        const f = feats[r];
        feats[r] = feats[remaining - 1];
        mn = Infinity;
        mx = -Infinity;
        for (let t = lo; t < hi; t++) {
          const v = data[idx[t] * d + f];
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
        if (mx > mn) {
          chosen = f;
          break;
        }
      }
      if (chosen < 0) {
        feature[node] = -1;
        split[node] = depth + averagePathLength(size);
        return node;
      }
      let p = mn + (mx - mn) * (1 - rng.next()); // in (mn, mx]
      if (!(p > mn)) p = mx;
      // Partition idx[lo..hi) into < p | >= p.
      let a = lo, b = hi - 1;
      while (a <= b) {
        if (data[idx[a] * d + chosen] < p) a++;
        else {
          const t = idx[a];
          idx[a] = idx[b];
          idx[b] = t;
          b--;
        }
      }
      feature[node] = chosen;
      split[node] = p;
      left[node] = build(idx, lo, a, depth + 1);
      right[node] = build(idx, a, hi, depth + 1);
      return node;
    };
    for (let t = 0; t < nTrees; t++) {
      const sample = rng.sampleIndices(x.rows, psi);
      roots[t] = build(sample, 0, psi, 0);
      if ((t + 1) % 10 === 0 || t + 1 === nTrees) options.onProgress?.({ step: t + 1, total: nTrees });
    }
    this.#feature = feature.slice(0, next);
    this.#split = split.slice(0, next);
    this.#left = left.slice(0, next);
    this.#right = right.slice(0, next);
    this.#roots = roots;
    this.#psi = psi;
    this.#d = d;
    this.#heap = heapLayout(this.#feature, this.#split, this.#left, this.#right, roots);
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.#d);
    const d = this.#d!, data = x.data, nTrees = this.#roots.length;
    const feature = this.#feature,
      split = this.#split,
      left = this.#left,
      right = this.#right,
      roots = this.#roots;
    const norm = averagePathLength(this.#psi) * nTrees;
    const out = new Float64Array(x.rows);
    const heap = this.#heap;
    if (heap !== undefined) {
      // Tree by tree over a block of rows: one tree's nodes stay in the first-level cache while the rows
      // go by. Every walk takes `depth` steps with no branch to mispredict (see heapLayout). Each row still
      // adds its trees' terms in tree order, so the scores are the same doubles as a walk by child index.
      const hf = heap.feature, hs = heap.split, size = heap.size, depth = heap.depth;
      const totals = new Float64Array(SCORE_BLOCK);
      for (let b0 = 0; b0 < x.rows; b0 += SCORE_BLOCK) {
        const b1 = Math.min(x.rows, b0 + SCORE_BLOCK);
        totals.fill(0);
        for (let t = 0, at = 0; t < nTrees; t++, at += size) {
          // Eight rows' walks side by side: each step waits on the loads of the one before, eight chains
          // keep the processor busy while they do (4 chains: 1.25× the time on NSL-KDD).
          let i = b0;
          for (; i + 8 <= b1; i += 8) {
            const r0 = i * d,
              r1 = r0 + d,
              r2 = r1 + d,
              r3 = r2 + d,
              r4 = r3 + d,
              r5 = r4 + d,
              r6 = r5 + d,
              r7 = r6 + d;
            let k0 = 0, k1 = 0, k2 = 0, k3 = 0, k4 = 0, k5 = 0, k6 = 0, k7 = 0;
            for (let j = 0; j < depth; j++) {
              k0 = 2 * k0 + 2 - +(data[r0 + hf[at + k0]] < hs[at + k0]);
              k1 = 2 * k1 + 2 - +(data[r1 + hf[at + k1]] < hs[at + k1]);
              k2 = 2 * k2 + 2 - +(data[r2 + hf[at + k2]] < hs[at + k2]);
              k3 = 2 * k3 + 2 - +(data[r3 + hf[at + k3]] < hs[at + k3]);
              k4 = 2 * k4 + 2 - +(data[r4 + hf[at + k4]] < hs[at + k4]);
              k5 = 2 * k5 + 2 - +(data[r5 + hf[at + k5]] < hs[at + k5]);
              k6 = 2 * k6 + 2 - +(data[r6 + hf[at + k6]] < hs[at + k6]);
              k7 = 2 * k7 + 2 - +(data[r7 + hf[at + k7]] < hs[at + k7]);
            }
            const o = i - b0;
            totals[o] += hs[at + k0];
            totals[o + 1] += hs[at + k1];
            totals[o + 2] += hs[at + k2];
            totals[o + 3] += hs[at + k3];
            totals[o + 4] += hs[at + k4];
            totals[o + 5] += hs[at + k5];
            totals[o + 6] += hs[at + k6];
            totals[o + 7] += hs[at + k7];
          }
          for (; i < b1; i++) {
            const base = i * d;
            let k = 0;
            for (let j = 0; j < depth; j++) k = 2 * k + 2 - +(data[base + hf[at + k]] < hs[at + k]);
            totals[i - b0] += hs[at + k];
          }
        }
        for (let i = b0; i < b1; i++) out[i] = norm > 0 ? Math.pow(2, -totals[i - b0] / norm) : 0.5;
      }
      return out;
    }
    for (let i = 0; i < x.rows; i++) {
      const base = i * d;
      let total = 0;
      for (let t = 0; t < nTrees; t++) {
        let node = roots[t];
        let f = feature[node];
        while (f >= 0) {
          node = data[base + f] < split[node] ? left[node] : right[node];
          f = feature[node];
        }
        total += split[node];
      }
      out[i] = norm > 0 ? Math.pow(2, -total / norm) : 0.5;
    }
    return out;
  }

  save(): DetectorState {
    if (this.#d === undefined) throw new InputError("isolation-forest.save: the model is not fitted");
    return {
      state: { nFeatures: this.#d, psi: this.#psi, nTrees: this.#roots.length, nodes: this.#feature.length },
      blobs: {
        feature: toBytes(this.#feature),
        split: toBytes(this.#split),
        left: toBytes(this.#left),
        right: toBytes(this.#right),
        roots: toBytes(this.#roots),
      },
    };
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    const n = this.name, s = saved.state;
    const nodes = stateNumber(s, "nodes", n), nTrees = stateNumber(s, "nTrees", n);
    this.#feature = i32Blob(saved.blobs, "feature", n, nodes);
    this.#split = f64Blob(saved.blobs, "split", n, nodes);
    this.#left = i32Blob(saved.blobs, "left", n, nodes);
    this.#right = i32Blob(saved.blobs, "right", n, nodes);
    this.#roots = i32Blob(saved.blobs, "roots", n, nTrees);
    this.#psi = stateNumber(s, "psi", n);
    this.#d = stateNumber(s, "nFeatures", n);
    // Guard against a corrupt blob sending traversal out of bounds, or round in a cycle: children come
    // after their node (fit numbers them so).
    for (let i = 0; i < nodes; i++) {
      const f = this.#feature[i];
      if (
        f >= this.#d ||
        (f >= 0 &&
          (this.#left[i] >= nodes || this.#right[i] >= nodes || this.#left[i] <= i || this.#right[i] <= i))
      ) {
        throw new InputError(`isolation-forest: saved tree node ${i} is inconsistent (corrupt weights)`);
      }
    }
    for (let t = 0; t < nTrees; t++) {
      if (!(this.#roots[t] >= 0 && this.#roots[t] < nodes)) {
        throw new InputError(
          `isolation-forest: saved tree ${t} has no root node ${this.#roots[t]} (corrupt weights)`,
        );
      }
    }
    this.#heap = heapLayout(this.#feature, this.#split, this.#left, this.#right, this.#roots);
    return this;
  }
}

/** Rows scored together, tree by tree ({@link IsolationForestDetector.score}). */
const SCORE_BLOCK = 256;
/** The deepest trees laid out for scoring: 2^13 − 1 slots a tree (ψ = 256, the default, gives depth ≤ 8). */
const HEAP_MAX_DEPTH = 12;

/** Trees as complete binary trees, one after another: node k's children at 2k + 1 and 2k + 2. */
interface HeapTrees {
  /** Split feature per slot (0 where the walk only passes through, see {@link heapLayout}). */
  feature: Int32Array;
  /** Threshold per slot (NaN where the walk only passes through); in the last level, the leaf's path length. */
  split: Float64Array;
  /** Levels every walk goes down: the deepest tree's depth. */
  depth: number;
  /** Slots a tree: 2^(depth + 1) − 1. */
  size: number;
}

/**
 * The fitted trees re-laid for scoring: a step reads the split feature and the threshold, and the child's
 * place follows from the slot, so the child index arrays are not read at all. A leaf above the last level
 * is carried down to it through slots whose threshold is NaN (no value is below NaN, so the walk goes
 * right), so every walk has the same number of steps and
 * none ends on a branch the processor mispredicts. Undefined when a tree is deeper than
 * {@link HEAP_MAX_DEPTH} (a large `maxSamples`): those are walked by their child indices.
 */
function heapLayout(
  feature: Int32Array,
  split: Float64Array,
  left: Int32Array,
  right: Int32Array,
  roots: Int32Array,
): HeapTrees | undefined {
  const depthOf = (node: number, depth: number): number =>
    feature[node] < 0 || depth > HEAP_MAX_DEPTH
      ? depth
      : Math.max(depthOf(left[node], depth + 1), depthOf(right[node], depth + 1));
  let depth = 0;
  for (const r of roots) depth = Math.max(depth, depthOf(r, 0));
  if (depth > HEAP_MAX_DEPTH) return undefined;
  const size = 2 ** (depth + 1) - 1;
  const hf = new Int32Array(size * roots.length), hs = new Float64Array(size * roots.length);
  const place = (node: number, at: number, k: number, level: number): void => {
    if (feature[node] >= 0) {
      hf[at + k] = feature[node];
      hs[at + k] = split[node];
      place(left[node], at, 2 * k + 1, level + 1);
      place(right[node], at, 2 * k + 2, level + 1);
      return;
    }
    for (; level < depth; level++, k = 2 * k + 2) hs[at + k] = NaN; // carried down, to the right
    hs[at + k] = split[node];
  };
  for (let t = 0; t < roots.length; t++) place(roots[t], t * size, 0, 0);
  return { feature: hf, split: hs, depth, size };
}

/** Registry entry. */
export const isolationForest: DetectorFactory = defineDetector({
  name: "isolation-forest",
  summary: "Isolation Forest (Liu et al. 2008): score = 2^(-E[h]/c(psi)), 100 trees x 256 rows by default",
  params: PARAMS,
  create: (params, seed) => new IsolationForestDetector(params, seed),
  conformanceParams: { nTrees: 50 },
});
