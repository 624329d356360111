/**
 * The drift protocol's replay (issue 15, scope 4): an experiment's detector
 * is fit as the runner fits it (same protocol split, preprocessing and
 * threshold), then the main test set is replayed as a stream, in file order,
 * window by window. After each window the chosen update policy
 * (src/adapt/policy.ts) may refit the detector on its pool and refit the
 * threshold on its calibration rows; per-window false-positive rate and
 * recall show what that does.
 *
 * Simulated analyst feedback on a budget: after each window the oracle
 * answers for alerts — picked at random (seeded), or the lowest-scoring
 * first (`pick: "borderline"`) — until it has answered `feedback` × all
 * alerts so far, from the test labels; the run records every label it used. A false positive joins the benign pool (bypassing the
 * margin; an analyst vouched for it); a true positive joins the labelled
 * anomalies, and after every refit the threshold stays below the lowest of
 * their new scores (never below the calibration scores' `acceptQuantile`, so
 * one low-scoring attack cannot open the gates).
 *
 * Calibration: the threshold is refit on held-out benign rows, never on rows
 * the detector was fit on (a kNN scores its own training rows 0). The
 * experiment's validation rows start that set; a tenth of the rows each
 * update accepts (seeded) joins it instead of the pool.
 *
 * @example
 * ```ts ignore
 * import { replayAdaptation } from "./adaptation.ts";
 * import config from "../../experiments/nsl-kdd-knn.ts";
 * const r = await replayAdaptation(config, { policy: "sliding", feedback: 0.01 });
 * console.log(r.total.fpr, r.total.recall);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { UsageError } from "../util/errors.ts";
import { matrix, takeRows } from "../data/matrix.ts";
import { createDetector } from "../detectors/registry.ts";
import { createDriftDetector } from "../adapt/mod.ts";
import { ModelAdapter } from "../adapt/adapter.ts";
import { coveragePicks } from "../adapt/triage.ts";
import {
  checkPolicy,
  DEFAULT_GUARD_RAILS,
  FeedbackBudget,
  type GuardRails,
  type UpdatePolicy,
} from "../adapt/policy.ts";
import { Rng } from "../util/random.ts";
import type { ExperimentConfig } from "./config.ts";
import type pl from "nodejs-polars";
import { getProtocol, type TestSet } from "./protocols.ts";
import { fitPreprocess, gather } from "./prep.ts";

/** Options of {@link replayAdaptation}. */
export interface AdaptationOptions {
  policy: UpdatePolicy;
  /** Seed of the split, the detector, the feedback picks and the samples (default 0). */
  seed?: number;
  /** Stream rows per window (default 2000). */
  window?: number;
  /** Share of alerts the analyst answers (default 0: no feedback). */
  feedback?: number;
  /**
   * Which alerts the analyst reviews: `random` (default), or `borderline` — the lowest-scoring alerts
   * first, where false positives concentrate (triage of the least certain alerts).
   */
  pick?: "random" | "borderline" | "coverage";
  guard?: Partial<GuardRails>;
  /** Sliding pool capacity in rows (default: the fit rows). */
  capacity?: number;
  /** Cap the protocol's rows (quick runs). */
  maxRows?: number;
  /**
   * Replay the test rows ordered by this column of the test frame (e.g. CIC-IDS2017's `Timestamp`:
   * Monday → Friday) instead of file order; ties keep file order.
   */
  orderBy?: string;
  /** Called with one line per window. */
  log?: (line: string) => void;
  /**
   * The poisoning scenario: half of the test rows of attack `category` are injected into the stream,
   * the lowest-scoring first (the ones likeliest to pass the guard rails), `perWindow` in each window;
   * the other half is held out, and its detection rate is measured before the stream and after it.
   */
  poison?: { category: string; perWindow?: number };
  /**
   * A recall to compare at (e.g. the frozen policy's): the result then also gives the FPR at that
   * recall — see {@link AdaptationResult.fprAtRecall}.
   */
  atRecall?: number;
}

