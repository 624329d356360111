/**
 * Per-feature empirical distribution tables shared by `ecod` and `copod`
 * (./ecod.ts, ./copod.ts): for every column the distinct training values in
 * ascending order with the number of training rows at or below each, plus the
 * column's sample skewness.
 *
 * Tail probabilities of a new value v in column j count the scored row itself,
 * as if it had been appended to the training rows:
 *
 *   F_left(v)  = (1 + #{training values ≤ v}) / (n + 1)
 *   F_right(v) = (1 + #{training values ≥ v}) / (n + 1)
 *
 * This is the transductive ECDF of ECOD/COPOD (computed over the training rows
 * and the rows being scored) restricted to one scored row at a time, so a
 * row's score never depends on which other rows share its batch, and a value
 * beyond every training value gets a finite −log F (log(n + 1)), not infinity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarginalTables } from "./_marginals.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const t = MarginalTables.fit(matrixFromRows([[1], [2], [2], [5]]));
 * const tails = new Float64Array(2);
 * t.negLogTails(0, 2, tails); // 3 of 4 values ≤ 2 and 3 of 4 values ≥ 2
 * assert.deepEqual([...tails], [-Math.log(4 / 5), -Math.log(4 / 5)]);
 * t.negLogTails(0, 9, tails); // beyond the range: only the row itself is ≥ 9
 * assert.equal(tails[1], Math.log(5));
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { f64Blob, i32Blob, stateNumber, toBytes } from "./_linalg.ts";
import type { DetectorState } from "./types.ts";

/**
 * A skewness within ±this counts as 0 (symmetric → the right tail, as ECOD's
 * 1{γ ≥ 0}). Exactly symmetric columns (a 0/1 column with p = ½) otherwise
 * get a sign from rounding, which would pick a tail at random.
 */
export const SKEW_ZERO = 1e-9;

/** Sorted distinct values and cumulative counts per column, and each column's skewness. */
export class MarginalTables {
  /** Training rows n. */
  readonly rows: number;
  /** Columns d. */
  readonly cols: number;
  /** Column j's distinct values are `values[offsets[j] .. offsets[j+1])`, ascending. */
  readonly offsets: Int32Array;
  readonly values: Float64Array;
  /** `atOrBelow[t]` = training rows of the column with a value ≤ `values[t]`. */
  readonly atOrBelow: Int32Array;
  /** Sample skewness g1 = m3 / m2^1.5 per column (0 for constant columns). */
  readonly skew: Float64Array;

  constructor(fields: Pick<MarginalTables, "rows" | "cols" | "offsets" | "values" | "atOrBelow" | "skew">) {
    this.rows = fields.rows;
    this.cols = fields.cols;
    this.offsets = fields.offsets;
    this.values = fields.values;
    this.atOrBelow = fields.atOrBelow;
    this.skew = fields.skew;
  }

  /** Builds the tables from training rows (O(n·d·log n)). */
  static fit(x: Matrix): MarginalTables {
    const n = x.rows, d = x.cols, data = x.data;
    const col = new Float64Array(n);
    const offsets = new Int32Array(d + 1);
    const valueParts: Float64Array[] = [], countParts: Int32Array[] = [];
    const skew = new Float64Array(d);
    let total = 0;
    for (let j = 0; j < d; j++) {
      for (let i = 0; i < n; i++) col[i] = data[i * d + j];
      col.sort();
      const vals = new Float64Array(n), cum = new Int32Array(n);
      let m = 0;
      for (let i = 0; i < n; i++) {
        if (m > 0 && vals[m - 1] === col[i]) cum[m - 1] = i + 1;
        else {
          vals[m] = col[i];
          cum[m] = i + 1;
          m++;
        }
      }
      valueParts.push(vals.slice(0, m));
      countParts.push(cum.slice(0, m));
      total += m;
      offsets[j + 1] = total;
      skew[j] = m > 1 ? sampleSkewness(col) : 0;
    }
    const values = new Float64Array(total), atOrBelow = new Int32Array(total);
    for (let j = 0; j < d; j++) {
      values.set(valueParts[j], offsets[j]);
      atOrBelow.set(countParts[j], offsets[j]);
    }
    return new MarginalTables({ rows: n, cols: d, offsets, values, atOrBelow, skew });
  }

