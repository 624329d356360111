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
 *   claim.
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
import { fitPreprocess, gather } from "./prep.ts";
import { rocAuc } from "./metrics.ts";
import { createDetector } from "../detectors/registry.ts";
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
  const rng = new Rng(seed);
  const cols = df.columns.map((c) =>
    pl.col(c).gather(pl.Series("i", Array.from(rng.sampleIndices(df.height, df.height)), pl.UInt32))
  );
  return df.select(...cols);
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

/** What {@link selectModel} found; written to search.json. */
export interface SearchResult {
  criterion: "roc_auc";
  selection: SelectionKind;
  selectionSet: string;
  seed: number;
  fitRows: number;
  candidates: CandidateResult[];
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
  for (const [i, c] of candidates.entries()) {
    const t0 = performance.now();
    const prep = fitPreprocess(trainDf, c.preprocess);
    const det = createDetector(config.detector, c.params, opts.seed);
    await det.fit(prep.train);
    const scores = await det.score(prep.apply(sel.frame));
    det.dispose?.();
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
  let thresholds: ThresholdCandidateResult[] | undefined, chosenThreshold: number | undefined;
  if (config.search?.threshold) {
    if (sel.kind !== "labelled-training-split") {
      throw new InputError(
        `search.threshold needs attack-labelled training rows; protocol ${config.protocol} has none ` +
          `(its anomalies are all test rows), so a threshold cannot be chosen without test labels`,
      );
    }
    // The selection set's benign rows are the validation rows the seeds' thresholds are fit on.
    const benign = chosenScores.filter((_, i) => sel.y[i] === 0);
    thresholds = config.search.threshold.map((t) => {
      const params = { ...(config.threshold.params ?? {}), ...t };
      const value = fitThreshold(config.threshold.strategy, benign, params).value;
      return { params, value, balanced_accuracy: balancedAccuracy(sel.y, chosenScores, value) };
    });
    chosenThreshold = 0;
    thresholds.forEach((t, i) => {
      if (t.balanced_accuracy > thresholds![chosenThreshold!].balanced_accuracy) chosenThreshold = i;
    });
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
    chosen,
    ...(thresholds ? { thresholds, chosenThreshold } : {}),
  };
}
