/**
 * Training a detector end to end on a table: select benign rows, hold out a
 * benign validation split, fit the preprocessing transform on the training
 * part only, fit the detector, fit the threshold on the validation scores,
 * and (optionally) save a model directory. `nadir train` is a thin wrapper
 * around {@link trainOnFrame}; notebooks and the experiment runner compose the
 * same steps themselves (src/eval/prep.ts, the detector registry and
 * src/thresholds/) because they keep test splits and per-seed state.
 *
 * Split: random (seeded) by default; detectors whose order matters (streaming
 * ones such as KitNET, and the sequence model `lstm`) get the last
 * `valFraction` of the rows instead, so training and validation stay in time
 * order, and keep duplicate rows (repetition is part of a stream).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDataset } from "../data/datasets.ts";
 * import { trainOnFrame } from "./train.ts";
 * const { df } = loadDataset("nsl-kdd-test-21");
 * const r = await trainOnFrame(df.head(2000), { detector: "isolation-forest", silent: true });
 * assert.equal(r.threshold.strategy, "percentile");
 * assert.ok(r.trainRows > 0);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import {
  firstOccurrences,
  fitTransform,
  type NanPolicy,
  type ScaleMethod,
  type Transform,
} from "../data/preprocess.ts";
import { featureColumns, TARGET_COLUMNS } from "../data/schema.ts";
import type { Matrix } from "../data/matrix.ts";
import { InputError, withFile } from "../util/errors.ts";
import { Progress } from "../util/progress.ts";
import { Rng } from "../util/random.ts";
import { fitThreshold } from "../thresholds/index.ts";
import type { Threshold } from "../thresholds/types.ts";
import { createDetector, getDetectorFactory, loadDetector } from "./registry.ts";
import { hashMatrix, type LoadedModel, type Manifest, saveModel } from "./model_dir.ts";
import { type BenignProfile, benignProfile } from "./explain.ts";
import { type Detector, isStreaming, type ScoreContext } from "./types.ts";

/** Options for {@link trainOnFrame}. */
export interface TrainOptions {
  detector: string;
  params?: Record<string, unknown>;
  seed?: number;
  /** Feature columns (raw input names); default: the frame's feature set `featureSet`. */
  features?: readonly string[];
  /** Named feature set of the frame's schema (default "all"). */
  featureSet?: string;
  /** Train on every row (unlabelled flows). Without it the frame needs a `label` column (0 = benign). */
  assumeBenign?: boolean;
  /** Fraction of benign rows held out to fit the threshold (default 0.1). */
  valFraction?: number;
  /** "auto" (default): "tail" for streaming/sequence detectors, else "random". */
  split?: "auto" | "random" | "tail";
  /** Threshold strategy and params (default percentile q = 0.99). */
  threshold?: { strategy: string; params?: Record<string, unknown> };
  scale?: ScaleMethod;
  nanPolicy?: NanPolicy;
  /**
   * Drop exact duplicate training rows before fitting (default: yes for the
   * random split, no for the tail split, where row order and repetition are
   * the signal a streaming/sequence detector learns from).
   */
  dropDuplicates?: boolean;
  /** Use at most this many benign training rows (seeded sample; for quick runs). */
  maxRows?: number;
  /** Group keys / timestamps per frame row for sequence models (default: derived from the frame). */
  context?: ScoreContext;
  /** No progress bar. */
  silent?: boolean;
  /**
   * Continue training a fitted model instead of fitting a new one (`nadir train --init`; see
   * {@link fineTuneStart}): its preprocessing is applied, not refitted, and the detector's
   * `partialFit` trains further on the benign training rows. `detector` and `params` are then ignored.
   */
  init?: FineTuneStart;
}

/** A fitted model to continue training: the detector (params already merged) and its preprocessing. */
export interface FineTuneStart {
  detector: Detector;
  transform: Transform;
  /** Where it came from (a model directory), for the record. */
  from: string;
}

