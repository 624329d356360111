import assert from "node:assert/strict";
import { matrixToFrame } from "../../src/data/preprocess.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { fineTuneFrom, trainOnFrame } from "../../src/detectors/train.ts";
import { pretrain } from "../../src/eval/pretrain.ts";
import { flowCorpus } from "../../src/flows/corpus.ts";
import { InputError } from "../../src/util/errors.ts";
import { dataPath } from "../_shared.ts";

const TINY = { layers: 1, width: 8, heads: 2, epochs: 2, bins: 8 };
const CORPUS = [dataPath("pcaps", "synscan.pcapng"), dataPath("pcaps", "zeek-dhcp-dhcp_flood.pcap")];
const SITE = dataPath("pcaps", "zeek-http-bro.org.pcap");

Deno.test("pretrain → fine-tune: the checkpoint's columns and preprocessing carry over, the checkpoint stays as it was", async () => {
  const { result: pre, corpus } = await pretrain(CORPUS, { params: TINY, seed: 3, silent: true });
  assert.equal(corpus.files.length, 2);
  assert.equal(pre.trainRows + pre.valRows <= corpus.matrix.rows, true);
  const site = await flowCorpus([SITE], { features: "cic", silent: true });
  const probe = pre.transform.apply(matrixToFrame(site.matrix));
  const before = await pre.detector.score(probe);

  const start = await fineTuneFrom(pre.detector, pre.transform, "test", { epochs: 3 }, 5);
  assert.equal(start.detector.params.epochs, 3);
  assert.equal(start.detector.params.width, 8);
  const ft = await trainOnFrame(matrixToFrame(site.matrix), {
    detector: "ignored",
    assumeBenign: true,
    init: start,
    silent: true,
  });
  assert.deepEqual(ft.featureNames, pre.featureNames);
  assert.equal(ft.report.initFrom, "test");
  const after = await ft.detector.score(probe);
  assert.notDeepEqual(Array.from(after), Array.from(before), "fine-tuning changed nothing");
  // The fine-tune trained a copy: the pre-trained detector scores as before.
  assert.deepEqual(Array.from(await pre.detector.score(probe)), Array.from(before));
  // The site's benign flows look more usual to the fine-tuned model than to the checkpoint.
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(mean(after) < mean(before), `${mean(after)} vs ${mean(before)}`);
  ft.detector.dispose?.();
  pre.detector.dispose?.();
});

Deno.test("fineTuneFrom: shape parameters and detectors without partialFit are refused, saying why", async () => {
  const { result: pre } = await pretrain(CORPUS, { params: TINY, silent: true });
  await assert.rejects(
    () => fineTuneFrom(pre.detector, pre.transform, "ckpt", { width: 16, lr: 1e-3 }),
    /cannot change width when fine-tuning the flow-lm model from ckpt: they fix its weights' shapes; tunable: epochs/,
  );
  const knn = createDetector("knn", {}, 0);
  await knn.fit(pre.transform.apply(matrixToFrame((await flowCorpus(CORPUS, { silent: true })).matrix)));
  await assert.rejects(
    () => fineTuneFrom(knn, pre.transform, "ckpt"),
    /knn detector cannot continue training/,
  );
  pre.detector.dispose?.();
});

Deno.test("pretrain: too small a corpus and a detector that cannot be fine-tuned are input errors", async () => {
  await assert.rejects(
    () => pretrain([dataPath("pcaps", "zeek-smtp.pcap")], { params: TINY, silent: true }),
    (e) =>
      e instanceof InputError &&
      /expected at least 20 flows to pre-train on, found \d+ in 1 file/.test(e.message),
  );
  await assert.rejects(
    () => pretrain(CORPUS, { detector: "knn", silent: true }),
    /detector "knn" cannot be fine-tuned/,
  );
});
