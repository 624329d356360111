/**
 * Preprocessing fit on training data only, saved as JSON, applied unchanged at prediction time and
 * to live flows.
 *
 * Fitting ({@link fitTransform}) does, in this order, on the training frame:
 * 1. drop exact duplicate rows (identical in every feature and in `label`/`attack`; first kept);
 * 2. handle non-finite values (NaN, ±Infinity, nulls) by the named {@link NanPolicy};
 * 3. drop constant columns (one distinct value in the fit data);
 * 4. one-hot encode categorical features, with an `<col>=__unknown__` bucket for values not seen
 *    in training (and for categories beyond `maxCategories`);
 * 5. scale numeric features ({@link ScaleMethod}); one-hot columns stay 0/1.
 *
 * Applying ({@link Transform.apply}) repeats steps 2, 4 and 5 with the fitted parameters; it never
 * drops duplicates and never refits. The same code path serves DataFrames, plain JS records
 * ({@link Transform.transformRows}, {@link Transform.transformRow}) and matrices
 * ({@link Transform.applyToMatrix}), so a live flow is scaled exactly as the training data was.
 *
 * @example Fit on training data, apply to test data
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDataset } from "./datasets.ts";
 * import { labels } from "./frame.ts";
 * import { fitTransform } from "./preprocess.ts";
 * const train = loadDataset("nsl-kdd-train-20").df;
 * const test = loadDataset("nsl-kdd-test-21").df;
 * const { transform, matrix, rows } = fitTransform(train, { scale: "minmax" });
 * const yTrain = labels(train, rows);          // labels aligned with the deduplicated rows
 * const xTest = transform.apply(test);         // same columns, same scaling
 * assert.ok(xTest.cols === matrix.cols && yTrain.length === matrix.rows);
 * ```
 * @example Save, load, and score one live flow
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { fitTransform, Transform } from "./preprocess.ts";
 * const df = pl.DataFrame({ bytes: [10, 20, 30, 40], proto: ["tcp", "udp", "tcp", "tcp"] });
 * const { transform } = fitTransform(df, { features: ["bytes", "proto"], categorical: ["proto"] });
 * const again = Transform.fromJSON(JSON.parse(JSON.stringify(transform.toJSON())));
 * const x = again.transformRow({ bytes: 25, proto: "icmp" }); // icmp → proto=__unknown__
 * assert.ok(x !== null && x.length === again.outputNames.length);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { type Matrix, matrix } from "./matrix.ts";
import { InputError, UsageError } from "../util/errors.ts";
import { categoricalColumns, featureColumns, TARGET_COLUMNS } from "./schema.ts";
import { numericColumn } from "./frame.ts";
import { quantileSorted } from "../util/quantile.ts";

/** How numeric features are scaled. */
export type ScaleMethod = "minmax" | "standard" | "robust" | "none";
/** What happens to NaN, ±Infinity and null in numeric features. */
export type NanPolicy = "error" | "drop" | "zero" | "median";

export const SCALE_METHODS: readonly ScaleMethod[] = ["minmax", "standard", "robust", "none"];
export const NAN_POLICIES: readonly NanPolicy[] = ["error", "drop", "zero", "median"];

/** Options for {@link fitTransform}. */
export interface PreprocessOptions {
  /** Feature columns (default: the frame's feature columns, see {@link featureColumns}). */
  features?: readonly string[];
  /** Named feature set of the frame's schema ("all", "kdd-header"); ignored when `features` is given. */
  featureSet?: string;
  /** Which features are categorical (default: the schema's, or string columns for unknown frames). */
  categorical?: readonly string[];
  /**
   * Scaling, fitted on the training data: "minmax" → (x − min)/(max − min) (default);
   * "standard" → (x − mean)/std (population std); "robust" → (x − median)/IQR, IQR from
   * linearly interpolated quartiles, an IQR of 0 scales by 1 (as scikit-learn does); "none".
   */
  scale?: ScaleMethod;
  /**
   * Clip scaled values at apply time: minmax to [0, 1]; standard/robust to [−clipAt, clipAt]
   * (`clipAt` default 10). Default false: values outside the training range pass through.
   */
  clip?: boolean;
  clipAt?: number;
  /**
   * Non-finite numeric values (NaN, ±Infinity, null): "error" (default: InputError naming row and
   * column), "drop" (drop the row; at apply time use {@link Transform.applyDetailed} to see which
   * rows remain), "zero" (replace by 0), "median" (replace by the training median of the finite values).
   */
  nanPolicy?: NanPolicy;
  /** Drop exact duplicates of the fit data (default true). */
  dropDuplicates?: boolean;
  /** Drop constant columns (default true). */
  dropConstant?: boolean;
  /** At most this many categories per column, the most frequent (default 1000); the rest go to `__unknown__`. */
  maxCategories?: number;
}

