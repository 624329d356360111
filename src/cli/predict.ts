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
import { type Command, num, str } from "./command.ts";
import { UsageError, withFile } from "../util/errors.ts";

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
    out: { type: "string", arg: "FILE.jsonl", description: "Output file (default: stdout)" },
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
    const { loadModel } = await import("../detectors/model_dir.ts");
    const { resolveModelDir } = await import("../detectors/model_history.ts");
    const { predictBatch } = await import("../detectors/predict.ts");
    const { contextFromFrame } = await import("../detectors/train.ts");
    const { loadTable } = await import("../data/table.ts");
    const model = await loadModel(await resolveModelDir(modelDir));
    const df = await loadTable(input, str(args, "schema"));
    const r = await withFile(input, () =>
      predictBatch(df, model, {
        threshold: num(args, "threshold"),
        context: contextFromFrame(df),
      }));
    const lines: string[] = new Array(r.scores.length);
    for (let i = 0; i < r.scores.length; i++) {
      const s = r.scores[i];
      // JSON has no NaN or Infinity: a non-finite score is null, with the reason.
      lines[i] = r.dropped[i]
        ? `{"score":null,"is_anomaly":false,"reason":"dropped"}`
        : r.nonFinite[i]
        ? `{"score":null,"is_anomaly":true,"reason":"non_finite_score"}`
        : `{"score":${s},"is_anomaly":${r.isAnomaly[i]}}`;
    }
    if (r.nonFiniteCount) {
      console.error(
        `nadir predict: ${r.nonFiniteCount} of ${r.scores.length} rows scored NaN or ±Infinity (the model ` +
          `failed on them): written as "score": null, "is_anomaly": true, "reason": "non_finite_score"`,
      );
    }
    const text = lines.length ? lines.join("\n") + "\n" : "";
    const out = str(args, "out");
    if (out) await Deno.writeTextFile(out, text);
    else await Deno.stdout.write(new TextEncoder().encode(text));
    model.detector.dispose?.();
    let anomalies = 0;
    for (const a of r.isAnomaly) if (a) anomalies++;
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