/**
 * The start of a fine-tune from a fitted detector and its preprocessing: a copy of the detector
 * (seeded `seed`; the original is left as it is), with `params` changing only the hyperparameters its
 * factory marks `tunable` (training knobs, score aggregates; the others fix the weights' shapes). The
 * detector must have `partialFit`.
 */
export async function fineTuneFrom(
  fitted: Detector,
  transform: Transform,
  from: string,
  params: Record<string, unknown> = {},
  seed = 0,
): Promise<FineTuneStart> {
  const specs = getDetectorFactory(fitted.name).params;
  const fixed = Object.keys(params).filter((k) => specs[k] && !specs[k].tunable);
  if (fixed.length) {
    throw new InputError(
      `cannot change ${fixed.join(", ")} when fine-tuning the ${fitted.name} model from ${from}: ` +
        `they fix its weights' shapes; tunable: ${
          Object.keys(specs).filter((k) => specs[k].tunable).join(", ")
        }`,
    );
  }
  if (!fitted.partialFit) {
    throw new InputError(
      `the ${fitted.name} detector cannot continue training a fitted model (no partialFit); ` +
        `fine-tuning works for detectors that have it (flow-lm, autoencoder)`,
    );
  }
  const detector = await loadDetector(
    fitted.name,
    await fitted.save(),
    { ...fitted.params, ...params },
    seed,
  );
  return { detector, transform, from };
}

/** {@link fineTuneFrom} a model directory (`nadir train --init DIR`); it needs a preprocessing transform. */
export async function fineTuneStart(
  model: LoadedModel,
  params: Record<string, unknown>,
  seed: number,
): Promise<FineTuneStart> {
  const { transformOf } = await import("./predict.ts");
  const transform = transformOf(model);
  if (!transform) {
    throw new InputError(
      "the model has no preprocessing transform to apply to the fine-tuning rows (expected a model " +
        "written by nadir train or nadir pretrain)",
      { file: `${model.dir}/manifest.json` },
    );
  }
  return await withFile(
    `${model.dir}/manifest.json`,
    () => fineTuneFrom(model.detector, transform, model.dir, params, seed),
  );
}

/** What {@link trainOnFrame} returns. */
export interface TrainResult {
  detector: Detector;
  transform: Transform;
  threshold: Threshold;
  featureNames: string[];
  /** Raw input feature columns the transform reads. */
  inputFeatures: string[];
  trainRows: number;
  valRows: number;
  valScores: Float64Array;
  trainSeconds: number;
  split: "random" | "tail";
  /** sha256 of the transformed training matrix. */
  trainingMatrixHash: string;
  /** Per-column benign quantiles of the (transformed) training matrix, saved for explanations. */
  profile: BenignProfile;
  report: Record<string, unknown>;
}

const GROUP_COLUMNS = ["src_ip", "Source IP", "srcip", "saddr"];
const TIME_COLUMNS = [
  "bidirectional_first_seen_ms",
  "src2dst_first_seen_ms",
  "first_seen_us",
  "stime",
  "ts",
  "timestamp",
];

/** Group keys (source host) and numeric timestamps from a frame's metadata columns, when present. */
export function contextFromFrame(df: pl.DataFrame): ScoreContext | undefined {
  const g = GROUP_COLUMNS.find((c) => df.columns.includes(c));
  const t = TIME_COLUMNS.find((c) =>
    df.columns.includes(c) && /Int|Float/.test(String(df.getColumn(c).dtype))
  );
  if (!g && !t) return undefined;
  return {
    groups: g ? (df.getColumn(g).toArray() as unknown[]).map((v) => String(v)) : undefined,
    timestamps: t
      ? Float64Array.from(df.getColumn(t).cast(pl.Float64).toArray() as (number | null)[], (v) => v ?? NaN)
      : undefined,
  };
}

function pick<T>(a: ArrayLike<T> | undefined, idx: ArrayLike<number>): T[] | undefined {
  return a ? Array.from({ length: idx.length }, (_, i) => a[idx[i]]) : undefined;
}