/** Alert counts over some rows of the stream. */
export interface StreamCounts {
  rows: number;
  benign: number;
  attacks: number;
  fp: number;
  tp: number;
  /** false positives / benign rows (NaN without benign rows). */
  fpr: number;
  /** true positives / attack rows (NaN without attacks). */
  recall: number;
}

/** One window of the replay. */
export interface WindowResult extends StreamCounts {
  window: number;
  /** First stream row of the window. */
  start: number;
  /** The threshold the window was scored with. */
  threshold: number;
  /** The detector and threshold were refit after this window. */
  updated: boolean;
  /** The score-stream drift detector fired in this window. */
  drift: boolean;
  /** Rows learned after the window (accepted by the guard rails, plus confirmed false positives). */
  learned: number;
  /** Feedback answers used after the window: confirmed false and true positives. */
  feedback: { fp: number; tp: number };
}

/** What {@link replayAdaptation} measured. */
export interface AdaptationResult {
  experiment: string;
  policy: UpdatePolicy;
  seed: number;
  test: string;
  windows: WindowResult[];
  total: StreamCounts & { f1: number };
  updates: number;
  /**
   * The false-positive rate at `atRecall`, thresholds aside: every row's score is taken relative to the
   * threshold it was scored against (score / threshold), and one cut over those ratios is set where recall
   * reaches `atRecall`. A policy that only moved its threshold gains nothing here; one whose model
   * separates benign from attack traffic better does. Uses the test labels, as any FPR-at-recall does —
   * for reporting only; nothing is tuned on it.
   */
  fprAtRecall?: { recall: number; fpr: number };
  /** The poisoning scenario's outcome (with `poison`). */
  poison?: {
    category: string;
    injected: number;
    heldOut: number;
    /** Injected rows the model learned as benign. */
    learned: number;
    /** Detection rate of the held-out rows with the model and threshold before the stream, and after it. */
    detectedBefore: number;
    detectedAfter: number;
  };
  /** Every label the feedback oracle gave: stream row and label (1 = attack). */
  feedbackUsed: { row: number; label: number }[];
  guard: GuardRails;
  feedbackShare: number;
  feedbackPick: "random" | "borderline" | "coverage";
  window: number;
  /** The column the stream was ordered by; null: file order. */
  orderBy: string | null;
}

/**
 * A stream to replay: the rows the detector is fit on, held-out benign rows that calibrate its
 * threshold, then the stream in order with its labels — all in the detector's columns.
 */
export interface StreamInput {
  /** Names the run in the result (an experiment id, a capture list). */
  id: string;
  /** The stream's name in the result (the test set, "captures"). */
  test: string;
  fit: Matrix;
  calibration: Matrix;
  stream: Matrix;
  /** 1 = attack, per stream row. */
  y: Uint8Array;
  /** Attack family (or "normal"), per stream row: the poisoning scenario picks rows by it. */
  category: readonly string[];
  detector: { name: string; params?: Record<string, unknown> };
  threshold: { strategy: string; params?: Record<string, unknown> };
}

/** Replays the experiment's main test set under `opts.policy`; see the module doc. */
export async function replayAdaptation(
  config: ExperimentConfig,
  opts: AdaptationOptions,
): Promise<AdaptationResult> {
  const seed = opts.seed ?? 0;
  const split = await getProtocol(config.protocol).load({
    seed,
    validationFraction: config.validationFraction,
    paths: config.paths,
    features: config.features,
    maxRows: opts.maxRows,
  });
  const prep = fitPreprocess(
    gather(split.frames[split.train.frame], split.train.rows),
    config.preprocess ?? {},
  );
  const test = opts.orderBy
    ? orderedBy(split.frames[split.tests[0].frame], split.tests[0], opts.orderBy)
    : split.tests[0];
  return await replayStream({
    id: config.id,
    test: test.name,
    fit: prep.train,
    calibration: prep.apply(gather(split.frames[split.validation.frame], split.validation.rows)),
    stream: prep.apply(gather(split.frames[test.frame], test.rows)),
    y: test.y,
    category: test.category,
    detector: { name: config.detector, params: config.params },
    threshold: config.threshold,
  }, opts);
}

