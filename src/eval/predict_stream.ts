/**
 * `nadir predict` over a CSV bigger than memory: the file is read in chunks
 * of whole rows (src/data/chunks.ts), each chunk goes through the ordinary
 * loader for the file's dataset family and {@link predictBatch}, and its
 * scores are written before the next chunk is read. Memory stays that of one
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
import { join } from "node:path";
import type { LoadedModel } from "../detectors/model_dir.ts";
import { predictBatch } from "../detectors/predict.ts";
import { contextFromFrame } from "../detectors/train.ts";
import { csvChunks } from "../data/chunks.ts";
import { detectFamily, loadTable, sniffFirstLine } from "../data/table.ts";
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

/** Scores `input` chunk by chunk with `model`; see the module doc. */
export async function predictCsvStream(
  input: string,
  model: LoadedModel,
  o: PredictStreamOptions,
): Promise<PredictStreamSummary> {
  const family = o.schema ?? await detectFamily(input);
  const first = await sniffFirstLine(input);
  // KDD-style files and UNSW-NB15's released CSVs have no header line; the others do.
  const header = family === undefined || family === "cic-ids2017" ||
    (family === "unsw-nb15" && /attack_cat/i.test(first));
  // Each chunk is handed to the loader as a file: in memory (/dev/shm) where the system has one.
  let shm: string | undefined;
  try {
    shm = Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
  } catch { /* not Linux */ }
  const dir = await Deno.makeTempDir({ prefix: "nadir-predict-", dir: shm });
  const chunkFile = join(dir, "chunk.csv");
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
  let readBytes = 0;
  const enc = new TextEncoder();
  try {
    for await (const c of csvChunks(input, { rowsPerChunk: o.rowsPerChunk ?? 100_000, header })) {
      await Deno.writeFile(chunkFile, c.bytes);
      let df;
      try {
        df = await loadTable(chunkFile, family);
      } catch (e) {
        throw relocate(e, input, chunkFile, c.firstLine, header);
      }
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
        throw relocate(e, input, chunkFile, c.firstLine, header);
      }
      const lines: string[] = new Array(r.scores.length);
      for (let i = 0; i < r.scores.length; i++) {
        lines[i] = scoreLine(r.scores[i], r.isAnomaly[i] === true, r.dropped[i] === 1, r.nonFinite[i] === 1);
        if (r.isAnomaly[i]) sum.anomalies++;
        if (r.dropped[i]) sum.dropped++;
      }
      sum.rows += r.scores.length;
      sum.nonFinite += r.nonFiniteCount;
      sum.threshold = r.threshold;
      sum.chunks++;
      if (lines.length) await o.write(enc.encode(lines.join("\n") + "\n"));
      readBytes += c.bytes.length;
      bar.update(Math.min(size, readBytes), { rows: sum.rows });
    }
  } finally {
    bar.done();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return sum;
}

/** An error found in a chunk, told against the input file and its own line numbers. */
function relocate(e: unknown, input: string, chunkFile: string, firstLine: number, header: boolean): unknown {
  if (!(e instanceof InputError) || e.location.file !== chunkFile) return e;
  const l = e.location.line;
  const line = l === undefined ? undefined : header ? (l === 1 ? 1 : firstLine + l - 2) : firstLine + l - 1;
  return new InputError(e.detail, { ...e.location, file: input, line }, { cause: e });
}
