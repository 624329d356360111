/**
 * POST /predict input: JSON rows (objects keyed by feature, or arrays in the
 * model's feature order) or CSV with a header, parsed into a matrix in the
 * model's feature order. Every problem is reported with its field (at most
 * {@link MAX_FIELD_ERRORS}), so a client can fix a whole request at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePredictInput, type PredictModel } from "./predict_input.ts";
 *
 * const model: PredictModel = { name: "m", detector: "d", featureNames: ["a", "b"], score: (x) => x.data };
 * const csv = new TextEncoder().encode("b,a\n2,1\n");
 * const out = parsePredictInput(csv, "text/csv", model, 10);
 * assert.deepEqual(Array.from(out.matrix!.data), [1, 2]);
 * assert.deepEqual(out.errors, []);
 * ```
 * @module
 */
import type { Matrix } from "../../data/matrix.ts";
import { splitCsvLine } from "../../data/csv_line.ts";
import { textNumber } from "../../data/number_text.ts";
import { describeValue, type FieldError, parseJsonBody } from "./http.ts";

/** A model that POST /predict can use. */
export interface PredictModel {
  name: string;
  detector: string;
  /**
   * Columns each row carries, in order: the model's features, or for a model with a preprocessing
   * transform its raw input columns (the transform is applied by `score`).
   */
  featureNames: readonly string[];
  /** Columns of `featureNames` that take text (categories of a transform); NaN in the matrix. */
  categorical?: readonly string[];
  /** `score` applies a saved preprocessing transform to the raw rows. */
  preprocessed?: boolean;
  /** Numeric cells may be null / empty (missing: the transform's nanPolicy fills or drops them). */
  allowMissing?: boolean;
  featureSet?: string;
  threshold?: number;
  /**
   * One score per row; NaN for a row the model's transform dropped, and then `dropped[row]` is set
   * to 1 when `dropped` is given (any other non-finite score is the model failing on that row).
   */
  score(
    x: Matrix,
    categories?: ReadonlyMap<string, readonly (string | null)[]>,
    dropped?: Uint8Array,
  ): Promise<Float64Array> | Float64Array;
}

/** What {@link parsePredictInput} returns: a matrix, or the field errors that stopped it. */
export interface PredictInput {
  /** The rows in the model's feature order; absent when there are errors. */
  matrix?: Matrix;
  /** Text cells of the model's categorical columns, by column name (their matrix cells are NaN). */
  categories?: Map<string, (string | null)[]>;
  /** Empty when the input is valid. */
  errors: FieldError[];
  /** The model named in a JSON body's `model` field. */
  modelName?: string;
}

/** Most field errors one response lists; the rest would only bury the first. */
export const MAX_FIELD_ERRORS = 50;

/** Field errors (capped) and the text columns of one parse. */
class Collector {
  readonly errors: FieldError[] = [];
  readonly allowMissing: boolean;
  /** Per column: the text cells of a categorical column, undefined for a numeric one. */
  readonly #text: ((string | null)[] | undefined)[];
  /** The model names categorical columns (then `categories()` is a map, even an empty one). */
  readonly #hasCategorical: boolean;

  constructor(readonly model: PredictModel) {
    const cat = new Set(model.categorical ?? []);
    this.#text = model.featureNames.map((n) => (cat.has(n) ? [] : undefined));
    this.#hasCategorical = cat.size > 0;
    this.allowMissing = model.allowMissing === true;
  }

  push(field: string, message: string): void {
    if (this.errors.length < MAX_FIELD_ERRORS) this.errors.push({ field, message });
  }

  /** The text cells of column `j` when it is categorical. */
  text(j: number): (string | null)[] | undefined {
    return this.#text[j];
  }

