/**
 * `ocsvm`: the ν one-class support vector machine (Schölkopf, Platt,
 * Shawe-Taylor, Smola & Williamson, Neural Computation 13(7), 2001) with the
 * RBF kernel K(x, y) = exp(−γ‖x − y‖²), solved exactly on a seeded subsample
 * of the benign rows.
 *
 * The dual problem — minimise ½ Σ_ij α_i α_j K(x_i, x_j) subject to
 * 0 ≤ α_i ≤ 1/(νm) and Σ α_i = 1 over the m training rows — is solved by
 * sequential minimal optimisation with libsvm's second-order working-set
 * selection (Fan, Chen & Lin, JMLR 2005) until the KKT gap is below `tol`,
 * with the whole kernel matrix held in float32 (as libsvm's cache). The
 * rows with α_i > 0 are the support vectors, and ρ is the mean gradient over
 * the free ones. The score of a row is
 *
 *   score(x) = ρ − Σ_i α_i K(x_i, x)
 *
 * negative inside the learned support of the benign data, positive outside; it
 * equals −decision_function(x) / (νm) of scikit-learn's `OneClassSVM` (whose
 * libsvm dual scales α by νm). ν bounds the share of training rows outside
 * the support from above and the share of support vectors from below.
 *
 * **Scalable variant: exact kernel on a subsample.** The exact dual costs
 * O(m²) memory and about O(m²·d) time, so at most `maxSamples` (4,096) rows,
 * drawn without replacement from the seed, are used; below that every row is.
 * Unlike a random-feature or Nyström approximation trained by SGD, this is the
 * published estimator without kernel-approximation or learning-rate error, so
 * it can be checked row by row against scikit-learn/libsvm on the same rows.
 * Score: O(#SV·d) per row (#SV ≥ νm).
 *
 * γ = 0 (default) means scikit-learn's "scale": 1 / (d · Var(X)), with Var
 * the variance of every value of the rows used (1 when that is 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const grid = [];
 * for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) grid.push([i / 7, j / 7]);
 * const d = createDetector("ocsvm", { nu: 0.1, gamma: 2 }, 0);
 * await d.fit(matrixFromRows(grid));
 * const [inside, far] = await d.score(matrixFromRows([[0.5, 0.5], [3, 3]]));
 * assert.ok(inside < 0 && far > 0, `inside the square ${inside} < 0 < ${far} far away`);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import { checkFitInput, checkMagnitude, checkScoreInput, f64Blob, stateNumber, toBytes } from "./_linalg.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const PARAMS = defineParams({
  nu: {
    type: "number",
    default: 0.5,
    min: 1e-6,
    max: 1,
    description:
      "upper bound on the share of training rows outside the support (scikit-learn's and PyOD's 0.5)",
  },
  gamma: {
    type: "number",
    default: 0,
    min: 0,
    description: "RBF width γ in exp(-γ‖x−y‖²); 0 = 1/(d·Var(X)), scikit-learn's 'scale'",
  },
  maxSamples: {
    type: "int",
    default: 4096,
    min: 2,
    max: 32768,
    description: "training rows for the exact dual (a seeded subsample when there are more)",
  },
  tol: {
    type: "number",
    default: 1e-3,
    min: 1e-12,
    description: "stop when the KKT gap is below this (libsvm's tol, on its scale where α sums to νm)",
  },
});

/** Validated hyperparameters of the one-class SVM detector. */
export type OcsvmParams = ParamValues<typeof PARAMS>;

/** Values beyond this would overflow the squared distances in the kernel. */
const MAGNITUDE_LIMIT = 1e100;
/** libsvm's floor for a non-positive second derivative along the pair direction. */
const TAU = 1e-12;

/** Result of {@link solveOneClass}: α on libsvm's scale (0 ≤ α ≤ 1, Σα = νm), ρ on the same scale. */
export interface OneClassSolution {
  alpha: Float64Array;
  rho: number;
  iterations: number;
  /** False when the iteration cap stopped the solver before the gap fell below tol. */
  converged: boolean;
}

/**
 * Solves libsvm's one-class dual min ½αᵀQα, 0 ≤ α_i ≤ 1, Σα_i = νm for a
 * kernel matrix `q` (m×m, row-major, symmetric) by SMO with second-order
 * working-set selection.
 */
