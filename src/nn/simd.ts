/**
 * Vectorised `exp` and GELU for the native engine, in WebAssembly SIMD.
 *
 * Why: a transformer's elementwise work is mostly exponentials — softmax
 * over attention scores, GELU's sigmoid, the output log-softmax — and
 * measured here `Math.exp` costs 7–20 ns a value, which made them 85 % of
 * flow-lm's native scoring time while every product (sgemm) took the rest.
 * Four lanes at a time with a polynomial exp cost about a nanosecond.
 *
 * The module is assembled at load time from the instruction list below,
 * through the encoder in ./wasm.ts that src/nn/lstm.ts shares (no
 * toolchain, no binary blob): functions over a private 64 KiB-aligned
 * memory, fed in chunks by {@link expInPlace}, {@link geluForward},
 * {@link geluBackward}, the layer norms ({@link layerNormRows},
 * {@link layerNormTrainRows}, {@link layerNormBackRows}) and
 * {@link attentionSoftmax}. Copying a chunk in and out costs about 0.1 ns a
 * float here (measured), far less than the JS loops it replaces. Where
 * WebAssembly SIMD is missing they fall back to plain loops with the same
 * formulas, or return false for the caller's own ({@link simdAvailable}
 * says which).
 *
 * exp(x): x is clamped to [−87, 88] (so 2ⁿ stays a normal float32), split
 * as x = n·ln2 + r with |r| ≤ ln2/2 (ln2 in two parts, Cody–Waite), e^r by
 * its degree-7 Taylor polynomial (truncation error below 6e-9), and 2ⁿ built
 * in the exponent bits. The clamp uses pmin/pmax and the rounding of n a
 * 1.5·2²³ shift, both single x86 instructions where min/max and
 * trunc_sat are sequences in V8: GELU and its gradient ran 1.6× faster
 * (medians of 21, measured), bit for bit the same results. Relative error against `Math.exp` is a few float32
 * ulps; below −87 the result is 1.6e-38 instead of a smaller number or 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expInPlace } from "./simd.ts";
 * const a = new Float32Array([0, 1, -2]);
 * expInPlace(a, 3);
 * assert.ok(Math.abs(a[1] - Math.E) < 1e-6 && a[0] === 1);
 * ```
 * @module
 */
import { GELU_K } from "./ops.ts";
import {
  emit,
  F32,
  f32Const,
  funcBody,
  funcType,
  I32,
  i32Const,
  localGet,
  localSet,
  localTee,
  moduleBytes,
  NamedLocals,
  simdOp,
  uleb,
  V128,
} from "./wasm.ts";

/** Floats per chunk and region of the module's memory. */
const CHUNK = 16384;
/** Widest row {@link layerNormRows} runs in WebAssembly (its g and b live after the three chunk regions). */
const MAX_LN_WIDTH = 4096;
const EXP_LO = -87, EXP_HI = 88;

// --- Instructions the kernels use (the encoder itself is ./wasm.ts, shared with lstm.ts). ---

const I = {
  get: localGet,
  set: localSet,
  i32: i32Const,
  f32: f32Const,
  i32add: [0x6a],
  i32sub: [0x6b],
  load: [...simdOp(0x00), 2, 0], // v128.load align 2^2, offset 0
  store: [...simdOp(0x0b), 2, 0],
  i32x4splat: simdOp(0x11),
  f32x4splat: simdOp(0x13),
  nearest: simdOp(0x6a),
  shl: simdOp(0xab),
  iadd: simdOp(0xae),
  add: simdOp(0xe4),
  sub: simdOp(0xe5),
  mul: simdOp(0xe6),
  div: simdOp(0xe7),
  min: simdOp(0xe8),
  max: simdOp(0xe9),
  // Pseudo-min/max (b < a ? b : a, a < b ? b : a): one minps/maxps on x86, where min/max's
  // NaN and ±0 rules cost V8 a sequence of instructions. A NaN in a still comes out as NaN.
  pmin: simdOp(0xea),
  pmax: simdOp(0xeb),
  truncSat: simdOp(0xf8),
  extract: (lane: number) => [...simdOp(0x1f), lane],
  tee: localTee,
  fadd: [0x92],
  fmul: [0x94],
  fdiv: [0x95],
  fsqrt: [0x91],
  f32load: [0x2a, 2, 0], // f32.load align 2^2, offset 0
  f32store: [0x38, 2, 0],
  f32loadAt4: [0x2a, 2, 4], // offset 4
  f32storeAt4: [0x38, 2, 4],
  i32eqz: [0x45],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  i32x4: (a: number, b: number, c: number, d: number) => {
    const bytes = new Uint8Array(16);
    new Int32Array(bytes.buffer).set([a, b, c, d]);
    return [...simdOp(0x0c), ...bytes];
  },
  geS: simdOp(0x3f), // i32x4.ge_s
  leS: simdOp(0x3d), // i32x4.le_s
  and: simdOp(0x4e), // v128.and
  bitselect: simdOp(0x52),
  fmax: [0x97],
  i32gtS: [0x4a],
  i32ltS: [0x48],
  i32eq: [0x46],
  select: [0x1b],
  ifVoid: [0x04, 0x40],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
};

const TAYLOR = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];
const CONSTS: [string, number][] = [
  ["lo", EXP_LO],
  ["hi", EXP_HI],
  ["magic", 12582912], // 1.5·2²³
  ["log2e", Math.LOG2E],
  ["ln2hi", 0.693359375], // ln 2 = ln2hi + ln2lo; n·ln2hi is exact for |n| ≤ 127
  ["ln2lo", -2.12194440e-4],
  ["k", GELU_K],
  ["negk", -GELU_K],
  ...TAYLOR.map((c, i) => [`c${i}`, c] as [string, number]),
];

/** Loads every constant into its v128 local (once per call, outside the loop). */
function prologue(L: NamedLocals): number[] {
  const out: number[] = [];
  for (const [name, v] of CONSTS) emit(out, I.f32(v), I.f32x4splat, I.set(L.at(name)));
  // 127 less the bits of 1.5·2²³ (see expOp): added to nb's bits it leaves n + 127.
  emit(out, I.i32(127 - 0x4b400000), I.i32x4splat, I.set(L.at("bias")));
  return out;
}

/** exp of the v128 on the stack, leaving the result on the stack. */
function expOp(L: NamedLocals): number[] {
  const g = (n: string) => I.get(L.at(n));
  const out = [
    ...I.set(L.at("x")),
    ...g("x"),
    ...g("lo"),
    ...I.pmax,
    ...g("hi"),
    ...I.pmin,
    ...I.set(L.at("x")),
    // n = x·log2e rounded to the nearest integer (ties to even), by adding 1.5·2²³: the sum's
    // low mantissa bits are n as an integer, so the same bits give 2ⁿ below without a
    // float → int conversion (V8 expands i32x4.trunc_sat_f32x4_s into a sequence on x86).
    ...g("x"),
    ...g("log2e"),
    ...I.mul,
    ...g("magic"),
    ...I.add,
    ...I.tee(L.at("nb")),
    ...g("magic"),
    ...I.sub,
    ...I.set(L.at("n")),
    ...g("x"),
    ...g("n"),
    ...g("ln2hi"),
    ...I.mul,
    ...I.sub,
    ...g("n"),
    ...g("ln2lo"),
    ...I.mul,
    ...I.sub,
    ...I.set(L.at("r")),
    ...g("c7"),
  ];
  for (let k = 6; k >= 0; k--) emit(out, g("r"), I.mul, g(`c${k}`), I.add);
  // 2ⁿ from the exponent bits: (n + 127) << 23, n being the integer bits of nb − 1.5·2²³.
  emit(out, g("nb"), g("bias"), I.iadd, I.i32(23), I.shl, I.mul);
  return out;
}

/**
 * One kernel: `nIn` input pointers and one output pointer (byte offsets),
 * then `extraOuts` more output pointers, then a count of v128 vectors;
 * `body` maps the loaded inputs (in locals in0…) to the value stored at the
 * output (it may store at the extra outputs, whose parameter indices it is
 * given, itself).
 */
