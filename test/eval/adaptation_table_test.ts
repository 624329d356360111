import assert from "node:assert/strict";
import { join } from "node:path";
import { adaptationReadmeBlock, adaptationTable, readAdaptRecords } from "../../src/eval/adaptation_table.ts";
import { ROOT } from "../_shared.ts";

Deno.test("README drift protocol table matches the committed results", async () => {
  const records = await readAdaptRecords(ROOT);
  assert.ok(records.length >= 3, `${records.length} results files`);
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const m = /<!-- adaptation:start -->\n([\s\S]*?)<!-- adaptation:end -->/.exec(readme);
  assert.ok(m, "README.md has the adaptation markers");
  assert.equal(
    m[1].trim(),
    adaptationReadmeBlock(records).trim(),
    "README table is stale: run `deno task nadir adapt --update-readme`",
  );
});

Deno.test("adaptation table: means over seeds; poisoning and borderline runs are left out", () => {
  const run = (fpr: number, extra: Record<string, unknown> = {}) => ({
    policy: "sliding",
    feedbackShare: 0.01,
    window: 10,
    total: { fpr, recall: 0.5 },
    updates: 2,
    feedbackUsed: [1, 2],
    ...extra,
  });
  const md = adaptationTable([
    { config: "c", file: "results/c-adapt/seed0.json", runs: [run(0.1), run(0.9, { poison: {} })] },
    {
      config: "c",
      file: "results/c-adapt/seed1.json",
      runs: [run(0.3), run(0.9, { feedbackPick: "borderline" })],
    },
  ]).replace(/ +/g, " ");
  assert.match(md, /\| c \| file \| 10 \| sliding \| 1 % \| 20\.00 % \| 50\.0 % \| – \| 2 \| 2 \| 2 \|/);
  assert.equal(md.split("\n").length, 3);
});
