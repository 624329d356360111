import assert from "node:assert/strict";
import { join } from "node:path";
import { RunFolder, runStamp } from "../../src/eval/results.ts";

Deno.test("RunFolder: runs of one config within the same second get their own folders (-2, -3)", async () => {
  const root = await Deno.makeTempDir({ prefix: "nadir-results-" });
  try {
    const stamp = runStamp(new Date("2026-12-04T18:00:00.123Z"), "abc1234");
    assert.equal(stamp, "20261204T180000Z-abc1234");
    const a = await RunFolder.create(root, "cfg", stamp);
    const b = await RunFolder.create(root, "cfg", stamp); // a is still partial
    await a.writeJson("metrics.json", { run: "a" });
    await b.writeJson("metrics.json", { run: "b" });
    assert.equal(await a.finish(), join(root, "cfg", stamp));
    assert.equal(await b.finish(), join(root, "cfg", `${stamp}-2`));
    const c = await RunFolder.create(root, "cfg", stamp); // both finished
    assert.equal(c.stamp, `${stamp}-3`);
    await c.finish();
    const runs = [...Deno.readDirSync(join(root, "cfg"))].map((e) => e.name).sort();
    assert.deepEqual(runs, [stamp, `${stamp}-2`, `${stamp}-3`]);
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(join(root, "cfg", stamp, "metrics.json"))), {
      run: "a",
    });
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(join(root, "cfg", `${stamp}-2`, "metrics.json"))), {
      run: "b",
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