function kernel(
  nIn: number,
  body: (L: NamedLocals, extra: number[]) => number[],
  extraOuts = 0,
): { type: number[]; code: number[] } {
  const params = nIn + 2 + extraOuts; // inputs…, out, extra outputs…, count
  const L = new NamedLocals(params);
  const out = nIn, cnt = nIn + 1 + extraOuts;
  const extra = Array.from({ length: extraOuts }, (_, i) => nIn + 1 + i);
  const loopBody: number[] = [...I.get(out)];
  for (let i = 0; i < nIn; i++) emit(loopBody, I.get(i), I.load, I.set(L.at(`in${i}`)));
  emit(loopBody, body(L, extra), I.store);
  for (const p of [...Array(nIn).keys(), out, ...extra]) {
    emit(loopBody, I.get(p), I.i32(16), I.i32add, I.set(p));
  }
  emit(loopBody, I.get(cnt), I.i32(1), I.i32sub, I.set(cnt), I.get(cnt), 0x0d, 0); // br_if loop
  const pro = prologue(L);
  const expr = [
    ...pro,
    0x02,
    0x40, // block
    ...I.get(cnt),
    0x45, // i32.eqz
    0x0d,
    0, // br_if block
    0x03,
    0x40, // loop
    ...loopBody,
    0x0b,
    0x0b,
    0x0b,
  ];
  return {
    type: funcType(Array(params).fill(I32), []),
    code: funcBody([[L.size, V128]], expr), // one group of v128 locals
  };
}

/**
 * Layer norm of `rows` rows of `4·d4` floats for inference:
 * `ln(x, add, y, g, b, rows, d4, eps)` writes `y = (x − mean)/√(var + eps)·g + b`;
 * with `withAdd` it first does `x += add` (stored back). Two passes for the
 * moments (mean, then Σ(x − mean)², in float32 lanes), a third for `y`.
 */
function layerNormKernel(withAdd: boolean, keep = false): { type: number[]; code: number[] } {
  const [X, ADD, Y, G, B, ROWS, D4, EPS] = [0, 1, 2, 3, 4, 5, 6, 7]; // EPS is an f32 parameter
  const [XH, RSP] = [8, 9]; // keep: xhat and rstd pointers (parameters after eps)
  const l0 = keep ? 10 : 8;
  const [C, XP, AP, YP, GP, BP, HP] = [0, 1, 2, 3, 4, 5, 6].map((i) => l0 + i); // i32 locals
  const [MEAN, RS, DINV] = [7, 8, 9].map((i) => l0 + i); // f32 locals
  const [ACC, T, MEANV, RSV] = [10, 11, 12, 13].map((i) => l0 + i); // v128 locals
  const hsum = [
    ...I.get(ACC),
    ...I.extract(0),
    ...I.get(ACC),
    ...I.extract(1),
    ...I.fadd,
    ...I.get(ACC),
    ...I.extract(2),
    ...I.fadd,
    ...I.get(ACC),
    ...I.extract(3),
    ...I.fadd,
  ];
  const zeroAcc = [...I.f32(0), ...I.f32x4splat, ...I.set(ACC)];
  const step = (p: number) => [...I.get(p), ...I.i32(16), ...I.i32add, ...I.set(p)];
  const countdown = [...I.get(C), ...I.i32(1), ...I.i32sub, ...I.tee(C), ...I.brIf(0)];
  const pass1 = [
    ...zeroAcc,
    ...I.get(D4),
    ...I.set(C),
    ...I.get(X),
    ...I.set(XP),
    ...I.get(ADD),
    ...I.set(AP),
    ...I.loop,
    ...(withAdd
      ? [
        ...I.get(XP),
        ...I.get(XP),
        ...I.load,
        ...I.get(AP),
        ...I.load,
        ...I.add,
        ...I.tee(T),
        ...I.store,
        ...step(AP),
      ]
      : [...I.get(XP), ...I.load, ...I.set(T)]),
    ...I.get(ACC),
    ...I.get(T),
    ...I.add,
    ...I.set(ACC),
    ...step(XP),
    ...countdown,
    ...I.end,
    ...hsum,
    ...I.get(DINV),
    ...I.fmul,
    ...I.tee(MEAN),
    ...I.f32x4splat,
    ...I.set(MEANV),
  ];
  const pass2 = [
    ...zeroAcc,
    ...I.get(D4),
    ...I.set(C),
    ...I.get(X),
    ...I.set(XP),
    ...I.loop,
    ...I.get(XP),
    ...I.load,
    ...I.get(MEANV),
    ...I.sub,
    ...I.tee(T),
    ...I.get(T),
    ...I.mul,
    ...I.get(ACC),
    ...I.add,
    ...I.set(ACC),
    ...step(XP),
    ...countdown,
    ...I.end,
    ...I.f32(1),
    ...hsum,
    ...I.get(DINV),
    ...I.fmul,
    ...I.get(EPS),
    ...I.fadd,
    ...I.fsqrt,
    ...I.fdiv,
    ...I.tee(RS),
    ...I.f32x4splat,
    ...I.set(RSV),
  ];
  // keep: xhat = (x − mean)·rstd is stored, then y = xhat·g + b; rstd goes to its own array.
  const normed = keep ? [...I.get(HP), ...I.get(T), ...I.store, ...step(HP), ...I.get(T)] : [...I.get(T)];
  const pass3 = [
    ...I.get(D4),
    ...I.set(C),
    ...I.get(X),
    ...I.set(XP),
    ...I.get(G),
    ...I.set(GP),
    ...I.get(B),
    ...I.set(BP),
    ...I.loop,
    ...I.get(YP),
    ...I.get(XP),
    ...I.load,
    ...I.get(MEANV),
    ...I.sub,
    ...I.get(RSV),
    ...I.mul,
    ...I.set(T),
    ...normed,
    ...I.get(GP),
    ...I.load,
    ...I.mul,
    ...I.get(BP),
    ...I.load,
    ...I.add,
    ...I.store,
    ...step(XP),
    ...step(YP),
    ...step(GP),
    ...step(BP),
    ...countdown,
    ...I.end,
    ...(keep
      ? [...I.get(RSP), ...I.get(RS), ...I.f32store, ...I.get(RSP), ...I.i32(4), ...I.i32add, ...I.set(RSP)]
      : []),
  ];
  const expr = [
    // dInv = 1 / (4·d4)
    ...I.f32(1),
    ...I.get(D4),
    0xb2, // f32.convert_i32_s
    ...I.f32(4),
    ...I.fmul,
    ...I.fdiv,
    ...I.set(DINV),
    ...I.get(Y),
    ...I.set(YP),
    ...(keep ? [...I.get(XH), ...I.set(HP)] : []),
    ...I.block,
    ...I.get(ROWS),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.get(D4),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.loop,
    ...pass1,
    ...pass2,
    ...pass3,
    // next row: x (and add) advance by one row; y already did in pass 3
    ...I.get(XP),
    ...I.set(X),
    ...(withAdd ? [...I.get(AP), ...I.set(ADD)] : []),
    ...I.get(ROWS),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(ROWS),
    ...I.brIf(0),
    ...I.end,
    ...I.end,
    ...I.end,
  ];
  return {
    type: funcType(
      keep ? [I32, I32, I32, I32, I32, I32, I32, F32, I32, I32] : [I32, I32, I32, I32, I32, I32, I32, F32],
      [],
    ),
    code: funcBody([[7, I32], [3, F32], [4, V128]], expr),
  };
}

/**
 * Layer norm's backward over `rows` rows of `4·d4` floats:
 * `lnBack(dy, xhat, rstd, g, dx, dg, db, rows, d4)` accumulates
 * `dg += dy ⊙ xhat` and `db += dy` (float32, row after row, as the JS loop
 * does) and writes — with `accumulate`, adds to — `dx = rstd/d · (d·dy·g −
 * Σ dy·g − xhat · Σ dy·g·xhat)`. Two passes a row: the sums (and dg, db),
 * then dx.
 */
