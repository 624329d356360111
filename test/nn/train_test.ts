import assert from "node:assert/strict";
import { runEpochs } from "../../src/nn/train.ts";
import { Rng } from "../../src/util/random.ts";

const ids = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

Deno.test("runEpochs: early stopping after `patience` worse epochs restores the best epoch's weights", async () => {
  let w = 0;
  const val = [5, 3, 4, 6, 7, 1];
  let ep = 0;
  const r = await runEpochs({
    rng: new Rng(1),
    train: ids(4),
    val: ids(2),
    epochs: 6,
    batchSize: 2,
    patience: 2,
    trainBatch: () => {
      w++;
      return 1;
    },
    valLoss: () => val[ep],
    snapshot: () => w,
    restore: (s) => (w = s),
    onProgress: () => ep++,
  });
  assert.deepEqual(r.valLoss, [5, 3, 4, 6]);
  assert.equal(r.epochs, 4);
  assert.equal(r.bestEpoch, 2);
  assert.equal(w, 4, "weights of epoch 2 (2 batches per epoch) restored");
});

Deno.test("runEpochs: every training id once per epoch, shuffled by the seed; divergence is an error", async () => {
  const seen: number[][] = [];
  await runEpochs({
    rng: new Rng(3),
    train: ids(10),
    val: new Int32Array(0),
    epochs: 2,
    batchSize: 3,
    patience: 0,
    trainBatch: (b) => {
      seen.push([...b]);
      return 0;
    },
    valLoss: () => 0,
    snapshot: () => 0,
    restore: () => {},
  });
  const first = seen.slice(0, 4).flat(), second = seen.slice(4).flat();
  assert.deepEqual([...first].sort((a, b) => a - b), [...ids(10)]);
  assert.deepEqual([...second].sort((a, b) => a - b), [...ids(10)]);
  assert.notDeepEqual(first, second, "reshuffled each epoch");
  await assert.rejects(
    runEpochs({
      rng: new Rng(3),
      train: ids(4),
      val: new Int32Array(0),
      epochs: 2,
      batchSize: 4,
      patience: 0,
      trainBatch: () => NaN,
      valLoss: () => 0,
      snapshot: () => 0,
      restore: () => {},
    }),
    /training diverged \(loss NaN in epoch 1\); lower the learning rate/,
  );
});
