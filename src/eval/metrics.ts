/**
 * Evaluation metrics for anomaly detectors and signature IDSs. Labels are
 * 0 (benign) / 1 (attack); scores are "higher = more anomalous"; a threshold
 * `t` flags a row when `score > t` (the {@link Threshold} convention).
 *
 * Definitions (chosen to agree with scikit-learn so numbers are comparable):
 * - `roc_auc`: area under the ROC curve = P(score(attack) > score(benign)) + ½·P(tie)
 *   (Mann–Whitney U with mid-ranks, so ties count half).
 * - `pr_auc`: *average precision*, AP = Σ_k (R_k − R_{k−1}) · P_k over the distinct
 *   score values in decreasing order (tied scores form one step). This is
 *   scikit-learn's `average_precision_score`; it is not the trapezoidal area, which
 *   is optimistic on PR curves.
 * - `recall_at_fpr(x)`: the highest recall reachable with a cut at a distinct score
 *   value whose FPR is ≤ x.
 * - `f1_oracle`: F1 when the cut flags the k highest-scoring rows, k = number of test
 *   attacks (the "known anomaly ratio" threshold used by DAGMM and GOAD). It uses test
 *   labels, so it is only for comparing with those papers — never a detection claim.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocAuc, classify } from "./metrics.ts";
 * const y = [0, 0, 1, 1], s = [0.1, 0.4, 0.35, 0.8];
 * assert.equal(rocAuc(y, s), 0.75);
 * assert.equal(classify(y, s, 0.5).precision, 1);
 * ```
 * @module
 */
import { Rng } from "../util/random.ts";

/** Counts of a binary decision. */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Threshold metrics derived from a {@link Confusion}. */
export interface ClassMetrics extends Confusion {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  fpr: number;
}

function checkLengths(labels: ArrayLike<unknown>, other: ArrayLike<unknown>, what: string): void {
  if (labels.length !== other.length) {
    throw new RangeError(`expected as many ${what} as labels (${labels.length}), found ${other.length}`);
  }
}

function checkLabel(v: number, i: number): void {
  if (v !== 0 && v !== 1) throw new RangeError(`label at row ${i} must be 0 or 1, found ${v}`);
}

function checkScore(v: number, i: number): void {
  if (Number.isNaN(v)) {
    throw new RangeError(`score at row ${i} is NaN; drop not-ready rows before evaluating`);
  }
}

/** Confusion counts of predictions (truthy = attack) against labels. */
export function confusion(labels: ArrayLike<number>, predicted: ArrayLike<number | boolean>): Confusion {
  checkLengths(labels, predicted, "predictions");
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    checkLabel(labels[i], i);
    const p = predicted[i] ? 1 : 0;
    if (labels[i] === 1) p ? c.tp++ : c.fn++;
    else p ? c.fp++ : c.tn++;
  }
  return c;
}

const div = (a: number, b: number) => (b === 0 ? 0 : a / b);

/**
 * Accuracy, precision, recall, F1 and FPR from counts. Empty denominators give 0
 * (scikit-learn's `zero_division=0`), so a detector that flags nothing has precision 0.
 */
export function fromConfusion(c: Confusion): ClassMetrics {
  const precision = div(c.tp, c.tp + c.fp);
  const recall = div(c.tp, c.tp + c.fn);
  return {
    ...c,
    accuracy: div(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
    precision,
    recall,
    f1: div(2 * precision * recall, precision + recall),
    fpr: div(c.fp, c.fp + c.tn),
  };
}

/** Threshold metrics for `score > threshold`. */
export function classify(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold: number,
): ClassMetrics {
  checkLengths(labels, scores, "scores");
  const pred = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) pred[i] = scores[i] > threshold ? 1 : 0;
  return fromConfusion(confusion(labels, pred));
}

