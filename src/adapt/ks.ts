/**
 * The two-sample Kolmogorov–Smirnov test, two-sided, as KSWIN needs it.
 *
 * The statistic is D = sup_x |F_a(x) − F_b(x)| over the two empirical
 * distribution functions; ties within and across samples are handled (the
 * sup is taken after all copies of a value). It is computed exactly as an
 * integer multiple h of 1/lcm(n, m).
 *
 * The p-value P(D ≥ d) under the null hypothesis (both samples from one
 * continuous distribution) is:
 *
 * - "exact": every ordering of the n + m values is equally likely, so D is
 *   the largest |i/n − j/m| along a uniformly random monotone lattice path
 *   from (0, 0) to (n, m). {@link ks2SampExactSf} computes the share of
 *   paths that touch |i·m − j·n| ≥ h·gcd(n, m) by dynamic programming over
 *   the (n + 1)(m + 1) lattice points, carrying that share (not path counts,
 *   which overflow) so that small p-values keep their relative precision.
 *   This is the distribution scipy's `ks_2samp(method="exact")` computes
 *   (scipy uses a closed form when n = m and a different recursion otherwise);
 *   with ties in the data it is, as in scipy, the no-ties distribution.
 * - "asymptotic": Kolmogorov's limiting distribution,
 *   P(D ≥ d) ≈ Q(√(nm/(n+m)) · d) with Q(x) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²x²}
 *   (scipy's `kstwobign.sf`). Note that scipy's `method="asymp"` instead
 *   evaluates the one-sample finite-n distribution `kstwo.sf(d, round(nm/(n+m)))`;
 *   the two differ by O(1/√n).
 * - "auto" (default): "exact" when max(n, m) ≤ 10 000, else "asymptotic" —
 *   the same switch point as scipy's `method="auto"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ks2Samp } from "./ks.ts";
 * const r = ks2Samp([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
 * assert.equal(r.statistic, 1);
 * assert.equal(r.method, "exact");
 * // Only the 2 of the C(10, 5) = 252 orderings that fully separate the samples reach D = 1.
 * assert.ok(Math.abs(r.pValue - 2 / 252) < 1e-15);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";

/** Which null distribution gives the p-value. */
export type KsMethod = "auto" | "exact" | "asymptotic";

/** Result of {@link ks2Samp}. */
export interface KsResult {
  /** D, the largest gap between the two empirical distribution functions. */
  statistic: number;
  /** P(D ≥ statistic) under the null hypothesis. */
  pValue: number;
  /** The method that produced `pValue` ("auto" resolved). */
  method: "exact" | "asymptotic";
}

/** Largest max(n, m) for which "auto" uses the exact distribution (scipy's switch point). */
export const KS_EXACT_MAX_N = 10_000;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function sortedFinite(xs: ArrayLike<number>, name: string): Float64Array {
  if (xs.length === 0) throw new InputError(`ks2Samp: sample ${name} is empty, expected at least 1 value`);
  const out = Float64Array.from(xs);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new InputError(`ks2Samp: value ${i} of sample ${name} is ${out[i]}, expected a finite number`);
    }
  }
  return out.sort();
}

/**
 * D for two samples, as the integer h with D = h / lcm(n, m), and D itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ksStatistic } from "./ks.ts";
 * // F_a(0) = 2/3 and F_b(0) = 1/2: D = 1/6 = 1 / lcm(3, 2).
 * assert.deepEqual(ksStatistic([0, 0, 1], [0, 1]), { h: 1, statistic: 1 / 6 });
 * ```
 */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): { h: number; statistic: number } {
  const x = sortedFinite(a, "a"), y = sortedFinite(b, "b");
  const n = x.length, m = y.length;
  let i = 0, j = 0, widest = 0;
  while (i < n || j < m) {
    const v = j >= m || (i < n && x[i] <= y[j]) ? x[i] : y[j];
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    const gap = Math.abs(i * m - j * n); // n·m·|F_a(v) − F_b(v)|, an integer
    if (gap > widest) widest = gap;
  }
  return { h: widest / gcd(n, m), statistic: widest / (n * m) };
}

