/**
 * A model's activation buffers in one WebAssembly memory, so the elementwise
 * passes of a dense layer run as SIMD kernels on them in place, while sgemm
 * (through FFI) reads and writes the same bytes.
 *
 * Why: at the autoencoder's size (batch 256, layers 78-64-32-64-78) the
 * products take about 0.25 s of a 5-epoch fit, and the plain-JS passes
 * around them — bias + relu forward, relu backward with the bias gradient,
 * the output layer's bias gradient — took another 0.12 s (measured), one
 * float at a time. Four lanes at a time they cost a fraction of that, but
 * only if nothing is copied: ./simd.ts's kernels copy their operands into a
 * private memory, which is fine for exponentials (7–20 ns a value in JS) and
 * too dear for an add and a max. So the buffers live in the kernels' memory
 * from the start.
 *
 * {@link Workspace.alloc} hands out 16-byte aligned `Float32Array` views of
 * the memory. The ops in ./ops.ts ask {@link biasActRows},
 * {@link reluBackwardBias} and {@link addColumnSums} first and run their own
 * loops when those return false: when an operand is not a view of a
 * workspace (a caller's own array), when a row is wider than the scratch
 * area that holds bias vectors, or where WebAssembly SIMD is missing or
 * `NADIR_SIMD=off` (then `alloc` returns plain arrays). Results are the same
 * either way up to the sign of zero, which the kernels never make negative.
 *
 * The memory never grows (growing would detach every view handed out): a
 * workspace is made for a known number of floats, and a model that needs
 * more makes a new one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { biasActRows, Workspace } from "./workspace.ts";
 * const ws = new Workspace(8);
 * const z = ws.alloc(4);
 * z.set([-2, -1, 1, 2]);
 * // Adds the bias (one row of 4) and applies relu, in place — in SIMD when available.
 * if (!biasActRows(z, new Float32Array([0, 2, 0, 0]), 1, 4, true)) {
 *   for (let j = 0; j < 4; j++) z[j] = Math.max(0, z[j] + [0, 2, 0, 0][j]);
 * }
 * assert.deepEqual([...z], [0, 1, 1, 2]);
 * ```
 * @module
 */
import {
  cat,
  type Code,
  emit,
  F32,
  f32Const,
  F64,
  funcBody,
  funcType,
  I32,
  i32Const,
  lazyKernelModule,
  localGet as get,
  localSet as set,
  localTee as tee,
  moduleBytes,
  simdOp,
  V128,
} from "./wasm.ts";

/** Floats at the start of every workspace for per-column vectors (a bias, a bias gradient). */
export const SCRATCH_FLOATS = 4096;

// --- The kernels: loops over rows × columns, four columns at a time, then the leftover columns. ---

const v128Load = cat(simdOp(0x00), 2, 0), v128Store = cat(simdOp(0x0b), 2, 0);
const f32Load = [0x2a, 2, 0], f32Store = [0x38, 2, 0];
const f32x4Add = simdOp(0xe4), f32x4Max = simdOp(0xe9), f32x4Gt = simdOp(0x44), v128And = simdOp(0x4e);
const v128Zero = cat(simdOp(0x0c), new Array(16).fill(0));

/**
 * A function `(rowPtr…, colPtr…, rows, n)` over byte offsets: for each of
 * `rows` rows, `vec` runs for every four columns and `tail` for each column
 * left over; row pointers advance by a row (n floats) after each row, column
 * pointers (a bias, its gradient) stay. `at(p)` pushes pointer p plus the
 * column's byte offset; locals after the fixed ones are `vecLocal` (v128)
 * and `f32Local` (f32) for the bodies' temporaries.
 */
