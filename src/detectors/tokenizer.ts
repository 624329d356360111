/**
 * Turns feature-matrix rows (flows) into token sequences for `flow-lm`.
 *
 * Detectors receive a numeric {@link Matrix}, so the tokenizer works on its
 * columns:
 * - **Categorical fields** come back from one-hot groups: columns named
 *   `field=value` (e.g. `protocol_type=tcp`, `protocol_type=udp`) sharing the
 *   prefix before the first `=` form one field whose tokens are the values
 *   (plus `field=<none>` when no column of the group is set).
 * - **Numeric fields** (every other column) are quantised into quantile bins
 *   fitted on the training rows (`bins` quantiles, duplicate cut points merged,
 *   so a heavily zero-inflated column gets few bins and a binary column two).
 * - **Out-of-range values** get words of their own that never occur in benign
 *   training data, so the model gives them low probability — exactly what a
 *   novel value should cost. They are graded by how far out the value lies, in
 *   decades of the field's benign range R = max − min: beyond the edge by
 *   ≤ 0.1 R, 0.1–1 R, 1–10 R, > 10 R ({@link OUT_OF_RANGE_EDGES}), on each
 *   side (`<min`, `>max`), so a value far outside benign traffic is a different
 *   word from one just past the edge. A column that is constant in training
 *   (R = 0) gets one word per side. Categories never seen in training (the
 *   preprocessor's `field=__unknown__` column, or no column set) are likewise
 *   words the model never saw.
 *
 * - **Fine tokens** (`fine` > 0, off by default): a numeric field whose bins
 *   hold a spread of values gets a second field, `name~fine`, placed after
 *   every coarse field: the value's position inside its bin, in up to `fine`
 *   quantile sub-bins fitted on the training values of that bin (`n/a` out of
 *   range, where the graded words already say how far). The coarse token says
 *   roughly where a value lies; the fine one lets a shift inside a wide bin
 *   cost surprisal too, which one token per field cannot show.
 *
 * A row becomes `[f1=t1, f2=t2, …, fK=tK]` with one token per field, in column
 * order (fine fields last); ids are local to each field (`0 … vocab(field) − 1`), and
 * {@link Tokenizer.offsets} maps them to a global vocabulary (field id + bin),
 * so `bytes=bin3` and `duration=bin3` are different words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitTokenizer } from "./tokenizer.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const m = matrixFromRows([[1, 0, 5], [0, 1, 7], [1, 0, 9]], ["proto=tcp", "proto=udp", "bytes"]);
 * const tok = fitTokenizer(m, { bins: 2 });
 * assert.equal(tok.fields.length, 2);
 * assert.equal(tok.fields[0].name, "proto");
 * const ids = tok.encode(m);
 * assert.equal(ids.length, 6);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { savedFormat } from "./_linalg.ts";

/** One token field. */
export interface TokenField {
  /** Field name (column name, or the one-hot prefix). */
  name: string;
  kind: "onehot" | "numeric" | "fine";
  /** Matrix columns feeding this field. */
  cols: number[];
  /** Token labels, one per local id. */
  labels: string[];
  /** Numeric only: sorted cut points (quantiles); bin = #cuts strictly below the value. */
  cuts?: number[];
  /** Numeric only: training min and max (outside → the below/above tokens). */
  min?: number;
  max?: number;
  /**
   * Numeric only: grade edges of out-of-range distances, in units of the
   * benign range (`max − min`); `edges.length + 1` words per side. Absent in
   * format-1 tokenizers, which have one word per side.
   */
  outEdges?: number[];
  /**
   * Fine only: per bin of the numeric field `of` (same column), the sorted sub-cut points; sub-bin =
   * #sub-cuts strictly below the value. The last label is `n/a` (out of range).
   */
  subCuts?: number[][];
  /** Fine only: index of the numeric field this one refines. */
  of?: number;
}

/**
 * Default out-of-range grade edges, in units of the benign range: one word
 * each for ≤ 0.1, 0.1–1, 1–10 and > 10 ranges beyond the edge. Chosen a
 * priori (log-scale decades), not from test results.
 */
export const OUT_OF_RANGE_EDGES: readonly number[] = [0.1, 1, 10];

/** Current tokenizer state format; 1 (no `version` field) and 2 (no fine fields) are still read. */
export const TOKENIZER_FORMAT = 3;

/** Options for {@link fitTokenizer}. */
export interface TokenizerOptions {
  /** Quantile bins per numeric field (upper bound; ties merge bins). */
  bins: number;
  /** Recognise `field=value` one-hot groups (default true). */
  onehot?: boolean;
  /**
   * Out-of-range grade edges in units of the benign range (default
   * {@link OUT_OF_RANGE_EDGES}); `[]` = one word per side.
   */
  outEdges?: readonly number[];
  /** Quantile sub-bins per bin for fine tokens (default 0: none). */
  fine?: number;
}

