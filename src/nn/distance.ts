/**
 * Squared Euclidean distances between two sets of rows through one sgemm
 * call, as rigorous lower and upper bounds.
 *
 * ‖a − b‖² = ‖a‖² − 2 a·b + ‖b‖²: the norms are summed in float64, the products
 * a·bᵀ for a whole block of rows come from float32 `sgemm` (src/nn/blas.ts).
 * The float32 product is not exact, and the expansion cancels badly when a and
 * b are close compared with their norms, so the result is returned as an
 * interval [lo, hi] that is guaranteed to hold the float64 distance a plain
 * loop computes (see {@link sqDistSlack} for the bound). Callers use the
 * interval to skip the rows or centres that cannot matter and recompute the
 * few that can exactly in float64 — so their results are those of the exact
 * loop, only faster.
 *
 * Rows whose norm exceeds {@link F32_NORM_LIMIT} would overflow float32; they
 * get the empty bound [0, ∞], which makes a caller fall back to its exact loop
 * for them.
 *
 * A fresh float32 copy of a large matrix costs page faults (measured here:
 * 21 MB of new memory took longer than seven conversion passes), so callers
 * either convert blocks of a few thousand rows into one reused
 * {@link Rows32}, or convert a matrix they read many times once into a buffer
 * they keep, and take blocks of it with {@link rowsView} and
 * {@link selectRows}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blasAvailable } from "./blas.ts";
 * import { prepareRows, sqDistBounds } from "./distance.ts";
 * if (blasAvailable()) {
 *   const a = prepareRows(Float64Array.from([0, 0, 3, 4]), 2); // rows (0, 0) and (3, 4)
 *   const b = prepareRows(Float64Array.from([0, 0]), 2); // one row (0, 0)
 *   const lo = new Float64Array(2), hi = new Float64Array(2);
 *   sqDistBounds(a, b, lo, hi);
 *   // ‖(3, 4) − (0, 0)‖² = 25 lies inside its bound
 *   assert.ok(lo[1] <= 25 && 25 <= hi[1] && hi[1] - lo[1] < 1e-3);
 *   assert.equal(lo[0], 0);
 * }
 * ```
 * @module
 */
import { sgemm } from "./blas.ts";

/**
 * Rows with a larger Euclidean norm are not expanded (2⁶⁰: products of two such
 * rows stay below float32's 3.4·10³⁸).
 */
export const F32_NORM_LIMIT = 2 ** 60;

/** Rows prepared for {@link sqDistBounds}: a float32 copy and float64 norms. */
export interface Rows32 {
  /** Number of rows. */
  rows: number;
  /** Columns per row. */
  d: number;
  /** Row-major float32 copy (zeros for rows beyond {@link F32_NORM_LIMIT}); may be longer than rows × d. */
  f32: Float32Array;
  /** Squared norms ‖r‖², float64. */
  sq: Float64Array;
  /** Norms ‖r‖, or Infinity for rows beyond {@link F32_NORM_LIMIT}. */
  norm: Float64Array;
}

/** Empty {@link Rows32} with room for `capacity` rows of `d` columns (buffers reused by the fill calls). */
export function rows32(d: number, capacity: number): Rows32 {
  const cap = Math.max(1, capacity);
  return {
    rows: 0,
    d,
    f32: new Float32Array(cap * d),
    sq: new Float64Array(cap),
    norm: new Float64Array(cap),
  };
}

function ensure(out: Rows32 | undefined, d: number, rows: number): Rows32 {
  if (!out || out.d !== d || out.sq.length < rows) return rows32(d, rows);
  return out;
}

/**
 * Converts `count` float64 rows into slots 0.. of (f32, sq, norm): row t starts
 * at `src[idx[t]·d]` when `idx` is given, else at `src[(first + t)·d]`.
 */
function fill(
  src: Float64Array,
  d: number,
  first: number,
  idx: ArrayLike<number> | undefined,
  count: number,
  f32: Float32Array,
  sq: Float64Array,
  norm: Float64Array,
): void {
  for (let t = 0, o = 0; t < count; t++, o += d) {
    const so = (idx ? idx[t] : first + t) * d;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = src[so + j];
      s += v * v;
      f32[o + j] = v;
    }
    sq[t] = s;
    const n = Math.sqrt(s);
    norm[t] = n <= F32_NORM_LIMIT ? n : Infinity;
    if (!(n <= F32_NORM_LIMIT)) f32.fill(0, o, o + d);
  }
}

/**
 * Rows [from, to) of the row-major float64 matrix `data` (d columns) as
 * {@link Rows32}; `out` is reused when it has room.
 */
export function prepareRows(
  data: Float64Array,
  d: number,
  from = 0,
  to: number = Math.floor(data.length / d),
  out?: Rows32,
): Rows32 {
  const rows = Math.max(0, to - from);
  const r = ensure(out, d, rows);
  r.rows = rows;
  fill(data, d, from, undefined, rows, r.f32, r.sq, r.norm);
  return r;
}

/**
 * The rows `idx[0..count)` of the row-major float64 matrix `data` (d columns)
 * as {@link Rows32}; `out` is reused when it has room.
 */
export function gatherRows(
  data: Float64Array,
  d: number,
  idx: ArrayLike<number>,
  count: number,
  out?: Rows32,
): Rows32 {
  const r = ensure(out, d, count);
  r.rows = count;
  fill(data, d, 0, idx, count, r.f32, r.sq, r.norm);
  return r;
}

