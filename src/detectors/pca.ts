/**
 * `pca`: principal-component reconstruction error, the PCA-based detector of
 * Shyu, Chen, Sarinnapakorn & Chang (ICDM Foundations and New Directions of
 * Data Mining workshop, 2003) reduced to its residual ("minor component")
 * part. The benign rows' covariance matrix is decomposed (Σ = V Λ Vᵀ, a
 * cyclic Jacobi eigen-solver, {@link symmetricEigen}); the k leading
 * eigenvectors span the normal subspace. The score of a row is its squared
 * distance to that subspace:
 *
 *   score(x) = ‖z − V_k V_kᵀ z‖²,  z = (x − μ) / σ
 *
 * with σ = 1 unless `standardize` (then each column's training standard
 * deviation, divisor n as scikit-learn's `StandardScaler`; constant columns 1). Rows that break the benign correlations
 * leave the subspace even when every single feature looks ordinary.
 *
 * - k = `nComponents`, or when 0 (default) the fewest components that explain
 *   `varianceKept` (0.95) of the training variance — chosen from the benign
 *   training rows alone. k is capped at d − 1 so some residual remains.
 * - Shyu et al. also weight each minor component by 1/λ (a Mahalanobis
 *   distance in the residual subspace); with min-max-scaled one-hot data many
 *   residual eigenvalues are ≈ 0, which would make that statistic explode on
 *   any unseen category, so the unweighted residual is used (as scikit-learn's
 *   `PCA` reconstruction and PyOD's reconstruction-error variants).
 * - Fit O(n·d² + d³), score O(k·d) per row, model O(k·d).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * // benign rows lie on the line y = 2x; one component keeps it
 * const d = createDetector("pca", { nComponents: 1 }, 0);
 * await d.fit(matrixFromRows([[0, 0], [1, 2], [2, 4], [3, 6]]));
 * const [on, off] = await d.score(matrixFromRows([[10, 20], [1, 0]]));
 * assert.ok(on < 1e-12, `a row on the line has no residual: ${on}`);
 * assert.ok(Math.abs(off - 0.8) < 1e-12, `(1, 0) lies 2/√5 from the line: ${off}`); // 0.8 = (2/√5)²
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { checkFitInput, checkMagnitude, checkScoreInput, f64Blob, stateNumber, toBytes } from "./_linalg.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const PARAMS = defineParams({
  nComponents: {
    type: "int",
    default: 0,
    min: 0,
    description: "principal components kept (the normal subspace); 0 = the fewest explaining varianceKept",
  },
  varianceKept: {
    type: "number",
    default: 0.95,
    min: 0,
    max: 1,
    description: "share of training variance the kept components explain when nComponents = 0",
  },
  standardize: {
    type: "boolean",
    default: false,
    description: "divide each column by its training standard deviation before the decomposition",
  },
});

/** Validated hyperparameters of the PCA detector. */
export type PcaParams = ParamValues<typeof PARAMS>;

/**
 * Values beyond this would overflow the covariance's sums of squares; the
 * error says so rather than returning NaN eigenvectors.
 */
const MAGNITUDE_LIMIT = 1e150;

/**
 * Eigen-decomposition of a symmetric d×d matrix `a` (row-major; not modified)
 * by cyclic Jacobi rotations. Returns the eigenvalues in descending order and
 * the matching unit eigenvectors as the rows of `vectors` (d×d). Jacobi is
 * slower than tridiagonal QR (a few sweeps of O(d³)) but simple and accurate to
 * rounding even for tiny eigenvalues, and d (features) is small here.
 */
export function symmetricEigen(a: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let norm = 0;
  for (let i = 0; i < d * d; i++) norm += m[i] * m[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += m[p * d + q] * m[p * d + q];
    if (off === 0 || off <= 1e-32 * norm) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (apq === 0) continue;
        const app = m[p * d + p], aqq = m[q * d + q];
        // The rotation angle that zeroes a_pq; t = tan of it, the smaller root for stability.
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          if (k === p || k === q) continue;
          const akp = m[k * d + p], akq = m[k * d + q];
          const np = c * akp - s * akq, nq = s * akp + c * akq;
          m[k * d + p] = m[p * d + k] = np;
          m[k * d + q] = m[q * d + k] = nq;
        }
        m[p * d + p] = app - t * apq;
        m[q * d + q] = aqq + t * apq;
        m[p * d + q] = m[q * d + p] = 0;
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => m[j * d + j] - m[i * d + i] || i - j);
  const values = new Float64Array(d), vectors = new Float64Array(d * d);
  order.forEach((col, r) => {
    values[r] = m[col * d + col];
    for (let k = 0; k < d; k++) vectors[r * d + k] = v[k * d + col];
  });
  return { values, vectors };
}

/** The PCA reconstruction-error detector. */
/** Largest magnitude of a standardised value in scoring (see score). */
const Z_LIMIT = 1e150;

export class PcaDetector implements Detector {
  readonly name = "pca";
  readonly params: Readonly<PcaParams>;
  #d: number | undefined;
  #k = 0;
  #mean: Float64Array = new Float64Array(0);
  #scale: Float64Array = new Float64Array(0);
  /** k × d, the kept unit eigenvectors as rows. */
  #components: Float64Array = new Float64Array(0);
  /** All d eigenvalues (variances along the principal axes), descending. */
  #eigenvalues: Float64Array = new Float64Array(0);

  constructor(params: PcaParams) {
    this.params = params;
  }

  get nFeatures(): number | undefined {
    return this.#d;
  }

  /** Components kept (k). */
  get components(): number {
    return this.#k;
  }

  /** Variances along all principal axes of the (scaled) training rows, descending. */
  get eigenvalues(): Float64Array {
    return this.#eigenvalues.slice();
  }

