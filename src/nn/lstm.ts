/**
 * LSTM on the native engine: a layer with a hand-written backward pass
 * (backpropagation through time) and the two sequence models the `lstm`
 * detector trains — an encoder-decoder autoencoder and a next-step predictor.
 *
 * **Maths** (the tfjs reference in src/detectors/lstm.ts, per step, h0 = c0 = 0):
 * i = σ(xWi + hUi + bi), f = σ(xWf + hUf + bf), g = tanh(xWg + hUg + bg),
 * o = σ(xWo + hUo + bo), c = f⊙c + i⊙g, h = o⊙tanh(c).
 *
 * **Weights** stay per gate, as separate parameters `<cell>.W{i,f,g,o}`
 * [nIn, U], `<cell>.U{i,f,g,o}` [U, U] and `<cell>.b{i,f,g,o}` [U] — the names
 * and layout the tfjs detector saves, so models move between engines. For
 * speed each forward packs them into `[nIn, 4U]`, `[U, 4U]` and `[4U]`
 * buffers (gate order i, f, g, o): the input products of all T steps are one
 * product, the recurrent product one per step, and the backward pass
 * computes packed gradients (again one product each for the input and
 * recurrent weights over all steps, bias gradients as 1ᵀ·dZ) that are
 * scattered back into the per-gate gradient buffers. Products go through
 * sgemm on one OpenBLAS thread (see `gemm` below for the measurement).
 *
 * **Elementwise step.** Gates, cell and hidden state of one step (and its
 * backward) run in a small WebAssembly SIMD module assembled here when U is
 * a multiple of 4 (the default 32 is), over state buffers that live in the
 * layer's WebAssembly memory; otherwise, or with `NADIR_SIMD=off`, scalar
 * loops compute the same formulas. Both are checked against tfjs.
 *
 * **Layout.** Sequences are step-major: the input of step t for sequence b is
 * row `t·B + b` of a `(T·B) × nIn` buffer, hidden states likewise
 * `(T·B) × U`. Buffers are allocated once per model and grow to the largest
 * T·B seen, so steady-state training allocates nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blasAvailable } from "./blas.ts";
 * import { LstmLayer, lstmLayerSpecs } from "./lstm.ts";
 * import { Params } from "./params.ts";
 * import { Rng } from "../util/random.ts";
 * if (blasAvailable()) {
 *   const p = new Params();
 *   for (const [name, shape, values] of lstmLayerSpecs("enc", 2, 3, new Rng(1))) p.add(name, shape, values);
 *   const layer = new LstmLayer(p, "enc", 2, 3);
 *   // 4 steps of 1 sequence with 2 features: hidden states are 4 × 3, each in (-1, 1).
 *   const h = layer.forward(new Float32Array([1, 0, 0, 1, 1, 1, 0, 0]), 1, 4);
 *   assert.equal(h.length, 12);
 *   assert.ok(h.every((v) => Math.abs(v) < 1));
 * }
 * ```
 * @module
 */
import { sgemm, THREAD_MIN_FLOPS } from "./blas.ts";
import type { Params } from "./params.ts";
import { fillRows } from "./ops.ts";
import type { Rng } from "../util/random.ts";
import {
  cat,
  type Code,
  emit,
  f32Const,
  funcBody,
  funcType,
  I32,
  i32Const,
  localGet,
  localSet,
  moduleBytes,
  NamedLocals,
  simdOp,
  uleb,
  V128,
} from "./wasm.ts";

/** Gate order of the packed buffers (and of the per-gate parameter names). */
export const LSTM_GATES = ["i", "f", "g", "o"] as const;

/**
 * Initial weights of one cell as `[name, shape, values]`: Glorot-uniform
 * W and U, zero biases except the forget gate's (1) — the tfjs detector's
 * layout and draw order.
 */
export function lstmLayerSpecs(
  cell: string,
  nIn: number,
  units: number,
  rng: Rng,
): [string, number[], Float32Array][] {
  const glorot = (a: number, b: number) => {
    const lim = Math.sqrt(6 / (a + b)), out = new Float32Array(a * b);
    for (let i = 0; i < out.length; i++) out[i] = (rng.next() * 2 - 1) * lim;
    return out;
  };
  const s: [string, number[], Float32Array][] = [];
  for (const g of LSTM_GATES) {
    s.push([`${cell}.W${g}`, [nIn, units], glorot(nIn, units)]);
    s.push([`${cell}.U${g}`, [units, units], glorot(units, units)]);
    s.push([`${cell}.b${g}`, [units], new Float32Array(units).fill(g === "f" ? 1 : 0)]);
  }
  return s;
}

/** 2^(k/2) for k in [−512, 511], indexed k + 512 (the exponent part of {@link expFast}). */
const POW2H = Float64Array.from({ length: 1024 }, (_, k) => 2 ** ((k - 512) / 2));

/**
 * e^x to 1.1e-9 relative (float32 needs 6e-8) on [−170, 170], clamped
 * outside, where σ and tanh are 0 or ±1 far below float32 precision:
 * x = k·ln2/2 + r with |r| ≤ ln2/4, 2^(k/2) from a table and e^r by its
 * degree-6 Taylor polynomial, evaluated in Estrin's scheme (short dependency
 * chains). Measured here 2.5–3× faster than Math.exp, which dominated the
 * cell's elementwise work.
 */
