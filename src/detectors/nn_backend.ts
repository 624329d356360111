/**
 * The backend line the neural detectors report in model manifests,
 * experiment env.json and bench output: the native engine with its BLAS, or
 * the tfjs backend (see src/nn/engine.ts for how the engine is chosen).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nnBackendName } from "./nn_backend.ts";
 * assert.match(nnBackendName(), /^(native|tfjs)/);
 * ```
 * @module
 */
import { nativeEngineLine, nnEngine } from "../nn/engine.ts";
import { tfBackendName } from "./tf_backend.ts";

/** "native (OpenBLAS 0.3.21, 2 threads)" or "tfjs-wasm" — whichever engine runs neural detectors now. */
export function nnBackendName(): string {
  return nnEngine().name === "native" ? nativeEngineLine() : tfBackendName();
}
