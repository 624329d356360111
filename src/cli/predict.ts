/**
 * `nadir predict`: Score a file with a saved model (JSON lines out): one
 * `{"score": x, "is_anomaly": bool}` per input row, in input order. Rows the
 * model's preprocessing drops (nanPolicy "drop") get `"score": null` and
 * `"reason": "dropped"`; a row the model scores NaN or ±Infinity fails closed:
 * `{"score": null, "is_anomaly": true, "reason": "non_finite_score"}`, counted
 * on stderr and in the summary.
 *
 * @module
 */
import { batchRowsOption, type Command, count, num, type ParsedArgs, str } from "./command.ts";
import { InputError, UsageError, withFile } from "../util/errors.ts";

export const command: Command = {
  name: "predict",
  summary: "Score a file with a saved model (JSON lines out)",
  options: {
    model: {
      type: "string",
      arg: "DIR",
      description: "Model directory written by `nadir train`, or a model history (its head)",
    },
    input: {
      type: "string",
      arg: "FILE",
      description: "Dataset name, any file the loaders read, or a feature CSV/Parquet",
    },
    schema: {
      type: "string",
      arg: "NAME",
      description: "Dataset name/family of --input when detection fails",
    },
    out: { type: "string", arg: "FILE.jsonl", description: "Output file (default: stdout)", writes: "file" },
    "batch-rows": batchRowsOption("Score a CSV or Parquet file N rows at a time, memory bounded", true),
    threshold: { type: "number", arg: "X", description: "Override the model's saved threshold" },
  },
  details: `Label columns in the input are ignored; the model's saved transform is applied to the raw columns.

Examples:
  deno task nadir predict --model models/knn --input nsl-kdd-test --out scores.jsonl
  deno task nadir predict --model models/kitnet --input flows.csv | head`,
  async run(args) {
    const modelDir = str(args, "model"), input = str(args, "input");
    if (!modelDir) throw new UsageError("nadir predict: --model DIR is required");
    if (!input) throw new UsageError("nadir predict: --input FILE is required");
    const { isBigCsv, isBigParquet } = await import("../data/stream.ts");
    const big = isBigCsv(input) || isBigParquet(input);
    const batchRows = count(args, "batch-rows", "predict", big ? 100_000 : 0);
    if (batchRows > 0) return await streamed(args, modelDir, input, batchRows);
    const { loadModel } = await import("../detectors/model_dir.ts");
    const { resolveModelDir } = await import("../detectors/model_history.ts");
    const { predictBatch } = await import("../detectors/predict.ts");
    const { contextFromFrame } = await import("../detectors/train.ts");
    const { loadTable } = await import("../data/table.ts");
    const model = await loadModel(await resolveModelDir(modelDir));
    const df = await loadTable(input, str(args, "schema"));
    // As train and data info say it: a header alone had scored nothing, written nothing and exited 0.
    if (df.height === 0) {
      throw new InputError("no rows to score: the table has a header and no rows", { file: input });
    }
    const r = await withFile(input, () =>
      predictBatch(df, model, {
        threshold: num(args, "threshold"),
        context: contextFromFrame(df),
      }));
    const { scoreLines } = await import("../eval/predict_stream.ts");
    const { lines, anomalies } = scoreLines(r);
    warnNonFinite(r.nonFiniteCount, r.scores.length);
    const text = lines.length ? lines.join("\n") + "\n" : "";
    const out = str(args, "out");
    if (out) await Deno.writeTextFile(out, text);
    else await Deno.stdout.write(new TextEncoder().encode(text));
    model.detector.dispose?.();
    if (out) {
      console.log(
        JSON.stringify({
          model: modelDir,
          input,
          rows: r.scores.length,
          anomalies,
          non_finite_scores: r.nonFiniteCount,
          threshold: r.threshold,
          out,
        }),
      );
    }
    return 0;
  },
};

/** Says on stderr how many rows scored NaN or ±Infinity, and how they were written. */
function warnNonFinite(n: number, rows: number): void {
  if (!n) return;
  console.error(
    `nadir predict: ${n} of ${rows} rows scored NaN or ±Infinity (the model failed on them): ` +
      `written as "score": null, "is_anomaly": true, "reason": "non_finite_score"`,
  );
}

/** `--batch-rows N`: the file scored chunk by chunk (src/eval/predict_stream.ts). */
async function streamed(
  args: ParsedArgs,
  modelDir: string,
  input: string,
  rowsPerChunk: number,
): Promise<number> {
  const { loadModel } = await import("../detectors/model_dir.ts");
  const { resolveModelDir } = await import("../detectors/model_history.ts");
  const { predictCsvStream } = await import("../eval/predict_stream.ts");
  let isFile = false;
  try {
    isFile = Deno.statSync(input).isFile;
  } catch { /* a dataset name, or missing */ }
  if (!isFile) {
    throw new UsageError(
      `nadir predict: --batch-rows reads one CSV (.csv, .csv.gz) or Parquet file, found "${input}"`,
    );
  }
  const model = await loadModel(await resolveModelDir(modelDir));
  const out = str(args, "out");
  // Written beside, renamed over --out once every chunk is scored: a run that fails half way (a bad row
  // in a late chunk) had left the first chunks' scores in --out, looking like a finished file.
  const partial = out ? `${out}.partial` : undefined;
  const file = partial ? await Deno.open(partial, { write: true, create: true, truncate: true }) : undefined;
  const sink = file ?? Deno.stdout;
  const write = async (bytes: Uint8Array) => {
    for (let off = 0; off < bytes.length;) off += await sink.write(bytes.subarray(off));
  };
  const t0 = performance.now();
  let done = false;
  try {
    const r = await predictCsvStream(input, model, {
      schema: str(args, "schema"),
      threshold: num(args, "threshold"),
      rowsPerChunk,
      write,
      progress: out !== undefined && Deno.stderr.isTerminal(),
    });
    warnNonFinite(r.nonFinite, r.rows);
    if (out) {
      file!.close();
      Deno.renameSync(partial!, out);
      done = true;
      const seconds = (performance.now() - t0) / 1000;
      console.log(JSON.stringify({
        model: modelDir,
        input,
        rows: r.rows,
        anomalies: r.anomalies,
        non_finite_scores: r.nonFinite,
        threshold: r.threshold,
        out,
        batch_rows: rowsPerChunk,
        chunks: r.chunks,
        rows_per_second: Math.round(r.rows / seconds),
      }));
    }
  } finally {
    if (partial && !done) {
      try {
        file!.close();
      } catch { /* closed */ }
      try {
        Deno.removeSync(partial);
      } catch { /* never made */ }
    }
    model.detector.dispose?.();
  }
  return 0;
}
