/**
 * Multi-head self-attention, causal or bidirectional, forward and
 * hand-written backward, for the native engine's transformer
 * (src/nn/transformer.ts).
 *
 * Queries, keys and values are `B · T` rows of width `d` (heads side by
 * side: head `h` is columns `h·hd … h·hd+hd−1`, `hd = d / heads`, the
 * layout of tfjs's `reshape [B, T, H, hd]`; rows may be `stride` apart when
 * q, k and v share one buffer). Each (sequence, head) pair is two
 * small products straight out of those buffers — sgemm with leading
 * dimension `stride` and an offset, no packing — `S = Q Kᵀ / √hd` and `O = P V`,
 * with `P = softmax(S + mask)` in between. Measured here (T 40, hd 16): one
 * strided sgemm call takes about 2 µs, 8× faster than the same product as a
 * JS loop even counting only the causal half, so packing heads into
 * contiguous blocks would only add copies.
 *
 * The mask is flow-lm's: causal, position `i` sees `j ≤ i`, and with a
 * `context` window only `i − j < context`; bidirectional (`causal: false`,
 * the masked-field objective), every position sees every other one. tfjs
 * adds −1e9 to masked scores, whose
 * exponentials are exactly 0 in float32; here masked entries are written as
 * 0, which gives the same probabilities. The softmax runs in WebAssembly
 * SIMD (simd.ts `attentionSoftmax`, with a lane mask for the visible keys; rows
 * are padded to a multiple of 4 floats for it): exponentials and the JS
 * passes around them were most of the forward's time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attentionForward } from "./attention.ts";
 * import { blasAvailable } from "./blas.ts";
 * if (blasAvailable()) {
 *   // One sequence of 2 tokens, one head of width 1: token 0 sees only itself.
 *   const q = new Float32Array([1, 1]), k = new Float32Array([1, 1]), v = new Float32Array([3, 5]);
 *   const p = new Float32Array(8), out = new Float32Array(2); // T × probsStride(T) = 2 × 4
 *   attentionForward(q, k, v, { B: 1, T: 2, d: 1, heads: 1, context: 0 }, p, out);
 *   assert.equal(out[0], 3);
 *   assert.ok(Math.abs(out[1] - 4) < 1e-6); // equal scores: the mean of 3 and 5
 * }
 * ```
 * @module
 */
import { sgemm } from "./blas.ts";
import { attentionSoftmax, attentionSoftmaxBackward } from "./simd.ts";

/** Sizes of one attention call. */
export interface AttentionShape {
  /** Sequences in the batch. */
  B: number;
  /** Tokens per sequence. */
  T: number;
  /** Model width (all heads together). */
  d: number;
  heads: number;
  /** Tokens each position attends to, itself included (0 = all earlier ones; causal only). */
  context: number;
  /** Position `i` sees only `j ≤ i` (default true); false: every position sees all `T` (bidirectional). */
  causal?: boolean;
  /**
   * Row stride of `q`, `k`, `v` and of `dq`, `dk`, `dv` (default `d`): the
   * transformer keeps q, k and v side by side in one `[B·T, 3d]` buffer (one
   * sgemm projects all three) and passes views at column 0, d and 2d with
   * stride 3d. The output and `dOut` are always `d` wide.
   */
  stride?: number;
}

function check(s: AttentionShape): number {
  if (s.heads < 1 || s.d % s.heads !== 0) {
    throw new RangeError(`attention: width ${s.d} must be a positive multiple of heads ${s.heads}`);
  }
  if (s.stride !== undefined && !(s.stride >= s.d)) {
    throw new RangeError(`attention: row stride ${s.stride} is below the width ${s.d}`);
  }
  return s.d / s.heads;
}

/** First key position row `i` may attend to (`context` < 0: bidirectional, every key). */
function firstKey(i: number, context: number): number {
  return context > 0 ? Math.max(0, i - context + 1) : 0;
}

/** Last key position row `i` of `T` may attend to (`context` < 0: bidirectional, every key). */
function lastKey(i: number, T: number, context: number): number {
  return context < 0 ? T - 1 : i;
}

/** The window the softmax loops take: −1 for bidirectional attention, else the shape's `context`. */
function windowOf(s: AttentionShape): number {
  return s.causal === false ? -1 : Math.max(0, s.context);
}

/** Row stride of the attention weights: `T` rounded up to a multiple of 4 (whole SIMD vectors a row). */
export function probsStride(T: number): number {
  return Math.ceil(T / 4) * 4;
}

/** Floats of attention weights one sequence needs: `heads · T · probsStride(T)`. */
export function probsPerSequence(T: number, heads: number): number {
  return heads * T * probsStride(T);
}

