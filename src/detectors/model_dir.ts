/**
 * Self-describing model directories. A model directory holds `manifest.json`
 * (format version, detector name/params/seed/backend/state, feature set and
 * feature names in order, preprocessing transform, threshold, training-data
 * sha256, nadir version, creation time) and the detector's weight blobs under
 * `weights/`, each listed in the manifest with its sha256 and size. Loading
 * checks all of it and fails with an {@link InputError} naming the file and
 * the problem. The format is documented in docs/models.md.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDetector } from "./registry.ts";
 * import { loadModel, saveModel } from "./model_dir.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const x = matrixFromRows([[0, 0], [1, 1], [2, 2]], ["a", "b"]);
 * const d = createDetector("knn", { k: 1 }, 0);
 * await d.fit(x);
 * const dir = await Deno.makeTempDir();
 * await saveModel(dir, { detector: d, seed: 0, featureNames: ["a", "b"] });
 * const m = await loadModel(dir);
 * assert.equal(m.manifest.detector.name, "knn");
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { sha256Hex } from "../util/hash.ts";
import { join } from "node:path";
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { VERSION } from "../version.ts";
import type { Threshold } from "../thresholds/types.ts";
import { thresholdFromJSON } from "../thresholds/index.ts";
import { detectorBackend, getDetectorFactory, loadDetector } from "./registry.ts";
import type { Detector, DetectorState } from "./types.ts";

/** The model-directory format this nadir writes and the newest it reads. */
export const FORMAT_VERSION = 1;

/** One weight file listed in the manifest. */
export interface ManifestFile {
  sha256: string;
  bytes: number;
}

/** The parsed `manifest.json`. */
export interface Manifest {
  formatVersion: number;
  nadirVersion: string;
  createdAt: string;
  detector: {
    name: string;
    params: Record<string, unknown>;
    seed: number;
    backend: string;
    /** JSON half of {@link DetectorState}. */
    state: Record<string, unknown>;
    /** Blob name → file path relative to the directory. */
    blobs: Record<string, string>;
  };
  features: { set: string | null; names: string[] };
  /** Preprocessing transform (JSON from src/data/preprocess.ts), or null when features are used as is. */
  transform: unknown;
  threshold: Threshold | null;
  training: { dataSha256: string | null } & Record<string, unknown>;
  /** Benign per-feature statistics for explanations (src/detectors/explain.ts `benignProfile`), or null. */
  profile?: unknown;
  files: Record<string, ManifestFile>;
}

/** What {@link saveModel} needs. */
export interface SaveModelOptions {
  /** A fitted detector. */
  detector: Detector;
  /** The seed the detector was created with. */
  seed: number;
  /** Feature names in the order the detector expects (after the transform). */
  featureNames: readonly string[];
  /** Named feature set ("kdd-41", "flows", ...), if any. */
  featureSet?: string;
  /** Preprocessing transform as JSON (applied to raw rows before scoring). */
  transform?: unknown;
  threshold?: Threshold;
  /** sha256 of the training data (see {@link sha256Hex}, {@link hashMatrix}). */
  trainingDataHash?: string;
  /** Extra training facts (rows, dataset, split, seconds, ...). */
  training?: Record<string, unknown>;
  /** Benign per-feature statistics (`benignProfile(trainMatrix)` from ./explain.ts) for alert explanations. */
  profile?: unknown;
}

/** A model loaded from a directory. */
export interface LoadedModel {
  dir: string;
  manifest: Manifest;
  detector: Detector;
  threshold: Threshold | undefined;
  featureNames: string[];
  transform: unknown;
}

export { sha256Hex };

/** sha256 of a matrix's values and column names (a stable fingerprint of training data). */
export function hashMatrix(x: Matrix): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ rows: x.rows, cols: x.cols, names: x.names }));
  h.update(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
  return h.digest("hex");
}

const BLOB_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** Writes a model directory (created if needed; an existing model there is replaced). */
export async function saveModel(dir: string, opts: SaveModelOptions): Promise<Manifest> {
  const d = opts.detector;
  if (d.nFeatures === undefined) throw new InputError(`saveModel: the ${d.name} detector is not fitted`);
  if (opts.featureNames.length !== d.nFeatures) {
    throw new InputError(
      `saveModel: ${opts.featureNames.length} feature names given, but the detector was fitted on ${d.nFeatures} features`,
    );
  }
  getDetectorFactory(d.name); // must be a registered detector, or it could never be loaded
  const saved: DetectorState = await d.save();
  await Deno.mkdir(join(dir, "weights"), { recursive: true });
  const files: Record<string, ManifestFile> = {};
  const blobs: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(saved.blobs ?? {})) {
    if (!BLOB_NAME.test(name)) {
      throw new Error(`${d.name}.save returned a blob with an unsafe name "${name}"`);
    }
    const rel = `weights/${name}.bin`;
    await Deno.writeFile(join(dir, rel), bytes);
    files[rel] = { sha256: sha256Hex(bytes), bytes: bytes.byteLength };
    blobs[name] = rel;
  }
  const manifest: Manifest = {
    formatVersion: FORMAT_VERSION,
    nadirVersion: VERSION,
    createdAt: new Date().toISOString(),
    detector: {
      name: d.name,
      params: { ...d.params },
      seed: opts.seed,
      backend: detectorBackend(d.name),
      state: saved.state,
      blobs,
    },
    features: { set: opts.featureSet ?? null, names: [...opts.featureNames] },
    transform: opts.transform ?? null,
    threshold: opts.threshold
      ? {
        strategy: opts.threshold.strategy,
        params: { ...opts.threshold.params },
        value: opts.threshold.value,
        ...extraThresholdFields(opts.threshold),
      }
      : null,
    training: { dataSha256: opts.trainingDataHash ?? null, ...(opts.training ?? {}) },
    profile: opts.profile ?? null,
    files,
  };
  // The manifest is written last: a directory without one is never mistaken for a complete model.
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