/**
 * Row indices of the first occurrence of each distinct combination of `subset`'s values, in row order:
 * the rows a fit keeps when it drops exact duplicates.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { firstOccurrences } from "./preprocess.ts";
 * const df = pl.DataFrame({ a: [1, 2, 1, 3], b: ["x", "y", "x", "x"] });
 * assert.deepEqual(Array.from(firstOccurrences(df, ["a", "b"])), [0, 1, 3]);
 * ```
 */
export function firstOccurrences(df: pl.DataFrame, subset: readonly string[]): Uint32Array {
  const u = df.select(...subset).withRowIndex("__nadir_row").unique({
    subset: [...subset],
    keep: "first",
    maintainOrder: true,
  });
  return Uint32Array.from(u.getColumn("__nadir_row").toArray() as number[]);
}

/** What fitting or applying did. */
export interface TransformReport {
  inputRows: number;
  outputRows: number;
  duplicatesDropped: number;
  nonFiniteRowsDropped: number;
  nonFiniteValuesReplaced: number;
  /** Values of categorical columns that went to the unknown bucket. */
  unknownCategories: number;
  constantColumnsDropped: string[];
  /** Categorical column → number of one-hot columns (including the unknown bucket). */
  oneHot: Record<string, number>;
  outputColumns: number;
}

interface NumericStep {
  name: string;
  /** Value that replaces non-finite input under "median"/"zero". */
  fill: number;
  center: number;
  scale: number;
}

interface CategoricalStep {
  name: string;
  categories: string[];
}

/** The JSON form of a {@link Transform} (`format` and `version` checked on load). */
export interface TransformJSON {
  format: "nadir-transform";
  version: 1;
  scale: ScaleMethod;
  nanPolicy: NanPolicy;
  clip: boolean;
  clipAt: number;
  /** Input features in output order (constant ones excluded). */
  columns: ({ kind: "numeric" } & NumericStep | { kind: "categorical" } & CategoricalStep)[];
  droppedConstant: string[];
  fitReport: TransformReport;
}

/** Which input rows ended up in an output matrix. */
export interface Applied {
  matrix: Matrix;
  /** Input row index of each output row; null when every row was kept in order. */
  rows: Uint32Array | null;
  report: TransformReport;
}

export const UNKNOWN = "__unknown__";
const FORMAT = "nadir-transform";
const VERSION = 1;

/** Column accessors shared by DataFrame, record and matrix inputs. */
interface Source {
  n: number;
  num(name: string): Float64Array;
  cat(name: string): (string | null)[];
  /** Human location of row i for error messages. */
  where(i: number): string;
}

/** A fitted preprocessing transform. Immutable; build with {@link fitTransform} or {@link Transform.fromJSON}. */
export class Transform {
  readonly scale: ScaleMethod;
  readonly nanPolicy: NanPolicy;
  readonly clip: boolean;
  readonly clipAt: number;
  readonly columns: TransformJSON["columns"];
  readonly droppedConstant: readonly string[];
  readonly fitReport: TransformReport;
  /** Names of the output matrix columns. */
  readonly outputNames: readonly string[];
  readonly #catIndex: Map<string, Map<string, number>>;

  constructor(json: TransformJSON) {
    if (json?.format !== FORMAT) {
      throw new InputError(
        `not a nadir transform (format is ${JSON.stringify(json?.format)}, expected "${FORMAT}")`,
      );
    }
    if (json.version !== VERSION) {
      throw new InputError(`transform format version ${json.version} is not supported (expected ${VERSION})`);
    }
    if (!SCALE_METHODS.includes(json.scale)) {
      throw new InputError(`transform has unknown scale "${json.scale}"`);
    }
    if (!NAN_POLICIES.includes(json.nanPolicy)) {
      throw new InputError(`transform has unknown nanPolicy "${json.nanPolicy}"`);
    }
    this.scale = json.scale;
    this.nanPolicy = json.nanPolicy;
    this.clip = json.clip;
    this.clipAt = json.clipAt;
    this.columns = json.columns;
    this.droppedConstant = json.droppedConstant;
    this.fitReport = json.fitReport;
    const names: string[] = [];
    this.#catIndex = new Map();
    for (const c of json.columns) {
      if (c.kind === "numeric") {
        if (![c.fill, c.center, c.scale].every(Number.isFinite) || c.scale === 0) {
          throw new InputError(`transform column "${c.name}" has invalid parameters`);
        }
        names.push(c.name);
      } else {
        const idx = new Map<string, number>();
        c.categories.forEach((v, i) => idx.set(v, i));
        this.#catIndex.set(c.name, idx);
        for (const v of c.categories) names.push(`${c.name}=${v}`);
        names.push(`${c.name}=${UNKNOWN}`);
      }
    }
    this.outputNames = names;
  }

  /** The input columns a frame or record must provide. */
  get inputColumns(): string[] {
    return this.columns.map((c) => c.name);
  }

  /** Applies to a DataFrame and returns the feature matrix (see {@link applyDetailed} for "drop"). */
  apply(df: pl.DataFrame): Matrix {
    return this.applyDetailed(df).matrix;
  }