/** Serialisable tokenizer state. */
export interface TokenizerState {
  /** Format version ({@link TOKENIZER_FORMAT}); absent = 1. */
  version?: number;
  fields: TokenField[];
  nCols: number;
}

/** A fitted tokenizer. */
export class Tokenizer {
  readonly fields: TokenField[];
  readonly nCols: number;
  /** Global id of each field's local id 0. */
  readonly offsets: number[];
  /** Size of the global vocabulary (sum of field vocabularies). */
  readonly vocabSize: number;
  /** Largest field vocabulary. */
  readonly maxFieldVocab: number;

  constructor(state: TokenizerState) {
    this.fields = state.fields;
    this.nCols = state.nCols;
    this.offsets = [];
    let off = 0, mx = 0;
    for (const f of this.fields) {
      this.offsets.push(off);
      off += f.labels.length;
      mx = Math.max(mx, f.labels.length);
    }
    this.vocabSize = off;
    this.maxFieldVocab = mx;
  }

  /** Token of field `f` for matrix row `r` (local id). */
  tokenOf(f: TokenField, data: Float64Array, base: number): number {
    if (f.kind === "fine") {
      const coarse = this.fields[f.of!];
      const v = data[base + f.cols[0]];
      const b = this.tokenOf(coarse, data, base);
      if (b > coarse.cuts!.length) return f.labels.length - 1; // out of range: n/a
      return below(f.subCuts![b], v);
    }
    if (f.kind === "onehot") {
      let best = -1, bestV = 0.5;
      for (let k = 0; k < f.cols.length; k++) {
        const v = data[base + f.cols[k]];
        if (v > bestV) {
          bestV = v;
          best = k;
        }
      }
      return best < 0 ? f.cols.length : best; // last label is <none>
    }
    const v = data[base + f.cols[0]];
    const cuts = f.cuts!;
    const nb = cuts.length + 1;
    if (v < f.min! || v > f.max!) {
      const edges = f.outEdges;
      if (!edges) return v < f.min! ? nb : nb + 1; // format 1: one word per side
      const g = edges.length + 1;
      const range = f.max! - f.min!;
      const dist = v < f.min! ? f.min! - v : v - f.max!;
      let k = 0;
      if (range > 0) { while (k < edges.length && dist > edges[k] * range) k++; }
      return (v < f.min! ? nb : nb + g) + k;
    }
    return below(cuts, v);
  }

  /** Local token ids, rows × fields, row-major. */
  encode(x: Matrix): Int32Array {
    if (x.cols !== this.nCols) {
      throw new InputError(`tokenizer: expected ${this.nCols} feature columns, found ${x.cols}`);
    }
    const F = this.fields.length;
    const out = new Int32Array(x.rows * F);
    for (let r = 0; r < x.rows; r++) {
      const base = r * x.cols;
      for (let f = 0; f < F; f++) out[r * F + f] = this.tokenOf(this.fields[f], x.data, base);
    }
    return out;
  }

  /**
   * How far each numeric value lies outside its field's benign range, in
   * units of that range (`max − min`; the value's magnitude, at least 1, for
   * a column that was constant in training): 0 inside the range and for
   * categorical and fine fields. Rows × fields, row-major, like
   * {@link encode}. flow-lm's `tail` cost reads it: the model never saw an
   * out-of-range word, so it cannot tell "just out" from "far out".
   */
  outOfRange(x: Matrix): Float32Array {
    if (x.cols !== this.nCols) {
      throw new InputError(`tokenizer: expected ${this.nCols} feature columns, found ${x.cols}`);
    }
    const F = this.fields.length;
    const out = new Float32Array(x.rows * F);
    this.fields.forEach((f, k) => {
      if (f.kind !== "numeric") return;
      const lo = f.min!, hi = f.max!, c = f.cols[0];
      const unit = hi > lo ? hi - lo : Math.max(Math.abs(hi), 1);
      for (let r = 0; r < x.rows; r++) {
        const v = x.data[r * x.cols + c];
        if (v < lo) out[r * F + k] = (lo - v) / unit;
        else if (v > hi) out[r * F + k] = (v - hi) / unit;
      }
    });
    return out;
  }

  /** Human-readable `field=label` words of one encoded row. */
  words(tokens: ArrayLike<number>): string[] {
    return this.fields.map((f, i) => `${f.name}=${f.labels[tokens[i]]}`);
  }

  toJSON(): TokenizerState {
    return { version: TOKENIZER_FORMAT, fields: this.fields, nCols: this.nCols };
  }

