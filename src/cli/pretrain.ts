/**
 * `nadir pretrain`: Train flow-lm on unlabelled captures or flow files and save a checkpoint that
 * `nadir train --init` fine-tunes on a site's benign traffic.
 *
 * @module
 */
import { resolve } from "node:path";
import { type Command, num, type ParsedArgs, str } from "./command.ts";
import { UsageError } from "../util/errors.ts";
import { FEATURE_SET_NAMES, type FeatureSetName } from "../flows/features/mod.ts";

export const command: Command = {
  name: "pretrain",
  summary: "Pre-train flow-lm on unlabelled captures or flow files (a checkpoint for train --init)",
  positionals: [{
    name: "INPUT",
    variadic: true,
    description:
      "Captures (pcap, pcapng), folders of them (searched recursively), or flow tables (CSV, Parquet)",
  }],
  options: {
    out: {
      type: "string",
      arg: "DIR",
      writes: "dir",
      description: "Checkpoint directory",
      default: "models/flow-lm-pretrained",
    },
    features: {
      type: "string",
      choices: FEATURE_SET_NAMES,
      default: "cic",
      description: "Feature set captures are metered with (and flow tables must carry)",
    },
    detector: {
      type: "string",
      arg: "NAME",
      default: "flow-lm",
      description: "Detector to pre-train (one with partialFit: flow-lm, autoencoder)",
    },
    seed: { type: "number", arg: "N", description: "Seed for splits and model randomness", default: 0 },
    param: {
      type: "string",
      arg: "K=V",
      multiple: true,
      description: "Detector hyperparameter (repeatable), e.g. --param layers=2",
    },
    "val-fraction": {
      type: "number",
      arg: "F",
      description: "Rows held out (early stopping and the checkpoint's threshold)",
      default: 0.1,
    },
    "max-rows": {
      type: "number",
      arg: "N",
      description: "Train on at most N flows (seeded sample)",
      integer: true,
      min: 1,
    },
  },
  details: `Every capture is metered as \`nadir flows --features SET\` meters it; every flow counts as
training data (pre-training is unsupervised: attack captures in the corpus are fine, the fine-tune
decides what is benign at a site). The checkpoint is an ordinary model directory (its threshold is
fitted on held-out corpus flows) whose manifest lists every file with its flow count and damage.

Examples:
  deno task nadir pretrain ../shared/data/pcaps ../shared/data/nfstream/pcaps --out models/flow-lm-pretrained
  deno task nadir train --init models/flow-lm-pretrained --dataset cic-ids2017 --out models/flow-lm-site`,
  async run(args: ParsedArgs) {
    if (!args.positionals.length) {
      throw new UsageError("nadir pretrain: give at least one capture, folder or flow table");
    }
    const features = str(args, "features") as FeatureSetName;
    const { parseParamArgs } = await import("../detectors/params.ts");
    const { pretrain } = await import("../eval/pretrain.ts");
    const { saveTrained } = await import("../detectors/train.ts");
    const { filesSha256 } = await import("../util/hash.ts");
    const detector = str(args, "detector") ?? "flow-lm";
    const seed = num(args, "seed") ?? 0;
    // One file twice: its flows counted twice, and copies of one flow in both the training and held-out rows.
    const seen = new Map<string, string>();
    for (const f of args.positionals) {
      const key = resolve(f);
      if (seen.has(key)) {
        throw new UsageError(`nadir pretrain: ${f} is given twice (as ${seen.get(key)} too)`);
      }
      seen.set(key, f);
    }
    const { result: r, corpus } = await pretrain(args.positionals, {
      features,
      detector,
      params: parseParamArgs((args.options.param as string[] | undefined) ?? []),
      seed,
      valFraction: num(args, "val-fraction"),
      maxRows: num(args, "max-rows"),
    });
    const out = str(args, "out") ?? "models/flow-lm-pretrained";
    const manifest = await saveTrained(out, r, {
      seed,
      featureSet: features,
      trainingDataHash: await filesSha256(corpus.files.map((f) => f.file)),
      training: {
        pretrain: {
          features,
          flows: corpus.matrix.rows,
          files: corpus.files.map((f) => ({
            file: f.file,
            kind: f.kind,
            flows: f.flows,
            ...(f.packets !== undefined ? { packets: f.packets } : {}),
            ...(f.damage ? { damage: f.damage } : {}),
          })),
        },
      },
    });
    r.detector.dispose?.();
    console.log(JSON.stringify({
      model: out,
      detector,
      params: manifest.detector.params,
      files: corpus.files.length,
      flows: corpus.matrix.rows,
      damaged_files: corpus.files.filter((f) => f.damage).length,
      features: r.featureNames.length,
      train_rows: r.trainRows,
      val_rows: r.valRows,
      train_seconds: Number(r.trainSeconds.toFixed(3)),
    }));
    return 0;
  },
};
