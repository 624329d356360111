/**
 * Peaks-Over-Threshold with a Generalised Pareto tail, the initialisation step
 * of SPOT (Siffer, Fouque, Termier & Largouët, "Anomaly Detection in Streams
 * with Extreme Value Theory", KDD 2017).
 *
 * Scores above an initial high quantile t are peaks; their excesses Y = s − t
 * follow a GPD(γ, σ) for large t (Pickands–Balkema–de Haan). With n scores and
 * N_t peaks, the cut with risk q (probability that a benign score exceeds it)
 * is
 *
 *   z_q = t + σ/γ · ((q n / N_t)^(−γ) − 1)      (γ ≠ 0)
 *   z_q = t − σ · ln(q n / N_t)                  (γ = 0)
 *
 * γ and σ are the maximum-likelihood estimates. As in the paper we use
 * Grimshaw's reduction to one variable x = γ/σ: for a given x the MLE is
 * γ = v(x) − 1, σ = γ / x with v(x) = 1 + mean(ln(1 + x Yᵢ)); we maximise the
 * profile log-likelihood over x ∈ (−1/max Y, x_max] (a log-spaced grid, then
 * golden-section refinement) and compare with the exponential case γ = 0.
 *
 * @module
 */
import { quantileSorted } from "../util/quantile.ts";

/** Result of a GPD fit. */
export interface GpdFit {
  gamma: number;
  sigma: number;
  logLikelihood: number;
}

function gpdLogLik(y: Float64Array, gamma: number, sigma: number): number {
  if (!(sigma > 0)) return -Infinity;
  const n = y.length;
  if (Math.abs(gamma) < 1e-12) {
    let s = 0;
    for (let i = 0; i < n; i++) s += y[i];
    return -n * Math.log(sigma) - s / sigma;
  }
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = 1 + (gamma * y[i]) / sigma;
    if (t <= 0) return -Infinity;
    s += Math.log(t);
  }
  return -n * Math.log(sigma) - (1 + 1 / gamma) * s;
}

function profile(y: Float64Array, x: number): GpdFit {
  let v = 0;
  for (let i = 0; i < y.length; i++) v += Math.log(1 + x * y[i]);
  const gamma = v / y.length; // v(x) − 1
  const sigma = gamma / x;
  return { gamma, sigma, logLikelihood: gpdLogLik(y, gamma, sigma) };
}

/** Maximum-likelihood GPD fit of positive excesses `y`. */
export function fitGpd(y: Float64Array): GpdFit {
  const n = y.length;
  let mean = 0, ymin = Infinity, ymax = 0;
  for (let i = 0; i < n; i++) {
    mean += y[i];
    if (y[i] < ymin) ymin = y[i];
    if (y[i] > ymax) ymax = y[i];
  }
  mean /= n;
  // Exponential tail (γ = 0): σ = mean.
  let best: GpdFit = { gamma: 0, sigma: mean, logLikelihood: gpdLogLik(y, 0, mean) };
  if (!(ymax > 0)) return best;
  const consider = (x: number) => {
    if (!Number.isFinite(x) || x === 0) return;
    const f = profile(y, x);
    if (Number.isFinite(f.logLikelihood) && f.sigma > 0 && f.logLikelihood > best.logLikelihood) best = f;
  };
  const lo = -1 / ymax;
  // Grimshaw's upper bound for the roots, with a generous fallback when ymin ≈ 0.
  const hi = ymin > 0 ? 2 * (mean - ymin) / (ymin * ymin) : 1e6 / ymax;
  const grid: number[] = [];
  const steps = 60;
  for (let i = 1; i <= steps; i++) {
    const e = Math.pow(10, -8 + (8 * i) / steps); // 1e-8 .. 1
    grid.push(lo * (1 - e)); // (lo, 0)
    if (hi > 0) grid.push(Math.max(1e-12, hi * Math.pow(10, -8 + (8 * i) / steps)));
  }
  let bestX = NaN;
  for (const x of grid) {
    const before = best;
    consider(x);
    if (best !== before) bestX = x;
  }
  if (Number.isFinite(bestX)) {
    // Golden-section refinement around the best grid point (same sign side).
    // Bracket [bestX·2, bestX/2] (kept inside the domain x > −1/max Y on the negative side).
    let a = bestX < 0 ? Math.max(2 * bestX, lo * (1 - 1e-12)) : bestX / 2;
    let b = bestX < 0 ? bestX / 2 : 2 * bestX;
    if (a > b) [a, b] = [b, a];
    const g = (Math.sqrt(5) - 1) / 2;
    const f = (x: number) => profile(y, x).logLikelihood;
    let c = b - g * (b - a), d = a + g * (b - a);
    for (let it = 0; it < 80; it++) {
      if (f(c) > f(d)) b = d;
      else a = c;
      c = b - g * (b - a);
      d = a + g * (b - a);
    }
    consider((a + b) / 2);
  }
  return best;
}

/** The POT cut-off for risk q from scores (see the module docs). */
export function potThreshold(
  scores: ArrayLike<number>,
  q: number,
  level: number,
  minPeaks: number,
): { value: number; t: number; gamma: number; sigma: number; peaks: number; n: number } {
  const sorted = Float64Array.from(scores).sort();
  const n = sorted.length;
  const t = quantileSorted(sorted, level);
  const peaksList: number[] = [];
  for (let i = 0; i < n; i++) if (sorted[i] > t) peaksList.push(sorted[i] - t);
  if (peaksList.length < minPeaks) {
    throw new RangeError(
      `pot needs at least ${minPeaks} benign scores above the initial threshold (level ${level}), found ${peaksList.length} ` +
        `of ${n}; give more validation scores or lower level`,
    );
  }
  const y = Float64Array.from(peaksList);
  const fit = fitGpd(y);
  const r = (q * n) / y.length;
  const value = Math.abs(fit.gamma) < 1e-12
    ? t - fit.sigma * Math.log(r)
    : t + (fit.sigma / fit.gamma) * (Math.pow(r, -fit.gamma) - 1);
  return { value, t, gamma: fit.gamma, sigma: fit.sigma, peaks: y.length, n };
}