function layerNormBackKernel(accumulate: boolean): { type: number[]; code: number[] } {
  const [DY, XH, RSP, G, DX, DG, DB, ROWS, D4, SUM] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [C, YP, HP, GP, GGP, BGP, SP] = [10, 11, 12, 13, 14, 15, 16]; // i32 locals
  const [DF, S1, S2] = [17, 18, 19]; // f32 locals
  const [S1V, S2V, DYV, HV, DHV, KV, DV, ACC] = [20, 21, 22, 23, 24, 25, 26, 27]; // v128 locals
  const step = (p: number) => [...I.get(p), ...I.i32(16), ...I.i32add, ...I.set(p)];
  const countdown = [...I.get(C), ...I.i32(1), ...I.i32sub, ...I.tee(C), ...I.brIf(0)];
  const hsum = (v: number) => [
    ...I.get(v),
    ...I.extract(0),
    ...I.get(v),
    ...I.extract(1),
    ...I.fadd,
    ...I.get(v),
    ...I.extract(2),
    ...I.fadd,
    ...I.get(v),
    ...I.extract(3),
    ...I.fadd,
  ];
  const pass1 = [
    ...I.f32(0),
    ...I.f32x4splat,
    ...I.tee(S1V),
    ...I.set(S2V),
    ...I.get(D4),
    ...I.set(C),
    ...I.get(DY),
    ...I.set(YP),
    ...I.get(XH),
    ...I.set(HP),
    ...I.get(G),
    ...I.set(GP),
    ...I.get(DG),
    ...I.set(GGP),
    ...I.get(DB),
    ...I.set(BGP),
    ...I.loop,
    ...I.get(YP),
    ...I.load,
    ...I.set(DYV),
    ...I.get(HP),
    ...I.load,
    ...I.set(HV),
    // dg += dy·xhat; db += dy
    ...I.get(GGP),
    ...I.get(GGP),
    ...I.load,
    ...I.get(DYV),
    ...I.get(HV),
    ...I.mul,
    ...I.add,
    ...I.store,
    ...I.get(BGP),
    ...I.get(BGP),
    ...I.load,
    ...I.get(DYV),
    ...I.add,
    ...I.store,
    // dh = dy·g; s1 += dh; s2 += dh·xhat
    ...I.get(DYV),
    ...I.get(GP),
    ...I.load,
    ...I.mul,
    ...I.set(DHV),
    ...I.get(S1V),
    ...I.get(DHV),
    ...I.add,
    ...I.set(S1V),
    ...I.get(S2V),
    ...I.get(DHV),
    ...I.get(HV),
    ...I.mul,
    ...I.add,
    ...I.set(S2V),
    ...step(YP),
    ...step(HP),
    ...step(GP),
    ...step(GGP),
    ...step(BGP),
    ...countdown,
    ...I.end,
    ...hsum(S1V),
    ...I.f32x4splat,
    ...I.set(S1V),
    ...hsum(S2V),
    ...I.f32x4splat,
    ...I.set(S2V),
    // k = rstd / d
    ...I.get(RSP),
    ...I.f32load,
    ...I.get(DF),
    ...I.fdiv,
    ...I.f32x4splat,
    ...I.set(KV),
  ];
  const pass2 = [
    ...I.get(D4),
    ...I.set(C),
    ...I.get(DY),
    ...I.set(YP),
    ...I.get(XH),
    ...I.set(HP),
    ...I.get(G),
    ...I.set(GP),
    ...I.get(SUM),
    ...I.set(SP),
    ...I.loop,
    ...I.get(DX),
    // k · (d·dy·g − s1 − xhat·s2)
    ...I.get(KV),
    ...I.get(DV),
    ...I.get(YP),
    ...I.load,
    ...I.mul,
    ...I.get(GP),
    ...I.load,
    ...I.mul,
    ...I.get(S1V),
    ...I.sub,
    ...I.get(HP),
    ...I.load,
    ...I.get(S2V),
    ...I.mul,
    ...I.sub,
    ...I.mul,
    ...(accumulate ? [...I.get(DX), ...I.load, ...I.add] : []),
    ...I.tee(ACC),
    ...I.store,
    // column sums of dx (the bias gradient of the dense layer it feeds)
    ...I.get(SP),
    ...I.get(SP),
    ...I.load,
    ...I.get(ACC),
    ...I.add,
    ...I.store,
    ...step(YP),
    ...step(HP),
    ...step(GP),
    ...step(DX),
    ...step(SP),
    ...countdown,
    ...I.end,
  ];
  const expr = [
    // d as a float, and its splat
    ...I.get(D4),
    0xb2, // f32.convert_i32_s
    ...I.f32(4),
    ...I.fmul,
    ...I.tee(DF),
    ...I.f32x4splat,
    ...I.set(DV),
    ...I.block,
    ...I.get(ROWS),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.get(D4),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.loop,
    ...pass1,
    ...pass2,
    // next row: dy and xhat move on one row (pass 2 left their pointers there), rstd one float
    ...I.get(YP),
    ...I.set(DY),
    ...I.get(HP),
    ...I.set(XH),
    ...I.get(RSP),
    ...I.i32(4),
    ...I.i32add,
    ...I.set(RSP),
    ...I.get(ROWS),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(ROWS),
    ...I.brIf(0),
    ...I.end,
    ...I.end,
    ...I.end,
  ];
  void S1;
  void S2;
  return {
    type: funcType([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], []),
    code: funcBody([[7, I32], [3, F32], [8, V128]], expr),
  };
}

/**
 * Softmax over attention blocks: `softmax(ptr, blocks, T, tp4, ctx)` treats
 * `blocks · T` rows of `4·tp4` floats (row `i` of each block sees keys
 * `lo … i`, `lo = max(0, i − ctx + 1)` when `ctx` > 0, else 0; every key
 * `0 … T−1` when `ctx` < 0, the bidirectional case) and writes
 * `exp(x − max) / Σ` on the visible keys, exactly 0 elsewhere (padding
 * included). Visibility is a lane mask from the key index, so every pass is
 * whole vectors: max (masked lanes −∞), exp and sum (masked lanes zeroed),
 * scale — over the row's first ⌊i/4⌋ + 1 vectors only when causal (no key
 * past i is visible), then the vectors after them are zeroed. That halves
 * the exponentials, most of the kernel's time.
 */
