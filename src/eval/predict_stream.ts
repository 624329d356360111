/**
 * `nadir predict` over a CSV or Parquet file bigger than memory: a CSV is
 * read in chunks of whole rows (src/data/chunks.ts), each going through the
 * ordinary loader for the file's dataset family, a Parquet file one row group
 * at a time (src/data/parquet.ts); each chunk goes through
 * {@link predictBatch}, and its scores are written before the next chunk is read. Memory stays that of one
 * chunk whatever the file's size; the output is the same as scoring the whole
 * file at once for every detector that scores rows one by one (a sequence
 * model, which scores rows in the context of the rows around them, is
 * refused: a chunk boundary would cut its windows).
 *
 * @example
 * ```ts ignore
 * import { predictCsvStream } from "./predict_stream.ts";
 * import { loadModel } from "../detectors/model_dir.ts";
 * const model = await loadModel("models/knn");
 * await predictCsvStream("big.csv", model, { rowsPerChunk: 100_000, write: (t) => Deno.stdout.write(t) });
 * ```
 * @module
 */
import type { LoadedModel } from "../detectors/model_dir.ts";
import { type BatchPrediction, predictBatch } from "../detectors/predict.ts";
import { contextFromFrame } from "../detectors/train.ts";
import { tableFrames } from "../data/stream.ts";
import { InputError, UsageError } from "../util/errors.ts";
import { Progress } from "../util/progress.ts";

/** Options for {@link predictCsvStream}. */
export interface PredictStreamOptions {
  /** Dataset family of the file when detection fails (as `--schema`). */
  schema?: string;
  threshold?: number;
  /** Rows per chunk (default 100,000). */
  rowsPerChunk?: number;
  /** Receives each chunk's JSON lines (awaited: back-pressure from a slow disk or pipe). */
  write: (bytes: Uint8Array) => Promise<unknown>;
  /** Progress bar on stderr (default off). */
  progress?: boolean;
}

/** What a streamed prediction counted. */
export interface PredictStreamSummary {
  rows: number;
  anomalies: number;
  dropped: number;
  nonFinite: number;
  chunks: number;
  threshold: number;
}

/** The JSON line of one scored row (the same as `nadir predict` writes for a whole file). */
export function scoreLine(score: number, isAnomaly: boolean, dropped: boolean, nonFinite: boolean): string {
  // JSON has no NaN or Infinity: a non-finite score is null, with the reason.
  return dropped
    ? `{"score":null,"is_anomaly":false,"reason":"dropped"}`
    : nonFinite
    ? `{"score":null,"is_anomaly":true,"reason":"non_finite_score"}`
    : `{"score":${score},"is_anomaly":${isAnomaly}}`;
}

/** The JSON lines of a batch's scores (as `nadir predict` writes them), with its anomalies and dropped rows. */
export function scoreLines(
  r: Pick<BatchPrediction, "scores" | "isAnomaly" | "dropped" | "nonFinite">,
): { lines: string[]; anomalies: number; dropped: number } {
  const lines: string[] = new Array(r.scores.length);
  let anomalies = 0, dropped = 0;
  for (let i = 0; i < r.scores.length; i++) {
    lines[i] = scoreLine(r.scores[i], r.isAnomaly[i], r.dropped[i] === 1, r.nonFinite[i] === 1);
    if (r.isAnomaly[i]) anomalies++;
    if (r.dropped[i]) dropped++;
  }
  return { lines, anomalies, dropped };
}

/** Scores `input` chunk by chunk with `model`; see the module doc. */
export async function predictCsvStream(
  input: string,
  model: LoadedModel,
  o: PredictStreamOptions,
): Promise<PredictStreamSummary> {
  const sum: PredictStreamSummary = {
    rows: 0,
    anomalies: 0,
    dropped: 0,
    nonFinite: 0,
    chunks: 0,
    threshold: NaN,
  };
  let size = 0;
  try {
    size = (await Deno.stat(input)).size;
  } catch { /* the chunker reports it */ }
  const bar = new Progress({ label: "rows", total: size, unit: "B", silent: !o.progress });
  const enc = new TextEncoder();
  try {
    for await (const f of tableFrames(input, { schema: o.schema, rowsPerChunk: o.rowsPerChunk })) {
      const df = f.df;
      const context = contextFromFrame(df);
      if (context && sum.chunks === 0 && model.manifest.detector.name === "lstm") {
        throw new UsageError(
          `nadir predict: ${model.manifest.detector.name} scores rows in the context of their neighbours ` +
            `(groups, time); scoring ${input} in chunks would cut its windows: use --batch-rows 0 (whole file)`,
        );
      }
      let r;
      try {
        r = await predictBatch(df, model, { threshold: o.threshold, context });
      } catch (e) {
        throw f.relocate(e);
      }
      const { lines, anomalies, dropped } = scoreLines(r);
      sum.anomalies += anomalies;
      sum.dropped += dropped;
      sum.rows += r.scores.length;
      sum.nonFinite += r.nonFiniteCount;
      sum.threshold = r.threshold;
      sum.chunks++;
      if (lines.length) await o.write(enc.encode(lines.join("\n") + "\n"));
      bar.update(Math.min(size, f.bytesRead), { rows: sum.rows });
    }
  } finally {
    bar.done();
  }
  // As the whole-file path says it: a header alone (or an empty file) had scored nothing and exited 0.
  if (sum.rows === 0) {
    throw new InputError("no rows to score: the table has no data rows", { file: input });
  }
  return sum;
}
