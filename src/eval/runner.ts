/**
 * The experiment runner: one config → one result folder.
 *
 * For each seed: instantiate the protocol's split, fit the preprocessing on the
 * training rows only, fit the detector, fit the threshold on the held-out
 * benign validation scores, score every test set, compute metrics. Metrics
 * are then averaged over seeds (with std and per-seed values), and the folder
 * gets config.json, env.json, data.json, metrics[.<TestSet>].json,
 * scores[.<TestSet>].parquet (first seed) and figures.
 *
 * Scoring deduplicates identical test rows first (KDD'99 is ~75 % duplicates):
 * every registered detector scores rows independently, so this changes no
 * score, only the time; `score_rows_per_s` counts rows actually scored.
 *
 * @example
 * ```ts ignore
 * import { runExperiment } from "./runner.ts";
 * import config from "../../experiments/nsl-kdd-knn.ts";
 * const { dir } = await runExperiment(config, { quick: true, root: await Deno.makeTempDir() });
 * ```
 * @module
 */
import pl from "nodejs-polars";
import type { ExperimentConfig, PreprocessOptions } from "./config.ts";
import { searchCandidates, selectModel } from "./search.ts";
import { getProtocol, missingPaths, type ProtocolSplit, type TestSet } from "./protocols.ts";
import { MissingDataError } from "../util/errors.ts";
import {
  bootstrapCi95,
  classify,
  type EvalMetrics,
  evaluate,
  perCategory,
  prCurve,
  rocAuc,
  rocCurve,
} from "./metrics.ts";
import { gitShortSha, RunFolder, runStamp } from "./results.ts";
import { fitPreprocess, gather, type Prepared } from "./prep.ts";
import { createDetector, detectorBackend, detectorParams } from "../detectors/registry.ts";
import { fitThreshold } from "../thresholds/index.ts";
import type { Matrix } from "../data/matrix.ts";
import { Progress } from "../util/progress.ts";
import { fileSha256 } from "../util/hash.ts";
import { environment } from "./env.ts";

/** Options for {@link runExperiment}. */
export interface RunOptions {
  /** Results root (default "results"). */
  root?: string;
  /** Use the config's quick overrides (tiny slice). */
  quick?: boolean;
  /** Use only the first N seeds of the config. */
  seeds?: number;
  /** Silence progress bars. */
  silent?: boolean;
  /** Skip figures (tests that only check metrics). */
  figures?: boolean;
  /** Called with a line of progress text. */
  log?: (line: string) => void;
}

/** The flat keys of a metrics file, averaged over seeds. */
export const FLAT_KEYS = [
  "accuracy",
  "precision",
  "recall",
  "f1",
  "fpr",
  "roc_auc",
  "pr_auc",
  "recall_at_fpr_0_001",
  "recall_at_fpr_0_01",
  "train_seconds",
  "score_rows_per_s",
  "model_bytes",
  "peak_rss_bytes",
] as const;

/** What one seed produced for one test set. */
interface SeedResult {
  seed: number;
  metrics: EvalMetrics & {
    train_seconds: number;
    score_rows_per_s: number;
    model_bytes: number;
    peak_rss_bytes: number;
  };
  perCategory: ReturnType<typeof perCategory>;
  scores: Float64Array;
  test: TestSet;
}

/**
 * How many rows of `held` are exact copies of a row of `fit` (after preprocessing). KDD'99 is
 * mostly duplicates: a held-out copy of a fit row scores like a fit row (kNN distance 0). That is
 * right when the protocol's benign test rows come from the same pool (kddcup-*, cic-ids2017: they
 * carry the same share of copies, so the validation quantile stays calibrated) and would bias the
 * threshold low when they do not; data.json records the share so the question can be checked.
 */
export function rowsSeenIn(fit: Matrix, held: Matrix): number {
  if (fit.cols !== held.cols) throw new Error(`column counts differ: ${fit.cols} vs ${held.cols}`);
  const dec = new TextDecoder("latin1");
  const key = (m: Matrix, i: number) =>
    dec.decode(new Uint8Array(m.data.buffer, m.data.byteOffset + i * m.cols * 8, m.cols * 8));
  const seen = new Set<string>();
  for (let i = 0; i < fit.rows; i++) seen.add(key(fit, i));
  let n = 0;
  for (let i = 0; i < held.rows; i++) if (seen.has(key(held, i))) n++;
  return n;
}

