/**
 * Model selection without test labels. An experiment config's `search` block
 * names candidate values for detector parameters and preprocessing; before the
 * seeds run, every combination is fit on the protocol's training rows and
 * ranked by ROC AUC on a **selection set** built only from what the protocol
 * lets a method see:
 *
 * - `labelled-training-split` (nsl-kdd, unsw-nb15): the training *file* carries
 *   attack labels no test set uses (KDDTrain+ is a different file from
 *   KDDTest+). The selection set is the held-out benign validation rows plus as
 *   many of the training file's attack rows (seeded sample). The detector
 *   still fits on benign rows only.
 * - `synthetic` (kddcup-dagmm, kddcup-rev, cic-ids2017): the protocol's only
 *   anomalies are test rows, so none may be looked at. The selection set is the
 *   benign validation rows against as many synthetic anomalies: validation rows
 *   whose columns are permuted independently (seeded), i.e. draws from the
 *   product of the benign marginals. Each value is realistic on its own; only the
 *   dependencies between features are broken — the reference-distribution idea
 *   of classification-based anomaly detection (Steinwart, Hush & Scovel, JMLR
 *   2005; Hempstalk, Frank & Witten, ECML 2008). It ranks how well a candidate
 *   models the joint benign distribution, which is a proxy, not a detection
 *   claim. When it cannot rank the best candidates (two or more reach AUROC
 *   ≥ 0.999 within 0.001 of each other), they are ranked again on harder sets:
 *   rows with only some of their columns permuted, half as many each time
 *   (down to one), until one set tells them apart ({@link permuteSomeColumns}).
 *   A row that is odd in a few fields is the case where aggregates of per-field
 *   evidence differ, so a set that every candidate separates perfectly says
 *   nothing about it.
 *
 * Ties keep the earlier candidate, and the first candidate is the config's own
 * `params`/`preprocess` with the first value of each searched field, so a search
 * that cannot tell candidates apart changes nothing. Every candidate's AUROC is
 * written to the run's `search.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { searchCandidates } from "./search.ts";
 * const c = searchCandidates({ k: 1 }, { scale: "minmax" }, { params: { k: [1, 5] }, preprocess: [{}, { log1p: true }] });
 * assert.deepEqual(c.map((x) => [x.params.k, !!x.preprocess.log1p]), [[1, false], [1, true], [5, false], [5, true]]);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import type { ExperimentConfig, PreprocessOptions, SearchConfig } from "./config.ts";
import type { ProtocolSplit } from "./protocols.ts";
import { fitPreprocess, gather, type Prepared } from "./prep.ts";
import { rocAuc } from "./metrics.ts";
import { createDetector } from "../detectors/registry.ts";
import type { Detector } from "../detectors/types.ts";
import { Rng } from "../util/random.ts";
import { InputError } from "../util/errors.ts";
import { fitThreshold } from "../thresholds/index.ts";

/** One point of the grid. */
export interface Candidate {
  params: Record<string, unknown>;
  preprocess: PreprocessOptions;
}

/** The grid: every preprocessing override × every combination of parameter values, in config order. */
export function searchCandidates(
  params: Record<string, unknown>,
  preprocess: PreprocessOptions,
  search: SearchConfig,
): Candidate[] {
  let grid: Record<string, unknown>[] = [{ ...params }];
  for (const [k, values] of Object.entries(search.params ?? {})) {
    const next: Record<string, unknown>[] = [];
    for (const g of grid) for (const v of values) next.push({ ...g, [k]: v });
    grid = next;
  }
  const pres = search.preprocess ?? [{}];
  const out: Candidate[] = [];
  for (const p of grid) {
    for (const pre of pres) out.push({ params: p, preprocess: { ...preprocess, ...pre } });
  }
  return out;
}

/** Which selection set a protocol's split allows (see the module doc). */
export type SelectionKind = "labelled-training-split" | "synthetic";

/** The rows candidates are ranked on: benign validation rows (y = 0) and anomalies (y = 1). */
export interface SelectionSet {
  kind: SelectionKind;
  frame: pl.DataFrame;
  y: Uint8Array;
  /** What the anomalies are, for search.json. */
  describe: string;
}

/** Independently permutes every column of `df` (seeded): draws from the product of its marginals. */
export function permuteColumns(df: pl.DataFrame, seed: number): pl.DataFrame {
  return df.width ? permuteSomeColumns(df, df.width, seed) : df;
}

