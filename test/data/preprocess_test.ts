import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { loadDataset } from "../../src/data/datasets.ts";
import { loadCicIds2017 } from "../../src/data/cicids2017.ts";
import { labels } from "../../src/data/frame.ts";
import {
  fitTransform,
  preprocess_data,
  preprocessData,
  Transform,
  UNKNOWN,
} from "../../src/data/preprocess.ts";
import { matrixFromRows } from "../../src/data/matrix.ts";
import { loadTable } from "../../src/data/table.ts";
import { InputError } from "../../src/util/errors.ts";
import { fixture, nadir } from "./_helpers.ts";
import { scratchDir } from "../_scratch.ts";
import { cicLinesWith } from "../_shared.ts";
import { existsSync } from "../../src/util/fs.ts";

const train = loadDataset("nsl-kdd-train-20").df;
const test = loadDataset("nsl-kdd-test-21").df;

function colStats(data: Float64Array, rows: number, cols: number, j: number) {
  let min = Infinity, max = -Infinity, sum = 0;
  for (let i = 0; i < rows; i++) {
    const v = data[i * cols + j];
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, max, mean: sum / rows };
}

Deno.test("fitTransform: minmax on NSL-KDD train, one-hot with unknown buckets, constant column dropped", () => {
  const { transform, matrix, rows, report } = fitTransform(train, { scale: "minmax" });
  assert.equal(report.inputRows, 25192);
  assert.equal(matrix.rows, rows.length);
  assert.equal(matrix.rows, 25192 - report.duplicatesDropped);
  assert.ok(report.constantColumnsDropped.includes("num_outbound_cmds"));
  assert.ok(!transform.outputNames.includes("num_outbound_cmds"));
  assert.ok(transform.outputNames.includes(`service=${UNKNOWN}`));
  assert.ok(transform.outputNames.includes("protocol_type=tcp"));
  assert.equal(report.oneHot.protocol_type, 4);
  assert.equal(matrix.cols, transform.outputNames.length);
  // Every numeric output column spans exactly [0, 1] on the training data.
  transform.outputNames.forEach((n, j) => {
    if (n.includes("=")) return;
    const s = colStats(matrix.data, matrix.rows, matrix.cols, j);
    assert.equal(s.min, 0, n);
    assert.equal(s.max, 1, n);
  });
  // Each row sets exactly one column per one-hot group.
  const svc = transform.outputNames.map((n, j) => [n, j] as const).filter(([n]) => n.startsWith("service="));
  for (let i = 0; i < matrix.rows; i += 997) {
    assert.equal(svc.reduce((s, [, j]) => s + matrix.data[i * matrix.cols + j], 0), 1);
  }
  assert.equal(labels(train, rows).length, matrix.rows);
});

Deno.test("apply to test data: same columns, unknown categories counted, never refits", () => {
  const { transform } = fitTransform(train, { scale: "standard" });
  const before = JSON.stringify(transform.toJSON());
  const a = transform.applyDetailed(test);
  assert.equal(a.matrix.rows, test.height); // no dedupe at apply time
  assert.equal(a.rows, null);
  assert.deepEqual(a.matrix.names, transform.outputNames);
  assert.equal(JSON.stringify(transform.toJSON()), before);
  // Values absent from the 20 % training file go to the unknown bucket.
  const trainServices = new Set(train.getColumn("service").toArray() as string[]);
  const unseen =
    (test.getColumn("service").toArray() as string[]).filter((s) => !trainServices.has(s)).length;
  const j = transform.outputNames.indexOf(`service=${UNKNOWN}`);
  let bucket = 0;
  for (let i = 0; i < a.matrix.rows; i++) bucket += a.matrix.data[i * a.matrix.cols + j];
  assert.equal(bucket, unseen);
  assert.ok(a.report.unknownCategories >= unseen);
});

Deno.test("standard and robust scaling: training statistics", () => {
  const std = fitTransform(train, { scale: "standard" });
  const j = std.transform.outputNames.indexOf("src_bytes");
  const s = colStats(std.matrix.data, std.matrix.rows, std.matrix.cols, j);
  assert.ok(Math.abs(s.mean) < 1e-9, `mean ${s.mean}`);
  const rob = fitTransform(train, { scale: "robust" });
  const col = rob.transform.columns.find((c) => c.name === "count");
  assert.ok(col && col.kind === "numeric");
  const all = train.getColumn("count").toArray() as number[];
  const counts = Float64Array.from(rob.rows, (r) => all[r]).sort();
  const q = (p: number) => {
    const pos = (counts.length - 1) * p, lo = Math.floor(pos);
    return counts[lo] + (counts[Math.ceil(pos)] - counts[lo]) * (pos - lo);
  };
  assert.equal(col.center, q(0.5));
  assert.equal(col.scale, q(0.75) - q(0.25));
});