function softmaxKernel(): { type: number[]; code: number[] } {
  const [PTR, BLOCKS, T, TP4, CTX] = [0, 1, 2, 3, 4];
  const [ROW, C, P, LO, ROWS, J, HV] = [5, 6, 7, 8, 9, 10, 11]; // i32 locals
  const [M, INV] = [12, 13]; // f32 locals
  const L = new NamedLocals(14); // v128 locals
  const v = (n: string) => L.at(n);
  const mask = [
    ...I.get(J),
    ...I.i32x4splat,
    ...I.get(v("iota")),
    ...I.iadd,
    ...I.set(v("jv")),
    ...I.get(v("jv")),
    ...I.get(v("lov")),
    ...I.geS,
    ...I.get(v("jv")),
    ...I.get(v("hiv")),
    ...I.leS,
    ...I.and,
    ...I.set(v("mask")),
  ];
  // Passes run over the row's first HV vectors only: the ones holding keys 0 … i (causal).
  const rowStart = [...I.get(HV), ...I.set(C), ...I.get(PTR), ...I.set(P), ...I.i32(0), ...I.set(J)];
  const advance = [
    ...I.get(P),
    ...I.i32(16),
    ...I.i32add,
    ...I.set(P),
    ...I.get(J),
    ...I.i32(4),
    ...I.i32add,
    ...I.set(J),
    ...I.get(C),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(C),
    ...I.brIf(0),
  ];
  const hfold = (op: number[]) => [
    ...I.get(v("acc")),
    ...I.extract(0),
    ...I.get(v("acc")),
    ...I.extract(1),
    ...op,
    ...I.get(v("acc")),
    ...I.extract(2),
    ...op,
    ...I.get(v("acc")),
    ...I.extract(3),
    ...op,
  ];
  const row = [
    // HV = ⌊i / 4⌋ + 1 vectors hold every visible key (causal), all TP4 of them when ctx < 0 (bidirectional)
    ...I.get(TP4),
    ...I.get(ROW),
    ...I.i32(2),
    0x76, // i32.shr_u
    ...I.i32(1),
    ...I.i32add,
    ...I.get(CTX),
    ...I.i32(0),
    ...I.i32ltS,
    ...I.select,
    ...I.set(HV),
    // lo = ctx > 0 ? max(0, i − ctx + 1) : 0
    ...I.get(ROW),
    ...I.get(CTX),
    ...I.i32sub,
    ...I.i32(1),
    ...I.i32add,
    ...I.set(LO),
    ...I.get(LO),
    ...I.i32(0),
    ...I.get(LO),
    ...I.i32(0),
    ...I.i32gtS,
    ...I.select,
    ...I.i32(0),
    ...I.get(CTX),
    ...I.i32(0),
    ...I.i32gtS,
    ...I.select,
    ...I.i32x4splat,
    ...I.set(v("lov")),
    // hi = ctx < 0 ? T − 1 : i (the last visible key)
    ...I.get(T),
    ...I.i32(1),
    ...I.i32sub,
    ...I.get(ROW),
    ...I.get(CTX),
    ...I.i32(0),
    ...I.i32ltS,
    ...I.select,
    ...I.i32x4splat,
    ...I.set(v("hiv")),
    // pass 1: row max over visible keys
    ...I.get(v("neginf")),
    ...I.set(v("acc")),
    ...rowStart,
    ...I.loop,
    ...mask,
    ...I.get(v("acc")),
    ...I.get(P),
    ...I.load,
    ...I.get(v("neginf")),
    ...I.get(v("mask")),
    ...I.bitselect,
    ...I.pmax,
    ...I.set(v("acc")),
    ...advance,
    ...I.end,
    ...hfold(I.fmax),
    ...I.f32x4splat,
    ...I.set(v("mv")),
    // pass 2: e = exp(x − max) on visible keys, 0 elsewhere; sum
    ...I.f32(0),
    ...I.f32x4splat,
    ...I.set(v("sum")),
    ...rowStart,
    ...I.loop,
    ...mask,
    ...I.get(P),
    ...I.get(P),
    ...I.load,
    ...I.get(v("mv")),
    ...I.sub,
    ...expOp(L),
    ...I.get(v("mask")),
    ...I.and,
    ...I.tee(v("e")),
    ...I.store,
    ...I.get(v("sum")),
    ...I.get(v("e")),
    ...I.add,
    ...I.set(v("sum")),
    ...advance,
    ...I.end,
    ...I.get(v("sum")),
    ...I.set(v("acc")),
    ...I.f32(1),
    ...hfold(I.fadd),
    ...I.fdiv,
    ...I.f32x4splat,
    ...I.set(v("invv")),
    // pass 3: scale
    ...rowStart,
    ...I.loop,
    ...I.get(P),
    ...I.get(P),
    ...I.load,
    ...I.get(v("invv")),
    ...I.mul,
    ...I.store,
    ...advance,
    ...I.end,
    // pass 4: the vectors past the diagonal (all keys masked) become 0
    ...I.get(TP4),
    ...I.get(HV),
    ...I.i32sub,
    ...I.set(C),
    ...I.block,
    ...I.get(C),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.loop,
    ...I.get(P),
    ...I.get(v("zero")),
    ...I.store,
    ...I.get(P),
    ...I.i32(16),
    ...I.i32add,
    ...I.set(P),
    ...I.get(C),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(C),
    ...I.brIf(0),
    ...I.end,
    ...I.end,
    // next row: ptr moves one row on; i wraps at T
    ...I.get(P),
    ...I.set(PTR),
    ...I.get(ROW),
    ...I.i32(1),
    ...I.i32add,
    ...I.tee(ROW),
    ...I.get(T),
    ...I.i32eq,
    ...I.ifVoid,
    ...I.i32(0),
    ...I.set(ROW),
    ...I.end,
    ...I.get(ROWS),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(ROWS),
    ...I.brIf(0),
  ];
  const pro = prologue(L);
  const expr = [
    ...pro,
    ...I.i32x4(0, 1, 2, 3),
    ...I.set(v("iota")),
    ...I.f32(0),
    ...I.f32x4splat,
    ...I.set(v("zero")),
    ...I.f32(-Infinity),
    ...I.f32x4splat,
    ...I.set(v("neginf")),
    ...I.get(BLOCKS),
    ...I.get(T),
    0x6c, // i32.mul
    ...I.set(ROWS),
    ...I.i32(0),
    ...I.set(ROW),
    ...I.block,
    ...I.get(ROWS),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.get(TP4),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.loop,
    ...row,
    ...I.end,
    ...I.end,
    ...I.end,
  ];
  void M;
  void INV;
  return {
    type: funcType([I32, I32, I32, I32, I32], []),
    code: funcBody([[7, I32], [2, F32], [L.size, V128]], expr),
  };
}

/**
 * Backward of the attention softmax over attention blocks:
 * `softmaxBack(p, ds, blocks, T, tp4, scale, full)` treats `blocks · T` rows of
 * `4·tp4` floats; `ds` holds dP = ∂loss/∂P and becomes
 * `dS = P ⊙ (dP − Σ_j dP ⊙ P) · scale` on the row's first ⌊i/4⌋ + 1
 * vectors (every vector when `full` ≠ 0: bidirectional attention; masked
 * keys have P = 0, so their dS is 0), exactly 0 after them. Two passes a
 * row (the dot, then dS) and a zero fill.
 */
function softmaxBackKernel(): { type: number[]; code: number[] } {
  const [PP, DSP, BLOCKS, T, TP4, SCALE, FULL] = [0, 1, 2, 3, 4, 5, 6]; // SCALE is f32
  const [ROW, C, P, D, ROWS, HV] = [7, 8, 9, 10, 11, 12]; // i32 locals
  const [ACC, DOTV, SCALEV, ZERO] = [13, 14, 15, 16]; // v128 locals
  const adv = (a: number, b: number) => [
    ...I.get(a),
    ...I.i32(16),
    ...I.i32add,
    ...I.set(a),
    ...I.get(b),
    ...I.i32(16),
    ...I.i32add,
    ...I.set(b),
  ];
  const countdown = [...I.get(C), ...I.i32(1), ...I.i32sub, ...I.tee(C), ...I.brIf(0)];
  const start = [...I.get(HV), ...I.set(C), ...I.get(PP), ...I.set(P), ...I.get(DSP), ...I.set(D)];
  const row = [
    // HV = ⌊i / 4⌋ + 1 (causal), or every vector of the row when FULL (bidirectional)
    ...I.get(TP4),
    ...I.get(ROW),
    ...I.i32(2),
    0x76, // i32.shr_u
    ...I.i32(1),
    ...I.i32add,
    ...I.get(FULL),
    ...I.select,
    ...I.set(HV),
    // pass 1: acc = Σ dP ⊙ P
    ...I.get(ZERO),
    ...I.set(ACC),
    ...start,
    ...I.loop,
    ...I.get(ACC),
    ...I.get(D),
    ...I.load,
    ...I.get(P),
    ...I.load,
    ...I.mul,
    ...I.add,
    ...I.set(ACC),
    ...adv(P, D),
    ...countdown,
    ...I.end,
    ...I.get(ACC),
    ...I.extract(0),
    ...I.get(ACC),
    ...I.extract(1),
    ...I.fadd,
    ...I.get(ACC),
    ...I.extract(2),
    ...I.fadd,
    ...I.get(ACC),
    ...I.extract(3),
    ...I.fadd,
    ...I.f32x4splat,
    ...I.set(DOTV),
    // pass 2: dS = P ⊙ (dP − dot) · scale
    ...start,
    ...I.loop,
    ...I.get(D),
    ...I.get(P),
    ...I.load,
    ...I.get(D),
    ...I.load,
    ...I.get(DOTV),
    ...I.sub,
    ...I.mul,
    ...I.get(SCALEV),
    ...I.mul,
    ...I.store,
    ...adv(P, D),
    ...countdown,
    ...I.end,
    // pass 3: zero past the diagonal's vector
    ...I.get(TP4),
    ...I.get(HV),
    ...I.i32sub,
    ...I.set(C),
    ...I.block,
    ...I.get(C),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.loop,
    ...I.get(D),
    ...I.get(ZERO),
    ...I.store,
    ...adv(P, D),
    ...countdown,
    ...I.end,
    ...I.end,
    // next row
    ...I.get(P),
    ...I.set(PP),
    ...I.get(D),
    ...I.set(DSP),
    ...I.get(ROW),
    ...I.i32(1),
    ...I.i32add,
    ...I.tee(ROW),
    ...I.get(T),
    ...I.i32eq,
    ...I.ifVoid,
    ...I.i32(0),
    ...I.set(ROW),
    ...I.end,
    ...I.get(ROWS),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(ROWS),
    ...I.brIf(0),
  ];
  const expr = [
    ...I.f32(0),
    ...I.f32x4splat,
    ...I.set(ZERO),
    ...I.get(SCALE),
    ...I.f32x4splat,
    ...I.set(SCALEV),
    ...I.get(BLOCKS),
    ...I.get(T),
    0x6c, // i32.mul
    ...I.set(ROWS),
    ...I.i32(0),
    ...I.set(ROW),
    ...I.block,
    ...I.get(ROWS),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.get(TP4),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.loop,
    ...row,
    ...I.end,
    ...I.end,
    ...I.end,
  ];
  return {
    type: funcType([I32, I32, I32, I32, I32, F32, I32], []),
    code: funcBody([[6, I32], [4, V128]], expr),
  };
}