function subContext(c: ScoreContext | undefined, idx: ArrayLike<number>): ScoreContext | undefined {
  return c ? { groups: pick(c.groups, idx), timestamps: pick(c.timestamps, idx) } : undefined;
}

function mask(n: number, idx: ArrayLike<number>): pl.Series {
  const m = new Array<boolean>(n).fill(false);
  for (let i = 0; i < idx.length; i++) m[idx[i]] = true;
  return pl.Series("__keep", m);
}

/** Trains on a frame (see the module docs). */
export async function trainOnFrame(df: pl.DataFrame, opts: TrainOptions): Promise<TrainResult> {
  const seed = opts.seed ?? 0;
  const valFraction = opts.valFraction ?? 0.1;
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new InputError(
      `valFraction must be in (0, 1): the threshold is fitted on held-out benign rows; found ${valFraction}`,
    );
  }
  const detector = opts.init?.detector ?? createDetector(opts.detector, opts.params ?? {}, seed);
  // Benign rows.
  let benign: number[];
  if (opts.assumeBenign) benign = Array.from({ length: df.height }, (_, i) => i);
  else {
    if (!df.columns.includes("label")) {
      throw new InputError(
        "the input has no label column; pass --assume-benign (assumeBenign) to train on every row",
      );
    }
    const lab = df.getColumn("label").cast(pl.Float64).toArray() as (number | null)[];
    benign = [];
    for (let i = 0; i < lab.length; i++) if (lab[i] === 0) benign.push(i);
  }
  if (benign.length < 2) {
    throw new InputError(`need at least 2 benign rows to train and validate, found ${benign.length}`);
  }
  const rng = new Rng(seed);
  const split: "random" | "tail" = opts.split && opts.split !== "auto"
    ? opts.split
    : isStreaming(detector) || opts.detector === "lstm"
    ? "tail"
    : "random";
  let order = benign;
  if (split === "random") order = Array.from(rng.shuffle(benign.slice()));
  const nVal = Math.max(1, Math.round(order.length * valFraction));
  let trainIdx: number[], valIdx: number[];
  if (split === "random") {
    valIdx = order.slice(0, nVal).sort((a, b) => a - b);
    trainIdx = order.slice(nVal).sort((a, b) => a - b);
  } else {
    trainIdx = order.slice(0, order.length - nVal);
    valIdx = order.slice(order.length - nVal);
  }
  if (opts.maxRows !== undefined && trainIdx.length > opts.maxRows) {
    const keep = rng.sampleIndices(trainIdx.length, opts.maxRows).sort();
    trainIdx = Array.from(keep, (k) => trainIdx[k]);
  }
  if (trainIdx.length === 0) {
    throw new InputError("no benign rows left for training after the validation split");
  }
  const context = opts.context ?? contextFromFrame(df);
  const trainDf = df.filter(mask(df.height, trainIdx));
  const valDf = df.filter(mask(df.height, valIdx));
  const features = opts.init
    ? opts.init.transform.inputColumns
    : opts.features
    ? [...opts.features]
    : featureColumns(df, opts.featureSet ?? "all");
  const leaks = features.filter((f) => (TARGET_COLUMNS as readonly string[]).includes(f));
  if (leaks.length) throw new InputError(`target column(s) ${leaks.join(", ")} cannot be features`);
  const dropDuplicates = opts.dropDuplicates ?? split === "random";
  const fitted = opts.init
    ? appliedAsFit(opts.init.transform, trainDf, features, dropDuplicates)
    : fitTransform(trainDf, {
      features,
      scale: opts.scale ?? "minmax",
      nanPolicy: opts.nanPolicy ?? "median",
      dropDuplicates,
    });
  const x: Matrix = fitted.matrix;
  const trainCtx = subContext(subContext(context, trainIdx), fitted.rows);
  const valApplied = fitted.transform.applyDetailed(valDf);
  const valCtx = subContext(
    subContext(context, valIdx),
    valApplied.rows ?? Array.from({ length: valIdx.length }, (_, i) => i),
  );
  const progress = new Progress({ label: `train ${opts.detector}`, total: 1, silent: opts.silent });
  const t0 = performance.now();
  const fitOptions = {
    context: trainCtx,
    onProgress: (p: { step: number; total: number; loss?: number; valLoss?: number }) => {
      const extra: Record<string, number> = {};
      if (p.loss !== undefined && Number.isFinite(p.loss)) extra.loss = p.loss;
      if (p.valLoss !== undefined && Number.isFinite(p.valLoss)) extra.val_loss = p.valLoss;
      progress.update(p.step / p.total, extra);
    },
  };
  if (opts.init) await detector.partialFit!(x, fitOptions);
  else await detector.fit(x, fitOptions);
  const trainSeconds = (performance.now() - t0) / 1000;
  progress.done();
  const valScores = Float64Array.from(await detector.score(valApplied.matrix, valCtx));
  const tSpec = opts.threshold ?? { strategy: "percentile", params: { q: 0.99 } };
  const threshold = fitThreshold(tSpec.strategy, valScores, tSpec.params ?? {});
  return {
    detector,
    transform: fitted.transform,
    threshold,
    featureNames: [...fitted.transform.outputNames],
    inputFeatures: fitted.transform.inputColumns,
    trainRows: x.rows,
    valRows: valApplied.matrix.rows,
    valScores,
    trainSeconds,
    split,
    trainingMatrixHash: hashMatrix(x),
    profile: benignProfile(x),
    report: { ...fitted.report, ...(opts.init ? { initFrom: opts.init.from } : {}) },
  };
}

