/**
 * The typed experiment config: `experiments/<id>.ts` default-exports one.
 *
 * @example
 * ```ts
 * import { defineExperiment } from "./config.ts";
 * export default defineExperiment({
 *   id: "nsl-kdd-knn",
 *   protocol: "nsl-kdd",
 *   detector: "knn",
 *   params: { k: 1 },
 *   threshold: { strategy: "percentile", params: { q: 0.99 } },
 *   seeds: [0],
 * });
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";

/** Preprocessing options handed to src/data's preprocess (fit on training rows only). */
export interface PreprocessOptions {
  /** Feature scaling. Default "minmax". */
  scale?: "minmax" | "standard" | "robust" | "none";
  /** Inf/NaN handling. */
  nanPolicy?: string;
  /** Signed log sign(x)·ln(1+|x|) of numeric features before scaling (src/eval/prep.ts). Default false. */
  log1p?: boolean;
  /** Drop constant columns (of the training rows). Default true. */
  dropConstant?: boolean;
  /** Other preprocess options passed through unchanged. */
  [key: string]: unknown;
}

/** Threshold strategy and its parameters (fit on benign validation scores only). */
export interface ThresholdConfig {
  /** "percentile", "fpr", "pot" (src/thresholds). */
  strategy: string;
  params?: Record<string, unknown>;
}

/** The `search` block of an experiment config. */
export interface SearchConfig {
  /** Candidate values per detector parameter; the grid is their product. */
  params?: Record<string, unknown[]>;
  /** Candidate preprocessing overrides, each merged over the config's `preprocess`. */
  preprocess?: Partial<PreprocessOptions>[];
  /** The seed the search's split and fits use (default: the config's first seed). */
  seed?: number;
  /** Cap on the rows each candidate fits on (seeded sample; default: all), to keep big grids affordable. */
  maxFitRows?: number;
  /**
   * Candidate threshold parameters (each merged over `threshold.params`, e.g. `[{ q: 0.95 }, { q: 0.99 }]`),
   * ranked by balanced accuracy on a labelled selection set with the chosen model. The threshold is
   * still fit on each seed's benign validation scores; only its parameter is chosen here. Needs a
   * protocol whose training file carries attack labels (nsl-kdd, unsw-nb15).
   */
  threshold?: Record<string, unknown>[];
}

/** Checks a config's `search` block and says what is wrong. */
export function validateSearch(s: unknown, file: string): SearchConfig {
  const bad = (msg: string) => new InputError(`field "search": ${msg}`, { file });
  if (typeof s !== "object" || s === null || Array.isArray(s)) {
    throw bad(
      `expected { params?, preprocess?, threshold?, seed?, maxFitRows? }, found ${JSON.stringify(s)}`,
    );
  }
  const o = s as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["params", "preprocess", "seed", "maxFitRows", "threshold"].includes(k)) {
      throw bad(`unknown key "${k}"`);
    }
  }
  if (o.params !== undefined) {
    if (typeof o.params !== "object" || o.params === null) throw bad("params must map names to value lists");
    for (const [k, v] of Object.entries(o.params)) {
      if (!Array.isArray(v) || v.length === 0) {
        throw bad(`params.${k} must be a non-empty list of candidate values, found ${JSON.stringify(v)}`);
      }
    }
  }
  if (o.preprocess !== undefined && (!Array.isArray(o.preprocess) || o.preprocess.length === 0)) {
    throw bad(`preprocess must be a non-empty list of overrides, found ${JSON.stringify(o.preprocess)}`);
  }
  // An empty list had ended in "Cannot read properties of undefined (reading 'params')".
  if (
    o.threshold !== undefined &&
    (!Array.isArray(o.threshold) || o.threshold.length === 0 ||
      o.threshold.some((t) => typeof t !== "object" || t === null || Array.isArray(t)))
  ) {
    throw bad(
      `threshold must be a non-empty list of parameter objects, found ${JSON.stringify(o.threshold)}`,
    );
  }
  if (o.seed !== undefined && !Number.isInteger(o.seed)) {
    throw bad(`seed must be an integer, found ${o.seed}`);
  }
  if (o.maxFitRows !== undefined && !(Number.isInteger(o.maxFitRows) && (o.maxFitRows as number) > 0)) {
    throw bad(`maxFitRows must be a positive integer, found ${o.maxFitRows}`);
  }
  return o as SearchConfig;
}

