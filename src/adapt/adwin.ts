/**
 * ADWIN, adaptive windowing (Bifet & Gavaldà, "Learning from Time-Changing
 * Data with Adaptive Windowing", SIAM SDM 2007), as River defines it
 * (`river.drift.ADWIN`, the ADWIN2 variant with an exponential histogram).
 *
 * The detector keeps a window W of recent values, compressed into buckets:
 * row k of the histogram holds up to `maxBuckets` buckets of 2^k values each
 * (their sum and their sum of squared deviations); when a row overflows, its
 * two oldest buckets merge into one bucket of the next row. Every `clock`
 * values, once the window holds more than `gracePeriod` values, it tries each
 * bucket boundary as a cut W = W0 · W1 (W0 older, n0 and n1 values, both
 * ≥ `minWindowLength`, m = 1/(n0 − minWindowLength + 1) + 1/(n1 − minWindowLength + 1))
 * and declares a change when
 *
 *   |mean(W0) − mean(W1)| > ε = √(2 m σ² δ') + (2/3) δ' m,   δ' = ln(2 ln|W| / δ),
 *
 * σ² being the population variance of the whole window. On a change it drops
 * the oldest bucket and tries every cut again, until none fires. The
 * (2/3) δ' m term is Bernstein's bound for values in [0, 1] and is not
 * rescaled (River does not either): on a stream with a small spread it makes
 * ADWIN slow to fire, so scale such streams to about [0, 1].
 *
 * As River does, an update that follows a detection first empties the
 * window, so one change gives one event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ADWIN } from "./adwin.ts";
 * import { Rng } from "../util/random.ts";
 * const rng = new Rng(1);
 * const adwin = new ADWIN();
 * const fired: number[] = [];
 * for (let i = 0; i < 2000; i++) {
 *   if (adwin.update(i < 1000 ? rng.int(2) : 4 + rng.int(4))) fired.push(i);
 * }
 * assert.equal(fired.length, 1);
 * assert.ok(fired[0] >= 1000 && fired[0] < 1064);
 * assert.ok(adwin.lastDrift!.before.mean < 1 && adwin.lastDrift!.after.mean > 4);
 * ```
 * @module
 */
import { checkOptionNames, numberOption } from "./options.ts";
import { directionOf, type DriftEvent } from "./types.ts";
import { DriftDetectorBase } from "./base.ts";

/** ADWIN's options; names and defaults are River's. */
export interface ADWINOptions {
  /** Significance value δ in (0, 1); smaller means fewer false alarms and later detection. Default 0.002. */
  delta?: number;
  /** Test for a change every `clock` values (1 = after every value). Default 32. */
  clock?: number;
  /** Buckets per row of the exponential histogram before two merge. Default 5. */
  maxBuckets?: number;
  /** Shortest sub-window a cut may leave on either side. Default 5. */
  minWindowLength?: number;
  /** No test until the window holds more than this many values. Default 10. */
  gracePeriod?: number;
}

const OPTION_NAMES = ["delta", "clock", "maxBuckets", "minWindowLength", "gracePeriod"] as const;

/** One row of the histogram: up to maxBuckets + 1 buckets of 2^row values, oldest first. */
class Row {
  total: Float64Array;
  m2: Float64Array;
  count = 0;
  constructor(capacity: number) {
    this.total = new Float64Array(capacity);
    this.m2 = new Float64Array(capacity);
  }
  push(total: number, m2: number): void {
    this.total[this.count] = total;
    this.m2[this.count] = m2;
    this.count++;
  }
  /** Drops the `k` oldest buckets. */
  shift(k: number): void {
    this.total.copyWithin(0, k, this.count);
    this.m2.copyWithin(0, k, this.count);
    this.count -= k;
    this.total.fill(0, this.count);
    this.m2.fill(0, this.count);
  }
}

/**
 * The ADWIN drift detector.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ADWIN } from "./adwin.ts";
 * const adwin = new ADWIN({ clock: 1 });
 * for (const x of [1, 2, 3, 4]) adwin.update(x);
 * assert.equal(adwin.width, 4);
 * assert.equal(adwin.estimation, 2.5);
 * assert.equal(adwin.variance, 1.25);
 * assert.throws(() => new ADWIN({ delta: 2 }), /ADWIN option delta expects a number in \(0, 1\), found 2/);
 * ```
 */
export class ADWIN extends DriftDetectorBase {
  protected readonly label = "ADWIN";
  readonly name = "adwin";
  readonly delta: number;
  readonly clock: number;
  readonly maxBuckets: number;
  readonly minWindowLength: number;
  readonly gracePeriod: number;

  #rows: Row[] = [];
  #width = 0;
  #total = 0;
  /** Sum of squared deviations from the window mean (River's `variance` attribute). */
  #m2 = 0;
  #tick = 0;

  constructor(options?: ADWINOptions) {
    super();
    const o = checkOptionNames("ADWIN", options, OPTION_NAMES);
    this.delta = numberOption("ADWIN", o, "delta", 0.002, { min: 0, max: 1, minOpen: true, maxOpen: true });
    this.clock = numberOption("ADWIN", o, "clock", 32, { min: 1, integer: true });
    this.maxBuckets = numberOption("ADWIN", o, "maxBuckets", 5, { min: 1, integer: true });
    this.minWindowLength = numberOption("ADWIN", o, "minWindowLength", 5, { min: 1, integer: true });
    this.gracePeriod = numberOption("ADWIN", o, "gracePeriod", 10, { min: 0, integer: true });
    this.restart();
  }

