/**
 * The contract every detector meets (checked by test/detectors/conformance_test.ts).
 *
 * - `fit(x)` learns normal behaviour from benign rows.
 * - `score(x, context?)` returns one score per row, higher = more anomalous,
 *   and never mutates the model.
 * - Streaming detectors also implement `learnOne` / `scoreOne` (NaN while
 *   not ready, e.g. during KitNET's grace period).
 * - `save()` returns JSON-able state plus named binary blobs; the registry's
 *   `load` restores an identical model (same scores).
 *
 * @module
 */
import type { Matrix } from "../data/matrix.ts";

/** Extra per-row information for sequence models (never features). */
export interface ScoreContext {
  /** Group key per row (e.g. source host) for sequence windows. */
  groups?: ArrayLike<string>;
  /** Timestamps per row (ms since epoch) to order rows within a group. */
  timestamps?: ArrayLike<number>;
}

/** Options every `fit` accepts. */
export interface FitOptions {
  /**
   * Called with progress (epoch / total, loss) for progress bars and loss curves; neural detectors also
   * report inside long epochs (fractional `step`, `partial: true`), which per-epoch loss curves skip.
   */
  onProgress?: (
    p: { step: number; total: number; loss?: number; valLoss?: number; partial?: boolean },
  ) => void;
  /** Context for sequence models (same meaning as in {@link ScoreContext}). */
  context?: ScoreContext;
}

/** Serialised model state: `state` goes into the manifest as JSON, `blobs` into files. */
export interface DetectorState {
  state: Record<string, unknown>;
  blobs?: Record<string, Uint8Array>;
}

/** A fitted (or fit-able) anomaly detector. */
export interface Detector {
  /** Registry name, e.g. "knn". */
  readonly name: string;
  /** Validated hyperparameters (defaults filled in). */
  readonly params: Readonly<Record<string, unknown>>;
  /** Number of features the model was fitted on (undefined before fit). */
  readonly nFeatures: number | undefined;
  /** Learns from benign rows. May be async (tfjs). */
  fit(x: Matrix, options?: FitOptions): Promise<void> | void;
  /** One score per row, higher = more anomalous. Must not mutate the model. */
  score(x: Matrix, context?: ScoreContext): Promise<Float64Array> | Float64Array;
  /**
   * Continues training from the fitted state on more benign rows (neural detectors: same scaler or
   * tokenizer, weights trained further). Optional; the `incremental` update policy uses it.
   */
  partialFit?(x: Matrix, options?: FitOptions): Promise<void> | void;
  /** Serialises the fitted model. */
  save(): Promise<DetectorState> | DetectorState;
  /** Frees native/GPU memory (tfjs tensors). Optional. */
  dispose?(): void;
}

/** A detector that also learns and scores one row at a time (KitNET, ...). */
export interface StreamingDetector extends Detector {
  /** Learns from one row (updates the model). */
  learnOne(x: ArrayLike<number>): void;
  /** Scores one row without learning; NaN while not ready. */
  scoreOne(x: ArrayLike<number>): number;
}

/** True when `d` implements the streaming half of the contract. */
export function isStreaming(d: Detector): d is StreamingDetector {
  return typeof (d as StreamingDetector).learnOne === "function" &&
    typeof (d as StreamingDetector).scoreOne === "function";
}

/** Type of one hyperparameter, for validation and `--help`. */
export interface ParamSpec {
  type: "int" | "number" | "string" | "boolean" | "int[]";
  default: unknown;
  description: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /**
   * May change when a fitted model trains further (`nadir train --init`): training knobs and score
   * aggregates. The others fix the fitted model's shape.
   */
  tunable?: boolean;
}

/** A registry entry: how to build and restore a detector. */
export interface DetectorFactory {
  name: string;
  summary: string;
  params: Record<string, ParamSpec>;
  /** Builds an unfitted detector from validated params and a seed. */
  create(params: Record<string, unknown>, seed: number): Detector;
  /** Restores a fitted detector from {@link Detector.save}'s output. */
  load(saved: DetectorState, params: Record<string, unknown>, seed: number): Promise<Detector> | Detector;
  /**
   * Small hyperparameters the conformance suite uses so that every detector
   * fits its synthetic set in a few seconds (merged over the defaults).
   */
  conformanceParams?: Record<string, unknown>;
  /** Compute backend this detector runs on ("js" for plain TypeScript, "tfjs-wasm", ...). */
  backend?: () => string;
}
