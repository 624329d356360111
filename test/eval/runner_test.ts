import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import { FLAT_KEYS, runExperiment } from "../../src/eval/runner.ts";
import { defineExperiment, validateConfig } from "../../src/eval/config.ts";
import { loadRuns } from "../../src/eval/runs.ts";
import { runStamp } from "../../src/eval/results.ts";

const tiny = defineExperiment({
  id: "test-cic-knn",
  protocol: "cic-ids2017",
  detector: "knn",
  params: { k: 1 },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0, 1],
  quick: { maxRows: 300, seeds: [3] },
});

Deno.test("runner --quick writes a complete result folder", async () => {
  const root = await Deno.makeTempDir({ prefix: "nadir-runner-" });
  try {
    const { dir, metrics } = await runExperiment(tiny, { quick: true, root, silent: true });
    assert.match(dir, /test-cic-knn\/\d{8}T\d{6}Z-[0-9a-f]{7}|nogit$/);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    for (const f of ["config.json", "data.json", "env.json", "metrics.json", "scores.parquet", "figures"]) {
      assert.ok(files.includes(f), `${f} in ${files}`);
    }
    assert.ok(!files.some((f) => f.endsWith(".tmp")), "no temp files left");
    const figs = [...Deno.readDirSync(join(dir, "figures"))].map((e) => e.name).sort();
    assert.deepEqual(figs, [
      "confusion.png",
      "confusion.svg",
      "pr.png",
      "pr.svg",
      "roc.png",
      "roc.svg",
      "scores.png",
      "scores.svg",
    ]);
    const m = JSON.parse(await Deno.readTextFile(join(dir, "metrics.json")));
    for (const k of [...FLAT_KEYS, "f1_oracle", "ci95", "std", "per_seed", "per_category"]) {
      assert.ok(k in m, `metrics.json has ${k}`);
    }
    assert.equal(m.n_seeds, 1);
    assert.equal(m.per_seed[0].seed, 3);
    assert.ok(m.roc_auc > 0.7 && m.roc_auc <= 1, `auc ${m.roc_auc}`);
    assert.ok(m.ci95.f1[0] <= m.f1 && m.f1 <= m.ci95.f1[1]);
    assert.deepEqual(m, JSON.parse(JSON.stringify(metrics.test)));
    const data = JSON.parse(await Deno.readTextFile(join(dir, "data.json")));
    assert.equal(Object.keys(data.files).length, 16);
    assert.ok(Object.values(data.files).every((h) => /^[0-9a-f]{64}$/.test(h as string)));
    assert.equal(data.splits[0].train_rows <= 300, true);
    const env = JSON.parse(await Deno.readTextFile(join(dir, "env.json")));
    assert.equal(env.backend, "js");
    const scores = pl.readParquet(join(dir, "scores.parquet"));
    assert.deepEqual(scores.columns, ["row", "label", "category", "score"]);
    assert.equal(scores.height, data.splits[0].tests.test.rows);
    assert.equal(m.quick, true, "metrics.json marks the quick run");
    assert.equal(JSON.parse(await Deno.readTextFile(join(dir, "config.json"))).resolved.quick, true);
    assert.deepEqual(await loadRuns(root), [], "a quick run is not loaded by default");
    const runs = await loadRuns(root, { includeQuick: true });
    assert.equal(runs.length, 1);
    assert.equal(runs[0].quick, true);
    assert.equal(runs[0].metrics.main.f1, m.f1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Copies a run folder's files (not figures/) to a sibling folder named `stamp`, editing its JSON. */
async function copyRun(
  dir: string,
  stamp: string,
  edit: (name: string, json: Record<string, any>) => void,
): Promise<string> {
  const dst = join(dir, "..", stamp);
  await Deno.mkdir(dst);
  for (const e of Deno.readDirSync(dir)) {
    if (!e.isFile) continue;
    if (!e.name.endsWith(".json")) await Deno.copyFile(join(dir, e.name), join(dst, e.name));
    else {
      const json = JSON.parse(await Deno.readTextFile(join(dir, e.name)));
      edit(e.name, json);
      await Deno.writeTextFile(join(dst, e.name), JSON.stringify(json));
    }
  }
  return dst;
}

Deno.test("a quick run next to full ones is left out unless asked; unmarked old folders count as full", async () => {
  const root = await Deno.makeTempDir({ prefix: "nadir-runner-" });
  try {
    const full = await runExperiment(tiny, { root, silent: true, figures: false, seeds: 1 });
    // Back-date the full run so the quick run below is the newest folder of the id (and the two
    // stamps cannot collide when both runs finish within one second).
    const fullDir = join(root, tiny.id, "20260101T000000Z-aaaaaaa");
    await Deno.rename(full.dir, fullDir);
    assert.equal(full.metrics.test.quick, false);
    // A folder written before runs were marked: neither config.json nor metrics.json says quick.
    const oldDir = await copyRun(fullDir, "20250101T000000Z-bbbbbbb", (name, json) => {
      if (name === "config.json") delete json.resolved.quick;
      else delete json.quick;
    });
    const quick = await runExperiment(tiny, { quick: true, root, silent: true, figures: false });
    assert.ok(quick.dir > fullDir, "the quick run is the newest folder");

    const byDefault = await loadRuns(root);
    assert.deepEqual(byDefault.map((r) => r.dir), [oldDir, fullDir]);
    assert.deepEqual(byDefault.map((r) => r.quick), [false, false]);
    assert.ok(byDefault[1].config.quick, "the config's quick overrides alone do not make a run quick");
    assert.deepEqual((await loadRuns(root, { latestOnly: true })).map((r) => r.dir), [fullDir]);

    const all = await loadRuns(root, { includeQuick: true });
    assert.deepEqual(all.map((r) => r.dir), [oldDir, fullDir, quick.dir]);
    assert.deepEqual(all.map((r) => r.quick), [false, false, true]);
    assert.deepEqual(
      (await loadRuns(root, { includeQuick: true, latestOnly: true })).map((r) => r.dir),
      [quick.dir],
    );

    // Marked in metrics.json only (config.json without resolved.quick) is still quick.
    const metricsOnly = await copyRun(quick.dir, "20270101T000000Z-ccccccc", (name, json) => {
      if (name === "config.json") delete json.resolved.quick;
    });
    assert.deepEqual((await loadRuns(root, { latestOnly: true })).map((r) => r.dir), [fullDir]);
    assert.equal(
      (await loadRuns(root, { includeQuick: true })).find((r) => r.dir === metricsOnly)?.quick,
      true,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a run folder whose files are damaged is left out with a warning naming the file, not in silence", async () => {
  const root = await Deno.makeTempDir({ prefix: "nadir-runner-" });
  try {
    const full = await runExperiment(tiny, { root, silent: true, figures: false, seeds: 1 });
    const older = join(root, tiny.id, "20260101T000000Z-aaaaaaa");
    await Deno.rename(full.dir, older);
    const damage: [string, (f: string) => void, RegExp][] = [
      [
        "truncated",
        (f) => Deno.writeTextFileSync(f, Deno.readTextFileSync(f).slice(0, 100)),
        /cannot read result file/,
      ],
      ["array", (f) => Deno.writeTextFileSync(f, "[]"), /expected a JSON object, found an array/],
      [
        "text f1",
        (f) =>
          Deno.writeTextFileSync(f, JSON.stringify({ ...JSON.parse(Deno.readTextFileSync(f)), f1: "abc" })),
        /field "f1": expected a number in \[0, 1\] or null, found "abc"/,
      ],
      [
        "f1 of 7",
        (f) => Deno.writeTextFileSync(f, JSON.stringify({ ...JSON.parse(Deno.readTextFileSync(f)), f1: 7 })),
        /field "f1": .* found 7/,
      ],
    ];
    for (const [what, spoil, said] of damage) {
      const newer = await copyRun(older, "20270101T000000Z-ccccccc", () => {});
      spoil(join(newer, "metrics.json"));
      const warned: string[] = [];
      const runs = await loadRuns(root, { latestOnly: true, warn: (m) => void warned.push(m) });
      // The older run stands in as the latest, and that is said.
      assert.deepEqual(runs.map((r) => r.dir), [older], what);
      assert.equal(warned.length, 1, what);
      assert.match(warned[0], said, what);
      assert.ok(warned[0].includes(join(newer, "metrics.json")), what);
      await Deno.remove(newer, { recursive: true });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a failed run leaves a partial folder and no metrics file", async () => {
  const root = await Deno.makeTempDir({ prefix: "nadir-runner-" });
  try {
    const bad = { ...tiny, id: "test-bad", threshold: { strategy: "no-such-strategy" } };
    await assert.rejects(
      () => runExperiment(bad, { quick: true, root, silent: true, figures: false }),
      /no-such-strategy/,
    );
    const dirs = [...Deno.readDirSync(join(root, "test-bad"))].map((e) => e.name);
    assert.equal(dirs.length, 1);
    assert.match(dirs[0], /^partial-/);
    const files = [...Deno.readDirSync(join(root, "test-bad", dirs[0]))].map((e) => e.name);
    assert.ok(files.includes("PARTIAL") && files.includes("config.json"));
    assert.ok(!files.some((f) => f.startsWith("metrics")), `no metrics file: ${files}`);
    assert.match(await Deno.readTextFile(join(root, "test-bad", dirs[0], "PARTIAL")), /no-such-strategy/);
    assert.deepEqual(await loadRuns(root), [], "partial runs are not loaded");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("config validation and stamps", () => {
  assert.throws(
    () =>
      validateConfig(
        { id: "X Y", protocol: "p", detector: "d", threshold: { strategy: "s" }, seeds: [0] },
        "e.ts",
      ),
    /e\.ts: field "id"/,
  );
  assert.throws(
    () => validateConfig({ id: "x", protocol: "p", detector: "d", threshold: { strategy: "s" }, seeds: [] }),
    /seeds/,
  );
  assert.equal(runStamp(new Date(Date.UTC(2026, 10, 23, 12, 0, 0)), "abc1234"), "20261123T120000Z-abc1234");
  // Each of these had run: a misspelt key ignored, a negative quick.maxRows recording F1 = AUROC = 1, a
  // seed counted twice, 80 % of the normal rows held out.
  const base = { id: "x", protocol: "p", detector: "d", threshold: { strategy: "s" }, seeds: [0] };
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ paramz: {} }, /unknown field "paramz" \(expected one of id, /],
    [{ preprocess: { scael: "standard" } }, /unknown field "preprocess\.scael"/],
    [{ preprocess: { log1p: "yes" } }, /field "preprocess\.log1p" must be true or false, found "yes"/],
    [{ quick: { maxrows: 10 } }, /unknown field "quick\.maxrows"/],
    [{ quick: { maxRows: -10 } }, /field "quick\.maxRows" must be an integer ≥ 1, found -10/],
    [{ quick: { maxRows: 0 } }, /quick\.maxRows/],
    [{ quick: { seeds: [] } }, /field "quick\.seeds" must be a non-empty array/],
    [{ seeds: [0, 0] }, /field "seeds" lists seed 0 twice/],
    [{ validationFraction: -0.2 }, /field "validationFraction" must be a number in \(0, 1\), found -0\.2/],
    [{ validationFraction: "0.2" }, /validationFraction/],
    [{ validationFraction: 1.5 }, /validationFraction/],
    [{ variant: 5 }, /field "variant" must be a string, found 5/],
    [{ paths: "x" }, /field "paths" must be an object/],
    [{ search: { threshold: [] } }, /field "search": threshold must be a non-empty list/],
  ];
  for (const [extra, said] of refused) {
    assert.throws(() => validateConfig({ ...base, ...extra }, "e.ts"), said, JSON.stringify(extra));
  }
  validateConfig(
    { ...base, validationFraction: 0.2, quick: { maxRows: 1500, seeds: [0], params: {} } },
    "e.ts",
  );
});

Deno.test("rowsSeenIn counts held-out rows that are exact copies of fit rows", async () => {
  const { rowsSeenIn } = await import("../../src/eval/runner.ts");
  const m = (rows: number[][]) => ({
    data: Float64Array.from(rows.flat()),
    rows: rows.length,
    cols: 2,
    names: ["a", "b"],
  });
  assert.equal(rowsSeenIn(m([[0, 1], [2, 3]]), m([[0, 1], [0, 1], [2, 4], [3, 2]])), 2);
  assert.equal(rowsSeenIn(m([[0, 1]]), m([[1, 0]])), 0);
  assert.throws(
    () => rowsSeenIn(m([[0, 1]]), { data: new Float64Array(3), rows: 1, cols: 3, names: ["a", "b", "c"] }),
    /column counts differ/,
  );
});