export function expFast(x: number): number {
  x = x > 170 ? 170 : x < -170 ? -170 : x;
  // k + 512 = round(2x / ln2) + 512 ≥ 0 (x ≥ −170), so `| 0` floors it.
  const k = (x * 2.8853900817779268 + 512.5) | 0;
  const r = x - (k - 512) * 0.34657359027997264;
  const r2 = r * r, r4 = r2 * r2;
  const p = (1 + r) + r2 * (0.5 + r * (1 / 6)) + r4 * ((1 / 24 + r * (1 / 120)) + r2 * (1 / 720));
  return p * POW2H[k];
}

/** σ(v) in float64 (limits exactly 0 and 1 for large |v|). */
function sig(v: number): number {
  return 1 / (1 + expFast(-v));
}

/** tanh(v) = 2σ(2v) − 1 (absolute error ~1e-16, far below float32's). */
function tanh(v: number): number {
  return 2 / (1 + expFast(-2 * v)) - 1;
}

// --- The cell's elementwise step in WebAssembly SIMD -----------------------------------------------
//
// Per element the step needs three sigmoids and two tanh: scalar JS spends most of a training step
// there (a polynomial exp costs 3–5 ns a value, Math.exp 7–20). Four lanes at a time it is a few
// instructions a value. The module is assembled here at load time through the shared encoder in
// ./wasm.ts (no toolchain, no binary blob; src/nn/simd.ts uses the same one) for
// one unit count U (a multiple of 4, so each gate block of a row is whole vectors; other U run the JS
// loops, which compute the same formulas in float64). It works on the layer's own WebAssembly memory,
// where every state buffer lives, so nothing is copied in or out; sgemm reads and writes the same
// memory through views.
//
// exp(x), float32 lanes: x clamped to [−87, 88] (NaN passes), x = n·ln2 + r with ln2 in two parts
// (Cody–Waite), e^r by its degree-7 Taylor polynomial, 2ⁿ built in the exponent bits: a few float32
// ulps.
// σ(z) = 1/(1 + e^−z), tanh(z) = 2/(1 + e^−2z) − 1 (absolute error ~1e-7).

const lset = (i: number, v: Code): Code => cat(v, localSet(i));
const vbin = (o: number) => (a: Code, b: Code): Code => cat(a, b, simdOp(o));
const vadd = vbin(0xe4), vsub = vbin(0xe5), vmul = vbin(0xe6), vdiv = vbin(0xe7);
/** f32x4.pmin / pmax: `b < a ? b : a` / `a < b ? b : a` — one instruction each (min/max propagate NaN at ~4× the cost); a NaN `a` passes through. */
const vpmin = vbin(0xea), vpmax = vbin(0xeb);
/** v128.load / v128.store at local pointer `p` + constant byte offset (alignment hint 4 bytes). */
const vload = (p: number, off: number): Code => cat(localGet(p), simdOp(0x00), 2, uleb(off));
const vstore = (p: number, off: number, v: Code): Code => cat(localGet(p), v, simdOp(0x0b), 2, uleb(off));
/** local p += n (i32). */
const bump = (p: number, n: number): Code => lset(p, cat(localGet(p), i32Const(n), 0x6a));

const EXP_TAYLOR = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];
const VCONST: [string, number][] = [
  ["one", 1],
  ["two", 2],
  ["m2", -2],
  ["lo", -87],
  ["hi", 88],
  ["log2e", Math.LOG2E],
  ["magic", 12582912], // 1.5·2²³
  ["ln2hi", 0.693359375], // n·ln2hi is exact for |n| ≤ 127
  ["ln2lo", -2.12194440e-4],
  ...EXP_TAYLOR.map((c, i) => [`c${i}`, c] as [string, number]),
];

function vexp(L: NamedLocals, x: Code): Code {
  const g = (n: string) => L.get(n);
  let p = g("c7");
  for (let k = 6; k >= 0; k--) p = vadd(vmul(p, g("r")), g(`c${k}`));
  // t = x·log2e + 1.5·2²³ rounds to an integer n in t's low mantissa bits: n = t − 1.5·2²³, and
  // 2ⁿ's bits are (bits(t) − bits(1.5·2²³) + 127) << 23 — no float↔int conversions.
  const pow2 = cat(g("t"), g("bias"), simdOp(0xae), i32Const(23), simdOp(0xab));
  return [
    ...lset(L.at("x"), vpmax(vpmin(x, g("hi")), g("lo"))),
    ...lset(L.at("t"), vadd(vmul(g("x"), g("log2e")), g("magic"))),
    ...lset(L.at("n"), vsub(g("t"), g("magic"))),
    ...lset(L.at("r"), vsub(vsub(g("x"), vmul(g("n"), g("ln2hi"))), vmul(g("n"), g("ln2lo")))),
    ...vmul(p, pow2),
  ];
}

const vsig = (L: NamedLocals, z: Code): Code =>
  vdiv(L.get("one"), vadd(L.get("one"), vexp(L, cat(z, simdOp(0xe1)))));
const vtanh = (L: NamedLocals, z: Code): Code =>
  vsub(vdiv(L.get("two"), vadd(L.get("one"), vexp(L, vmul(z, L.get("m2"))))), L.get("one"));