Deno.test("determinism: two fits give identical JSON and identical matrices", () => {
  const a = fitTransform(train, { scale: "robust" });
  const b = fitTransform(train, { scale: "robust" });
  assert.equal(JSON.stringify(a.transform.toJSON()), JSON.stringify(b.transform.toJSON()));
  assert.deepEqual(a.matrix.data, b.matrix.data);
  assert.deepEqual(a.rows, b.rows);
});

Deno.test("JSON round trip: a saved and loaded transform applies bit-identically", () => {
  const { transform } = fitTransform(train, { scale: "minmax", clip: true });
  const dir = scratchDir("nadir-test-");
  transform.save(`${dir}/t.json`);
  const loaded = Transform.load(`${dir}/t.json`);
  assert.deepEqual(loaded.apply(test).data, transform.apply(test).data);
  assert.equal(loaded.toJSON().format, "nadir-transform");
  assert.equal(loaded.toJSON().version, 1);
  // Clip: minmax outputs stay in [0, 1] on test data too.
  const m = loaded.apply(test);
  assert.ok(m.data.every((v) => v >= 0 && v <= 1));
  // Corrupt or foreign files are InputErrors naming the file.
  Deno.writeTextFileSync(`${dir}/bad.json`, "{");
  assert.throws(
    () => Transform.load(`${dir}/bad.json`),
    (e) => e instanceof InputError && /bad\.json: not valid JSON/.test(e.message),
  );
  Deno.writeTextFileSync(`${dir}/v9.json`, JSON.stringify({ ...transform.toJSON(), version: 9 }));
  assert.throws(() => Transform.load(`${dir}/v9.json`), /format version 9 is not supported/);
});

Deno.test("live flows: transformRows / transformRow on plain records equal apply on the frame", () => {
  const { transform } = fitTransform(train, { scale: "standard" });
  const head = test.head(50);
  const records = head.toRecords() as Record<string, unknown>[];
  assert.deepEqual(transform.transformRows(records).data, transform.apply(head).data);
  const one = transform.transformRow({ ...records[3], service: "never-seen" })!;
  const j = transform.outputNames.indexOf(`service=${UNKNOWN}`);
  assert.equal(one[j], 1);
  assert.throws(() => transform.transformRow({ duration: 1 }), /lacks feature "protocol_type"/);
});

Deno.test("applyToMatrix: numeric-only transforms apply to a Matrix by column name", () => {
  const df = pl.DataFrame({ a: [1, 2, 3, 4], b: [10, 10, 20, 40] });
  const { transform, matrix } = fitTransform(df, { features: ["a", "b"], scale: "minmax" });
  const m = transform.applyToMatrix(matrixFromRows([[0, 4, 10], [9, 2, 40]], ["extra", "a", "b"]));
  assert.deepEqual(Array.from(m.data), [1, 0, 1 / 3, 1]);
  assert.deepEqual(Array.from(matrix.data.subarray(0, 2)), [0, 0]);
  const withCat =
    fitTransform(pl.DataFrame({ a: [1, 2], p: ["x", "y"] }), { features: ["a", "p"], categorical: ["p"] })
      .transform;
  assert.throws(() => withCat.applyToMatrix(matrixFromRows([[1]], ["a"])), /use transformRows/);
});

Deno.test("NaN/Infinity policies on the original CIC layout (hand-written fixture)", () => {
  const df = loadCicIds2017(fixture("cic-original/MachineLearningCVE-sample.csv"));
  const opts = { dropDuplicates: false, dropConstant: false } as const;
  assert.throws(
    () => fitTransform(df, { ...opts, nanPolicy: "error" }),
    /non-finite value Infinity in training row 3.*"Flow Bytes\/s"|column "Flow Bytes\/s".*non-finite value Infinity in training row 3/,
  );
  const dropped = fitTransform(df, { ...opts, nanPolicy: "drop" });
  assert.deepEqual(Array.from(dropped.rows), [0, 1, 4, 5, 6]);
  assert.equal(dropped.report.nonFiniteRowsDropped, 2);
  const zero = fitTransform(df, { ...opts, nanPolicy: "zero", scale: "none" });
  const jb = zero.transform.outputNames.indexOf("Flow Bytes/s");
  assert.equal(zero.matrix.data[2 * zero.matrix.cols + jb], 0);
  assert.equal(zero.report.nonFiniteValuesReplaced, 4); // rows 3 and 4 each hold two non-finite rates
  const med = fitTransform(df, { ...opts, nanPolicy: "median", scale: "none" });
  assert.equal(med.matrix.data[3 * med.matrix.cols + jb], 1234.5);
  // At apply time "drop" reports which rows remain.
  const a = dropped.transform.applyDetailed(df);
  assert.deepEqual(Array.from(a.rows!), [0, 1, 4, 5, 6]);
});

