/**
 * Unsupervised anomaly detectors behind one {@link Detector} interface: fit on
 * benign rows, `score` returns one score per row (higher = more anomalous),
 * `save`/`load` restore an identical model. Build them by name through the
 * registry ({@link createDetector}, {@link listDetectors}, {@link loadDetector});
 * write and read self-describing model directories with {@link saveModel} /
 * {@link loadModel}; score raw rows of a saved model with {@link predict}.
 * docs/detectors.md, docs/models.md, docs/backends.md and docs/llm.md describe
 * each detector, the directory format and the compute backends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matrixFromRows } from "nadir/data";
 * import { createDetector, detectorParams, listDetectors, loadModel, saveModel } from "nadir/detectors";
 *
 * assert.ok(listDetectors().some((f) => f.name === "knn"));
 * assert.equal(detectorParams("knn", { k: "3" }).k, 3, "strings (CLI --param) are converted");
 * const train = matrixFromRows([[0, 0], [0, 1], [1, 0], [1, 1]], ["a", "b"]);
 * const steps: number[] = [];
 * const d = createDetector("kmeans", { k: 2 }, 7);
 * await d.fit(train, { onProgress: (p) => steps.push(p.step) });
 * const [near, far] = await d.score(matrixFromRows([[0.5, 0.5], [9, 9]]));
 * assert.ok(far > near);
 *
 * const dir = await Deno.makeTempDir();
 * await saveModel(dir, { detector: d, seed: 7, featureNames: ["a", "b"] });
 * const back = await loadModel(dir);
 * assert.deepEqual(await back.detector.score(train), await d.score(train));
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export * from "./types.ts";
export * from "./registry.ts";
export * from "./params.ts";
export * from "./factory.ts";
export {
  FORMAT_VERSION,
  hashMatrix,
  type LoadedModel,
  loadModel,
  type Manifest,
  type ManifestFile,
  readManifest,
  saveModel,
  type SaveModelOptions,
} from "./model_dir.ts";
export * from "./model_history.ts";
export * from "./predict.ts";
export * from "./train.ts";
export * from "./explain.ts";
export { type BackendInfo, backendInfo, backendLine, initTf, type Tf, tfBackendName } from "./tf_backend.ts";
export { nnBackendName } from "./nn_backend.ts";
export {
  type ColumnField,
  columnFields,
  fitTokenizer,
  oneHotGroups,
  type TokenField,
  Tokenizer,
  type TokenizerOptions,
  type TokenizerState,
} from "./tokenizer.ts";
export { aggregateSurprisal, autoEpochs, type FlowLmParams } from "./flow_lm.ts";
export { embedTexts, flowText, flowTexts, MODELS_DIR, type TextEmbeddingParams } from "./text_embedding.ts";
export type { AutoencoderParams } from "./autoencoder.ts";
export type { LstmParams } from "./lstm.ts";
export type { CopodParams } from "./copod.ts";
export type { EcodParams } from "./ecod.ts";
export type { HbosParams } from "./hbos.ts";
export type { IsolationForestParams } from "./isolation_forest.ts";
export type { KitNetParams } from "./kitnet.ts";
export type { KMeansParams } from "./kmeans.ts";
export type { KnnParams } from "./knn.ts";
export type { LofParams } from "./lof.ts";
export type { OcsvmParams } from "./ocsvm.ts";
export type { PcaParams } from "./pca.ts";
