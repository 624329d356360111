/**
 * Feature selection for the feature-selection notebook and experiment
 * configs: near-zero-variance and correlation pruning, mutual information
 * with the label, permutation importance through any detector, and named
 * feature sets saved as JSON under `experiments/feature-sets/`.
 *
 * Everything is fit on the rows you pass (give it training rows, never test
 * rows). Long computations take an optional seeded row sample (`maxRows`,
 * `seed`), so a 2.8 M-row CIC-IDS2017 frame stays interactive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matrixFromRows } from "./matrix.ts";
 * import { correlationPrune, mutualInformation } from "./select.ts";
 * const m = matrixFromRows([[1, 2, 0], [2, 4, 1], [3, 6, 0], [4, 8, 1]], ["a", "twice_a", "c"]);
 * assert.equal(correlationPrune(m, { threshold: 0.95 }).keep.join(), "a,c");
 * const mi = mutualInformation(m, [0, 1, 0, 1]);
 * assert.equal(mi.find((x) => x.feature === "c")!.mi, 1);
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import type { Matrix } from "./matrix.ts";

/** Rows to use: all, or a seeded sample of `maxRows` of `rows`. */
function pickRows(
  m: Matrix,
  opts: { rows?: ArrayLike<number>; maxRows?: number; seed?: number },
): Uint32Array {
  const base = opts.rows ? Uint32Array.from(opts.rows) : Uint32Array.from({ length: m.rows }, (_, i) => i);
  if (opts.maxRows === undefined || base.length <= opts.maxRows) return base;
  const pick = new Rng(opts.seed ?? 0).sampleIndices(base.length, opts.maxRows);
  return Uint32Array.from(pick, (i) => base[i]).sort();
}

/** Per-feature spread statistics of {@link lowVariance}. */
export interface VarianceInfo {
  feature: string;
  variance: number;
  /** Share of rows holding the most frequent value. */
  modeFraction: number;
  distinct: number;
}

/**
 * Flags near-constant features: variance ≤ `minVariance` (default 0) or the
 * most frequent value covering more than `maxModeFraction` of the rows
 * (default 0.9999, i.e. fewer than 1 in 10,000 rows differ). Non-finite
 * values are ignored.
 */
export function lowVariance(
  m: Matrix,
  opts: {
    rows?: ArrayLike<number>;
    minVariance?: number;
    maxModeFraction?: number;
    maxRows?: number;
    seed?: number;
  } = {},
): { keep: string[]; drop: VarianceInfo[]; stats: VarianceInfo[] } {
  const rows = pickRows(m, opts);
  const minVar = opts.minVariance ?? 0, maxMode = opts.maxModeFraction ?? 0.9999;
  const stats: VarianceInfo[] = [];
  for (let j = 0; j < m.cols; j++) {
    let n = 0, mean = 0, m2 = 0;
    const counts = new Map<number, number>();
    for (let r = 0; r < rows.length; r++) {
      const v = m.data[rows[r] * m.cols + j];
      if (!Number.isFinite(v)) continue;
      n++;
      const d = v - mean;
      mean += d / n;
      m2 += d * (v - mean);
      if (counts.size <= 100_000) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    let mode = 0;
    for (const c of counts.values()) if (c > mode) mode = c;
    stats.push({
      feature: m.names[j],
      variance: n > 1 ? m2 / (n - 1) : 0,
      modeFraction: n ? mode / n : 1,
      distinct: counts.size,
    });
  }
  const drop = stats.filter((s) => s.variance <= minVar || s.modeFraction > maxMode);
  const dropped = new Set(drop.map((d) => d.feature));
  return { keep: m.names.filter((n) => !dropped.has(n)), drop, stats };
}

/**
 * Pearson correlation matrix (cols × cols, row-major) over the given rows.
 * Non-finite values are replaced by the column mean (so they add no
 * correlation); a constant column correlates 0 with everything (1 with itself).
 */
export function correlationMatrix(
  m: Matrix,
  opts: { rows?: ArrayLike<number>; maxRows?: number; seed?: number } = {},
): Float64Array {
  const rows = pickRows(m, { maxRows: 200_000, ...opts });
  const n = rows.length, c = m.cols;
  const means = new Float64Array(c), counts = new Float64Array(c);
  for (let r = 0; r < n; r++) {
    const o = rows[r] * c;
    for (let j = 0; j < c; j++) {
      const v = m.data[o + j];
      if (Number.isFinite(v)) means[j] += v, counts[j]++;
    }
  }
  for (let j = 0; j < c; j++) means[j] = counts[j] ? means[j] / counts[j] : 0;
  // Centered copy, column-major, so the pairwise loops run over contiguous memory.
  const z = new Float64Array(n * c);
  for (let r = 0; r < n; r++) {
    const o = rows[r] * c;
    for (let j = 0; j < c; j++) {
      const v = m.data[o + j];
      z[j * n + r] = Number.isFinite(v) ? v - means[j] : 0;
    }
  }
  const sd = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    let s = 0;
    for (let r = 0, o = j * n; r < n; r++) s += z[o + r] * z[o + r];
    sd[j] = Math.sqrt(s);
  }
  const out = new Float64Array(c * c);
  for (let a = 0; a < c; a++) {
    out[a * c + a] = 1;
    for (let b = a + 1; b < c; b++) {
      let s = 0;
      const oa = a * n, ob = b * n;
      for (let r = 0; r < n; r++) s += z[oa + r] * z[ob + r];
      const v = sd[a] > 0 && sd[b] > 0 ? Math.max(-1, Math.min(1, s / (sd[a] * sd[b]))) : 0;
      out[a * c + b] = v;
      out[b * c + a] = v;
    }
  }
  return out;
}

