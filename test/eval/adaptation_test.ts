import assert from "node:assert/strict";
import { fprAt, replayAdaptation } from "../../src/eval/adaptation.ts";
import { loadConfig } from "../../src/eval/config.ts";
import { join } from "node:path";
import { ROOT } from "../_shared.ts";

// NSL-KDD is vendored (data/nsl-kdd): a quick slice of the real files, the experiment's own config.
const config = await loadConfig(join(ROOT, "experiments", "nsl-kdd-knn.ts"));
const QUICK = { maxRows: 1500, window: 200 };

Deno.test("adaptation: frozen never updates; windows add up to the totals; the threshold stays put", async () => {
  const r = await replayAdaptation(config, { policy: "frozen", ...QUICK });
  assert.equal(r.updates, 0);
  assert.ok(r.windows.length >= 2, `${r.windows.length} windows`);
  assert.equal(new Set(r.windows.map((w) => w.threshold)).size, 1);
  const sum = (k: "rows" | "benign" | "attacks" | "fp" | "tp") => r.windows.reduce((s, w) => s + w[k], 0);
  assert.deepEqual(
    [r.total.rows, r.total.benign, r.total.attacks, r.total.fp, r.total.tp],
    [sum("rows"), sum("benign"), sum("attacks"), sum("fp"), sum("tp")],
  );
  assert.equal(r.total.benign + r.total.attacks, r.total.rows);
  assert.ok(Math.abs(r.total.fpr - r.total.fp / r.total.benign) < 1e-12);
  assert.deepEqual(r.feedbackUsed, []);
});

Deno.test("adaptation: sliding with feedback refits every window, within budget, recorded, and repeatable", async () => {
  const frozen = await replayAdaptation(config, { policy: "frozen", ...QUICK });
  const opts = { policy: "sliding" as const, feedback: 0.1, atRecall: frozen.total.recall, ...QUICK };
  const r = await replayAdaptation(config, opts);
  assert.equal(r.updates, r.windows.length);
  const alerts = r.total.fp + r.total.tp;
  assert.ok(
    r.feedbackUsed.length <= Math.floor(0.1 * alerts + 1e-9),
    `${r.feedbackUsed.length} answers, ${alerts} alerts`,
  );
  assert.ok(r.feedbackUsed.length > 0);
  assert.equal(
    r.windows.reduce((s, w) => s + w.feedback.fp + w.feedback.tp, 0),
    r.feedbackUsed.length,
  );
  // Every answered row is a stream row, answered once.
  assert.equal(new Set(r.feedbackUsed.map((f) => f.row)).size, r.feedbackUsed.length);
  for (const f of r.feedbackUsed) {
    assert.ok(f.row >= 0 && f.row < r.total.rows && (f.label === 0 || f.label === 1));
  }
  assert.ok(r.fprAtRecall && r.fprAtRecall.fpr >= 0 && r.fprAtRecall.fpr <= 1);
  // Same seed, same run.
  const again = await replayAdaptation(config, opts);
  assert.deepEqual(again.total, r.total);
  assert.deepEqual(again.feedbackUsed, r.feedbackUsed);
});

Deno.test("adaptation: bad options are errors that say what was expected", async () => {
  await assert.rejects(
    () => replayAdaptation(config, { policy: "greedy" as "frozen" }),
    /expected one of frozen/,
  );
  await assert.rejects(
    () => replayAdaptation(config, { policy: "frozen", window: 0 }),
    /window must be ≥ 1 row, found 0/,
  );
  await assert.rejects(
    () => replayAdaptation(config, { policy: "frozen", pick: "best" as "random" }),
    /pick must be "random", "borderline" or "coverage", found "best"/,
  );
});

Deno.test("fprAt: the cut where recall first reaches the target; ties alert together; NaN without a class", () => {
  const y = new Uint8Array([1, 1, 0, 0]);
  assert.equal(fprAt([0.9, 0.5, 0.5, 0.1], y, 1), 0.5); // the tie at 0.5 brings the benign row in
  assert.equal(fprAt([0.9, 0.8, 0.5, 0.1], y, 1), 0);
  assert.ok(Number.isNaN(fprAt([1, 2], new Uint8Array([1, 1]), 0.5)));
});

Deno.test("adaptation: the poisoning scenario injects half of a class lowest-scoring first and measures the other half", async () => {
  const r = await replayAdaptation(config, {
    policy: "sliding",
    poison: { category: "DoS", perWindow: 20 },
    ...QUICK,
  });
  const p = r.poison!;
  assert.equal(p.category, "DoS");
  assert.ok(p.injected > 0 && p.heldOut > 0 && Math.abs(p.injected - p.heldOut) <= 1, JSON.stringify(p));
  assert.ok(p.learned >= 0 && p.learned <= p.injected);
  for (const v of [p.detectedBefore, p.detectedAfter]) assert.ok(v >= 0 && v <= 1);
  // The held-out half is not in the stream: the stream is shorter by it.
  const plain = await replayAdaptation(config, { policy: "frozen", ...QUICK });
  assert.equal(r.total.rows, plain.total.rows - p.heldOut);
  // The frozen model learns nothing, so its detection of the held-out half cannot change.
  const frozen = await replayAdaptation(config, {
    policy: "frozen",
    poison: { category: "DoS", perWindow: 20 },
    ...QUICK,
  });
  assert.equal(frozen.poison!.learned, 0);
  assert.equal(frozen.poison!.detectedAfter, frozen.poison!.detectedBefore);
  await assert.rejects(
    () => replayAdaptation(config, { policy: "frozen", poison: { category: "nope" }, ...QUICK }),
    /poison: no attack rows of category "nope" in KDDTest\+ \(/,
  );
});

Deno.test("adaptation: orderBy replays the same rows in another order; an unknown column is an error naming it", async () => {
  const file = await replayAdaptation(config, { policy: "frozen", ...QUICK });
  const sorted = await replayAdaptation(config, { policy: "frozen", orderBy: "duration", ...QUICK });
  assert.equal(sorted.orderBy, "duration");
  assert.equal(file.orderBy, null);
  // Frozen judges every row alike whatever the order: same totals, different windows.
  assert.deepEqual(sorted.total, file.total);
  assert.notDeepEqual(sorted.windows.map((w) => w.fp), file.windows.map((w) => w.fp));
  await assert.rejects(
    () => replayAdaptation(config, { policy: "frozen", orderBy: "Timestamp", ...QUICK }),
    /the test frame has no column "Timestamp" \(columns: .*duration/,
  );
});
