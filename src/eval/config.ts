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
  if (!Array.isArray(o.seeds) || !o.seeds.length || !o.seeds.every((s) => Number.isInteger(s))) {
    throw bad(`field "seeds" must be a non-empty array of integers, found ${JSON.stringify(o.seeds)}`);
  }
  return o as unknown as ExperimentConfig;
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