/** One feature dropped by {@link correlationPrune}. */
export interface PrunedFeature {
  feature: string;
  /** The kept feature it duplicates. */
  because: string;
  r: number;
}

/**
 * Greedy correlation pruning: walk the features in `order` (default: matrix
 * order; pass them sorted by mutual information to keep the most informative
 * of each correlated group) and drop a feature when |r| > `threshold`
 * (default 0.95) with a feature already kept.
 */
export function correlationPrune(
  m: Matrix,
  opts: {
    threshold?: number;
    order?: readonly string[];
    corr?: Float64Array;
    rows?: ArrayLike<number>;
    maxRows?: number;
    seed?: number;
  } = {},
): { keep: string[]; drop: PrunedFeature[] } {
  const thr = opts.threshold ?? 0.95;
  const corr = opts.corr ?? correlationMatrix(m, opts);
  if (corr.length !== m.cols * m.cols) {
    throw new RangeError(`correlationPrune: corr has ${corr.length} values, expected ${m.cols}×${m.cols}`);
  }
  const index = new Map(m.names.map((n, i) => [n, i]));
  const order = opts.order ?? m.names;
  for (const f of order) {
    if (!index.has(f)) throw new RangeError(`correlationPrune: unknown feature "${f}" in order`);
  }
  const kept: number[] = [];
  const drop: PrunedFeature[] = [];
  for (const f of order) {
    const j = index.get(f)!;
    let worst = -1, wr = 0;
    for (const k of kept) {
      const r = corr[j * m.cols + k];
      if (Math.abs(r) > thr && Math.abs(r) > Math.abs(wr)) worst = k, wr = r;
    }
    if (worst >= 0) drop.push({ feature: f, because: m.names[worst], r: wr });
    else kept.push(j);
  }
  return { keep: kept.map((k) => m.names[k]), drop };
}

/** Codes for labels (numbers or strings) and the number of classes. */
function encodeLabels(
  labels: ArrayLike<number | string>,
  rows: Uint32Array,
): { codes: Int32Array; k: number } {
  const map = new Map<number | string, number>();
  const codes = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const l = labels[rows[r]];
    let c = map.get(l);
    if (c === undefined) map.set(l, c = map.size);
    codes[r] = c;
  }
  return { codes, k: map.size };
}

/**
 * Discretises one column into at most `bins` equal-frequency bins (or one bin
 * per distinct value when there are no more than `bins`); non-finite values
 * get a bin of their own.
 */