  /** Applies to a DataFrame; also says which rows were kept. */
  applyDetailed(df: pl.DataFrame): Applied {
    const missing = this.inputColumns.filter((c) => !df.columns.includes(c));
    if (missing.length) {
      // None matching means another dataset or feature set, not a damaged file: say what the frame has.
      const hint = missing.length === this.inputColumns.length
        ? `; the frame has none of them (its columns: ${nameList(df.columns)}): the model was fitted on ` +
          `another dataset or feature set (a \`nadir flows\` file holds several: train with --features ` +
          `basic, cic or kdd to match what you score)`
        : "";
      throw new InputError(
        `frame lacks ${missing.length} of the transform's ${this.inputColumns.length} input columns: ${
          nameList(missing)
        }${hint}`,
      );
    }
    return this.#run({
      n: df.height,
      num: (name) => numericColumn(df, name),
      cat: (name) =>
        (df.getColumn(name).toArray() as unknown[]).map((
          v,
        ) => (v === null || v === undefined ? null : String(v))),
      where: (i) => `row ${i + 1}`,
    });
  }

  /** Applies to plain records (e.g. live flows) and returns the matrix. */
  transformRows(records: readonly Record<string, unknown>[]): Matrix {
    return this.transformRowsDetailed(records).matrix;
  }

  /** Applies to plain records; also says which were kept. */
  transformRowsDetailed(records: readonly Record<string, unknown>[]): Applied {
    for (const c of this.inputColumns) {
      const i = records.findIndex((r) => !(c in r));
      if (i >= 0) throw new InputError(`record ${i} lacks feature "${c}"`, { column: c });
    }
    return this.#run({
      n: records.length,
      num: (name) => Float64Array.from(records, (r, i) => toNumber(r[name], name, i)),
      cat: (name) => records.map((r) => (r[name] === null || r[name] === undefined ? null : String(r[name]))),
      where: (i) => `record ${i}`,
    });
  }

  /**
   * One record → one output row. Returns null when the row is dropped (nanPolicy "drop").
   */
  transformRow(record: Record<string, unknown>): Float64Array | null {
    const r = this.transformRowsDetailed([record]);
    return r.matrix.rows ? r.matrix.data.slice(0, r.matrix.cols) : null;
  }

  /**
   * Applies to a numeric matrix whose `names` include every input column (extra columns are
   * ignored). Only for transforms without categorical columns: use {@link transformRows} otherwise.
   */
  applyToMatrix(m: Matrix): Matrix {
    const cats = this.columns.filter((c) => c.kind === "categorical").map((c) => c.name);
    if (cats.length) {
      throw new UsageError(
        `transform has categorical column(s) ${cats.join(", ")}: use transformRows() or apply() on a frame`,
      );
    }
    const pos = new Map(m.names.map((n, i) => [n, i]));
    const missing = this.inputColumns.filter((c) => !pos.has(c));
    if (missing.length) {
      throw new InputError(
        `matrix lacks the transform's input column(s) ${missing.map((x) => `"${x}"`).join(", ")}`,
      );
    }
    return this.#run({
      n: m.rows,
      num: (name) => {
        const j = pos.get(name)!;
        const out = new Float64Array(m.rows);
        for (let i = 0; i < m.rows; i++) out[i] = m.data[i * m.cols + j];
        return out;
      },
      cat: () => [],
      where: (i) => `row ${i + 1}`,
    }).matrix;
  }

  /**
   * Applies to columns already extracted (numeric as Float64Array, categorical as strings). Used
   * by fitting so that the training matrix comes out of the same code as every later input.
   */
  applyColumns(
    n: number,
    num: ReadonlyMap<string, Float64Array>,
    cat: ReadonlyMap<string, (string | null)[]>,
  ): Applied {
    return this.#run({
      n,
      num: (name) => {
        const v = num.get(name);
        if (!v) throw new InputError(`missing numeric column "${name}"`, { column: name });
        return v;
      },
      cat: (name) => {
        const v = cat.get(name);
        if (!v) throw new InputError(`missing categorical column "${name}"`, { column: name });
        return v;
      },
      where: (i) => `row ${i + 1}`,
    });
  }

  #run(src: Source): Applied {
    const n = src.n;
    const cols = this.outputNames.length;
    // Pass 1: numeric inputs and non-finite handling (may drop rows).
    const numeric = new Map<string, Float64Array>();
    const drop = this.nanPolicy === "drop" ? new Uint8Array(n) : undefined;
    let replaced = 0;
    for (const c of this.columns) {
      if (c.kind !== "numeric") continue;
      const v = src.num(c.name);
      let copied = false;
      let x = v;
      for (let i = 0; i < n; i++) {
        if (Number.isFinite(x[i])) continue;
        if (this.nanPolicy === "error") {
          throw new InputError(
            `non-finite value ${x[i]} at ${src.where(i)} (nanPolicy "error"; choose drop, zero or median)`,
            { column: c.name },
          );
        }
        if (drop) {
          drop[i] = 1;
          continue;
        }
        if (!copied) {
          x = Float64Array.from(v);
          copied = true;
        }
        x[i] = c.fill;
        replaced++;
      }
      numeric.set(c.name, x);
    }
    let keep: Uint32Array | null = null;
    if (drop && drop.some((d) => d === 1)) {
      const idx: number[] = [];
      for (let i = 0; i < n; i++) if (!drop[i]) idx.push(i);
      keep = Uint32Array.from(idx);
    }
    const rows = keep ? keep.length : n;
    const data = new Float64Array(rows * cols);
    let j = 0;
    let unknown = 0;
    const lo = this.scale === "minmax" ? 0 : -this.clipAt;
    const hi = this.scale === "minmax" ? 1 : this.clipAt;
    const clip = this.clip && this.scale !== "none";
    for (const c of this.columns) {
      if (c.kind === "numeric") {
        const x = numeric.get(c.name)!;
        const { center, scale } = c;
        for (let r = 0, k = j; r < rows; r++, k += cols) {
          let y = (x[keep ? keep[r] : r] - center) / scale;
          if (clip) y = y < lo ? lo : y > hi ? hi : y;
          data[k] = y;
        }
        j++;
      } else {
        const values = src.cat(c.name);
        const idx = this.#catIndex.get(c.name)!;
        const width = c.categories.length + 1;
        for (let r = 0, base = j; r < rows; r++, base += cols) {
          const v = values[keep ? keep[r] : r];
          let p = v === null ? undefined : idx.get(v);
          if (p === undefined) {
            p = c.categories.length;
            unknown++;
          }
          data[base + p] = 1;
        }
        j += width;
      }
    }
    const report: TransformReport = {
      inputRows: n,
      outputRows: rows,
      duplicatesDropped: 0,
      nonFiniteRowsDropped: n - rows,
      nonFiniteValuesReplaced: replaced,
      unknownCategories: unknown,
      constantColumnsDropped: [],
      oneHot: Object.fromEntries(
        this.columns.filter((c) => c.kind === "categorical").map((
          c,
        ) => [c.name, (c as CategoricalStep).categories.length + 1]),
      ),
      outputColumns: cols,
    };
    return { matrix: matrix(data, rows, cols, this.outputNames), rows: keep, report };
  }

  /** The JSON form (see {@link TransformJSON}). */
  toJSON(): TransformJSON {
    return {
      format: FORMAT,
      version: VERSION,
      scale: this.scale,
      nanPolicy: this.nanPolicy,
      clip: this.clip,
      clipAt: this.clipAt,
      columns: this.columns,
      droppedConstant: [...this.droppedConstant],
      fitReport: this.fitReport,
    };
  }

  /** Rebuilds a transform from {@link toJSON} output (validated). */
  static fromJSON(json: unknown): Transform {
    return new Transform(json as TransformJSON);
  }

  /** Writes the JSON to `path`. */
  save(path: string): void {
    Deno.writeTextFileSync(path, JSON.stringify(this.toJSON(), null, 1) + "\n");
  }

  /** Reads a transform saved with {@link save}. Corrupt files are InputErrors naming the file. */
  static load(path: string): Transform {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      throw new InputError("transform file not found", { file: path });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new InputError(`not valid JSON (${(e as Error).message})`, { file: path });
    }
    try {
      return Transform.fromJSON(json);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(e.message, { file: path });
      throw e;
    }
  }
}