Deno.test("duplicates: exact duplicates of the fit data are dropped, first kept, labels aligned", () => {
  const df = pl.DataFrame({
    x: [1, 1, 2, 1, 3],
    y: [5, 5, 6, 5, 7],
    label: [0, 0, 1, 1, 0],
    attack: ["normal", "normal", "a", "a", "normal"],
  });
  const r = fitTransform(df, { features: ["x", "y"] });
  assert.deepEqual(Array.from(r.rows), [0, 2, 3, 4]); // row 3 differs by label: not a duplicate
  assert.equal(r.report.duplicatesDropped, 1);
  assert.deepEqual(Array.from(labels(df, r.rows)), [0, 1, 1, 0]);
  assert.throws(() => fitTransform(df, { features: ["x", "label"] }), /cannot be features/);
});

Deno.test("preprocess_data: fit on train, apply to test, CSV and Parquet out, reload transform", async () => {
  assert.equal(preprocessData, preprocess_data);
  const dir = scratchDir("nadir-test-");
  const r1 = await preprocess_data("nsl-kdd-train-20", `${dir}/train.parquet`, {
    saveTransform: `${dir}/t.json`,
    scale: "standard",
  });
  assert.equal(r1.fitted, true);
  const pq = pl.readParquet(`${dir}/train.parquet`);
  assert.equal(pq.height, r1.rows);
  assert.deepEqual(pq.columns.slice(-3), ["label", "attack", "category"]);
  const r2 = await preprocess_data("data/nsl-kdd/KDDTest-21.txt.gz", `${dir}/test.csv`, {
    transform: `${dir}/t.json`,
  });
  assert.equal(r2.fitted, false);
  assert.equal(r2.rows, 11850);
  const csv = pl.readCSV(`${dir}/test.csv`);
  assert.equal(csv.width, r2.columns + 3);
  const direct = Transform.load(`${dir}/t.json`).apply(test);
  assert.deepEqual(
    Float64Array.from(csv.getColumn("src_bytes").toArray() as number[]),
    Float64Array.from(
      { length: direct.rows },
      (_, i) => direct.data[i * direct.cols + direct.names.indexOf("src_bytes")],
    ),
  );
  const r3 = await preprocess_data("nsl-kdd-test-21", `${dir}/t3.csv`, {
    fitOn: "nsl-kdd-train-20",
    scale: "standard",
  });
  assert.deepEqual(r3.transform.toJSON(), Transform.load(`${dir}/t.json`).toJSON());
});

Deno.test("CLI: nadir preprocess writes OUT and prints a JSON report", async () => {
  const dir = scratchDir("nadir-test-");
  const r = await nadir(
    "preprocess",
    "nsl-kdd-test-21",
    `${dir}/o.csv`,
    "--fit-on",
    "nsl-kdd-train-20",
    "--features",
    "kdd-header",
    "--save-transform",
    `${dir}/t.json`,
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.rows, 11850);
  assert.equal(j.fitReport.inputRows, 25192);
  const t = Transform.load(`${dir}/t.json`);
  assert.ok(!t.inputColumns.includes("hot") && t.inputColumns.includes("dst_host_srv_rerror_rate"));
  const bad = await nadir("preprocess", "nsl-kdd-test-21", `${dir}/o.csv`, "--scale", "log");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--scale expects one of minmax, standard, robust, none, found "log"/);
});

