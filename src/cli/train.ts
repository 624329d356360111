/**
 * `nadir train`: Train a detector on benign rows and save a model directory.
 * Prints one JSON summary line on stdout; progress (with loss) on stderr.
 *
 * @module
 */
import type pl from "nodejs-polars";
import { join } from "node:path";
import { filesSha256 } from "../util/hash.ts";
import { bool, type Command, count, num, str } from "./command.ts";
import { UsageError } from "../util/errors.ts";

const META_LIKE = /(^|_)(ip|mac|port|id)$|^id$|first_seen|last_seen|timestamp|^flow id$/i;

/**
 * Raw feature columns of a table: a known dataset's feature set; for `nadir flows`
 * output, the non-metadata columns of the flows feature set it was written with
 * (addresses, ports, ids and timestamps never become features); otherwise every
 * column except targets and metadata-like names.
 */
export async function featureColumnsFor(df: pl.DataFrame, set: string): Promise<string[]> {
  const { schemaOf, featureColumns, TARGET_COLUMNS } = await import("../data/schema.ts");
  if (schemaOf(df)) return featureColumns(df, set);
  const { FEATURE_SET_NAMES, featureSet } = await import("../flows/features/mod.ts");
  const present = new Set(df.columns);
  const names = (FEATURE_SET_NAMES as readonly string[]).includes(set) ? [set] : [...FEATURE_SET_NAMES];
  // The largest set the table carries whole (`packets` output also carries every `basic` column).
  let best: string[] | undefined;
  for (const n of names) {
    const cols = featureSet(n as "basic").columns;
    const feats = cols.filter((c) => !c.meta).map((c) => c.name);
    if (feats.length && feats.every((f) => present.has(f)) && feats.length > (best?.length ?? 0)) {
      best = feats;
    }
  }
  if (best) return best;
  if (set !== "all") {
    throw new UsageError(
      `feature set "${set}" does not apply: the input matches no dataset schema and no flows feature set`,
    );
  }
  return df.columns.filter((c) => !(TARGET_COLUMNS as readonly string[]).includes(c) && !META_LIKE.test(c));
}

/** sha256 of a source: a file's bytes, a directory's files in name order, or a vendored dataset's file. */
export async function fileSha256(source: string): Promise<string | undefined> {
  const { VENDORED, DATA_DIR } = await import("../data/source.ts");
  const path = VENDORED[source] ? join(DATA_DIR, VENDORED[source].path) : source;
  let files: string[];
  try {
    const st = await Deno.stat(path);
    files = st.isDirectory
      ? [...Deno.readDirSync(path)].filter((e) => e.isFile).map((e) => join(path, e.name)).sort()
      : [path];
  } catch {
    return undefined;
  }
  return await filesSha256(files);
}