function vprologue(L: NamedLocals): Code {
  const out: Code = [];
  for (const [name, v] of VCONST) emit(out, lset(L.at(name), cat(f32Const(v), simdOp(0x13))));
  emit(out, lset(L.at("bias"), cat(i32Const(127 - 0x4b400000), simdOp(0x11))));
  return out;
}

/**
 * A function over `rows` rows of U/4 vectors: `np` i32 pointer params, then
 * `rows`; `body` is one vector's work, `ptrs` the pointers advanced 16 bytes
 * a vector, `pa` (if any) also skips the other three gate blocks per row.
 */
function cellFunction(
  np: number,
  U: number,
  ptrs: number[],
  pa: number,
  body: (L: NamedLocals) => Code,
): { type: Code; code: Code } {
  const rows = np, k = np + 1;
  const L = new NamedLocals(np + 2);
  const inner: Code = body(L);
  for (const p of ptrs) emit(inner, bump(p, 16));
  emit(inner, lset(k, cat(localGet(k), i32Const(1), 0x6b)), localGet(k), 0x0d, 0); // k--, br_if inner
  const outer: Code = [
    ...lset(k, i32Const(U / 4)),
    0x03,
    0x40,
    ...inner,
    0x0b,
    ...bump(pa, 3 * U * 4),
    ...lset(rows, cat(localGet(rows), i32Const(1), 0x6b)),
    ...localGet(rows),
    0x0d,
    0,
  ];
  const pro = vprologue(L);
  const expr = cat(pro, 0x02, 0x40, localGet(rows), 0x45, 0x0d, 0, 0x03, 0x40, outer, 0x0b, 0x0b, 0x0b);
  return {
    type: funcType(Array(np + 1).fill(I32), []),
    code: funcBody([[1, I32], [L.size, V128]], expr), // locals: k, then the named v128s
  };
}

/**
 * The module for U units: `f(a, cPrev, c, tc, h, rows)` — one forward step
 * (gate activations in place, then c, tanh c, h) — and `b(a, cPrev, tc, dH,
 * dh, dc, rows)` — one backward step (gate pre-activation gradients in place
 * of the activations, dc carried); pointers are byte offsets into the
 * imported memory `e.m`.
 */
export function lstmCellModuleBytes(U: number): Uint8Array<ArrayBuffer> {
  const Ub = U * 4;
  // forward: pa 0, pcp 1, pc 2, ptc 3, ph 4
  const fwd = cellFunction(5, U, [0, 1, 2, 3, 4], 0, (L) => [
    ...lset(L.at("i"), vsig(L, vload(0, 0))),
    ...lset(L.at("f"), vsig(L, vload(0, Ub))),
    ...lset(L.at("g"), vtanh(L, vload(0, 2 * Ub))),
    ...lset(L.at("o"), vsig(L, vload(0, 3 * Ub))),
    ...vstore(0, 0, L.get("i")),
    ...vstore(0, Ub, L.get("f")),
    ...vstore(0, 2 * Ub, L.get("g")),
    ...vstore(0, 3 * Ub, L.get("o")),
    ...lset(L.at("cv"), vadd(vmul(L.get("f"), vload(1, 0)), vmul(L.get("i"), L.get("g")))),
    ...vstore(2, 0, L.get("cv")),
    ...lset(L.at("tv"), vtanh(L, L.get("cv"))),
    ...vstore(3, 0, L.get("tv")),
    ...vstore(4, 0, vmul(L.get("o"), L.get("tv"))),
  ]);
  // backward: pa 0, pcp 1, ptc 2, pdH 3, pdh 4, pdc 5
  const bwd = cellFunction(6, U, [0, 1, 2, 3, 4, 5], 0, (L) => {
    const g = (n: string) => L.get(n);
    const one = g("one");
    return [
      ...lset(L.at("dh"), vadd(vload(4, 0), vload(3, 0))),
      ...lset(L.at("i"), vload(0, 0)),
      ...lset(L.at("f"), vload(0, Ub)),
      ...lset(L.at("g"), vload(0, 2 * Ub)),
      ...lset(L.at("o"), vload(0, 3 * Ub)),
      ...lset(L.at("tv"), vload(2, 0)),
      ...lset(
        L.at("dc"),
        vadd(vmul(vmul(g("dh"), g("o")), vsub(one, vmul(g("tv"), g("tv")))), vload(5, 0)),
      ),
      ...vstore(5, 0, vmul(g("dc"), g("f"))),
      ...vstore(0, 0, vmul(vmul(g("dc"), g("g")), vmul(g("i"), vsub(one, g("i"))))),
      ...vstore(0, Ub, vmul(vmul(g("dc"), vload(1, 0)), vmul(g("f"), vsub(one, g("f"))))),
      ...vstore(0, 2 * Ub, vmul(vmul(g("dc"), g("i")), vsub(one, vmul(g("g"), g("g"))))),
      ...vstore(0, 3 * Ub, vmul(vmul(g("dh"), g("tv")), vmul(g("o"), vsub(one, g("o"))))),
    ];
  });
  return moduleBytes({
    funcs: [{ name: "f", ...fwd }, { name: "b", ...bwd }],
    importMemory: { module: "e", name: "m", min: 0 },
  });
}

interface CellKernels {
  f: (a: number, cp: number, c: number, tc: number, h: number, rows: number) => void;
  b: (a: number, cp: number, tc: number, dH: number, dh: number, dc: number, rows: number) => void;
}