/**
 * Exact P(D ≥ h / lcm(n, m)) for samples of n and m values from one
 * continuous distribution (see the module notes). Needs n·m ≤ 10^8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ks2SampExactSf } from "./ks.ts";
 * assert.equal(ks2SampExactSf(3, 3, 0), 1);
 * // n = m = 2: of the 6 orderings, the 2 that separate the samples give D = 1.
 * assert.ok(Math.abs(ks2SampExactSf(2, 2, 2) - 2 / 6) < 1e-15);
 * ```
 */
export function ks2SampExactSf(n: number, m: number, h: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m < 1) {
    throw new InputError(`ks2SampExactSf: sample sizes must be integers ≥ 1, found ${n} and ${m}`);
  }
  if (n * m > 1e8) {
    throw new InputError(
      `ks2SampExactSf: exact p-value needs n·m ≤ 1e8, found ${n}·${m}; use method "asymptotic"`,
    );
  }
  const g = gcd(n, m);
  if (h <= 0) return 1;
  if (h > (n / g) * m) return 0;
  const bound = h * g;
  // share[j] = share of the paths from (0, 0) to (i, j) that touched the boundary.
  const share = new Float64Array(m + 1);
  for (let i = 0; i <= n; i++) {
    for (let j = 0; j <= m; j++) {
      if (Math.abs(i * m - j * n) >= bound) share[j] = 1;
      else if (i === 0) share[j] = j === 0 ? 0 : share[j - 1];
      else if (j > 0) share[j] = (i * share[j] + j * share[j - 1]) / (i + j);
      // (i > 0, j = 0): the only way in is from (i − 1, 0); share[0] stays.
    }
  }
  return share[m];
}

/**
 * Survival function of Kolmogorov's limiting distribution,
 * Q(x) = P(K > x) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²x²} (scipy's `kstwobign.sf`).
 * Below x = 1 it uses the equivalent theta-function series for the CDF,
 * √(2π)/x Σ_{k≥1} e^{−(2k−1)²π²/(8x²)}, which converges there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kolmogorovSf } from "./ks.ts";
 * assert.equal(kolmogorovSf(0), 1);
 * assert.ok(Math.abs(kolmogorovSf(1.3580986393225505) - 0.05) < 1e-12); // the 5 % critical value
 * ```
 */
export function kolmogorovSf(x: number): number {
  if (Number.isNaN(x)) throw new InputError(`kolmogorovSf: expected a number, found NaN`);
  if (x <= 0) return 1;
  if (x < 1) {
    const c = (-Math.PI * Math.PI) / (8 * x * x);
    let s = 0;
    for (let k = 1; k < 100; k++) {
      const t = Math.exp(c * (2 * k - 1) * (2 * k - 1));
      s += t;
      if (t < 1e-17 * s) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / x) * s;
  }
  let s = 0;
  for (let k = 1; k < 100; k++) {
    const t = Math.exp(-2 * k * k * x * x);
    s += k % 2 ? t : -t;
    if (t < 1e-17 * Math.abs(s)) break;
  }
  return Math.max(0, Math.min(1, 2 * s));
}

/**
 * Two-sided two-sample Kolmogorov–Smirnov test of `a` against `b`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ks2Samp } from "./ks.ts";
 * const same = ks2Samp([0.1, 0.4, 0.7, 0.9], [0.2, 0.5, 0.6, 0.8]);
 * assert.equal(same.statistic, 0.25);
 * assert.ok(same.pValue > 0.99);
 * assert.throws(() => ks2Samp([], [1]), /sample a is empty/);
 * ```
 */
export function ks2Samp(a: ArrayLike<number>, b: ArrayLike<number>, method: KsMethod = "auto"): KsResult {
  const n = a.length, m = b.length;
  const { h, statistic } = ksStatistic(a, b);
  const resolved = method === "auto" ? (Math.max(n, m) <= KS_EXACT_MAX_N ? "exact" : "asymptotic") : method;
  if (resolved === "exact") return { statistic, pValue: ks2SampExactSf(n, m, h), method: "exact" };
  if (resolved !== "asymptotic") {
    throw new InputError(`ks2Samp: method expects "auto", "exact" or "asymptotic", found "${method}"`);
  }
  return { statistic, pValue: kolmogorovSf(Math.sqrt((n * m) / (n + m)) * statistic), method: "asymptotic" };
}
