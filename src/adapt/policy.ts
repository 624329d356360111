/**
 * Model update policies and their guard rails (issue 15, scope 2): what a
 * deployed detector may learn from the traffic it scores.
 *
 * - `frozen`: never updates (what every detector did before).
 * - `sliding`: refits on a window of recent traffic it scored as benign — the
 *   pool keeps its capacity, the oldest rows leave first.
 * - `incremental`: the pool only grows (no forgetting); a refit sees the
 *   training rows and everything accepted since.
 * - `on-drift`: like `sliding`, but refits only after a drift detector fired
 *   on the score stream.
 *
 * Guard rails against an attacker who teaches the model slowly: a row is
 * learned only if it scored at or below `acceptQuantile` of the benign
 * calibration scores — a margin under the alert threshold, which sits higher
 * — only if it raised no alert and no analyst called it an attack, and at
 * most `maxPerUpdate` rows per update (a seeded sample, so a flood cannot
 * replace the pool in one step). Rows an analyst confirmed as false
 * positives bypass the margin: that is what the feedback is for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptRows, BenignPool } from "./policy.ts";
 * import { Rng } from "../util/random.ts";
 * const scores = new Float64Array([0.1, 0.5, 0.2, 0.9]);
 * const alerted = new Uint8Array([0, 0, 0, 1]);
 * // Below the cut 0.3 and not alerted: rows 0 and 2.
 * assert.deepEqual([...acceptRows(scores, alerted, 0.3, 10, new Rng(1))], [0, 2]);
 * const pool = new BenignPool(2, 3); // 2 columns, room for 3 rows
 * pool.add(new Float64Array([1, 1, 2, 2, 3, 3, 4, 4]));
 * assert.deepEqual([...pool.matrix().data], [2, 2, 3, 3, 4, 4]); // the oldest row left
 * ```
 * @module
 */
import { type Matrix, matrix } from "../data/matrix.ts";
import type { Rng } from "../util/random.ts";

/** The update policies, by name. */
export const UPDATE_POLICIES = ["frozen", "sliding", "incremental", "on-drift"] as const;
/** One of {@link UPDATE_POLICIES}. */
export type UpdatePolicy = typeof UPDATE_POLICIES[number];

/** Guard rails of every updating policy. */
export interface GuardRails {
  /** Learn only rows scoring at or below this quantile of the benign calibration scores (default 0.9). */
  acceptQuantile: number;
  /** At most this many rows learned per update (default 2000). */
  maxPerUpdate: number;
}

/** The defaults of {@link GuardRails}. */
export const DEFAULT_GUARD_RAILS: Readonly<GuardRails> = { acceptQuantile: 0.9, maxPerUpdate: 2000 };

/** Checks a policy name, naming the valid ones when it is not one. */
export function checkPolicy(name: string): UpdatePolicy {
  if (!(UPDATE_POLICIES as readonly string[]).includes(name)) {
    throw new RangeError(`update policy: expected one of ${UPDATE_POLICIES.join(", ")}, found "${name}"`);
  }
  return name as UpdatePolicy;
}

/**
 * Rows a model may learn from one window: score ≤ `cut`, no alert, not
 * excluded (`alerted[i]` non-zero excludes row i — alerts and rows an
 * analyst called attacks alike), then at most `max` of them, a seeded sample
 * kept in stream order.
 */
export function acceptRows(
  scores: ArrayLike<number>,
  alerted: ArrayLike<number>,
  cut: number,
  max: number,
  rng: Rng,
): Int32Array {
  const ok: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!alerted[i] && scores[i] <= cut) ok.push(i);
  if (ok.length <= max) return Int32Array.from(ok);
  // Partial Fisher–Yates: `max` distinct rows, uniformly, then back in stream order.
  for (let i = 0; i < max; i++) {
    const j = i + rng.int(ok.length - i);
    [ok[i], ok[j]] = [ok[j], ok[i]];
  }
  return Int32Array.from(ok.slice(0, max)).sort();
}

/**
 * The rows a model refits on: its training rows first, then accepted
 * traffic. With a `capacity` the oldest rows leave first (sliding); without
 * one the pool only grows (incremental).
 */
export class BenignPool {
  readonly cols: number;
  readonly capacity: number;
  #data: Float64Array;
  #start = 0;
  #rows = 0;

  /** A pool of rows with `cols` values each; `capacity` rows at most (Infinity: unbounded). */
  constructor(cols: number, capacity = Infinity) {
    if (!(cols > 0) || !(capacity > 0)) {
      throw new RangeError(`BenignPool: expected cols > 0 and capacity > 0, found ${cols} and ${capacity}`);
    }
    this.cols = cols;
    this.capacity = capacity;
    this.#data = new Float64Array(cols * Math.min(capacity, 1024));
  }

  /** Rows in the pool. */
  get size(): number {
    return this.#rows;
  }

  /** Appends row-major `rows` (a multiple of `cols` values); drops the oldest beyond the capacity. */
  add(rows: Float64Array): void {
    const c = this.cols;
    if (rows.length % c) {
      throw new RangeError(`BenignPool.add: ${rows.length} values is not a multiple of ${c}`);
    }
    let n = rows.length / c;
    if (n >= this.capacity) {
      rows = rows.subarray((n - this.capacity) * c);
      n = this.capacity;
      this.#start = this.#rows = 0;
    }
    const over = this.#rows + n - this.capacity;
    if (over > 0) {
      this.#start += over;
      this.#rows -= over;
    }
    const need = (this.#start + this.#rows + n) * c;
    if (need > this.#data.length) {
      // Compact (drop the rows that left) and grow geometrically.
      const live = this.#data.subarray(this.#start * c, (this.#start + this.#rows) * c);
      const next = new Float64Array(Math.max(need - this.#start * c, 2 * live.length, 1024 * c));
      next.set(live);
      this.#data = next;
      this.#start = 0;
    }
    this.#data.set(rows, (this.#start + this.#rows) * c);
    this.#rows += n;
  }

  /** The pool as a matrix (a copy), oldest row first. */
  matrix(names?: readonly string[]): Matrix {
    const c = this.cols;
    return matrix(this.#data.slice(this.#start * c, (this.#start + this.#rows) * c), this.#rows, c, names);
  }
}

/**
 * An analyst's budget: the feedback oracle answers for at most `share` of the
 * alerts raised so far (whole alerts, carried over between windows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FeedbackBudget } from "./policy.ts";
 * const b = new FeedbackBudget(0.01);
 * assert.equal(b.allow(150), 1); // 1.5 earned, 1 spent
 * assert.equal(b.allow(50), 1); // 2.0 earned in all
 * assert.equal(b.used, 2);
 * ```
 */
export class FeedbackBudget {
  readonly share: number;
  #alerts = 0;
  #used = 0;

  constructor(share: number) {
    if (!(share >= 0 && share <= 1)) {
      throw new RangeError(`feedback budget: expected a share in [0, 1], found ${share}`);
    }
    this.share = share;
  }

  /** Answers used so far. */
  get used(): number {
    return this.#used;
  }

  /** After a window with `alerts` alerts: how many of them the analyst may answer now. */
  allow(alerts: number): number {
    this.#alerts += alerts;
    const n = Math.max(0, Math.floor(this.share * this.#alerts + 1e-9) - this.#used);
    this.#used += n;
    return n;
  }
}