/** Scores unique rows only and scatters the scores back. */
async function scoreDedup(
  score: (x: Matrix) => Promise<Float64Array> | Float64Array,
  x: Matrix,
): Promise<{ scores: Float64Array; unique: number; seconds: number }> {
  const seen = new Map<string, number>();
  const uniq: number[] = [];
  const slot = new Uint32Array(x.rows);
  const view = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
  const rowBytes = x.cols * 8;
  const dec = new TextDecoder("latin1");
  for (let i = 0; i < x.rows; i++) {
    const key = dec.decode(view.subarray(i * rowBytes, (i + 1) * rowBytes));
    let s = seen.get(key);
    if (s === undefined) {
      s = uniq.length;
      seen.set(key, s);
      uniq.push(i);
    }
    slot[i] = s;
  }
  const data = new Float64Array(uniq.length * x.cols);
  uniq.forEach((r, k) => data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), k * x.cols));
  const t0 = performance.now();
  const u = await score({ data, rows: uniq.length, cols: x.cols, names: x.names });
  const seconds = (performance.now() - t0) / 1000;
  const scores = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) scores[i] = u[slot[i]];
  return { scores, unique: uniq.length, seconds };
}

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}
function std(a: number[]): number {
  if (a.length < 2) return 0;
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1));
}

/** The protocol's split of `config` for `seed` (capped rows with `--quick`). */
function loadSplit(config: ExperimentConfig, seed: number, opts: RunOptions): Promise<ProtocolSplit> {
  return Promise.resolve(
    getProtocol(config.protocol).load({
      seed,
      validationFraction: config.validationFraction,
      paths: config.paths,
      features: config.features,
      maxRows: opts.quick ? (config.quick?.maxRows ?? 2000) : undefined,
    }),
  );
}

/** Runs one seed; returns a result per test set plus split facts. */
async function runSeed(
  config: ExperimentConfig,
  seed: number,
  opts: RunOptions,
  params: Record<string, unknown>,
  preprocess: PreprocessOptions,
): Promise<
  {
    results: SeedResult[];
    split: ProtocolSplit;
    prep: Prepared;
    trainRows: number;
    valRows: number;
    valSeenInFit: number;
    threshold: number;
  }
> {
  const log = opts.log ?? (() => {});
  const split = await loadSplit(config, seed, opts);
  const trainDf = gather(split.frames[split.train.frame], split.train.rows);
  const prep = fitPreprocess(trainDf, preprocess);
  const xTrain = prep.train;
  const xVal = prep.apply(gather(split.frames[split.validation.frame], split.validation.rows));
  const valSeenInFit = rowsSeenIn(xTrain, xVal);
  log(
    `seed ${seed}: train ${xTrain.rows}×${xTrain.cols}, validation ${xVal.rows} (${valSeenInFit} copies of fit rows)`,
  );

  let peak = Deno.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 250);
  try {
    const det = createDetector(config.detector, params, seed);
    const bar = new Progress({ label: `fit ${config.detector} seed ${seed}`, silent: opts.silent });
    const t0 = performance.now();
    await det.fit(xTrain, {
      onProgress: (p) => bar.update(p.step, p.loss !== undefined ? { loss: p.loss } : undefined),
    });
    bar.done();
    const trainSeconds = (performance.now() - t0) / 1000;
    const saved = await det.save();
    const modelBytes = new TextEncoder().encode(JSON.stringify(saved.state)).length +
      Object.values(saved.blobs ?? {}).reduce((s, b) => s + b.byteLength, 0);
    const valScores = await det.score(xVal);
    const threshold = fitThreshold(config.threshold.strategy, valScores, config.threshold.params ?? {});
    const results: SeedResult[] = [];
    for (const test of split.tests) {
      const x = prep.apply(gather(split.frames[test.frame], test.rows));
      const sb = new Progress({
        label: `score ${test.name} seed ${seed}`,
        total: x.rows,
        silent: opts.silent,
      });
      const { scores, unique, seconds } = await scoreDedup((m) => det.score(m), x);
      sb.update(x.rows);
      sb.done();
      peak = Math.max(peak, Deno.memoryUsage().rss);
      const m = evaluate(test.y, scores, threshold.value);
      const pred = Uint8Array.from(scores, (s) => (s > threshold.value ? 1 : 0));
      results.push({
        seed,
        test,
        scores,
        perCategory: perCategory(test.category, pred),
        metrics: {
          ...m,
          train_seconds: trainSeconds,
          score_rows_per_s: seconds > 0 ? unique / seconds : 0,
          model_bytes: modelBytes,
          peak_rss_bytes: peak,
        },
      });
      log(
        `seed ${seed} ${test.name}: f1 ${m.f1.toFixed(4)} acc ${m.accuracy.toFixed(4)} auc ${
          m.roc_auc.toFixed(4)
        }`,
      );
    }
    det.dispose?.();
    return {
      results,
      split,
      prep,
      trainRows: xTrain.rows,
      valRows: xVal.rows,
      valSeenInFit,
      threshold: threshold.value,
    };
  } finally {
    clearInterval(timer);
  }
}

