import assert from "node:assert/strict";
import { matrix } from "../../src/data/matrix.ts";
import {
  embedTexts,
  flowText,
  flowTexts,
  resolveModel,
  textEmbeddingFactory,
} from "../../src/detectors/text_embedding.ts";

Deno.test("text-embedding: flows serialise as name=value words, one-hot groups collapsed", () => {
  const names = ["duration", "protocol_type=tcp", "protocol_type=udp", "Flow Bytes/s", "rate"];
  const m = matrix(Float64Array.from([0, 0, 1, 1234567.891, 0.123456, 3, 0, 0, 1, 2]), 2, 5, names);
  assert.equal(flowText(m, 0), "duration=0 protocol_type=udp Flow_Bytes/s=1235000 rate=0.1235");
  assert.deepEqual(flowTexts(m)[1], "duration=3 protocol_type=none Flow_Bytes/s=1 rate=2");
});

Deno.test("text-embedding: the tiny local model embeds through transformers.js (mean-pooled, unit norm)", async () => {
  const texts = [
    "protocol_type=tcp service=http flag=SF src_bytes=215",
    "protocol_type=udp service=domain_u",
  ];
  const { data, dim } = await embedTexts("tiny-flow-embedder", [...texts, texts[0]]);
  assert.equal(dim, 32);
  assert.equal(data.length, 3 * 32);
  for (let r = 0; r < 3; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[r * dim + j] ** 2;
    assert.ok(Math.abs(Math.sqrt(s) - 1) < 1e-5, `row ${r} norm ${Math.sqrt(s)}`);
  }
  assert.deepEqual(data.subarray(0, 32), data.subarray(64, 96), "same text, same embedding");
  assert.notDeepEqual(data.subarray(0, 32), data.subarray(32, 64));
});

Deno.test("text-embedding: kNN distance is 0 for training rows (k=1), positive for new ones; save/load", async () => {
  const names = ["proto=tcp", "proto=udp", "bytes"];
  const train = matrix(Float64Array.from([1, 0, 100, 1, 0, 200, 0, 1, 53, 0, 1, 60]), 4, 3, names);
  const d = textEmbeddingFactory.create({ k: 1 }, 1);
  await d.fit(train);
  const s = await d.score(train);
  for (const v of s) assert.ok(v < 1e-3, `training row distance ${v}`);
  const test = matrix(Float64Array.from([0, 0, 99999]), 1, 3, names);
  const st = await d.score(test);
  assert.ok(st[0] > 0.05, `new row distance ${st[0]}`);
  const back = await textEmbeddingFactory.load(await d.save(), { k: 1 }, 1);
  assert.deepEqual(await back.score(test), st);
  await assert.rejects(
    async () => await textEmbeddingFactory.create({ k: 5 }, 1).fit(train),
    /at least k=5 distinct/,
  );
});

Deno.test("text-embedding: a missing model directory is a clear error", async () => {
  assert.throws(
    () => resolveModel("/nonexistent/model-dir"),
    /not found: expected a directory with config.json/,
  );
  const d = textEmbeddingFactory.create({ model: "no-such-model" }, 1);
  await assert.rejects(async () => await d.fit(matrix(Float64Array.from([1]), 1, 1)), /no-such-model/);
});
