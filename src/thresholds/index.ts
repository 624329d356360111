/**
 * Threshold strategies, fit on benign (validation) scores only — never on
 * labelled test data. A fitted {@link Threshold} is a plain JSON-able object
 * saved with the model; `score > value` means anomaly.
 *
 * - `percentile` (q, default 0.99): the q-quantile of the benign scores
 *   (linear interpolation between order statistics).
 * - `fpr` (rate, default 0.01): the smallest observed benign score such that
 *   at most `rate` of the benign scores lie strictly above it, i.e. an
 *   empirical false-positive rate ≤ rate on the scores it was fitted on.
 * - `pot` (q = risk, default 1e-4; level = initial quantile, default 0.98):
 *   extreme-value threshold from a Generalised Pareto tail fit (SPOT's
 *   initial step, Siffer et al. KDD 2017; see ./pot.ts). Extrapolates beyond
 *   the largest benign score when q < 1/n.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitThreshold, isAnomalous } from "./index.ts";
 * const t = fitThreshold("percentile", [1, 2, 3, 4, 5], { q: 0.5 });
 * assert.ok(t.value === 3 && isAnomalous(t, 3.5));
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import { quantileSorted } from "../util/quantile.ts";
import type { Threshold, ThresholdStrategy } from "./types.ts";
import { potThreshold } from "./pot.ts";

export type { Threshold, ThresholdStrategy } from "./types.ts";

function finiteScores(strategy: string, scores: ArrayLike<number>): Float64Array {
  const out = new Float64Array(scores.length);
  let n = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (Number.isNaN(v)) continue; // not-ready rows (streaming grace) carry no information
    if (!Number.isFinite(v)) {
      throw new InputError(`threshold ${strategy}: benign score ${i + 1} is ${v}, expected finite`);
    }
    out[n++] = v;
  }
  if (n === 0) {
    throw new InputError(`threshold ${strategy}: expected at least 1 finite benign score, found 0`);
  }
  return out.slice(0, n).sort();
}

function numParam(
  strategy: string,
  params: Record<string, unknown>,
  name: string,
  dflt: number,
  lo: number,
  hi: number,
  openLo = false,
): number {
  const raw = params[name] ?? dflt;
  const v = typeof raw === "string" ? Number(raw) : raw;
  if (typeof v !== "number" || !Number.isFinite(v) || (openLo ? v <= lo : v < lo) || v > hi) {
    throw new InputError(
      `threshold ${strategy}: parameter ${name} expects a number in ${
        openLo ? "(" : "["
      }${lo}, ${hi}], found ${JSON.stringify(raw)}`,
    );
  }
  return v;
}

function checkKnown(strategy: string, params: Record<string, unknown>, known: string[]): void {
  for (const k of Object.keys(params)) {
    if (!known.includes(k)) {
      throw new InputError(
        `threshold ${strategy} has no parameter ${k}; known parameters: ${known.join(", ")}`,
      );
    }
  }
}

const percentile: ThresholdStrategy = {
  name: "percentile",
  summary: "q-quantile of benign scores (q default 0.99)",
  fit(scores, params = {}) {
    checkKnown("percentile", params, ["q"]);
    const q = numParam("percentile", params, "q", 0.99, 0, 1);
    const s = finiteScores("percentile", scores);
    return { strategy: "percentile", params: { q }, value: quantileSorted(s, q) };
  },
};

const fpr: ThresholdStrategy = {
  name: "fpr",
  summary: "cut with empirical benign false-positive rate <= rate (default 0.01)",
  fit(scores, params = {}) {
    checkKnown("fpr", params, ["rate"]);
    const rate = numParam("fpr", params, "rate", 0.01, 0, 1);
    const s = finiteScores("fpr", scores);
    const allowed = Math.floor(rate * s.length + 1e-9);
    const value = s[Math.max(0, s.length - 1 - allowed)];
    return { strategy: "fpr", params: { rate }, value };
  },
};

const pot: ThresholdStrategy = {
  name: "pot",
  summary: "Peaks-Over-Threshold GPD tail fit with risk q (default 1e-4), SPOT's initial step",
  fit(scores, params = {}) {
    checkKnown("pot", params, ["q", "level", "minPeaks"]);
    const q = numParam("pot", params, "q", 1e-4, 0, 1, true);
    const level = numParam("pot", params, "level", 0.98, 0, 1, true);
    const minPeaks = numParam("pot", params, "minPeaks", 10, 3, Infinity);
    const s = finiteScores("pot", scores);
    let r;
    try {
      r = potThreshold(s, q, level, minPeaks);
    } catch (e) {
      throw new InputError(`threshold ${(e as Error).message}`);
    }
    if (!Number.isFinite(r.value)) {
      throw new InputError(
        `threshold pot: the GPD fit gave a non-finite cut (gamma ${r.gamma}, sigma ${r.sigma})`,
      );
    }
    return {
      strategy: "pot",
      params: { q, level, minPeaks },
      value: r.value,
      tail: { t: r.t, gamma: r.gamma, sigma: r.sigma, peaks: r.peaks, n: r.n },
    } as Threshold;
  },
};

const STRATEGIES: readonly ThresholdStrategy[] = [percentile, fpr, pot];

/** All threshold strategies. */
export function listThresholdStrategies(): readonly ThresholdStrategy[] {
  return STRATEGIES;
}