/** Row indices sorted by score, highest first (stable). */
function orderDesc(scores: ArrayLike<number>): Uint32Array {
  const idx = new Uint32Array(scores.length);
  for (let i = 0; i < idx.length; i++) {
    checkScore(scores[i], i);
    idx[i] = i;
  }
  const s = Float64Array.from(scores as ArrayLike<number>);
  idx.sort((a, b) => s[b] - s[a] || a - b);
  return idx;
}

/** One point per distinct score value (cut `score >= value`), highest value first. */
export interface CurvePoint {
  threshold: number;
  tp: number;
  fp: number;
}

/** Cumulative (tp, fp) at each distinct score, scanning from the highest. */
export function sweep(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): { points: CurvePoint[]; pos: number; neg: number } {
  checkLengths(labels, scores, "scores");
  const order = orderDesc(scores);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) {
    checkLabel(labels[i], i);
    pos += labels[i];
  }
  const neg = labels.length - pos;
  const points: CurvePoint[] = [];
  let tp = 0, fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    labels[i] === 1 ? tp++ : fp++;
    const next = k + 1 < order.length ? scores[order[k + 1]] : undefined;
    if (next === undefined || next !== scores[i]) points.push({ threshold: scores[i], tp, fp });
  }
  return { points, pos, neg };
}

function needBoth(pos: number, neg: number, what: string): void {
  if (pos === 0 || neg === 0) {
    throw new RangeError(`${what} needs both classes, found ${pos} attack and ${neg} benign rows`);
  }
}

/** ROC curve points (fpr, tpr), starting at (0, 0). */
export function rocCurve(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  const { points, pos, neg } = sweep(labels, scores);
  needBoth(pos, neg, "ROC");
  const fpr = [0], tpr = [0], thresholds = [Infinity];
  for (const p of points) {
    fpr.push(p.fp / neg);
    tpr.push(p.tp / pos);
    thresholds.push(p.threshold);
  }
  return { fpr, tpr, thresholds };
}

/** Area under the ROC curve, ties counted half (Mann–Whitney U with mid-ranks). */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { points, pos, neg } = sweep(labels, scores);
  needBoth(pos, neg, "ROC AUC");
  // Trapezoids over tie groups: each group adds (Δfp)·(tp_before + Δtp/2).
  let area = 0, tp0 = 0, fp0 = 0;
  for (const p of points) {
    area += (p.fp - fp0) * (tp0 + (p.tp - tp0) / 2);
    tp0 = p.tp;
    fp0 = p.fp;
  }
  return area / (pos * neg);
}

/** Precision–recall curve points at each distinct score (highest first). */
export function prCurve(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): { precision: number[]; recall: number[]; thresholds: number[] } {
  const { points, pos, neg } = sweep(labels, scores);
  needBoth(pos, neg, "PR curve");
  return {
    precision: points.map((p) => p.tp / (p.tp + p.fp)),
    recall: points.map((p) => p.tp / pos),
    thresholds: points.map((p) => p.threshold),
  };
}

/** Average precision AP = Σ (R_k − R_{k−1}) · P_k over distinct score values (scikit-learn's definition). */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { points, pos, neg } = sweep(labels, scores);
  needBoth(pos, neg, "average precision");
  let ap = 0, r0 = 0;
  for (const p of points) {
    const r = p.tp / pos;
    ap += (r - r0) * (p.tp / (p.tp + p.fp));
    r0 = r;
  }
  return ap;
}

/** Highest recall at a cut (a distinct score value) whose FPR ≤ `maxFpr`; 0 when none qualifies. */
export function recallAtFpr(labels: ArrayLike<number>, scores: ArrayLike<number>, maxFpr: number): number {
  const { points, pos, neg } = sweep(labels, scores);
  needBoth(pos, neg, "recall at FPR");
  let best = 0;
  for (const p of points) {
    if (p.fp / neg <= maxFpr + 1e-12) best = Math.max(best, p.tp / pos);
    else break; // fp only grows down the sweep
  }
  return best;
}

/**
 * The "known anomaly ratio" cut: flags rows with score ≥ the k-th highest score,
 * k = number of attacks in `labels`. Uses test labels (secondary figure only).
 */
