/**
 * `nadir preprocess IN OUT`: fit a preprocessing transform on training data (or load one) and
 * write the transformed features of IN (+ label, attack, category) to OUT as CSV or Parquet.
 * Prints one JSON object describing what was done.
 *
 * @module
 */
import { batchRowsOption, bool, type Command, num, str } from "./command.ts";

export const command: Command = {
  name: "preprocess",
  summary: "Fit/apply a preprocessing transform (dedupe, NaN policy, one-hot, scaling)",
  positionals: [
    {
      name: "IN",
      description: "Input: dataset name (nsl-kdd-test, ...) or a file/directory (CSV, .gz, Parquet)",
    },
    { name: "OUT", description: "Output file: .csv or .parquet", writes: "file" },
  ],
  options: {
    schema: {
      type: "string",
      arg: "NAME",
      description:
        "Dataset name or family of IN/TRAIN (nsl-kdd, kdd99, cic-ids2017, unsw-nb15); default: detected",
    },
    "fit-on": {
      type: "string",
      arg: "TRAIN",
      description: "Fit on this file/dataset and only transform IN (default: fit on IN itself)",
    },
    transform: {
      type: "string",
      arg: "FILE",
      description: "Apply a saved transform (JSON) instead of fitting",
    },
    "save-transform": {
      type: "string",
      arg: "FILE",
      description: "Save the fitted transform as JSON",
      writes: "file",
    },
    scale: {
      type: "string",
      choices: ["minmax", "standard", "robust", "none"],
      description: "Scaling fitted on the training data",
      default: "minmax",
    },
    "nan-policy": {
      type: "string",
      choices: ["error", "drop", "zero", "median"],
      description: "NaN/Infinity/empty values in numeric features",
      default: "error",
    },
    features: {
      type: "string",
      arg: "SET|A,B,...",
      description: "Feature set (all, kdd-header) or comma-separated column names",
      default: "all",
    },
    clip: { type: "boolean", description: "Clip scaled values (minmax to [0,1], standard/robust to ±10)" },
    "keep-duplicates": { type: "boolean", description: "Do not drop exact duplicates of the training data" },
    "keep-constant": { type: "boolean", description: "Do not drop constant columns" },
    "max-categories": {
      type: "number",
      arg: "N",
      integer: true,
      min: 1,
      description: "Most frequent categories kept per column; the rest go to __unknown__",
      default: 1000,
    },
    format: {
      type: "string",
      choices: ["csv", "parquet"],
      description: "Output format (default: from the OUT extension)",
    },
    "batch-rows": batchRowsOption(
      "Apply the transform to a CSV or Parquet file N rows at a time, writing the output as it goes",
      true,
    ),
  },
  details: `Fitting happens on training data only: with --fit-on the input is transformed, never fitted;
without it the input is the training data and OUT holds its deduplicated rows. A saved transform
(--save-transform) applies unchanged later (--transform) and to live flows. See docs/preprocess.md.

Examples:
  deno task nadir preprocess nsl-kdd-train train.parquet --save-transform nsl.json --scale standard
  deno task nadir preprocess nsl-kdd-test test.parquet --transform nsl.json
  deno task nadir preprocess data/cic-ids2017 cic.csv --nan-policy median --scale robust
  deno task nadir preprocess big.csv big-scaled.csv --transform cic.json     # CSVs over 64 MiB: in chunks`,
  async run(args) {
    const { preprocess_data } = await import("../data/preprocess.ts");
    const [input, output] = args.positionals;
    const fset = str(args, "features") ?? "all";
    const list = fset.includes(",") ? fset.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
    const r = await preprocess_data(input, output, {
      schema: str(args, "schema"),
      fitOn: str(args, "fit-on"),
      transform: str(args, "transform"),
      saveTransform: str(args, "save-transform"),
      scale: str(args, "scale") as "minmax",
      nanPolicy: str(args, "nan-policy") as "error",
      features: list,
      featureSet: list ? undefined : fset,
      clip: bool(args, "clip"),
      dropDuplicates: !bool(args, "keep-duplicates"),
      dropConstant: !bool(args, "keep-constant"),
      maxCategories: num(args, "max-categories"),
      format: str(args, "format") as "csv" | undefined,
      batchRows: num(args, "batch-rows"),
    });
    const { transform: _t, ...summary } = r;
    console.log(JSON.stringify(summary));
    return 0;
  },
};
