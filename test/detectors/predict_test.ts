import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { Rng } from "../../src/util/random.ts";
import { loadModel } from "../../src/detectors/model_dir.ts";
import { clearModelCache, predict, predictBatch } from "../../src/detectors/predict.ts";
import { saveTrained, trainOnFrame } from "../../src/detectors/train.ts";

function frame(n: number, seed: number): pl.DataFrame {
  const rng = new Rng(seed);
  const bytes: number[] = [], dur: number[] = [], proto: string[] = [], label: number[] = [];
  for (let i = 0; i < n; i++) {
    const attack = i % 10 === 9;
    bytes.push(attack ? 50000 + rng.next() * 1000 : 100 + rng.next() * 100);
    dur.push(attack ? 0 : 1 + rng.next());
    proto.push(attack ? "udp" : rng.next() < 0.5 ? "tcp" : "icmp");
    label.push(attack ? 1 : 0);
  }
  return pl.DataFrame({ bytes, dur, proto, label });
}

Deno.test("predict: raw records, arrays, frames and batch agree; threshold override", async () => {
  const df = frame(400, 1);
  const r = await trainOnFrame(df, {
    detector: "knn",
    params: { k: 2 },
    seed: 0,
    features: ["bytes", "dur", "proto"],
    silent: true,
  });
  assert.equal(r.split, "random");
  assert.ok(r.trainRows > 300 && r.valRows === 36);
  const dir = await Deno.makeTempDir({ prefix: "nadir-predict-" });
  try {
    await saveTrained(dir, r, { seed: 0 });
    const test = frame(50, 2);
    const batch = await predictBatch(test, dir);
    assert.equal(batch.scores.length, 50);
    assert.equal(batch.threshold, r.threshold.value);
    const recs = test.toRecords() as Record<string, unknown>[];
    for (const i of [0, 9, 19]) {
      const one = await predict(recs[i], dir);
      assert.equal(one.score, batch.scores[i]);
      assert.equal(one.isAnomaly, batch.isAnomaly[i]);
    }
    // Attacks (every 10th row: huge bytes, unseen "udp") are flagged, benign rows mostly not.
    for (let i = 9; i < 50; i += 10) assert.ok(batch.isAnomaly[i], `attack row ${i} not flagged`);
    assert.ok(batch.isAnomaly.filter((a, i) => a && i % 10 !== 9).length <= 3);
    // Array form = transformed values in manifest order.
    const m = await loadModel(dir);
    const x = r.transform.transformRow(recs[3])!;
    assert.equal((await predict(Array.from(x), m)).score, batch.scores[3]);
    assert.equal((await predict(recs[3], dir, 1e9)).isAnomaly, false);
    await assert.rejects(() => predict({ bytes: 1, proto: "tcp" }, dir), /lacks feature "dur"/);
    await assert.rejects(() => predict([1, 2], m), /row 1 has 2 values, expected \d+/);
  } finally {
    clearModelCache();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainOnFrame: needs labels or assumeBenign, streaming detectors split at the tail", async () => {
  const df = frame(300, 3).drop("label");
  await assert.rejects(
    () => trainOnFrame(df, { detector: "knn", silent: true }),
    /no label column; pass --assume-benign/,
  );
  const r = await trainOnFrame(df, {
    detector: "kitnet",
    params: { fmGrace: 50 },
    assumeBenign: true,
    silent: true,
    features: ["bytes", "dur", "proto"],
  });
  assert.equal(r.split, "tail");
  assert.equal(r.valRows, 30);
  await assert.rejects(
    () => trainOnFrame(frame(100, 1), { detector: "knn", valFraction: 0, silent: true }),
    /valFraction must be in \(0, 1\)/,
  );
});
