/**
 * The feature matrix every detector consumes: row-major float64 values with
 * column names. Metadata (addresses, timestamps, labels) never goes in here;
 * it travels beside the matrix so it cannot leak into a model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matrixFromRows, row } from "./matrix.ts";
 * const m = matrixFromRows([[1, 2], [3, 4]], ["a", "b"]);
 * assert.ok(m.rows === 2 && row(m, 1)[0] === 3);
 * ```
 * @module
 */

/** A dense row-major matrix of features. */
export interface Matrix {
  /** Row-major values, length rows * cols. */
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
  /** Column names, length cols. */
  readonly names: readonly string[];
}

/** Builds a matrix, checking that the sizes agree. */
export function matrix(data: Float64Array, rows: number, cols: number, names?: readonly string[]): Matrix {
  if (data.length !== rows * cols) {
    throw new RangeError(
      `matrix data has ${data.length} values, expected rows*cols = ${rows}*${cols} = ${rows * cols}`,
    );
  }
  const n = names ?? Array.from({ length: cols }, (_, i) => `f${i}`);
  if (n.length !== cols) throw new RangeError(`matrix has ${cols} columns but ${n.length} names`);
  return { data, rows, cols, names: n };
}

/** Builds a matrix from an array of rows. */
export function matrixFromRows(rows: ArrayLike<number>[], names?: readonly string[]): Matrix {
  const cols = rows.length ? rows[0].length : (names?.length ?? 0);
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new RangeError(`row ${i} has ${r.length} values, expected ${cols}`);
    data.set(r as ArrayLike<number>, i * cols);
  });
  return matrix(data, rows.length, cols, names);
}

/** A view of row `i` (no copy). */
export function row(m: Matrix, i: number): Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** The rows at `indices`, copied into a new matrix. */
export function takeRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const out = new Float64Array(indices.length * m.cols);
  for (let k = 0; k < indices.length; k++) out.set(row(m, indices[k]), k * m.cols);
  return { data: out, rows: indices.length, cols: m.cols, names: m.names };
}

/**
 * The rows of `ms` one after another, in a new matrix (the first one's names; every one must have
 * as many columns).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatRows, matrixFromRows } from "./matrix.ts";
 * const m = concatRows([matrixFromRows([[1, 2]]), matrixFromRows([[3, 4], [5, 6]])]);
 * assert.deepEqual([m.rows, ...m.data], [3, 1, 2, 3, 4, 5, 6]);
 * ```
 */
export function concatRows(ms: readonly Matrix[]): Matrix {
  if (!ms.length) throw new RangeError("concatRows: expected at least one matrix, found none");
  const cols = ms[0].cols;
  const bad = ms.findIndex((m) => m.cols !== cols);
  if (bad >= 0) {
    throw new RangeError(`concatRows: matrix ${bad} has ${ms[bad].cols} columns, expected ${cols}`);
  }
  const data = new Float64Array(ms.reduce((n, m) => n + m.data.length, 0));
  let at = 0;
  for (const m of ms) {
    data.set(m.data, at);
    at += m.data.length;
  }
  return { data, rows: data.length / cols, cols, names: ms[0].names };
}

/** Converts to float32 (for tfjs). */
export function toFloat32(m: Matrix): Float32Array {
  return Float32Array.from(m.data);
}