/** Softmax of one group's blocks in plain JS (no WebAssembly SIMD): same result as `attentionSoftmax`. */
function softmaxLoops(p: Float32Array, blocks: number, T: number, Tp: number, context: number): void {
  for (let r0 = 0; r0 < blocks * T * Tp; r0 += T * Tp) {
    for (let i = 0; i < T; i++) {
      const r = r0 + i * Tp, lo = firstKey(i, context), hi = lastKey(i, T, context);
      let m = -Infinity;
      for (let j = lo; j <= hi; j++) if (p[r + j] > m) m = p[r + j];
      let sum = 0;
      for (let j = lo; j <= hi; j++) sum += p[r + j] = Math.exp(p[r + j] - m);
      const inv = 1 / sum;
      for (let j = 0; j < Tp; j++) p[r + j] = j >= lo && j <= hi ? p[r + j] * inv : 0;
    }
  }
}

/** Views already made, per underlying buffer and (offset, length, first, step). */
const viewCache = new WeakMap<ArrayBufferLike, Map<string, Float32Array[]>>();

/**
 * `a.subarray(first + i·step)` for `i < count`, made once and cached per
 * buffer. Why: each (sequence, head) pair takes six sgemm calls a training
 * step — 2.5 k calls at flow-lm's batch of 128 — and a fresh `subarray` costs
 * about 0.3 µs here, three of them a call: 2.6 µs a small product with them
 * against 1.6 without (measured, T 39, hd 16), about 2.5 ms a step. The
 * transformer's buffers live as long as the model, so the views are made
 * once per buffer (the cache is weak: it goes with the buffer).
 */
function views(a: Float32Array, first: number, step: number, count: number): Float32Array[] {
  let byBuffer = viewCache.get(a.buffer);
  if (!byBuffer) viewCache.set(a.buffer, byBuffer = new Map());
  const key = `${a.byteOffset}:${a.length}:${first}:${step}`;
  let list = byBuffer.get(key);
  if (!list) byBuffer.set(key, list = []);
  for (let i = list.length; i < count; i++) list.push(a.subarray(first + i * step));
  return list;
}

/**
 * `out = concat_h softmax(Q_h K_hᵀ / √hd + mask) V_h` per sequence.
 * `probs` receives the attention weights, one `T × probsStride(T)` block per
 * (sequence, head) — `B · probsPerSequence(T, heads)` floats, kept for
 * {@link attentionBackward}; for inference a smaller scratch (a multiple of
 * `probsPerSequence` floats) is reused, a group of sequences at a time.
 */
export function attentionForward(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  s: AttentionShape,
  probs: Float32Array,
  out: Float32Array,
): void {
  const hd = check(s);
  const { B, T, d, heads: H } = s;
  const context = windowOf(s), causal = context >= 0;
  const ld = s.stride ?? d;
  const Tp = probsStride(T), TT = T * Tp, per = H * TT;
  // Sequences per group: all of them when probs keeps every weight, else as many as the scratch holds.
  const group = Math.min(B, Math.floor(probs.length / per));
  if (B > 0 && group < 1) {
    throw new RangeError(
      `attention: probs holds ${probs.length} floats, expected at least heads·T·stride = ${per}`,
    );
  }
  const keep = group === B;
  const scale = 1 / Math.sqrt(hd);
  // Per head: views of q, k, v and out at each sequence; per (sequence, head): the weights' block.
  const pv = views(probs, 0, TT, group * H);
  const qv: Float32Array[][] = [],
    kv: Float32Array[][] = [],
    vv: Float32Array[][] = [],
    ov: Float32Array[][] = [];
  for (let h = 0; h < H; h++) {
    qv.push(views(q, h * hd, T * ld, B));
    kv.push(views(k, h * hd, T * ld, B));
    vv.push(views(v, h * hd, T * ld, B));
    ov.push(views(out, h * hd, T * d, B));
  }
  for (let b0 = 0; b0 < B; b0 += group) {
    const nb = Math.min(group, B - b0);
    const base = keep ? b0 * per : 0;
    const first = keep ? b0 * H : 0; // index in pv of sequence b0's first block
    for (let b = b0; b < b0 + nb; b++) {
      for (let h = 0; h < H; h++) {
        const p = pv[first + (b - b0) * H + h];
        sgemm(false, true, T, T, hd, scale, qv[h][b], ld, kv[h][b], ld, 0, p, Tp);
      }
    }
    // Softmax over each row's visible keys, in WebAssembly SIMD when available (simd.ts).
    const blocks = probs.subarray(base, base + nb * per);
    if (!attentionSoftmax(blocks, nb * H, T, Tp, context, causal)) {
      softmaxLoops(blocks, nb * H, T, Tp, context);
    }
    for (let b = b0; b < b0 + nb; b++) {
      for (let h = 0; h < H; h++) {
        const p = pv[first + (b - b0) * H + h];
        sgemm(false, false, T, hd, T, 1, p, Tp, vv[h][b], ld, 0, ov[h][b], d);
      }
    }
  }
}

