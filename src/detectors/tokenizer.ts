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
 *   Two extra tokens per field mark values below the training minimum and above
 *   the training maximum: they never occur in benign training data, so the
 *   model gives them low probability — exactly what an out-of-range value
 *   should cost.
 *
 * A row becomes `[f1=t1, f2=t2, …, fK=tK]` with one token per field, in column
 * order; ids are local to each field (`0 … vocab(field) − 1`), and
 * {@link Tokenizer.offsets} maps them to a global vocabulary (field id + bin),
 * so `bytes=bin3` and `duration=bin3` are different words.
 *
 * @example
 * ```ts
 * import { fitTokenizer } from "./tokenizer.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const m = matrixFromRows([[1, 0, 5], [0, 1, 7], [1, 0, 9]], ["proto=tcp", "proto=udp", "bytes"]);
 * const tok = fitTokenizer(m, { bins: 2 });
 * console.assert(tok.fields.length === 2 && tok.fields[0].name === "proto");
 * const ids = tok.encode(m);
 * console.assert(ids.length === 6);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";

/** One token field. */
export interface TokenField {
  /** Field name (column name, or the one-hot prefix). */
  name: string;
  kind: "onehot" | "numeric";
  /** Matrix columns feeding this field. */
  cols: number[];
  /** Token labels, one per local id. */
  labels: string[];
  /** Numeric only: sorted cut points (quantiles); bin = #cuts strictly below the value. */
  cuts?: number[];
  /** Numeric only: training min and max (outside → the below/above tokens). */
  min?: number;
  max?: number;
}

/** Options for {@link fitTokenizer}. */
export interface TokenizerOptions {
  /** Quantile bins per numeric field (upper bound; ties merge bins). */
  bins: number;
  /** Recognise `field=value` one-hot groups (default true). */
  onehot?: boolean;
}

/** Serialisable tokenizer state. */
export interface TokenizerState {
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
    if (v < f.min!) return nb; // below
    if (v > f.max!) return nb + 1; // above
    let lo = 0, hi = cuts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cuts[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
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

  /** Human-readable `field=label` words of one encoded row. */
  words(tokens: ArrayLike<number>): string[] {
    return this.fields.map((f, i) => `${f.name}=${f.labels[tokens[i]]}`);
  }

  toJSON(): TokenizerState {
    return { fields: this.fields, nCols: this.nCols };
  }

  /** Restores a tokenizer from {@link toJSON}'s output, checking its shape. */
  static fromJSON(s: unknown, what = "tokenizer"): Tokenizer {
    const st = s as TokenizerState;
    if (!st || !Array.isArray(st.fields) || typeof st.nCols !== "number") {
      throw new InputError(`${what}: saved tokenizer is missing or malformed`);
    }
    for (const f of st.fields) {
      if (
        !f || !Array.isArray(f.cols) || !Array.isArray(f.labels) ||
        (f.kind !== "onehot" && f.kind !== "numeric")
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
    }
    return new Tokenizer(st);
  }
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

function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

/** Fits quantile bins and one-hot groups on training rows. */
export function fitTokenizer(x: Matrix, opts: TokenizerOptions): Tokenizer {
  if (x.rows < 1) throw new InputError("tokenizer: needs at least one training row");
  const bins = Math.max(1, Math.floor(opts.bins));
  const groups = opts.onehot === false ? new Map<string, number[]>() : oneHotGroups(x.names);
  const inGroup = new Map<number, string>();
  for (const [p, cols] of groups) for (const c of cols) inGroup.set(c, p);
  const fields: TokenField[] = [];
  const done = new Set<string>();
  const col = new Float64Array(x.rows);
  for (let j = 0; j < x.cols; j++) {
    const g = inGroup.get(j);
    if (g !== undefined) {
      if (done.has(g)) continue;
      done.add(g);
      const cols = groups.get(g)!;
      fields.push({
        name: g,
        kind: "onehot",
        cols,
        labels: [...cols.map((c) => x.names[c].slice(g.length + 1)), "<none>"],
      });
      continue;
    }
    for (let i = 0; i < x.rows; i++) col[i] = x.data[i * x.cols + j];
    const sorted = Float64Array.from(col).sort();
    const min = sorted[0], max = sorted[sorted.length - 1];
    const cuts: number[] = [];
    for (let q = 1; q < bins; q++) {
      const c = sorted[Math.min(sorted.length - 1, Math.floor((q / bins) * sorted.length))];
      if (c < max && (cuts.length === 0 || c > cuts[cuts.length - 1])) cuts.push(c);
    }
    // Make sure the minimum has a bin of its own when the column is mostly one value.
    if (cuts.length === 0 && max > min) cuts.push(min);
    const labels: string[] = [];
    let lo = min;
    for (let b = 0; b <= cuts.length; b++) {
      const hi = b < cuts.length ? cuts[b] : max;
      labels.push(b === 0 ? `[${fmtNum(lo)},${fmtNum(hi)}]` : `(${fmtNum(lo)},${fmtNum(hi)}]`);
      lo = hi;
    }
    labels.push(`<${fmtNum(min)}`, `>${fmtNum(max)}`);
    fields.push({ name: x.names[j], kind: "numeric", cols: [j], labels, cuts, min, max });
  }
  return new Tokenizer({ fields, nCols: x.cols });
}
