/**
 * The contract every drift detector in src/adapt/ keeps, and the event it
 * reports. A detector watches one numeric stream (a detector's scores, one
 * flow feature, a per-window false-positive rate): each {@link DriftDetector.update}
 * takes the next value and says whether the stream's distribution changed now.
 *
 * As in River, a detector that signalled drift starts afresh on its next
 * update (its window or cumulative statistics are dropped), so one change
 * in the stream gives one event, not a run of them.
 *
 * @module
 */

/** Count and mean of a stretch of the stream. `mean` is NaN when `n` is 0. */
export interface WindowStats {
  n: number;
  mean: number;
}

/** What a detector reports when it fires; plain JSON (no NaN when both stretches are non-empty). */
export interface DriftEvent {
  /** Detector name: "adwin", "page-hinkley" or "kswin". */
  detector: string;
  /**
   * 0-based position, in the stream given to this detector since it was built
   * or last {@link DriftDetector.reset}, of the value whose update fired.
   */
  index: number;
  /** Estimated position of the first value of the new regime (≤ index). */
  changeStart: number;
  /** The stretch before the change (what the detector compared against). */
  before: WindowStats;
  /** The stretch after the change. */
  after: WindowStats;
  /** "up"/"down": the mean rose/fell; "none": equal means (a change of shape only). */
  direction: "up" | "down" | "none";
  /** The test statistic that crossed its bound (ADWIN |Δmean|, Page-Hinkley PH_t, KSWIN's D). */
  statistic: number;
  /** The bound it crossed (ADWIN ε_cut, Page-Hinkley λ, KSWIN 0.1 with p ≤ α). */
  threshold: number;
  /** KSWIN only: the two-sample Kolmogorov–Smirnov p-value. */
  pValue?: number;
}

/** A drift detector over one numeric stream. */
export interface DriftDetector {
  /** "adwin", "page-hinkley" or "kswin". */
  readonly name: string;
  /**
   * Feeds the next value; true when drift is detected at this value. A value
   * that is not a finite number throws an InputError and leaves the state as it was.
   */
  update(x: number): boolean;
  /** Whether the last update detected drift. */
  readonly driftDetected: boolean;
  /** The most recent drift, if any since construction or {@link reset}. */
  readonly lastDrift: DriftEvent | undefined;
  /** Values seen since construction or {@link reset}. */
  readonly seen: number;
  /** Drifts detected since construction or {@link reset}. */
  readonly detections: number;
  /** Back to the state of a new detector with the same options. */
  reset(): void;
}

/** Direction of a change from the means of the stretches before and after it. */
export function directionOf(before: WindowStats, after: WindowStats): "up" | "down" | "none" {
  if (after.mean > before.mean) return "up";
  if (after.mean < before.mean) return "down";
  return "none";
}
