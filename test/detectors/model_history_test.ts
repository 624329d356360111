/**
 * Versioned model histories (src/detectors/model_history.ts): init, commits with lineage, rollback,
 * corruption reported with the file, failed writes leave no trace, and resolution of a history home to
 * its head for loading.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createDetector } from "../../src/detectors/registry.ts";
import { loadModel, saveModel } from "../../src/detectors/model_dir.ts";
import {
  commitVersion,
  headDir,
  initHistory,
  isModelHistory,
  readHistory,
  resolveModelDir,
  rollback,
} from "../../src/detectors/model_history.ts";
import type { Detector } from "../../src/detectors/types.ts";
import { predictModelFromDir } from "../../src/serve/models.ts";
import { predict } from "../../src/detectors/predict.ts";
import { InputError } from "../../src/util/errors.ts";
import { syntheticSet } from "./_synthetic.ts";

const data = syntheticSet({ nTrain: 200, nBenign: 20, nAnomalies: 5 });

async function knn(k: number): Promise<Detector> {
  const d = createDetector("knn", { k, bruteMax: 10 }, 3);
  await d.fit(data.train);
  return d;
}

function writer(d: Detector, threshold = 0.5): (dir: string) => Promise<void> {
  return async (dir) => {
    await saveModel(dir, {
      detector: d,
      seed: 3,
      featureNames: data.train.names,
      threshold: { strategy: "percentile", params: { q: 0.99 }, value: threshold },
    });
  };
}

/** A temp dir holding `model/` (a saved knn) and `home/` (a history initialised from it). */
async function fixture(): Promise<{ tmp: string; model: string; home: string }> {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-history-" });
  const model = join(tmp, "model");
  await writer(await knn(1))(model);
  const home = join(tmp, "home");
  await initHistory(home, model, { reason: "first week" });
  return { tmp, model, home };
}

