/**
 * Preprocessing adapter for the runner: fit on the training rows only, apply
 * unchanged to validation and test rows.
 *
 * TODO(runner-prep): switch to src/data/preprocess.ts (fitTransform /
 * transform.apply) as soon as it lands; this interim version only one-hot
 * encodes categorical columns (categories seen in training + an unknown
 * bucket), maps non-finite values to 0 and min-max scales with training ranges.
 *
 * @module
 */
import type pl from "nodejs-polars";
import type { Matrix } from "../data/matrix.ts";
import { categoricalColumns, featureColumns } from "../data/schema.ts";
import { numericColumn } from "../data/frame.ts";
import type { PreprocessOptions } from "./config.ts";

/** A fitted preprocessing step. */
export interface Prepared {
  apply(df: pl.DataFrame): Matrix;
  describe(): Record<string, unknown>;
}

/** Fits the preprocessing on `train`. */
export function fitPreprocess(train: pl.DataFrame, opts: PreprocessOptions): Prepared {
  const feats = featureColumns(train);
  const cats = new Set(categoricalColumns(train, feats));
  const levels = new Map<string, string[]>();
  for (const c of cats) {
    levels.set(c, [...new Set((train.getColumn(c).toArray() as unknown[]).map(String))].sort());
  }
  const names: string[] = [];
  for (const c of feats) {
    if (cats.has(c)) names.push(...levels.get(c)!.map((l) => `${c}=${l}`), `${c}=<unknown>`);
    else names.push(c);
  }
  const raw = (df: pl.DataFrame): Float64Array => {
    const n = df.height, w = names.length;
    const out = new Float64Array(n * w);
    let j = 0;
    for (const c of feats) {
      if (cats.has(c)) {
        const lv = levels.get(c)!;
        const idx = new Map(lv.map((l, k) => [l, k]));
        const vals = df.getColumn(c).toArray() as unknown[];
        for (let i = 0; i < n; i++) out[i * w + j + (idx.get(String(vals[i])) ?? lv.length)] = 1;
        j += lv.length + 1;
      } else {
        const v = numericColumn(df, c);
        for (let i = 0; i < n; i++) out[i * w + j] = Number.isFinite(v[i]) ? v[i] : 0;
        j++;
      }
    }
    return out;
  };
  const w = names.length;
  const tr = raw(train);
  const lo = new Float64Array(w).fill(Infinity), hi = new Float64Array(w).fill(-Infinity);
  for (let i = 0; i < train.height; i++) {
    for (let k = 0; k < w; k++) {
      const v = tr[i * w + k];
      if (v < lo[k]) lo[k] = v;
      if (v > hi[k]) hi[k] = v;
    }
  }
  const scale = opts.scale ?? "minmax";
  return {
    apply(df) {
      const d = raw(df);
      if (scale === "minmax") {
        for (let i = 0; i < df.height; i++) {
          for (let k = 0; k < w; k++) {
            const r = hi[k] - lo[k];
            d[i * w + k] = r > 0 ? (d[i * w + k] - lo[k]) / r : d[i * w + k] - lo[k];
          }
        }
      }
      return { data: d, rows: df.height, cols: w, names };
    },
    describe() {
      return { implementation: "interim eval/prep.ts", features: feats.length, columns: w, categorical: [...cats], scale };
    },
  };
}
