/**
 * The detector registry: `name → DetectorFactory`. Registration is a static
 * list of imports below, so `listDetectors()` is complete without side effects
 * and the conformance suite (test/detectors/conformance_test.ts) checks every
 * entry automatically.
 *
 * To add a detector: write `src/detectors/<name>.ts` exporting a
 * {@link DetectorFactory} built with `defineDetector` (./factory.ts) from
 * specs declared with `defineParams` (./params.ts), so the detector gets typed
 * params; import it below and add it to `FACTORIES`.
 * Factories of heavy detectors (tfjs) should load their backend lazily inside
 * `create`/`load`/`fit`, so importing the registry stays cheap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector, listDetectors } from "./registry.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * assert.ok(listDetectors().some((f) => f.name === "knn"));
 * const d = createDetector("knn", { k: 1 }, 42);
 * await d.fit(matrixFromRows([[0, 0], [1, 1]]));
 * assert.ok((await d.score(matrixFromRows([[5, 5]])))[0] > 0);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import type { Detector, DetectorFactory, DetectorState } from "./types.ts";
import { validateParams } from "./params.ts";
import { kmeans } from "./kmeans.ts";
import { isolationForest } from "./isolation_forest.ts";
import { knn } from "./knn.ts";
import { kitnet } from "./kitnet.ts";
// ─── classical baselines (PyOD/ADBench) ───
import { lof } from "./lof.ts";
import { ocsvm } from "./ocsvm.ts";
import { pca } from "./pca.ts";
import { hbos } from "./hbos.ts";
import { ecod } from "./ecod.ts";
import { copod } from "./copod.ts";
// ─── end classical baselines ───
// ─── deep-learning detectors: imports (autoencoder, lstm, ...) go here ───
import { autoencoderFactory } from "./autoencoder.ts";
import { lstmFactory } from "./lstm.ts";
import { flowLmFactory } from "./flow_lm.ts";
import { textEmbeddingFactory } from "./text_embedding.ts";
// ─── end deep-learning imports ───

const FACTORIES: readonly DetectorFactory[] = [
  kmeans,
  isolationForest,
  knn,
  kitnet,
  // ─── classical baselines (PyOD/ADBench) ───
  lof,
  ocsvm,
  pca,
  hbos,
  ecod,
  copod,
  // ─── end classical baselines ───
  // ─── deep-learning detectors: factories go here ───
  autoencoderFactory,
  lstmFactory,
  flowLmFactory,
  textEmbeddingFactory,
  // ─── end deep-learning factories ───
];

const BY_NAME = new Map<string, DetectorFactory>(FACTORIES.map((f) => [f.name, f]));

/** Every registered detector factory, in registration order. */
export function listDetectors(): readonly DetectorFactory[] {
  return FACTORIES;
}

/** The factory for `name`, or an {@link InputError} listing the known names. */
export function getDetectorFactory(name: string): DetectorFactory {
  const f = BY_NAME.get(name);
  if (!f) {
    throw new InputError(
      `unknown detector "${name}"; known detectors: ${FACTORIES.map((x) => x.name).join(", ")}`,
    );
  }
  return f;
}

/** Validated hyperparameters of `name` with defaults filled in (strings are converted). */
export function detectorParams(name: string, params: Record<string, unknown> = {}): Record<string, unknown> {
  const f = getDetectorFactory(name);
  return validateParams(name, f.params, params);
}

/** Builds an unfitted detector. `params` are validated (unknown names and bad values throw). */
export function createDetector(name: string, params: Record<string, unknown> = {}, seed = 0): Detector {
  const f = getDetectorFactory(name);
  return f.create(validateParams(name, f.params, params), seed);
}

/** Restores a fitted detector from its saved state. */
export async function loadDetector(
  name: string,
  saved: DetectorState,
  params: Record<string, unknown> = {},
  seed = 0,
): Promise<Detector> {
  const f = getDetectorFactory(name);
  return await f.load(saved, validateParams(name, f.params, params), seed);
}

/** The backend a detector computes on ("js" for the plain-TypeScript ones). */
export function detectorBackend(name: string): string {
  return getDetectorFactory(name).backend?.() ?? "js";
}