function nameList(names: readonly string[], max = 6): string {
  const shown = names.slice(0, max).map((m) => `"${m}"`).join(", ");
  return names.length > max ? `${shown}, ... (${names.length - max} more)` : shown;
}

function toNumber(v: unknown, name: string, i: number): number {
  if (typeof v === "number") return v;
  if (v === null || v === undefined) return NaN;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string") {
    const t = v.trim();
    const n = Number(t);
    if (t !== "" && !Number.isNaN(n)) return n;
    if (/^(nan|-?inf(inity)?)$/i.test(t)) {
      return t.toLowerCase().includes("inf") ? (t.startsWith("-") ? -Infinity : Infinity) : NaN;
    }
  }
  throw new InputError(`record ${i}: expected a number, found ${JSON.stringify(v)}`, { column: name });
}

function gather(src: Float64Array, idx: Uint32Array): Float64Array {
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = src[idx[i]];
  return out;
}

/** What {@link fitTransform} returns. */
export interface FitResult {
  transform: Transform;
  /** The training data, transformed (deduplicated; non-finite rows dropped under "drop"). */
  matrix: Matrix;
  /** Training-frame row index of each matrix row (align labels with `labels(df, rows)`). */
  rows: Uint32Array;
  report: TransformReport;
}

/**
 * Fits a {@link Transform} on training data and returns it with the transformed training matrix.
 * Only the training frame is looked at; apply the result to test data with `transform.apply(df)`.
 */
