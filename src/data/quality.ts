/**
 * Data-quality checks for feature matrices: Inf/NaN counts, constant
 * columns, duplicated rows, contradictory labels (identical features, different
 * labels) and robust outliers in benign training data. These are the checks
 * the EDA and feature-selection notebooks report and the noise filters they
 * apply; they work on {@link Matrix} so they serve every dataset.
 *
 * Duplicate detection hashes each row's float64 bit patterns (two 32-bit
 * FNV-1a lanes) and then compares candidate rows value by value, so hash
 * collisions never merge different rows. -0 and +0 count as equal, and so do
 * two NaNs (a CSV with NaN in the same cells twice is a duplicate).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matrixFromRows } from "./matrix.ts";
 * import { duplicateRows } from "./quality.ts";
 * const m = matrixFromRows([[1, 2], [1, 2], [3, 4]], ["a", "b"]);
 * const d = duplicateRows(m, [0, 1, 0]);
 * assert.ok(d.duplicateRows === 1 && d.contradictoryGroups === 1);
 * ```
 * @module
 */
import type { Matrix } from "./matrix.ts";

/** Non-finite values per feature. */
export interface NonFinite {
  feature: string;
  nan: number;
  posInf: number;
  negInf: number;
}

/** Counts NaN, +Inf and -Inf per column (only columns that have any, unless `all`). */
export function nonFiniteCounts(m: Matrix, opts: { all?: boolean } = {}): NonFinite[] {
  const nan = new Float64Array(m.cols), pos = new Float64Array(m.cols), neg = new Float64Array(m.cols);
  const d = m.data;
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    for (let j = 0; j < m.cols; j++) {
      const v = d[o + j];
      if (v - v !== 0) {
        if (v !== v) nan[j]++;
        else if (v > 0) pos[j]++;
        else neg[j]++;
      }
    }
  }
  const out: NonFinite[] = [];
  for (let j = 0; j < m.cols; j++) {
    if (opts.all || nan[j] || pos[j] || neg[j]) {
      out.push({ feature: m.names[j], nan: nan[j], posInf: pos[j], negInf: neg[j] });
    }
  }
  return out;
}