/** Aggregates one test set's per-seed results into the metrics file object. */
export function aggregate(per: SeedResult[], bootstrapSeed = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = [...FLAT_KEYS, "f1_oracle", "threshold"] as const;
  const stdOut: Record<string, number> = {};
  for (const k of keys) {
    const vals = per.map((r) => r.metrics[k as keyof SeedResult["metrics"]] as number);
    out[k] = mean(vals);
    stdOut[k] = std(vals);
  }
  // Bootstrap intervals on the first seed's test set (rows resampled; the split stays fixed).
  const first = per[0];
  const y = first.test.y, s = first.scores, t = first.metrics.threshold;
  const big = y.length > 50_000;
  const ci: Record<string, [number, number]> = {};
  for (const k of ["accuracy", "precision", "recall", "f1", "fpr"] as const) {
    ci[k] = bootstrapCi95(y, s, (yy, ss) => classify(yy, ss, t)[k], {
      rounds: big ? 100 : 200,
      seed: bootstrapSeed,
    });
  }
  ci.roc_auc = bootstrapCi95(y, s, rocAuc, { rounds: big ? 20 : 100, seed: bootstrapSeed });
  out.ci95 = ci;
  out.std = stdOut;
  out.n_seeds = per.length;
  out.per_seed = per.map((r) => {
    const { tp, fp, tn, fn, ...rest } = r.metrics;
    return { seed: r.seed, ...rest, confusion: { tp, fp, tn, fn } };
  });
  out.per_category = first.perCategory;
  out.per_category_seed = first.seed;
  out.f1_oracle_note =
    "secondary: threshold from the known test anomaly ratio (as DAGMM/GOAD report); uses test labels";
  return out;
}

