/**
 * Running per-feature statistics of the traffic a scoring mode judged benign,
 * so that an alert can name the features that set its flow apart ("top
 * deviating features") without a trained benign profile. Welford's update keeps
 * the mean and variance exact in one pass with constant memory, which is what a
 * sensor that never stops can afford.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FeatureStats } from "./feature_stats.ts";
 *
 * const s = new FeatureStats(["bytes", "packets"]);
 * s.add([100, 2]);
 * s.add([120, 2]);
 * s.add([110, 2]);
 * const top = s.top([500, 2], 5);
 * assert.equal(top.length, 1);
 * assert.equal(top[0].name, "bytes");
 * assert.equal(top[0].deviation, 39);
 * ```
 * @module
 */
import { topIndices } from "../../util/top.ts";
import type { FeatureDeviation } from "../alert.ts";

/** Welford statistics per feature, for z-score "top deviating features". */
export class FeatureStats {
  readonly n: Float64Array;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  /** Scratch of {@link top}: each feature's rounded deviation and its size. */
  readonly #dev: Float64Array;
  readonly #size: Float64Array;

  /** `names` fixes the feature order of every vector given to {@link add} and {@link top}. */
  constructor(readonly names: readonly string[]) {
    this.n = new Float64Array(names.length);
    this.mean = new Float64Array(names.length);
    this.m2 = new Float64Array(names.length);
    this.#dev = new Float64Array(names.length);
    this.#size = new Float64Array(names.length);
  }

  /** Adds one benign vector; non-finite values are skipped so one bad field does not poison a feature. */
  add(x: ArrayLike<number>): void {
    for (let j = 0; j < this.names.length; j++) {
      const v = x[j];
      if (!Number.isFinite(v)) continue;
      const n = ++this.n[j];
      const d = v - this.mean[j];
      this.mean[j] += d / n;
      this.m2[j] += d * (v - this.mean[j]);
    }
  }

  /**
   * The `k` features of `x` furthest from the mean in standard deviations (z-score rounded to
   * 0.001), largest first; features seen fewer than twice are left out as they have no spread yet.
   */
  top(x: ArrayLike<number>, k: number): FeatureDeviation[] {
    // Only the k largest are kept, as they are found (ties keep the feature order): building and sorting a
    // record for every feature was 13 µs of a shard's ~110 µs per alert (a CPU profile). A feature left
    // out is NaN in `size`, which ranks after every number.
    const dev = this.#dev, size = this.#size.fill(NaN);
    for (let j = 0; j < this.names.length; j++) {
      const n = this.n[j];
      if (n < 2) continue;
      const sd = Math.sqrt(this.m2[j] / (n - 1));
      const v = x[j];
      // A feature constant so far that now differs is reported at a capped 1000 σ.
      const z = sd > 1e-12
        ? (v - this.mean[j]) / sd
        : v === this.mean[j]
        ? 0
        : Math.sign(v - this.mean[j]) * 1e3;
      if (!Number.isFinite(z) || z === 0) continue;
      dev[j] = Math.round(z * 1000) / 1000;
      size[j] = Math.abs(dev[j]);
    }
    return topIndices(size, k).filter((j) => size[j] === size[j]).map((j) => ({
      name: this.names[j],
      value: x[j],
      deviation: dev[j],
    }));
  }
}