/** An experiment. */
export interface ExperimentConfig {
  /** Results go to results/<id>/. Lower-case letters, digits, '-' and '.'. */
  id: string;
  description?: string;
  /** Protocol name (src/eval/protocols.ts). */
  protocol: string;
  /** Detector name (src/detectors/registry.ts). */
  detector: string;
  /**
   * Names a variant of the (protocol, detector) pair, e.g. "log1p". `compare` keeps variants in
   * separate rows (it never picks between them), shown as `knn [log1p]`.
   */
  variant?: string;
  /** Detector hyperparameters. */
  params?: Record<string, unknown>;
  /** Named feature set of the dataset schema. Default "all". */
  features?: string;
  preprocess?: PreprocessOptions;
  threshold: ThresholdConfig;
  /** One run per seed (split, init and sampling all follow the seed). */
  seeds: number[];
  /** Fraction of normal training rows held out for the threshold (protocol default otherwise). */
  validationFraction?: number;
  /** Dataset paths for protocols whose files are not vendored (unsw-nb15). */
  paths?: Record<string, string>;
  /**
   * Model selection without test labels (src/eval/search.ts): candidate parameter values and
   * preprocessing, ranked on rows the protocol allows before the seeds run with the winner.
   */
  search?: SearchConfig;
  /** What `--quick` changes: fewer rows, cheaper params, fewer seeds. */
  quick?: { maxRows?: number; params?: Record<string, unknown>; seeds?: number[] };
}

/** Identity helper that gives configs their type. */
export function defineExperiment(c: ExperimentConfig): ExperimentConfig {
  return c;
}

/** Checks a loaded config and says exactly what is wrong. */
export function validateConfig(c: unknown, file = "config"): ExperimentConfig {
  const bad = (msg: string) => new InputError(msg, { file });
  if (typeof c !== "object" || c === null) {
    throw bad("expected the module to default-export an ExperimentConfig object");
  }
  const o = c as Record<string, unknown>;
  for (const k of ["id", "protocol", "detector"]) {
    if (typeof o[k] !== "string" || !o[k]) {
      throw bad(`field "${k}" must be a non-empty string, found ${JSON.stringify(o[k])}`);
    }
  }
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(o.id as string)) {
    throw bad(`field "id" must match [a-z0-9][a-z0-9.-]*, found "${o.id}"`);
  }
  const t = o.threshold as Record<string, unknown> | undefined;
  if (!t || typeof t.strategy !== "string") throw bad(`field "threshold" must be { strategy, params? }`);
  seedList(o.seeds, "seeds", bad);
  // A misspelt key was ignored: "paramz" ran the defaults, "maxrows" the default 2000 rows.
  unknownKeys(o, CONFIG_KEYS, "", bad);
  for (const k of ["description", "variant", "features"]) {
    if (o[k] !== undefined && typeof o[k] !== "string") {
      throw bad(`field "${k}" must be a string, found ${JSON.stringify(o[k])}`);
    }
  }
  for (const k of ["params", "paths"]) {
    if (o[k] !== undefined && !isObject(o[k])) {
      throw bad(`field "${k}" must be an object, found ${JSON.stringify(o[k])}`);
    }
  }
  if (o.paths !== undefined) {
    for (const [k, v] of Object.entries(o.paths as object)) {
      if (typeof v !== "string") {
        throw bad(`field "paths.${k}" must be a file path, found ${JSON.stringify(v)}`);
      }
    }
  }
  const vf = o.validationFraction;
  // -0.2 had held out 80 % of the normal rows; 1.5 and 0 failed later without naming the field.
  if (vf !== undefined && !(typeof vf === "number" && vf > 0 && vf < 1)) {
    throw bad(`field "validationFraction" must be a number in (0, 1), found ${JSON.stringify(vf)}`);
  }
  if (o.preprocess !== undefined) {
    const p = o.preprocess;
    if (!isObject(p)) throw bad(`field "preprocess" must be an object, found ${JSON.stringify(p)}`);
    unknownKeys(p, PREPROCESS_KEYS, "preprocess.", bad);
    for (const k of ["log1p", "dropConstant", "dropDuplicates", "clip"]) {
      if (p[k] !== undefined && typeof p[k] !== "boolean") {
        throw bad(`field "preprocess.${k}" must be true or false, found ${JSON.stringify(p[k])}`);
      }
    }
  }
  if (o.quick !== undefined) {
    const q = o.quick;
    if (!isObject(q)) throw bad(`field "quick" must be an object, found ${JSON.stringify(q)}`);
    unknownKeys(q, ["maxRows", "params", "seeds"], "quick.", bad);
    // -10 had kept 2 test rows and recorded F1 = AUROC = 1.000; 0 ran the whole data as "quick".
    if (q.maxRows !== undefined && !(Number.isInteger(q.maxRows) && (q.maxRows as number) >= 1)) {
      throw bad(`field "quick.maxRows" must be an integer ≥ 1, found ${JSON.stringify(q.maxRows)}`);
    }
    if (q.params !== undefined && !isObject(q.params)) {
      throw bad(`field "quick.params" must be an object, found ${JSON.stringify(q.params)}`);
    }
    if (q.seeds !== undefined) seedList(q.seeds, "quick.seeds", bad);
  }
  if (o.search !== undefined) validateSearch(o.search, file);
  return o as unknown as ExperimentConfig;
}