  /** Number of values in the window. */
  get width(): number {
    return this.#width;
  }
  /** Sum of the values in the window. */
  get total(): number {
    return this.#total;
  }
  /** Mean of the window (0 when empty, as River's `estimation`). */
  get estimation(): number {
    return this.#width === 0 ? 0 : this.#total / this.#width;
  }
  /**
   * Population variance of the window (0 when empty). River's `variance`
   * attribute is the sum of squared deviations, i.e. `width` times this.
   */
  get variance(): number {
    return this.#width === 0 ? 0 : this.#m2 / this.#width;
  }
  /** Buckets in each row of the histogram, row k holding 2^k values per bucket. */
  get bucketCounts(): number[] {
    return this.#rows.map((r) => r.count);
  }

  protected step(v: number, index: number): DriftEvent | undefined {
    this.#insert(v);
    const widthBefore = this.#width, totalBefore = this.#total;
    const cut = this.#detect();
    if (!cut) return undefined;
    const dropped = widthBefore - this.#width;
    const before = { n: dropped, mean: (totalBefore - this.#total) / dropped };
    const after = { n: this.#width, mean: this.#total / this.#width };
    return {
      detector: this.name,
      index,
      changeStart: index - this.#width + 1,
      before,
      after,
      direction: directionOf(before, after),
      statistic: cut.statistic,
      threshold: cut.threshold,
    };
  }

  protected restart(): void {
    this.#rows = [new Row(this.maxBuckets + 1)];
    this.#width = 0;
    this.#total = 0;
    this.#m2 = 0;
    this.#tick = 0;
  }

  #insert(v: number): void {
    this.#rows[0].push(v, 0);
    this.#width += 1;
    if (this.#width > 1) {
      const d = v - this.#total / (this.#width - 1);
      this.#m2 += ((this.#width - 1) * d * d) / this.#width;
    }
    this.#total += v;
    this.#compress();
  }

  /** Merges the two oldest buckets of every overflowing row into the next row. */
  #compress(): void {
    for (let r = 0; r < this.#rows.length; r++) {
      const row = this.#rows[r];
      if (row.count !== this.maxBuckets + 1) break;
      if (r + 1 === this.#rows.length) this.#rows.push(new Row(this.maxBuckets + 1));
      const next = this.#rows[r + 1];
      const size = 2 ** r;
      const d = row.total[0] / size - row.total[1] / size;
      next.push(row.total[0] + row.total[1], row.m2[0] + row.m2[1] + (size * d * d) / 2);
      row.shift(2);
      if (next.count <= this.maxBuckets) break;
    }
  }

  /** Removes the oldest bucket; returns how many values it held. */
  #dropOldest(): number {
    const r = this.#rows.length - 1;
    const row = this.#rows[r];
    const n = 2 ** r, u = row.total[0], v = row.m2[0];
    this.#width -= n;
    this.#total -= u;
    const d = u / n - this.#total / this.#width;
    this.#m2 -= v + (n * this.#width * d * d) / (n + this.#width);
    row.shift(1);
    if (row.count === 0) this.#rows.pop();
    return n;
  }

  /** Runs the cut test when the clock says so; the first cut that fired, if any. */
  #detect(): { statistic: number; threshold: number } | undefined {
    this.#tick++;
    if (this.#tick % this.clock !== 0 || this.#width <= this.gracePeriod) return undefined;
    let first: { statistic: number; threshold: number } | undefined;
    let again = true;
    while (again) {
      again = false;
      let n0 = 0, n1 = this.#width, u0 = 0, u1 = this.#total;
      scan: for (let r = this.#rows.length - 1; r >= 0; r--) {
        const row = this.#rows[r];
        const size = 2 ** r;
        for (let k = 0; k < row.count; k++) {
          n0 += size;
          n1 -= size;
          u0 += row.total[k];
          u1 -= row.total[k];
          if (r === 0 && k === row.count - 1) break scan; // W1 would be empty
          if (n0 < this.minWindowLength || n1 < this.minWindowLength) continue;
          const diff = Math.abs(u0 / n0 - u1 / n1);
          const eps = this.#epsilon(n0, n1);
          if (diff > eps) {
            first ??= { statistic: diff, threshold: eps };
            this.#dropOldest();
            again = true;
            break scan;
          }
        }
      }
    }
    return first;
  }

  /** ε_cut for sub-windows of n0 and n1 values (NaN, never exceeded, when δ' < 0). */
  #epsilon(n0: number, n1: number): number {
    const deltaPrime = Math.log((2 * Math.log(this.#width)) / this.delta);
    const m = 1 / (n0 - this.minWindowLength + 1) + 1 / (n1 - this.minWindowLength + 1);
    const variance = this.#m2 / this.#width;
    return Math.sqrt(2 * m * variance * deltaPrime) + (2 / 3) * deltaPrime * m;
  }
}