export function oracleThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores, "scores");
  let k = 0;
  for (let i = 0; i < labels.length; i++) k += labels[i] === 1 ? 1 : 0;
  if (k === 0) return Infinity;
  const sorted = Float64Array.from(scores as ArrayLike<number>).sort();
  return sorted[sorted.length - k];
}

/** Metrics at the oracle cut (see {@link oracleThreshold}); `score >= cut` is flagged. */
export function f1Oracle(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): ClassMetrics & { threshold: number } {
  const t = oracleThreshold(labels, scores);
  const pred = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) pred[i] = scores[i] >= t ? 1 : 0;
  return { ...fromConfusion(confusion(labels, pred)), threshold: t };
}

/** Wilson score interval for k successes out of n (z = 1.96 → 95 %). */
export function wilson(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Per-category detection rate with a Wilson 95 % interval. For benign rows the rate is the FPR. */
export interface CategoryRecall {
  n: number;
  detected: number;
  recall: number;
  ci95: [number, number];
}

/** Detection rate per category (e.g. attack family) of binary predictions. */
export function perCategory(
  categories: ArrayLike<string>,
  predicted: ArrayLike<number | boolean>,
): Record<string, CategoryRecall> {
  checkLengths(categories, predicted, "predictions");
  const n = new Map<string, number>(), d = new Map<string, number>();
  for (let i = 0; i < categories.length; i++) {
    const c = categories[i];
    n.set(c, (n.get(c) ?? 0) + 1);
    if (predicted[i]) d.set(c, (d.get(c) ?? 0) + 1);
  }
  const out: Record<string, CategoryRecall> = {};
  for (const c of [...n.keys()].sort()) {
    const nn = n.get(c)!, dd = d.get(c) ?? 0;
    out[c] = { n: nn, detected: dd, recall: nn ? dd / nn : 0, ci95: wilson(dd, nn) };
  }
  return out;
}

/**
 * Percentile bootstrap 95 % interval of `metric` over rows resampled with
 * replacement (`rounds` resamples, seeded). Resamples that make the metric throw
 * (e.g. one class missing for AUC) are skipped.
 */
export function bootstrapCi95(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  metric: (labels: ArrayLike<number>, scores: ArrayLike<number>) => number,
  options: { rounds?: number; seed?: number } = {},
): [number, number] {
  const rounds = options.rounds ?? 200;
  const rng = new Rng(options.seed ?? 0);
  const n = labels.length;
  const yl = new Uint8Array(n), sc = new Float64Array(n);
  const vals: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      yl[i] = labels[j];
      sc[i] = scores[j];
    }
    try {
      vals.push(metric(yl, sc));
    } catch {
      // resample lacked a class; skip it
    }
  }
  if (!vals.length) return [NaN, NaN];
  vals.sort((a, b) => a - b);
  const q = (p: number) => vals[Math.min(vals.length - 1, Math.max(0, Math.round(p * (vals.length - 1))))];
  return [q(0.025), q(0.975)];
}

/** The full metric set the runner records for one test set and one seed. */
export interface EvalMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  fpr: number;
  roc_auc: number;
  pr_auc: number;
  recall_at_fpr_0_001: number;
  recall_at_fpr_0_01: number;
  f1_oracle: number;
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** All threshold-free and threshold metrics for one scored test set. */
export function evaluate(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold: number,
): EvalMetrics {
  const c = classify(labels, scores, threshold);
  return {
    accuracy: c.accuracy,
    precision: c.precision,
    recall: c.recall,
    f1: c.f1,
    fpr: c.fpr,
    roc_auc: rocAuc(labels, scores),
    pr_auc: averagePrecision(labels, scores),
    recall_at_fpr_0_001: recallAtFpr(labels, scores, 0.001),
    recall_at_fpr_0_01: recallAtFpr(labels, scores, 0.01),
    f1_oracle: f1Oracle(labels, scores).f1,
    threshold,
    tp: c.tp,
    fp: c.fp,
    tn: c.tn,
    fn: c.fn,
  };
}