  /**
   * Writes −log F_left(v) and −log F_right(v) of column `j` into `out[0]`,
   * `out[1]` (see the module doc for F).
   */
  negLogTails(j: number, v: number, out: Float64Array): void {
    const lo = this.offsets[j], hi = this.offsets[j + 1], vals = this.values, cum = this.atOrBelow;
    // First index in [lo, hi) whose value is > v, and first whose value is >= v.
    let a = lo, b = hi;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (vals[m] <= v) a = m + 1;
      else b = m;
    }
    const upper = a;
    const atOrBelow = upper > lo ? cum[upper - 1] : 0;
    const below = upper > lo && vals[upper - 1] === v ? (upper - 1 > lo ? cum[upper - 2] : 0) : atOrBelow;
    const n1 = this.rows + 1;
    out[0] = -Math.log((atOrBelow + 1) / n1);
    out[1] = -Math.log((this.rows - below + 1) / n1);
  }

  /** Blobs and state for a detector's `save()`. */
  save(): DetectorState {
    return {
      state: { nFeatures: this.cols, rows: this.rows, distinctValues: this.values.length },
      blobs: {
        offsets: toBytes(this.offsets),
        values: toBytes(this.values),
        atOrBelow: toBytes(this.atOrBelow),
        skew: toBytes(this.skew),
      },
    };
  }

  /** Restores tables written by {@link save}, checking their consistency. */
  static restore(saved: DetectorState, detector: string): MarginalTables {
    const s = saved.state;
    const d = stateNumber(s, "nFeatures", detector), n = stateNumber(s, "rows", detector);
    const total = stateNumber(s, "distinctValues", detector);
    const offsets = i32Blob(saved.blobs, "offsets", detector, d + 1);
    const values = f64Blob(saved.blobs, "values", detector, total);
    const atOrBelow = i32Blob(saved.blobs, "atOrBelow", detector, total);
    const skew = f64Blob(saved.blobs, "skew", detector, d);
    const bad = (what: string) => new InputError(`${detector}: saved ${what} (corrupt weights)`);
    if (offsets[0] !== 0 || offsets[d] !== total) throw bad("column offsets do not cover the value table");
    for (let j = 0; j < d; j++) {
      const lo = offsets[j], hi = offsets[j + 1];
      if (hi <= lo) throw bad(`column ${j + 1} has no values`);
      for (let t = lo; t < hi; t++) {
        if (
          !Number.isFinite(values[t]) ||
          (t > lo && (values[t] <= values[t - 1] || atOrBelow[t] <= atOrBelow[t - 1]))
        ) {
          throw bad(`column ${j + 1} table is not ascending`);
        }
      }
      if (atOrBelow[lo] < 1 || atOrBelow[hi - 1] !== n) {
        throw bad(`column ${j + 1} counts do not sum to ${n} rows`);
      }
      if (!Number.isFinite(skew[j])) throw bad(`column ${j + 1} skewness is not finite`);
    }
    return new MarginalTables({ rows: n, cols: d, offsets, values, atOrBelow, skew });
  }
}

/**
 * Biased sample skewness m3 / m2^1.5 of sorted, non-constant values (scipy's
 * `skew` default), with |g| ≤ {@link SKEW_ZERO} returned as 0.
 */
function sampleSkewness(v: Float64Array): number {
  const n = v.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += v[i];
  mean /= n;
  let m2 = 0, m3 = 0;
  for (let i = 0; i < n; i++) {
    const t = v[i] - mean;
    m2 += t * t;
    m3 += t * t * t;
  }
  m2 /= n;
  m3 /= n;
  const g = m2 > 0 ? m3 / Math.pow(m2, 1.5) : 0;
  return Math.abs(g) <= SKEW_ZERO || !Number.isFinite(g) ? 0 : g;
}