async function rejectsInput(f: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(f, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("model history: init, two commits, history in order with lineage and log", async () => {
  const { tmp, model, home } = await fixture();
  try {
    assert.ok(await isModelHistory(home));
    assert.ok(!await isModelHistory(model));
    assert.ok(!await isModelHistory(join(tmp, "absent")));
    const v2 = await commitVersion(home, writer(await knn(2), 0.42), {
      reason: "sliding update",
      policy: "sliding",
      learned: 1800,
      feedback: { fp: 3, tp: 1 },
      threshold: 0.42,
      parent: "ignored: set by commitVersion",
    });
    assert.deepEqual(
      [v2.version, v2.parent, v2.reason, v2.policy, v2.learned, v2.threshold],
      ["v0002", "v0001", "sliding update", "sliding", 1800, 0.42],
    );
    assert.deepEqual(v2.feedback, { fp: 3, tp: 1 });
    const v3 = await commitVersion(home, writer(await knn(3)), { reason: "nightly" });
    assert.deepEqual([v3.version, v3.parent], ["v0003", "v0002"]);

    const h = await readHistory(home);
    assert.equal(h.head, "v0003");
    assert.deepEqual(h.versions.map((v) => [v.version, v.parent, v.reason]), [
      ["v0001", null, "first week"],
      ["v0002", "v0001", "sliding update"],
      ["v0003", "v0002", "nightly"],
    ]);
    assert.deepEqual(h.log.map((e) => [e.action, e.from, e.to, e.reason]), [
      ["init", null, "v0001", "first week"],
      ["update", "v0001", "v0002", "sliding update"],
      ["update", "v0002", "v0003", "nightly"],
    ]);
    for (const v of h.versions) assert.ok(!Number.isNaN(Date.parse(v.createdAt)));
    const head = JSON.parse(await Deno.readTextFile(join(home, "HEAD.json")));
    assert.equal(head.head, "v0003");
    assert.ok(!Number.isNaN(Date.parse(head.updatedAt)));
    // Only versions, HEAD.json and the log: no temp files left behind.
    assert.deepEqual(await entries(home), ["HEAD.json", "log.jsonl", "v0001", "v0002", "v0003"]);
    // v0001 is a faithful copy of the source model directory.
    assert.deepEqual(
      await Deno.readTextFile(join(home, "v0001", "manifest.json")),
      await Deno.readTextFile(join(model, "manifest.json")),
    );
    assert.equal((await loadModel(join(home, "v0003"))).detector.params.k, 3);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("model history: rollback to the parent, to a named version, never deleting; errors at the root", async () => {
  const { tmp, home } = await fixture();
  try {
    await commitVersion(home, writer(await knn(2)), { reason: "u1" });
    await commitVersion(home, writer(await knn(3)), { reason: "u2" });
    assert.deepEqual(await rollback(home), { from: "v0003", to: "v0002" });
    assert.equal(await headDir(home), join(home, "v0002"));
    assert.deepEqual(await rollback(home, { to: "v0003", reason: "undo" }), { from: "v0002", to: "v0003" });
    assert.deepEqual(await rollback(home, { to: "v0001" }), { from: "v0003", to: "v0001" });
    await rejectsInput(() => rollback(home), /v0001\/lineage\.json: the head v0001 is the first version/);
    await rejectsInput(
      () => rollback(home, { to: "v0009" }),
      /version v0009 does not exist; the versions are v0001, v0002, v0003/,
    );
    await rejectsInput(
      () => rollback(home, { to: "latest" }),
      /expected a version name like "v0002", found "latest"/,
    );
    await rejectsInput(() => rollback(home, { to: "v0001" }), /v0001 already is the head/);
    // A commit after a rollback takes the next free number, with the rolled-back-to head as its parent.
    const v4 = await commitVersion(home, writer(await knn(4)), { reason: "retrain" });
    assert.deepEqual([v4.version, v4.parent], ["v0004", "v0001"]);

    const h = await readHistory(home);
    assert.equal(h.versions.length, 4, "rollbacks delete nothing");
    assert.deepEqual(
      h.log.filter((e) => e.action === "rollback").map((e) => [e.from, e.to, e.reason]),
      [["v0003", "v0002", "rollback"], ["v0002", "v0003", "undo"], ["v0003", "v0001", "rollback"]],
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("model history: rollback refuses a damaged target, a lineage that loops or names no version, a torn log", async () => {
  const { tmp, model, home } = await fixture();
  try {
    await commitVersion(home, writer(await knn(2)), { reason: "u1" });
    await commitVersion(home, writer(await knn(3)), { reason: "u2" });
    // v0002's weights cut short: it had become the head, and every predict with it failed.
    const m2 = JSON.parse(Deno.readTextFileSync(join(home, "v0002", "manifest.json")));
    const w = join(home, "v0002", Object.keys(m2.files)[0]);
    const weights = Deno.readFileSync(w);
    Deno.writeFileSync(w, weights.slice(0, 10));
    await rejectsInput(() => rollback(home), /weight file has 10 bytes, the manifest says \d+/);
    assert.equal(await headDir(home), join(home, "v0003"), "HEAD unchanged");
    Deno.writeFileSync(w, weights);
    // v0001's parent edited to v0003: rollbacks had gone round, forward in time.
    const l1 = join(home, "v0001", "lineage.json");
    const lineage = Deno.readTextFileSync(l1);
    Deno.writeTextFileSync(l1, JSON.stringify({ ...JSON.parse(lineage), parent: "v0003" }));
    await rejectsInput(
      () => readHistory(home),
      /v0001\/lineage\.json: field parent should be an older version than v0001, found "v0003"/,
    );
    await rejectsInput(() => rollback(home), /field parent should be an older version/);
    Deno.writeTextFileSync(
      join(home, "v0002", "lineage.json"),
      JSON.stringify({
        ...JSON.parse(Deno.readTextFileSync(join(home, "v0002", "lineage.json"))),
        parent: "v0000",
      }),
    );
    Deno.writeTextFileSync(l1, lineage);
    await rejectsInput(
      () => readHistory(home),
      /v0002\/lineage\.json: field parent names v0000, which is not a version/,
    );
    Deno.writeTextFileSync(
      join(home, "v0002", "lineage.json"),
      JSON.stringify({
        ...JSON.parse(Deno.readTextFileSync(join(home, "v0002", "lineage.json"))),
        parent: "v0001",
      }),
    );
    // A torn last log line: the rollback had appended after it, and `history` failed from then on.
    const log = join(home, "log.jsonl");
    const text = Deno.readTextFileSync(log);
    Deno.writeTextFileSync(log, text + '{"at": "2026');
    await rejectsInput(() => rollback(home), /log\.jsonl:\d+: invalid JSON/);
    assert.equal(Deno.readTextFileSync(log), text + '{"at": "2026', "nothing appended");
    Deno.writeTextFileSync(log, text);
    // A new history inside the model it starts from had copied into itself until "File name too long".
    await rejectsInput(
      () => initHistory(join(model, "h"), model),
      /would be inside the model it starts from/,
    );
    assert.deepEqual((await rollback(home)).to, "v0002");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("model history: a failed write leaves HEAD unchanged and no temp dir", async () => {
  const { tmp, home } = await fixture();
  try {
    const headBefore = await Deno.readTextFile(join(home, "HEAD.json"));
    const logBefore = await Deno.readTextFile(join(home, "log.jsonl"));
    await assert.rejects(
      () =>
        commitVersion(home, async (dir) => {
          await Deno.writeTextFile(join(dir, "partial.bin"), "x");
          throw new Error("disk full");
        }, { reason: "doomed" }),
      /disk full/,
    );
    // A writer that returns without writing a model directory is refused the same way.
    await rejectsInput(
      () => commitVersion(home, async () => {}, { reason: "empty" }),
      /v0002: the new version is not a complete model directory \(not a nadir model directory: manifest\.json is missing\)/,
    );
    assert.equal(await Deno.readTextFile(join(home, "HEAD.json")), headBefore);
    assert.equal(await Deno.readTextFile(join(home, "log.jsonl")), logBefore);
    assert.deepEqual(await entries(home), ["HEAD.json", "log.jsonl", "v0001"]);
    const v2 = await commitVersion(home, writer(await knn(2)), { reason: "ok" });
    assert.equal(v2.version, "v0002", "failed attempts use up no version number");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("model history: init refuses a non-empty home, a history as source, and a non-model source", async () => {
  const { tmp, model, home } = await fixture();
  try {
    await rejectsInput(
      () => initHistory(home, model),
      /home: expected an absent or empty directory .* found an existing model history/,
    );
    await rejectsInput(
      () => initHistory(join(tmp, "h2"), home),
      /home: expected a model directory .* found a model history/,
    );
    await rejectsInput(
      () => initHistory(join(tmp, "h3"), join(tmp, "nope")),
      /nope: model directory not found/,
    );
    await Deno.mkdir(join(tmp, "h4"));
    await Deno.writeTextFile(join(tmp, "h4", "notes.txt"), "x");
    await rejectsInput(
      () => initHistory(join(tmp, "h4"), model),
      /h4: expected an absent or empty directory .* found "notes\.txt" in it/,
    );
    // An empty existing directory is fine.
    await Deno.mkdir(join(tmp, "h5"));
    assert.equal((await initHistory(join(tmp, "h5"), model)).reason, "initial model");
    // A symbolic link in the source is refused rather than followed.
    await Deno.symlink("/dev/zero", join(model, "weights", "evil.bin"));
    await rejectsInput(
      () => initHistory(join(tmp, "h6"), model),
      /evil\.bin: expected only regular files and directories .* found a symbolic link/,
    );
    assert.ok(!await isModelHistory(join(tmp, "h6")));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("model history: corrupt HEAD.json, a missing head version, malformed lineage and log name the file", async () => {
  const { tmp, home } = await fixture();
  try {
    await commitVersion(home, writer(await knn(2)), { reason: "u1" });
    const headFile = join(home, "HEAD.json");
    const good = await Deno.readTextFile(headFile);

    await Deno.writeTextFile(headFile, "{not json");
    await rejectsInput(() => readHistory(home), /home\/HEAD\.json: invalid JSON/);
    await Deno.writeTextFile(headFile, JSON.stringify({ head: 3 }));
    await rejectsInput(
      () => headDir(home),
      /HEAD\.json: expected \{"head": "vNNNN", "updatedAt": \.\.\.\}, found \{"head":3\}/,
    );
    await Deno.writeTextFile(headFile, JSON.stringify({ head: "v0007", updatedAt: "x" }));
    await rejectsInput(
      () => resolveModelDir(home),
      /HEAD\.json: HEAD names version v0007, but .*v0007 does not exist/,
    );
    await rejectsInput(
      async () => commitVersion(home, writer(await knn(2)), { reason: "x" }),
      /HEAD names version v0007/,
    );
    await rejectsInput(() => rollback(home), /HEAD names version v0007/);
    await Deno.remove(headFile);
    await rejectsInput(() => readHistory(home), /HEAD\.json: not a model history: HEAD\.json is missing/);
    await rejectsInput(() => readHistory(join(tmp, "absent")), /absent: model history not found/);
    await Deno.writeTextFile(headFile, good);

    const lineage = join(home, "v0002", "lineage.json");
    const l = JSON.parse(await Deno.readTextFile(lineage));
    await Deno.writeTextFile(lineage, "[1, 2");
    await rejectsInput(() => readHistory(home), /v0002\/lineage\.json: invalid JSON/);
    await Deno.writeTextFile(lineage, JSON.stringify({ ...l, parent: 1 }));
    await rejectsInput(
      () => rollback(home),
      /v0002\/lineage\.json: field parent should be null or a version name like "v0001", found 1/,
    );
    await Deno.writeTextFile(lineage, JSON.stringify({ ...l, version: "v0001" }));
    await rejectsInput(
      () => readHistory(home),
      /lineage\.json: field version should be "v0002" \(the directory's name\), found "v0001"/,
    );
    await Deno.writeTextFile(lineage, JSON.stringify({ ...l, reason: undefined }));
    await rejectsInput(
      () => readHistory(home),
      /lineage\.json: field reason should be a string, found undefined/,
    );
    await Deno.remove(lineage);
    await rejectsInput(() => readHistory(home), /v0002\/lineage\.json: version v0002 has no lineage\.json/);
    await Deno.writeTextFile(lineage, JSON.stringify(l));

    await Deno.writeTextFile(
      join(home, "log.jsonl"),
      '{"at": "x", "action": "frobnicate", "to": "v0001"}\n',
      {
        append: true,
      },
    );
    await rejectsInput(
      () => readHistory(home),
      /log\.jsonl:3: expected \{"at", "action": "init"\|"update"\|"rollback"/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("model history: resolveModelDir gives a plain model dir itself and a history's head; both load", async () => {
  const { tmp, model, home } = await fixture();
  try {
    assert.equal(await resolveModelDir(model), model);
    assert.equal(await resolveModelDir(home), join(home, "v0001"));
    await commitVersion(home, writer(await knn(5), 0.75), { reason: "k=5" });
    const m = await loadModel(await resolveModelDir(home));
    assert.equal(m.detector.params.k, 5);
    assert.equal(m.threshold?.value, 0.75);
    assert.deepEqual(
      await m.detector.score(data.test),
      await (await knn(5)).score(data.test),
      "the head scores as the committed detector did",
    );
    // The server's loader takes a history too: named after the home, scoring with the head.
    const served = await predictModelFromDir(home);
    assert.deepEqual([served.name, served.threshold], ["home", 0.75]);
    const row = Array.from(data.test.data.subarray(0, data.test.cols));
    assert.equal((await predict(row, home)).score, (await (await knn(5)).score(data.test))[0]);
    await rollback(home);
    assert.equal((await loadModel(await resolveModelDir(home))).detector.params.k, 1);
    assert.equal((await predictModelFromDir(home)).threshold, 0.5);
    // predict() follows the head too.
    assert.equal((await predict(row, home)).score, (await (await knn(1)).score(data.test))[0]);
    // A path that is neither is left to loadModel's own message.
    assert.equal(await resolveModelDir(join(tmp, "absent")), join(tmp, "absent"));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("model history: version numbers grow past v9999", async () => {
  const { tmp, home } = await fixture();
  try {
    await Deno.rename(join(home, "v0001"), join(home, "v9999"));
    const l = JSON.parse(await Deno.readTextFile(join(home, "v9999", "lineage.json")));
    await Deno.writeTextFile(join(home, "v9999", "lineage.json"), JSON.stringify({ ...l, version: "v9999" }));
    await Deno.writeTextFile(
      join(home, "HEAD.json"),
      JSON.stringify({ head: "v9999", updatedAt: l.createdAt }),
    );
    const next = await commitVersion(home, writer(await knn(2)), { reason: "10k" });
    assert.deepEqual([next.version, next.parent], ["v10000", "v9999"]);
    assert.deepEqual((await readHistory(home)).versions.map((v) => v.version), ["v9999", "v10000"]);
    assert.deepEqual(await rollback(home), { from: "v10000", to: "v9999" });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