/** The strategy called `name`, or an error listing the known ones. */
export function getThresholdStrategy(name: string): ThresholdStrategy {
  const s = STRATEGIES.find((x) => x.name === name);
  if (!s) {
    throw new InputError(
      `unknown threshold strategy "${name}"; known: ${STRATEGIES.map((x) => x.name).join(", ")}`,
    );
  }
  return s;
}

/** Fits `strategy` on benign scores (NaN scores, e.g. from a streaming grace period, are skipped). */
export function fitThreshold(
  strategy: string,
  benignScores: ArrayLike<number>,
  params: Record<string, unknown> = {},
): Threshold {
  return getThresholdStrategy(strategy).fit(benignScores, params);
}

/** The parameter each strategy's short CLI form `name:value` sets. */
const MAIN_PARAM: Record<string, string> = { percentile: "q", fpr: "rate", pot: "q" };

/**
 * Parses the CLI form `percentile:0.99`, `fpr:0.01`, `pot:1e-4` (or a bare
 * strategy name for its defaults) into a strategy and params.
 */
export function parseThresholdSpec(spec: string): { strategy: string; params: Record<string, unknown> } {
  const [name, value, ...rest] = spec.split(":");
  getThresholdStrategy(name);
  if (rest.length) throw new InputError(`threshold "${spec}": expected STRATEGY or STRATEGY:VALUE`);
  if (value === undefined || value === "") return { strategy: name, params: {} };
  const v = Number(value);
  if (!Number.isFinite(v)) {
    throw new InputError(`threshold "${spec}": expected a number after "${name}:", found "${value}"`);
  }
  return { strategy: name, params: { [MAIN_PARAM[name]]: v } };
}

/** Validates a threshold read from JSON (a saved model). */
export function thresholdFromJSON(v: unknown): Threshold {
  if (typeof v !== "object" || v === null) {
    throw new InputError(`expected a threshold object, found ${JSON.stringify(v)}`);
  }
  const t = v as Record<string, unknown>;
  if (typeof t.strategy !== "string") {
    throw new InputError(`threshold.strategy should be a string, found ${JSON.stringify(t.strategy)}`);
  }
  if (t.strategy !== "fixed") getThresholdStrategy(t.strategy);
  if (typeof t.value !== "number" || Number.isNaN(t.value)) {
    throw new InputError(`threshold.value should be a number, found ${JSON.stringify(t.value)}`);
  }
  if (typeof t.params !== "object" || t.params === null) {
    throw new InputError("threshold.params should be an object");
  }
  return { ...t, strategy: t.strategy, params: t.params as Record<string, unknown>, value: t.value };
}

/** A fixed cut chosen by hand (e.g. `predict(..., threshold)`), recorded as such. */
export function fixedThreshold(value: number): Threshold {
  if (!Number.isFinite(value)) {
    throw new InputError(`a fixed threshold must be a finite number, found ${value}`);
  }
  return { strategy: "fixed", params: {}, value };
}

/** True when `score` is above the cut (NaN scores — detector not ready — are never anomalies). */
export function isAnomalous(t: Threshold, score: number): boolean {
  return score > t.value;
}
