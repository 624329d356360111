/**
 * Single-precision matrix products on OpenBLAS through `Deno.dlopen`.
 *
 * Why not tfjs: at the sizes anomaly detectors use (256 × 78 × 64) a product
 * takes microseconds in `cblas_sgemm` — 16–69 GFLOP/s here against 1–2 on the
 * wasm backend — but inside tfjs the products are not where the time goes
 * (per-op dispatch and a fresh tensor per op are). So the native engine
 * (src/nn/) keeps buffers of its own and calls sgemm directly.
 *
 * Thread count is chosen per call by the product's size: below
 * {@link THREAD_MIN_FLOPS} one thread (OpenBLAS's thread wake-up costs more
 * than the work on autoencoder-sized products, measured), above it all
 * threads. `NADIR_BLAS_THREADS` caps the count.
 *
 * The library is looked up once: `NADIR_BLAS_LIB` (a path), then Debian's
 * `libopenblas.so.0` (package `libopenblas0-pthread`) and the generic
 * `libblas.so.3` (only when it exports the OpenBLAS thread control: the
 * reference BLAS is too slow to be worth it). When none loads,
 * {@link blasAvailable} is false and {@link blasInfo} says why: the detectors
 * fall back to tfjs with a one-line notice (see engine.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blasAvailable, sgemm } from "./blas.ts";
 * if (blasAvailable()) {
 *   // [1 2; 3 4] × [1; 1] = [3; 7]
 *   const c = new Float32Array(2);
 *   sgemm(false, false, 2, 1, 2, 1, new Float32Array([1, 2, 3, 4]), 2, new Float32Array([1, 1]), 1, 0, c, 1);
 *   assert.deepEqual([...c], [3, 7]);
 * }
 * ```
 * @module
 */

/** CBLAS enum values (cblas.h). */
const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

/**
 * Products below this many FLOPs (2·m·n·k) run on one thread. Measured on this 2-core machine: flow-lm's
 * dense products (10–31 MFLOP) ran slower on two threads than on one (a 1-epoch fit 5.4 s against 4.8 s
 * wall, at twice the CPU time), so the bar sits above every product of the default neural models; big
 * products (1024³: 2 GFLOP) still take every thread.
 */
export const THREAD_MIN_FLOPS = 5e7;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_num_threads: { parameters: [], result: "i32" },
  openblas_get_config: { parameters: [], result: "pointer" },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** What {@link blasInfo} reports. */
export interface BlasInfo {
  /** Whether sgemm is usable. */
  available: boolean;
  /** The library path that loaded, if any. */
  path?: string;
  /** OpenBLAS's build description (`openblas_get_config`). */
  config?: string;
  /** Threads OpenBLAS may use for large products. */
  maxThreads: number;
  /** Why no library loaded (one entry per candidate tried). */
  notes: string[];
}

let lib: Lib | undefined;
let info: BlasInfo | undefined;
let threadsNow = 0;

function candidates(): string[] {
  const env = Deno.env.get("NADIR_BLAS_LIB");
  if (env) return [env];
  return [
    "libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "libopenblas.so",
    "libblas.so.3",
  ];
}

function load(): BlasInfo {
  if (info) return info;
  const notes: string[] = [];
  for (const path of candidates()) {
    try {
      lib = Deno.dlopen(path, SYMBOLS);
    } catch (e) {
      notes.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    const cfgPtr = lib.symbols.openblas_get_config();
    const config = cfgPtr ? new Deno.UnsafePointerView(cfgPtr).getCString() : undefined;
    let maxThreads = lib.symbols.openblas_get_num_threads();
    const cap = Number(Deno.env.get("NADIR_BLAS_THREADS") ?? "");
    if (Number.isInteger(cap) && cap > 0) maxThreads = Math.min(maxThreads, cap);
    threadsNow = 0;
    info = { available: true, path, config, maxThreads: Math.max(1, maxThreads), notes };
    return info;
  }
  lib = undefined;
  info = { available: false, maxThreads: 0, notes };
  return info;
}

/** Whether OpenBLAS loaded (loads it on first call). */
export function blasAvailable(): boolean {
  return load().available;
}

/** The library in use, its configuration and why other candidates were skipped. */
export function blasInfo(): BlasInfo {
  return load();
}

/** Sets OpenBLAS's thread count for the next calls (cached: the call is skipped when unchanged). */
export function setBlasThreads(n: number): void {
  if (!load().available) return;
  const t = Math.max(1, Math.min(n, info!.maxThreads));
  if (t !== threadsNow) {
    lib!.symbols.openblas_set_num_threads(t);
    threadsNow = t;
  }
}

/**
 * `C = alpha · op(A) · op(B) + beta · C`, all row-major float32: op(A) is
 * m × k, op(B) k × n, C m × n. `lda`/`ldb`/`ldc` are the row strides of the
 * arrays as stored (before the transpose). Offsets are taken from the views:
 * pass `a.subarray(off)` to start inside a buffer.
 *
 * Sizes are checked against the buffers before the call — a wrong size would
 * otherwise read or write outside them.
 */
export function sgemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    // BLAS leaves C untouched for k = 0 only when beta = 1; make the maths explicit.
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[i * ldc + j] *= beta;
    return;
  }
  const l = lib ?? (load().available ? lib : undefined);
  if (!l) throw new Error(`OpenBLAS is not available: ${info!.notes.join("; ")}`);
  const aRows = transA ? k : m, aCols = transA ? m : k;
  const bRows = transB ? n : k, bCols = transB ? k : n;
  if (lda < aCols || (aRows - 1) * lda + aCols > a.length) {
    throw new RangeError(
      `sgemm: A is ${aRows}×${aCols} (lda ${lda}) but its buffer holds ${a.length} floats`,
    );
  }
  if (ldb < bCols || (bRows - 1) * ldb + bCols > b.length) {
    throw new RangeError(
      `sgemm: B is ${bRows}×${bCols} (ldb ${ldb}) but its buffer holds ${b.length} floats`,
    );
  }
  if (ldc < n || (m - 1) * ldc + n > c.length) {
    throw new RangeError(`sgemm: C is ${m}×${n} (ldc ${ldc}) but its buffer holds ${c.length} floats`);
  }
  setBlasThreads(2 * m * n * k < THREAD_MIN_FLOPS ? 1 : info!.maxThreads);
  l.symbols.cblas_sgemm(
    ROW_MAJOR,
    transA ? TRANS : NO_TRANS,
    transB ? TRANS : NO_TRANS,
    m,
    n,
    k,
    alpha,
    a,
    lda,
    b,
    ldb,
    beta,
    c,
    ldc,
  );
}

/** `C = op(A) · op(B)` (+ C when `accumulate`) with packed strides: the common case of {@link sgemm}. */
export function matmul(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
  opts: { transA?: boolean; transB?: boolean; accumulate?: boolean } = {},
): void {
  const tA = opts.transA ?? false, tB = opts.transB ?? false;
  sgemm(tA, tB, m, n, k, 1, a, tA ? m : k, b, tB ? k : n, opts.accumulate ? 1 : 0, c, n);
}
