/**
 * partialFit (the `incremental` update policy's partial fit) for the neural detectors: training
 * continues from the fitted weights with the scaler/tokenizer kept, the detector is unchanged until
 * it is called, and a wrong shape is an error that says what was expected.
 */
import assert from "node:assert/strict";
import { createDetector, loadDetector } from "../../src/detectors/registry.ts";
import type { Detector } from "../../src/detectors/types.ts";
import { matrix } from "../../src/data/matrix.ts";
import { syntheticSet } from "./_synthetic.ts";

const a = syntheticSet({ nTrain: 400, nBenign: 100, nAnomalies: 10, seed: 1 });
// "New traffic": the same kind of rows moved a little, as a network's mix shifts.
const moved = matrix(a.test.data.map((v) => v + 0.05), a.test.rows, a.test.cols, a.test.names);

for (
  const [name, params] of [
    ["autoencoder", { epochs: 5, batchSize: 64 }],
    ["flow-lm", { epochs: 2, batchSize: 64, width: 16, layers: 1, heads: 2 }],
  ] as const
) {
  Deno.test(`${name}: partialFit trains further from the fitted weights on new rows; a copy leaves the original as it was`, async () => {
    const d = createDetector(name, params, 0);
    await d.fit(a.train);
    const copy: Detector = await loadDetector(name, await d.save(), { ...d.params }, 0);
    const before = await d.score(moved);
    assert.deepEqual(await copy.score(moved), before, "the copy scores as the original");
    await copy.partialFit!(moved);
    const after = await copy.score(moved);
    const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;
    assert.ok(
      mean(after) < mean(before),
      `${name}: mean score on the new rows ${mean(before)} → ${mean(after)}`,
    );
    assert.deepEqual(await d.score(moved), before, "the original did not change");
    await assert.rejects(
      async () => await copy.partialFit!(matrix(new Float64Array(6), 2, 3)),
      new RegExp(`${name}.partialFit: expected ${a.train.cols} features, found 3`),
    );
    d.dispose?.();
    copy.dispose?.();
  });
}
