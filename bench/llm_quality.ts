/**
 * AUROC of flow-lm next to the autoencoder and kNN on two datasets:
 * - NSL-KDD: train on (a seeded sample of) the normal rows of KDDTrain+,
 *   test on KDDTest+;
 * - the vendored CIC-IDS2017 sample: train on half of the benign flows, test
 *   on the other half plus every attack flow.
 * All detectors use their default hyperparameters (chosen without looking at
 * test data); nothing is tuned on test labels.
 *
 * Usage: `deno run -A bench/llm_quality.ts [--train-rows N] [--seeds S,S,…] [--detectors a,b,c]
 * [--datasets nsl-kdd,cic] [--params '{"flow-lm":{"epochs":5}}'] [--pretrain DIR,DIR | none]`
 * (`--seed S` is `--seeds S`; default seed 1). With several seeds every row is one seed's, and the
 * aggregates table gives the mean over them.
 * (or `main(args)` from bench/main.ts). `--train-rows` bounds the NSL-KDD
 * training sample (default 20,000) so the run fits a shared 2-core machine.
 * The tables it prints (AUROC per dataset and detector; flow-lm by surprisal
 * aggregate) are written to `bench/results/llm-<stamp>.json` (bench/_record.ts),
 * from which docs/llm.md's results are generated.
 *
 * @module
 */
import { rocAuc } from "../src/eval/metrics.ts";
import { createDetector, detectorBackend } from "../src/detectors/registry.ts";
import { aggregateSurprisal, type FlowLmScores, type SurprisalAggregate } from "../src/detectors/flow_lm.ts";
import { backendLine, initTf } from "../src/detectors/tf_backend.ts";
import { cicSplit, nslKddSplit, type Split } from "./_deep.ts";
import type { Matrix } from "../src/data/matrix.ts";
import { appliedAsFit, fineTuneFrom } from "../src/detectors/train.ts";
import type { Detector } from "../src/detectors/types.ts";
import { pretrain } from "../src/eval/pretrain.ts";
import { existsSync } from "../src/util/fs.ts";
import { type Cell, printTable, saveRecord, type Table } from "./_record.ts";

/** One result. */
export interface QualityRow {
  dataset: string;
  seed: number;
  detector: string;
  trainRows: number;
  testRows: number;
  auroc: number;
  trainSeconds: number;
}

const DEFAULT_DETECTORS = "flow-lm,autoencoder,knn";

/**
 * Other scores of the same fitted flow-lm, reported beside the default mean: the max, top-k means,
 * (`z…`) each field standardised by its benign surprisal on held-out rows first, and the hidden-state
 * neighbours (`knn`).
 */
const VARIANTS: readonly (readonly [Aggregate, number])[] = [
  ["max", 1],
  ["topk", 3],
  ["topk", 5],
  ["topk", 10],
  ["zmean", 1],
  ["ztopk", 5],
  ["knn", 5],
];

/** A surprisal aggregate, or score=knn (the hidden states' distance to the benign rows; k = its knnK). */
type Aggregate = SurprisalAggregate | "knn";

function variantLabel(how: Aggregate, k: number, base = "flow-lm"): string {
  return how === "max" || how === "zmean" || how === "knn"
    ? `${base} score=${how}`
    : `${base} score=${how} topK=${k}`;
}

/** The aggregates reported for the pre-training rows (the two that standardise fields, beside the mean). */
const PRETRAIN_VARIANTS: readonly (readonly [Aggregate, number])[] = [["zmean", 1], ["ztopk", 5]];

/**
 * The unlabelled corpus flow-lm is pre-trained on for the CIC sample (every capture under
 * ../shared/data; metered with the cic feature set, the sample's columns). `--pretrain none` skips it.
 */
const PRETRAIN_CORPUS = ["../shared/data/pcaps", "../shared/data/nfstream/pcaps"];
const PRETRAINED = "flow-lm pretrained";
const PRETRAIN_CONTROL = "flow-lm pretrain columns, no pretraining";

