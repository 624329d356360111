/**
 * Preprocessing for the runner: src/data/preprocess.ts's {@link fitTransform}
 * fit on the training rows only (deduplicated, constant columns dropped,
 * one-hot with an unknown bucket, scaled), then applied unchanged to the
 * validation and test rows.
 *
 * The runner's default non-finite policy is "zero" (CIC-IDS2017 flow rates can
 * be NaN/Infinity for zero-duration flows); configs may choose another.
 *
 * @module
 */
import pl from "nodejs-polars";
import type { Matrix } from "../data/matrix.ts";
import { fitTransform, type NanPolicy, type ScaleMethod } from "../data/preprocess.ts";
import { categoricalColumns, featureColumns } from "../data/schema.ts";
import { numericColumn } from "../data/frame.ts";
import type { PreprocessOptions } from "./config.ts";

/** The rows `rows` of `df`, in that order. */
export function gather(df: pl.DataFrame, rows: Uint32Array): pl.DataFrame {
  return df.select(pl.all().gather(pl.Series("rows", Array.from(rows), pl.UInt32)));
}

/** A fitted preprocessing step. */
export interface Prepared {
  /** The transformed training rows (after deduplication). */
  train: Matrix;
  apply(df: pl.DataFrame): Matrix;
  describe(): Record<string, unknown>;
}

/**
 * Signed log: x ↦ sign(x)·ln(1 + |x|) on every numeric feature (`preprocess.log1p: true`), applied
 * before scaling. Flow features (bytes, rates, inter-arrival times) span many orders of magnitude;
 * after a plain min–max scaling the few largest training values squash everything else to ~0.
 * Non-finite values pass through for the NaN policy to handle.
 */
export function signedLog(df: pl.DataFrame): pl.DataFrame {
  const feats = featureColumns(df);
  const cats = new Set(categoricalColumns(df, feats));
  const cols = feats.filter((c) => !cats.has(c)).map((c) => {
    const v = numericColumn(df, c);
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Math.sign(v[i]) * Math.log1p(Math.abs(v[i]));
    return pl.Series(c, out, pl.Float64);
  });
  return cols.length ? df.withColumns(...cols) : df;
}

/** Fits the preprocessing on `train`. */
export function fitPreprocess(train0: pl.DataFrame, opts: PreprocessOptions): Prepared {
  const { scale, nanPolicy, dropConstant, log1p, ...rest } = opts;
  const pre = log1p ? signedLog : (df: pl.DataFrame) => df;
  const train = pre(train0);
  const fit = fitTransform(train, {
    ...rest,
    scale: (scale ?? "minmax") as ScaleMethod,
    nanPolicy: (nanPolicy ?? "zero") as NanPolicy,
    dropConstant: dropConstant ?? true,
  });
  return {
    train: fit.matrix,
    apply: (df) => fit.transform.apply(pre(df)),
    describe: () => ({
      options: { log1p: !!log1p, scale: scale ?? "minmax", nanPolicy: nanPolicy ?? "zero", ...rest },
      fit_report: fit.report,
    }),
  };
}
