/**
 * End to end through the real CLI: `nadir model init` → `history` → `rollback`, and `nadir predict`
 * scoring with a history's head.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createDetector } from "../../src/detectors/registry.ts";
import { saveModel } from "../../src/detectors/model_dir.ts";
import { commitVersion } from "../../src/detectors/model_history.ts";
import { matrixFromRows } from "../../src/data/matrix.ts";
import { nadir } from "../_shared.ts";

const ROWS = [[0, 0], [0, 1], [1, 0], [1, 1], [0.5, 0.5]];

function writer(threshold: number): (dir: string) => Promise<void> {
  return async (dir) => {
    const d = createDetector("knn", { k: 1 }, 0);
    await d.fit(matrixFromRows(ROWS, ["a", "b"]));
    await saveModel(dir, {
      detector: d,
      seed: 0,
      featureNames: ["a", "b"],
      threshold: { strategy: "percentile", params: { q: 0.99 }, value: threshold },
    });
  };
}

Deno.test("cli: nadir model init → history → rollback, and predict --model HOME scores with the head", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-cli-model-" });
  try {
    const model = join(tmp, "knn"), home = join(tmp, "knn-history");
    await writer(100)(model);

    const init = await nadir("model", "init", home, "--from", model, "--reason", "week 1");
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.stdout, `initialised ${home}: v0001 from ${model}\n`);
    // An update as the adaptation loop would commit it: threshold -1 makes every row an anomaly.
    await commitVersion(home, writer(-1), { reason: "sliding update", policy: "sliding", threshold: -1 });

    const hist = await nadir("model", "history", home);
    assert.equal(hist.code, 0, hist.stderr);
    const lines = hist.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^\s+version\s+parent\s+created\s+threshold\s+reason$/);
    assert.match(lines[1], /^\s+v0001\s+-\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+-\s+week 1$/);
    assert.match(lines[2], /^\*\s+v0002\s+v0001\s+\S+Z\s+-1\s+sliding update$/);
    assert.equal(lines.length, 3, "no rollbacks yet");

    const csv = join(tmp, "rows.csv");
    await Deno.writeTextFile(csv, "a,b\n0,0\n5,5\n");
    const scoreWith = async () => {
      const p = await nadir("predict", "--model", home, "--input", csv);
      assert.equal(p.code, 0, p.stderr);
      return p.stdout.trim().split("\n").map((l) => JSON.parse(l).is_anomaly);
    };
    assert.deepEqual(await scoreWith(), [true, true], "v0002 (threshold -1) is the head");

    const rb = await nadir("model", "rollback", home);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(rb.stdout, `rolled back ${home}: v0002 → v0001\n`);
    assert.deepEqual(await scoreWith(), [false, false], "v0001 (threshold 100) is the head again");

    const again = await nadir("model", "rollback", home);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^nadir: .*v0001\/lineage\.json: the head v0001 is the first version/);
    const fwd = await nadir("model", "rollback", home, "--to", "v0002", "--reason", "false alarm");
    assert.equal(fwd.code, 0, fwd.stderr);
    assert.equal(fwd.stdout, `rolled back ${home}: v0001 → v0002\n`);

    const h2 = await nadir("model", "history", home);
    assert.match(
      h2.stdout,
      /\nrollbacks:\n {2}\S+Z {2}v0002 → v0001 {2}rollback\n {2}\S+Z {2}v0001 → v0002 {2}false alarm\n$/,
    );
    const json = await nadir("model", "history", home, "--json");
    const j = JSON.parse(json.stdout);
    assert.equal(j.head, "v0002");
    assert.deepEqual(j.versions.map((v: { parent: string | null }) => v.parent), [null, "v0001"]);
    assert.deepEqual(j.log.map((e: { action: string }) => e.action), [
      "init",
      "update",
      "rollback",
      "rollback",
    ]);

    const usage = await nadir("model", "init", join(tmp, "other"));
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--from MODEL_DIR is required/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