/**
 * Rows [from, to) of `src` as {@link Rows32} views on its buffers (no copy):
 * a block of an already converted matrix, ready for {@link sqDistBounds}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareRows, rowsView } from "./distance.ts";
 * const all = prepareRows(Float64Array.from([1, 0, 0, 2, 3, 4]), 2); // rows (1, 0), (0, 2), (3, 4)
 * const v = rowsView(all, 1, 3);
 * assert.equal(v.rows, 2);
 * assert.deepEqual([...v.f32], [0, 2, 3, 4]);
 * assert.deepEqual([...v.norm], [2, 5]);
 * assert.equal(v.f32.buffer, all.f32.buffer); // a view, not a copy
 * ```
 */
export function rowsView(src: Rows32, from: number, to: number): Rows32 {
  const d = src.d;
  return {
    rows: to - from,
    d,
    f32: src.f32.subarray(from * d, to * d),
    sq: src.sq.subarray(from, to),
    norm: src.norm.subarray(from, to),
  };
}

/**
 * The rows `idx[0..count)` of the already converted `src`, copied into `out`
 * (reused when it has room): the float32 values and norms as they are, so no
 * float64 row is read or summed again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareRows, selectRows } from "./distance.ts";
 * const all = prepareRows(Float64Array.from([1, 0, 0, 2, 3, 4]), 2); // rows (1, 0), (0, 2), (3, 4)
 * const picked = selectRows(all, [2, 0, 2], 3);
 * assert.deepEqual([...picked.f32.subarray(0, 6)], [3, 4, 1, 0, 3, 4]);
 * assert.deepEqual([...picked.sq.subarray(0, 3)], [25, 1, 25]);
 * // A buffer with room is reused.
 * assert.equal(selectRows(all, [1], 1, picked), picked);
 * assert.equal(picked.rows, 1);
 * ```
 */
export function selectRows(src: Rows32, idx: ArrayLike<number>, count: number, out?: Rows32): Rows32 {
  const d = src.d, r = ensure(out, d, count);
  r.rows = count;
  const f = src.f32, g = r.f32;
  for (let t = 0; t < count; t++) {
    const i = idx[t];
    g.set(f.subarray(i * d, i * d + d), t * d);
    r.sq[t] = src.sq[i];
    r.norm[t] = src.norm[i];
  }
  return r;
}

/**
 * Bound on |(expansion from a float32 product) − (float64 loop)| for rows of
 * norms `na`, `nb` (squares `sa`, `sb`) in `d` dimensions:
 *
 * - float32 product: rounding both inputs to float32 and summing d products
 *   (in any order, with or without FMA) errs by at most (d + 2)·u·Σ|a_j b_j|
 *   ≤ (d + 2)·u·‖a‖‖b‖ (u = 2⁻²⁴, Cauchy–Schwarz); the factor 2 of −2a·b
 *   doubles it, (d + 3) and a 10⁻⁶ relative margin cover second-order terms;
 * - float32 underflow (values below 2⁻¹²⁶ lose relative precision): an absolute
 *   2⁻¹⁴⁰·(d + √d(‖a‖ + ‖b‖)), far above its true size;
 * - float64: the norms, the sum of the three terms, and the reference loop's
 *   own rounding each err by at most (d + 2)·2⁻⁵³·(‖a‖² + ‖b‖²).
 */
export function sqDistSlack(d: number, na: number, nb: number, sa: number, sb: number): number {
  const [f1, f2, f3] = slackFactors(d);
  return f1 * na * nb + f2 * (d + Math.sqrt(d) * (na + nb)) + f3 * (sa + sb);
}

function slackFactors(d: number): [number, number, number] {
  return [2 * (d + 3) * 2 ** -24 * (1 + 1e-6), 2 ** -140, (3 * d + 16) * 2 ** -53];
}

let prodScratch = new Float32Array(0);

/**
 * Bounds on the squared distances between every row of `a` and every row of
 * `b`: `lo[i·b.rows + j] ≤ ‖a_i − b_j‖² ≤ hi[i·b.rows + j]`, where the middle
 * term is the value a float64 loop over the d columns computes. One sgemm
 * call (a.rows × b.rows × d); `lo` is clamped at 0. Pairs with a row beyond
 * {@link F32_NORM_LIMIT} get [0, ∞].
 *
 * Needs OpenBLAS (`blasAvailable()`); throws otherwise.
 */
export function sqDistBounds(a: Rows32, b: Rows32, lo: Float64Array, hi: Float64Array): void {
  const m = a.rows, n = b.rows, d = a.d;
  if (b.d !== d) throw new RangeError(`sqDistBounds: rows of ${d} and ${b.d} columns`);
  if (lo.length < m * n || hi.length < m * n) {
    throw new RangeError(
      `sqDistBounds: output holds ${Math.min(lo.length, hi.length)} values, need ${m * n}`,
    );
  }
  if (m === 0 || n === 0) return;
  if (prodScratch.length < m * n) prodScratch = new Float32Array(Math.max(m * n, 2 * prodScratch.length));
  const p = prodScratch;
  sgemm(false, true, m, n, d, -2, a.f32, d, b.f32, d, 0, p, n);
  const [f1, f2, f3] = slackFactors(d), rd = Math.sqrt(d);
  for (let i = 0; i < m; i++) {
    const sa = a.sq[i], na = a.norm[i], o = i * n;
    for (let j = 0; j < n; j++) {
      const nb = b.norm[j];
      if (na === Infinity || nb === Infinity) {
        lo[o + j] = 0;
        hi[o + j] = Infinity;
        continue;
      }
      const sb = b.sq[j];
      const v = sa + sb + p[o + j];
      const s = f1 * na * nb + f2 * (d + rd * (na + nb)) + f3 * (sa + sb);
      const l = v - s;
      lo[o + j] = l > 0 ? l : 0;
      hi[o + j] = v + s;
    }
  }
}