export function solveOneClass(q: Float32Array, m: number, nu: number, tol: number): OneClassSolution {
  const alpha = new Float64Array(m);
  const total = nu * m;
  const whole = Math.min(Math.floor(total), m);
  for (let i = 0; i < whole; i++) alpha[i] = 1;
  if (whole < m) alpha[whole] = total - whole;
  // Gradient G = Qα.
  const g = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const a = alpha[i];
    if (a === 0) continue;
    const row = i * m;
    for (let k = 0; k < m; k++) g[k] += a * q[row + k];
  }
  const maxIter = Math.max(10_000_000, 100 * m);
  let iter = 0, converged = false;
  for (; iter < maxIter; iter++) {
    // i: the row that may grow (α < 1) with the steepest descent, −G largest.
    let gmax = -Infinity, i = -1;
    for (let t = 0; t < m; t++) {
      if (alpha[t] < 1 && -g[t] >= gmax) {
        gmax = -g[t];
        i = t;
      }
    }
    // j: among rows that may shrink (α > 0), the best second-order decrease with i.
    let gmax2 = -Infinity, j = -1, best = Infinity;
    const qi = i >= 0 ? i * m : 0, qii = i >= 0 ? q[qi + i] : 0;
    for (let t = 0; t < m; t++) {
      if (!(alpha[t] > 0)) continue;
      const gt = g[t];
      if (gt > gmax2) gmax2 = gt;
      if (i < 0) continue;
      const b = gmax + gt;
      if (b > 0) {
        let a = qii + q[t * m + t] - 2 * q[qi + t];
        if (a <= 0) a = TAU;
        const obj = -(b * b) / a;
        if (obj <= best) {
          best = obj;
          j = t;
        }
      }
    }
    if (i < 0 || j < 0 || gmax + gmax2 < tol) {
      converged = true;
      break;
    }
    let a = qii + q[j * m + j] - 2 * q[qi + j];
    if (a <= 0) a = TAU;
    // Move t from α_j to α_i: unconstrained optimum (G_j − G_i)/a, clipped to the box.
    const free = (g[j] - g[i]) / a;
    const roomI = 1 - alpha[i], roomJ = alpha[j];
    let step: number;
    if (free >= roomI && roomI <= roomJ) {
      step = roomI;
      alpha[j] -= step;
      alpha[i] = 1;
    } else if (free >= roomJ) {
      step = roomJ;
      alpha[i] += step;
      alpha[j] = 0;
    } else {
      step = free;
      alpha[i] += step;
      alpha[j] -= step;
    }
    const rowI = i * m, rowJ = j * m;
    for (let k = 0; k < m; k++) g[k] += step * (q[rowI + k] - q[rowJ + k]);
  }
  // ρ: mean gradient over free α (they satisfy G = ρ exactly at the optimum), else the middle of the bounds.
  let ub = Infinity, lb = -Infinity, sum = 0, nFree = 0;
  for (let t = 0; t < m; t++) {
    if (alpha[t] >= 1) lb = Math.max(lb, g[t]);
    else if (alpha[t] <= 0) ub = Math.min(ub, g[t]);
    else {
      sum += g[t];
      nFree++;
    }
  }
  // With every α at one bound (ν = 1: all at 1) only one side is known; take it.
  const rho = nFree > 0 ? sum / nFree : ub === Infinity ? lb : lb === -Infinity ? ub : (ub + lb) / 2;
  return { alpha, rho, iterations: iter, converged };
}

/** The one-class SVM detector. */
export class OcsvmDetector implements Detector {
  readonly name = "ocsvm";
  readonly params: Readonly<OcsvmParams>;
  readonly #seed: number;
  #d: number | undefined;
  #gamma = 0;
  #rho = 0;
  /** Support vectors (rows) and their α (normalised: Σα = 1). */
  #sv: Float64Array = new Float64Array(0);
  #coef: Float64Array = new Float64Array(0);
  #info: Record<string, unknown> = {};

  constructor(params: OcsvmParams, seed: number) {
    this.params = params;
    this.#seed = seed;
  }

  get nFeatures(): number | undefined {
    return this.#d;
  }

  /** Number of support vectors. */
  get supportVectors(): number {
    return this.#coef.length;
  }

  /** The RBF γ in use (the "scale" value when the param is 0). */
  get gamma(): number {
    return this.#gamma;
  }

