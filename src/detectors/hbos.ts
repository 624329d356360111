/**
 * `hbos`: Histogram-based Outlier Score (Goldstein & Dengel, KI-2012 poster
 * and demo track, 2012), static bins. Per feature, the benign training range
 * [min, max] is cut into `bins` equal-width bins and the rows per bin are
 * counted; heights are normalised so the fullest bin has height 1 (the paper's
 * normalisation, which weights every feature equally). The score of a row is
 *
 *   HBOS(x) = Σ_j log(1 / height_j(x_j)) = Σ_j log(maxCount_j / count_j(x_j))
 *
 * so a value in the fullest bin adds 0, a value in a bin with 1 % of its rows
 * adds log 100. The paper leaves empty bins and values outside the training
 * range undefined (log 1/0); here they count as `emptyCount` rows (default ½:
 * rarer than any bin that holds a row), so they add log(maxCount / ½), the
 * largest per-feature score there is. Bins are half-open [lo, hi) except the
 * last, which includes max. A constant feature has one bin: its value adds 0,
 * any other value is "outside the range".
 *
 * Independence of features is assumed (as the paper says: fast, and blind to
 * anomalies visible only in feature combinations). Fit O(n·d), score O(d) per
 * row, model O(d·bins).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * // one feature on [0, 10], two bins: [0, 5) holds 3 rows, [5, 10] holds 1
 * const d = createDetector("hbos", { bins: 2 }, 0);
 * await d.fit(matrixFromRows([[0], [1], [2], [10]]));
 * const s = await d.score(matrixFromRows([[1], [7], [11]]));
 * assert.deepEqual([...s], [0, Math.log(3), Math.log(3 / 0.5)]);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { checkFitInput, checkScoreInput, f64Blob, stateNumber, toBytes } from "./_linalg.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const PARAMS = defineParams({
  bins: {
    type: "int",
    default: 10,
    min: 1,
    max: 1_000_000,
    description: "equal-width bins per feature over the training range (PyOD's default 10)",
  },
  emptyCount: {
    type: "number",
    default: 0.5,
    min: 1e-12,
    max: 1,
    description: "row count assumed for an empty bin or a value outside the training range",
  },
});

/** Validated hyperparameters of the HBOS detector. */
export type HbosParams = ParamValues<typeof PARAMS>;

/**
 * Bin of `v` in a feature fitted on [lo, hi] with `bins` bins, or -1 when `v`
 * lies outside. The same arithmetic (`(v − lo) / ((hi − lo) / bins)`, floored)
 * is used in fit and score, so a training value always lands in its own bin.
 */
export function binOf(v: number, lo: number, hi: number, bins: number): number {
  if (!(v >= lo && v <= hi)) return -1;
  if (hi === lo) return 0;
  const b = Math.floor((v - lo) / ((hi - lo) / bins));
  return b >= bins ? bins - 1 : b;
}

/** The HBOS detector. */
export class HbosDetector implements Detector {
  readonly name = "hbos";
  readonly params: Readonly<HbosParams>;
  #d: number | undefined;
  #lo: Float64Array = new Float64Array(0);
  #hi: Float64Array = new Float64Array(0);
  /** log(maxCount / max(count, emptyCount)) per feature and bin (d × bins), and the outside-range value per feature. */
  #logScore: Float64Array = new Float64Array(0);
  #outside: Float64Array = new Float64Array(0);
  #counts: Float64Array = new Float64Array(0);

  constructor(params: HbosParams) {
    this.params = params;
  }

  get nFeatures(): number | undefined {
    return this.#d;
  }

  fit(x: Matrix, options: FitOptions = {}): void {
    checkFitInput(this.name, x);
    const n = x.rows, d = x.cols, data = x.data, bins = this.params.bins;
    const lo = new Float64Array(d).fill(Infinity), hi = new Float64Array(d).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = data[i * d + j];
        if (v < lo[j]) lo[j] = v;
        if (v > hi[j]) hi[j] = v;
      }
    }
    for (let j = 0; j < d; j++) {
      if (!Number.isFinite(hi[j] - lo[j])) {
        throw new InputError(
          `hbos.fit: column "${x.names[j] ?? j + 1}" spans ${lo[j]} to ${hi[j]}, whose width overflows; ` +
            `expected a finite range (rescale the column first, e.g. log1p)`,
        );
      }
    }
    const counts = new Float64Array(d * bins);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) counts[j * bins + binOf(data[i * d + j], lo[j], hi[j], bins)]++;
    }
    this.#lo = lo;
    this.#hi = hi;
    this.#counts = counts;
    this.#d = d;
    this.#derive();
    options.onProgress?.({ step: 1, total: 1 });
  }

  /** Per-bin log scores from the counts (after fit or restore). */
  #derive(): void {
    const d = this.#d!, bins = this.params.bins, empty = this.params.emptyCount, counts = this.#counts;
    this.#logScore = new Float64Array(d * bins);
    this.#outside = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      let max = 0;
      for (let b = 0; b < bins; b++) max = Math.max(max, counts[j * bins + b]);
      for (let b = 0; b < bins; b++) {
        this.#logScore[j * bins + b] = Math.log(max / Math.max(counts[j * bins + b], empty));
      }
      this.#outside[j] = Math.log(max / empty);
    }
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.#d);
    const d = this.#d!, bins = this.params.bins, data = x.data;
    const lo = this.#lo, hi = this.#hi, logScore = this.#logScore, outside = this.#outside;
    const out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const b = binOf(data[i * d + j], lo[j], hi[j], bins);
        s += b < 0 ? outside[j] : logScore[j * bins + b];
      }
      out[i] = s;
    }
    return out;
  }

  save(): DetectorState {
    if (this.#d === undefined) throw new InputError("hbos.save: the model is not fitted");
    return {
      state: { nFeatures: this.#d, bins: this.params.bins },
      blobs: { lo: toBytes(this.#lo), hi: toBytes(this.#hi), counts: toBytes(this.#counts) },
    };
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    const n = this.name, s = saved.state;
    const d = stateNumber(s, "nFeatures", n), bins = stateNumber(s, "bins", n);
    if (bins !== this.params.bins) {
      throw new InputError(`hbos: saved model has ${bins} bins but its params say ${this.params.bins}`);
    }
    const lo = f64Blob(saved.blobs, "lo", n, d), hi = f64Blob(saved.blobs, "hi", n, d);
    const counts = f64Blob(saved.blobs, "counts", n, d * bins);
    for (let j = 0; j < d; j++) {
      if (!(lo[j] <= hi[j]) || !Number.isFinite(hi[j] - lo[j])) {
        throw new InputError(
          `hbos: saved range of column ${j + 1} is [${lo[j]}, ${hi[j]}] (corrupt weights)`,
        );
      }
    }
    if (counts.some((c) => !(c >= 0) || !Number.isInteger(c))) {
      throw new InputError("hbos: saved bin counts are not non-negative integers (corrupt weights)");
    }
    this.#lo = lo;
    this.#hi = hi;
    this.#counts = counts;
    this.#d = d;
    this.#derive();
    return this;
  }
}

/** Registry entry. */
export const hbos: DetectorFactory = defineDetector({
  name: "hbos",
  summary: "HBOS (Goldstein & Dengel 2012): sum over features of log(max bin count / bin count), static bins",
  params: PARAMS,
  create: (params) => new HbosDetector(params),
});
