/**
 * Small typed-array helpers shared by the plain-TypeScript detectors: input
 * checks with clear messages, distances, quantiles and blob encoding.
 *
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { Rng } from "../util/random.ts";
import { InputError } from "../util/errors.ts";

/** Checks a training matrix: at least `minRows` rows, ≥ 1 column, all values finite. */
/**
 * The checks of a `partialFit` (rows as for fit, the fitted width), and the seed its batches are drawn
 * with: its own stream, apart from the first fit's.
 */
export function checkPartialFit(detector: string, seed: number, nFeatures: number, x: Matrix): Rng {
  checkFitInput(detector, x, 2);
  if (x.cols !== nFeatures) {
    throw new InputError(`${detector}.partialFit: expected ${nFeatures} features, found ${x.cols}`);
  }
  return new Rng(seed ^ 0x5a17f17);
}

export function checkFitInput(detector: string, x: Matrix, minRows = 1): void {
  if (!x || !(x.data instanceof Float64Array)) {
    throw new InputError(`${detector}.fit: expected a Matrix (Float64Array data), found ${typeof x}`);
  }
  if (x.rows < minRows) {
    throw new InputError(`${detector}.fit: expected at least ${minRows} training row(s), found ${x.rows}`);
  }
  if (x.cols < 1) throw new InputError(`${detector}.fit: expected at least 1 feature column, found 0`);
  if (x.data.length !== x.rows * x.cols) {
    throw new InputError(
      `${detector}.fit: matrix has ${x.data.length} values, expected rows*cols = ${x.rows * x.cols}`,
    );
  }
  checkFinite(detector + ".fit", x);
}

/** Checks a scoring matrix against the fitted width. Zero rows are allowed (→ empty scores). */
export function checkScoreInput(detector: string, x: Matrix, nFeatures: number | undefined): void {
  if (nFeatures === undefined) {
    throw new InputError(`${detector}.score: the model is not fitted; call fit() first`);
  }
  if (!x || !(x.data instanceof Float64Array)) {
    throw new InputError(`${detector}.score: expected a Matrix (Float64Array data), found ${typeof x}`);
  }
  if (x.cols !== nFeatures) {
    throw new InputError(
      `${detector}.score: expected ${nFeatures} feature columns (as in training), found ${x.cols}`,
    );
  }
  if (x.data.length !== x.rows * x.cols) {
    throw new InputError(
      `${detector}.score: matrix has ${x.data.length} values, expected rows*cols = ${x.rows * x.cols}`,
    );
  }
  checkFinite(detector + ".score", x);
}

/** Checks one streaming row. */
export function checkOne(
  detector: string,
  what: string,
  x: ArrayLike<number>,
  nFeatures: number | undefined,
): void {
  if (nFeatures !== undefined && x.length !== nFeatures) {
    throw new InputError(`${detector}.${what}: expected a row of ${nFeatures} features, found ${x.length}`);
  }
  if (x.length === 0) throw new InputError(`${detector}.${what}: expected a non-empty row, found 0 features`);
  for (let j = 0; j < x.length; j++) {
    if (!Number.isFinite(x[j])) {
      throw new InputError(`${detector}.${what}: feature ${j + 1} is ${x[j]}, expected a finite number`);
    }
  }
}

function checkFinite(where: string, x: Matrix): void {
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      const r = Math.floor(i / x.cols), c = i % x.cols;
      throw new InputError(
        `${where}: row ${r + 1}, column "${x.names[c] ?? c + 1}" is ${
          d[i]
        }; expected finite numbers (impute or drop first)`,
      );
    }
  }
}

/**
 * Checks that every value of `x` lies within ±`limit`, for detectors whose
 * arithmetic (sums of squares, means) would overflow float64 beyond it; the
 * error names the row and column and says `why`.
 */
export function checkMagnitude(where: string, x: Matrix, limit: number, why: string): void {
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    if (!(Math.abs(d[i]) <= limit)) {
      const r = Math.floor(i / x.cols), c = i % x.cols;
      throw new InputError(
        `${where}: row ${r + 1}, column "${x.names[c] ?? c + 1}" is ${
          d[i]
        }; expected values within ±${limit} ` +
          `(${why}); rescale the column first (e.g. log1p)`,
      );
    }
  }
}

/**
 * A distance-based score that overflowed float64 (a finite row 1e300 away:
 * its squared distance is Infinity) saturates at `Number.MAX_VALUE`: still
 * the most anomalous score there is, and finite, so that thresholds,
 * quantiles and JSON output keep working. Finite scores pass unchanged.
 */
export function saturateScore(v: number): number {
  return v === Infinity ? Number.MAX_VALUE : v;
}

