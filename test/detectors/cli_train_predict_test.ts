/**
 * End to end: `nadir train` / `nadir predict` on NSL-KDD (vendored slice) and
 * on flows metered from a vendored capture.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dataPath, nadir } from "../_shared.ts";

function jsonl(text: string): { score: number | null; is_anomaly: boolean }[] {
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("cli: train knn on NSL-KDD benign rows, predict one line per input row", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-cli-" });
  try {
    const model = join(dir, "knn");
    const t = await nadir(
      "train",
      "--detector",
      "knn",
      "--dataset",
      "nsl-kdd-test-21",
      "--max-rows",
      "1500",
      "--out",
      model,
      "--threshold",
      "fpr:0.02",
      "--param",
      "k=3",
    );
    assert.equal(t.code, 0, t.stderr);
    const summary = JSON.parse(t.stdout);
    assert.equal(summary.detector, "knn");
    assert.equal(summary.params.k, 3);
    assert.equal(summary.threshold.strategy, "fpr");
    const manifest = JSON.parse(await Deno.readTextFile(join(model, "manifest.json")));
    assert.match(manifest.training.dataSha256, /^[0-9a-f]{64}$/);
    assert.equal(manifest.transform.format, "nadir-transform");
    const out = join(dir, "scores.jsonl");
    const p = await nadir(
      "predict",
      "--model",
      model,
      "--input",
      dataPath("nsl-kdd", "KDDTest-21.txt.gz"),
      "--out",
      out,
    );
    assert.equal(p.code, 0, p.stderr);
    const rows = jsonl(await Deno.readTextFile(out));
    assert.equal(rows.length, 11850);
    assert.ok(rows.every((r) => typeof r.score === "number" && typeof r.is_anomaly === "boolean"));
    // KDDTest-21 is ~82 % attacks: a working model flags most rows.
    const flagged = rows.filter((r) => r.is_anomaly).length / rows.length;
    assert.ok(flagged > 0.5, `only ${flagged} flagged`);
    // Its manifest without the transform: the model directory is what is wrong, not the input (which it had
    // blamed: "input lacks 11 of the model's … feature columns").
    delete manifest.transform;
    await Deno.writeTextFile(join(model, "manifest.json"), JSON.stringify(manifest));
    const q = await nadir("predict", "--model", model, "--input", dataPath("nsl-kdd", "KDDTest-21.txt.gz"));
    assert.equal(q.code, 1);
    assert.match(
      q.stderr,
      /the model's features include columns a transform makes \(.*=.*\), but its manifest has no "transform"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: train kitnet on flows from a capture (--assume-benign), predict flows of another", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-cli-flows-" });
  try {
    const a = join(dir, "scan.csv"), b = join(dir, "espn.csv"), model = join(dir, "kitnet");
    assert.equal((await nadir("flows", dataPath("pcaps", "synscan.pcapng"), "--out", a)).code, 0);
    assert.equal((await nadir("flows", dataPath("pcaps", "http_espn.pcapng"), "--out", b)).code, 0);
    const unlabelled = await nadir("train", "--detector", "kitnet", "--path", a, "--out", model);
    assert.equal(unlabelled.code, 1);
    assert.match(unlabelled.stderr, /no label column; pass --assume-benign/);
    const t = await nadir(
      "train",
      "--detector",
      "kitnet",
      "--path",
      a,
      "--assume-benign",
      "--param",
      "fmGrace=200",
      "--out",
      model,
    );
    assert.equal(t.code, 0, t.stderr);
    const manifest = JSON.parse(await Deno.readTextFile(join(model, "manifest.json")));
    for (const n of manifest.features.names as string[]) {
      assert.doesNotMatch(n, /(_ip|_mac|_port|first_seen|^id)$/, `metadata column ${n} used as a feature`);
    }
    const p = await nadir("predict", "--model", model, "--input", b);
    assert.equal(p.code, 0, p.stderr);
    const lines = jsonl(p.stdout);
    const flows = (await Deno.readTextFile(b)).trim().split("\n").length - 1;
    assert.equal(lines.length, flows);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: usage and input errors", async () => {
  const missing = await nadir("train", "--dataset", "nsl-kdd-test-21");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--detector is required; one of kmeans, isolation-forest, knn, kitnet/);
  const unknown = await nadir("train", "--detector", "svm", "--dataset", "nsl-kdd-test-21");
  assert.equal(unknown.code, 2, "a flag naming no detector is a usage error");
  assert.match(unknown.stderr, /unknown detector "svm"; known detectors: kmeans, /);
  const help = await nadir("train", "--help");
  assert.equal(help.code, 0);
  for (const name of ["knn", "ocsvm", "flow-lm"]) {
    assert.match(help.stdout, new RegExp(`^  ${name} +\\S`, "m"));
  }
  const badParam = await nadir(
    "train",
    "--detector",
    "knn",
    "--dataset",
    "nsl-kdd-test-21",
    "--param",
    "k=zero",
  );
  assert.equal(badParam.code, 1);
  assert.match(badParam.stderr, /parameter k expects an integer >= 1, found "zero"/);
  const noModel = await nadir("predict", "--model", "/nonexistent/model", "--input", "nsl-kdd-test-21");
  assert.equal(noModel.code, 1);
  assert.match(noModel.stderr, /model directory not found/);
  // A table with a header and no rows: train refused it, predict had written nothing and exited 0.
  const dir = await Deno.makeTempDir({ prefix: "nadir-cli-empty-" });
  try {
    const flows = join(dir, "flows.csv"), model = join(dir, "m");
    assert.equal((await nadir("flows", dataPath("pcaps", "synscan.pcapng"), "--out", flows)).code, 0);
    const t = await nadir("train", "--detector", "hbos", "--path", flows, "--assume-benign", "--out", model);
    assert.equal(t.code, 0, t.stderr);
    const header = join(dir, "header.csv");
    Deno.writeTextFileSync(header, Deno.readTextFileSync(flows).split("\n")[0] + "\n");
    const empty = await nadir("predict", "--model", model, "--input", header);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /header\.csv: no rows to score: the table has a header and no rows/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: train --sample-rows reads the file in chunks and trains on a seeded sample; predict --batch-rows streams the same scores", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-cli-sample-" });
  try {
    const file = dataPath("cic-ids2017", "Portscan_2500.csv.gz");
    const model = join(dir, "if");
    const t = await nadir(
      "train",
      "--detector",
      "isolation-forest",
      "--path",
      file,
      "--assume-benign",
      "--sample-rows",
      "1000",
      "--seed",
      "3",
      "--out",
      model,
    );
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stderr, /a seeded uniform sample of 1,000 of its 2,500 rows/);
    const m = JSON.parse(await Deno.readTextFile(join(model, "manifest.json")));
    assert.equal(m.training.sampledRows, 1000);
    assert.equal(m.training.sourceRows, 2500);
    const dup = m.training.preprocess?.duplicatesDropped ?? 0;
    assert.equal(
      m.training.trainRows + m.training.valRows + dup,
      1000,
      JSON.stringify(m.training.preprocess),
    );
    const whole = await nadir("predict", "--model", model, "--input", file, "--batch-rows", "0");
    const chunked = await nadir("predict", "--model", model, "--input", file, "--batch-rows", "600");
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(chunked.code, 0, chunked.stderr);
    assert.equal(jsonl(chunked.stdout).length, 2500);
    assert.equal(chunked.stdout, whole.stdout);
    const bad = await nadir("train", "--detector", "knn", "--dataset", "cic-ids2017", "--sample-rows", "10");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--sample-rows reads a file: give --path FILE/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