function variantColumn(how: Aggregate, k: number): string {
  return {
    max: "max",
    zmean: "z mean",
    topk: `top-${k} mean`,
    ztopk: `z top-${k} mean`,
    mean: "mean",
    knn: "hidden-state kNN",
  }[how];
}
const DEFAULT_DATASETS = "nsl-kdd,cic";

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Runs the comparison and prints a table; returns the rows. */
export async function main(args: string[] = []): Promise<QualityRow[]> {
  await initTf();
  const trainRows = Number(arg(args, "--train-rows") ?? 20000);
  const seeds = (arg(args, "--seeds") ?? arg(args, "--seed") ?? "1").split(",").map(Number);
  if (!seeds.every(Number.isInteger)) throw new Error(`bench llm: --seeds expects integers, found ${seeds}`);
  const detectors = (arg(args, "--detectors") ?? DEFAULT_DETECTORS).split(",");
  const which = (arg(args, "--datasets") ?? DEFAULT_DATASETS).split(",");
  const overrides = JSON.parse(arg(args, "--params") ?? "{}") as Record<string, Record<string, unknown>>;
  const rows: QualityRow[] = [];
  const corpusArg = arg(args, "--pretrain");
  const corpus = corpusArg === "none"
    ? []
    : corpusArg
    ? corpusArg.split(",")
    : PRETRAIN_CORPUS.filter((p) => existsSync(p));
  const trainedOn: { files?: number; flows?: number; distinctFlows?: number } = {};
  const splits: ((seed: number) => Split)[] = [];
  if (which.includes("nsl-kdd")) splits.push((seed) => nslKddSplit({ trainRows, seed }));
  if (which.includes("cic")) splits.push((seed) => cicSplit({ seed }));
  for (const seed of seeds) {
    for (const make of splits) {
      const split = make(seed);
      console.error(
        `${split.name}: train ${split.train.rows} × ${split.train.cols}, test ${split.test.rows}`,
      );
      for (const name of detectors) {
        const d = createDetector(name, overrides[name] ?? {}, seed);
        const t0 = performance.now();
        await d.fit(split.train, {
          onProgress: (p) =>
            console.error(
              `  ${name} epoch ${p.step}/${p.total} loss ${p.loss?.toFixed(4)} val ${p.valLoss?.toFixed(4)}`,
            ),
        });
        const trainSeconds = (performance.now() - t0) / 1000;
        const s = await d.score(split.test);
        const row: QualityRow = {
          dataset: split.name,
          seed,
          detector: name,
          trainRows: split.train.rows,
          testRows: split.test.rows,
          auroc: rocAuc(split.labels, s),
          trainSeconds,
        };
        rows.push(row);
        console.error(`  ${name}: AUROC ${row.auroc.toFixed(4)} (${trainSeconds.toFixed(0)} s)`);
        // Other scores of the same fitted flow-lm, reported as variants (not tuned on these labels).
        if (name === "flow-lm") rows.push(...await variantRows(d, split.test, split.labels, row, VARIANTS));
        d.dispose?.();
      }
      const pre = split.frames && corpus.length
        ? await pretrainRows(split, split.frames, corpus, seed, trainedOn)
        : [];
      rows.push(...pre);
    }
  }
  console.log(
    `backend: ${backendLine()}; seeds ${seeds.join(", ")}; load average ${
      Deno.loadavg().map((v) => v.toFixed(1)).join(" ")
    }`,
  );
  if (Object.keys(overrides).length) console.log(`non-default hyperparameters: ${JSON.stringify(overrides)}`);
  const auroc: Table = {
    id: "auroc",
    title: "AUROC of flow-lm next to the autoencoder and kNN (default hyperparameters)",
    columns: [
      { key: "dataset", label: "dataset" },
      { key: "detector", label: "detector" },
      ...(seeds.length > 1 ? [{ key: "seed", label: "seed", int: true }] : []),
      { key: "trainRows", label: "train rows", int: true },
      { key: "testRows", label: "test rows", int: true },
      { key: "auroc", label: "AUROC", digits: 4 },
      { key: "trainSeconds", label: "train s (wall)", digits: 0 },
    ],
    rows: rows.map((r) => ({ ...r })),
    notes: [
      "flow-lm score=… rows are other scores of the same fitted flow-lm (its train s repeated): surprisal " +
      "aggregates, and score=knn, the distance from its hidden states to the 5th nearest benign training row's; " +
      "the default score is the mean surprisal.",
      ...(corpus.length
        ? [
          `${PRETRAINED}: pre-trained (seeded, default hyperparameters) on ${trainedOn.flows} flows ` +
          `(${trainedOn.distinctFlows} distinct) metered with the cic feature set from ${trainedOn.files} captures ` +
          `(${
            corpus.join(", ")
          }), then fine-tuned (partialFit) on the same benign training rows through the ` +
          `checkpoint's preprocessing; train s is the fine-tune only. ${PRETRAIN_CONTROL}: the same rows and ` +
          "columns, fitted from scratch (isolates the weights from the columns the corpus keeps).",
        ]
        : []),
    ],
  };
  const tables = [auroc];
  const datasets = [...new Set(rows.map((r) => r.dataset))];
  // Mean over the seeds run (one seed: its value).
  const aggregate = (dataset: string, detector: string): Cell => {
    const v = rows.filter((r) => r.dataset === dataset && r.detector === detector).map((r) => r.auroc);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  if (rows.some((r) => r.detector.startsWith("flow-lm score="))) {
    tables.push({
      id: "aggregates",
      title:
        "flow-lm AUROC by score: surprisal aggregates and hidden-state kNN (same fitted model; the default " +
        "stays the mean, chosen a priori)" +
        (seeds.length > 1 ? `, mean of seeds ${seeds.join(", ")}` : ""),
      columns: [
        { key: "dataset", label: "dataset" },
        { key: "mean", label: "mean (default)", digits: 4 },
        ...VARIANTS.map(([how, k]) => ({ key: `${how}${k}`, label: variantColumn(how, k), digits: 4 })),
      ],
      rows: datasets.map((dataset) => ({
        dataset,
        mean: aggregate(dataset, "flow-lm"),
        ...Object.fromEntries(
          VARIANTS.map(([how, k]) => [`${how}${k}`, aggregate(dataset, variantLabel(how, k))]),
        ),
      })),
    });
  }
  for (const t of tables) printTable(t);
  await saveRecord("llm", {
    engine: detectorBackend("flow-lm"),
    params: {
      trainRows,
      seed: seeds[0],
      seeds,
      detectors,
      datasets: which,
      overrides,
      tfBackend: backendLine(),
      pretrainCorpus: corpus,
      ...(corpus.length ? { pretrainCorpusFlows: trainedOn } : {}),
      // A subset of the comparison, or non-default hyperparameters, is recorded but not quoted by the docs.
      partial: detectors.join(",") !== DEFAULT_DETECTORS || which.join(",") !== DEFAULT_DATASETS ||
        Object.keys(overrides).length > 0,
    },
    tables,
  });
  return rows;
}

if (import.meta.main) await main(Deno.args);

/** Rows for other surprisal aggregates of a fitted flow-lm `d` (labelled `base score=…`). */
async function variantRows(
  d: Detector,
  test: Matrix,
  y: Int32Array,
  row: QualityRow,
  variants: readonly (readonly [Aggregate, number])[],
): Promise<QualityRow[]> {
  const lm = d as unknown as FlowLmScores;
  const sur = await lm.surprisal(test);
  const T = sur.length / test.rows;
  return variants.map(([how, k]) => {
    const r = {
      ...row,
      detector: variantLabel(how, k, row.detector),
      auroc: rocAuc(
        y,
        how === "knn" ? lm.neighbourScore(test) : aggregateSurprisal(sur, T, how, k, lm.fieldStats),
      ),
    };
    console.error(`  ${r.detector}: AUROC ${r.auroc.toFixed(4)}`);
    return r;
  });
}

/**
 * Pre-training on the unlabelled corpus (issue 14, scope 3), measured on a split with raw frames: the
 * checkpoint fine-tuned on the split's benign training rows through its own preprocessing, and, as a
 * control, a flow-lm fitted from scratch on exactly those rows and columns.
 */
async function pretrainRows(
  split: Split,
  frames: NonNullable<Split["frames"]>,
  corpus: string[],
  seed: number,
  trainedOn: { files?: number; flows?: number; distinctFlows?: number },
): Promise<QualityRow[]> {
  const { result: pre, corpus: c } = await pretrain(corpus, { seed, silent: true });
  Object.assign(trainedOn, {
    files: c.files.length,
    flows: c.matrix.rows,
    distinctFlows: distinctRows(c.matrix),
  });
  const t = pre.transform;
  const missing = t.inputColumns.filter((n) => !frames.train.columns.includes(n));
  if (missing.length) {
    pre.detector.dispose?.();
    console.error(`  (no pre-training rows for ${split.name}: it lacks ${missing.length} corpus columns)`);
    return [];
  }
  const x = appliedAsFit(t, frames.train, t.inputColumns, true).matrix;
  const test = t.apply(frames.test);
  const out: QualityRow[] = [];
  const measure = async (label: string, d: Detector, train: () => Promise<void>) => {
    const t0 = performance.now();
    await train();
    const row: QualityRow = {
      dataset: split.name,
      seed,
      detector: label,
      trainRows: x.rows,
      testRows: test.rows,
      auroc: rocAuc(split.labels, await d.score(test)),
      trainSeconds: (performance.now() - t0) / 1000,
    };
    console.error(`  ${label}: AUROC ${row.auroc.toFixed(4)} (${row.trainSeconds.toFixed(0)} s)`);
    out.push(row, ...await variantRows(d, test, split.labels, row, PRETRAIN_VARIANTS));
    d.dispose?.();
  };
  const start = await fineTuneFrom(pre.detector, t, "the pre-training corpus", {}, seed);
  pre.detector.dispose?.();
  await measure(PRETRAINED, start.detector, async () => await start.detector.partialFit!(x));
  const scratch = createDetector("flow-lm", {}, seed);
  await measure(PRETRAIN_CONTROL, scratch, async () => await scratch.fit(x));
  return out;
}

/** Rows of `m` that differ from every earlier row. */
function distinctRows(m: Matrix): number {
  const seen = new Set<string>();
  for (let i = 0; i < m.rows; i++) seen.add(m.data.subarray(i * m.cols, (i + 1) * m.cols).join(","));
  return seen.size;
}