function rowKernel(
  rowPtrs: number,
  colPtrs: number,
  body: (at: (p: number) => Code, vecLocal: number, f32Local: number) => { vec: Code; tail: Code },
): { type: Code; code: Code } {
  const nPtr = rowPtrs + colPtrs, ROWS = nPtr, N = nPtr + 1;
  const J = nPtr + 2, N4B = J + 1, NB = J + 2, VL = J + 3, FL = J + 4;
  const at = (p: number) => cat(get(p), get(J), 0x6a); // i32.add
  const { vec, tail } = body(at, VL, FL);
  const code: Code = [];
  emit(code, get(N), i32Const(2), 0x74, set(NB)); // nb = n << 2
  emit(code, get(N), i32Const(-4), 0x71, i32Const(2), 0x74, set(N4B)); // n4b = (n & −4) << 2
  emit(code, 0x02, 0x40, get(ROWS), 0x45, 0x0d, 0, 0x03, 0x40); // block; br_if rows == 0; loop (rows)
  emit(code, i32Const(0), set(J));
  emit(code, 0x02, 0x40, 0x03, 0x40, get(J), get(N4B), 0x4f, 0x0d, 1); // block; loop; br_if j ≥ n4b → out
  emit(code, vec, get(J), i32Const(16), 0x6a, set(J), 0x0c, 0, 0x0b, 0x0b); // j += 16; br loop; end; end
  emit(code, 0x02, 0x40, 0x03, 0x40, get(J), get(NB), 0x4f, 0x0d, 1); // the leftover columns
  emit(code, tail, get(J), i32Const(4), 0x6a, set(J), 0x0c, 0, 0x0b, 0x0b);
  for (let p = 0; p < rowPtrs; p++) emit(code, get(p), get(NB), 0x6a, set(p)); // next row
  emit(code, get(ROWS), i32Const(1), 0x6b, tee(ROWS), 0x0d, 0, 0x0b, 0x0b, 0x0b); // br_if loop; end; end; end
  const params = new Array(nPtr + 2).fill(I32);
  return { type: funcType(params, []), code: funcBody([[3, I32], [1, V128], [1, F32]], code) };
}

/** `z (row) += b; relu` — or without relu, the bias alone. */
function biasAct(relu: boolean) {
  return rowKernel(1, 1, (at) => ({
    vec: cat(
      at(0),
      at(0),
      v128Load,
      at(1),
      v128Load,
      f32x4Add,
      relu ? cat(v128Zero, f32x4Max) : [],
      v128Store,
    ),
    tail: cat(at(0), at(0), f32Load, at(1), f32Load, 0x92, relu ? cat(f32Const(0), 0x97) : [], f32Store),
  }));
}

/** `dy (row) = dy · (z > 0)` and `db += dy`: relu's backward with its bias gradient (z, dy | db). */
const reluBack = rowKernel(2, 1, (at, V, F) => ({
  vec: cat(
    at(1),
    at(1),
    v128Load,
    at(0),
    v128Load,
    v128Zero,
    f32x4Gt,
    v128And,
    tee(V),
    v128Store,
    at(2),
    at(2),
    v128Load,
    get(V),
    f32x4Add,
    v128Store,
  ),
  // select(dy, 0, z > 0)
  tail: cat(at(1), at(1), f32Load, f32Const(0), at(0), f32Load, f32Const(0), 0x5e, 0x1b, tee(F), f32Store)
    .concat(at(2), at(2), f32Load, get(F), 0x92, f32Store),
}));

/** `db += dy (row)`: the bias gradient of a linear layer (dy | db). */
const colSum = rowKernel(1, 1, (at) => ({
  vec: cat(at(1), at(1), v128Load, at(0), v128Load, f32x4Add, v128Store),
  tail: cat(at(1), at(1), f32Load, at(0), f32Load, 0x92, f32Store),
}));

/**
 * `mse(pred, target, grad, count, k) → Σ d²` over `count` vectors, d = pred −
 * target, writing `grad = k·d`; the squares are summed in float64 (two
 * lanes per accumulator), as the plain loop sums them.
 */
