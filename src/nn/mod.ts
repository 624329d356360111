/**
 * nadir's native neural-network engine: float32 buffers of its own, matrix
 * products through OpenBLAS `sgemm` (Deno FFI), elementwise kernels in
 * WebAssembly SIMD, and hand-written forward/backward passes for the MLP
 * autoencoder ({@link Mlp}), the LSTM ({@link LstmSeqModel}) and flow-lm's
 * causal transformer ({@link CausalLm}), trained with {@link Adam} through
 * {@link runEpochs}. {@link nnEngine} decides once per process between this
 * engine and tfjs (`NADIR_BACKEND=native|tfjs`); docs/backends.md explains why
 * and what each costs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { activationForward, blasAvailable, matmul, nnEngine } from "nadir/nn";
 *
 * assert.ok(["native", "tfjs"].includes(nnEngine().name));
 * const y = new Float32Array(3);
 * activationForward("relu", new Float32Array([-1, 0, 2]), y, 3);
 * assert.deepEqual([...y], [0, 0, 2]);
 * if (blasAvailable()) {
 *   // [1 2; 3 4] · [1; 1] = [3; 7]
 *   const c = new Float32Array(2);
 *   matmul(new Float32Array([1, 2, 3, 4]), new Float32Array([1, 1]), c, 2, 2, 1);
 *   assert.deepEqual([...c], [3, 7]);
 * }
 * ```
 * @module
 */
export * from "./engine.ts";
export * from "./blas.ts";
export * from "./params.ts";
export * from "./adam.ts";
export * from "./train.ts";
export * from "./mlp.ts";
export { LSTM_GATES, LstmLayer, lstmLayerSpecs, type LstmMode, LstmSeqModel } from "./lstm.ts";
export * from "./transformer.ts";
export * from "./ops.ts";
export * from "./norm.ts";
export * from "./attention.ts";
export * from "./embedding.ts";
export { simdAvailable } from "./simd.ts";