  categories(): Map<string, (string | null)[]> | undefined {
    const names = this.model.featureNames;
    return this.#hasCategorical
      ? new Map(names.flatMap((n, j) => (this.#text[j] ? [[n, this.#text[j]!]] : [])))
      : undefined;
  }

  /** One cell of a JSON row: records a category's text, returns the number to store. */
  jsonCell(v: unknown, j: number, field: string): number {
    const c = this.#text[j];
    if (c) {
      if (typeof v === "string") c.push(v);
      else if (typeof v === "number" && Number.isFinite(v)) c.push(String(v));
      else if (v === null) c.push(null);
      else {
        this.push(field, `expected a string (category), found ${describeValue(v)}`);
        c.push(null);
      }
      return NaN;
    }
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (v === null && this.allowMissing) return NaN;
    const expected = this.allowMissing ? "a finite number or null" : "a finite number";
    this.push(field, `expected ${expected}, found ${describeValue(v)}`);
    return NaN;
  }
}

/**
 * Parses /predict input into a matrix in the model's feature order, or field errors.
 * `contentType` starting with `text/csv` selects CSV; anything else is read as JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePredictInput, type PredictModel } from "./predict_input.ts";
 *
 * const model: PredictModel = { name: "m", detector: "d", featureNames: ["a"], score: (x) => x.data };
 * const body = new TextEncoder().encode(JSON.stringify({ rows: [{ a: "x" }] }));
 * assert.deepEqual(parsePredictInput(body, "application/json", model, 10).errors, [
 *   { field: "rows[0].a", message: 'expected a finite number, found string "x"' },
 * ]);
 * ```
 */
export function parsePredictInput(
  body: Uint8Array,
  contentType: string,
  model: PredictModel,
  maxRows: number,
): PredictInput {
  if (!contentType.startsWith("text/csv")) {
    const p = parseJsonBody(body);
    return p.error ? { errors: [p.error] } : predictInputFromJson(p.value, model, maxRows);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch (e) {
    // A fatal TextDecoder reports bytes that are not UTF-8 with a TypeError; anything else is a bug.
    if (!(e instanceof TypeError)) throw e;
    return { errors: [{ field: "body", message: "expected UTF-8 text" }] };
  }
  return parseCsv(text, new Collector(model), maxRows);
}

/**
 * The rows of an already parsed JSON body (`{"rows": [...], "model"?: name}`) as a matrix in the
 * model's feature order, or field errors; what {@link parsePredictInput} does after JSON.parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predictInputFromJson, type PredictModel } from "./predict_input.ts";
 *
 * const model: PredictModel = { name: "m", detector: "d", featureNames: ["a"], score: (x) => x.data };
 * assert.deepEqual(Array.from(predictInputFromJson({ rows: [[1], { a: 2 }] }, model, 10).matrix!.data), [1, 2]);
 * assert.equal(predictInputFromJson({ rows: [[1e999]] }, model, 10).errors[0].field, "rows[0][0] (a)");
 * ```
 */
export function predictInputFromJson(parsed: unknown, model: PredictModel, maxRows: number): PredictInput {
  return parseJson(parsed, new Collector(model), maxRows);
}

function parseCsv(text: string, c: Collector, maxRows: number): PredictInput {
  const { model, errors, allowMissing } = c;
  const names = model.featureNames;
  const cols = names.length;
  const lines = text.split(/\r\n|\r|\n/); // CR-only line ends too (they had read as one header line)
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  if (!lines.length) {
    return { errors: [{ field: "body", message: "expected a CSV header line, found an empty body" }] };
  }
  const header = splitCsvLine(lines[0]).map((h) => h.trim());
  // A column named twice: the first was used and the second ignored, where `nadir predict` refuses it.
  header.forEach((h, i) => {
    const first = header.indexOf(h);
    if (first < i) c.push(`header.${h}`, `column "${h}" appears twice (columns ${first + 1} and ${i + 1})`);
  });
  if (errors.length) return { errors };
  const idx = names.map((n) => header.indexOf(n));
  names.forEach((n, j) =>
    idx[j] < 0 && c.push(`header.${n}`, `missing column "${n}" required by model ${model.name}`)
  );
  if (errors.length) return { errors };
  const rows = lines.length - 1;
  if (rows < 1) {
    return { errors: [{ field: "body", message: "expected at least one data row after the header" }] };
  }
  if (rows > maxRows) {
    return { errors: [{ field: "body", message: `expected at most ${maxRows} rows, found ${rows}` }] };
  }
  const expected = allowMissing ? "a finite number or an empty cell" : "a finite number";
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const cells = splitCsvLine(lines[i + 1]);
    if (cells.length !== header.length) {
      c.push(`line ${i + 2}`, `expected ${header.length} cells, found ${cells.length}`);
      continue;
    }
    for (let j = 0; j < cols; j++) {
      const raw = cells[idx[j]].trim();
      const textCol = c.text(j);
      if (textCol) {
        textCol.push(raw === "" ? null : raw);
        data[i * cols + j] = NaN;
        continue;
      }
      // Decimal text only, as `nadir predict` reads it: Number() also takes "0x10", "0b11" and "0o7".
      const v = textNumber(raw) ?? NaN;
      if (!(raw === "" && allowMissing) && !Number.isFinite(v)) {
        c.push(
          `line ${i + 2}.${names[j]}`,
          `expected ${expected}, found ${JSON.stringify(raw.slice(0, 40))}`,
        );
      }
      data[i * cols + j] = v;
    }
  }
  return errors.length
    ? { errors }
    : { matrix: { data, rows, cols, names }, categories: c.categories(), errors };
}

function parseJson(parsed: unknown, c: Collector, maxRows: number): PredictInput {
  const { model, errors } = c;
  const names = model.featureNames;
  const cols = names.length;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    const found = Array.isArray(parsed) ? "an array" : typeof parsed;
    return { errors: [{ field: "body", message: `expected an object {"rows": [...]}, found ${found}` }] };
  }
  const o = parsed as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== "rows" && k !== "model") c.push(k, `unknown field (expected "rows" and optional "model")`);
  }
  if (o.model !== undefined && typeof o.model !== "string") c.push("model", "expected a string");
  if (!Array.isArray(o.rows)) {
    c.push("rows", `expected an array of rows, found ${o.rows === undefined ? "nothing" : typeof o.rows}`);
    return { errors };
  }
  const rowsIn = o.rows as unknown[];
  if (!rowsIn.length || rowsIn.length > maxRows) {
    c.push(
      "rows",
      rowsIn.length
        ? `expected at most ${maxRows} rows, found ${rowsIn.length}`
        : "expected at least one row",
    );
    return { errors };
  }
  const data = new Float64Array(rowsIn.length * cols);
  const known = new Set(names);
  rowsIn.forEach((r, i) => {
    if (Array.isArray(r)) {
      if (r.length !== cols) {
        c.push(
          `rows[${i}]`,
          `expected ${cols} values in the order of model ${model.name}'s features, found ${r.length}`,
        );
      } else {
        r.forEach((v, j) => {
          data[i * cols + j] = c.jsonCell(v, j, `rows[${i}][${j}] (${names[j]})`);
        });
      }
    } else if (typeof r === "object" && r !== null) {
      const row = r as Record<string, unknown>;
      names.forEach((n, j) => {
        const v = row[n];
        if (v === undefined) c.push(`rows[${i}].${n}`, "missing");
        else data[i * cols + j] = c.jsonCell(v, j, `rows[${i}].${n}`);
      });
      for (const k of Object.keys(row)) {
        if (!known.has(k)) c.push(`rows[${i}].${k.slice(0, 80)}`, `unknown feature for model ${model.name}`);
      }
    } else c.push(`rows[${i}]`, `expected an object or an array, found ${describeValue(r)}`);
  });
  return errors.length ? { errors } : {
    matrix: { data, rows: rowsIn.length, cols, names },
    categories: c.categories(),
    errors,
    modelName: o.model as string | undefined,
  };
}
