/**
 * KSWIN, Kolmogorov–Smirnov windowing (Raab, Heusinger & Schleif, "Reactive
 * Soft Prototype Computing for Concept Drift Streams", Neurocomputing 416,
 * 2020), as River defines it (`river.drift.KSWIN`).
 *
 * KSWIN keeps the last `windowSize` values Ψ. Once Ψ is full, each update
 * compares R, the `statSize` most recent values, with W, `statSize` values
 * drawn without replacement from the older `windowSize − statSize`, by the
 * two-sample Kolmogorov–Smirnov test (./ks.ts; exact p-value, as River's
 * `scipy.stats.ks_2samp(method="auto")` gives for these sizes). Drift is
 * declared when p ≤ `alpha` and D > 0.1; the window then keeps only R, and, as
 * in River, the next update empties it and restarts the random generator from
 * `seed`.
 *
 * Randomness: W is drawn with the project's seeded generator
 * (src/util/random.ts, xoshiro128**), not Python's Mersenne Twister, so for
 * the same `seed` the draws — and so p-values, and sometimes detection
 * indices — differ from River's. Where the older part of the window holds a
 * single regime (the usual case shortly after an abrupt change) the draw
 * hardly matters: River's documented example is reproduced exactly
 * (test/adapt/kswin_test.ts). River's default seed is None (fresh entropy);
 * here it is 0, so that runs repeat.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KSWIN } from "./kswin.ts";
 * import { Rng } from "../util/random.ts";
 * const rng = new Rng(7);
 * const kswin = new KSWIN({ alpha: 0.0001, seed: 42 });
 * const fired: number[] = [];
 * for (let i = 0; i < 1000; i++) if (kswin.update(i < 500 ? rng.normal() : rng.normal(3))) fired.push(i);
 * assert.equal(fired.length, 1);
 * assert.ok(fired[0] >= 500 && fired[0] < 530, `fired at ${fired[0]}`);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import { ks2Samp } from "./ks.ts";
import { checkOptionNames, numberOption } from "./options.ts";
import { directionOf, type DriftEvent } from "./types.ts";
import { DriftDetectorBase } from "./base.ts";

/** KSWIN's options; names and defaults are River's (except `seed`, see the module notes). */
export interface KSWINOptions {
  /** Significance level of the KS test, in (0, 1); keep it below 0.01. Default 0.005. */
  alpha?: number;
  /** Values kept in the sliding window Ψ. Default 100. */
  windowSize?: number;
  /** Size of R and W; at most windowSize / 2 (W is drawn from the older windowSize − statSize). Default 30. */
  statSize?: number;
  /** Seed of the generator that draws W. Default 0. */
  seed?: number;
  /** Values already collected (oldest first), to avoid a cold start; the last windowSize are kept. */
  window?: ArrayLike<number>;
}

const OPTION_NAMES = ["alpha", "windowSize", "statSize", "seed", "window"] as const;

/** The smallest KS distance KSWIN reports as drift, whatever the p-value (River's constant). */
export const KSWIN_MIN_STATISTIC = 0.1;

/**
 * The KSWIN drift detector.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KSWIN } from "./kswin.ts";
 * const kswin = new KSWIN({ windowSize: 10, statSize: 3, window: [1, 2, 3] });
 * assert.deepEqual(kswin.window, [1, 2, 3]);
 * assert.throws(
 *   () => new KSWIN({ windowSize: 50, statSize: 30 }),
 *   /KSWIN option statSize expects an integer in \[1, 25\], found 30/,
 * );
 * ```
 */
export class KSWIN extends DriftDetectorBase {
  protected readonly label = "KSWIN";
  readonly name = "kswin";
  readonly alpha: number;
  readonly windowSize: number;
  readonly statSize: number;
  readonly seed: number;

  #buf: Float64Array;
  #start = 0;
  #len = 0;
  #rng: Rng;
  #pValue = 0;
  #n = 0;

