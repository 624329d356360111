import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import { compareWithIds, idsCompareTable } from "../../src/eval/ids_compare.ts";
import type { Run } from "../../src/eval/runs.ts";

Deno.test("detectors vs IDS on the same flows: joins by row id, covered subset, recall at the IDS's FPR", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-idscmp-" });
  try {
    await Deno.mkdir(join(dir, "ids"));
    await Deno.mkdir(join(dir, "det"));
    // 8 flows: rows 0-3 benign, 4-7 attacks; the IDS flags rows 3 (FP) and 4, 5; rows 2-5 are covered
    pl.DataFrame({
      row: [0, 1, 2, 3, 4, 5, 6, 7],
      label: [0, 0, 0, 0, 1, 1, 1, 1],
      category: ["normal", "normal", "normal", "normal", "a", "a", "b", "b"],
      score: [0, 0, 0, 1, 1, 1, 0, 0],
      covered: [0, 0, 1, 1, 1, 1, 0, 0],
    }).writeParquet(join(dir, "ids", "scores.parquet"));
    // detector tested on rows 1..7 (row 0 was training): scores rank attacks 7 > 6 > 2(benign) > 5 > 4 ...
    pl.DataFrame({
      row: [1, 2, 3, 4, 5, 6, 7],
      label: [0, 0, 0, 1, 1, 1, 1],
      category: ["normal", "normal", "normal", "a", "a", "b", "b"],
      score: [0.1, 0.8, 0.2, 0.3, 0.7, 0.9, 0.95],
    }).writeParquet(join(dir, "det", "scores.parquet"));
    const base = {
      stamp: "s",
      variant: "",
      config: {},
      env: {},
      data: {},
      protocol: "cic-ids2017",
      quick: false,
    };
    const ids = {
      ...base,
      id: "snort",
      dir: join(dir, "ids"),
      detector: "snort3",
      kind: "signature-ids",
      metrics: { main: {} },
    } as Run;
    const det = {
      ...base,
      id: "d",
      dir: join(dir, "det"),
      detector: "knn",
      kind: "detector",
      metrics: { main: { threshold: 0.5, per_seed: [{ seed: 0, threshold: 0.5 }] } },
    } as Run;
    const rows = compareWithIds(ids, [det, ids]);
    assert.equal(rows.length, 2);
    const all = rows[0];
    assert.equal(all.flows, 7);
    assert.equal(all.ids_recall, 0.5); // rows 4, 5 of 4 attacks
    assert.ok(Math.abs(all.ids_fpr - 1 / 3) < 1e-12); // row 3 of benign rows 1-3
    assert.equal(all.det_recall, 0.75); // 5, 6, 7 > 0.5
    assert.ok(Math.abs(all.det_fpr - 1 / 3) < 1e-12); // row 2
    assert.equal(all.det_recall_at_ids_fpr, 1); // cut at 0.3 flags 2 (one FP of three) and all four attacks
    const cov = rows[1];
    assert.equal(cov.flows, 4); // rows 2-5
    assert.equal(cov.ids_recall, 1);
    assert.equal(cov.ids_fpr, 0.5);
    assert.equal(cov.det_recall_at_ids_fpr, 1); // cut at 0.3 flags 2, 4, 5: FPR 1/2
    assert.match(
      idsCompareTable(rows),
      /\| knn \(seed 0\) \| covered flows \(4\) \| 2 \| 1\.0000 \| 0\.5000 \|/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