/** dS from dP in plain JS (no WebAssembly SIMD), for `blocks` blocks with row stride `Tp`: as `attentionSoftmaxBackward`. */
function softmaxBackLoops(
  p: Float32Array,
  ds: Float32Array,
  blocks: number,
  T: number,
  Tp: number,
  context: number,
  scale: number,
): void {
  for (let r0 = 0; r0 < blocks * T * Tp; r0 += T * Tp) {
    for (let i = 0; i < T; i++) {
      const r = r0 + i * Tp, lo = firstKey(i, context), hi = lastKey(i, T, context);
      let dot = 0;
      for (let j = lo; j <= hi; j++) dot += ds[r + j] * p[r + j];
      for (let j = 0; j < lo; j++) ds[r + j] = 0;
      for (let j = lo; j <= hi; j++) ds[r + j] = p[r + j] * (ds[r + j] - dot) * scale;
      for (let j = hi + 1; j < Tp; j++) ds[r + j] = 0;
    }
  }
}

/**
 * Backward of {@link attentionForward} (which must have kept `probs`):
 * given `dOut` writes `dq`, `dk`, `dv` (each `B · T` rows of width `d`, at
 * row stride `stride`). `scratch` holds at least `T · probsStride(T)`
 * floats, zeroed when first used (one block of dP / dS; a multiple of that
 * lets the softmax backward run on as many blocks per WebAssembly call —
 * the transformer gives it 64).
 *
 * Per group of (sequence, head) blocks: dV = Pᵀ dO and dP = dO Vᵀ by
 * sgemm, then dS = P ⊙ (dP − Σ dP ⊙ P) / √hd for the whole group in
 * WebAssembly SIMD (`attentionSoftmaxBackward`), then dQ = dS K and dK = dSᵀ Q.
 */
export function attentionBackward(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  probs: Float32Array,
  dOut: Float32Array,
  s: AttentionShape,
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  scratch: Float32Array,
): void {
  const hd = check(s);
  const { B, T, d, heads: H } = s;
  const context = windowOf(s), causal = context >= 0;
  const ld = s.stride ?? d;
  const Tp = probsStride(T), TT = T * Tp, n = B * H;
  if (probs.length < n * TT) {
    throw new RangeError(`attention backward: probs holds ${probs.length} floats, expected ${n * TT}`);
  }
  const group = Math.min(n, Math.floor(scratch.length / TT));
  if (n > 0 && group < 1) {
    throw new RangeError(
      `attention backward: scratch holds ${scratch.length} floats, expected at least ${TT}`,
    );
  }
  const scale = 1 / Math.sqrt(hd);
  const pv = views(probs, 0, TT, n), dsv = views(scratch, 0, TT, group);
  const at = (a: Float32Array, h: number, rowStride: number) => views(a, h * hd, T * rowStride, B);
  const qv: Float32Array[][] = [], kv: Float32Array[][] = [], vv: Float32Array[][] = [];
  const dOv: Float32Array[][] = [], dqv: Float32Array[][] = [], dkv: Float32Array[][] = [];
  const dvv: Float32Array[][] = [];
  for (let h = 0; h < H; h++) {
    qv.push(at(q, h, ld));
    kv.push(at(k, h, ld));
    vv.push(at(v, h, ld));
    dOv.push(at(dOut, h, d));
    dqv.push(at(dq, h, ld));
    dkv.push(at(dk, h, ld));
    dvv.push(at(dv, h, ld));
  }
  for (let i0 = 0; i0 < n; i0 += group) {
    const nb = Math.min(group, n - i0);
    for (let i = i0; i < i0 + nb; i++) {
      const b = (i / H) | 0, h = i - b * H, dO = dOv[h][b];
      // dV = Pᵀ dO; dP = dO Vᵀ.
      sgemm(true, false, T, hd, T, 1, pv[i], Tp, dO, d, 0, dvv[h][b], ld);
      sgemm(false, true, T, T, hd, 1, dO, d, vv[h][b], ld, 0, dsv[i - i0], Tp);
    }
    // dS = P ⊙ (dP − Σ_j dP ⊙ P) / √hd (masked entries have P = 0).
    const p = probs.subarray(i0 * TT, (i0 + nb) * TT), ds = scratch.subarray(0, nb * TT);
    if (!attentionSoftmaxBackward(p, ds, nb, T, Tp, scale, causal)) {
      softmaxBackLoops(p, ds, nb, T, Tp, context, scale);
    }
    for (let i = i0; i < i0 + nb; i++) {
      const b = (i / H) | 0, h = i - b * H, dS = dsv[i - i0];
      // dQ = dS K; dK = dSᵀ Q.
      sgemm(false, false, T, hd, T, 1, dS, Tp, kv[h][b], ld, 0, dqv[h][b], ld);
      sgemm(true, false, T, hd, T, 1, dS, Tp, qv[h][b], ld, 0, dkv[h][b], ld);
    }
  }
}