/** Columns whose finite values are all equal (or that have no finite value). */
export function constantColumns(m: Matrix, rows?: ArrayLike<number>): string[] {
  const n = rows ? rows.length : m.rows;
  const out: string[] = [];
  for (let j = 0; j < m.cols; j++) {
    let first = NaN, constant = true;
    for (let k = 0; k < n && constant; k++) {
      const v = m.data[(rows ? rows[k] : k) * m.cols + j];
      if (!Number.isFinite(v)) continue;
      if (first !== first) first = v;
      else if (v !== first) constant = false;
    }
    if (constant) out.push(m.names[j]);
  }
  return out;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** 53-bit hash of a row's values (−0 folded to +0, all NaNs to one pattern). */
function rowHash(d: Float64Array, o: number, cols: number): number {
  let h1 = 0x811c9dc5, h2 = 0x01000193 ^ cols;
  for (let j = 0; j < cols; j++) {
    let v = d[o + j];
    if (v === 0) v = 0;
    f64[0] = v !== v ? NaN : v;
    h1 = Math.imul(h1 ^ u32[0], 0x01000193);
    h1 = Math.imul(h1 ^ u32[1], 0x01000193);
    h2 = Math.imul(h2 ^ u32[1], 0x85ebca6b) ^ (h2 >>> 13);
    h2 = Math.imul(h2 ^ u32[0], 0xc2b2ae35) ^ (h2 >>> 16);
  }
  return (h1 >>> 0) * 2097152 + ((h2 >>> 0) & 0x1fffff);
}

function rowsEqual(d: Float64Array, a: number, b: number, cols: number): boolean {
  for (let j = 0; j < cols; j++) {
    const x = d[a + j], y = d[b + j];
    if (x !== y && !(x !== x && y !== y)) return false;
  }
  return true;
}

/** What {@link duplicateRows} found. */
export interface DuplicateReport {
  rows: number;
  /** Distinct feature vectors. */
  uniqueRows: number;
  /** Rows identical to an earlier row (rows − uniqueRows). */
  duplicateRows: number;
  /** For each row, the index of the first identical row (itself when it is the first). */
  firstOf: Int32Array;
  /** Groups of identical rows carrying more than one distinct label. */
  contradictoryGroups: number;
  /** Rows in those groups. */
  contradictoryRows: number;
  /** Per row: true when it belongs to a contradictory group. */
  contradictory: Uint8Array;
}

/**
 * Finds identical feature vectors and, with `labels`, the groups whose rows
 * disagree on the label (the same features labelled both normal and attack
 * cannot be separated by any detector: label noise or missing context).
 */
export function duplicateRows(m: Matrix, labels?: ArrayLike<number | string>): DuplicateReport {
  if (labels && labels.length !== m.rows) {
    throw new RangeError(`duplicateRows: ${m.rows} rows but ${labels.length} labels`);
  }
  const firstOf = new Int32Array(m.rows);
  const buckets = new Map<number, number | number[]>();
  const d = m.data, c = m.cols;
  let unique = 0;
  for (let i = 0; i < m.rows; i++) {
    const h = rowHash(d, i * c, c);
    const b = buckets.get(h);
    let found = -1;
    if (b === undefined) buckets.set(h, i);
    else if (typeof b === "number") {
      if (rowsEqual(d, b * c, i * c, c)) found = b;
      else buckets.set(h, [b, i]);
    } else {
      for (const k of b) {
        if (rowsEqual(d, k * c, i * c, c)) {
          found = k;
          break;
        }
      }
      if (found < 0) b.push(i);
    }
    if (found < 0) {
      firstOf[i] = i;
      unique++;
    } else firstOf[i] = found;
  }
  const contradictory = new Uint8Array(m.rows);
  let groups = 0, rowsC = 0;
  if (labels) {
    const mixed = new Uint8Array(m.rows);
    for (let i = 0; i < m.rows; i++) {
      const f = firstOf[i];
      if (f !== i && labels[i] !== labels[f]) mixed[f] = 1;
    }
    for (let i = 0; i < m.rows; i++) {
      if (mixed[firstOf[i]]) {
        contradictory[i] = 1;
        rowsC++;
        if (firstOf[i] === i) groups++;
      }
    }
  }
  return {
    rows: m.rows,
    uniqueRows: unique,
    duplicateRows: m.rows - unique,
    firstOf,
    contradictoryGroups: groups,
    contradictoryRows: rowsC,
    contradictory,
  };
}

/**
 * Row indices to keep after noise filtering: one row per distinct feature
 * vector (`dedupe`, default true) and none of the contradictory groups
 * (`dropContradictory`, default true).
 */
export function keepAfterNoiseFilter(
  report: DuplicateReport,
  opts: { dedupe?: boolean; dropContradictory?: boolean } = {},
): Uint32Array {
  const dedupe = opts.dedupe ?? true, dropC = opts.dropContradictory ?? true;
  const out: number[] = [];
  for (let i = 0; i < report.rows; i++) {
    if (dedupe && report.firstOf[i] !== i) continue;
    if (dropC && report.contradictory[i]) continue;
    out.push(i);
  }
  return Uint32Array.from(out);
}

/** Median of the finite values (sorts a copy). */
function median(values: Float64Array): number {
  const s = values.filter(Number.isFinite).sort();
  if (s.length === 0) return NaN;
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** What {@link robustOutliers} found. */
export interface OutlierReport {
  /** Row indices (into the matrix) whose largest robust z-score exceeds `k`. */
  outliers: Uint32Array;
  /** Largest |x − median| / (1.4826·MAD) per examined row (0 where every column has MAD 0). */
  maxZ: Float64Array;
  /** Per feature: rows of the examined set beyond `k` in that feature. */
  perFeature: { feature: string; count: number }[];
  k: number;
}

/**
 * Flags rows (of `rows`, default all — pass the benign training rows) that lie
 * more than `k` robust standard deviations (1.4826·MAD) from the median in
 * some feature, measured on log1p of the non-negative columns (`log`,
 * default true) because counters are heavy-tailed. Features with MAD 0 (mostly-constant counters) are skipped:
 * a z-score against zero spread says nothing. Meant for cleaning benign
 * training data before fitting an unsupervised detector.
 */
export function robustOutliers(
  m: Matrix,
  opts: { rows?: ArrayLike<number>; k?: number; log?: boolean } = {},
): OutlierReport {
  const k = opts.k ?? 10;
  const rows = opts.rows ?? Uint32Array.from({ length: m.rows }, (_, i) => i);
  const n = rows.length;
  const med = new Float64Array(m.cols), scale = new Float64Array(m.cols);
  const col = new Float64Array(n);
  // Byte/packet/time counters are heavy-tailed: on a raw scale half the benign rows sit "10 MADs" out.
  // On log1p of non-negative columns the same test flags the rows that are really unlike the rest.
  const logCol = new Uint8Array(m.cols);
  if (opts.log ?? true) {
    for (let j = 0; j < m.cols; j++) {
      let nonNeg = true;
      for (let r = 0; r < n && nonNeg; r++) if (m.data[rows[r] * m.cols + j] < 0) nonNeg = false;
      logCol[j] = nonNeg ? 1 : 0;
    }
  }
  const value = (i: number, j: number) => {
    const v = m.data[i * m.cols + j];
    return logCol[j] ? Math.log1p(v) : v;
  };
  for (let j = 0; j < m.cols; j++) {
    for (let r = 0; r < n; r++) col[r] = value(rows[r], j);
    med[j] = median(col);
    for (let r = 0; r < n; r++) col[r] = Math.abs(col[r] - med[j]);
    scale[j] = 1.4826 * median(col);
  }
  const maxZ = new Float64Array(n);
  const perF = new Float64Array(m.cols);
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    let z = 0;
    for (let j = 0; j < m.cols; j++) {
      if (!(scale[j] > 0)) continue;
      const v = value(rows[r], j);
      if (!Number.isFinite(v)) continue;
      const zj = Math.abs(v - med[j]) / scale[j];
      if (zj > k) perF[j]++;
      if (zj > z) z = zj;
    }
    maxZ[r] = z;
    if (z > k) out.push(rows[r]);
  }
  const perFeature = Array.from(m.names, (feature, j) => ({ feature, count: perF[j] }))
    .filter((f) => f.count > 0)
    .sort((a, b) => b.count - a.count);
  return { outliers: Uint32Array.from(out), maxZ, perFeature, k };
}

/** One-line-per-check summary for notebooks and `nadir data info`-style output. */
export interface QualitySummary {
  rows: number;
  features: number;
  nonFiniteCells: number;
  nonFiniteFeatures: number;
  constantFeatures: string[];
  duplicateRows: number;
  duplicateFraction: number;
  contradictoryGroups: number;
  contradictoryRows: number;
}

/** Runs the checks above and summarises them. */
export function qualitySummary(m: Matrix, labels?: ArrayLike<number | string>): QualitySummary {
  const nf = nonFiniteCounts(m);
  const dup = duplicateRows(m, labels);
  return {
    rows: m.rows,
    features: m.cols,
    nonFiniteCells: nf.reduce((t, f) => t + f.nan + f.posInf + f.negInf, 0),
    nonFiniteFeatures: nf.length,
    constantFeatures: constantColumns(m),
    duplicateRows: dup.duplicateRows,
    duplicateFraction: m.rows ? dup.duplicateRows / m.rows : 0,
    contradictoryGroups: dup.contradictoryGroups,
    contradictoryRows: dup.contradictoryRows,
  };
}
