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
    // Guard against a corrupt blob sending traversal out of bounds.
    for (let i = 0; i < nodes; i++) {
      const f = this.#feature[i];
      if (
        f >= this.#d || (f >= 0 && (this.#left[i] >= nodes || this.#right[i] >= nodes || this.#left[i] <= i))
      ) {
        throw new InputError(`isolation-forest: saved tree node ${i} is inconsistent (corrupt weights)`);
      }
    }
    return this;
  }
}

/** Registry entry. */
export const isolationForest: DetectorFactory = defineDetector({
  name: "isolation-forest",
  summary: "Isolation Forest (Liu et al. 2008): score = 2^(-E[h]/c(psi)), 100 trees x 256 rows by default",
  params: PARAMS,
  create: (params, seed) => new IsolationForestDetector(params, seed),
  conformanceParams: { nTrees: 50 },
});