export function fitTransform(train: pl.DataFrame, options: PreprocessOptions = {}): FitResult {
  const scale = options.scale ?? "minmax";
  const nanPolicy = options.nanPolicy ?? "error";
  if (!SCALE_METHODS.includes(scale)) {
    throw new UsageError(`scale must be one of ${SCALE_METHODS.join(", ")}, found "${scale}"`);
  }
  if (!NAN_POLICIES.includes(nanPolicy)) {
    throw new UsageError(`nanPolicy must be one of ${NAN_POLICIES.join(", ")}, found "${nanPolicy}"`);
  }
  const features = options.features
    ? [...options.features]
    : featureColumns(train, options.featureSet ?? "all");
  if (!features.length) throw new InputError("no feature columns to fit on");
  const missing = features.filter((f) => !train.columns.includes(f));
  if (missing.length) {
    throw new InputError(`training frame lacks feature column(s) ${missing.map((m) => `"${m}"`).join(", ")}`);
  }
  const leaks = features.filter((f) => (TARGET_COLUMNS as readonly string[]).includes(f));
  if (leaks.length) throw new UsageError(`target column(s) ${leaks.join(", ")} cannot be features`);
  const categorical = new Set(options.categorical ?? categoricalColumns(train, features));
  if (train.height === 0) throw new InputError("training frame has no rows");

  // 1. Exact duplicates (features + targets), first occurrence kept, order preserved.
  let rows: Uint32Array;
  if (options.dropDuplicates ?? true) {
    const subset = [
      ...features,
      ...TARGET_COLUMNS.filter((t) => t !== "category" && train.columns.includes(t)),
    ];
    rows = firstOccurrences(train, subset);
  } else {
    rows = Uint32Array.from({ length: train.height }, (_, i) => i);
  }
  const duplicatesDropped = train.height - rows.length;

  // 2. Numeric columns at the kept rows; non-finite rows under "drop".
  const numCols = features.filter((f) => !categorical.has(f));
  const values = new Map<string, Float64Array>();
  for (const f of numCols) {
    const all = numericColumn(train, f);
    values.set(f, gather(all, rows));
  }
  let nonFiniteRowsDropped = 0;
  if (nanPolicy === "error") {
    for (const f of numCols) {
      const v = values.get(f)!;
      const i = v.findIndex((x) => !Number.isFinite(x));
      if (i >= 0) {
        throw new InputError(
          `non-finite value ${v[i]} in training row ${
            rows[i] + 1
          } (nanPolicy "error"; choose drop, zero or median)`,
          { column: f },
        );
      }
    }
  } else if (nanPolicy === "drop") {
    const bad = new Uint8Array(rows.length);
    for (const f of numCols) {
      values.get(f)!.forEach((x, i) => {
        if (!Number.isFinite(x)) bad[i] = 1;
      });
    }
    const keep: number[] = [];
    bad.forEach((b, i) => {
      if (!b) keep.push(i);
    });
    if (keep.length !== rows.length) {
      nonFiniteRowsDropped = rows.length - keep.length;
      const k = Uint32Array.from(keep);
      rows = Uint32Array.from(k, (i) => rows[i]);
      for (const f of numCols) values.set(f, gather(values.get(f)!, k));
    }
  }
  if (rows.length === 0) {
    throw new InputError("no training rows left after dropping duplicates and non-finite rows");
  }

  // 3–5. Per-column parameters.
  const columns: TransformJSON["columns"] = [];
  const droppedConstant: string[] = [];
  const maxCats = options.maxCategories ?? 1000;
  const catValues = new Map<string, (string | null)[]>();
  for (const f of features) {
    if (categorical.has(f)) {
      const all = train.getColumn(f).toArray() as unknown[];
      const v = new Array<string | null>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const x = all[rows[i]];
        v[i] = x === null || x === undefined ? null : typeof x === "string" ? x : String(x);
      }
      catValues.set(f, v);
      const counts = new Map<string, number>();
      for (const x of v) if (x !== null) counts.set(x, (counts.get(x) ?? 0) + 1);
      const distinct = counts.size + (v.includes(null) ? 1 : 0);
      if ((options.dropConstant ?? true) && distinct <= 1) {
        droppedConstant.push(f);
        continue;
      }
      const cats = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, maxCats).map((
        e,
      ) => e[0]).sort();
      columns.push({ kind: "categorical", name: f, categories: cats });
      continue;
    }
    const v = values.get(f)!;
    // One pass for min/max/mean of the finite values; sorting only when a quantile is needed.
    let min = Infinity, max = -Infinity, nFinite = 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x - x !== 0) continue; // NaN or ±Infinity
      if (x < min) min = x;
      if (x > max) max = x;
      nFinite++;
    }
    const hasNonFinite = nFinite !== v.length;
    const needSorted = (nanPolicy === "median" && hasNonFinite) || scale === "robust";
    let finiteSorted: Float64Array | undefined;
    if (needSorted) {
      finiteSorted = new Float64Array(nFinite);
      for (let i = 0, k = 0; i < v.length; i++) if (v[i] - v[i] === 0) finiteSorted[k++] = v[i];
      finiteSorted.sort();
    }
    const fill = nanPolicy === "median" && hasNonFinite
      ? (nFinite ? quantileSorted(finiteSorted!, 0.5) : 0)
      : 0;
    if (nFinite === 0) min = max = fill;
    const lo = hasNonFinite ? Math.min(min, fill) : min;
    const hi = hasNonFinite ? Math.max(max, fill) : max;
    if ((options.dropConstant ?? true) && lo === hi) {
      droppedConstant.push(f);
      continue;
    }
    let center = 0;
    let s = 1;
    if (scale === "minmax") {
      center = lo;
      s = hi - lo || 1;
    } else if (scale === "standard") {
      // Statistics over the values as the model will see them (non-finite replaced by fill).
      let mean = 0;
      for (let i = 0; i < v.length; i++) mean += ((v[i] - v[i] === 0 ? v[i] : fill) - mean) / (i + 1);
      let ss = 0;
      for (let i = 0; i < v.length; i++) ss += ((v[i] - v[i] === 0 ? v[i] : fill) - mean) ** 2;
      center = mean;
      s = Math.sqrt(ss / v.length) || 1;
    } else if (scale === "robust") {
      const filled = hasNonFinite
        ? Float64Array.from(v, (x) => (x - x === 0 ? x : fill)).sort()
        : finiteSorted!;
      center = quantileSorted(filled, 0.5);
      s = quantileSorted(filled, 0.75) - quantileSorted(filled, 0.25) || 1;
    }
    columns.push({ kind: "numeric", name: f, fill, center, scale: s });
  }
  if (!columns.length) {
    throw new InputError(
      `every feature is constant in the training data (${droppedConstant.length} dropped)`,
    );
  }

  const fitReport: TransformReport = {
    inputRows: train.height,
    outputRows: rows.length,
    duplicatesDropped,
    nonFiniteRowsDropped,
    nonFiniteValuesReplaced: 0,
    unknownCategories: 0,
    constantColumnsDropped: droppedConstant,
    oneHot: {},
    outputColumns: 0,
  };
  const json: TransformJSON = {
    format: FORMAT,
    version: VERSION,
    scale,
    nanPolicy,
    clip: options.clip ?? false,
    clipAt: options.clipAt ?? 10,
    columns,
    droppedConstant,
    fitReport,
  };
  // The training matrix goes through the same path as any later input.
  const provisional = new Transform(json);
  const applied = provisional.applyColumns(rows.length, values, catValues);
  Object.assign(fitReport, {
    nonFiniteValuesReplaced: applied.report.nonFiniteValuesReplaced,
    oneHot: applied.report.oneHot,
    outputColumns: applied.report.outputColumns,
  });
  const transform = new Transform(json);
  return { transform, matrix: applied.matrix, rows, report: fitReport };
}

