import assert from "node:assert/strict";
import { matrixFromRows } from "../../src/data/matrix.ts";
import {
  constantColumns,
  duplicateRows,
  keepAfterNoiseFilter,
  nonFiniteCounts,
  qualitySummary,
  robustOutliers,
} from "../../src/data/quality.ts";
import { loadDataset } from "../../src/data/datasets.ts";
import { labels as labelColumn, toMatrix } from "../../src/data/frame.ts";

Deno.test("quality: nonFiniteCounts separates NaN, +Inf and -Inf per column", () => {
  const m = matrixFromRows([[NaN, 1, Infinity], [0, -Infinity, Infinity], [NaN, 2, 3]], ["a", "b", "c"]);
  assert.deepEqual(nonFiniteCounts(m), [
    { feature: "a", nan: 2, posInf: 0, negInf: 0 },
    { feature: "b", nan: 0, posInf: 0, negInf: 1 },
    { feature: "c", nan: 0, posInf: 2, negInf: 0 },
  ]);
  assert.equal(nonFiniteCounts(matrixFromRows([[1, 2]], ["x", "y"])).length, 0);
  assert.equal(nonFiniteCounts(matrixFromRows([[1, 2]], ["x", "y"]), { all: true }).length, 2);
});

Deno.test("quality: constantColumns ignores non-finite values", () => {
  const m = matrixFromRows([[1, 5, NaN], [1, 6, NaN], [1, 5, NaN]], ["k", "v", "n"]);
  assert.deepEqual(constantColumns(m), ["k", "n"]);
  assert.deepEqual(constantColumns(m, [0, 2]), ["k", "v", "n"]);
});

Deno.test("quality: duplicateRows finds exact duplicates, treats ±0 and NaN as equal, flags contradictions", () => {
  const m = matrixFromRows([[1, 2], [3, 4], [1, 2], [0, NaN], [-0, NaN], [1, 2.0000000001], [3, 4]], [
    "a",
    "b",
  ]);
  const d = duplicateRows(m, ["normal", "dos", "normal", "normal", "probe", "normal", "dos"]);
  assert.deepEqual(Array.from(d.firstOf), [0, 1, 0, 3, 3, 5, 1]);
  assert.equal(d.uniqueRows, 4);
  assert.equal(d.duplicateRows, 3);
  assert.equal(d.contradictoryGroups, 1, "rows 3 and 4 are identical but labelled differently");
  assert.equal(d.contradictoryRows, 2);
  assert.deepEqual(Array.from(keepAfterNoiseFilter(d)), [0, 1, 5]);
  assert.deepEqual(Array.from(keepAfterNoiseFilter(d, { dropContradictory: false })), [0, 1, 3, 5]);
  assert.deepEqual(Array.from(keepAfterNoiseFilter(d, { dedupe: false })), [0, 1, 2, 5, 6]);
  assert.throws(() => duplicateRows(m, [0]), /7 rows but 1 labels/);
});

Deno.test("quality: duplicateRows never merges different rows that share a hash bucket", () => {
  // 20k distinct rows: any hash collision must be resolved by the value comparison.
  const rows = Array.from({ length: 20_000 }, (_, i) => [i % 97, Math.floor(i / 97), i * 0.5]);
  const d = duplicateRows(matrixFromRows(rows, ["a", "b", "c"]));
  assert.equal(d.duplicateRows, 0);
});

Deno.test("quality: robustOutliers flags rows far from the median, skips zero-MAD columns", () => {
  const rows = Array.from({ length: 101 }, (_, i) => [i % 10, 0, 5 + (i % 3)]);
  rows[50] = [1000, 0, 6];
  rows[60] = [3, 1e9, 6]; // column b has MAD 0: not a reason to flag
  const r = robustOutliers(matrixFromRows(rows, ["a", "b", "c"]), { k: 10, log: false });
  assert.deepEqual(Array.from(r.outliers), [50]);
  assert.deepEqual(r.perFeature, [{ feature: "a", count: 1 }]);
  const sub = robustOutliers(matrixFromRows(rows, ["a", "b", "c"]), {
    rows: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 60],
    k: 10,
  });
  assert.equal(sub.outliers.length, 0);
});

Deno.test("quality: NSL-KDD KDDTest-21 summary on real data", () => {
  const { df, features } = loadDataset("nsl-kdd-test-21");
  const numeric = features.filter((f) => !["protocol_type", "service", "flag"].includes(f));
  const m = toMatrix(df, numeric);
  const s = qualitySummary(m, labelColumn(df));
  assert.equal(s.rows, 11_850);
  assert.equal(s.features, 38);
  assert.equal(s.nonFiniteCells, 0);
  // NSL-KDD removed KDD'99's exact duplicates, but without protocol/service/flag 158 rows still collide,
  // 108 of them in 54 groups labelled both normal and attack (values measured on the vendored file).
  assert.equal(s.duplicateRows, 158);
  assert.equal(s.contradictoryGroups, 54);
  assert.equal(s.contradictoryRows, 108);
  assert.ok(s.constantFeatures.includes("num_outbound_cmds"), "num_outbound_cmds is all zero in NSL-KDD");
});