/**
 * Replaces `k` of every row's columns (a seeded choice per row, among `columns`) with that column's value
 * in another row (a seeded permutation per column): a row that is benign except in `k` fields, each of
 * them a value the column holds. With `k` = every column it is {@link permuteColumns}' kind of row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { permuteSomeColumns } from "./search.ts";
 * const df = pl.DataFrame({ a: [1, 2, 3, 4], b: [10, 20, 30, 40], c: [5, 5, 5, 5] });
 * const p = permuteSomeColumns(df, 1, 7, ["a", "b"]);
 * const changed = p.rows().map((r, i) => r.filter((v, j) => v !== df.rows()[i][j]).length);
 * assert.ok(changed.every((n) => n <= 1), "at most one field of a row differs");
 * assert.ok([...p.getColumn("a").toArray()].every((v) => [1, 2, 3, 4].includes(Number(v))));
 * ```
 */
export function permuteSomeColumns(
  df: pl.DataFrame,
  k: number,
  seed: number,
  columns: readonly string[] = df.columns,
): pl.DataFrame {
  const n = df.height, m = columns.length;
  if (!Number.isInteger(k) || k < 1 || k > m) {
    throw new RangeError(`permuteSomeColumns: k must be an integer from 1 to ${m} (the columns), found ${k}`);
  }
  for (const c of columns) {
    if (!df.columns.includes(c)) throw new RangeError(`permuteSomeColumns: no column "${c}" in the frame`);
  }
  const rng = new Rng(seed);
  const perms = columns.map(() => rng.sampleIndices(n, n));
  // Every column of every row replaced: the permutations themselves ({@link permuteColumns}).
  let idx = perms;
  if (k < m) {
    idx = columns.map(() => Uint32Array.from({ length: n }, (_, i) => i));
    for (let i = 0; i < n; i++) {
      for (const j of rng.sampleIndices(m, k)) idx[j][i] = perms[j][i];
    }
  }
  const at = new Map(columns.map((c, j) => [c, j]));
  const cols = df.columns.map((c) => {
    const j = at.get(c);
    return j === undefined ? pl.col(c) : pl.col(c).gather(pl.Series("i", Array.from(idx[j]), pl.UInt32));
  });
  return df.select(...cols);
}

/** AUROC at or above this cannot rank candidates on a synthetic set (see the module doc). */
export const SATURATED_AUROC = 0.999;

/**
 * True when a selection set cannot rank `aurocs`: the best reaches {@link SATURATED_AUROC} and the
 * runner-up is within 0.001 of it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saturated } from "./search.ts";
 * assert.equal(saturated([1, 0.9999, 0.9991]), true);
 * assert.equal(saturated([1, 0.995]), false);
 * assert.equal(saturated([0.97, 0.97]), false);
 * assert.equal(saturated([1]), false);
 * ```
 */
export function saturated(aurocs: readonly number[]): boolean {
  if (aurocs.length < 2) return false;
  const [top, second] = [...aurocs].sort((a, b) => b - a);
  return top >= SATURATED_AUROC && second >= top - 1e-3;
}

/**
 * How many columns each harder synthetic set permutes, after the set with all `m` permuted: half as
 * many each time, rounded up, down to one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { harderLevels } from "./search.ts";
 * assert.deepEqual(harderLevels(74), [37, 19, 10, 5, 3, 2, 1]);
 * assert.deepEqual(harderLevels(1), []);
 * ```
 */
export function harderLevels(m: number): number[] {
  const out: number[] = [];
  for (let k = m; k > 1;) out.push(k = Math.ceil(k / 2));
  return out;
}

