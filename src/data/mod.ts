/**
 * Datasets and preprocessing: loaders for the vendored intrusion-detection
 * datasets (NSL-KDD, KDD Cup 99, CIC-IDS2017, UNSW-NB15) and generic CSV /
 * Parquet tables as polars DataFrames whose schema separates features from
 * metadata; the fitted preprocessing {@link Transform}; the row-major
 * {@link Matrix} every detector consumes; data-quality checks and feature
 * selection. docs/datasets.md and docs/preprocess.md describe each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { familyOf, fitTransform, labels, matrixFromRows, takeRows } from "nadir/data";
 *
 * assert.equal(familyOf("nsl-kdd-test"), "nsl-kdd");
 * const df = pl.DataFrame({ duration: [0, 10, 20, 20], src_bytes: [100, 200, 300, 300], label: [0, 0, 1, 1] });
 * // Fit on training rows only (duplicates are dropped), then apply unchanged to any frame.
 * const fit = fitTransform(df, { features: ["duration", "src_bytes"], scale: "minmax" });
 * assert.equal(fit.matrix.rows, 3);
 * assert.deepEqual([...labels(df, fit.rows)], [0, 0, 1]);
 * const test = fit.transform.apply(pl.DataFrame({ duration: [5], src_bytes: [150] }));
 * assert.deepEqual([...test.data], [0.25, 0.25]);
 *
 * const m = matrixFromRows([[1, 2], [3, 4], [5, 6]], ["a", "b"]);
 * assert.deepEqual([...takeRows(m, [2, 0]).data], [5, 6, 1, 2]);
 * ```
 * @module
 */
export * from "./datasets.ts";
export * from "./source.ts";
export * from "./schema.ts";
export * from "./frame.ts";
export * from "./matrix.ts";
export * from "./preprocess.ts";
export * from "./quality.ts";
export * from "./select.ts";
export * from "./targets.ts";
export * from "./verify.ts";
export { detectFamily, loadTable, readGenericTable } from "./table.ts";
export { loadKdd99, loadNslKdd } from "./kdd.ts";
export { type CicLayout, type CicOptions, loadCicIds2017 } from "./cicids2017.ts";
export { loadUnswNb15, type UnswLayout } from "./unsw_nb15.ts";