/** Options for {@link preprocess_data}: the fit options plus where data comes from and goes. */
export interface PreprocessDataOptions extends PreprocessOptions {
  /**
   * Dataset name or family of the input ("nsl-kdd", "kdd99", "cic-ids2017", "unsw-nb15", or a name
   * such as "nsl-kdd-train"); default: detected from the file (see {@link loadTable}).
   */
  schema?: string;
  /** Fit on this file (or dataset name) instead of the input; the input is then only transformed. */
  fitOn?: string;
  /** Apply this saved transform (path or object) instead of fitting. */
  transform?: string | Transform;
  /** Save the fitted transform as JSON here. */
  saveTransform?: string;
  /** Output format; default from the output extension (.parquet/.pq → parquet, else csv). */
  format?: "csv" | "parquet";
  /** Append the label/attack/category columns of the kept rows (default true). */
  keepTargets?: boolean;
  /**
   * Read a CSV input this many rows at a time and write each chunk's rows before reading on (CSV output
   * only; a transform to apply, or --fit-on, is needed: fitting sees all its rows at once). Default:
   * 100,000 for CSV files over 64 MiB (src/data/stream.ts), 0 = the whole file.
   */
  batchRows?: number;
}

/** What {@link preprocess_data} did. */
export interface PreprocessDataResult {
  input: string;
  output: string;
  rows: number;
  columns: number;
  /** True when the transform was fitted in this call. */
  fitted: boolean;
  /** Where the transform was fitted (a path/dataset name), or the transform file applied. */
  fitOn: string;
  fitReport: TransformReport;
  applyReport: TransformReport;
  transform: Transform;
}

/**
 * The seed API: reads `inputPath` (a file, directory or dataset name), fits a transform on the
 * training data (`options.fitOn`, or the input itself) or loads one (`options.transform`), applies
 * it, and writes features (+ label, attack, category) to `outputPath` as CSV or Parquet.
 *
 * When the input is its own training data, the output holds the deduplicated training rows.
 *
 * @example
 * ```ts ignore
 * import { preprocess_data } from "./preprocess.ts";
 * const r = await preprocess_data("data/nsl-kdd/KDDTest+.txt.gz", "/tmp/test.parquet", {
 *   fitOn: "nsl-kdd-train", saveTransform: "/tmp/nsl.transform.json", scale: "standard",
 * });
 * console.log(r.rows, r.columns, r.fitReport.duplicatesDropped);
 * ```
 */