/** Replays `input.stream` under `opts.policy` (the experiment-free core of {@link replayAdaptation}). */
export async function replayStream(input: StreamInput, opts: AdaptationOptions): Promise<AdaptationResult> {
  const policy = checkPolicy(opts.policy);
  const seed = opts.seed ?? 0,
    W = opts.window ?? 2000,
    share = opts.feedback ?? 0,
    pick = opts.pick ?? "random";
  if (pick !== "random" && pick !== "borderline" && pick !== "coverage") {
    throw new UsageError(`adaptation: pick must be "random", "borderline" or "coverage", found "${pick}"`);
  }
  const guard: GuardRails = { ...DEFAULT_GUARD_RAILS, ...opts.guard };
  if (!(W >= 1)) throw new UsageError(`adaptation: window must be ≥ 1 row, found ${W}`);
  const xFit = input.fit, xVal = input.calibration, xTest = input.stream;
  const test = { name: input.test, y: input.y, category: input.category };
  const cols = xFit.cols, names = xFit.names;

  const rng = new Rng(seed ^ 0x5eed);
  const adapter = await ModelAdapter.start(
    {
      policy,
      create: () => createDetector(input.detector.name, input.detector.params ?? {}, seed),
      seed,
      threshold: input.threshold,
      names,
      guard,
      capacity: opts.capacity ?? xFit.rows,
      calibrationCapacity: Math.max(xVal.rows, 1),
      rng,
    },
    xFit,
    xVal,
  );
  // The stream in order (replaced below in the poisoning scenario): rows, labels.
  let xs = xTest, ys = test.y;

  let poisonCtx: { injected: Set<number>; heldOut: Matrix; before: number; category: string } | undefined;
  let injectedLearned = 0;
  if (opts.poison) {
    const { category, perWindow = 100 } = opts.poison;
    const rowsC: number[] = [];
    for (let i = 0; i < xTest.rows; i++) if (test.y[i] && test.category[i] === category) rowsC.push(i);
    if (rowsC.length < 2) {
      const cats = [...new Set(test.category.filter((_, i) => test.y[i]))].join(", ");
      // What the user asked for (--poison, --order-by): a one-line usage error, not a stack trace.
      throw new UsageError(
        `adaptation: poison: no attack rows of category "${category}" in ${test.name} (${cats})`,
      );
    }
    rng.shuffle(rowsC);
    const heldIdx = rowsC.slice(0, rowsC.length >> 1), injIdx = rowsC.slice(rowsC.length >> 1);
    const injScores = await adapter.detector.score(takeRows(xTest, injIdx));
    const byScore = injIdx.map((r, k) => [injScores[k], r]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((
      p,
    ) => p[1]);
    const skip = new Set(rowsC);
    const base: number[] = [];
    for (let i = 0; i < xTest.rows; i++) if (!skip.has(i)) base.push(i);
    const order: number[] = [];
    const per = Math.min(perWindow, W - 1);
    for (let b = 0, k = 0; b < base.length || k < byScore.length;) {
      for (let j = 0; j < W - per && b < base.length; j++) order.push(base[b++]);
      for (let j = 0; j < per && k < byScore.length; j++) order.push(byScore[k++]);
    }
    const injSet = new Set(injIdx), injected = new Set<number>();
    order.forEach((r, pos) => {
      if (injSet.has(r)) injected.add(pos);
    });
    xs = takeRows(xTest, order);
    ys = Uint8Array.from(order, (r) => test.y[r]);
    const heldOut = takeRows(xTest, heldIdx);
    poisonCtx = { injected, heldOut, before: await detected(adapter, heldOut), category };
  }

  // The stream starts where training ended: the drift detector first sees the benign calibration scores, so
  // the step from training traffic to the test stream is a change it can detect.
  const drift = policy === "on-drift" ? createDriftDetector("adwin") : undefined;
  if (drift) {
    const calRaw = adapter.calibrationScores;
    for (let i = 0; i < calRaw.length; i++) if (Number.isFinite(calRaw[i])) drift.update(calRaw[i]);
  }
  const budget = new FeedbackBudget(share);
  const feedbackUsed: { row: number; label: number }[] = [];
  const windows: WindowResult[] = [];
  let updates = 0;
  const relative = new Float64Array(xs.rows);
  for (let start = 0, w = 0; start < xs.rows; start += W, w++) {
    const n = Math.min(W, xs.rows - start);
    const xw = matrix(xs.data.subarray(start * cols, (start + n) * cols), n, cols, names);
    const scores = await adapter.detector.score(xw);
    const used = adapter.threshold;
    for (let i = 0; i < n; i++) relative[start + i] = used > 0 ? scores[i] / used : scores[i] - used;
    const alerted = new Uint8Array(n);
    let fp = 0, tp = 0, benign = 0, attacks = 0, alerts = 0, fired = false;
    for (let i = 0; i < n; i++) {
      const y = ys[start + i];
      const a = scores[i] > used ? 1 : 0;
      alerted[i] = a;
      alerts += a;
      if (y) [attacks, tp] = [attacks + 1, tp + a];
      else [benign, fp] = [benign + 1, fp + a];
      if (drift && Number.isFinite(scores[i]) && drift.update(scores[i])) fired = true;
    }
    // Feedback: random alerts of this window, as many as the budget allows; answers from the labels.
    const alertIdx: number[] = [];
    for (let i = 0; i < n; i++) if (alerted[i]) alertIdx.push(i);
    const answers = Math.min(budget.allow(alerts), alertIdx.length);
    const confirmedFp: number[] = [];
    let fbTp = 0;
    if (pick === "borderline") alertIdx.sort((a, b) => scores[a] - scores[b] || a - b);
    if (pick === "coverage") {
      // Representatives of the densest groups of this window's alerts, within the threshold of each other.
      const picks = coveragePicks(xw, alertIdx, adapter.attacks.matrix(), used, answers);
      alertIdx.length = 0;
      for (const i of picks) alertIdx.push(i);
    }
    for (let k = 0; k < Math.min(answers, alertIdx.length); k++) {
      if (pick === "random") {
        const j = k + rng.int(alertIdx.length - k);
        [alertIdx[k], alertIdx[j]] = [alertIdx[j], alertIdx[k]];
      }
      const row = start + alertIdx[k], label = ys[row];
      feedbackUsed.push({ row, label });
      if (label) {
        adapter.confirmAttack(xs.data.subarray(row * cols, (row + 1) * cols));
        fbTp++;
      } else confirmedFp.push(alertIdx[k]);
    }
    const update = policy === "sliding" || policy === "incremental" || (policy === "on-drift" && fired);
    let learned = 0;
    if (update) {
      const r = await adapter.update(xw, scores, alerted, confirmedFp);
      learned = r.learned;
      if (poisonCtx) {
        for (const i of r.learnedRows) if (poisonCtx.injected.has(start + i)) injectedLearned++;
      }
      updates++;
      drift?.reset();
    }
    windows.push({
      window: w,
      start,
      rows: n,
      benign,
      attacks,
      fp,
      tp,
      fpr: benign ? fp / benign : NaN,
      recall: attacks ? tp / attacks : NaN,
      threshold: used,
      updated: update,
      drift: fired,
      learned,
      feedback: { fp: confirmedFp.length, tp: fbTp },
    });
    opts.log?.(
      `${policy} window ${w}: rows ${start}–${start + n - 1}, FPR ${
        (100 * (benign ? fp / benign : NaN)).toFixed(2)
      } %, ` +
        `recall ${(100 * (attacks ? tp / attacks : NaN)).toFixed(1)} %${
          update ? `, refit on ${adapter.pool.size} rows` : ""
        }`,
    );
  }
  const t = windows.reduce(
    (s, w) => ({
      rows: s.rows + w.rows,
      benign: s.benign + w.benign,
      attacks: s.attacks + w.attacks,
      fp: s.fp + w.fp,
      tp: s.tp + w.tp,
    }),
    { rows: 0, benign: 0, attacks: 0, fp: 0, tp: 0 },
  );
  const precision = t.tp + t.fp ? t.tp / (t.tp + t.fp) : 0, recall = t.attacks ? t.tp / t.attacks : NaN;
  let poison: AdaptationResult["poison"];
  if (poisonCtx) {
    const after = await detected(adapter, poisonCtx.heldOut);
    poison = {
      category: poisonCtx.category,
      injected: poisonCtx.injected.size,
      heldOut: poisonCtx.heldOut.rows,
      learned: injectedLearned,
      detectedBefore: poisonCtx.before,
      detectedAfter: after,
    };
  }
  adapter.dispose();
  let fprAtRecall: AdaptationResult["fprAtRecall"];
  if (opts.atRecall !== undefined) {
    fprAtRecall = { recall: opts.atRecall, fpr: fprAt(relative, ys, opts.atRecall) };
  }
  return {
    poison,
    fprAtRecall,
    experiment: input.id,
    policy,
    seed,
    test: test.name,
    windows,
    total: {
      ...t,
      fpr: t.benign ? t.fp / t.benign : NaN,
      recall,
      f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    },
    updates,
    feedbackUsed,
    guard,
    feedbackShare: share,
    feedbackPick: pick,
    window: W,
    orderBy: opts.orderBy ?? null,
  };
}

/** Share of `x`'s rows the adapter's model and threshold alert on. */
async function detected(adapter: ModelAdapter, x: Matrix): Promise<number> {
  const s = await adapter.detector.score(x);
  return s.reduce((n, v) => n + (v > adapter.threshold ? 1 : 0), 0) / x.rows;
}

/** The test set with its rows sorted by `column` (numbers numerically, else as text; stable). */
function orderedBy(frame: pl.DataFrame, test: TestSet, column: string): TestSet {
  if (!frame.columns.includes(column)) {
    throw new UsageError(
      `adaptation: orderBy: the test frame has no column "${column}" (columns: ${frame.columns.join(", ")})`,
    );
  }
  const all: unknown[] = frame.getColumn(column).toArray();
  const key = Array.from(test.rows, (r) => all[r]);
  const numeric = key.every((v) => typeof v === "number");
  const idx = Array.from(key, (_, i) => i).sort((a, b) => {
    const ka = key[a], kb = key[b];
    if (numeric) return (ka as number) - (kb as number) || a - b;
    const sa = String(ka), sb = String(kb);
    return sa < sb ? -1 : sa > sb ? 1 : a - b;
  });
  return {
    ...test,
    rows: Uint32Array.from(idx, (i) => test.rows[i]),
    y: Uint8Array.from(idx, (i) => test.y[i]),
    category: idx.map((i) => test.category[i]),
  };
}

/**
 * False-positive rate at the cut over `scores` where recall first reaches
 * `recall` (rows above the cut alert; ties at the cut alert together).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fprAt } from "./adaptation.ts";
 * // attacks score 5, 4, 1; benign 3, 2, 0: recall 2/3 needs a cut under 4, above 3 → FPR 0.
 * assert.equal(fprAt([5, 4, 1, 3, 2, 0], new Uint8Array([1, 1, 1, 0, 0, 0]), 2 / 3), 0);
 * assert.equal(fprAt([5, 4, 1, 3, 2, 0], new Uint8Array([1, 1, 1, 0, 0, 0]), 1), 2 / 3);
 * ```
 */
export function fprAt(scores: ArrayLike<number>, y: ArrayLike<number>, recall: number): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let pos = 0, neg = 0;
  for (let i = 0; i < y.length; i++) y[i] ? pos++ : neg++;
  if (!pos || !neg) return NaN;
  let tp = 0, fp = 0;
  for (let k = 0; k < idx.length;) {
    const v = scores[idx[k]];
    for (; k < idx.length && scores[idx[k]] === v; k++) y[idx[k]] ? tp++ : fp++;
    if (tp / pos >= recall - 1e-12) return fp / neg;
  }
  return fp / neg;
}