function extraThresholdFields(t: Threshold): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (!["strategy", "params", "value"].includes(k)) out[k] = v;
  return out;
}

function fail(dir: string, file: string, detail: string): InputError {
  return new InputError(detail, { file: join(dir, file) });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads and checks `manifest.json` only (no weights). */
export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "manifest.json"));
  } catch (e) {
    if (e instanceof Deno.errors.NotADirectory) {
      throw new InputError("expected a model directory (as `nadir train --out` writes), found a file", {
        file: dir,
      });
    }
    if (e instanceof Deno.errors.NotFound) {
      let exists = false;
      try {
        exists = (await Deno.stat(dir)).isDirectory;
      } catch { /* absent */ }
      throw new InputError(
        exists ? "not a nadir model directory: manifest.json is missing" : "model directory not found",
        { file: exists ? join(dir, "manifest.json") : dir },
      );
    }
    throw e;
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw fail(dir, "manifest.json", `invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(m)) throw fail(dir, "manifest.json", "expected a JSON object");
  const v = m.formatVersion;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw fail(
      dir,
      "manifest.json",
      `formatVersion should be a positive integer, found ${JSON.stringify(v)}`,
    );
  }
  if (v > FORMAT_VERSION) {
    throw fail(
      dir,
      "manifest.json",
      `model format version ${v} is newer than this nadir ${VERSION} understands (format ${FORMAT_VERSION}); upgrade nadir`,
    );
  }
  const det = m.detector;
  if (
    !isObject(det) || typeof det.name !== "string" || !isObject(det.params) || !isObject(det.state) ||
    !isObject(det.blobs)
  ) {
    throw fail(dir, "manifest.json", "field detector should hold name, params, state and blobs");
  }
  if (typeof det.seed !== "number") {
    throw fail(dir, "manifest.json", "field detector.seed should be a number");
  }
  const feats = m.features;
  if (!isObject(feats) || !Array.isArray(feats.names) || !feats.names.every((n) => typeof n === "string")) {
    throw fail(dir, "manifest.json", "field features.names should be a list of strings");
  }
  if (!isObject(m.files)) throw fail(dir, "manifest.json", "field files should be an object");
  for (const [rel, f] of Object.entries(m.files)) {
    if (!isObject(f) || typeof f.sha256 !== "string" || typeof f.bytes !== "number") {
      throw fail(dir, "manifest.json", `files["${rel}"] should hold sha256 and bytes`);
    }
  }
  if (!isObject(m.training)) m.training = { dataSha256: null };
  if (m.transform === undefined) m.transform = null;
  if (m.threshold === undefined) m.threshold = null;
  if (m.profile === undefined) m.profile = null;
  return m as unknown as Manifest;
}

/** Loads and verifies a model directory. */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const manifest = await readManifest(dir);
  const blobs: Record<string, Uint8Array> = {};
  for (const [name, rel] of Object.entries(manifest.detector.blobs)) {
    if (typeof rel !== "string" || rel.includes("..") || rel.startsWith("/")) {
      throw fail(
        dir,
        "manifest.json",
        `detector.blobs.${name} should be a relative path inside the directory`,
      );
    }
    const listed = manifest.files[rel];
    if (!listed) throw fail(dir, "manifest.json", `weight file ${rel} is not listed under files`);
    let bytes: Uint8Array;
    try {
      // lstat, not stat: a symlink could point anywhere (/dev/zero, a FIFO that never ends, another
      // user's file); the sha256 check below would only catch it after reading whatever is there.
      const st = await Deno.lstat(join(dir, rel));
      if (!st.isFile) {
        throw fail(
          dir,
          rel,
          `expected a regular weight file, found ${st.isSymlink ? "a symbolic link" : "something else"}`,
        );
      }
      if (st.size !== listed.bytes) {
        throw fail(
          dir,
          rel,
          `weight file has ${st.size} bytes, the manifest says ${listed.bytes} (truncated or replaced)`,
        );
      }
      bytes = await Deno.readFile(join(dir, rel));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw fail(dir, rel, "weight file is missing");
      throw e;
    }
    if (bytes.byteLength !== listed.bytes) {
      throw fail(
        dir,
        rel,
        `weight file has ${bytes.byteLength} bytes, the manifest says ${listed.bytes} (truncated or replaced)`,
      );
    }
    const sum = sha256Hex(bytes);
    if (sum !== listed.sha256) {
      throw fail(
        dir,
        rel,
        `weight file sha256 ${sum} does not match the manifest's ${listed.sha256} (corrupt)`,
      );
    }
    blobs[name] = bytes;
  }
  const det = manifest.detector;
  let threshold: Threshold | undefined;
  if (manifest.threshold !== null) {
    try {
      threshold = thresholdFromJSON(manifest.threshold);
    } catch (e) {
      throw fail(dir, "manifest.json", `field threshold: ${(e as Error).message}`);
    }
  }
  let detector: Detector;
  try {
    detector = await loadDetector(det.name, { state: det.state, blobs }, det.params, det.seed);
  } catch (e) {
    if (e instanceof InputError) throw fail(dir, "manifest.json", e.message);
    throw e;
  }
  if (detector.nFeatures !== manifest.features.names.length) {
    throw fail(
      dir,
      "manifest.json",
      `features.names lists ${manifest.features.names.length} features but the ${det.name} weights expect ${detector.nFeatures}`,
    );
  }
  return {
    dir,
    manifest,
    detector,
    threshold,
    featureNames: manifest.features.names,
    transform: manifest.transform,
  };
}
