/**
 * Shared pieces of the deep-detector benchmarks: the NSL-KDD and CIC-IDS2017
 * splits used by bench/llm_quality.ts, and {@link deepBenchRows}, which
 * bench/detectors.ts calls to print training seconds and scoring rows/s of
 * autoencoder, lstm and flow-lm (training on N benign KDDTrain+ rows, scoring
 * KDDTest+).
 *
 * The machine is shared, so every timing is reported twice: wall-clock and
 * per CPU-second of this process (`process.cpuUsage`, which is what a quiet
 * single core would give, since the tfjs wasm backend is single-threaded).
 *
 * @module
 */
import process from "node:process";
import pl from "nodejs-polars";
import { loadDataset } from "../src/data/datasets.ts";
import { labels } from "../src/data/frame.ts";
import type { Matrix } from "../src/data/matrix.ts";
import { fitTransform } from "../src/data/preprocess.ts";
import { createDetector } from "../src/detectors/registry.ts";
import { backendLine, initTf } from "../src/detectors/tf_backend.ts";
import { Rng } from "../src/util/random.ts";

/** A train/test split for unsupervised detectors (train = benign only). */
export interface Split {
  name: string;
  train: Matrix;
  test: Matrix;
  /** 1 = attack, per test row. */
  labels: Int32Array;
  /**
   * The raw rows behind `train` and `test` (before the split's own transform), for models that bring
   * their own preprocessing (a pre-trained checkpoint's).
   */
  frames?: { train: pl.DataFrame; test: pl.DataFrame };
}

function takeRows(m: Matrix, idx: ArrayLike<number>): Matrix {
  const out = new Float64Array(idx.length * m.cols);
  for (let k = 0; k < idx.length; k++) {
    out.set(m.data.subarray(idx[k] * m.cols, (idx[k] + 1) * m.cols), k * m.cols);
  }
  return { data: out, rows: idx.length, cols: m.cols, names: m.names };
}

/**
 * NSL-KDD: fit the min-max/one-hot transform on the normal rows of KDDTrain+
 * (deduplicated), keep a seeded sample of `trainRows` of them; test = all of
 * KDDTest+ (label 1 = attack).
 */
export function nslKddSplit(opts: { trainRows?: number; testRows?: number; seed?: number } = {}): Split {
  const train = loadDataset("nsl-kdd-train").df;
  const benign = train.filter(pl.col("label").eq(0));
  const fit = fitTransform(benign, { scale: "minmax" });
  let x = fit.matrix;
  const rng = new Rng(opts.seed ?? 1);
  if (opts.trainRows && opts.trainRows < x.rows) {
    x = takeRows(x, rng.sampleIndices(x.rows, opts.trainRows).sort());
  }
  const testDf = loadDataset("nsl-kdd-test").df;
  let test = fit.transform.apply(testDf);
  let y = labels(testDf);
  if (opts.testRows && opts.testRows < test.rows) {
    const idx = rng.sampleIndices(test.rows, opts.testRows).sort();
    test = takeRows(test, idx);
    y = Int32Array.from(idx, (i) => y[i]);
  }
  return { name: "NSL-KDD (KDDTrain+ normal → KDDTest+)", train: x, test, labels: y };
}

/**
 * The vendored CIC-IDS2017 sample (2,500 benign flows + attack classes):
 * a seeded half of the benign flows trains (transform fitted on them only);
 * the other half plus every attack flow is the test set.
 */
export function cicSplit(opts: { seed?: number } = {}): Split {
  const df = loadDataset("cic-ids2017").df;
  const y = labels(df);
  const benignIdx: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i] === 0) benignIdx.push(i);
  const rng = new Rng(opts.seed ?? 1);
  rng.shuffle(benignIdx);
  const trainSet = new Set(benignIdx.slice(0, Math.floor(benignIdx.length / 2)));
  const isTrain = Array.from({ length: df.height }, (_, i) => trainSet.has(i));
  const trainDf = df.filter(pl.Series("m", isTrain));
  const testDf = df.filter(pl.Series("m", isTrain.map((t) => !t)));
  const fit = fitTransform(trainDf, { scale: "minmax", nanPolicy: "median", dropDuplicates: true });
  return {
    name: "CIC-IDS2017 sample (half benign → other half + attacks)",
    train: fit.matrix,
    test: fit.transform.apply(testDf),
    labels: labels(testDf),
    frames: { train: trainDf, test: testDf },
  };
}

