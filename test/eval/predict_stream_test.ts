import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel } from "../../src/detectors/model_dir.ts";
import { predictBatch } from "../../src/detectors/predict.ts";
import { contextFromFrame, saveTrained, trainOnFrame } from "../../src/detectors/train.ts";
import { loadDataset } from "../../src/data/datasets.ts";
import { loadTable } from "../../src/data/table.ts";
import { predictCsvStream, scoreLine } from "../../src/eval/predict_stream.ts";
import { InputError } from "../../src/util/errors.ts";
import { ParquetFileSink } from "../../src/flows/parquet_sink.ts";
import { frameColumns, writeFrame } from "../../src/flows/batch_sink.ts";
import { cicLinesWith, dataPath } from "../_shared.ts";
import { scratchDir } from "../_scratch.ts";
import { existsSync } from "../../src/util/fs.ts";

const dec = new TextDecoder();

/** Scores of the whole file at once, as `nadir predict --batch-rows 0` writes them. */
async function whole(path: string, schema: string | undefined, modelDir: string): Promise<string> {
  const model = await loadModel(modelDir);
  const df = await loadTable(path, schema);
  const r = await predictBatch(df, model, { context: contextFromFrame(df) });
  return Array.from(
    r.scores,
    (s, i) => scoreLine(s, r.isAnomaly[i], r.dropped[i] === 1, r.nonFinite[i] === 1),
  )
    .join("\n") + "\n";
}

async function streamed(path: string, schema: string | undefined, modelDir: string, rows: number) {
  const model = await loadModel(modelDir);
  const parts: Uint8Array[] = [];
  const s = await predictCsvStream(path, model, {
    schema,
    rowsPerChunk: rows,
    write: (b) => Promise.resolve(parts.push(b)),
  });
  return { text: parts.map((p) => dec.decode(p)).join(""), summary: s };
}

/** An isolation forest trained on a vendored dataset, saved to `dir`. */
async function train(dataset: string, dir: string): Promise<void> {
  const r = await trainOnFrame(loadDataset(dataset).df, {
    detector: "isolation-forest",
    seed: 1,
    silent: true,
  });
  await saveTrained(dir, r, { seed: 1 });
}

Deno.test("predictCsvStream: chunk by chunk, the same scores as the whole file (CIC with header, NSL-KDD without)", async () => {
  const dir = scratchDir("nadir-stream-");
  for (
    const [dataset, file, schema] of [
      ["cic-ids2017", dataPath("cic-ids2017", "DDoS_2500.csv.gz"), "cic-ids2017"],
      ["nsl-kdd-train-20", dataPath("nsl-kdd", "KDDTest-21.txt.gz"), "nsl-kdd"],
    ]
  ) {
    const modelDir = join(dir, dataset);
    await train(dataset, modelDir);
    const want = await whole(file, schema, modelDir);
    // The family is detected from the file (no schema given), as `nadir predict --input` does.
    const got = await streamed(file, undefined, modelDir, 777);
    assert.equal(got.text, want, dataset);
    assert.equal(got.summary.rows, want.split("\n").length - 1);
    assert.ok(got.summary.chunks >= 3);
  }
});

Deno.test("predictCsvStream: a bad row in a late chunk is named by the input's own line", async () => {
  const dir = scratchDir("nadir-stream-bad-");
  const modelDir = join(dir, "m");
  await train("cic-ids2017", modelDir);
  const lines = cicLinesWith(1500, 10, "not-a-number");
  const bad = join(dir, "bad.csv");
  Deno.writeTextFileSync(bad, lines.join("\n"));
  await assert.rejects(
    streamed(bad, "cic-ids2017", modelDir, 400),
    (e: unknown) => e instanceof InputError && e.location.file === bad && e.location.line === 1501,
  );
});

Deno.test("predictCsvStream on Parquet: row group by row group, the same scores as the whole file", async () => {
  const dir = scratchDir("nadir-stream-pq-");
  try {
    const modelDir = join(dir, "m");
    await train("cic-ids2017", modelDir);
    const df = await loadTable(dataPath("cic-ids2017", "DDoS_2500.csv.gz"), "cic-ids2017");
    // One file from polars (one row group, cut into chunks), one from nadir's writer (row groups of 600).
    const byPolars = join(dir, "polars.parquet"), byNadir = join(dir, "nadir.parquet");
    df.writeParquet(byPolars, { compression: "zstd" });
    const sink = new ParquetFileSink(byNadir, { batchRows: 600 });
    sink.header(frameColumns(df));
    writeFrame(sink, df);
    await sink.close();
    for (const [path, rows] of [[byPolars, 777], [byNadir, 1000]] as const) {
      const want = await whole(path, undefined, modelDir);
      const got = await streamed(path, undefined, modelDir, rows);
      assert.equal(got.text, want, path);
      assert.equal(got.summary.rows, 2500);
      assert.ok(got.summary.chunks >= 4, `${got.summary.chunks} chunks`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("nadir predict --batch-rows: a run that fails leaves no output; a header alone is an error", async () => {
  // Before, a bad row in a late chunk left the earlier chunks' scores in --out (exit 1, but a file that
  // looked finished), and a header alone scored nothing with exit 0.
  const { main } = await import("../../src/cli.ts");
  const dir = scratchDir("nadir-stream-out-");
  const modelDir = join(dir, "m");
  await train("cic-ids2017", modelDir);
  const lines = cicLinesWith(2001, 10, "abc");
  const bad = join(dir, "bad.csv"), header = join(dir, "header.csv"), out = join(dir, "scores.jsonl");
  Deno.writeTextFileSync(bad, lines.join("\n"));
  Deno.writeTextFileSync(header, lines[0] + "\n");
  const orig = console.error;
  console.error = () => {};
  try {
    assert.equal(
      await main(["predict", "--model", modelDir, "--input", bad, "--batch-rows", "500", "--out", out]),
      1,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["bad.csv", "header.csv", "m"]);
    assert.equal(await main(["predict", "--model", modelDir, "--input", header, "--batch-rows", "7"]), 1);
    // The good file: written whole under --out, nothing left beside it.
    lines[2001] = lines[2002];
    Deno.writeTextFileSync(bad, lines.join("\n"));
    const log = console.log;
    console.log = () => {};
    try {
      assert.equal(
        await main(["predict", "--model", modelDir, "--input", bad, "--batch-rows", "500", "--out", out]),
        0,
      );
    } finally {
      console.log = log;
    }
    assert.equal(Deno.readTextFileSync(out).split("\n").length - 1, 2500);
    assert.ok(!existsSync(`${out}.partial`));
  } finally {
    console.error = orig;
  }
});
