/**
 * Which engine runs the neural detectors (autoencoder, lstm, flow-lm):
 * `native` — nadir's own buffers and kernels with every product through
 * OpenBLAS sgemm (src/nn/) — or `tfjs`, the reference implementation.
 *
 * Native is the default when OpenBLAS loads. `NADIR_BACKEND=native|tfjs`
 * overrides; asking for native without OpenBLAS falls back to tfjs with a
 * one-line notice on stderr (once per process), never a crash. Saved models
 * hold the same weight blobs whichever engine wrote them, so either engine
 * loads and scores them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nnEngine } from "./engine.ts";
 * assert.ok(["native", "tfjs"].includes(nnEngine().name));
 * ```
 * @module
 */
import { blasAvailable, blasInfo } from "./blas.ts";

/** The engine decision and why. */
export interface EngineChoice {
  name: "native" | "tfjs";
  /** Why it is not the default, or why native was refused. */
  notes: string[];
}

let choice: EngineChoice | undefined;
let noticed = false;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Decides (once per process) and returns the engine. Throws on an unknown NADIR_BACKEND value. */
export function nnEngine(): EngineChoice {
  if (choice) return choice;
  const want = (env("NADIR_BACKEND") ?? "").trim().toLowerCase();
  if (want && want !== "native" && want !== "tfjs") {
    throw new Error(`NADIR_BACKEND must be "native" or "tfjs", found "${want}"`);
  }
  if (want === "tfjs") {
    choice = { name: "tfjs", notes: ["NADIR_BACKEND=tfjs"] };
  } else if (blasAvailable()) {
    choice = { name: "native", notes: [] };
  } else {
    const why = `OpenBLAS not found (${blasInfo().notes.join("; ") || "no candidate"})`;
    choice = { name: "tfjs", notes: [why] };
    if (!noticed) {
      noticed = true;
      console.error(
        `nadir: ${why}; neural detectors run on tfjs (slower). Install libopenblas0-pthread for the native engine.`,
      );
    }
  }
  return choice;
}

/** Forces the engine for this process (tests run the same checks on both); `undefined` re-reads the environment. */
export function setNnEngine(name: "native" | "tfjs" | undefined): void {
  if (name === "native" && !blasAvailable()) {
    throw new Error(`the native engine needs OpenBLAS: ${blasInfo().notes.join("; ")}`);
  }
  choice = name ? { name, notes: [`set by setNnEngine("${name}")`] } : undefined;
}

/** "native (OpenBLAS 0.3.21, 2 threads)" — for manifests, env.json and bench output. */
export function nativeEngineLine(): string {
  const b = blasInfo();
  const ver = /OpenBLAS\s+(\S+)/.exec(b.config ?? "")?.[1];
  return `native (OpenBLAS${ver ? " " + ver : ""}, ${b.maxThreads} thread${b.maxThreads === 1 ? "" : "s"})`;
}