/** One benchmark row. */
export interface DeepBenchRow {
  detector: string;
  backend: string;
  params: Record<string, unknown>;
  trainRows: number;
  epochs: number | undefined;
  trainSeconds: number;
  trainCpuSeconds: number;
  scoreRows: number;
  scoreRowsPerSec: number;
  scoreRowsPerCpuSec: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Options for {@link deepBenchRows}. */
export interface DeepBenchOptions {
  /** Benign KDDTrain+ rows to train on (default 60,000, the target size). */
  trainRows?: number;
  /** KDDTest+ rows to score (default all 22,544). */
  scoreRows?: number;
  detectors?: string[];
  /** Per-detector hyperparameter overrides. */
  params?: Record<string, Record<string, unknown>>;
  seed?: number;
  /** Called after each detector (for live printing). */
  onRow?: (row: DeepBenchRow) => void;
}

/** Trains and scores each deep detector on NSL-KDD; returns one row per detector. */
export async function deepBenchRows(opts: DeepBenchOptions = {}): Promise<DeepBenchRow[]> {
  await initTf();
  const split = nslKddSplit({
    trainRows: opts.trainRows ?? 60000,
    testRows: opts.scoreRows,
    seed: opts.seed,
  });
  const rows: DeepBenchRow[] = [];
  for (const name of opts.detectors ?? ["autoencoder", "lstm", "flow-lm"]) {
    const params = opts.params?.[name] ?? {};
    const d = createDetector(name, params, opts.seed ?? 1);
    let t0 = performance.now(), c0 = cpuSeconds();
    await d.fit(split.train);
    const trainSeconds = (performance.now() - t0) / 1000, trainCpuSeconds = cpuSeconds() - c0;
    await d.score({ ...split.test, rows: 64, data: split.test.data.subarray(0, 64 * split.test.cols) }); // warm-up
    t0 = performance.now();
    c0 = cpuSeconds();
    await d.score(split.test);
    const s = (performance.now() - t0) / 1000, cs = cpuSeconds() - c0;
    const hist = (d as unknown as { history?: { epochs: number } }).history;
    const row: DeepBenchRow = {
      detector: name,
      backend: backendLine(),
      params: { ...d.params },
      trainRows: split.train.rows,
      epochs: hist?.epochs,
      trainSeconds,
      trainCpuSeconds,
      scoreRows: split.test.rows,
      scoreRowsPerSec: split.test.rows / s,
      scoreRowsPerCpuSec: split.test.rows / cs,
    };
    rows.push(row);
    opts.onRow?.(row);
    d.dispose?.();
  }
  return rows;
}

/** Prints rows as an aligned table. */
export function printDeepRows(rows: DeepBenchRow[]): void {
  console.log(
    "detector      train rows  epochs  train s (cpu s)   score rows/s (per cpu s)",
  );
  for (const r of rows) {
    console.log(
      `${r.detector.padEnd(13)} ${String(r.trainRows).padStart(10)}  ${
        String(r.epochs ?? "-").padStart(6)
      }  ` +
        `${r.trainSeconds.toFixed(1).padStart(7)} (${r.trainCpuSeconds.toFixed(1).padStart(6)})   ` +
        `${r.scoreRowsPerSec.toFixed(0).padStart(8)} (${r.scoreRowsPerCpuSec.toFixed(0)})`,
    );
  }
}

/** `deno run -A bench/_deep.ts [trainRows]`: the deep rows on their own. */
if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 60000);
  const rows = await deepBenchRows({ trainRows: n, onRow: (r) => console.error(`done ${r.detector}`) });
  console.log(
    `backend: ${rows[0]?.backend}; load average: ${Deno.loadavg().map((v) => v.toFixed(1)).join(" ")}`,
  );
  printDeepRows(rows);
}
