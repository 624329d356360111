import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli.ts";
import { canonicalJson, configHash, findRecordedRun } from "../../src/cli/experiment.ts";
import { runRecord } from "../../src/eval/runner.ts";
import { defineExperiment, type ExperimentConfig } from "../../src/eval/config.ts";

/** Runs `f` with console.log / console.error captured. */
async function captured<T>(f: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = "", err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { value: await f(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** A tiny config on the vendored CIC sample (quick mode caps every split at 300 rows). */
function tiny(id: string, detector: string, params: Record<string, unknown>): ExperimentConfig {
  return defineExperiment({
    id,
    protocol: "cic-ids2017",
    detector,
    params,
    features: "all",
    preprocess: { scale: "minmax", dropConstant: false },
    threshold: { strategy: "percentile", params: { q: 0.99 } },
    seeds: [0, 1],
    quick: { maxRows: 300, seeds: [0] },
  });
}

/** Writes `config` as a module file (a fresh path: imported modules are cached by URL). */
async function writeConfig(dir: string, file: string, config: ExperimentConfig): Promise<string> {
  const path = join(dir, file);
  await Deno.writeTextFile(path, `export default ${JSON.stringify(config)};\n`);
  return path;
}

/** Finished (non-partial) run folders of `id`. */
function runs(root: string, id: string): string[] {
  try {
    return [...Deno.readDirSync(join(root, id))].map((e) => e.name).filter((n) => !n.startsWith("partial-"))
      .sort();
  } catch {
    return [];
  }
}

Deno.test("experiment: a batch runs every config, survives a failing one, exits 1 and sums up", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-batch-" });
  const root = join(tmp, "results");
  try {
    const a = await writeConfig(tmp, "a.ts", tiny("test-batch-a", "knn", { k: 1 }));
    const bad = await writeConfig(tmp, "bad.ts", tiny("test-batch-bad", "no-such-detector", {}));
    const b = await writeConfig(tmp, "b.ts", tiny("test-batch-b", "hbos", {}));
    const missingFile = join(tmp, "absent.ts");
    const r = await captured(() =>
      main(["experiment", a, bad, missingFile, b, "--quick", "--no-figures", "--root", root])
    );
    assert.equal(r.value, 1, r.err);
    assert.match(r.err, /^\[1\/4\] test-batch-a \(/m);
    assert.match(r.err, /^\[2\/4\] test-batch-bad failed [\d.]+ s: unknown detector "no-such-detector"/m);
    assert.match(
      r.err,
      /^\[3\/4\] .*absent\.ts failed [\d.]+ s: .*absent\.ts: cannot load experiment config/m,
    );
    assert.match(r.err, /^\[4\/4\] test-batch-b ok [\d.]+ s: /m);
    assert.match(r.out, /^summary: 4 configs$/m);
    assert.match(r.out, /^ {2}ok {6}test-batch-a +[\d.]+ s/m);
    assert.match(r.out, /^ {2}failed {2}test-batch-bad +[\d.]+ s {2}unknown detector/m);
    assert.match(r.out, /^ok 2, skipped 0, failed 2; [\d.]+ s$/m);
    assert.equal(runs(root, "test-batch-a").length, 1);
    assert.equal(runs(root, "test-batch-b").length, 1);
    assert.deepEqual(runs(root, "test-batch-bad"), [], "an unknown detector fails before a folder exists");
    const recorded = JSON.parse(
      await Deno.readTextFile(join(root, "test-batch-b", runs(root, "test-batch-b")[0], "config.json")),
    );
    assert.deepEqual(
      recorded,
      JSON.parse(JSON.stringify(runRecord(tiny("test-batch-b", "hbos", {}), { quick: true }))),
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("experiment --missing skips a config with an equal finished run and reruns a changed one", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-batch-" });
  const root = join(tmp, "results");
  try {
    const aConfig = tiny("test-missing-a", "knn", { k: 1 });
    const a = await writeConfig(tmp, "a.ts", aConfig);
    const b = await writeConfig(tmp, "b.ts", tiny("test-missing-b", "hbos", {}));
    const first = await captured(() => main(["experiment", a, b, "--quick", "--no-figures", "--root", root]));
    assert.equal(first.value, 0, first.err);

    // No wait: a run within the same second as the last one gets a `-2` folder (RunFolder.create).
    // a unchanged: skipped, nothing new written; b with other params: runs again.
    const b5 = await writeConfig(tmp, "b5.ts", tiny("test-missing-b", "hbos", { bins: 5 }));
    const again = await captured(() =>
      main(["experiment", a, b5, "--quick", "--missing", "--no-figures", "--root", root])
    );
    assert.equal(again.value, 0, again.err);
    assert.match(
      again.err,
      /^\[1\/2\] test-missing-a skipped [\d.]+ s: finished run with the same config: /m,
    );
    assert.match(again.err, /^\[2\/2\] test-missing-b ok /m, "changed params: rerun");
    assert.match(again.out, /^ok 1, skipped 1, failed 0; /m);
    assert.equal(runs(root, "test-missing-a").length, 1);
    assert.equal(runs(root, "test-missing-b").length, 2);

    // A quick run never stands in for a full one ...
    assert.equal(await findRecordedRun(root, runRecord(aConfig, {})), undefined);
    assert.ok(await findRecordedRun(root, runRecord(aConfig, { quick: true })));
    // ... and a full run of the same config (here a copy of the quick folder recording a full run)
    // is skipped without running anything; with fewer seeds it would not count.
    const quickDir = join(root, "test-missing-a", runs(root, "test-missing-a")[0]);
    const fullDir = join(root, "test-missing-a", "20200101T000000Z-0000000");
    await Deno.mkdir(fullDir);
    for (const f of ["metrics.json", "data.json"]) await Deno.copyFile(join(quickDir, f), join(fullDir, f));
    // Key order must not matter: write the record with its keys reversed.
    const full = runRecord(aConfig, {});
    const reversed = Object.fromEntries(Object.entries(full).reverse());
    await Deno.writeTextFile(join(fullDir, "config.json"), JSON.stringify(reversed, null, 2));
    assert.equal(await findRecordedRun(root, full), fullDir);
    assert.equal(await findRecordedRun(root, runRecord(aConfig, { seeds: 1 })), undefined);
    const full1 = await captured(() => main(["experiment", a, "--missing", "--root", root]));
    assert.equal(full1.value, 0, full1.err);
    assert.match(
      full1.err,
      /test-missing-a: skipped, finished run with the same config: .*20200101T000000Z-0000000/,
    );
    assert.equal(runs(root, "test-missing-a").length, 2, "nothing ran");

    // A partial folder or one without metrics.json is not a finished run.
    await Deno.rename(fullDir, join(root, "test-missing-a", "partial-20200101T000000Z-0000000"));
    assert.equal(await findRecordedRun(root, full), undefined);
    const noMetrics = join(root, "test-missing-a", "20200102T000000Z-0000000");
    await Deno.mkdir(noMetrics);
    await Deno.writeTextFile(join(noMetrics, "config.json"), JSON.stringify(full));
    assert.equal(await findRecordedRun(root, full), undefined);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("experiment: config identity ignores key order and undefined fields, not values", async () => {
  assert.equal(
    canonicalJson({ b: { d: [1, { y: 2, x: 1 }], c: 2 }, a: 1 }),
    '{"a":1,"b":{"c":2,"d":[1,{"x":1,"y":2}]}}',
  );
  assert.equal(await configHash({ a: 1, b: undefined }), await configHash({ a: 1 }));
  assert.notEqual(await configHash({ seeds: [0, 1] }), await configHash({ seeds: [1, 0] }));
  const c = tiny("test-hash", "knn", { k: 1 });
  assert.notEqual(
    await configHash(runRecord(c, {})),
    await configHash(runRecord({ ...c, seeds: [0, 1, 2] }, {})),
  );
  // The resolved params carry the registry defaults, so a changed default changes the identity.
  assert.equal(runRecord(tiny("test-hash", "knn", {}), {}).resolved.params.k, 5);
});

Deno.test("experiment: no CONFIG is a usage error", async () => {
  const r = await captured(() => main(["experiment"]));
  assert.equal(r.value, 2);
  assert.match(r.err, /missing argument CONFIG/);
});

Deno.test("experiment --missing: what a search block chooses during the run is not part of the identity", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-batch-" });
  try {
    const c = {
      ...tiny("test-search", "knn", { k: 1 }),
      search: { params: { k: [1, 3] } },
    } as ExperimentConfig;
    const asked = runRecord(c, {});
    const dir = join(tmp, "test-search", "20200101T000000Z-0000000");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "metrics.json"), "{}");
    const recorded = structuredClone(asked);
    recorded.resolved.params = { ...recorded.resolved.params, k: 3 };
    recorded.resolved.preprocess = { scale: "minmax", log1p: true };
    recorded.resolved.search = { chosen: 1, candidates: 2, selection: "test" };
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(recorded));
    assert.equal(await findRecordedRun(tmp, asked), dir);
    // Without a search block the params are the request's own and must match.
    const plain = runRecord(tiny("test-search", "knn", { k: 1 }), {});
    const { search: _s, ...noSearch } = recorded as typeof recorded & { search?: unknown };
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(noSearch));
    assert.equal(await findRecordedRun(tmp, plain), undefined);
    // A different search block is a different request.
    const other = runRecord({ ...c, search: { params: { k: [1, 5] } } } as ExperimentConfig, {});
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(recorded));
    assert.equal(await findRecordedRun(tmp, other), undefined);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("experiment --path: user-supplied dataset files; a batch skips configs whose files were not given", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-batch-path-" });
  const root = join(tmp, "results");
  try {
    const unsw = await writeConfig(tmp, "u.ts", {
      ...tiny("test-batch-unsw", "knn", { k: 1 }),
      protocol: "unsw-nb15",
      search: { params: { k: [1, 2] } },
    });
    const cic = await writeConfig(tmp, "c.ts", tiny("test-batch-cic", "hbos", {}));
    const r = await captured(() =>
      main(["experiment", unsw, cic, "--quick", "--no-figures", "--root", root])
    );
    assert.equal(r.value, 0, r.err);
    assert.match(
      r.err,
      /^\[1\/2\] test-batch-unsw skipped [\d.]+ s: test-batch-unsw: protocol unsw-nb15 needs dataset files .*--path unsw-nb15-train=FILE --path unsw-nb15-test=FILE/m,
    );
    assert.match(r.out, /^ok 1, skipped 1, failed 0; /m);
    assert.deepEqual(runs(root, "test-batch-unsw"), [], "nothing is written for a skipped config");
    // One config without its files: the usage error (exit 2) as is.
    const one = await captured(() => main(["experiment", unsw, "--quick", "--root", root]));
    assert.equal(one.value, 2);
    assert.match(one.err, /needs dataset files that are not in the repository/);
    const bad = await captured(() => main(["experiment", unsw, "--path", "unsw-nb15-train", "--root", root]));
    assert.equal(bad.value, 2);
    assert.match(bad.err, /--path expects NAME=FILE, found "unsw-nb15-train"/);
    // A name no config reads had been ignored: a typo ran without the file.
    const typo = await captured(() =>
      main(["experiment", cic, "--path", "unsw-nb15-trian=x.csv", "--root", root])
    );
    assert.equal(typo.value, 2);
    assert.match(typo.err, /--path unsw-nb15-trian=…: no config given reads a dataset file of that name/);
    // One config's error names the config when the error itself names no file.
    const det = await writeConfig(tmp, "d.ts", tiny("test-batch-det", "hbso", {}));
    const unknown = await captured(() => main(["experiment", det, "--quick", "--root", root]));
    assert.equal(unknown.value, 1);
    assert.match(unknown.err, /d\.ts: unknown detector "hbso"/);
    // Given, the files reach the protocol (the hand-written 8-row fixture is too small to search on,
    // which the search says by name) and the config as run would record them.
    const fixture = join(Deno.cwd(), "test", "fixtures", "data", "unsw", "UNSW_NB15_training-set.csv");
    const run = await captured(() =>
      main([
        "experiment",
        unsw,
        cic,
        "--quick",
        "--no-figures",
        "--root",
        root,
        "--path",
        `unsw-nb15-train=${fixture}`,
        "--path",
        `unsw-nb15-test=${fixture}`,
      ])
    );
    assert.match(
      run.err,
      /test-batch-unsw failed [\d.]+ s: search: the unsw-nb15 split of seed 0 holds \d benign/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