  constructor(options?: KSWINOptions) {
    super();
    const o = checkOptionNames("KSWIN", options, OPTION_NAMES);
    this.alpha = numberOption("KSWIN", o, "alpha", 0.005, { min: 0, max: 1, minOpen: true, maxOpen: true });
    this.windowSize = numberOption("KSWIN", o, "windowSize", 100, { min: 2, integer: true });
    this.statSize = numberOption("KSWIN", o, "statSize", 30, {
      min: 1,
      max: Math.floor(this.windowSize / 2),
      integer: true,
    });
    this.seed = numberOption("KSWIN", o, "seed", 0, {});
    this.#buf = new Float64Array(this.windowSize);
    this.#rng = new Rng(this.seed);
    const init = o.window;
    if (init !== undefined) {
      if (
        init === null || typeof init !== "object" || typeof (init as ArrayLike<number>).length !== "number"
      ) {
        throw new InputError(`KSWIN option window expects an array of finite numbers, found ${String(init)}`);
      }
      const arr = init as ArrayLike<number>;
      for (let i = 0; i < arr.length; i++) {
        if (typeof arr[i] !== "number" || !Number.isFinite(arr[i])) {
          throw new InputError(
            `KSWIN option window: value ${i} is ${String(arr[i])}, expected a finite number`,
          );
        }
      }
      for (let i = Math.max(0, arr.length - this.windowSize); i < arr.length; i++) this.#push(arr[i]);
    }
  }

  /** The sliding window Ψ, oldest first. */
  get window(): number[] {
    const out = new Array<number>(this.#len);
    for (let i = 0; i < this.#len; i++) out[i] = this.#at(i);
    return out;
  }
  /** p-value of the last KS test (0 before the first, as River's `p_value`). */
  get pValue(): number {
    return this.#pValue;
  }
  /** Values since the window last started (River's `n`). */
  get n(): number {
    return this.#n;
  }

  protected step(v: number, index: number): DriftEvent | undefined {
    this.#n++;
    this.#push(v);
    if (this.#len < this.windowSize) return undefined;
    const older = this.windowSize - this.statSize;
    const picks = this.#rng.sampleIndices(older, this.statSize);
    const sample = new Float64Array(this.statSize);
    for (let i = 0; i < this.statSize; i++) sample[i] = this.#at(picks[i]);
    const recent = new Float64Array(this.statSize);
    for (let i = 0; i < this.statSize; i++) recent[i] = this.#at(older + i);
    const { statistic, pValue } = ks2Samp(sample, recent);
    this.#pValue = pValue;
    if (!(pValue <= this.alpha && statistic > KSWIN_MIN_STATISTIC)) return undefined;
    let olderSum = 0, recentSum = 0;
    for (let i = 0; i < older; i++) olderSum += this.#at(i);
    for (let i = 0; i < this.statSize; i++) recentSum += recent[i];
    const before = { n: older, mean: olderSum / older };
    const after = { n: this.statSize, mean: recentSum / this.statSize };
    const event: DriftEvent = {
      detector: this.name,
      index,
      changeStart: index - this.statSize + 1,
      before,
      after,
      direction: directionOf(before, after),
      statistic,
      threshold: KSWIN_MIN_STATISTIC,
      pValue,
    };
    // River keeps only R until the next update restarts the window.
    this.#start = 0;
    this.#len = 0;
    for (let i = 0; i < this.statSize; i++) this.#push(recent[i]);
    return event;
  }

  #at(i: number): number {
    return this.#buf[(this.#start + i) % this.windowSize];
  }

  #push(v: number): void {
    if (this.#len < this.windowSize) {
      this.#buf[(this.#start + this.#len) % this.windowSize] = v;
      this.#len++;
    } else {
      this.#buf[this.#start] = v;
      this.#start = (this.#start + 1) % this.windowSize;
    }
  }

  /** As in River, a `window` given at construction is not restored. */
  protected restart(): void {
    this.#start = 0;
    this.#len = 0;
    this.#pValue = 0;
    this.#n = 0;
    this.#rng = new Rng(this.seed);
  }
}
