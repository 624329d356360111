/**
 * What every drift detector shares: the drift flag, the counts, the last
 * event, the check of each value, and River's restart on the update after a
 * drift (one change gives one event). A detector supplies `step` (take one
 * value, say whether and how drift shows at it) and `restart` (forget its
 * window or statistics).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DriftDetectorBase } from "./base.ts";
 * import type { DriftEvent } from "./types.ts";
 * // Fires when a value exceeds the running maximum by more than 10.
 * class Jump extends DriftDetectorBase {
 *   readonly name = "jump";
 *   protected readonly label = "Jump";
 *   #max = -Infinity;
 *   protected step(v: number, index: number): DriftEvent | undefined {
 *     const fired = this.#max > -Infinity && v > this.#max + 10; // never on the first value
 *     this.#max = Math.max(this.#max, v);
 *     if (!fired) return undefined;
 *     const s = { n: 1, mean: v };
 *     return { detector: this.name, index, changeStart: index, before: s, after: s, direction: "up", statistic: v, threshold: 10 };
 *   }
 *   protected restart(): void {
 *     this.#max = -Infinity;
 *   }
 * }
 * const j = new Jump();
 * assert.deepEqual([1, 2, 30, 31].map((x) => j.update(x)), [false, false, true, false]);
 * assert.equal(j.detections, 1);
 * assert.throws(() => j.update(NaN), /Jump\.update: the value at index 4 is NaN/);
 * ```
 * @module
 */
import { finiteValue } from "./options.ts";
import type { DriftDetector, DriftEvent } from "./types.ts";

/** Base of ADWIN, Page-Hinkley and KSWIN: the bookkeeping around one `step` per value. */
export abstract class DriftDetectorBase implements DriftDetector {
  abstract readonly name: string;
  /** How errors name the detector ("ADWIN", "PageHinkley", ...). */
  protected abstract readonly label: string;
  #drift = false;
  #seen = 0;
  #detections = 0;
  #last: DriftEvent | undefined;

  get driftDetected(): boolean {
    return this.#drift;
  }
  get lastDrift(): DriftEvent | undefined {
    return this.#last;
  }
  get seen(): number {
    return this.#seen;
  }
  get detections(): number {
    return this.#detections;
  }

  /** Back to a new detector's state. */
  reset(): void {
    this.restart();
    this.#drift = false;
    this.#seen = 0;
    this.#detections = 0;
    this.#last = undefined;
  }

  update(x: number): boolean {
    const v = finiteValue(this.label, x, this.#seen);
    if (this.#drift) {
      this.restart();
      this.#drift = false;
    }
    const event = this.step(v, this.#seen++);
    this.#drift = event !== undefined;
    if (event) {
      this.#detections++;
      this.#last = event;
    }
    return this.#drift;
  }

  /** Takes value `v`, the `index`-th since construction or reset; the event when drift shows at it. */
  protected abstract step(v: number, index: number): DriftEvent | undefined;

  /** Forgets the window or statistics (on the update after a drift, and on reset). */
  protected abstract restart(): void;
}