  /** Restores a tokenizer from {@link toJSON}'s output, checking its shape. */
  static fromJSON(s: unknown, what = "tokenizer"): Tokenizer {
    const st = s as TokenizerState;
    if (!st || !Array.isArray(st.fields) || typeof st.nCols !== "number") {
      throw new InputError(`${what}: saved tokenizer is missing or malformed`);
    }
    const version = savedFormat(st.version, TOKENIZER_FORMAT, `${what}: saved tokenizer`);
    for (const f of st.fields) {
      if (
        !f || !Array.isArray(f.cols) || !Array.isArray(f.labels) ||
        (f.kind !== "onehot" && f.kind !== "numeric" && !(f.kind === "fine" && version >= 3))
      ) {
        throw new InputError(`${what}: saved tokenizer field ${JSON.stringify(f?.name)} is malformed`);
      }
      if (f.cols.some((c) => !(c >= 0 && c < st.nCols))) {
        throw new InputError(`${what}: saved tokenizer field "${f.name}" points outside ${st.nCols} columns`);
      }
      if (
        f.kind === "numeric" &&
        (!Array.isArray(f.cuts) || typeof f.min !== "number" || typeof f.max !== "number")
      ) {
        throw new InputError(`${what}: saved tokenizer field "${f.name}" lacks its bins`);
      }
      if (f.kind === "numeric") {
        const g = f.outEdges === undefined ? 1 : Array.isArray(f.outEdges) ? f.outEdges.length + 1 : NaN;
        if (version === 1 && f.outEdges !== undefined || !(f.labels.length === f.cuts!.length + 1 + 2 * g)) {
          throw new InputError(
            `${what}: saved tokenizer field "${f.name}" has ${f.labels.length} words, expected ${
              f.cuts!.length + 1
            } bins + ${2 * g} out-of-range words`,
          );
        }
      }
    }
    st.fields.forEach((f, i) => {
      if (f.kind !== "fine") return;
      const c = st.fields[f.of as number];
      const ok = Number.isInteger(f.of) && f.of! < i && c?.kind === "numeric" && c.cols[0] === f.cols[0] &&
        Array.isArray(f.subCuts) && f.subCuts.length === c.cuts!.length + 1 &&
        f.subCuts.every((sc) => Array.isArray(sc) && sc.length + 2 <= f.labels.length);
      if (!ok) {
        throw new InputError(
          `${what}: saved tokenizer fine field "${f.name}" does not match its numeric field`,
        );
      }
    });
    return new Tokenizer(st);
  }
}