/** Squared Euclidean distance between a[ai..ai+d) and b[bi..bi+d). */
export function sqDist(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    const d0 = a[ai + j] - b[bi + j], d1 = a[ai + j + 1] - b[bi + j + 1];
    const d2 = a[ai + j + 2] - b[bi + j + 2], d3 = a[ai + j + 3] - b[bi + j + 3];
    s += d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
  }
  for (; j < d; j++) {
    const t = a[ai + j] - b[bi + j];
    s += t * t;
  }
  return s;
}

/**
 * Squared distance, abandoned (returning a value ≥ `bound`) as soon as the
 * partial sum reaches `bound`: exact whenever the true distance is below it.
 * With `keepTies` it is abandoned only once the sum passes `bound`, so a
 * distance equal to the bound is exact too (LOF counts every row tied at the
 * k-th distance).
 */
export function sqDistBounded(
  a: Float64Array,
  ai: number,
  b: Float64Array,
  bi: number,
  d: number,
  bound: number,
  keepTies = false,
): number {
  let s = 0, j = 0;
  while (j < d) {
    const stop = j + 8 < d ? j + 8 : d;
    for (; j < stop; j++) {
      const t = a[ai + j] - b[bi + j];
      s += t * t;
    }
    if (s > bound || (s === bound && !keepTies)) return s;
  }
  return s;
}

export { quantileSorted } from "../util/quantile.ts";

export { toBytes } from "../util/bytes.ts";

function blob(blobs: Record<string, Uint8Array> | undefined, name: string, detector: string): Uint8Array {
  const b = blobs?.[name];
  if (!b) throw new InputError(`${detector}: saved model lacks weight blob "${name}"`);
  return b;
}

/** A blob's bytes as a fresh buffer, checking they hold whole elements (and `expected` of them when given). */
function elementBlob(
  blobs: Record<string, Uint8Array> | undefined,
  name: string,
  detector: string,
  bytesPer: number,
  expected?: number,
): ArrayBuffer {
  const b = blob(blobs, name, detector);
  if (b.byteLength % bytesPer !== 0 || (expected !== undefined && b.byteLength !== expected * bytesPer)) {
    const want = expected !== undefined ? expected * bytesPer : `a multiple of ${bytesPer}`;
    throw new InputError(`${detector}: weight blob "${name}" has ${b.byteLength} bytes, expected ${want}`);
  }
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Reads a Float64Array blob, checking its length when `expected` is given. */
export function f64Blob(
  blobs: Record<string, Uint8Array> | undefined,
  name: string,
  detector: string,
  expected?: number,
): Float64Array {
  return new Float64Array(elementBlob(blobs, name, detector, 8, expected));
}

/** Reads an Int32Array blob, checking its length when `expected` is given. */
export function i32Blob(
  blobs: Record<string, Uint8Array> | undefined,
  name: string,
  detector: string,
  expected?: number,
): Int32Array {
  return new Int32Array(elementBlob(blobs, name, detector, 4, expected));
}

/**
 * The format of a saved state whose `found` format field may be absent (1:
 * written before formats were numbered). This nadir reads every format from 1
 * to `current`; anything else is an InputError naming `what` ("flow-lm: saved
 * model") and the format found.
 */
export function savedFormat(found: unknown, current: number, what: string): number {
  const format = found ?? 1;
  if (!(typeof format === "number" && Number.isInteger(format) && format >= 1 && format <= current)) {
    throw new InputError(
      `${what} has format ${JSON.stringify(found)}; this nadir reads formats ${
        current === 2 ? "1 and 2" : `1 to ${current}`
      }`,
    );
  }
  return format;
}

/** Reads a number from saved state, with a clear error when it is missing or of the wrong type. */
export function stateNumber(state: Record<string, unknown>, key: string, detector: string): number {
  const v = state[key];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new InputError(
      `${detector}: saved state field "${key}" should be a finite number, found ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * Column indices by decreasing variance (ties by index): nearest-neighbour searches (knn, lof) visit
 * columns in this order so partial distances pass the pruning bound early.
 */
export function varianceOrder(data: Float64Array, n: number, d: number): Int32Array {
  const mean = new Float64Array(d), m2 = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const t = data[i * d + j] - mean[j];
      m2[j] += t * t;
    }
  }
  return Int32Array.from(Array.from({ length: d }, (_, j) => j).sort((a, b) => m2[b] - m2[a] || a - b));
}

/** A copy of the n × d row-major `data` with its columns in `order`. */
export function permuteColumns(data: Float64Array, n: number, d: number, order: Int32Array): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) out[o + j] = data[o + order[j]];
  }
  return out;
}