export function discretize(values: Float64Array, bins: number): { codes: Int32Array; k: number } {
  const n = values.length;
  const finite = values.filter(Number.isFinite).sort();
  const distinct: number[] = [];
  for (let i = 0; i < finite.length && distinct.length <= bins; i++) {
    if (i === 0 || finite[i] !== finite[i - 1]) distinct.push(finite[i]);
  }
  let edges: number[];
  if (distinct.length <= bins) edges = distinct.slice(1);
  else {
    const e = new Set<number>();
    for (let b = 1; b < bins; b++) e.add(finite[Math.floor((b * finite.length) / bins)]);
    edges = [...e].sort((a, b) => a - b);
  }
  const codes = new Int32Array(n);
  const nonFiniteBin = edges.length + 1;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      codes[i] = nonFiniteBin;
      continue;
    }
    let lo = 0, hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v >= edges[mid]) lo = mid + 1;
      else hi = mid;
    }
    codes[i] = lo;
  }
  return { codes, k: nonFiniteBin + 1 };
}

/** Mutual information (bits) of one discretised feature with the label. */
function miBits(x: Int32Array, kx: number, y: Int32Array, ky: number): number {
  const n = x.length;
  const joint = new Float64Array(kx * ky), px = new Float64Array(kx), py = new Float64Array(ky);
  for (let i = 0; i < n; i++) joint[x[i] * ky + y[i]]++, px[x[i]]++, py[y[i]]++;
  let mi = 0;
  for (let a = 0; a < kx; a++) {
    for (let b = 0; b < ky; b++) {
      const c = joint[a * ky + b];
      if (c > 0) mi += (c / n) * Math.log2((c * n) / (px[a] * py[b]));
    }
  }
  return Math.max(0, mi);
}

/** Entropy (bits) of a code vector. */
function entropyBits(y: Int32Array, k: number): number {
  const p = new Float64Array(k);
  for (let i = 0; i < y.length; i++) p[y[i]]++;
  let h = 0;
  for (const c of p) if (c > 0) h -= (c / y.length) * Math.log2(c / y.length);
  return h;
}

/** Mutual information of one feature with the label. */
export interface MutualInfo {
  feature: string;
  /** Bits. */
  mi: number;
  /** mi / H(label): the share of the label's uncertainty this feature removes. */
  normalized: number;
}

/**
 * Mutual information between each feature (equal-frequency bins, default 20)
 * and the label (binary or multi-class), sorted descending. A plug-in
 * estimate: biased upwards by about (bins−1)(classes−1)/(2n ln 2) bits, which
 * is negligible for the dataset sizes here but matters below ~1,000 rows.
 */
export function mutualInformation(
  m: Matrix,
  labels: ArrayLike<number | string>,
  opts: { bins?: number; rows?: ArrayLike<number>; maxRows?: number; seed?: number } = {},
): MutualInfo[] {
  if (labels.length !== m.rows) {
    throw new RangeError(`mutualInformation: ${m.rows} rows but ${labels.length} labels`);
  }
  const rows = pickRows(m, opts);
  const { codes: y, k: ky } = encodeLabels(labels, rows);
  const h = entropyBits(y, ky);
  const col = new Float64Array(rows.length);
  const out: MutualInfo[] = [];
  for (let j = 0; j < m.cols; j++) {
    for (let r = 0; r < rows.length; r++) col[r] = m.data[rows[r] * m.cols + j];
    const { codes, k } = discretize(col, opts.bins ?? 20);
    const mi = miBits(codes, k, y, ky);
    out.push({ feature: m.names[j], mi, normalized: h > 0 ? mi / h : 0 });
  }
  return out.sort((a, b) => b.mi - a.mi);
}

/** Permutation importance of one feature. */
export interface Importance {
  feature: string;
  /** Metric with the feature intact minus the mean metric with it shuffled (higher = more important). */
  drop: number;
  /** Standard deviation of the drop over repeats. */
  std: number;
}

