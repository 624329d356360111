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
import { textNumber } from "./number_text.ts";

/** A numeric column as float64 (nulls become NaN; numbers written as text are read). Throws for other text. */
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
    return numbersFromText(s, name);
  }
  const f = s.cast(pl.Float64);
  const arr = f.nullCount() > 0
    ? Float64Array.from(f.toArray() as (number | null)[], (v) => (v === null ? NaN : v))
    : (f.toTypedArray() as Float64Array);
  return arr;
}

/**
 * A text column that should be numeric. CSV type inference makes a column
 * text when one value is not a plain number: "Infinity" (CIC-IDS2017's
 * Flow Bytes/s, a flow meter's rate over zero time) reads as the number it
 * spells; anything else is the row's mistake, named with its row, rather than
 * a "holds strings" verdict on the whole column.
 */
function numbersFromText(s: pl.Series, name: string): Float64Array {
  const values = s.cast(pl.Utf8).toArray() as (string | null)[];
  const out = new Float64Array(values.length);
  let firstBad = -1;
  let numeric = 0;
  for (let i = 0; i < values.length; i++) {
    const x = textNumber(values[i]);
    if (x === undefined) {
      if (firstBad < 0) firstBad = i;
    } else {
      out[i] = x;
      if (values[i]) numeric++;
    }
  }
  if (firstBad < 0) return out;
  const v = values[firstBad]!;
  const shown = v.length > 40 ? v.slice(0, 40) + "…" : v;
  // A column of text only is a category to encode; one bad cell among numbers, a bad cell (named by its
  // data row: the caller knows the file, and a chunked read where the chunk starts).
  throw numeric === 0 && values.length > 1
    ? new InputError(
      `expected numbers, found text (e.g. "${shown}"); one-hot encode a categorical column first ` +
        `(see src/data/preprocess.ts)`,
      { column: name },
    )
    : new InputError(`expected a number, found "${shown}"`, { column: name, row: firstBad + 1 });
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
