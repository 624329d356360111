/**
 * The seed API: score raw features with a saved model directory.
 *
 * - `predict(features, modelPath, threshold?)` → `{ isAnomaly, score }` for one
 *   row. `features` is either an object keyed by input column name (raw,
 *   untransformed values: the model's saved preprocessing transform is
 *   applied, categories are one-hot encoded, numbers scaled), or an array of
 *   already-transformed values in the order of the manifest's
 *   `features.names`.
 * - `predictBatch(rows | Matrix | DataFrame, model)` scores many rows at once
 *   and returns one score and one decision per input row, in input order.
 *
 * Loaded models are cached per directory (reloaded when manifest.json
 * changes), so calling `predict` per row does not reload weights.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predict } from "./predict.ts";
 * import { createDetector } from "./registry.ts";
 * import { saveModel } from "./model_dir.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const d = createDetector("knn", { k: 1 }, 0);
 * await d.fit(matrixFromRows([[0, 0], [1, 1]], ["a", "b"]));
 * const dir = await Deno.makeTempDir();
 * await saveModel(dir, { detector: d, seed: 0, featureNames: ["a", "b"], threshold: { strategy: "fixed", params: {}, value: 2 } });
 * const r = await predict({ a: 9, b: 9 }, dir);
 * assert.ok(r.isAnomaly && r.score > 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { type Matrix, matrix } from "../data/matrix.ts";
import { Transform } from "../data/preprocess.ts";
import { InputError } from "../util/errors.ts";
import type { Threshold } from "../thresholds/types.ts";
import { type LoadedModel, loadModel } from "./model_dir.ts";
import { resolveModelDir } from "./model_history.ts";
import type { ScoreContext } from "./types.ts";

/** One decision. */
export interface Prediction {
  isAnomaly: boolean;
  score: number;
}

/**
 * Many decisions, one per input row. Rows a transform dropped (nanPolicy "drop") score NaN and are
 * not anomalous. A row the model scored NaN or ±Infinity (it failed on the row) fails closed: it is
 * anomalous, marked in `nonFinite`.
 */
export interface BatchPrediction {
  scores: Float64Array;
  isAnomaly: boolean[];
  /** 1 for each row the transform dropped. */
  dropped: Uint8Array;
  /** 1 for each row whose score is not finite although it was scored. */
  nonFinite: Uint8Array;
  /** How many rows `nonFinite` marks. */
  nonFiniteCount: number;
  /** The cut used. */
  threshold: number;
}

/** Options for {@link predictBatch}. */
export interface PredictOptions {
  /** Overrides the model's saved threshold. */
  threshold?: number;
  /** Group keys / timestamps per input row for sequence models. */
  context?: ScoreContext;
}

const cache = new Map<string, { mtime: number; model: LoadedModel; transform: Transform | null }>();

async function resolve(
  model: string | LoadedModel,
): Promise<{ model: LoadedModel; transform: Transform | null }> {
  if (typeof model !== "string") return { model, transform: transformOf(model) };
  // A model history predicts with its head; the cache follows the head (each version is its own key).
  model = await resolveModelDir(model);
  let mtime = -1;
  try {
    mtime = (await Deno.stat(`${model}/manifest.json`)).mtime?.getTime() ?? -1;
  } catch { /* loadModel reports the missing file */ }
  const hit = cache.get(model);
  if (hit && hit.mtime === mtime && mtime !== -1) return hit;
  const loaded = await loadModel(model);
  const entry = { mtime, model: loaded, transform: transformOf(loaded) };
  hit?.model.detector.dispose?.();
  cache.set(model, entry);
  return entry;
}

const transforms = new WeakMap<LoadedModel, Transform | null>();

/** The model's preprocessing transform (parsed once), or null when it has none. */
export function transformOf(model: LoadedModel): Transform | null {
  if (transforms.has(model)) return transforms.get(model)!;
  let t: Transform | null = null;
  if (model.transform !== null && model.transform !== undefined) {
    try {
      t = Transform.fromJSON(model.transform);
    } catch (e) {
      throw new InputError(`saved preprocessing transform is invalid: ${(e as Error).message}`, {
        file: `${model.dir}/manifest.json`,
      });
    }
    if (
      t.outputNames.length !== model.featureNames.length ||
      t.outputNames.some((n, i) => n !== model.featureNames[i])
    ) {
      throw new InputError("the saved transform's output columns differ from features.names", {
        file: `${model.dir}/manifest.json`,
      });
    }
  }
  transforms.set(model, t);
  return t;
}

