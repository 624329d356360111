/**
 * The Page-Hinkley test (Page, "Continuous Inspection Schemes", Biometrika
 * 1954; Hinkley, "Inference about the change-point from cumulative sum
 * tests", Biometrika 1971) as River defines it (`river.drift.PageHinkley`):
 * a CUSUM of deviations from the running mean, with a fading factor.
 *
 * With x̄_t the mean of the values so far (this one included),
 *
 *   U_t = α U_{t−1} + (x_t − x̄_t − δ)      (U_0 = 0)  increases
 *   L_t = α L_{t−1} + (x_t − x̄_t + δ)      (L_0 = 0)  decreases
 *
 * and, once at least `minInstances` values were seen, drift is declared when
 *
 *   up:   U_t − min_{s≤t} U_s > λ          down: max_{s≤t} L_s − L_t > λ
 *
 * (`mode` "both" tests either). δ is the magnitude of change tolerated, λ the
 * threshold, α the forgetting factor (1 = none). As in River the running
 * maximum of L starts at −1, not −∞: L_1 = δ ≥ 0 replaces it at once.
 *
 * The change point is estimated as Hinkley does: the value after the one at
 * which U reached its minimum (L its maximum); {@link DriftEvent.before} and
 * {@link DriftEvent.after} are the stretches either side of it. As in River,
 * the update after a detection starts the statistics afresh.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PageHinkley } from "./page_hinkley.ts";
 * const ph = new PageHinkley({ minInstances: 1, delta: 0.5, threshold: 1, alpha: 1 });
 * assert.deepEqual([0, 0, 4].map((x) => ph.update(x)), [false, false, true]);
 * assert.equal(ph.lastDrift!.direction, "up");
 * assert.deepEqual(ph.lastDrift!.before, { n: 2, mean: 0 });
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import { checkOptionNames, numberOption } from "./options.ts";
import type { DriftEvent, WindowStats } from "./types.ts";
import { DriftDetectorBase } from "./base.ts";

/** Which changes Page-Hinkley looks for. */
export type PageHinkleyMode = "both" | "up" | "down";

/** Page-Hinkley's options; names and defaults are River's. */
export interface PageHinkleyOptions {
  /** No detection before this many values. Default 30. */
  minInstances?: number;
  /** Magnitude of change tolerated, δ ≥ 0. Default 0.005. */
  delta?: number;
  /** Detection threshold λ > 0. Default 50. */
  threshold?: number;
  /** Forgetting factor α in (0, 1]. Default 1 − 0.0001. */
  alpha?: number;
  /** "up" (increases), "down" (decreases) or "both". Default "both". */
  mode?: PageHinkleyMode;
}

const OPTION_NAMES = ["minInstances", "delta", "threshold", "alpha", "mode"] as const;
const MODES: readonly PageHinkleyMode[] = ["both", "up", "down"];

/**
 * The Page-Hinkley drift detector.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PageHinkley } from "./page_hinkley.ts";
 * const ph = new PageHinkley({ mode: "down" });
 * for (let i = 0; i < 500; i++) assert.equal(ph.update(i < 250 ? 10 : 10.5), false); // a rise
 * let at = -1;
 * for (let i = 500; at < 0 && i < 1000; i++) if (ph.update(0)) at = i;
 * assert.equal(ph.lastDrift!.direction, "down");
 * assert.ok(at > 500 && at < 520, `fired at ${at}`);
 * assert.throws(() => new PageHinkley({ mode: "sideways" as "up" }), /mode expects one of "both", "up", "down"/);
 * ```
 */
export class PageHinkley extends DriftDetectorBase {
  protected readonly label = "PageHinkley";
  readonly name = "page-hinkley";
  readonly minInstances: number;
  readonly delta: number;
  readonly threshold: number;
  readonly alpha: number;
  readonly mode: PageHinkleyMode;

  #n = 0;
  #mean = 0;
  #sum = 0;
  #up = 0;
  #down = 0;
  #minUp = Infinity;
  #maxDown = -1;
  /** Values seen (and their sum) when U reached its minimum / L its maximum. */
  #minUpAt = { n: 0, sum: 0 };
  #maxDownAt = { n: 0, sum: 0 };

  constructor(options?: PageHinkleyOptions) {
    super();
    const o = checkOptionNames("PageHinkley", options, OPTION_NAMES);
    this.minInstances = numberOption("PageHinkley", o, "minInstances", 30, { min: 1, integer: true });
    this.delta = numberOption("PageHinkley", o, "delta", 0.005, { min: 0 });
    this.threshold = numberOption("PageHinkley", o, "threshold", 50, { min: 0, minOpen: true });
    this.alpha = numberOption("PageHinkley", o, "alpha", 1 - 0.0001, { min: 0, max: 1, minOpen: true });
    const mode = o.mode ?? "both";
    if (!MODES.includes(mode as PageHinkleyMode)) {
      throw new InputError(
        `PageHinkley option mode expects one of ${MODES.map((m) => `"${m}"`).join(", ")}, found ${
          typeof mode === "string" ? `"${mode}"` : String(mode)
        }`,
      );
    }
    this.mode = mode as PageHinkleyMode;
  }

  /** Values since the statistics last started (construction, reset() or the update after a drift). */
  get n(): number {
    return this.#n;
  }
  /** Running mean x̄_t. */
  get mean(): number {
    return this.#mean;
  }
  /** PH statistic for increases, U_t − min U (0 before the first value). */
  get statisticUp(): number {
    return this.#n === 0 ? 0 : this.#up - this.#minUp;
  }
  /** PH statistic for decreases, max L − L_t (0 before the first value). */
  get statisticDown(): number {
    return this.#n === 0 ? 0 : this.#maxDown - this.#down;
  }

  protected step(v: number, index: number): DriftEvent | undefined {
    this.#n++;
    this.#mean += (1 / this.#n) * (v - this.#mean);
    this.#sum += v;
    const dev = v - this.#mean;
    this.#up = this.alpha * this.#up + dev - this.delta;
    this.#down = this.alpha * this.#down + dev + this.delta;
    if (this.#up < this.#minUp) {
      this.#minUp = this.#up;
      this.#minUpAt = { n: this.#n, sum: this.#sum };
    }
    if (this.#down > this.#maxDown) {
      this.#maxDown = this.#down;
      this.#maxDownAt = { n: this.#n, sum: this.#sum };
    }
    if (this.#n < this.minInstances) return undefined;
    const up = this.#up - this.#minUp, down = this.#maxDown - this.#down;
    const upFires = this.mode !== "down" && up > this.threshold;
    const downFires = this.mode !== "up" && down > this.threshold;
    if (!upFires && !downFires) return undefined;
    const isUp = upFires && (!downFires || up >= down);
    const at = isUp ? this.#minUpAt : this.#maxDownAt;
    const before: WindowStats = { n: at.n, mean: at.n ? at.sum / at.n : NaN };
    const rest = this.#n - at.n;
    const after: WindowStats = { n: rest, mean: rest ? (this.#sum - at.sum) / rest : NaN };
    return {
      detector: this.name,
      index,
      changeStart: index - rest + 1,
      before,
      after,
      direction: isUp ? "up" : "down",
      statistic: isUp ? up : down,
      threshold: this.threshold,
    };
  }

  protected restart(): void {
    this.#n = 0;
    this.#mean = 0;
    this.#sum = 0;
    this.#up = 0;
    this.#down = 0;
    this.#minUp = Infinity;
    this.#maxDown = -1;
    this.#minUpAt = { n: 0, sum: 0 };
    this.#maxDownAt = { n: 0, sum: 0 };
  }
}