/** How many of the sorted `cuts` lie strictly below `v`. */
function below(cuts: readonly number[], v: number): number {
  let lo = 0, hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cuts[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Groups `field=value` columns (≥ 2 sharing a prefix); returns prefix → column indices. */
export function oneHotGroups(names: readonly string[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  names.forEach((n, i) => {
    const eq = n.indexOf("=");
    if (eq <= 0) return;
    const p = n.slice(0, eq);
    if (!groups.has(p)) groups.set(p, []);
    groups.get(p)!.push(i);
  });
  for (const [p, cols] of groups) if (cols.length < 2) groups.delete(p);
  return groups;
}

/** One field of a row: a one-hot group (prefix, columns, value labels) or a plain column. */
export type ColumnField =
  | { group: string; cols: number[]; labels: string[] }
  | { group: undefined; col: number };

/**
 * The fields of a row in column order. Each one-hot group ({@link oneHotGroups})
 * becomes one field where its first column stands, labelled by the value
 * after `prefix=`; every other column is a field of its own. Shared by the
 * tokenizer and the text serialisation of flows, so both read a row alike.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { columnFields } from "./tokenizer.ts";
 * assert.deepEqual(columnFields(["bytes", "proto=tcp", "proto=udp"]), [
 *   { group: undefined, col: 0 },
 *   { group: "proto", cols: [1, 2], labels: ["tcp", "udp"] },
 * ]);
 * ```
 */
export function columnFields(names: readonly string[], cols = names.length, onehot = true): ColumnField[] {
  const groups = onehot ? oneHotGroups(names) : new Map<string, number[]>();
  const inGroup = new Map<number, string>();
  for (const [p, cs] of groups) for (const c of cs) inGroup.set(c, p);
  const out: ColumnField[] = [];
  const done = new Set<string>();
  for (let j = 0; j < cols; j++) {
    const g = inGroup.get(j);
    if (g === undefined) {
      out.push({ group: undefined, col: j });
    } else if (!done.has(g)) {
      done.add(g);
      const cs = groups.get(g)!;
      out.push({ group: g, cols: cs, labels: cs.map((c) => names[c].slice(g.length + 1)) });
    }
  }
  return out;
}

function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

/** Fits quantile bins and one-hot groups on training rows. */
export function fitTokenizer(x: Matrix, opts: TokenizerOptions): Tokenizer {
  if (x.rows < 1) throw new InputError("tokenizer: needs at least one training row");
  const bins = Math.max(1, Math.floor(opts.bins));
  const edges = [...(opts.outEdges ?? OUT_OF_RANGE_EDGES)];
  if (edges.some((e, i) => !(e > 0) || (i > 0 && e <= edges[i - 1]))) {
    throw new InputError(
      `tokenizer: outEdges must be increasing positive numbers, found ${JSON.stringify(edges)}`,
    );
  }
  const fields: TokenField[] = [];
  const fine: TokenField[] = [];
  const nFine = Math.max(0, Math.floor(opts.fine ?? 0));
  const col = new Float64Array(x.rows);
  for (const f of columnFields(x.names, x.cols, opts.onehot !== false)) {
    if (f.group !== undefined) {
      fields.push({ name: f.group, kind: "onehot", cols: f.cols, labels: [...f.labels, "<none>"] });
      continue;
    }
    const j = f.col;
    for (let i = 0; i < x.rows; i++) col[i] = x.data[i * x.cols + j];
    const sorted = Float64Array.from(col).sort();
    const min = sorted[0], max = sorted[sorted.length - 1];
    const cuts = quantileCuts(sorted, bins);
    const labels: string[] = [];
    let lo = min;
    for (let b = 0; b <= cuts.length; b++) {
      const hi = b < cuts.length ? cuts[b] : max;
      labels.push(b === 0 ? `[${fmtNum(lo)},${fmtNum(hi)}]` : `(${fmtNum(lo)},${fmtNum(hi)}]`);
      lo = hi;
    }
    // A constant column has no range to measure distance in: one word per side.
    const outEdges = max > min ? edges : [];
    const grade = (k: number) =>
      outEdges.length === 0
        ? ""
        : k === 0
        ? `(≤${outEdges[0]}R)`
        : k === outEdges.length
        ? `(>${outEdges[k - 1]}R)`
        : `(${outEdges[k - 1]}–${outEdges[k]}R)`;
    for (let k = 0; k <= outEdges.length; k++) labels.push(`<${fmtNum(min)}${grade(k)}`);
    for (let k = 0; k <= outEdges.length; k++) labels.push(`>${fmtNum(max)}${grade(k)}`);
    fields.push({ name: x.names[j], kind: "numeric", cols: [j], labels, cuts, min, max, outEdges });
    if (nFine > 1) {
      const f = fineField(sorted, cuts, nFine, x.names[j], j, fields.length - 1);
      if (f) fine.push(f);
    }
  }
  return new Tokenizer({ fields: [...fields, ...fine], nCols: x.cols });
}

/**
 * Up to `bins − 1` cut points at the quantiles of `sorted` (ascending values), ties merged and never at
 * the maximum; when that leaves none but the values differ, the minimum is the cut, so it gets a bin of
 * its own (a column that is mostly one value). None for fewer than two distinct values.
 */
function quantileCuts(sorted: Float64Array, bins: number): number[] {
  const cuts: number[] = [];
  if (sorted.length === 0) return cuts;
  const min = sorted[0], max = sorted[sorted.length - 1];
  for (let q = 1; q < bins; q++) {
    const c = sorted[Math.min(sorted.length - 1, Math.floor((q / bins) * sorted.length))];
    if (c < max && (cuts.length === 0 || c > cuts[cuts.length - 1])) cuts.push(c);
  }
  if (cuts.length === 0 && max > min) cuts.push(min);
  return cuts;
}

/**
 * The fine field of a numeric column (sorted training values, its bins' `cuts`): per bin, up to
 * `n` quantile sub-bins of the values in it; undefined when no bin holds more than one distinct value.
 */
function fineField(
  sorted: Float64Array,
  cuts: readonly number[],
  n: number,
  name: string,
  col: number,
  of: number,
): TokenField | undefined {
  const subCuts: number[][] = [];
  let start = 0;
  for (let b = 0; b <= cuts.length; b++) {
    // Values of bin b: (cuts[b-1], cuts[b]] (the first bin also holds the minimum).
    let end = start;
    while (end < sorted.length && (b === cuts.length || sorted[end] <= cuts[b])) end++;
    subCuts.push(quantileCuts(sorted.subarray(start, end), n));
    start = end;
  }
  const width = subCuts.reduce((m, c) => Math.max(m, c.length), 0);
  if (width === 0) return undefined;
  const labels = Array.from({ length: width + 1 }, (_, k) => `·${k}`);
  labels.push("n/a");
  return { name: `${name}~fine`, kind: "fine", cols: [col], labels, subCuts, of };
}