function cut(model: LoadedModel, override?: number): number {
  if (override !== undefined) {
    if (!Number.isFinite(override)) {
      throw new InputError(`threshold must be a finite number, found ${override}`);
    }
    return override;
  }
  const t: Threshold | undefined = model.threshold;
  if (!t) {
    throw new InputError("the model has no saved threshold; pass one explicitly", {
      file: `${model.dir}/manifest.json`,
    });
  }
  return t.value;
}

function isDataFrame(x: unknown): x is pl.DataFrame {
  return typeof x === "object" && x !== null && typeof (x as pl.DataFrame).getColumn === "function" &&
    typeof (x as pl.DataFrame).height === "number";
}

function isMatrix(x: unknown): x is Matrix {
  return typeof x === "object" && x !== null && (x as Matrix).data instanceof Float64Array &&
    typeof (x as Matrix).rows === "number";
}

/**
 * Converts input rows to the model's feature matrix. Returns the matrix and,
 * when the transform dropped rows, the input index of each matrix row.
 */
export function toModelMatrix(
  model: LoadedModel,
  transform: Transform | null,
  input: readonly (Record<string, unknown> | ArrayLike<number>)[] | Matrix | pl.DataFrame,
): { x: Matrix; kept: Uint32Array | null; inputRows: number } {
  const names = model.featureNames, d = names.length;
  if (isDataFrame(input)) {
    if (transform) {
      const a = transform.applyDetailed(input);
      return { x: a.matrix, kept: a.rows, inputRows: input.height };
    }
    const missing = names.filter((n) => !input.columns.includes(n));
    // One-hot names ("protocol_type=tcp") are made by a transform: without one in the manifest the model
    // directory is incomplete, which "the input lacks" had blamed on the input.
    const made = missing.filter((n) => n.includes("=") && input.columns.includes(n.slice(0, n.indexOf("="))));
    if (made.length) {
      throw new InputError(
        `the model's features include columns a transform makes (${made.slice(0, 3).join(", ")}), but its ` +
          `manifest has no "transform" to make them: the model directory is incomplete (retrain or restore it)`,
      );
    }
    if (missing.length) {
      throw new InputError(
        `input lacks ${missing.length} of the model's ${d} feature columns: ${
          missing.slice(0, 6).join(", ")
        }`,
      );
    }
    const data = new Float64Array(input.height * d);
    names.forEach((n, j) => {
      const col = input.getColumn(n).cast(pl.Float64).toArray() as (number | null)[];
      for (let i = 0; i < input.height; i++) data[i * d + j] = col[i] ?? NaN;
    });
    return { x: matrix(data, input.height, d, names), kept: null, inputRows: input.height };
  }
  if (isMatrix(input)) {
    const same = input.cols === d && input.names.every((n, i) => n === names[i]);
    if (same || !transform) {
      if (input.cols !== d) {
        throw new InputError(
          `expected ${d} feature columns (the model's features.names), found ${input.cols}`,
        );
      }
      return { x: input, kept: null, inputRows: input.rows };
    }
    const m = transform.applyToMatrix(input);
    return { x: m, kept: null, inputRows: input.rows };
  }
  const rows = input as readonly (Record<string, unknown> | ArrayLike<number>)[];
  if (rows.length === 0) return { x: matrix(new Float64Array(0), 0, d, names), kept: null, inputRows: 0 };
  const arrays = rows.every((r) => typeof (r as ArrayLike<number>).length === "number" && !isPlainRecord(r));
  if (arrays) {
    const data = new Float64Array(rows.length * d);
    rows.forEach((r, i) => {
      const a = r as ArrayLike<number>;
      if (a.length !== d) {
        throw new InputError(
          `row ${i + 1} has ${a.length} values, expected ${d} (the model's features.names, in order)`,
        );
      }
      for (let j = 0; j < d; j++) data[i * d + j] = Number(a[j]);
    });
    return { x: matrix(data, rows.length, d, names), kept: null, inputRows: rows.length };
  }
  const records = rows as readonly Record<string, unknown>[];
  if (transform) {
    const a = transform.transformRowsDetailed(records);
    return { x: a.matrix, kept: a.rows, inputRows: records.length };
  }
  const data = new Float64Array(records.length * d);
  records.forEach((r, i) => {
    names.forEach((n, j) => {
      if (!(n in r)) throw new InputError(`record ${i + 1} lacks feature "${n}"`, { column: n });
      const v = Number(r[n]);
      data[i * d + j] = v;
    });
  });
  return { x: matrix(data, records.length, d, names), kept: null, inputRows: records.length };
}

