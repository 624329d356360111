/**
 * env.json: the facts needed to reproduce or compare a run's timings.
 *
 * @module
 */
import { VERSION } from "../version.ts";
import { gitShortSha } from "./results.ts";

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"));
    return m ? m[1].trim() : "unknown";
  } catch {
    return "unknown";
  }
}

/** Environment facts for env.json; `backend` is the compute backend of the detector ("js", "tfjs-wasm", ...). */
export function environment(backend: string): Record<string, unknown> {
  return {
    nadir: VERSION,
    git: gitShortSha(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpu: cpuModel(),
    cores: navigator.hardwareConcurrency,
    backend,
    packages: {
      "nodejs-polars": "0.25.2",
      "@tensorflow/tfjs": "4.22.0",
      "@tensorflow/tfjs-backend-wasm": "4.22.0",
    },
  };
}