/**
 * Embedding rows: `embed(tab, pos, ids, out, rows, t0, T, d4)` writes row r
 * of `out` as `tab[ids[r]] + pos[(t0 + r) mod T]` (rows of `4·d4` floats;
 * ids are i32 at `ids`); with `back`, `embedBack(dTab, dPos, ids, dOut, …)`
 * instead adds row r of dOut into `dTab[ids[r]]` and `dPos[(t0 + r) mod T]`,
 * rows in order (the same float32 sums as the JS loop).
 */
function embedKernel(back: boolean): { type: number[]; code: number[] } {
  const [TAB, POS, IDS, OUT, ROWS, T0, T, D4] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [C, SP, PP, RB] = [8, 9, 10, 11]; // i32 locals: count, table row, position row, row bytes
  const [V] = [12]; // v128 local
  const step = (p: number) => [...I.get(p), ...I.i32(16), ...I.i32add, ...I.set(p)];
  const inner = back
    ? [
      ...I.get(OUT),
      ...I.load,
      ...I.set(V),
      ...I.get(SP),
      ...I.get(SP),
      ...I.load,
      ...I.get(V),
      ...I.add,
      ...I.store,
      ...I.get(PP),
      ...I.get(PP),
      ...I.load,
      ...I.get(V),
      ...I.add,
      ...I.store,
    ]
    : [...I.get(OUT), ...I.get(SP), ...I.load, ...I.get(PP), ...I.load, ...I.add, ...I.store];
  const row = [
    // table row = tab + ids[r]·rowBytes; position row = pos + t·rowBytes
    ...I.get(TAB),
    ...I.get(IDS),
    0x28,
    2,
    0, // i32.load
    ...I.get(RB),
    0x6c, // i32.mul
    ...I.i32add,
    ...I.set(SP),
    ...I.get(POS),
    ...I.get(T0),
    ...I.get(RB),
    0x6c,
    ...I.i32add,
    ...I.set(PP),
    ...I.get(D4),
    ...I.set(C),
    ...I.loop,
    ...inner,
    ...step(OUT),
    ...step(SP),
    ...step(PP),
    ...I.get(C),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(C),
    ...I.brIf(0),
    ...I.end,
    // next row: ids + 4; t + 1, wrapping at T
    ...I.get(IDS),
    ...I.i32(4),
    ...I.i32add,
    ...I.set(IDS),
    ...I.get(T0),
    ...I.i32(1),
    ...I.i32add,
    ...I.tee(T0),
    ...I.get(T),
    ...I.i32eq,
    ...I.ifVoid,
    ...I.i32(0),
    ...I.set(T0),
    ...I.end,
    ...I.get(ROWS),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(ROWS),
    ...I.brIf(0),
  ];
  const expr = [
    ...I.get(D4),
    ...I.i32(16),
    0x6c,
    ...I.set(RB),
    ...I.block,
    ...I.get(ROWS),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.get(D4),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.loop,
    ...row,
    ...I.end,
    ...I.end,
    ...I.end,
  ];
  return {
    type: funcType([I32, I32, I32, I32, I32, I32, I32, I32], []),
    code: funcBody([[4, I32], [1, V128]], expr),
  };
}

/**
 * Log-softmax statistics of output rows: `logSoftmax(ptr, rows, k4, V, stats)`
 * treats `rows` rows of `4·k4` floats whose first `V` are logits (the rest
 * padding) and writes per row the max over them and Σ exp(x − max) (two
 * floats at `stats`), leaving exp(x − max) on the first V entries and 0 on
 * the padding; with `keep` the row is then divided by its sum (the
 * probabilities the backward needs).
 */
function logSoftmaxKernel(keep: boolean): { type: number[]; code: number[] } {
  const [PTR, ROWS, K4, VV, STATS] = [0, 1, 2, 3, 4];
  const [C, P, J, Q] = [5, 6, 7, 8]; // i32 locals
  const L = new NamedLocals(9); // v128 locals
  const v = (n: string) => L.at(n);
  const mask = [
    ...I.get(J),
    ...I.i32x4splat,
    ...I.get(v("iota")),
    ...I.iadd,
    ...I.get(v("vlast")),
    ...I.leS,
    ...I.set(v("mask")),
  ];
  const start = [...I.get(K4), ...I.set(C), ...I.get(Q), ...I.set(P), ...I.i32(0), ...I.set(J)];
  const advance = [
    ...I.get(P),
    ...I.i32(16),
    ...I.i32add,
    ...I.set(P),
    ...I.get(J),
    ...I.i32(4),
    ...I.i32add,
    ...I.set(J),
    ...I.get(C),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(C),
    ...I.brIf(0),
  ];
  const fold = (name: string, op: number[]) => [
    ...I.get(v(name)),
    ...I.extract(0),
    ...I.get(v(name)),
    ...I.extract(1),
    ...op,
    ...I.get(v(name)),
    ...I.extract(2),
    ...op,
    ...I.get(v(name)),
    ...I.extract(3),
    ...op,
  ];
  const row = [
    // pass 1: max over the first V entries
    ...I.get(v("neginf")),
    ...I.set(v("acc")),
    ...start,
    ...I.loop,
    ...mask,
    ...I.get(v("acc")),
    ...I.get(P),
    ...I.load,
    ...I.get(v("neginf")),
    ...I.get(v("mask")),
    ...I.bitselect,
    ...I.pmax,
    ...I.set(v("acc")),
    ...advance,
    ...I.end,
    ...I.get(STATS),
    ...fold("acc", I.fmax),
    ...I.f32store,
    ...I.get(STATS),
    ...I.f32load,
    ...I.f32x4splat,
    ...I.set(v("mv")),
    // pass 2: e = exp(x − max) on the first V entries, 0 on the padding; their sum
    ...I.f32(0),
    ...I.f32x4splat,
    ...I.set(v("sum")),
    ...start,
    ...I.loop,
    ...mask,
    ...I.get(P),
    ...I.get(P),
    ...I.load,
    ...I.get(v("mv")),
    ...I.sub,
    ...expOp(L),
    ...I.get(v("mask")),
    ...I.and,
    ...I.tee(v("e")),
    ...I.store,
    ...I.get(v("sum")),
    ...I.get(v("e")),
    ...I.add,
    ...I.set(v("sum")),
    ...advance,
    ...I.end,
    ...I.get(STATS),
    ...fold("sum", I.fadd),
    ...I.f32storeAt4,
    ...(keep
      ? [
        // pass 3: divide by the sum
        ...I.f32(1),
        ...I.get(STATS),
        ...I.f32loadAt4,
        ...I.fdiv,
        ...I.f32x4splat,
        ...I.set(v("inv")),
        ...start,
        ...I.loop,
        ...I.get(P),
        ...I.get(P),
        ...I.load,
        ...I.get(v("inv")),
        ...I.mul,
        ...I.store,
        ...advance,
        ...I.end,
      ]
      : []),
    // next row
    ...I.get(STATS),
    ...I.i32(8),
    ...I.i32add,
    ...I.set(STATS),
    ...I.get(Q),
    ...I.get(K4),
    ...I.i32(16),
    0x6c, // i32.mul
    ...I.i32add,
    ...I.set(Q),
    ...I.get(ROWS),
    ...I.i32(1),
    ...I.i32sub,
    ...I.tee(ROWS),
    ...I.brIf(0),
  ];
  const expr = [
    ...prologue(L),
    ...I.i32x4(0, 1, 2, 3),
    ...I.set(v("iota")),
    ...I.f32(-Infinity),
    ...I.f32x4splat,
    ...I.set(v("neginf")),
    ...I.get(VV),
    ...I.i32(1),
    ...I.i32sub,
    ...I.i32x4splat,
    ...I.set(v("vlast")),
    ...I.get(PTR),
    ...I.set(Q),
    ...I.block,
    ...I.get(ROWS),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.get(K4),
    ...I.i32eqz,
    ...I.brIf(0),
    ...I.loop,
    ...row,
    ...I.end,
    ...I.end,
    ...I.end,
  ];
  return {
    type: funcType([I32, I32, I32, I32, I32], []),
    code: funcBody([[4, I32], [L.size, V128]], expr),
  };
}