/**
 * Detector-based importance: how much `metric(labels, scores)` (e.g. ROC AUC)
 * falls when one feature's values are shuffled across rows, with the
 * detector already fit. `score` must not refit anything. Run it on a
 * validation split, not the test set, when the result selects features.
 */
export async function permutationImportance(
  m: Matrix,
  labels: ArrayLike<number>,
  score: (x: Matrix) => Promise<Float64Array> | Float64Array,
  metric: (labels: ArrayLike<number>, scores: ArrayLike<number>) => number,
  opts: { repeats?: number; seed?: number; features?: readonly string[] } = {},
): Promise<{ baseline: number; importances: Importance[] }> {
  const baseline = metric(labels, await score(m));
  const rng = new Rng(opts.seed ?? 0);
  const repeats = opts.repeats ?? 3;
  const feats = opts.features ?? m.names;
  const out: Importance[] = [];
  const data = new Float64Array(m.data);
  const x: Matrix = { data, rows: m.rows, cols: m.cols, names: m.names };
  for (const f of feats) {
    const j = m.names.indexOf(f);
    if (j < 0) throw new RangeError(`permutationImportance: unknown feature "${f}"`);
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const perm = rng.shuffle(Uint32Array.from({ length: m.rows }, (_, i) => i));
      for (let i = 0; i < m.rows; i++) data[i * m.cols + j] = m.data[perm[i] * m.cols + j];
      drops.push(baseline - metric(labels, await score(x)));
    }
    for (let i = 0; i < m.rows; i++) data[i * m.cols + j] = m.data[i * m.cols + j];
    const mean = drops.reduce((a, b) => a + b, 0) / repeats;
    const std = Math.sqrt(drops.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, repeats - 1));
    out.push({ feature: f, drop: mean, std });
  }
  return { baseline, importances: out.sort((a, b) => b.drop - a.drop) };
}

/** A named feature set as saved under experiments/feature-sets/. */
export interface FeatureSetFile {
  name: string;
  /** Dataset family it was derived from ("nsl-kdd", "cic-ids2017", ...). */
  dataset: string;
  features: string[];
  /** How it was chosen, in a sentence. */
  method: string;
  /** Free-form details (thresholds, scores). */
  details?: Record<string, unknown>;
  created: string;
}

/** experiments/feature-sets/ of this repository. */
export const FEATURE_SET_DIR: string = fileURLToPath(
  new URL("../../experiments/feature-sets/", import.meta.url),
);

/** Writes `<dir>/<name>.json` (default dir experiments/feature-sets/) and returns the path. */
export async function saveFeatureSet(
  set: Omit<FeatureSetFile, "created"> & { created?: string },
  dir: string = FEATURE_SET_DIR,
): Promise<string> {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(set.name)) {
    throw new RangeError(`feature set name must match [a-z0-9][a-z0-9._-]*, found "${set.name}"`);
  }
  if (!set.features.length) throw new RangeError(`feature set "${set.name}" is empty`);
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `${set.name}.json`);
  const body: FeatureSetFile = { created: new Date().toISOString(), ...set, features: [...set.features] };
  await Deno.writeTextFile(path, JSON.stringify(body, null, 2) + "\n");
  return path;
}

/** Reads a saved feature set by name (from `dir`) or by path; checks its shape. */
export async function loadFeatureSet(
  nameOrPath: string,
  dir: string = FEATURE_SET_DIR,
): Promise<FeatureSetFile> {
  const path = nameOrPath.endsWith(".json") ? nameOrPath : join(dir, `${nameOrPath}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new InputError(`cannot read feature set: ${(e as Error).message}`, { file: path });
  }
  const o = raw as Partial<FeatureSetFile>;
  if (
    !o || typeof o.name !== "string" || !Array.isArray(o.features) ||
    !o.features.every((f) => typeof f === "string")
  ) {
    throw new InputError(`expected { name: string, features: string[], ... }`, { file: path });
  }
  if (o.features.length === 0) {
    throw new InputError(`feature set has no features`, { file: path, column: "features" });
  }
  return o as FeatureSetFile;
}