export const command: Command = {
  name: "train",
  summary: "Train a detector on benign rows and save a model directory",
  options: {
    detector: { type: "string", arg: "NAME", description: "Detector (the list follows the examples below)" },
    dataset: { type: "string", arg: "NAME", description: "Dataset name (nsl-kdd-train, ...)" },
    path: {
      type: "string",
      arg: "FILE",
      description: "Any file the loaders read, or a feature CSV/Parquet (e.g. `nadir flows` output)",
    },
    schema: {
      type: "string",
      arg: "NAME",
      description: "Dataset name/family of --path when detection fails",
    },
    features: {
      type: "string",
      arg: "SET",
      description:
        "Feature set (all, kdd-header, ...; for flows files: basic, cic, kdd, packets, context, hosts)",
      default: "all",
    },
    "assume-benign": { type: "boolean", description: "Train on every row (unlabelled flows)" },
    out: {
      type: "string",
      arg: "DIR",
      description: "Model directory (default models/<detector>)",
      writes: "dir",
    },
    seed: { type: "number", arg: "N", description: "Seed for splits and model randomness", default: 0 },
    param: {
      type: "string",
      arg: "K=V",
      multiple: true,
      description: "Detector hyperparameter (repeatable), e.g. --param k=5",
    },
    threshold: {
      type: "string",
      arg: "SPEC",
      description: "percentile:Q | fpr:RATE | pot:RISK, fitted on benign validation scores",
      default: "percentile:0.99",
    },
    "val-fraction": {
      type: "number",
      arg: "F",
      description: "Benign rows held out for the threshold",
      default: 0.1,
    },
    split: {
      type: "string",
      choices: ["auto", "random", "tail"],
      description: "Validation split (auto: tail for streaming/sequence detectors)",
      default: "auto",
    },
    scale: {
      type: "string",
      choices: ["minmax", "standard", "robust", "none"],
      description: "Feature scaling fitted on training rows",
      default: "minmax",
    },
    "nan-policy": {
      type: "string",
      choices: ["error", "drop", "zero", "median"],
      description: "Non-finite feature values",
      default: "median",
    },
    "keep-duplicates": {
      type: "boolean",
      description: "Keep exact duplicate training rows (default: kept only for streaming/sequence detectors)",
    },
    "max-rows": { type: "number", arg: "N", description: "Train on at most N benign rows (seeded sample)" },
    "sample-rows": {
      type: "number",
      arg: "N",
      description: "Read --path in chunks and keep a seeded uniform sample of N rows, memory bounded " +
        "(default: 500,000 for CSVs over 64 MiB and Parquet files over 16 MiB; 0 = the whole file)",
    },
    init: {
      type: "string",
      arg: "DIR",
      description: "Fine-tune this fitted model (e.g. `nadir pretrain` output) instead of fitting a new one",
    },
  },
  moreHelp: async () => {
    const { listDetectors } = await import("../detectors/registry.ts");
    const all = listDetectors();
    const w = all.reduce((m, f) => Math.max(m, f.name.length), 0);
    return `Detectors:\n${all.map((f) => `  ${f.name.padEnd(w)}  ${f.summary}`).join("\n")}`;
  },
  details: `Fits preprocessing (dedupe, one-hot, scaling) on the benign training rows only, holds out a benign
validation split, trains, fits the threshold on the validation scores, and writes DIR/manifest.json +
DIR/weights/ (docs/models.md). Detectors and their parameters: docs/detectors.md.

Examples:
  deno task nadir train --detector knn --dataset nsl-kdd-train --out models/knn
  deno task nadir train --detector isolation-forest --dataset nsl-kdd-train --threshold fpr:0.01
  deno task nadir train --detector kitnet --path flows.csv --assume-benign --param fmGrace=1000
  deno task nadir train --detector flow-lm --init models/flow-lm-pretrained --dataset cic-ids2017

A CSV over 64 MiB given with --path is read in chunks, and the model trains on a seeded uniform sample
of 500,000 of its rows (--sample-rows N to change, 0 for every row): memory stays that of the
sample whatever the file's size. The manifest records sampledRows and sourceRows.

--init DIR continues training a fitted model (flow-lm, autoencoder: detectors with partialFit) on this
data's benign rows: DIR's preprocessing is applied as it was fitted, not refitted, and --param may only
change training knobs (epochs, lr, ...), not the model's shape. --detector, when given, must match DIR's.`,
  async run(args) {
    const initDir = str(args, "init");
    const init = initDir ? await (await import("../detectors/model_dir.ts")).loadModel(initDir) : undefined;
    const initName = init?.manifest.detector.name;
    if (initName && str(args, "detector") && str(args, "detector") !== initName) {
      throw new UsageError(
        `nadir train: --detector ${
          str(args, "detector")
        } differs from the --init model's detector ${initName}`,
      );
    }
    if (init && str(args, "features") !== "all") {
      throw new UsageError("nadir train: --init takes its features from the model; drop --features");
    }
    const detector = str(args, "detector") ?? initName;
    const { listDetectors, getDetectorFactory } = await import("../detectors/registry.ts");
    if (!detector) {
      throw new UsageError(
        `nadir train: --detector is required; one of ${listDetectors().map((f) => f.name).join(", ")}`,
      );
    }
    // A flag naming no detector is a usage error (exit 2), like any bad flag value.
    if (!listDetectors().some((f) => f.name === detector)) {
      throw new UsageError(
        `nadir train: unknown detector "${detector}"; known detectors: ${
          listDetectors().map((f) => f.name).join(", ")
        }`,
      );
    }
    getDetectorFactory(detector);
    const dataset = str(args, "dataset"), path = str(args, "path");
    if (!dataset === !path) {
      throw new UsageError("nadir train: give exactly one of --dataset NAME or --path FILE");
    }
    const { parseParamArgs } = await import("../detectors/params.ts");
    const { parseThresholdSpec } = await import("../thresholds/index.ts");
    const { isParquetPath, loadTable } = await import("../data/table.ts");
    const { trainOnFrame, saveTrained, fineTuneStart } = await import("../detectors/train.ts");
    const params = parseParamArgs((args.options.param as string[] | undefined) ?? []);
    const threshold = parseThresholdSpec(str(args, "threshold") ?? "percentile:0.99");
    const seed = num(args, "seed") ?? 0;
    const source = (dataset ?? path)!;
    const { isBigCsv, isBigParquet, sampleCsv, sampleParquet } = await import("../data/stream.ts");
    const big = path !== undefined && (isBigCsv(path) || isBigParquet(path));
    const sampleRows = count(args, "sample-rows", "train", big ? 500_000 : 0);
    if (sampleRows && !path) {
      throw new UsageError("nadir train: --sample-rows reads a file: give --path FILE");
    }
    let sampled: { rows: number; of: number } | undefined;
    let df;
    if (sampleRows) {
      const { Progress } = await import("../util/progress.ts");
      const parquet = isParquetPath(path!);
      const bar = new Progress({ label: parquet ? "sampling" : "sampling (2 passes)", unit: " rows" });
      const s = parquet
        ? await sampleParquet(path!, {
          rows: sampleRows,
          seed,
          schema: str(args, "schema"),
          onChunk: (n) => bar.tick(n),
        })
        : await sampleCsv(path!, {
          rows: sampleRows,
          seed,
          schema: str(args, "schema"),
          onChunk: (n) => bar.tick(n),
        });
      bar.done();
      df = s.df;
      sampled = { rows: df.height, of: s.sourceRows };
      console.error(
        `nadir train: ${path}: a seeded uniform sample of ${df.height.toLocaleString("en-US")} of its ` +
          `${s.sourceRows.toLocaleString("en-US")} rows, read in chunks (--sample-rows; 0 = the whole file)`,
      );
    } else df = await loadTable(source, str(args, "schema"));
    const start = init ? await fineTuneStart(init, params, seed) : undefined;
    const fset = init ? init.manifest.features.set ?? "all" : str(args, "features") ?? "all";
    const features = start ? start.transform.inputColumns : await featureColumnsFor(df, fset);
    const r = await trainOnFrame(df, {
      detector,
      params,
      seed,
      features,
      assumeBenign: bool(args, "assume-benign"),
      valFraction: num(args, "val-fraction"),
      split: str(args, "split") as "auto",
      threshold,
      scale: str(args, "scale") as "minmax",
      nanPolicy: str(args, "nan-policy") as "median",
      maxRows: num(args, "max-rows"),
      dropDuplicates: bool(args, "keep-duplicates") ? false : undefined,
      init: start,
    });
    const out = str(args, "out") ?? `models/${detector}`;
    const dataHash = await fileSha256(source);
    const manifest = await saveTrained(out, r, {
      seed,
      featureSet: fset,
      trainingDataHash: dataHash,
      training: {
        source,
        assumeBenign: bool(args, "assume-benign"),
        ...(sampled ? { sampledRows: sampled.rows, sourceRows: sampled.of } : {}),
        ...(init ? { initFrom: { dir: init.dir, dataSha256: init.manifest.training.dataSha256 } } : {}),
      },
    });
    r.detector.dispose?.();
    console.log(JSON.stringify({
      model: out,
      detector,
      params: manifest.detector.params,
      backend: manifest.detector.backend,
      features: r.featureNames.length,
      train_rows: r.trainRows,
      val_rows: r.valRows,
      split: r.split,
      train_seconds: Number(r.trainSeconds.toFixed(3)),
      threshold: r.threshold,
    }));
    return 0;
  },
};
