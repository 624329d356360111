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
import type pl from "nodejs-polars";
import type { Matrix } from "../data/matrix.ts";
import { fitTransform, type NanPolicy, type ScaleMethod } from "../data/preprocess.ts";
import type { PreprocessOptions } from "./config.ts";

/** A fitted preprocessing step. */
export interface Prepared {
  /** The transformed training rows (after deduplication). */
  train: Matrix;
  apply(df: pl.DataFrame): Matrix;
  describe(): Record<string, unknown>;
}

/** Fits the preprocessing on `train`. */
export function fitPreprocess(train: pl.DataFrame, opts: PreprocessOptions): Prepared {
  const { scale, nanPolicy, dropConstant, ...rest } = opts;
  const fit = fitTransform(train, {
    ...rest,
    scale: (scale ?? "minmax") as ScaleMethod,
    nanPolicy: (nanPolicy ?? "zero") as NanPolicy,
    dropConstant: dropConstant ?? true,
  });
  return {
    train: fit.matrix,
    apply: (df) => fit.transform.apply(df),
    describe: () => ({ options: { scale: scale ?? "minmax", nanPolicy: nanPolicy ?? "zero", ...rest }, fit_report: fit.report }),
  };
}
