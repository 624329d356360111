/**
 * NSL-KDD prepared the same way for the detector bench and the quality check:
 * preprocessing (dedupe, one-hot, min-max) fitted on the benign rows of
 * KDDTrain+ only, then applied to KDDTest+. Test labels are returned for
 * evaluation only; nothing is tuned on them.
 *
 * @module
 */
import { loadDataset } from "../src/data/datasets.ts";
import { labels } from "../src/data/frame.ts";
import { fitTransform } from "../src/data/preprocess.ts";
import type { Matrix } from "../src/data/matrix.ts";
import pl from "nodejs-polars";

export interface NslKdd {
  /** Benign KDDTrain+ rows, transformed (deduplicated). */
  train: Matrix;
  /** KDDTest+ rows, transformed. */
  test: Matrix;
  /** KDDTest+ labels (1 = attack). */
  testLabels: Int32Array;
}

/** Loads and preprocesses NSL-KDD (KDDTrain+ benign → KDDTest+). */
export function nslKdd(trainName = "nsl-kdd-train", testName = "nsl-kdd-test"): NslKdd {
  const tr = loadDataset(trainName).df;
  const te = loadDataset(testName).df;
  const benign = tr.filter(pl.col("label").eq(0));
  const { transform, matrix } = fitTransform(benign, { scale: "minmax" });
  return { train: matrix, test: transform.apply(te), testLabels: labels(te) };
}