/** The module's bytes: exp(in, out, n), gelu(in, out, n), geluGrad(z, dy, out, n); memory "mem". */
export function simdModuleBytes(pages: number): Uint8Array<ArrayBuffer> {
  const exp = kernel(1, (L) => [...I.get(L.at("in0")), ...expOp(L)]);
  // y = z / (1 + exp(−k z))
  const gelu = kernel(1, (L) => [
    ...I.get(L.at("in0")),
    ...I.get(L.at("in0")),
    ...I.get(L.at("negk")),
    ...I.mul,
    ...expOp(L),
    ...I.get(L.at("c0")),
    ...I.add,
    ...I.div,
  ]);
  // s = 1 / (1 + exp(−k z)); dz = dy · (s + k z s (1 − s))
  const geluGrad = kernel(2, (L) => [
    ...I.get(L.at("c0")),
    ...I.get(L.at("in0")),
    ...I.get(L.at("negk")),
    ...I.mul,
    ...expOp(L),
    ...I.get(L.at("c0")),
    ...I.add,
    ...I.div,
    ...I.set(L.at("s")),
    ...I.get(L.at("in1")),
    ...I.get(L.at("s")),
    ...I.get(L.at("k")),
    ...I.get(L.at("in0")),
    ...I.mul,
    ...I.get(L.at("s")),
    ...I.mul,
    ...I.get(L.at("c0")),
    ...I.get(L.at("s")),
    ...I.sub,
    ...I.mul,
    ...I.add,
    ...I.mul,
  ]);
  // Training: y = z · s with s = 1 / (1 + exp(−k z)) also stored (the backward then needs no exp).
  const geluKeep = kernel(1, (L, [sOut]) => [
    ...I.get(L.at("c0")),
    ...I.get(L.at("in0")),
    ...I.get(L.at("negk")),
    ...I.mul,
    ...expOp(L),
    ...I.get(L.at("c0")),
    ...I.add,
    ...I.div,
    ...I.set(L.at("s")),
    ...I.get(sOut),
    ...I.get(L.at("s")),
    ...I.store,
    ...I.get(L.at("in0")),
    ...I.get(L.at("s")),
    ...I.mul,
  ], 1);
  // dz = dy · (s + k z s (1 − s)) from z, the kept s and dy
  const geluGradKept = kernel(3, (L) => [
    ...I.get(L.at("in2")),
    ...I.get(L.at("in1")),
    ...I.get(L.at("k")),
    ...I.get(L.at("in0")),
    ...I.mul,
    ...I.get(L.at("in1")),
    ...I.mul,
    ...I.get(L.at("c0")),
    ...I.get(L.at("in1")),
    ...I.sub,
    ...I.mul,
    ...I.add,
    ...I.mul,
  ]);
  const fns = [
    exp,
    gelu,
    geluGrad,
    layerNormKernel(false),
    layerNormKernel(true),
    softmaxKernel(),
    layerNormKernel(false, true),
    layerNormKernel(true, true),
    layerNormBackKernel(false),
    layerNormBackKernel(true),
    softmaxBackKernel(),
    embedKernel(false),
    embedKernel(true),
    geluKeep,
    geluGradKept,
    logSoftmaxKernel(false),
    logSoftmaxKernel(true),
  ];
  const names = [
    "exp",
    "gelu",
    "geluGrad",
    "ln",
    "addLn",
    "softmax",
    "lnKeep",
    "addLnKeep",
    "lnBack",
    "lnBackAdd",
    "softmaxBack",
    "embed",
    "embedBack",
    "geluKeep",
    "geluGradKept",
    "logSoftmaxStats",
    "logSoftmaxProbs",
  ];
  return moduleBytes({
    funcs: fns.map((f, i) => ({ name: names[i], ...f })),
    memory: { min: pages, export: "mem" },
  });
}

interface Kernels {
  lnKeep: LnKeepKernel;
  addLnKeep: LnKeepKernel;
  lnBack: LnBackKernel;
  lnBackAdd: LnBackKernel;
  softmaxBack: (
    p: number,
    ds: number,
    blocks: number,
    T: number,
    tp4: number,
    scale: number,
    full: number,
  ) => void;
  geluKeep: (src: number, dst: number, sig: number, n: number) => void;
  logSoftmaxStats: LogSoftmaxKernel;
  logSoftmaxProbs: LogSoftmaxKernel;
  geluGradKept: (z: number, sig: number, dy: number, dst: number, n: number) => void;
  embed: EmbedKernel;
  embedBack: EmbedKernel;
  memI32: Int32Array;
  exp: (src: number, dst: number, n: number) => void;
  gelu: (src: number, dst: number, n: number) => void;
  geluGrad: (z: number, dy: number, dst: number, n: number) => void;
  ln: LnKernel;
  addLn: LnKernel;
  softmax: (ptr: number, blocks: number, T: number, tp4: number, ctx: number) => void;
  mem: Float32Array;
}

type LnKernel = (
  x: number,
  add: number,
  y: number,
  g: number,
  b: number,
  rows: number,
  d4: number,
  eps: number,
) => void;

type LnKeepKernel = (
  x: number,
  add: number,
  y: number,
  g: number,
  b: number,
  rows: number,
  d4: number,
  eps: number,
  xhat: number,
  rstd: number,
) => void;

type LogSoftmaxKernel = (ptr: number, rows: number, k4: number, V: number, stats: number) => void;

type EmbedKernel = (
  tab: number,
  pos: number,
  ids: number,
  out: number,
  rows: number,
  t0: number,
  T: number,
  d4: number,
) => void;

type LnBackKernel = (
  dy: number,
  xhat: number,
  rstd: number,
  g: number,
  dx: number,
  dg: number,
  db: number,
  rows: number,
  d4: number,
  sum: number,
) => void;

let kernels: Kernels | null | undefined;

function load(): Kernels | null {
  if (kernels !== undefined) return kernels;
  kernels = null;
  let off = false;
  try {
    off = Deno.env.get("NADIR_SIMD") === "off";
  } catch { /* no env permission: the default */ }
  if (off) return kernels;
  try {
    const pages = Math.ceil((MEM_FLOATS * 4) / 65536);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(simdModuleBytes(pages)));
    const e = inst.exports as unknown as Omit<Kernels, "mem"> & { mem: WebAssembly.Memory };
    kernels = {
      exp: e.exp,
      gelu: e.gelu,
      geluGrad: e.geluGrad,
      ln: e.ln,
      addLn: e.addLn,
      softmax: e.softmax,
      lnKeep: e.lnKeep,
      addLnKeep: e.addLnKeep,
      lnBack: e.lnBack,
      lnBackAdd: e.lnBackAdd,
      softmaxBack: e.softmaxBack,
      geluKeep: e.geluKeep,
      logSoftmaxStats: e.logSoftmaxStats,
      logSoftmaxProbs: e.logSoftmaxProbs,
      geluGradKept: e.geluGradKept,
      embed: e.embed,
      embedBack: e.embedBack,
      mem: new Float32Array(e.mem.buffer),
      memI32: new Int32Array(e.mem.buffer),
    };
  } catch {
    kernels = null; // no WebAssembly SIMD: the loops below do the same maths
  }
  return kernels;
}

/** Whether the WebAssembly SIMD kernels are in use (`NADIR_SIMD=off` turns them off). */
export function simdAvailable(): boolean {
  return load() !== null;
}

function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

const A = 0, B = CHUNK * 4, C = 2 * CHUNK * 4, D = 3 * CHUNK * 4;
/** Float offsets of layer norm's g, b, dg, db (MAX_LN_WIDTH each) and its per-row rstd (CHUNK / 4), after the four chunk regions. */
const GO = 4 * CHUNK, BO = GO + MAX_LN_WIDTH, DGO = BO + MAX_LN_WIDTH, DBO = DGO + MAX_LN_WIDTH;
const RSO = DBO + MAX_LN_WIDTH;
/** Embeddings: the token table, the position table and a chunk's ids (i32), after rstd. */
const TAB_FLOATS = 65536, POS_FLOATS = CHUNK;
const TABO = RSO + CHUNK / 4, POSO = TABO + TAB_FLOATS, IDO = POSO + POS_FLOATS;
/** Column sums of layer norm's dx (MAX_LN_WIDTH floats), after the ids. */
const SUMO = IDO + CHUNK / 4;
/** Log-softmax row statistics (max, sum) of up to CHUNK rows, after the column sums. */
const STATO = SUMO + MAX_LN_WIDTH;
/** Floats of the module's memory. */
const MEM_FLOATS = STATO + 2 * CHUNK;