/**
 * A fitted transform applied to fine-tuning rows, shaped like a fit's result: exact duplicates of the
 * input columns dropped first (as a fit drops them), then the transform applied.
 */
export function appliedAsFit(
  t: Transform,
  df: pl.DataFrame,
  features: readonly string[],
  dropDuplicates: boolean,
): { matrix: Matrix; transform: Transform; rows: Uint32Array; report: Record<string, unknown> } {
  const missing = features.filter((f) => !df.columns.includes(f));
  if (missing.length) {
    throw new InputError(
      `the fine-tuning rows lack ${missing.length} of the model's ${features.length} input columns: ${
        missing.slice(0, 5).join(", ")
      }${missing.length > 5 ? ", …" : ""}`,
    );
  }
  const keep: Uint32Array = dropDuplicates
    ? firstOccurrences(df, features)
    : Uint32Array.from({ length: df.height }, (_, i) => i);
  const applied = t.applyDetailed(df.filter(mask(df.height, keep)));
  const rows = applied.rows ? Uint32Array.from(applied.rows, (r) => keep[r]) : keep;
  return {
    matrix: applied.matrix,
    transform: t,
    rows,
    report: { ...applied.report, duplicatesDropped: df.height - keep.length },
  };
}

/** Saves a {@link trainOnFrame} result as a model directory. */
export async function saveTrained(
  dir: string,
  r: TrainResult,
  extra: { seed: number; featureSet?: string; trainingDataHash?: string; training?: Record<string, unknown> },
): Promise<Manifest> {
  return await saveModel(dir, {
    detector: r.detector,
    seed: extra.seed,
    featureNames: r.featureNames,
    featureSet: extra.featureSet,
    transform: r.transform.toJSON(),
    threshold: r.threshold,
    profile: r.profile,
    trainingDataHash: extra.trainingDataHash ?? r.trainingMatrixHash,
    training: {
      trainRows: r.trainRows,
      valRows: r.valRows,
      split: r.split,
      trainSeconds: Number(r.trainSeconds.toFixed(3)),
      trainingMatrixSha256: r.trainingMatrixHash,
      preprocess: r.report,
      ...(extra.training ?? {}),
    },
  });
}