  fit(x: Matrix, options: FitOptions = {}): void {
    checkFitInput(this.name, x);
    checkMagnitude("pca.fit", x, MAGNITUDE_LIMIT, "the covariance's sums of squares would overflow");
    const n = x.rows, d = x.cols, data = x.data;
    if (this.params.nComponents >= d) {
      throw new InputError(
        `pca.fit: parameter nComponents = ${this.params.nComponents} leaves no residual with ${d} feature(s); ` +
          `expected at most ${d - 1} (or 0 to choose by varianceKept)`,
      );
    }
    const mean = new Float64Array(d), scale = new Float64Array(d).fill(1);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
    for (let j = 0; j < d; j++) mean[j] /= n;
    const z = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] = data[i * d + j] - mean[j];
    const denom = Math.max(n - 1, 1);
    if (this.params.standardize) {
      for (let j = 0; j < d; j++) {
        let ss = 0;
        for (let i = 0; i < n; i++) ss += z[i * d + j] * z[i * d + j];
        const sd = Math.sqrt(ss / n); // population sd, as scikit-learn's StandardScaler
        scale[j] = sd > 0 ? sd : 1;
      }
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] /= scale[j];
    }
    // Covariance, upper triangle accumulated row by row, then mirrored.
    const cov = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let p = 0; p < d; p++) {
        const zp = z[o + p];
        if (zp === 0) continue;
        const r = p * d;
        for (let q = p; q < d; q++) cov[r + q] += zp * z[o + q];
      }
    }
    for (let p = 0; p < d; p++) {
      for (let q = p; q < d; q++) {
        const c = cov[p * d + q] / denom;
        cov[p * d + q] = cov[q * d + p] = c;
      }
    }
    const { values, vectors } = symmetricEigen(cov, d);
    let k = this.params.nComponents;
    if (k === 0) {
      let total = 0;
      for (let j = 0; j < d; j++) total += Math.max(values[j], 0);
      let acc = 0;
      while (k < d && acc < this.params.varianceKept * total) acc += Math.max(values[k++], 0);
      k = Math.min(k, d - 1);
    }
    this.#components = vectors.slice(0, k * d);
    this.#eigenvalues = values;
    this.#mean = mean;
    this.#scale = scale;
    this.#k = k;
    this.#d = d;
    options.onProgress?.({ step: 1, total: 1 });
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.#d);
    const d = this.#d!, k = this.#k, data = x.data;
    const mean = this.#mean, scale = this.#scale, comp = this.#components;
    const z = new Float64Array(d), proj = new Float64Array(k);
    const out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      // Clamped so a finite extreme (±1e308) cannot become ±Infinity and Infinity − Infinity = NaN in the
      // residual; 1e150 squared stays finite, and no ordinary row comes within 1e140 training deviations.
      for (let j = 0; j < d; j++) {
        const v = (data[i * d + j] - mean[j]) / scale[j];
        z[j] = v > Z_LIMIT ? Z_LIMIT : v < -Z_LIMIT ? -Z_LIMIT : v;
      }
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += comp[c * d + j] * z[j];
        proj[c] = s;
      }
      // The residual explicitly (not ‖z‖² − ‖proj‖², which cancels for rows near the subspace).
      let r2 = 0;
      for (let j = 0; j < d; j++) {
        let r = z[j];
        for (let c = 0; c < k; c++) r -= proj[c] * comp[c * d + j];
        r2 += r * r;
      }
      out[i] = r2 === Infinity ? Number.MAX_VALUE : r2;
    }
    return out;
  }

  save(): DetectorState {
    if (this.#d === undefined) throw new InputError("pca.save: the model is not fitted");
    const total = this.#eigenvalues.reduce((a, b) => a + Math.max(b, 0), 0);
    const kept = this.#eigenvalues.subarray(0, this.#k).reduce((a, b) => a + Math.max(b, 0), 0);
    return {
      state: {
        nFeatures: this.#d,
        components: this.#k,
        varianceExplained: total > 0 ? kept / total : 1,
      },
      blobs: {
        mean: toBytes(this.#mean),
        scale: toBytes(this.#scale),
        components: toBytes(this.#components),
        eigenvalues: toBytes(this.#eigenvalues),
      },
    };
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    const n = this.name, s = saved.state;
    const d = stateNumber(s, "nFeatures", n), k = stateNumber(s, "components", n);
    if (!Number.isInteger(k) || k < 0 || k >= Math.max(d, 1)) {
      throw new InputError(
        `pca: saved component count ${k} is not below the ${d} features (corrupt weights)`,
      );
    }
    const mean = f64Blob(saved.blobs, "mean", n, d), scale = f64Blob(saved.blobs, "scale", n, d);
    const components = f64Blob(saved.blobs, "components", n, k * d);
    const eigenvalues = f64Blob(saved.blobs, "eigenvalues", n, d);
    for (const [what, a] of [["mean", mean], ["scale", scale], ["components", components]] as const) {
      if (a.some((v) => !Number.isFinite(v)) || (what === "scale" && a.some((v) => v <= 0))) {
        throw new InputError(`pca: saved ${what} holds invalid values (corrupt weights)`);
      }
    }
    this.#mean = mean;
    this.#scale = scale;
    this.#components = components;
    this.#eigenvalues = eigenvalues;
    this.#k = k;
    this.#d = d;
    return this;
  }
}

/** Registry entry. */
export const pca: DetectorFactory = defineDetector({
  name: "pca",
  summary:
    "PCA reconstruction error (Shyu et al. 2003): squared distance to the subspace of 95 % benign variance",
  params: PARAMS,
  create: (params) => new PcaDetector(params),
});
