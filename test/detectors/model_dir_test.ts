import assert from "node:assert/strict";
import { join } from "node:path";
import { createDetector } from "../../src/detectors/registry.ts";
import { FORMAT_VERSION, loadModel, saveModel } from "../../src/detectors/model_dir.ts";
import { InputError } from "../../src/util/errors.ts";
import { VERSION } from "../../src/version.ts";
import { syntheticSet } from "./_synthetic.ts";

const data = syntheticSet({ nTrain: 300, nBenign: 50, nAnomalies: 10 });

async function savedKnn(): Promise<string> {
  const d = createDetector("knn", { k: 2, bruteMax: 10 }, 3);
  await d.fit(data.train);
  const dir = await Deno.makeTempDir({ prefix: "nadir-modeldir-" });
  await saveModel(dir, {
    detector: d,
    seed: 3,
    featureNames: data.train.names,
    featureSet: "synthetic",
    threshold: { strategy: "percentile", params: { q: 0.99 }, value: 0.5 },
    trainingDataHash: "ab".repeat(32),
  });
  return dir;
}

async function rejects(dir: string, pattern: RegExp): Promise<void> {
  await assert.rejects(() => loadModel(dir), (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("model dir: manifest fields and a faithful round trip", async () => {
  const dir = await savedKnn();
  try {
    const m = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
    assert.equal(m.formatVersion, FORMAT_VERSION);
    assert.ok(Number.isInteger(m.formatVersion));
    assert.equal(m.nadirVersion, VERSION);
    assert.equal(m.detector.name, "knn");
    assert.deepEqual(m.detector.params, { k: 2, algorithm: "auto", bruteMax: 10, leafSize: 16 });
    assert.equal(m.detector.seed, 3);
    assert.equal(m.detector.backend, "js");
    assert.deepEqual(m.features, { set: "synthetic", names: [...data.train.names] });
    assert.equal(m.threshold.value, 0.5);
    assert.equal(m.training.dataSha256, "ab".repeat(32));
    assert.ok(!Number.isNaN(Date.parse(m.createdAt)));
    for (const [rel, f] of Object.entries(m.files) as [string, { sha256: string; bytes: number }][]) {
      assert.match(f.sha256, /^[0-9a-f]{64}$/);
      assert.equal((await Deno.stat(join(dir, rel))).size, f.bytes);
    }
    const loaded = await loadModel(dir);
    assert.equal(loaded.threshold?.value, 0.5);
    assert.deepEqual(loaded.featureNames, [...data.train.names]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model dir: unknown format, missing/corrupt files, bad JSON, unknown detector are clear errors", async () => {
  const dir = await savedKnn();
  try {
    const manifestPath = join(dir, "manifest.json");
    const original = await Deno.readTextFile(manifestPath);
    const m = JSON.parse(original);
    const rel = Object.keys(m.files)[0];

    await Deno.writeTextFile(manifestPath, JSON.stringify({ ...m, formatVersion: 99 }));
    await rejects(dir, /manifest\.json: model format version 99 is newer than this nadir/);
    await Deno.writeTextFile(manifestPath, JSON.stringify({ ...m, formatVersion: 1.5 }));
    await rejects(dir, /formatVersion should be a positive integer, found 1.5/);
    await Deno.writeTextFile(manifestPath, original.slice(0, 100));
    await rejects(dir, /manifest\.json: invalid JSON/);
    await Deno.writeTextFile(
      manifestPath,
      JSON.stringify({ ...m, detector: { ...m.detector, name: "svm" } }),
    );
    await rejects(dir, /unknown detector "svm"/);
    // A k that fit() would refuse scored every row MAX_VALUE, with exit 0.
    const rows = m.detector.state.distinctRows;
    await Deno.writeTextFile(
      manifestPath,
      JSON.stringify({ ...m, detector: { ...m.detector, params: { ...m.detector.params, k: rows + 1 } } }),
    );
    await rejects(
      dir,
      new RegExp(`knn: parameter k = ${rows + 1} exceeds the ${rows} distinct training rows`),
    );
    await Deno.writeTextFile(manifestPath, original);

    const blob = await Deno.readFile(join(dir, rel));
    const flipped = blob.slice();
    flipped[0] ^= 0xff;
    await Deno.writeFile(join(dir, rel), flipped);
    await rejects(dir, /sha256 [0-9a-f]{64} does not match the manifest's/);
    await Deno.writeFile(join(dir, rel), blob.slice(0, blob.length - 8));
    await rejects(dir, /has \d+ bytes, the manifest says \d+ \(truncated or replaced\)/);
    await Deno.remove(join(dir, rel));
    await rejects(dir, new RegExp(`${rel.replace(".", "\\.")}: weight file is missing`));
    await Deno.writeFile(join(dir, rel), blob);
    await loadModel(dir); // intact again

    await Deno.remove(manifestPath);
    await rejects(dir, /not a nadir model directory: manifest\.json is missing/);
    await rejects(join(dir, "nope"), /model directory not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model dir: refuses to save an unfitted detector or mismatched names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = createDetector("kmeans", { k: 2 }, 0);
    await assert.rejects(() => saveModel(dir, { detector: d, seed: 0, featureNames: [] }), /not fitted/);
    await d.fit(data.train);
    await assert.rejects(
      () => saveModel(dir, { detector: d, seed: 0, featureNames: ["a"] }),
      /1 feature names given, but the detector was fitted on 6/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model dir: a symlinked weight file is refused before it is read; a file given as the directory is named", async () => {
  const dir = await savedKnn();
  try {
    const m = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
    const rel = Object.values(m.detector.blobs)[0] as string;
    // The link points at a copy with the right bytes: only the kind of file is wrong.
    const copy = `${dir}-${rel.replaceAll("/", "_")}.elsewhere`;
    await Deno.copyFile(join(dir, rel), copy);
    await Deno.remove(join(dir, rel));
    await Deno.symlink(copy, join(dir, rel));
    try {
      await rejects(dir, /expected a regular weight file, found a symbolic link/);
    } finally {
      await Deno.remove(copy);
    }
    await rejects(join(dir, "manifest.json"), /expected a model directory .* found a file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