export async function preprocess_data(
  inputPath: string,
  outputPath: string,
  options: PreprocessDataOptions = {},
): Promise<PreprocessDataResult> {
  const { isParquetPath, loadTable } = await import("./table.ts");
  const format = options.format ?? (isParquetPath(outputPath) ? "parquet" : "csv");
  if (format !== "csv" && format !== "parquet") {
    throw new UsageError(`format must be csv or parquet, found "${format}"`);
  }
  const { isBigCsv, isBigParquet } = await import("./stream.ts");
  const batchRows = options.batchRows ?? (isBigCsv(inputPath) || isBigParquet(inputPath) ? 100_000 : 0);
  if (!(Number.isInteger(batchRows) && batchRows >= 0)) {
    throw new UsageError(`batch rows must be an integer ≥ 0, found ${batchRows}`);
  }
  if (batchRows > 0) return await preprocessChunked(inputPath, outputPath, format, batchRows, options);
  const input = await loadTable(inputPath, options.schema);
  let transform: Transform;
  let fitReport: TransformReport;
  let applied: Applied;
  let fitted: boolean;
  let fitOn: string;
  const given = await givenTransform(options);
  if (given) {
    ({ transform, fitReport, fitted, fitOn } = given);
    applied = transform.applyDetailed(input);
  } else {
    const fit = fitTransform(input, options);
    transform = fit.transform;
    fitReport = fit.report;
    applied = { matrix: fit.matrix, rows: fit.rows, report: { ...fit.report } };
    fitted = true;
    fitOn = inputPath;
  }
  if (options.saveTransform) transform.save(options.saveTransform);
  const out = matrixToFrame(applied.matrix);
  let frame = out;
  if (options.keepTargets ?? true) frame = withTargets(out, input, applied.rows);
  try {
    if (format === "parquet") frame.writeParquet(outputPath, { compression: "zstd" });
    else frame.writeCSV(outputPath);
  } catch (e) {
    throw new InputError(`cannot write ${format}: ${(e as Error).message}`, { file: outputPath });
  }
  return {
    input: inputPath,
    output: outputPath,
    rows: applied.matrix.rows,
    columns: applied.matrix.cols,
    fitted,
    fitOn,
    fitReport,
    applyReport: applied.report,
    transform,
  };
}

/**
 * {@link preprocess_data} over a CSV read in chunks: the transform (given, or fitted on `fitOn`) is
 * applied to each chunk and its rows appended to the CSV output, so memory holds one chunk.
 */
async function preprocessChunked(
  inputPath: string,
  outputPath: string,
  format: "csv" | "parquet",
  batchRows: number,
  options: PreprocessDataOptions,
): Promise<PreprocessDataResult> {
  const { tableFrames } = await import("./stream.ts");
  const whole = "read the whole file with --batch-rows 0 (it needs ~3.5× its size in memory)";
  if (!options.transform && !options.fitOn) {
    throw new UsageError(
      `fitting sees all its rows at once: fit on a sample or a smaller file (--fit-on TRAIN) or a saved ` +
        `transform (--transform FILE) and apply it to ${inputPath} chunk by chunk, or ${whole}`,
    );
  }
  const { transform, fitReport, fitted, fitOn } = (await givenTransform(options))!;
  if (options.saveTransform) transform.save(options.saveTransform);
  let sum: TransformReport | undefined;
  const out = await ChunkWriter.open(outputPath, format);
  let columns = 0;
  try {
    for await (const f of tableFrames(inputPath, { schema: options.schema, rowsPerChunk: batchRows })) {
      let applied: Applied;
      try {
        applied = transform.applyDetailed(f.df);
      } catch (e) {
        throw f.relocate(e);
      }
      const r = applied.report;
      if (!sum) sum = { ...r };
      else {
        for (
          const k of [
            "inputRows",
            "outputRows",
            "duplicatesDropped",
            "nonFiniteRowsDropped",
            "nonFiniteValuesReplaced",
            "unknownCategories",
          ] as const
        ) sum[k] += r[k];
      }
      columns = applied.matrix.cols;
      let frame = matrixToFrame(applied.matrix);
      if (options.keepTargets ?? true) frame = withTargets(frame, f.df, applied.rows);
      await out.write(frame, f.rowsBefore === 0);
    }
    await out.close(true);
  } finally {
    await out.close(false); // after an error: nothing is left at the output path
  }
  return {
    input: inputPath,
    output: outputPath,
    rows: sum?.outputRows ?? 0,
    columns,
    fitted,
    fitOn,
    fitReport,
    applyReport: sum ?? { ...fitReport, inputRows: 0, outputRows: 0 },
    transform,
  };
}

