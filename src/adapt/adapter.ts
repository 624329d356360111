/**
 * One deployed model under an update policy (src/adapt/policy.ts): the
 * detector, its threshold, the rows it may refit on and the rows that
 * calibrate its threshold. The drift protocol's replay (src/eval/adaptation.ts)
 * and the live monitor (src/serve/adaptation.ts) drive the same object, so
 * what the experiment measured is what the sensor does.
 *
 * - **Calibration.** The threshold is refit on held-out benign rows, never on
 *   rows the detector was fit on (a kNN scores its own training rows 0). A
 *   tenth of the rows each update accepts (seeded) joins the calibration set
 *   instead of the pool.
 * - **Margin.** A row is learned only if it scored at or below
 *   `acceptQuantile` of the calibration scores (the `cut`), raised no alert,
 *   and was not confirmed as an attack; at most `maxPerUpdate` per update.
 * - **Feedback.** Rows an analyst confirmed as false positives bypass the
 *   margin. Confirmed attacks are kept: after every refit the threshold stays
 *   below the lowest of their scores, but never below the cut, so one
 *   low-scoring attack cannot open the gates.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelAdapter } from "./adapter.ts";
 * import { createDetector } from "../detectors/registry.ts";
 * import { matrix } from "../data/matrix.ts";
 * import { Rng } from "../util/random.ts";
 * const grid = (n: number, off: number) => matrix(Float64Array.from({ length: n }, (_, i) => off + i / n), n, 1);
 * const a = await ModelAdapter.start({
 *   policy: "sliding",
 *   create: () => createDetector("knn", { k: 1 }, 0),
 *   threshold: { strategy: "percentile", params: { q: 0.99 } },
 *   names: ["x"],
 *   rng: new Rng(1),
 * }, grid(200, 0), grid(50, 0.005));
 * const before = a.threshold;
 * // The traffic moved a little: new rows just above the old range.
 * const x = grid(400, 0.5);
 * const scores = await a.detector.score(x);
 * const r = await a.update(x, scores, new Uint8Array(400));
 * assert.ok(r.learned > 0 && a.updates === 1);
 * assert.ok(a.threshold > 0 && before > 0);
 * a.dispose();
 * ```
 * @module
 */
import { concatRows, type Matrix, takeRows } from "../data/matrix.ts";
import { loadDetector } from "../detectors/registry.ts";
import { type Detector, isStreaming, type StreamingDetector } from "../detectors/types.ts";
import { fitThreshold } from "../thresholds/index.ts";
import { quantileSorted } from "../util/quantile.ts";
import type { Rng } from "../util/random.ts";
import {
  acceptRows,
  BenignPool,
  checkPolicy,
  DEFAULT_GUARD_RAILS,
  type GuardRails,
  type UpdatePolicy,
} from "./policy.ts";

/** What {@link ModelAdapter.start} needs. */
export interface ModelAdapterOptions {
  policy: UpdatePolicy;
  /** A fresh, unfitted detector (same name, params and seed as the deployed one). */
  create: () => Detector;
  /** How the threshold is fit on the calibration scores. */
  threshold: { strategy: string; params?: Record<string, unknown> };
  /** Feature names, in the detector's column order. */
  names: readonly string[];
  guard?: Partial<GuardRails>;
  /** Pool capacity in rows for sliding and on-drift (default: the initial fit rows, at least 1000). */
  capacity?: number;
  /** Calibration capacity in rows for sliding and on-drift (default: the initial calibration rows, at least 200). */
  calibrationCapacity?: number;
  /** Share of accepted rows that calibrate instead of being learned (default 0.1). */
  calibrationShare?: number;
  /** No refit until the pool holds this many rows (default 1): a pool started empty fills first. */
  minPoolRows?: number;
  /**
   * Called with the detector a refit replaced (default: disposes it). A live sensor may still be
   * scoring a batch with it and disposes it once that settles.
   */
  retire?: (old: Detector) => void;
  /** The detectors' seed (a streaming detector's copy is loaded with it). Default 0. */
  seed?: number;
  /** Draws the guard rails' samples and the calibration split; the caller may share it. */
  rng: Rng;
  /**
   * A detector already fit on the fit rows (a loaded model): start() then only calibrates. With
   * `threshold` too, the calibration scores only set the cut; the threshold is kept until the first refit.
   */
  fitted?: { detector: Detector; threshold?: number };
}

/** What one {@link ModelAdapter.update} did. */
export interface UpdateResult {
  /** Window rows learned (accepted by the guard rails, then confirmed false positives), window order. */
  learnedRows: number[];
  /** Rows learned (accepted and confirmed false positives). */
  learned: number;
  /** Accepted rows that joined the calibration set. */
  calibrated: number;
  /** The detector and threshold were refit. */
  refit: boolean;
}

