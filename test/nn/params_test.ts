import assert from "node:assert/strict";
import { decodeWeightBlob, Params } from "../../src/nn/params.ts";
import { toBytes } from "../../src/util/bytes.ts";

Deno.test("Params: blobs round-trip names, shapes and values; snapshot/restore; gradient norm", () => {
  const p = new Params();
  p.add("W", [2, 2], new Float32Array([1, 2, 3, 4]));
  p.add("b", [2], new Float32Array([0.5, -0.5]));
  assert.equal(p.count(), 6);
  const { shapes, blobs } = p.toBlobs();
  assert.deepEqual(shapes, { W: [2, 2], b: [2] });
  const q = new Params();
  q.add("W", [2, 2], new Float32Array(4));
  q.add("b", [2], new Float32Array(2));
  q.fromBlobs("demo", shapes, blobs);
  assert.deepEqual([...q.get("W"), ...q.get("b")], [1, 2, 3, 4, 0.5, -0.5]);
  const snap = q.snapshot();
  q.get("W").fill(9);
  q.restore(snap);
  assert.deepEqual([...q.get("W")], [1, 2, 3, 4]);
  q.grad("W").set([3, 0, 0, 0]);
  q.grad("b").set([4, 0]);
  assert.equal(q.gradNorm(), 5);
  q.zeroGrad();
  assert.equal(q.gradNorm(), 0);
});

Deno.test("Params: corrupt weights are refused naming the detector, weight and what was expected", () => {
  const ok = toBytes(new Float32Array([1, 2]));
  assert.throws(
    () => decodeWeightBlob("ae", "b0", [2], [2], undefined),
    /ae: saved model lacks weight blob "w.b0"/,
  );
  assert.throws(
    () => decodeWeightBlob("ae", "b0", [3], undefined, ok),
    /ae: weight blob "w.b0" has 8 bytes, expected 12 for shape \[3\]/,
  );
  assert.throws(
    () => decodeWeightBlob("ae", "b0", [2], [1, 2], ok),
    /weight "b0" has shape \[1,2\], expected \[2\]/,
  );
  assert.throws(
    () => decodeWeightBlob("ae", "b0", [2], [2], toBytes(new Float32Array([1, NaN]))),
    /weight "b0" holds a non-finite value/,
  );
  const p = new Params();
  assert.throws(() => p.add("w", [2], new Float32Array(3)), /3 values for shape \[2\]/);
  p.add("w", [1], new Float32Array(1));
  assert.throws(() => p.add("w", [1], new Float32Array(1)), /duplicate parameter w/);
  assert.throws(() => p.get("nope"), /unknown parameter nope/);
});