  fit(x: Matrix, options: FitOptions = {}): void {
    checkFitInput(this.name, x, 2);
    checkMagnitude("ocsvm.fit", x, MAGNITUDE_LIMIT, "the kernel's squared distances would overflow");
    const d = x.cols;
    const idx = x.rows > this.params.maxSamples
      ? new Rng(this.#seed).sampleIndices(x.rows, this.params.maxSamples).sort()
      : Uint32Array.from({ length: x.rows }, (_, i) => i);
    const m = idx.length;
    const rows = new Float64Array(m * d);
    for (let t = 0; t < m; t++) rows.set(x.data.subarray(idx[t] * d, idx[t] * d + d), t * d);
    let gamma = this.params.gamma;
    if (gamma === 0) {
      let mean = 0;
      for (let t = 0; t < rows.length; t++) mean += rows[t];
      mean /= rows.length;
      let v = 0;
      for (let t = 0; t < rows.length; t++) v += (rows[t] - mean) * (rows[t] - mean);
      v /= rows.length;
      gamma = v > 0 ? 1 / (d * v) : 1;
    }
    const q = new Float32Array(m * m);
    for (let a = 0; a < m; a++) {
      q[a * m + a] = 1;
      const ao = a * d;
      for (let b = a + 1; b < m; b++) {
        const bo = b * d;
        let s = 0;
        for (let j = 0; j < d; j++) {
          const t = rows[ao + j] - rows[bo + j];
          s += t * t;
        }
        q[a * m + b] = q[b * m + a] = Math.exp(-gamma * s);
      }
    }
    options.onProgress?.({ step: 1, total: 2 });
    const sol = solveOneClass(q, m, this.params.nu, this.params.tol);
    const scale = this.params.nu * m;
    const keep: number[] = [];
    for (let t = 0; t < m; t++) if (sol.alpha[t] > 0) keep.push(t);
    const sv = new Float64Array(keep.length * d), coef = new Float64Array(keep.length);
    keep.forEach((t, s) => {
      sv.set(rows.subarray(t * d, t * d + d), s * d);
      coef[s] = sol.alpha[t] / scale;
    });
    this.#sv = sv;
    this.#coef = coef;
    this.#rho = sol.rho / scale;
    this.#gamma = gamma;
    this.#d = d;
    this.#info = { trainingRows: m, iterations: sol.iterations, converged: sol.converged };
    options.onProgress?.({ step: 2, total: 2 });
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.#d);
    const d = this.#d!, sv = this.#sv, coef = this.#coef, nSv = coef.length, gamma = this.#gamma;
    const data = x.data, out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      const xo = i * d;
      let f = 0;
      for (let s = 0; s < nSv; s++) {
        const so = s * d;
        let dist = 0;
        for (let j = 0; j < d; j++) {
          const t = data[xo + j] - sv[so + j];
          dist += t * t;
        }
        f += coef[s] * Math.exp(-gamma * dist);
      }
      out[i] = this.#rho - f;
    }
    return out;
  }

  save(): DetectorState {
    if (this.#d === undefined) throw new InputError("ocsvm.save: the model is not fitted");
    return {
      state: {
        nFeatures: this.#d,
        gamma: this.#gamma,
        rho: this.#rho,
        supportVectors: this.#coef.length,
        ...this.#info,
      },
      blobs: { sv: toBytes(this.#sv), coef: toBytes(this.#coef) },
    };
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    const n = this.name, s = saved.state;
    const d = stateNumber(s, "nFeatures", n), nSv = stateNumber(s, "supportVectors", n);
    const gamma = stateNumber(s, "gamma", n), rho = stateNumber(s, "rho", n);
    if (!(gamma > 0)) throw new InputError(`ocsvm: saved gamma ${gamma} is not positive (corrupt weights)`);
    const sv = f64Blob(saved.blobs, "sv", n, nSv * d), coef = f64Blob(saved.blobs, "coef", n, nSv);
    if (sv.some((v) => !Number.isFinite(v)) || coef.some((c) => !(c > 0 && c <= 1))) {
      throw new InputError("ocsvm: saved support vectors or coefficients are invalid (corrupt weights)");
    }
    this.#sv = sv;
    this.#coef = coef;
    this.#gamma = gamma;
    this.#rho = rho;
    this.#d = d;
    const info: Record<string, unknown> = {};
    for (const key of ["trainingRows", "iterations", "converged"]) if (key in s) info[key] = s[key];
    this.#info = info;
    return this;
  }
}

/** Registry entry. */
export const ocsvm: DetectorFactory = defineDetector({
  name: "ocsvm",
  summary: "one-class SVM (Schölkopf et al. 2001), RBF kernel, exact SMO on a subsample of <= 4096 rows",
  params: PARAMS,
  create: (params, seed) => new OcsvmDetector(params, seed),
  conformanceParams: { maxSamples: 400 },
});