function mseKernel(): { type: Code; code: Code } {
  const [P, T, G, CNT, K] = [0, 1, 2, 3, 4];
  const KV = 5, D = 6, LO = 7, HI = 8;
  const promoteLow = simdOp(0x5f), f64x2Add = simdOp(0xf0);
  const highToLow = cat(simdOp(0x0d), [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
  const code: Code = [];
  emit(code, get(K), simdOp(0x13), set(KV)); // k in every lane
  emit(code, 0x02, 0x40, get(CNT), 0x45, 0x0d, 0, 0x03, 0x40); // block; br_if count == 0; loop
  emit(code, get(P), v128Load, get(T), v128Load, simdOp(0xe5), set(D)); // d = p − t
  emit(code, get(G), get(D), get(KV), simdOp(0xe6), v128Store); // grad = k·d
  emit(code, get(D), get(D), simdOp(0xe6), set(D)); // d² (float32)
  emit(code, get(LO), get(D), promoteLow, f64x2Add, set(LO));
  emit(code, get(HI), get(D), get(D), highToLow, promoteLow, f64x2Add, set(HI));
  for (const p of [P, T, G]) emit(code, get(p), i32Const(16), 0x6a, set(p));
  emit(code, get(CNT), i32Const(1), 0x6b, tee(CNT), 0x0d, 0, 0x0b, 0x0b); // br_if loop; end; end
  emit(code, get(LO), get(HI), f64x2Add, tee(LO), simdOp(0x21), 0, get(LO), simdOp(0x21), 1, 0xa0, 0x0b);
  return { type: funcType([I32, I32, I32, I32, F32], [F64]), code: funcBody([[4, V128]], code) };
}

const KERNELS = { biasRelu: biasAct(true), biasAdd: biasAct(false), reluBack, colSum, mse: mseKernel() };
type Kernels = {
  biasRelu: (z: number, b: number, rows: number, n: number) => void;
  biasAdd: (z: number, b: number, rows: number, n: number) => void;
  reluBack: (z: number, dy: number, db: number, rows: number, n: number) => void;
  colSum: (dy: number, db: number, rows: number, n: number) => void;
  mse: (pred: number, target: number, grad: number, count: number, k: number) => number;
};

/** The compiled kernels, or null where WebAssembly SIMD is missing or `NADIR_SIMD=off`. */
const kernelModule = lazyKernelModule(() => {
  const names = Object.keys(KERNELS) as (keyof typeof KERNELS)[];
  return moduleBytes({
    funcs: names.map((name) => ({ name, ...KERNELS[name] })),
    importMemory: { module: "env", name: "mem", min: 1 },
  });
});

/** Workspaces by their memory's buffer, for the ops to find the kernels of an operand. */
const byBuffer = new WeakMap<ArrayBufferLike, Workspace>();

/** Floats in a WebAssembly memory (or, without SIMD, plain arrays) handed out as views. */
export class Workspace {
  /** The kernels over this memory (undefined: plain arrays, the ops' own loops). */
  readonly kernels: Kernels | undefined;
  /** The whole memory as floats (scratch first). */
  readonly #mem: Float32Array<ArrayBuffer> | undefined;
  #used = SCRATCH_FLOATS;

  /** A workspace with room for at least `floats` floats of views (up to 64 of them: alignment takes up to 3 floats each). */
  constructor(floats: number, opts: { simd?: boolean } = {}) {
    const mod = opts.simd === false ? null : kernelModule();
    if (!mod) return;
    const bytes = (SCRATCH_FLOATS + floats + 4 * 64) * 4; // room to align up to 64 allocations
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
    this.kernels = new WebAssembly.Instance(mod, { env: { mem: memory } }).exports as unknown as Kernels;
    this.#mem = new Float32Array(memory.buffer as ArrayBuffer); // not shared: `shared` is off
    byBuffer.set(memory.buffer, this);
  }

  /**
   * A zeroed view of `n` floats, 16-byte aligned. Throws a RangeError when
   * the workspace is full (sizes are fixed at construction).
   */
  alloc(n: number): Float32Array<ArrayBuffer> {
    const mem = this.#mem;
    if (!mem) return new Float32Array(n);
    const at = (this.#used + 3) & ~3;
    if (at + n > mem.length) {
      throw new RangeError(
        `workspace: ${n} floats requested, ${Math.max(0, mem.length - at)} left of ${
          mem.length - SCRATCH_FLOATS
        }`,
      );
    }
    this.#used = at + n;
    return mem.subarray(at, at + n);
  }

  /** The scratch area: per-column vectors copied in for a kernel call. */
  get scratch(): Float32Array {
    return this.#mem!.subarray(0, SCRATCH_FLOATS);
  }
}

/** The workspace holding every one of `arrays` with at least `rows · n` floats from `first`, if any. */
function kernelsFor(
  first: Float32Array,
  rows: number,
  n: number,
  other?: Float32Array,
): Workspace | undefined {
  const ws = byBuffer.get(first.buffer);
  if (!ws || n > SCRATCH_FLOATS || (other && other.buffer !== first.buffer)) return undefined;
  if (first.length < rows * n || (other && other.length < rows * n)) {
    throw new RangeError(
      `workspace kernel: ${rows} rows of ${n} need ${rows * n} floats, found ${first.length}`,
    );
  }
  return ws;
}

/**
 * `z += b` on each of `rows` rows of `n` (then relu when `relu`), in place,
 * in SIMD; false when `z` is not a workspace view (nothing done).
 */
export function biasActRows(
  z: Float32Array,
  b: Float32Array,
  rows: number,
  n: number,
  relu: boolean,
): boolean {
  const ws = kernelsFor(z, rows, n);
  if (!ws) return false;
  ws.scratch.set(b.subarray(0, n));
  (relu ? ws.kernels!.biasRelu : ws.kernels!.biasAdd)(z.byteOffset, 0, rows, n);
  return true;
}

/**
 * Relu's backward in place, `dy = dy · (z > 0)`, with the bias gradient
 * `db (+)= Σ rows dy` (overwritten unless `accumulate`); `z` may be relu's
 * output (y > 0 ⇔ z > 0). False when z and dy are not views of one workspace.
 */
export function reluBackwardBias(
  z: Float32Array,
  dy: Float32Array,
  rows: number,
  n: number,
  db: Float32Array,
  accumulate: boolean,
): boolean {
  const ws = kernelsFor(z, rows, n, dy);
  if (!ws) return false;
  return intoColumnVector(
    ws,
    db,
    n,
    accumulate,
    () => ws.kernels!.reluBack(z.byteOffset, dy.byteOffset, 0, rows, n),
  );
}

/** `db (+)= Σ rows dy` (overwritten unless `accumulate`); false when dy is not a workspace view. */
export function addColumnSums(
  dy: Float32Array,
  rows: number,
  n: number,
  db: Float32Array,
  accumulate: boolean,
): boolean {
  const ws = kernelsFor(dy, rows, n);
  if (!ws) return false;
  return intoColumnVector(ws, db, n, accumulate, () => ws.kernels!.colSum(dy.byteOffset, 0, rows, n));
}

/**
 * Runs a kernel that adds into the scratch area's first `n` floats, staged
 * from `db` (or zeroed unless `accumulate`), and copies the sums back.
 */
function intoColumnVector(
  ws: Workspace,
  db: Float32Array,
  n: number,
  accumulate: boolean,
  run: () => void,
): true {
  const s = ws.scratch;
  if (accumulate) s.set(db.subarray(0, n));
  else s.fill(0, 0, n);
  run();
  db.set(s.subarray(0, n));
  return true;
}

/**
 * Σ (pred − target)² over `n` values, writing `grad = k·(pred − target)`,
 * in SIMD; undefined (nothing done) unless all three are views of one
 * workspace. The last n mod 4 values are the caller's ({@link mseLoss}'s
 * plain loop): returned as `done`, the count handled.
 */
export function squaredErrorSum(
  pred: Float32Array,
  target: Float32Array,
  grad: Float32Array,
  n: number,
  k: number,
): { sum: number; done: number } | undefined {
  const ws = byBuffer.get(pred.buffer);
  if (!ws || target.buffer !== pred.buffer || grad.buffer !== pred.buffer) return undefined;
  if (pred.length < n || target.length < n || grad.length < n) {
    throw new RangeError(
      `workspace kernel: ${n} values, found arrays of ${pred.length}, ${target.length}, ${grad.length}`,
    );
  }
  const done = n & ~3;
  return { sum: ws.kernels!.mse(pred.byteOffset, target.byteOffset, grad.byteOffset, done >> 2, k), done };
}