function isPlainRecord(r: unknown): boolean {
  return typeof r === "object" && r !== null && !Array.isArray(r) && !ArrayBuffer.isView(r);
}

/** Scores many rows with a model (path or loaded). One result per input row, in input order. */
export async function predictBatch(
  input: readonly (Record<string, unknown> | ArrayLike<number>)[] | Matrix | pl.DataFrame,
  model: string | LoadedModel,
  options: PredictOptions = {},
): Promise<BatchPrediction> {
  const { model: m, transform } = await resolve(model);
  const threshold = cut(m, options.threshold);
  const { x, kept, inputRows } = toModelMatrix(m, transform, input);
  // Without a transform the values reach the detector as they are: a non-finite one (or 1e400, read
  // as Infinity) would only come back as a meaningless score, so it is refused with its row and column.
  if (!transform) finiteOrThrow(x);
  let context = options.context;
  if (context && kept) {
    context = {
      groups: context.groups ? Array.from(kept, (i) => context!.groups![i]) : undefined,
      timestamps: context.timestamps ? Array.from(kept, (i) => context!.timestamps![i]) : undefined,
    };
  }
  const s = x.rows ? await m.detector.score(x, context) : new Float64Array(0);
  const scores = new Float64Array(inputRows).fill(NaN);
  const dropped = new Uint8Array(inputRows);
  if (kept) {
    dropped.fill(1);
    for (let r = 0; r < kept.length; r++) {
      scores[kept[r]] = s[r];
      dropped[kept[r]] = 0;
    }
  } else scores.set(s);
  const nonFinite = new Uint8Array(inputRows);
  let nonFiniteCount = 0;
  for (let i = 0; i < inputRows; i++) {
    if (!dropped[i] && !Number.isFinite(scores[i])) {
      nonFinite[i] = 1;
      nonFiniteCount++;
    }
  }
  // Fail closed: a NaN score compares false with any threshold, so a model with NaN weights would
  // otherwise pass every row as normal.
  const isAnomaly = Array.from(scores, (v, i) => nonFinite[i] === 1 || v > threshold);
  return { scores, isAnomaly, threshold, dropped, nonFinite, nonFiniteCount };
}

/** Throws an InputError naming the first non-finite value's row (1-based) and column. */
function finiteOrThrow(x: Matrix): void {
  for (let k = 0; k < x.data.length; k++) {
    const v = x.data[k];
    if (Number.isFinite(v)) continue;
    const row = Math.floor(k / x.cols) + 1, col = x.names[k % x.cols];
    throw new InputError(
      `row ${row}, column "${col}": expected a finite number, found ${
        Number.isNaN(v) ? "a missing or non-numeric value" : `${v} (outside the 64-bit float range)`
      } (the model has no preprocessing transform to fill it)`,
      { column: col },
    );
  }
}

/**
 * Scores one row. `features`: an object of raw input values keyed by column
 * name, or an array of transformed values in manifest order. `threshold`
 * overrides the model's saved cut.
 */
export async function predict(
  features: Record<string, unknown> | ArrayLike<number>,
  modelPath: string | LoadedModel,
  threshold?: number,
): Promise<Prediction> {
  const r = await predictBatch([features], modelPath, { threshold });
  if (r.dropped[0]) {
    throw new InputError(
      'the row was dropped by the model\'s preprocessing (non-finite values under nanPolicy "drop")',
    );
  }
  return { isAnomaly: r.isAnomaly[0], score: r.scores[0] };
}

/** Forgets cached models (frees tfjs memory). */
export function clearModelCache(): void {
  for (const e of cache.values()) e.model.detector.dispose?.();
  cache.clear();
}