/** Index of the highest value; a tie keeps the earlier one (the config's own candidate comes first). */
function firstBest(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Builds the selection set of a split (`seed` drives sampling and permutation). */
export function selectionSet(split: ProtocolSplit, seed: number): SelectionSet {
  const val = gather(split.frames[split.validation.frame], split.validation.rows);
  const n = val.height;
  if (n < 2) {
    throw new InputError(
      `search: the ${split.protocol} split of seed ${seed} holds ${n} benign validation rows; ranking candidates ` +
        `needs at least 2 (the dataset is too small for a search, or validationFraction is 0)`,
    );
  }
  let anomalies: pl.DataFrame, describe: string, kind: SelectionKind;
  const a = split.labelledTrainingAnomalies;
  if (a && a.rows.length) {
    const rng = new Rng(seed + 101);
    const k = Math.min(n, a.rows.length);
    const pick = Uint32Array.from(rng.sampleIndices(a.rows.length, k), (i) => a.rows[i]).sort();
    anomalies = gather(split.frames[a.frame], pick);
    kind = "labelled-training-split";
    describe = `${k} attack rows of the training file (${a.frame}) beside ${n} benign validation rows`;
  } else {
    anomalies = permuteColumns(val, seed + 103);
    kind = "synthetic";
    describe = `${n} benign validation rows with independently permuted columns beside ${n} unpermuted ones`;
  }
  const cols = val.columns;
  const frame = pl.concat([val, anomalies.select(...cols)], { how: "vertical" });
  const y = new Uint8Array(frame.height);
  y.fill(1, n);
  return { kind, frame, y, describe };
}

/** One ranked candidate. */
export interface CandidateResult extends Candidate {
  /** ROC AUC on the selection set. */
  auroc: number;
  seconds: number;
}

/** One ranked threshold parameter set. */
export interface ThresholdCandidateResult {
  params: Record<string, unknown>;
  /** The threshold it gave on the chosen model's benign validation scores. */
  value: number;
  /** (TPR + TNR) / 2 on the selection set: prevalence-free, as the set is balanced by construction. */
  balanced_accuracy: number;
}

/** A harder synthetic set the candidates were ranked on (see the module doc). */
export interface HarderSetResult {
  /** Columns permuted in each anomalous row (of `of` that vary among the benign validation rows). */
  columnsPermuted: number;
  of: number;
  /** Each candidate's ROC AUC on this set, in candidate order. */
  aurocs: number[];
}

/** What {@link selectModel} found; written to search.json. */
export interface SearchResult {
  criterion: "roc_auc";
  selection: SelectionKind;
  selectionSet: string;
  seed: number;
  fitRows: number;
  /** Each candidate's `auroc` is on the first set. */
  candidates: CandidateResult[];
  /**
   * The harder sets, when the first could not rank the best candidates ({@link saturated}); the last
   * one ranked them. Absent when the first set decided.
   */
  harder?: HarderSetResult[];
  /** Index into `candidates` of the one the seeds run with. */
  chosen: number;
  /** With `search.threshold`: every threshold parameter set, ranked on the chosen model. */
  thresholds?: ThresholdCandidateResult[];
  /** Index into `thresholds` of the one the seeds use. */
  chosenThreshold?: number;
}

/** (TPR + TNR) / 2 of flagging `scores > threshold` against `y`. */
export function balancedAccuracy(y: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): number {
  let tp = 0, pos = 0, tn = 0, neg = 0;
  for (let i = 0; i < y.length; i++) {
    const flagged = scores[i] > threshold;
    if (y[i]) {
      pos++;
      if (flagged) tp++;
    } else {
      neg++;
      if (!flagged) tn++;
    }
  }
  return ((pos ? tp / pos : 0) + (neg ? tn / neg : 0)) / 2;
}

/**
 * Fits every candidate on the split's training rows and ranks it on the selection set. Never touches
 * `split.tests`.
 */
export async function selectModel(
  config: ExperimentConfig,
  split: ProtocolSplit,
  candidates: Candidate[],
  opts: { seed: number; maxFitRows?: number; log?: (line: string) => void },
): Promise<SearchResult> {
  const sel = selectionSet(split, opts.seed);
  // Refused before any candidate is fitted: the answer does not depend on them.
  if (config.search?.threshold && sel.kind !== "labelled-training-split") {
    throw new InputError(
      `search.threshold needs attack-labelled training rows; protocol ${config.protocol} has none ` +
        `(its anomalies are all test rows), so a threshold cannot be chosen without test labels`,
    );
  }
  let trainRows = split.train.rows;
  if (opts.maxFitRows && trainRows.length > opts.maxFitRows) {
    const rng = new Rng(opts.seed + 107);
    trainRows = Uint32Array.from(rng.sampleIndices(trainRows.length, opts.maxFitRows), (i) => trainRows[i])
      .sort();
  }
  const trainDf = gather(split.frames[split.train.frame], trainRows);
  const results: CandidateResult[] = [];
  let chosen = 0;
  let chosenScores = new Float64Array(0);
  // A synthetic set may not rank the best candidates: they stay fitted for the harder sets.
  const kept: { det: Detector; prep: Prepared }[] = [];
  let harder: HarderSetResult[] | undefined;
  try {
    for (const [i, c] of candidates.entries()) {
      const t0 = performance.now();
      const prep = fitPreprocess(trainDf, c.preprocess);
      const det = createDetector(config.detector, c.params, opts.seed);
      // Kept before fitting, so a failure still frees it (finally below).
      kept.push({ det, prep });
      await det.fit(prep.train);
      const scores = await det.score(prep.apply(sel.frame));
      if (sel.kind !== "synthetic") kept.pop()!.det.dispose?.();
      const auroc = rocAuc(sel.y, scores);
      results.push({ ...c, auroc, seconds: (performance.now() - t0) / 1000 });
      if (i === 0 || auroc > results[chosen].auroc) {
        chosen = i;
        chosenScores = Float64Array.from(scores);
      }
      opts.log?.(
        `search ${i + 1}/${candidates.length}: ${JSON.stringify(c.params)} ${
          JSON.stringify(c.preprocess)
        } → selection AUROC ${auroc.toFixed(4)}`,
      );
    }
    if (sel.kind === "synthetic" && saturated(results.map((r) => r.auroc))) {
      harder = await rankHarder(
        sel,
        kept.map(({ det, prep }) => (rows) => det.score(prep.apply(rows))),
        opts,
      );
      const last = harder.at(-1)?.aurocs;
      if (last) chosen = firstBest(last);
    }
  } finally {
    for (const k of kept) k.det.dispose?.();
  }
  let thresholds: ThresholdCandidateResult[] | undefined, chosenThreshold: number | undefined;
  if (config.search?.threshold) {
    // The selection set's benign rows are the validation rows the seeds' thresholds are fit on.
    const benign = chosenScores.filter((_, i) => sel.y[i] === 0);
    thresholds = config.search.threshold.map((t) => {
      const params = { ...(config.threshold.params ?? {}), ...t };
      const value = fitThreshold(config.threshold.strategy, benign, params).value;
      return { params, value, balanced_accuracy: balancedAccuracy(sel.y, chosenScores, value) };
    });
    chosenThreshold = firstBest(thresholds.map((t) => t.balanced_accuracy));
    opts.log?.(
      `search: threshold ${
        thresholds.map((t) =>
          `${JSON.stringify(t.params)} → balanced accuracy ${t.balanced_accuracy.toFixed(4)}`
        )
          .join(", ")
      }`,
    );
  }
  return {
    criterion: "roc_auc",
    selection: sel.kind,
    selectionSet: sel.describe,
    seed: opts.seed,
    fitRows: trainRows.length,
    candidates: results,
    ...(harder ? { harder } : {}),
    chosen,
    ...(thresholds ? { thresholds, chosenThreshold } : {}),
  };
}

/**
 * Ranks fitted candidates (`scorers`: rows → scores) on harder synthetic sets ({@link harderLevels}) until
 * one is not {@link saturated}, or one column per row is permuted; the benign half of `sel` is the same on
 * every set. Called by {@link selectModel} when `sel` itself could not rank them.
 */
export async function rankHarder(
  sel: SelectionSet,
  scorers: ((rows: pl.DataFrame) => Promise<ArrayLike<number>> | ArrayLike<number>)[],
  opts: { seed: number; log?: (line: string) => void },
): Promise<HarderSetResult[]> {
  const n = sel.y.length - sel.y.reduce((s, v) => s + v, 0);
  const benign = sel.frame.head(n);
  // A column with one value among the benign rows (the label, a constant feature) would be permuted
  // without effect; only the columns that vary count.
  const varying = benign.columns.filter((c) => benign.getColumn(c).nUnique() > 1);
  const out: HarderSetResult[] = [];
  for (const k of harderLevels(varying.length)) {
    opts.log?.(
      `search: the set cannot rank the best candidates (AUROC ≥ ${SATURATED_AUROC}); ranking again with ` +
        `${k} of ${varying.length} columns permuted per row`,
    );
    const frame = pl.concat([benign, permuteSomeColumns(benign, k, opts.seed + 109 + k, varying)], {
      how: "vertical",
    });
    const aurocs: number[] = [];
    for (const score of scorers) aurocs.push(rocAuc(sel.y, await score(frame)));
    out.push({ columnsPermuted: k, of: varying.length, aurocs });
    opts.log?.(`search: ${aurocs.map((a) => a.toFixed(4)).join(", ")}`);
    if (!saturated(aurocs)) break;
  }
  return out;
}