const cellModules = new Map<number, WebAssembly.Module | null>();

/** Whether the SIMD kernels are allowed: WebAssembly SIMD compiles and `NADIR_SIMD` is not "off". */
function simdWanted(): boolean {
  try {
    return Deno.env.get("NADIR_SIMD") !== "off";
  } catch {
    return true; // no env permission: the default
  }
}

/** The SIMD step kernels for U units over `mem`, or null (U not a multiple of 4, no WebAssembly SIMD). */
function cellKernels(U: number, mem: WebAssembly.Memory): CellKernels | null {
  if (U % 4 !== 0 || U === 0) return null;
  let m = cellModules.get(U);
  if (m === undefined) {
    try {
      m = new WebAssembly.Module(lstmCellModuleBytes(U));
    } catch {
      m = null;
    }
    cellModules.set(U, m);
  }
  if (!m) return null;
  return new WebAssembly.Instance(m, { e: { m: mem } }).exports as unknown as CellKernels;
}

/**
 * `C = op(A)·op(B) + beta·C` (alpha 1) through sgemm, split along m or k so
 * that every call stays below {@link THREAD_MIN_FLOPS} and runs on one
 * OpenBLAS thread. Measured on the 2-core machine this engine is tuned on:
 * the LSTM's largest products (1280 × 128 × 40, 40 × 128 × 1280) take
 * 120–135 µs on one thread, 65–110 µs on two when the other core is idle —
 * and 170–900 µs on two when another process holds it, which made a training
 * step up to 3× slower. One thread costs ~6 % of a step at best and is never
 * hostage to the scheduler.
 */
function gemm(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
): void {
  const flops = 2 * m * n * k;
  if (flops < THREAD_MIN_FLOPS) {
    sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);
  } else if (m >= k) {
    const mc = Math.max(1, Math.floor((THREAD_MIN_FLOPS - 1) / (2 * n * k)));
    for (let m0 = 0; m0 < m; m0 += mc) {
      const a0 = tA ? a.subarray(m0) : a.subarray(m0 * lda);
      sgemm(tA, tB, Math.min(mc, m - m0), n, k, 1, a0, lda, b, ldb, beta, c.subarray(m0 * ldc), ldc);
    }
  } else {
    const kc = Math.max(1, Math.floor((THREAD_MIN_FLOPS - 1) / (2 * m * n)));
    for (let k0 = 0; k0 < k; k0 += kc) {
      const a0 = tA ? a.subarray(k0 * lda) : a.subarray(k0);
      const b0 = tB ? b.subarray(k0) : b.subarray(k0 * ldb);
      sgemm(tA, tB, m, n, Math.min(kc, k - k0), 1, a0, lda, b0, ldb, k0 === 0 ? beta : 1, c, ldc);
    }
  }
}

/** `z = x·W + b` for `rows` rows (x rows × nIn, W nIn × nOut): bias copied in, then the product added. */
function affine(
  x: Float32Array,
  rows: number,
  nIn: number,
  w: Float32Array,
  b: Float32Array,
  nOut: number,
  z: Float32Array,
): void {
  if (rows === 0) return;
  fillRows(z, b.subarray(0, nOut), rows);
  gemm(false, false, rows, nOut, nIn, x, nIn, w, nOut, 1, z, nOut);
}

/** A run of ones for column sums as products (grown on demand, never written otherwise). */
let ones = new Float32Array(0);

function onesOf(n: number): Float32Array {
  if (ones.length < n) ones = new Float32Array(Math.max(n, 2 * ones.length)).fill(1);
  return ones;
}

/**
 * `out (+)= Σ rows m` of a rows × n matrix, as the product 1ᵀ·m (a plain
 * loop over 10⁵ values costs more than the rest of a layer's weight
 * gradients here).
 */
function colSum(m: Float32Array, rows: number, n: number, out: Float32Array, accumulate: boolean): void {
  if (rows === 0) {
    if (!accumulate) out.fill(0, 0, n);
    return;
  }
  gemm(false, false, 1, n, rows, onesOf(rows), rows, m, n, accumulate ? 1 : 0, out, n);
}

/**
 * Gradients of `z = x·W + b` (x rows × nIn, W nIn × nOut) given dz: `dW +=
 * xᵀ·dz`, `db += Σ rows dz`, and `dx = dz·Wᵀ` when `dx` is given — every
 * part a product.
 */
function denseGrads(
  x: Float32Array,
  rows: number,
  nIn: number,
  w: Float32Array,
  nOut: number,
  dz: Float32Array,
  dw: Float32Array,
  db: Float32Array,
  dx?: Float32Array,
): void {
  if (rows === 0) return;
  gemm(true, false, nIn, nOut, rows, x, nIn, dz, nOut, 1, dw, nOut);
  colSum(dz, rows, nOut, db, true);
  if (dx) gemm(false, true, rows, nIn, nOut, dz, nOut, w, nOut, 0, dx, nIn);
}