function sortedCopy(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a).sort();
}

/** See the module doc. */
export class ModelAdapter {
  readonly policy: UpdatePolicy;
  readonly guard: GuardRails;
  readonly names: readonly string[];
  /** Rows the detector refits on, oldest first. */
  readonly pool: BenignPool;
  /** Held-out benign rows the threshold is fit on. */
  readonly calibration: BenignPool;
  /** Rows an analyst confirmed as attacks. */
  readonly attacks: BenignPool;
  #o: ModelAdapterOptions;
  #detector!: Detector;
  #threshold = NaN;
  #cut = NaN;
  #calScores: Float64Array = new Float64Array(0);
  /** Refits so far. */
  updates = 0;

  private constructor(o: ModelAdapterOptions, fitRows: number, calRows: number) {
    this.policy = checkPolicy(o.policy);
    this.guard = { ...DEFAULT_GUARD_RAILS, ...o.guard };
    const share = o.calibrationShare ?? 0.1;
    if (!(share >= 0 && share < 1)) {
      throw new RangeError(`adapter: calibrationShare must be in [0, 1), found ${share}`);
    }
    this.names = o.names;
    this.#o = o;
    const cols = o.names.length;
    const grows = this.policy === "incremental";
    this.pool = new BenignPool(cols, grows ? Infinity : o.capacity ?? Math.max(fitRows, 1000));
    this.calibration = new BenignPool(
      cols,
      grows ? Infinity : o.calibrationCapacity ?? Math.max(calRows, 200),
    );
    this.attacks = new BenignPool(cols);
  }

  /**
   * Fits the detector on `fit` (unless `o.fitted` gives one) and calibrates on `calibration`; both
   * start the pools. Either may have no rows when a deployed model's rows were not kept: the pool
   * then fills from traffic, and nothing is learned until the calibration set has rows to set the cut.
   */
  static async start(o: ModelAdapterOptions, fit: Matrix, calibration: Matrix): Promise<ModelAdapter> {
    for (const [what, m] of [["fit", fit], ["calibration", calibration]] as const) {
      if (m.cols !== o.names.length) {
        throw new RangeError(`adapter: ${what} rows have ${m.cols} columns, the model has ${o.names.length}`);
      }
    }
    const a = new ModelAdapter(o, fit.rows, calibration.rows);
    if (fit.rows) a.pool.add(fit.data);
    if (calibration.rows) a.calibration.add(calibration.data);
    if (o.fitted) a.#detector = o.fitted.detector;
    else {
      a.#detector = o.create();
      await a.#detector.fit(fit);
    }
    await a.#calibrate(o.fitted?.threshold);
    return a;
  }

  /** The current detector (replaced by every refit; the caller must not keep it across one). */
  get detector(): Detector {
    return this.#detector;
  }
  /** Scores above it alert. */
  get threshold(): number {
    return this.#threshold;
  }
  /** Rows scoring at or below it may be learned (NaN until the calibration set has rows). */
  get cut(): number {
    return this.#cut;
  }
  /** The calibration rows' scores under the current detector, in row order. */
  get calibrationScores(): Float64Array {
    return this.#calScores;
  }

  /** An analyst confirmed this row (model columns) as an attack. */
  confirmAttack(row: ArrayLike<number>): void {
    this.attacks.add(Float64Array.from(row));
  }

