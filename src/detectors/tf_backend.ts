/**
 * One place that initialises TensorFlow.js for every deep detector.
 *
 * Order of preference (first that works wins, once per process):
 * 1. `tensorflow` — `@tensorflow/tfjs-node` (native libtensorflow) when it is
 *    importable. It is not installable on the project machines, so the dynamic
 *    import fails quickly and we move on; add it to deno.json's imports to use it.
 * 2. `wasm` — `@tensorflow/tfjs-backend-wasm` with SIMD, loading the `.wasm`
 *    files from `node_modules/@tensorflow/tfjs-backend-wasm/dist/`. tfjs turns
 *    multi-threading off under Node-like runtimes (and forcing it fails in Deno
 *    with ERR_WORKER_PATH), so this is single-threaded SIMD.
 * 3. `cpu` — the pure-JS reference backend (≈25× slower than wasm here).
 *
 * `NADIR_TF_BACKEND=wasm|cpu|tensorflow` forces one (falls back with a reason
 * recorded in {@link backendInfo} when it fails).
 *
 * Single-threaded wasm and cpu are deterministic, so the same seed gives the
 * same scores on the same backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendInfo, initTf } from "./tf_backend.ts";
 * const tf = await initTf();
 * assert.equal(tf.getBackend(), backendInfo().name);
 * ```
 * @module
 */
import type * as tfjsTypes from "@tensorflow/tfjs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

/** The tfjs namespace type. */
export type Tf = typeof tfjsTypes;

// Loaded lazily in init(): importing the registry must not pay for tfjs.
let tfjs: Tf;

/** What {@link initTf} settled on. */
export interface BackendInfo {
  /** tfjs backend name: "tensorflow", "wasm" or "cpu". */
  name: string;
  /** WebAssembly SIMD in use (wasm only). */
  simd: boolean;
  /** Threads used by the backend's kernels. */
  threads: number;
  /** tfjs version. */
  version: string;
  /** Why preferred backends were skipped. */
  notes: string[];
}

let ready: Promise<Tf> | undefined;
let info: BackendInfo | undefined;

/** Directory holding tfjs-backend-wasm's .wasm files (found by walking up from this module). */
export function wasmDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const cand = join(dir, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist");
    try {
      if (Deno.statSync(join(cand, "tfjs-backend-wasm-simd.wasm")).isFile) return cand + "/";
    } catch { /* keep walking */ }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

async function tryNode(notes: string[]): Promise<Tf | undefined> {
  // A variable specifier keeps `deno check` from resolving a package we do not ship.
  const spec = ["@tensorflow", "tfjs-node"].join("/");
  try {
    await import(spec);
    if (await tfjs.setBackend("tensorflow")) return tfjs;
    notes.push("tfjs-node imported but its backend did not start");
  } catch (e) {
    notes.push(`tfjs-node not available (${(e as Error).message.split("\n")[0].slice(0, 120)})`);
  }
  return undefined;
}

async function tryWasm(notes: string[]): Promise<Tf | undefined> {
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    const dir = wasmDir();
    if (!dir) {
      notes.push("tfjs-backend-wasm .wasm files not found under node_modules");
      return undefined;
    }
    wasm.setWasmPaths({
      "tfjs-backend-wasm.wasm": dir + "tfjs-backend-wasm.wasm",
      "tfjs-backend-wasm-simd.wasm": dir + "tfjs-backend-wasm-simd.wasm",
      "tfjs-backend-wasm-threaded-simd.wasm": dir + "tfjs-backend-wasm-threaded-simd.wasm",
    });
    if (await tfjs.setBackend("wasm")) return tfjs;
    notes.push("wasm backend failed to initialise");
  } catch (e) {
    notes.push(`wasm backend failed (${(e as Error).message.split("\n")[0].slice(0, 120)})`);
  }
  return undefined;
}

async function init(): Promise<Tf> {
  tfjs = await import("@tensorflow/tfjs");
  const notes: string[] = [];
  const forced = (() => {
    try {
      return Deno.env.get("NADIR_TF_BACKEND");
    } catch {
      return undefined;
    }
  })();
  let tf: Tf | undefined;
  if (forced === "cpu") {
    await tfjs.setBackend("cpu");
    tf = tfjs;
  } else {
    if (!forced || forced === "tensorflow") tf = await tryNode(notes);
    if (!tf) tf = await tryWasm(notes);
    if (!tf) {
      await tfjs.setBackend("cpu");
      tf = tfjs;
    }
  }
  await tf.ready();
  const name = tf.getBackend();
  let simd = false;
  if (name === "wasm") simd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  info = { name, simd, threads: 1, version: tf.version.tfjs, notes };
  if (name === "tensorflow") info.threads = navigator.hardwareConcurrency ?? 1;
  return tf;
}

/** Initialises tfjs once and returns it (later calls return the same promise). */
export function initTf(): Promise<Tf> {
  ready ??= init();
  return ready;
}

/** The backend in use; call after {@link initTf}. */
export function backendInfo(): BackendInfo {
  if (!info) throw new Error("backendInfo(): call `await initTf()` first");
  return { ...info, notes: [...info.notes] };
}

/** One line for logs and reports, e.g. "wasm (SIMD, 1 thread, tfjs 4.22.0)". */
export function backendLine(): string {
  const b = backendInfo();
  const simd = b.name === "wasm" ? (b.simd ? "SIMD, " : "no SIMD, ") : "";
  return `${b.name} (${simd}${b.threads} thread${b.threads === 1 ? "" : "s"}, tfjs ${b.version})`;
}

/** "tfjs-wasm", "tfjs-cpu", ... once initialised; "tfjs" before (for registry `backend()`). */
export function tfBackendName(): string {
  return info ? `tfjs-${info.name}` : "tfjs";
}