/**
 * Appends preprocessed chunks to one output: CSV through polars (each chunk via a scratch file, the header
 * once), or Parquet through nadir's streaming writer (src/flows/parquet_sink.ts), in row groups of 65,536 rows.
 * Written to `<path>.partial` and renamed over `path` only once every chunk is in: a run that failed half
 * way (a bad row in a late chunk) had left a valid Parquet file of the first chunks, exit 1 aside.
 */
class ChunkWriter {
  #file?: Deno.FsFile;
  #tmp?: string;
  #parquet?: import("../flows/parquet_sink.ts").ParquetFileSink;
  #frames?: typeof import("../flows/batch_sink.ts");
  #names: string[] = [];
  #closed = false;
  private constructor(readonly path: string, readonly format: "csv" | "parquet") {}

  get #partial(): string {
    return `${this.path}.partial`;
  }

  static async open(path: string, format: "csv" | "parquet"): Promise<ChunkWriter> {
    const w = new ChunkWriter(path, format);
    try {
      if (format === "csv") {
        w.#file = await Deno.open(w.#partial, { write: true, create: true, truncate: true });
        w.#tmp = await Deno.makeTempFile({ prefix: "nadir-preprocess-", suffix: ".csv" });
      } else {
        const { ParquetFileSink } = await import("../flows/parquet_sink.ts");
        w.#parquet = new ParquetFileSink(w.#partial);
        w.#frames = await import("../flows/batch_sink.ts");
      }
    } catch (e) {
      throw new InputError(`cannot write ${format}: ${(e as Error).message}`, { file: path });
    }
    return w;
  }

  async write(frame: pl.DataFrame, first: boolean): Promise<void> {
    if (this.#file) {
      frame.writeCSV(this.#tmp!, { includeHeader: first });
      const bytes = await Deno.readFile(this.#tmp!);
      for (let off = 0; off < bytes.length;) off += await this.#file.write(bytes.subarray(off));
      return;
    }
    const sink = this.#parquet!;
    const { frameColumns, writeFrame } = this.#frames!;
    if (first) {
      this.#names = frame.columns;
      sink.header(frameColumns(frame));
    } else if (frame.columns.join("\0") !== this.#names.join("\0")) {
      throw new InputError(`a chunk's columns differ from the first chunk's: ${frame.columns.join(", ")}`, {
        file: this.path,
      });
    }
    writeFrame(sink, frame);
  }

  /** Finishes the file (`ok`: renamed over the output) or drops it; only the first call counts. */
  async close(ok: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#file) {
        this.#file.close();
        await Deno.remove(this.#tmp!).catch(() => {});
      } else await this.#parquet?.close();
    } catch (e) {
      if (ok) throw e;
    }
    if (ok) await Deno.rename(this.#partial, this.path);
    else await Deno.remove(this.#partial).catch(() => {});
  }
}

/**
 * The transform `options` give: a saved one to apply, or one fitted on `fitOn`; undefined when neither
 * (the input is the training data).
 */
async function givenTransform(
  options: PreprocessDataOptions,
): Promise<{ transform: Transform; fitReport: TransformReport; fitted: boolean; fitOn: string } | undefined> {
  if (options.transform && options.fitOn) {
    throw new UsageError("give either a transform to apply or data to fit on, not both");
  }
  if (options.transform) {
    const t = typeof options.transform === "string" ? Transform.load(options.transform) : options.transform;
    const fitOn = typeof options.transform === "string" ? options.transform : "(transform object)";
    return { transform: t, fitReport: t.fitReport, fitted: false, fitOn };
  }
  if (!options.fitOn) return undefined;
  const { loadTable } = await import("./table.ts");
  const fit = fitTransform(await loadTable(options.fitOn, options.schema), options);
  return { transform: fit.transform, fitReport: fit.report, fitted: true, fitOn: options.fitOn };
}

/** `out` with the target columns (label, attack, category) of `input`'s kept `rows` (null: all) appended. */
function withTargets(out: pl.DataFrame, input: pl.DataFrame, rows: Uint32Array | null): pl.DataFrame {
  const targets = TARGET_COLUMNS.filter((t) => input.columns.includes(t));
  if (!targets.length) return out;
  let t = input.select(...targets);
  if (rows) t = t.select(pl.all().gather(Array.from(rows)));
  return out.hstack(t);
}

/** camelCase alias of {@link preprocess_data}. */
export const preprocessData: typeof preprocess_data = preprocess_data;

/** A matrix as a DataFrame with one float64 column per matrix column. */
export function matrixToFrame(m: Matrix): pl.DataFrame {
  const cols: pl.Series[] = [];
  for (let j = 0; j < m.cols; j++) {
    const v = new Float64Array(m.rows);
    for (let i = 0, k = j; i < m.rows; i++, k += m.cols) v[i] = m.data[k];
    cols.push(pl.Series(m.names[j], v));
  }
  return pl.DataFrame(cols);
}