/** One LSTM cell unrolled over T steps for a batch of B sequences (see the module doc). */
export class LstmLayer {
  readonly nIn: number;
  readonly units: number;
  readonly cell: string;
  readonly #w: Float32Array[];
  readonly #u: Float32Array[];
  readonly #b: Float32Array[];
  readonly #dw: Float32Array[];
  readonly #du: Float32Array[];
  readonly #db: Float32Array[];
  /** Packed weights [nIn, 4U], [U, 4U], [4U] and their gradients. */
  readonly #wp: Float32Array;
  readonly #up: Float32Array;
  readonly #bp: Float32Array;
  readonly #dwp: Float32Array;
  readonly #dup: Float32Array;
  readonly #dbp: Float32Array;
  #cap = 0;
  #capB = 0;
  /** The memory every state buffer below lives in (the SIMD kernels address it). */
  readonly #mem: WebAssembly.Memory;
  readonly #k: CellKernels | null;
  /** Gate activations (T·B) × 4U (overwritten by their pre-activation gradients in backward). */
  #a = new Float32Array(0);
  /** Cell states, tanh of them and hidden states, (T·B) × U each. */
  #c = new Float32Array(0);
  #tc = new Float32Array(0);
  #h = new Float32Array(0);
  /** The loss gradient of the hidden states, (T·B) × U, as the SIMD backward reads it. */
  #dH = new Float32Array(0);
  /** Input projection of the repeated input (B × 4U), backward carries dh, dc and zeros (B × U). */
  #zx = new Float32Array(0);
  #dh = new Float32Array(0);
  #dc = new Float32Array(0);
  #zeros = new Float32Array(0);
  #x: Float32Array = new Float32Array(0);
  #B = 0;
  #T = 0;
  #repeat = false;

  /**
   * The layer over `params`' `<cell>.*` weights. `simd: false` forces the
   * scalar loops (tests compare both); by default the WebAssembly SIMD step
   * runs when U is a multiple of 4 and `NADIR_SIMD` is not "off".
   */
  constructor(params: Params, cell: string, nIn: number, units: number, opts: { simd?: boolean } = {}) {
    this.cell = cell;
    this.nIn = nIn;
    this.units = units;
    this.#mem = new WebAssembly.Memory({ initial: 0 });
    this.#k = (opts.simd ?? simdWanted()) ? cellKernels(units, this.#mem) : null;
    const get = (k: string) => LSTM_GATES.map((g) => params.get(`${cell}.${k}${g}`));
    const grad = (k: string) => LSTM_GATES.map((g) => params.grad(`${cell}.${k}${g}`));
    this.#w = get("W");
    this.#u = get("U");
    this.#b = get("b");
    this.#dw = grad("W");
    this.#du = grad("U");
    this.#db = grad("b");
    for (let q = 0; q < 4; q++) {
      if (this.#w[q].length !== nIn * units || this.#u[q].length !== units * units) {
        throw new Error(`${cell}: gate ${LSTM_GATES[q]} weights do not match nIn ${nIn}, units ${units}`);
      }
    }
    const G = 4 * units;
    this.#wp = new Float32Array(nIn * G);
    this.#up = new Float32Array(units * G);
    this.#bp = new Float32Array(G);
    this.#dwp = new Float32Array(nIn * G);
    this.#dup = new Float32Array(units * G);
    this.#dbp = new Float32Array(G);
  }

  /** Whether the WebAssembly SIMD step kernels run (else the scalar loops). */
  get simd(): boolean {
    return this.#k !== null;
  }

  /** Lays the state buffers out in the layer's memory for T·B ≤ cap rows and B ≤ capB (grows it). */
  #reserve(B: number, T: number): void {
    const U = this.units, G = 4 * U;
    const n = B * T;
    if (n <= this.#cap && B <= this.#capB) return;
    const cap = n > this.#cap ? Math.max(n, Math.min(2 * this.#cap, 1 << 20)) : this.#cap;
    const capB = B > this.#capB ? Math.max(B, 2 * this.#capB) : this.#capB;
    const sizes = [cap * G, cap * U, cap * U, cap * U, cap * U, capB * G, capB * U, capB * U, capB * U];
    const bytes = sizes.reduce((a, b) => a + b, 0) * 4;
    const have = this.#mem.buffer.byteLength;
    if (bytes > have) {
      try {
        this.#mem.grow(Math.ceil((bytes - have) / 65536));
      } catch (e) {
        throw new RangeError(
          `${this.cell}: the LSTM state of ${B} sequences × ${T} steps × ${U} units needs ${
            Math.ceil(bytes / 2 ** 20)
          } MiB, more than one WebAssembly memory holds (${
            (e as Error).message
          }); use a smaller batch, window or units`,
        );
      }
    }
    const buf = this.#mem.buffer;
    let off = 0;
    const [a, c, tc, h, dH, zx, dh, dc, zeros] = sizes.map((len) => {
      const v = new Float32Array(buf, off, len);
      off += len * 4;
      return v;
    });
    zeros.fill(0);
    this.#a = a;
    this.#c = c;
    this.#tc = tc;
    this.#h = h;
    this.#dH = dH;
    this.#zx = zx;
    this.#dh = dh;
    this.#dc = dc;
    this.#zeros = zeros;
    this.#cap = cap;
    this.#capB = capB;
  }

  /** Copies the per-gate weights into the packed buffers (done by every forward). */
  pack(): void {
    const U = this.units, G = 4 * U, nIn = this.nIn;
    for (let q = 0; q < 4; q++) {
      const w = this.#w[q], u = this.#u[q], off = q * U;
      for (let k = 0; k < nIn; k++) this.#wp.set(w.subarray(k * U, k * U + U), k * G + off);
      for (let k = 0; k < U; k++) this.#up.set(u.subarray(k * U, k * U + U), k * G + off);
      this.#bp.set(this.#b[q], off);
    }
  }