Deno.test("dropConstant false: a column constant on the fit rows is kept (range 0 → scale 1) and not clipped", () => {
  // wrong_fragment is 0 on every benign NSL-KDD training row and > 0 on teardrop/pod attacks:
  // dropping it would hide exactly the deviation a detector should see.
  const train = pl.DataFrame({ a: [0, 5, 10], wrong_fragment: [0, 0, 0] });
  const test = pl.DataFrame({ a: [20, 5], wrong_fragment: [3, 0] });
  const dropped = fitTransform(train, { features: ["a", "wrong_fragment"], dropDuplicates: false });
  assert.deepEqual(dropped.report.constantColumnsDropped, ["wrong_fragment"]);
  const kept = fitTransform(train, {
    features: ["a", "wrong_fragment"],
    dropDuplicates: false,
    dropConstant: false,
  });
  assert.deepEqual(kept.report.constantColumnsDropped, []);
  assert.deepEqual([...kept.transform.outputNames], ["a", "wrong_fragment"]);
  assert.deepEqual(Array.from(kept.matrix.data), [0, 0, 0.5, 0, 1, 0]);
  // Outside the training range passes through: a = 20 → 2, wrong_fragment = 3 → 3.
  assert.deepEqual(Array.from(kept.transform.apply(test).data), [2, 3, 0.5, 0]);
});

Deno.test("preprocess_data in chunks: the same CSV as the whole file (header and headerless inputs); refusals", async () => {
  const dir = scratchDir("nadir-pre-chunks-");
  for (
    const [train, input] of [
      ["nsl-kdd-train-20", "data/nsl-kdd/KDDTest-21.txt.gz"],
      ["cic-ids2017", "data/cic-ids2017/DDoS_2500.csv.gz"],
    ]
  ) {
    const t = `${dir}/${train}.json`;
    await preprocess_data(train, `${dir}/fit.csv`, { saveTransform: t, nanPolicy: "median" });
    const whole = await preprocess_data(input, `${dir}/whole.csv`, { transform: t, batchRows: 0 });
    const chunked = await preprocess_data(input, `${dir}/chunked.csv`, { transform: t, batchRows: 700 });
    assert.equal(
      Deno.readTextFileSync(`${dir}/chunked.csv`),
      Deno.readTextFileSync(`${dir}/whole.csv`),
      input,
    );
    assert.deepEqual(chunked.applyReport, whole.applyReport);
    assert.equal(chunked.rows, whole.rows);
    // Parquet out, chunk by chunk (row groups of 65,536 rows), and Parquet in, row group by row group: the
    // same frame as the whole file's CSV.
    const want = pl.readCSV(`${dir}/whole.csv`);
    await preprocess_data(input, `${dir}/chunked.parquet`, { transform: t, batchRows: 700 });
    assertSameFrame(pl.readParquet(`${dir}/chunked.parquet`), want, `${input} → Parquet`);
    const rawPq = `${dir}/input.parquet`;
    (await loadTable(input)).writeParquet(rawPq, { compression: "snappy" });
    const fromPq = await preprocess_data(rawPq, `${dir}/from-parquet.csv`, { transform: t, batchRows: 700 });
    assertSameFrame(pl.readCSV(`${dir}/from-parquet.csv`), want, `${input} as Parquet → CSV`);
    assert.equal(fromPq.rows, whole.rows);
    await assert.rejects(preprocess_data(input, `${dir}/x.csv`, { batchRows: 700 }), /--fit-on TRAIN/);
  }
  // A bad cell in a late chunk: an error, and nothing at the output path (it had held a valid Parquet file of
  // the chunks before it).
  const lines = cicLinesWith(2001, 10, "abc");
  const bad = `${dir}/bad.csv`;
  Deno.writeTextFileSync(bad, lines.join("\n"));
  for (const out of [`${dir}/bad-out.parquet`, `${dir}/bad-out.csv`]) {
    await assert.rejects(
      preprocess_data(bad, out, { transform: `${dir}/cic-ids2017.json`, batchRows: 700 }),
      /bad\.csv:2002/,
    );
    assert.ok(!existsSync(out) && !existsSync(`${out}.partial`), out);
  }
});

/** Same columns, dtypes aside, and the same values (numbers within float64's own rounding of CSV text). */
function assertSameFrame(got: pl.DataFrame, want: pl.DataFrame, what: string): void {
  assert.deepEqual(got.columns, want.columns, what);
  assert.equal(got.height, want.height, what);
  for (const name of want.columns) {
    const g = got.getColumn(name).toArray(), w = want.getColumn(name).toArray();
    for (let i = 0; i < w.length; i++) {
      const a = typeof g[i] === "bigint" ? Number(g[i]) : g[i],
        b = typeof w[i] === "bigint" ? Number(w[i]) : w[i];
      if (
        !(a === b ||
          (typeof a === "number" && typeof b === "number" && Math.abs(a - b) <= 1e-12 * Math.abs(b)))
      ) {
        assert.fail(`${what} ${name}[${i}]: ${a} against ${b}`);
      }
    }
  }
}