/** `a[i] = exp(a[i])` for the first `n` values. */
export function expInPlace(a: Float32Array, n: number): void {
  const k = load();
  if (!k) {
    for (let i = 0; i < n; i++) a[i] = Math.exp(Math.max(EXP_LO, Math.min(EXP_HI, a[i])));
    return;
  }
  for (let o = 0; o < n; o += CHUNK) {
    const m = Math.min(CHUNK, n - o);
    k.mem.set(a.subarray(o, o + m), 0);
    k.exp(A, A, (m + 3) >> 2);
    a.set(k.mem.subarray(0, m), o);
  }
}

/**
 * GELU `y = z · σ(1.702 z)` for the first `n` values (`y` may be `z`). With
 * `sig` (training), also writes `σ(1.702 z)` there for {@link geluBackward}:
 * the backward then costs a few multiplies a value instead of another
 * exponential and division (≈ 60 % of GELU's backward time here).
 */
export function geluForward(z: Float32Array, y: Float32Array, n: number, sig?: Float32Array): void {
  const k = load();
  if (!k) {
    for (let i = 0; i < n; i++) {
      const s = sigmoid(GELU_K * z[i]);
      if (sig) sig[i] = s;
      y[i] = z[i] * s;
    }
    return;
  }
  for (let o = 0; o < n; o += CHUNK) {
    const m = Math.min(CHUNK, n - o);
    k.mem.set(z.subarray(o, o + m), 0);
    if (sig) {
      k.geluKeep(A, B, C, (m + 3) >> 2);
      sig.set(k.mem.subarray(2 * CHUNK, 2 * CHUNK + m), o);
    } else k.gelu(A, B, (m + 3) >> 2);
    y.set(k.mem.subarray(CHUNK, CHUNK + m), o);
  }
}

/**
 * GELU's backward: `dz = dy · (s + 1.702 z s (1 − s))`, `s = σ(1.702 z)`
 * (`dz` may be `dy`); `sig`, when given, holds s as {@link geluForward} kept it.
 */
export function geluBackward(
  z: Float32Array,
  dy: Float32Array,
  dz: Float32Array,
  n: number,
  sig?: Float32Array,
): void {
  const k = load();
  if (!k) {
    for (let i = 0; i < n; i++) {
      const s = sig ? sig[i] : sigmoid(GELU_K * z[i]);
      dz[i] = dy[i] * (s + GELU_K * z[i] * s * (1 - s));
    }
    return;
  }
  for (let o = 0; o < n; o += CHUNK) {
    const m = Math.min(CHUNK, n - o);
    k.mem.set(z.subarray(o, o + m), 0);
    if (sig) {
      k.mem.set(sig.subarray(o, o + m), CHUNK);
      k.mem.set(dy.subarray(o, o + m), 2 * CHUNK);
      k.geluGradKept(A, B, C, D, (m + 3) >> 2);
      dz.set(k.mem.subarray(3 * CHUNK, 3 * CHUNK + m), o);
    } else {
      k.mem.set(dy.subarray(o, o + m), CHUNK);
      k.geluGrad(A, B, C, (m + 3) >> 2);
      dz.set(k.mem.subarray(2 * CHUNK, 2 * CHUNK + m), o);
    }
  }
}

/**
 * Inference layer norm of `rows` rows of width `d`: `y = (x − mean)/√(var + eps)·g + b`
 * (biased variance), after `x += add` (stored back) when `add` is given.
 * Returns false — and does nothing — when it cannot run here (no SIMD, or `d`
 * not a multiple of 4 or above {@link MAX_LN_WIDTH}): the caller then runs its
 * own loop. Moments are float32 lanes, two passes (mean, then Σ(x − mean)²).
 */
export function layerNormRows(
  x: Float32Array,
  add: Float32Array | undefined,
  rows: number,
  d: number,
  g: Float32Array,
  b: Float32Array,
  y: Float32Array,
  eps: number,
): boolean {
  const k = load();
  if (!k || d % 4 !== 0 || d > MAX_LN_WIDTH) return false;
  k.mem.set(g.subarray(0, d), GO);
  k.mem.set(b.subarray(0, d), BO);
  const per = Math.max(1, Math.floor(CHUNK / d));
  for (let r = 0; r < rows; r += per) {
    const nr = Math.min(per, rows - r), o = r * d, n = nr * d;
    k.mem.set(x.subarray(o, o + n), 0);
    if (add) k.mem.set(add.subarray(o, o + n), CHUNK);
    (add ? k.addLn : k.ln)(A, B, C, GO * 4, BO * 4, nr, d / 4, eps);
    if (add) x.set(k.mem.subarray(0, n), o);
    y.set(k.mem.subarray(2 * CHUNK, 2 * CHUNK + n), o);
  }
  return true;
}

/**
 * Training layer norm (the forward a backward follows): as
 * {@link layerNormRows}, and also writes the normalised `xhat` (rows × d)
 * and `rstd = 1/√(var + eps)` per row for {@link layerNormBackRows}. Same
 * float32 two-pass moments. Returns false, doing nothing, where
 * {@link layerNormRows} would.
 */
export function layerNormTrainRows(
  x: Float32Array,
  add: Float32Array | undefined,
  rows: number,
  d: number,
  g: Float32Array,
  b: Float32Array,
  y: Float32Array,
  xhat: Float32Array,
  rstd: Float32Array,
  eps: number,
): boolean {
  const k = load();
  if (!k || d % 4 !== 0 || d > MAX_LN_WIDTH) return false;
  k.mem.set(g.subarray(0, d), GO);
  k.mem.set(b.subarray(0, d), BO);
  const per = Math.max(1, Math.floor(CHUNK / d));
  for (let r = 0; r < rows; r += per) {
    const nr = Math.min(per, rows - r), o = r * d, n = nr * d;
    k.mem.set(x.subarray(o, o + n), 0);
    if (add) k.mem.set(add.subarray(o, o + n), CHUNK);
    (add ? k.addLnKeep : k.lnKeep)(A, B, C, GO * 4, BO * 4, nr, d / 4, eps, D, RSO * 4);
    if (add) x.set(k.mem.subarray(0, n), o);
    y.set(k.mem.subarray(2 * CHUNK, 2 * CHUNK + n), o);
    xhat.set(k.mem.subarray(3 * CHUNK, 3 * CHUNK + n), o);
    rstd.set(k.mem.subarray(RSO, RSO + nr), r);
  }
  return true;
}

/**
 * Layer norm's backward in WebAssembly SIMD: given `dy` accumulates `dg +=
 * Σ dy ⊙ xhat`, `db += Σ dy` and writes (with `accumulate`, adds to) `dx =
 * rstd/d · (d·dy·g − Σ dy·g − xhat · Σ dy·g·xhat)` — norm.ts's
 * layerNormBackward in float32 lanes. Returns false, doing nothing, without
 * SIMD or when `d` is not a multiple of 4 (or above MAX_LN_WIDTH).
 */