async function writeFigures(
  folder: RunFolder,
  config: ExperimentConfig,
  first: SeedResult,
  name: string,
): Promise<string[]> {
  const fig = await import("../figures/mod.ts");
  const suffix = name === "" ? "" : `.${name}`;
  const dir = folder.path("figures");
  const title = `${config.detector} on ${config.protocol}${name ? ` (${name})` : ""}`;
  const y = first.test.y, s = first.scores, t = first.metrics.threshold;
  const written: string[] = [];
  const save = async (f: InstanceType<typeof fig.Figure>, n: string, caption: string) => {
    await fig.saveFigure(f, dir, `${n}${suffix}`, { caption });
    written.push(`figures/${n}${suffix}.svg`, `figures/${n}${suffix}.png`);
  };
  const roc = rocCurve(y, s);
  await save(
    fig.rocChart([{ name: config.detector, fpr: roc.fpr, tpr: roc.tpr, auc: first.metrics.roc_auc }], {
      title: `ROC — ${title}`,
      points: [{ name: "threshold", fpr: first.metrics.fpr, tpr: first.metrics.recall }],
    }),
    "roc",
    `Seed ${first.seed}; operating point = threshold fit on benign validation scores.`,
  );
  const pr = prCurve(y, s);
  const prevalence = y.reduce((a, b) => a + b, 0) / y.length;
  await save(
    fig.prChart([{
      name: config.detector,
      recall: pr.recall,
      precision: pr.precision,
      ap: first.metrics.pr_auc,
    }], {
      title: `Precision–recall — ${title}`,
      baseline: prevalence,
    }),
    "pr",
    `Seed ${first.seed}; AP = average precision.`,
  );
  let lo = Infinity, hi = -Infinity;
  for (const v of s) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const positive = lo > 0;
  const spread = positive ? hi / lo : 0; // no Math.max(...array): 300k arguments overflow the stack
  await save(
    fig.scoreHistogram(fig.groupScores(s, first.test.category), {
      title: `Score distribution by class — ${title}`,
      threshold: t,
      logX: positive && spread > 1e3,
    }),
    "scores",
    `Seed ${first.seed}; dashed line = threshold.`,
  );
  const c = first.metrics;
  await save(
    fig.confusionMatrix(
      {
        labels: ["normal", "anomaly"],
        predicted: ["normal", "anomaly"],
        matrix: [[c.tn, c.fp], [c.fn, c.tp]],
      },
      { title: `Confusion matrix — ${title}` },
    ),
    "confusion",
    `Seed ${first.seed}; rows = truth under the protocol's labelling.`,
  );
  return written;
}

/** Writes scores as Parquet (row id, label, category, score). */
async function writeScores(folder: RunFolder, name: string, r: SeedResult): Promise<void> {
  const df = pl.DataFrame({
    row: pl.Series("row", Array.from(r.test.rows), pl.UInt32),
    label: pl.Series("label", Array.from(r.test.y), pl.UInt8),
    category: pl.Series("category", r.test.category, pl.Utf8),
    score: pl.Series("score", Array.from(r.scores), pl.Float64),
  });
  const tmp = folder.path(`${name}.parquet.tmp`);
  df.writeParquet(tmp);
  await Deno.rename(tmp, folder.path(`${name}.parquet`));
}

/** What a run records in config.json: the config as given plus what the options resolved it to. */
export interface RunRecord extends ExperimentConfig {
  resolved: {
    params: Record<string, unknown>;
    seeds: number[];
    quick: boolean;
    /** With a `search` block: the preprocessing the search chose (its params are `params`). */
    preprocess?: PreprocessOptions;
    /** With `search.threshold`: the threshold strategy and the parameters the search chose. */
    threshold?: ExperimentConfig["threshold"];
    /** With a `search` block: which candidate won, of how many (details in search.json). */
    search?: { chosen: number; candidates: number; selection: string };
  };
}

/**
 * The config.json a run of `config` under `opts` writes: the config, the detector's hyperparameters
 * with registry defaults filled in (and `quick.params` over them with `quick`), the seeds actually
 * run (`quick.seeds` with `quick`, the first `seeds` of them with `seeds`) and the quick flag.
 * Throws for an unknown detector or bad params, before anything is written.
 */
export function runRecord(
  config: ExperimentConfig,
  opts: Pick<RunOptions, "quick" | "seeds"> = {},
): RunRecord {
  let seeds = opts.quick && config.quick?.seeds ? config.quick.seeds : config.seeds;
  if (opts.seeds !== undefined) seeds = seeds.slice(0, Math.max(1, opts.seeds));
  const params = detectorParams(config.detector, {
    ...(config.params ?? {}),
    ...(opts.quick ? config.quick?.params ?? {} : {}),
  });
  return { ...config, resolved: { params, seeds, quick: !!opts.quick } };
}