const CONFIG_KEYS = [
  "id",
  "description",
  "protocol",
  "detector",
  "variant",
  "params",
  "features",
  "preprocess",
  "threshold",
  "seeds",
  "validationFraction",
  "paths",
  "search",
  "quick",
];
/** What the runner's preprocessing reads (src/eval/prep.ts, src/data/preprocess.ts). */
const PREPROCESS_KEYS = [
  "scale",
  "nanPolicy",
  "log1p",
  "dropConstant",
  "dropDuplicates",
  "clip",
  "clipAt",
  "maxCategories",
  "categorical",
];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unknownKeys(o: object, known: readonly string[], prefix: string, bad: (m: string) => Error): void {
  const k = Object.keys(o).find((k) => !known.includes(k));
  if (k !== undefined) {
    throw bad(`unknown field "${prefix}${k}" (expected one of ${known.map((n) => prefix + n).join(", ")})`);
  }
}

/** A non-empty list of distinct integers: a seed given twice had counted as two runs (± 0.000 over "2 seeds"). */
function seedList(v: unknown, field: string, bad: (m: string) => Error): void {
  if (!Array.isArray(v) || !v.length || !v.every((s) => Number.isInteger(s))) {
    throw bad(`field "${field}" must be a non-empty array of integers, found ${JSON.stringify(v)}`);
  }
  const twice = v.find((s, i) => v.indexOf(s) !== i);
  if (twice !== undefined) throw bad(`field "${field}" lists seed ${twice} twice`);
}

/** Loads `experiments/<id>.ts` (any module path) and validates its default export. */
export async function loadConfig(path: string): Promise<ExperimentConfig> {
  const { toFileUrl, resolve } = await import("node:path").then((p) => ({
    resolve: p.resolve,
    toFileUrl: (x: string) => new URL("file://" + x),
  }));
  let mod: { default?: unknown };
  try {
    mod = await import(toFileUrl(resolve(path)).href);
  } catch (e) {
    throw new InputError(`cannot load experiment config (${(e as Error).message.split("\n")[0]})`, {
      file: path,
    });
  }
  return validateConfig(mod.default, path);
}
