/**
 * `ecod`: ECOD, unsupervised outlier detection with empirical cumulative
 * distribution functions (Li, Zhao, Hu, Botta, Ionescu & Chen, IEEE TKDE
 * 2022), Algorithm 1 as published. For each feature j the left- and
 * right-tail ECDFs of the benign training rows and the sample skewness γ_j are
 * fitted; a row x is scored by summing the negative log tail probabilities
 * over the features in three ways and taking the largest:
 *
 *   O_left  = −Σ_j log F_left,j(x_j)
 *   O_right = −Σ_j log F_right,j(x_j)
 *   O_auto  = −Σ_j log (γ_j < 0 ? F_left,j(x_j) : F_right,j(x_j))
 *   score   = max(O_left, O_right, O_auto)
 *
 * The tail probabilities count the scored row itself (F = (1 + count) / (n + 1),
 * see ./_marginals.ts): exactly the paper's ECDF over the training rows plus
 * the row being scored, so a row scores the same alone or in any batch (the
 * paper, and PyOD, build the ECDF over the whole scored batch). No
 * hyperparameters; fit O(n·d·log n), score O(d·log n) per row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const d = createDetector("ecod", {}, 0);
 * await d.fit(matrixFromRows(Array.from({ length: 99 }, (_, i) => [i % 10, (i * 7) % 11])));
 * const [inside, outside] = await d.score(matrixFromRows([[5, 5], [50, 5]]));
 * assert.ok(outside > inside, `a value beyond the training range scores higher: ${outside} > ${inside}`);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { checkFitInput, checkScoreInput } from "./_linalg.ts";
import { MarginalTables } from "./_marginals.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const PARAMS = defineParams({});

/** Validated hyperparameters of the ECOD detector (none). */
export type EcodParams = ParamValues<typeof PARAMS>;

/**
 * The three tail sums of every row of `x` under `tables`: `left`, `right` and
 * `auto` (skewness-chosen tail), each of length `x.rows`.
 */
export function tailSums(
  tables: MarginalTables,
  x: Matrix,
): { left: Float64Array; right: Float64Array; auto: Float64Array } {
  const d = tables.cols, data = x.data, skew = tables.skew;
  const left = new Float64Array(x.rows), right = new Float64Array(x.rows), auto = new Float64Array(x.rows);
  const t = new Float64Array(2);
  for (let i = 0; i < x.rows; i++) {
    let l = 0, r = 0, a = 0;
    for (let j = 0; j < d; j++) {
      tables.negLogTails(j, data[i * d + j], t);
      l += t[0];
      r += t[1];
      a += skew[j] < 0 ? t[0] : t[1];
    }
    left[i] = l;
    right[i] = r;
    auto[i] = a;
  }
  return { left, right, auto };
}

/** The ECOD detector. */
export class EcodDetector implements Detector {
  readonly name = "ecod";
  readonly params: Readonly<EcodParams>;
  #tables: MarginalTables | undefined;

  constructor(params: EcodParams) {
    this.params = params;
  }

  get nFeatures(): number | undefined {
    return this.#tables?.cols;
  }

  fit(x: Matrix, options: FitOptions = {}): void {
    checkFitInput(this.name, x);
    this.#tables = MarginalTables.fit(x);
    options.onProgress?.({ step: 1, total: 1 });
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(this.name, x, this.nFeatures);
    const { left, right, auto } = tailSums(this.#tables!, x);
    const out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) out[i] = Math.max(left[i], right[i], auto[i]);
    return out;
  }

  save(): DetectorState {
    if (!this.#tables) throw new InputError("ecod.save: the model is not fitted");
    return this.#tables.save();
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    this.#tables = MarginalTables.restore(saved, this.name);
    return this;
  }
}

/** Registry entry. */
export const ecod: DetectorFactory = defineDetector({
  name: "ecod",
  summary:
    "ECOD (Li et al. 2022): max of the left, right and skewness-chosen sums of -log ECDF tail probabilities",
  params: PARAMS,
  create: (params) => new EcodDetector(params),
});