export function layerNormBackRows(
  dy: Float32Array,
  rows: number,
  d: number,
  g: Float32Array,
  xhat: Float32Array,
  rstd: Float32Array,
  dx: Float32Array,
  dg: Float32Array,
  db: Float32Array,
  accumulate: boolean,
  dxSum?: Float32Array,
): boolean {
  const k = load();
  if (!k || d % 4 !== 0 || d > MAX_LN_WIDTH) return false;
  k.mem.set(g.subarray(0, d), GO);
  k.mem.set(dg.subarray(0, d), DGO);
  k.mem.set(db.subarray(0, d), DBO);
  if (dxSum) k.mem.set(dxSum.subarray(0, d), SUMO);
  else k.mem.fill(0, SUMO, SUMO + d);
  const per = Math.max(1, Math.floor(CHUNK / d));
  for (let r = 0; r < rows; r += per) {
    const nr = Math.min(per, rows - r), o = r * d, n = nr * d;
    k.mem.set(dy.subarray(o, o + n), 0);
    k.mem.set(xhat.subarray(o, o + n), CHUNK);
    k.mem.set(rstd.subarray(r, r + nr), RSO);
    if (accumulate) k.mem.set(dx.subarray(o, o + n), 2 * CHUNK);
    (accumulate ? k.lnBackAdd : k.lnBack)(A, B, RSO * 4, GO * 4, C, DGO * 4, DBO * 4, nr, d / 4, SUMO * 4);
    dx.set(k.mem.subarray(2 * CHUNK, 2 * CHUNK + n), o);
  }
  dg.set(k.mem.subarray(DGO, DGO + d));
  db.set(k.mem.subarray(DBO, DBO + d));
  if (dxSum) dxSum.set(k.mem.subarray(SUMO, SUMO + d));
  return true;
}

/**
 * Softmax of `blocks` attention blocks of `T` rows × `Tp` columns (row
 * stride `Tp`, a multiple of 4 ≥ T) in place. Causal (the default): row `i`
 * keeps keys `lo … i` (`lo = max(0, i − context + 1)` with a window, else
 * 0); bidirectional (`causal` false, `context` unused): every row keeps keys
 * `0 … T−1`. Kept keys become `exp(s − max) / Σ`, every other entry (padding
 * included) exactly 0. Returns false — doing nothing — without SIMD or when
 * one block does not fit the kernel's memory; the caller then runs its own
 * loops.
 */
export function attentionSoftmax(
  p: Float32Array,
  blocks: number,
  T: number,
  Tp: number,
  context: number,
  causal = true,
): boolean {
  const k = load();
  const per = T * Tp;
  if (!k || Tp % 4 !== 0 || Tp < T || per > 3 * CHUNK) return false;
  const group = Math.max(1, Math.floor((3 * CHUNK) / per));
  const ctx = causal ? Math.max(0, context) : -1; // the kernel reads ctx < 0 as bidirectional
  for (let b = 0; b < blocks; b += group) {
    const nb = Math.min(group, blocks - b), o = b * per, n = nb * per;
    k.mem.set(p.subarray(o, o + n), 0);
    k.softmax(A, nb, T, Tp / 4, ctx);
    p.set(k.mem.subarray(0, n), o);
  }
  return true;
}

/**
 * Backward of {@link attentionSoftmax} for `blocks` blocks of `T` rows ×
 * `Tp` columns: `ds` holds dP (the gradient of the weights `p`) and becomes
 * `dS = p ⊙ (dP − Σ_j dP ⊙ p) · scale` row by row — causal: exactly 0 past
 * each row's diagonal vector; both: 0 wherever p is 0 (masked keys, padding;
 * dP must be finite there). The JS loop it replaces cost ≈ 1 ms a flow-lm
 * training step. Returns false — doing nothing — without SIMD or when one
 * block does not fit the kernel's memory.
 */
export function attentionSoftmaxBackward(
  p: Float32Array,
  ds: Float32Array,
  blocks: number,
  T: number,
  Tp: number,
  scale: number,
  causal = true,
): boolean {
  const k = load();
  const per = T * Tp;
  if (!k || Tp % 4 !== 0 || Tp < T || per > 2 * CHUNK) return false;
  const group = Math.max(1, Math.floor((2 * CHUNK) / per));
  for (let b = 0; b < blocks; b += group) {
    const nb = Math.min(group, blocks - b), o = b * per, n = nb * per;
    k.mem.set(p.subarray(o, o + n), 0);
    k.mem.set(ds.subarray(o, o + n), 2 * CHUNK);
    k.softmaxBack(A, C, nb, T, Tp / 4, scale, causal ? 0 : 1);
    ds.set(k.mem.subarray(2 * CHUNK, 2 * CHUNK + n), o);
  }
  return true;
}

/**
 * Embedding lookup in WebAssembly SIMD: `out[b·T + t] = table[ids[b·T + t]]
 * + pos[t]` (ids already checked by the caller). Why: at flow-lm's 5 k rows
 * × 32 the JS loop took ≈ 0.25 ms a step; this copies the table in once per
 * call and runs a vector a cycle or so. Returns false — doing nothing —
 * without SIMD, when `d` is not a multiple of 4 or the tables do not fit
 * the kernel's memory (≤ 64 Ki floats of table, ≤ 16 Ki of positions).
 */
export function embedRows(
  table: Float32Array,
  pos: Float32Array,
  ids: Int32Array,
  B: number,
  T: number,
  d: number,
  out: Float32Array,
): boolean {
  const k = load();
  if (!k || !embedFits(table, T, d)) return false;
  k.mem.set(table, TABO);
  k.mem.set(pos.subarray(0, T * d), POSO);
  embedChunks(k, ids, B * T, T, d, (r, nr) => {
    k.embed(TABO * 4, POSO * 4, IDO * 4, A, nr, r % T, T, d / 4);
    out.set(k.mem.subarray(0, nr * d), r * d);
  });
  return true;
}

/**
 * Backward of {@link embedRows}: adds row r of `dOut` into `dTable[ids[r]]`
 * and `dPos[r mod T]`, rows in order (float32 sums, as the JS loop). Returns
 * false — doing nothing — where {@link embedRows} would.
 */
export function embedBackRows(
  dOut: Float32Array,
  ids: Int32Array,
  B: number,
  T: number,
  d: number,
  dTable: Float32Array,
  dPos: Float32Array,
): boolean {
  const k = load();
  if (!k || !embedFits(dTable, T, d)) return false;
  k.mem.set(dTable, TABO);
  k.mem.set(dPos.subarray(0, T * d), POSO);
  embedChunks(k, ids, B * T, T, d, (r, nr) => {
    k.mem.set(dOut.subarray(r * d, (r + nr) * d), 0);
    k.embedBack(TABO * 4, POSO * 4, IDO * 4, A, nr, r % T, T, d / 4);
  });
  dTable.set(k.mem.subarray(TABO, TABO + dTable.length));
  dPos.set(k.mem.subarray(POSO, POSO + T * d));
  return true;
}

function embedFits(table: Float32Array, T: number, d: number): boolean {
  return d % 4 === 0 && d > 0 && table.length <= TAB_FLOATS && T * d <= POS_FLOATS;
}

/** Runs `f(firstRow, rows)` over chunks of at most CHUNK / d rows, each chunk's ids copied in first. */
function embedChunks(
  k: Kernels,
  ids: Int32Array,
  n: number,
  T: number,
  d: number,
  f: (r: number, nr: number) => void,
): void {
  void T;
  const per = Math.max(1, Math.floor(CHUNK / d));
  for (let r = 0; r < n; r += per) {
    const nr = Math.min(per, n - r);
    k.memI32.set(ids.subarray(r, r + nr), IDO);
    f(r, nr);
  }
}

/**
 * Log-softmax of output rows in WebAssembly SIMD: `rows` rows of `K4`
 * floats (a multiple of 4) whose first `V` are logits. Writes each row's max
 * and Σ exp(x − max) to `stats` (2 floats a row), so −log p(y) = max +
 * log Σ − x_y; with `keep` the rows become the probabilities (0 on the
 * padding), else they are left as they were. The JS loops it replaces (max,
 * shift, sum, scale over every row of every position) were ≈ 5 % of a
 * flow-lm training step. Returns false — doing nothing — without SIMD or
 * when `K4` is not a multiple of 4.
 */
export function logSoftmaxRows(
  lg: Float32Array,
  rows: number,
  K4: number,
  V: number,
  keep: boolean,
  stats: Float32Array,
): boolean {
  const k = load();
  if (!k || K4 % 4 !== 0 || K4 < 4 || !(V >= 1 && V <= K4)) return false;
  const per = Math.floor((4 * CHUNK) / K4);
  for (let r = 0; r < rows; r += per) {
    const nr = Math.min(per, rows - r), o = r * K4, n = nr * K4;
    k.mem.set(lg.subarray(o, o + n), 0);
    (keep ? k.logSoftmaxProbs : k.logSoftmaxStats)(A, nr, K4 / 4, V, STATO * 4);
    if (keep) lg.set(k.mem.subarray(0, n), o);
    stats.set(k.mem.subarray(STATO, STATO + 2 * nr), 2 * r);
  }
  return true;
}
