/**
 * DataFrame ↔ {@link Matrix}: the one place where a polars frame becomes the row-major float64
 * matrix detectors consume. Kept out of matrix.ts so that code needing only the Matrix type does
 * not load the polars native addon.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { toMatrix } from "./frame.ts";
 * const m = toMatrix(pl.DataFrame({ a: [1, 2], b: [3, 4], ip: ["x", "y"] }), ["a", "b"]);
 * assert.ok(m.rows === 2 && m.data[1] === 3);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { type Matrix, matrix } from "./matrix.ts";
import { InputError } from "../util/errors.ts";
import { featureColumns } from "./schema.ts";

/** A numeric column as float64 (nulls become NaN). Throws for string columns. */
export function numericColumn(df: pl.DataFrame, name: string): Float64Array {
  if (!df.columns.includes(name)) {
    throw new InputError(
      `no column "${name}" in the frame (has ${df.columns.slice(0, 8).join(", ")}${
        df.width > 8 ? ", ..." : ""
      })`,
    );
  }
  const s = df.getColumn(name);
  const dt = String(s.dtype);
  if (dt.includes("String") || dt.includes("Utf8") || dt.includes("Categorical")) {
    throw new InputError(
      `column "${name}" holds strings; one-hot encode it first (see src/data/preprocess.ts)`,
      { column: name },
    );
  }
  const f = s.cast(pl.Float64);
  const arr = f.nullCount() > 0
    ? Float64Array.from(f.toArray() as (number | null)[], (v) => (v === null ? NaN : v))
    : (f.toTypedArray() as Float64Array);
  return arr;
}

/**
 * The chosen columns of `df` as a Matrix (default: the frame's feature columns, which must all be
 * numeric). Nulls become NaN.
 */
export function toMatrix(df: pl.DataFrame, columns: readonly string[] = featureColumns(df)): Matrix {
  const rows = df.height;
  const cols = columns.length;
  const data = new Float64Array(rows * cols);
  columns.forEach((c, j) => {
    const col = numericColumn(df, c);
    for (let i = 0, k = j; i < rows; i++, k += cols) data[k] = col[i];
  });
  return matrix(data, rows, cols, [...columns]);
}

/** The `label` column (0/1) as an Int32Array, optionally at `rows` only. */
export function labels(df: pl.DataFrame, rows?: ArrayLike<number>): Int32Array {
  const all = df.getColumn("label").cast(pl.Int32).toTypedArray() as Int32Array;
  return rows ? Int32Array.from({ length: rows.length }, (_, i) => all[rows[i]]) : all;
}
