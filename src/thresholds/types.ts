/**
 * Threshold strategies are separate from detectors: they are fit on benign
 * (validation) scores only and turn a score into a yes/no alert.
 *
 * @module
 */

/** A fitted threshold. `value` is the cut: score > value ⇒ anomaly. */
export interface Threshold {
  /** Strategy name ("percentile", "fpr", "pot"). */
  readonly strategy: string;
  /** Strategy parameters (e.g. `{ q: 0.99 }`). */
  readonly params: Readonly<Record<string, unknown>>;
  /** The fitted cut-off. */
  readonly value: number;
}

/** Builds a {@link Threshold} from benign scores. */
export interface ThresholdStrategy {
  name: string;
  summary: string;
  fit(benignScores: ArrayLike<number>, params?: Record<string, unknown>): Threshold;
}
