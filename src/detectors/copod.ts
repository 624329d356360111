/**
 * `copod`: COPOD, copula-based outlier detection (Li, Zhao, Botta, Ionescu &
 * Hu, ICDM 2020). Each feature's values are mapped through the empirical
 * marginal CDFs of the benign training rows (the empirical copula
 * observations): U_j = F_left,j(x_j), V_j = F_right,j(x_j), and W_j = U_j when
 * feature j's skewness is negative, else V_j. With u_j = −log U_j,
 * v_j = −log V_j, w_j = −log W_j:
 *
 * - `combine: "dimension"` (default): score = Σ_j max(w_j, (u_j + v_j) / 2).
 *   The authors' released implementation (PyOD) aggregates this way; they
 *   report it worked slightly better than the paper's formula (pyod issue
 *   #325). It is what published PyOD/ADBench COPOD results computed.
 * - `combine: "paper"`: score = max(Σ u_j, Σ v_j, Σ w_j), Algorithm 1 of the
 *   paper — which is also ECOD's published score (the `ecod` detector; pyod
 *   issue #655 shows the two algorithms coincide), kept to reproduce the paper.
 *
 * Tail probabilities count the scored row itself, F = (1 + count) / (n + 1)
 * (./_marginals.ts), so a row scores the same alone or in any batch and values
 * beyond the training range stay finite. Fit O(n·d·log n), score O(d·log n)
 * per row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const d = createDetector("copod", {}, 0);
 * await d.fit(matrixFromRows(Array.from({ length: 99 }, (_, i) => [i % 10, (i * 7) % 11])));
 * const [inside, outside] = await d.score(matrixFromRows([[5, 5], [-40, 5]]));
 * assert.ok(outside > inside, `a value below the training range scores higher: ${outside} > ${inside}`);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { checkFitInput, checkScoreInput } from "./_linalg.ts";
import { MarginalTables } from "./_marginals.ts";
import { tailSums } from "./ecod.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const PARAMS = defineParams({
  combine: {
    type: "string",
    default: "dimension",
    choices: ["dimension", "paper"],
    description:
      "dimension = sum over features of max(skew-chosen tail, mean of both tails) (authors' implementation); " +
      "paper = max of the left, right and skew-chosen sums (Algorithm 1, = ecod)",
  },
});

/** Validated hyperparameters of the COPOD detector. */
export type CopodParams = ParamValues<typeof PARAMS>;

/** The COPOD detector. */
export class CopodDetector implements Detector {
  readonly name = "copod";
  readonly params: Readonly<CopodParams>;
  #tables: MarginalTables | undefined;

  constructor(params: CopodParams) {
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
    const tables = this.#tables!;
    const out = new Float64Array(x.rows);
    if (this.params.combine === "paper") {
      const { left, right, auto } = tailSums(tables, x);
      for (let i = 0; i < x.rows; i++) out[i] = Math.max(left[i], right[i], auto[i]);
      return out;
    }
    const d = tables.cols, data = x.data, skew = tables.skew;
    const t = new Float64Array(2);
    for (let i = 0; i < x.rows; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        tables.negLogTails(j, data[i * d + j], t);
        const w = skew[j] < 0 ? t[0] : t[1];
        s += Math.max(w, (t[0] + t[1]) / 2);
      }
      out[i] = s;
    }
    return out;
  }

  save(): DetectorState {
    if (!this.#tables) throw new InputError("copod.save: the model is not fitted");
    return this.#tables.save();
  }

  /** Restores fitted state (used by the registry's `load`). */
  restore(saved: DetectorState): this {
    this.#tables = MarginalTables.restore(saved, this.name);
    return this;
  }
}

/** Registry entry. */
export const copod: DetectorFactory = defineDetector({
  name: "copod",
  summary: "COPOD (Li et al. 2020): sum over features of max(skew-chosen, mean) -log empirical copula tails",
  params: PARAMS,
  create: (params) => new CopodDetector(params),
});