  /**
   * After a scored window: learns what the guard rails accept plus `confirmedFp` (window row indices an
   * analyst called false positives), then refits the detector and its threshold. `alerted[i]` non-zero
   * excludes row i (it alerted, or an analyst called it an attack). Without a cut yet (no calibration
   * rows) every other row under the threshold calibrates first.
   */
  async update(
    x: Matrix,
    scores: ArrayLike<number>,
    alerted: ArrayLike<number>,
    confirmedFp: readonly number[] = [],
  ): Promise<UpdateResult> {
    if (x.cols !== this.names.length || scores.length !== x.rows || alerted.length !== x.rows) {
      throw new RangeError(
        `adapter.update: expected ${this.names.length} columns and one score and alert flag per row, ` +
          `found ${x.cols} columns, ${x.rows} rows, ${scores.length} scores, ${alerted.length} flags`,
      );
    }
    const rng = this.#o.rng, share = this.#o.calibrationShare ?? 0.1;
    let calibrated = 0;
    if (!(this.#cut === this.#cut)) {
      // No calibration rows yet (a deployed model that kept none): every other row under the threshold
      // calibrates, which sets the cut; the rest are then judged against it like any window.
      const under = acceptRows(scores, alerted, this.#threshold, this.guard.maxPerUpdate, rng);
      const cal = under.filter((_, k) => k % 2 === 0);
      if (cal.length) this.calibration.add(takeRows(x, cal).data);
      if (!this.calibration.size) return { learnedRows: [], learned: 0, calibrated: 0, refit: false };
      await this.#calibrate(this.#threshold);
      calibrated = cal.length;
      const skip = Uint8Array.from(alerted, (v) => (v ? 1 : 0));
      for (const i of cal) skip[i] = 1;
      alerted = skip;
    }
    const acc = acceptRows(scores, alerted, this.#cut, this.guard.maxPerUpdate, rng);
    const toCal: number[] = [], toPool: number[] = [];
    for (const i of acc) (rng.next() < share ? toCal : toPool).push(i);
    for (const i of confirmedFp) toPool.push(i);
    if (toCal.length) this.calibration.add(takeRows(x, toCal).data);
    if (toPool.length) this.pool.add(takeRows(x, toPool).data);
    const refit = this.pool.size >= (this.#o.minPoolRows ?? 1);
    if (refit && this.policy === "incremental" && toPool.length && isStreaming(this.#detector)) {
      await this.#learnOn(takeRows(x, toPool));
    } else if (refit && this.policy === "incremental" && toPool.length && this.#detector.partialFit) {
      await this.#partialFit(takeRows(x, toPool));
    } else if (refit) await this.refit();
    return { learnedRows: toPool, learned: toPool.length, calibrated: calibrated + toCal.length, refit };
  }

  /** Refits the detector on the pool and the threshold on the calibration rows. */
  async refit(): Promise<void> {
    if (!this.pool.size) throw new RangeError("adapter: nothing to refit on (the pool is empty)");
    const next = this.#o.create();
    await next.fit(this.pool.matrix(this.names));
    await this.#replace(next);
  }

  /**
   * `incremental` for a streaming detector (KitNET): a copy of the detector learns the new rows one at a
   * time with `learnOne`, as it learned its training rows, instead of refitting on everything. The
   * copy, never the detector scoring now, is changed: `score` must not see a model half-updated.
   */
  async #learnOn(x: Matrix): Promise<void> {
    const next = await this.#copy() as StreamingDetector;
    for (let i = 0; i < x.rows; i++) next.learnOne(x.data.subarray(i * x.cols, (i + 1) * x.cols));
    await this.#replace(next);
  }

  /**
   * `incremental` for a detector with `partialFit` (the autoencoder, flow-lm): a copy trains further
   * on the new rows plus as many rows drawn from the pool (rehearsal, so the new rows do not
   * overwrite what the model knew), instead of training from scratch on everything.
   */
  async #partialFit(fresh: Matrix): Promise<void> {
    const next = await this.#copy();
    const pool = this.pool.matrix(this.names);
    const old = Math.max(0, pool.rows - fresh.rows); // the pool's rows before this update's
    const rehearsed = takeRows(pool, this.#o.rng.sampleIndices(old, Math.min(fresh.rows, old)));
    await next.partialFit!(concatRows([fresh, rehearsed]));
    await this.#replace(next);
  }

  /** A copy of the detector scoring now (through its saved state), for an update to change. */
  async #copy(): Promise<Detector> {
    const d = this.#detector;
    return await loadDetector(d.name, await d.save(), { ...d.params }, this.#o.seed ?? 0);
  }

  async #replace(next: Detector): Promise<void> {
    const old = this.#detector;
    this.#detector = next;
    if (this.#o.retire) this.#o.retire(old);
    else old.dispose?.();
    await this.#calibrate();
    this.updates++;
  }

  /** Releases the detector's native memory. */
  dispose(): void {
    this.#detector.dispose?.();
  }

  /** Scores the calibration rows; sets the cut and (unless `keep` is given) the threshold. */
  async #calibrate(keep?: number): Promise<void> {
    const o = this.#o;
    if (!this.calibration.size) {
      this.#calScores = new Float64Array(0);
      this.#cut = NaN;
      if (keep === undefined) throw new RangeError("adapter: no calibration rows and no threshold to keep");
      this.#threshold = keep;
      return;
    }
    const raw = await this.#detector.score(this.calibration.matrix(this.names));
    this.#calScores = Float64Array.from(raw);
    const sorted = sortedCopy(raw);
    this.#cut = quantileSorted(sorted, this.guard.acceptQuantile);
    this.#threshold = keep ?? fitThreshold(o.threshold.strategy, sorted, o.threshold.params ?? {}).value;
    if (this.attacks.size && keep === undefined) {
      // Keep the analyst's confirmed attacks above the threshold, but never below the margin's cut.
      const tp = await this.#detector.score(this.attacks.matrix(this.names));
      const lowest = tp.reduce((m, v) => Math.min(m, v), Infinity);
      if (lowest <= this.#threshold) this.#threshold = Math.max(this.#cut, lowest * (1 - 1e-9) - 1e-12);
    }
  }
}
