import assert from "node:assert/strict";
import { backendInfo, backendLine, initTf, wasmDir } from "../../src/detectors/tf_backend.ts";
import { testWhen } from "../_shared.ts";

Deno.test("tf_backend: initialises once; the backend in use is the one reported", async () => {
  const tf = await initTf();
  assert.equal(await initTf(), tf, "second call returns the same module");
  assert.equal(tf.getBackend(), backendInfo().name);
});

const forced = Deno.env.get("NADIR_TF_BACKEND");
testWhen(
  [
    forced
      ? { kind: "unavailable", why: `NADIR_TF_BACKEND=${forced} overrides the default choice` }
      : undefined,
  ],
  "tf_backend: by default wasm with SIMD when its files are present; the tfjs-node attempt is recorded",
  async () => {
    const tf = await initTf();
    const info = backendInfo();
    assert.equal(tf.getBackend(), info.name);
    if (wasmDir()) {
      assert.equal(info.name, "wasm", `expected wasm, got ${info.name}: ${info.notes.join("; ")}`);
      assert.equal(info.simd, true, "WebAssembly SIMD should be available in Deno");
    }
    if (info.name !== "tensorflow") {
      assert.ok(info.notes.some((n) => n.includes("tfjs-node")), "the failed tfjs-node attempt is recorded");
    }
    assert.match(backendLine(), /^(wasm|cpu|tensorflow) \(/);
  },
);

Deno.test("tf_backend: kernels compute correctly (matMul against a hand product)", async () => {
  const tf = await initTf();
  const c = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]));
  assert.deepEqual(Array.from(await c.data()), [19, 22, 43, 50]);
  c.dispose();
});