  /**
   * Runs T steps over B sequences and returns the hidden states, (T·B) × U
   * step-major (a view into an internal buffer, valid until the next
   * forward). `x` is (T·B) × nIn step-major, or with `repeat` one B × nIn
   * input fed at every step (the decoder's use). Keeps what
   * {@link backward} needs.
   */
  forward(x: Float32Array, B: number, T: number, repeat = false): Float32Array {
    const U = this.units, G = 4 * U, nIn = this.nIn;
    this.#reserve(B, T);
    this.pack();
    this.#x = x;
    this.#B = B;
    this.#T = T;
    this.#repeat = repeat;
    const a = this.#a, c = this.#c, tc = this.#tc, h = this.#h;
    if (B === 0 || T === 0) return h.subarray(0, 0);
    // Input projections (+ bias) of every step: one product.
    if (repeat) {
      affine(x, B, nIn, this.#wp, this.#bp, G, this.#zx);
      const zx = this.#zx.subarray(0, B * G);
      for (let t = 0; t < T; t++) a.set(zx, t * B * G);
    } else {
      affine(x, T * B, nIn, this.#wp, this.#bp, G, a);
    }
    for (let t = 0; t < T; t++) {
      const zo = t * B * G, ho = t * B * U, po = ho - B * U;
      if (t > 0) gemm(false, false, B, G, U, h.subarray(po), U, this.#up, G, 1, a.subarray(zo), G);
      if (this.#k) {
        const cp = t > 0 ? c.byteOffset + po * 4 : this.#zeros.byteOffset;
        this.#k.f(
          a.byteOffset + zo * 4,
          cp,
          c.byteOffset + ho * 4,
          tc.byteOffset + ho * 4,
          h.byteOffset + ho * 4,
          B,
        );
        continue;
      }
      for (let b = 0; b < B; b++) {
        const ro = zo + b * G, so = ho + b * U, sp = po + b * U;
        for (let j = 0; j < U; j++) {
          const ig = sig(a[ro + j]);
          const fg = sig(a[ro + U + j]);
          const gg = tanh(a[ro + 2 * U + j]);
          const og = sig(a[ro + 3 * U + j]);
          a[ro + j] = ig;
          a[ro + U + j] = fg;
          a[ro + 2 * U + j] = gg;
          a[ro + 3 * U + j] = og;
          const cv = t > 0 ? fg * c[sp + j] + ig * gg : ig * gg;
          c[so + j] = cv;
          const tv = tanh(Math.fround(cv));
          tc[so + j] = tv;
          h[so + j] = og * Math.fround(tv);
        }
      }
    }
    return h.subarray(0, T * B * U);
  }

  /** Hidden states of the last {@link forward}, (T·B) × U step-major (a view). */
  hidden(): Float32Array {
    return this.#h.subarray(0, this.#T * this.#B * this.units);
  }

  /**
   * Backward pass of the last {@link forward}: `dH` is the loss gradient with
   * respect to every hidden state ((T·B) × U, or undefined when only the last
   * step feeds the loss), `dhLast` (B × U) an extra gradient on the last
   * step's h. Accumulates into the per-gate parameter gradients and writes
   * the input gradient into `dx` when given ((T·B) × nIn, or B × nIn for a
   * repeated input). Consumes the saved gate activations: call once per
   * forward.
   */
  backward(dH?: Float32Array, dhLast?: Float32Array, dx?: Float32Array): void {
    const U = this.units, G = 4 * U, nIn = this.nIn, B = this.#B, T = this.#T;
    if (B === 0 || T === 0) {
      if (dx) dx.fill(0, 0, (this.#repeat ? B : T * B) * nIn);
      return;
    }
    const a = this.#a, c = this.#c, tc = this.#tc, dh = this.#dh, dc = this.#dc;
    const BU = B * U;
    if (dhLast) dh.set(dhLast.subarray(0, BU));
    else dh.fill(0, 0, BU);
    dc.fill(0, 0, BU);
    const k = this.#k;
    if (k && dH && dH !== this.#dH) this.#dH.set(dH.subarray(0, T * BU));
    for (let t = T - 1; t >= 0; t--) {
      const zo = t * B * G, ho = t * B * U, po = ho - BU;
      if (k) {
        const zero = this.#zeros.byteOffset;
        k.b(
          a.byteOffset + zo * 4,
          t > 0 ? c.byteOffset + po * 4 : zero,
          tc.byteOffset + ho * 4,
          dH ? this.#dH.byteOffset + ho * 4 : zero,
          dh.byteOffset,
          dc.byteOffset,
          B,
        );
      } else {
        this.#backwardStep(t, dH);
      }
      // dh for step t−1: dZ[t] · Upᵀ.
      if (t > 0) gemm(false, true, B, U, G, a.subarray(zo), G, this.#up, G, 0, dh, U);
    }
    this.#weightGrads(dx);
  }

  /** The scalar backward of step t (what the SIMD kernel `b` does). */
  #backwardStep(t: number, dH: Float32Array | undefined): void {
    const U = this.units, G = 4 * U, B = this.#B, BU = B * U;
    const a = this.#a, c = this.#c, tc = this.#tc, dh = this.#dh, dc = this.#dc;
    const zo = t * B * G, ho = t * B * U, po = ho - BU;
    for (let b = 0; b < B; b++) {
      const ro = zo + b * G, so = ho + b * U, sp = po + b * U, bo = b * U;
      for (let j = 0; j < U; j++) {
        const dhv = dH ? dh[bo + j] + dH[so + j] : dh[bo + j];
        const ig = a[ro + j], fg = a[ro + U + j], gg = a[ro + 2 * U + j], og = a[ro + 3 * U + j];
        const tv = tc[so + j];
        const dcv = dhv * og * (1 - tv * tv) + dc[bo + j];
        const cp = t > 0 ? c[sp + j] : 0;
        dc[bo + j] = dcv * fg;
        a[ro + j] = dcv * gg * ig * (1 - ig);
        a[ro + U + j] = dcv * cp * fg * (1 - fg);
        a[ro + 2 * U + j] = dcv * ig * (1 - gg * gg);
        a[ro + 3 * U + j] = dhv * tv * og * (1 - og);
      }
    }
  }

  /** Packed weight gradients from the pre-activation gradients, scattered per gate; the input gradient. */
  #weightGrads(dx: Float32Array | undefined): void {
    const U = this.units, G = 4 * U, nIn = this.nIn, B = this.#B, T = this.#T;
    const h = this.#h;
    const dz = this.#a; // (T·B) × 4U pre-activation gradients
    // Recurrent weights: Σ_t h[t−1]ᵀ · dZ[t] in one product.
    if (T > 1) {
      gemm(true, false, U, G, (T - 1) * B, h, U, dz.subarray(B * G), G, 0, this.#dup, G);
    } else this.#dup.fill(0);
    this.#dwp.fill(0);
    this.#dbp.fill(0);
    if (this.#repeat) {
      // The same input at every step: sum dZ over steps first (dZ as a T × (B·4U) matrix).
      const s = this.#zx;
      colSum(dz, T, B * G, s, false);
      denseGrads(this.#x, B, nIn, this.#wp, G, s, this.#dwp, this.#dbp, dx);
    } else {
      denseGrads(this.#x, T * B, nIn, this.#wp, G, dz, this.#dwp, this.#dbp, dx);
    }
    this.#scatter();
  }

  /** Adds the packed gradients into the per-gate gradient buffers. */
  #scatter(): void {
    const U = this.units, G = 4 * U, nIn = this.nIn;
    const dwp = this.#dwp, dup = this.#dup, dbp = this.#dbp;
    for (let q = 0; q < 4; q++) {
      const dw = this.#dw[q], du = this.#du[q], db = this.#db[q], off = q * U;
      for (let k = 0; k < nIn; k++) {
        const s = k * G + off, d = k * U;
        for (let j = 0; j < U; j++) dw[d + j] += dwp[s + j];
      }
      for (let k = 0; k < U; k++) {
        const s = k * G + off, d = k * U;
        for (let j = 0; j < U; j++) du[d + j] += dup[s + j];
      }
      for (let j = 0; j < U; j++) db[j] += dbp[off + j];
    }
  }
}

/** Which sequence model: encoder-decoder reconstruction, or next-step prediction. */
export type LstmMode = "autoencoder" | "predict";

/**
 * The `lstm` detector's network on the native engine, over parameters
 * `enc.*` (and `dec.*` for the autoencoder) plus `out.W` [U, F] / `out.b` [F].
 *
 * - `autoencoder`: the encoder reads T steps, the decoder is fed the
 *   encoder's last h at every step, and `out` maps each decoder h back to the
 *   F features; the loss is the masked mean over real steps of the per-step
 *   mean squared error.
 * - `predict`: the encoder reads T steps and `out` maps its last h to the
 *   predicted next row; the loss is the mean squared error.
 *
 * Inputs are step-major `(T·B) × F` with padded slots zero; `mask` is B × T
 * (1 for real steps), the layout the detector builds its windows in.
 */
export class LstmSeqModel {
  readonly mode: LstmMode;
  readonly features: number;
  readonly units: number;
  readonly enc: LstmLayer;
  readonly dec: LstmLayer | undefined;
  readonly #ow: Float32Array;
  readonly #ob: Float32Array;
  readonly #dow: Float32Array;
  readonly #dob: Float32Array;
  #cap = 0;
  #capB = 0;
  /** Outputs and their gradients: (T·B) × F (autoencoder) or B × F (predict). */
  #y = new Float32Array(0);
  #dy = new Float32Array(0);
  /** Gradients of the decoder's hidden states ((T·B) × U) and of the code / last h (B × U). */
  #dhs = new Float32Array(0);
  #dz = new Float32Array(0);

  /** The model over `params`; `simd` as in {@link LstmLayer}. */
  constructor(
    params: Params,
    mode: LstmMode,
    features: number,
    units: number,
    opts: { simd?: boolean } = {},
  ) {
    this.mode = mode;
    this.features = features;
    this.units = units;
    this.enc = new LstmLayer(params, "enc", features, units, opts);
    this.dec = mode === "autoencoder" ? new LstmLayer(params, "dec", units, units, opts) : undefined;
    this.#ow = params.get("out.W");
    this.#ob = params.get("out.b");
    this.#dow = params.grad("out.W");
    this.#dob = params.grad("out.b");
    if (this.#ow.length !== units * features || this.#ob.length !== features) {
      throw new Error(`out.W/out.b do not match units ${units}, features ${features}`);
    }
  }

  #reserve(B: number, T: number): void {
    const F = this.features, U = this.units;
    const rows = this.mode === "autoencoder" ? B * T : B;
    if (rows > this.#cap) {
      const cap = Math.max(rows, Math.min(2 * this.#cap, 1 << 20));
      this.#y = new Float32Array(cap * F);
      this.#dy = new Float32Array(cap * F);
      this.#dhs = new Float32Array(this.mode === "autoencoder" ? cap * U : 0);
      this.#cap = cap;
    }
    if (B > this.#capB) {
      this.#capB = Math.max(B, 2 * this.#capB);
      this.#dz = new Float32Array(this.#capB * U);
    }
  }

  /**
   * Forward pass; returns the outputs (a view: (T·B) × F or B × F). With
   * `lastOnly` the autoencoder's output is computed for the last step only
   * (rows (T−1)·B … T·B−1 of the view; the others are stale).
   */
  #forward(x: Float32Array, B: number, T: number, lastOnly = false): Float32Array {
    const F = this.features, U = this.units;
    this.#reserve(B, T);
    const henc = this.enc.forward(x, B, T);
    if (B === 0) return this.#y.subarray(0, 0);
    const last = henc.subarray((T - 1) * B * U, T * B * U);
    if (this.dec) {
      const hdec = this.dec.forward(last, B, T, true);
      if (lastOnly) {
        const o = (T - 1) * B;
        affine(hdec.subarray(o * U), B, U, this.#ow, this.#ob, F, this.#y.subarray(o * F));
      } else affine(hdec, T * B, U, this.#ow, this.#ob, F, this.#y);
      return this.#y.subarray(0, T * B * F);
    }
    affine(last, B, U, this.#ow, this.#ob, F, this.#y);
    return this.#y.subarray(0, B * F);
  }

  /**
   * Per-window errors: for the autoencoder the mean squared error of every
   * step into `out` (B × T, padded steps included: the caller masks), for
   * predict the prediction error of each window against `target` (B × F)
   * into `out` (B). With `lastOnly` the autoencoder computes the last
   * step's errors only (`out[b·T + T − 1]`; the rest of `out` is untouched).
   */
  errors(
    x: Float32Array,
    B: number,
    T: number,
    target: Float32Array | undefined,
    out: Float32Array,
    lastOnly = false,
  ): void {
    const F = this.features;
    const y = this.#forward(x, B, T, lastOnly);
    if (this.dec) {
      for (let t = lastOnly ? T - 1 : 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const o = (t * B + b) * F;
          let s = 0;
          for (let j = 0; j < F; j++) {
            const d = y[o + j] - x[o + j];
            s += d * d;
          }
          out[b * T + t] = s / F;
        }
      }
      return;
    }
    for (let b = 0; b < B; b++) {
      const o = b * F;
      let s = 0;
      for (let j = 0; j < F; j++) {
        const d = y[o + j] - target![o + j];
        s += d * d;
      }
      out[b] = s / F;
    }
  }

  /**
   * Training loss of one batch and its gradients, accumulated into the
   * parameters' gradient buffers (zero them first). Autoencoder: Σ mask ·
   * step error / max(Σ mask, 1); predict: mean squared error against
   * `target` (B × F). With `sums` the autoencoder also reports the masked
   * error sum and the mask count (for means over several chunks).
   */
  lossAndGrad(
    x: Float32Array,
    B: number,
    T: number,
    mask: Float32Array | undefined,
    target: Float32Array | undefined,
    backward = true,
  ): { loss: number; sum: number; count: number } {
    const F = this.features, U = this.units;
    const y = this.#forward(x, B, T);
    const dy = this.#dy;
    if (this.dec) {
      let count = 0;
      for (let i = 0; i < B * T; i++) count += mask![i];
      const k = 2 / (F * Math.max(count, 1));
      let sum = 0;
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const o = (t * B + b) * F, m = mask![b * T + t];
          let s = 0;
          for (let j = 0; j < F; j++) {
            const d = y[o + j] - x[o + j];
            s += d * d;
            dy[o + j] = m * k * d;
          }
          sum += m * (s / F);
        }
      }
      const loss = sum / Math.max(count, 1);
      if (backward && B > 0) {
        const dhs = this.#dhs, dz = this.#dz;
        const hdec = this.dec.hidden();
        denseGrads(hdec, T * B, U, this.#ow, F, dy, this.#dow, this.#dob, dhs);
        this.dec.backward(dhs, undefined, dz);
        this.enc.backward(undefined, dz);
      }
      return { loss, sum, count };
    }
    if (B === 0) return { loss: 0, sum: 0, count: 0 };
    let sum = 0;
    const k = 2 / (B * F);
    for (let i = 0; i < B * F; i++) {
      const d = y[i] - target![i];
      sum += d * d;
      dy[i] = k * d;
    }
    const loss = sum / (B * F);
    if (backward && B > 0) {
      const henc = this.enc.hidden();
      const last = henc.subarray((T - 1) * B * U, T * B * U);
      denseGrads(last, B, U, this.#ow, F, dy, this.#dow, this.#dob, this.#dz);
      this.enc.backward(undefined, this.#dz);
    }
    return { loss, sum: sum / F, count: B };
  }
}