/** Runs an experiment and writes its result folder. Returns the final folder path. */
export async function runExperiment(
  config: ExperimentConfig,
  opts: RunOptions = {},
): Promise<{ dir: string; metrics: Record<string, Record<string, unknown>> }> {
  const root = opts.root ?? "results";
  const log = opts.log ?? (() => {});
  const stamp = runStamp(new Date(), gitShortSha());
  // Unknown names and missing user-supplied files fail here, before a folder exists.
  const missing = missingPaths(getProtocol(config.protocol), config.paths);
  if (missing.length) {
    throw new MissingDataError(
      `${config.id}: protocol ${config.protocol} needs dataset files that are not in the repository: give ` +
        missing.map((k) => `--path ${k}=FILE`).join(" ") + ` (or "paths" in the config; docs/protocols.md)`,
    );
  }
  const record = runRecord(config, opts);
  const { seeds } = record.resolved;
  let params = record.resolved.params;
  let preprocess: PreprocessOptions = config.preprocess ?? {};
  let threshold = config.threshold;
  const folder = await RunFolder.create(root, config.id, stamp);
  try {
    if (config.search) {
      const seed = config.search.seed ?? seeds[0];
      const candidates = searchCandidates(params, preprocess, config.search);
      log(`search: ${candidates.length} candidates on seed ${seed}, ranked without test labels`);
      const found = await selectModel(config, await loadSplit(config, seed, opts), candidates, {
        seed,
        maxFitRows: config.search.maxFitRows,
        log,
      });
      await folder.writeJson("search.json", found);
      ({ params, preprocess } = candidates[found.chosen]);
      if (found.thresholds) {
        threshold = { ...threshold, params: found.thresholds[found.chosenThreshold!].params };
        record.resolved.threshold = threshold;
      }
      record.resolved.params = params;
      record.resolved.preprocess = preprocess;
      record.resolved.search = {
        chosen: found.chosen,
        candidates: candidates.length,
        selection: found.selection,
      };
      log(`search: chose ${JSON.stringify(params)} ${JSON.stringify(preprocess)}`);
    }
    await folder.writeJson("config.json", record);
    await folder.writeJson("env.json", environment(detectorBackend(config.detector)));
    const bySet = new Map<string, SeedResult[]>();
    const splits: Record<string, unknown>[] = [];
    let dataInfo: Record<string, unknown> | undefined;
    for (const seed of seeds) {
      const r = await runSeed({ ...config, threshold }, seed, opts, params, preprocess);
      for (const res of r.results) {
        if (!bySet.has(res.test.name)) bySet.set(res.test.name, []);
        bySet.get(res.test.name)!.push(res);
      }
      splits.push({
        seed,
        train_rows: r.trainRows,
        validation_rows: r.valRows,
        validation_rows_seen_in_fit: r.valSeenInFit,
        threshold: r.threshold,
        tests: Object.fromEntries(
          r.split.tests.map((
            t,
          ) => [t.name, { rows: t.rows.length, anomalies: t.y.reduce((a, b) => a + b, 0) }]),
        ),
        preprocess: r.prep.describe(),
      });
      if (!dataInfo) {
        const files: Record<string, string> = {};
        for (const f of r.split.files) files[f.replace(/^.*?\/data\//, "data/")] = await fileSha256(f);
        dataInfo = {
          protocol: config.protocol,
          features: config.features ?? "all",
          files,
          frames: Object.fromEntries(
            Object.entries(r.split.frames).map(([k, v]) => [k, { rows: v.height, columns: v.width }]),
          ),
          notes: r.split.notes,
        };
      }
    }
    await folder.writeJson("data.json", { ...dataInfo, splits });
    const protocol = getProtocol(config.protocol);
    const metrics: Record<string, Record<string, unknown>> = {};
    for (const [name, per] of bySet) {
      const main = name === protocol.mainTest;
      const agg: Record<string, unknown> = {
        protocol: config.protocol,
        detector: config.detector,
        test_set: name,
        // Marks smoke-test numbers in the metrics file itself (config.json has resolved.quick too).
        quick: !!opts.quick,
        ...aggregate(per),
      };
      metrics[name] = agg;
      await writeScores(folder, main ? "scores" : `scores.${name}`, per[0]);
      if (opts.figures ?? true) {
        const written = await writeFigures(folder, config, per[0], main ? "" : name);
        agg.figures = written;
      }
      await folder.writeJson(main ? "metrics.json" : `metrics.${name}.json`, agg);
    }
    const dir = await folder.finish();
    log(`wrote ${dir}`);
    return { dir, metrics };
  } catch (e) {
    await folder.fail(e);
    throw e;
  }
}
