import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import pl from "nodejs-polars";
import { datasetInfo, loadDataset } from "../../src/data/datasets.ts";
import {
  csvFrames,
  csvInfo,
  isBigCsv,
  sampleCsv,
  sampleParquet,
  tableFrames,
} from "../../src/data/stream.ts";
import { ParquetFileSink } from "../../src/flows/parquet_sink.ts";
import { frameColumns, writeFrame } from "../../src/flows/batch_sink.ts";
import { loadTable } from "../../src/data/table.ts";
import { InputError, withFile } from "../../src/util/errors.ts";
import { numericColumn } from "../../src/data/frame.ts";
import { locateError } from "../../src/data/csv.ts";
import { dataPath, ROOT } from "../_shared.ts";
import { scratchDir, scratchFile } from "../_scratch.ts";

const CIC = dataPath("cic-ids2017", "DDoS_2500.csv.gz");
const KDD = dataPath("nsl-kdd", "KDDTest-21.txt.gz");

/** The real CIC sample file, as plain text with a row marked by a unique value in its first feature. */
function cicLines(): string[] {
  return new TextDecoder().decode(gunzipSync(Deno.readFileSync(CIC))).split("\n");
}

Deno.test("csvFrames: frames of a real file, stacked, equal the whole file loaded at once (with and without header)", async () => {
  for (const [file, schema] of [[CIC, "cic-ids2017"], [KDD, "nsl-kdd"]]) {
    const whole = await loadTable(file, schema);
    const frames: pl.DataFrame[] = [];
    let before = 0;
    for await (const f of csvFrames(file, { rowsPerChunk: 333 })) {
      assert.equal(f.rowsBefore, before);
      before += f.df.height;
      frames.push(f.df);
    }
    assert.ok(frames.length >= 7, file);
    assert.ok(pl.concat(frames).frameEqual(whole, true), file);
  }
});

Deno.test("csvFrames: a malformed row in a late chunk is named by the file's own line", async () => {
  const lines = cicLines();
  const fields = lines[2100].split(",");
  fields.pop(); // one field short
  lines[2100] = fields.join(",");
  const bad = join(scratchDir("nadir-frames-"), "bad.csv");
  Deno.writeTextFileSync(bad, lines.join("\n"));
  await assert.rejects(
    async () => {
      for await (const _ of csvFrames(bad, { rowsPerChunk: 500 })) { /* read on */ }
    },
    (e: unknown) => e instanceof InputError && e.location.file === bad && e.location.line === 2101,
  );
});

Deno.test("sampleCsv: seeded, uniform, in file order, independent of the chunk size", async () => {
  const whole = await loadTable(CIC, "cic-ids2017");
  const a = await sampleCsv(CIC, { rows: 400, seed: 7, rowsPerChunk: 100 });
  const b = await sampleCsv(CIC, { rows: 400, seed: 7, rowsPerChunk: 1000 });
  const c = await sampleCsv(CIC, { rows: 400, seed: 8, rowsPerChunk: 100 });
  assert.equal(a.sourceRows, whole.height);
  assert.equal(a.df.height, 400);
  assert.deepEqual(a.df.columns, whole.columns);
  assert.ok(a.df.frameEqual(b.df, true), "the sample does not depend on the chunk size");
  assert.ok(!a.df.frameEqual(c.df, true), "another seed, another sample");
  // Each sampled row is a row of the file, in the file's order: find them by their timestamp + flow id.
  const key = (df: pl.DataFrame) => {
    const cols = ["Flow ID", "Timestamp", "Flow Duration", "Total Fwd Packets"].filter((k) =>
      df.columns.includes(k)
    );
    const arrs = cols.map((k) => df.getColumn(k).toArray());
    return Array.from({ length: df.height }, (_, i) => arrs.map((x) => x[i]).join("|"));
  };
  const pos = new Map<string, number[]>();
  key(whole).forEach((k, i) => pos.set(k, [...(pos.get(k) ?? []), i]));
  let last = -1;
  const at: number[] = [];
  for (const k of key(a.df)) {
    const next = (pos.get(k) ?? []).find((i) => i > last);
    assert.ok(next !== undefined, `sampled row ${k} found later in the file`);
    at.push(last = next);
  }
  // Uniform: a quarter of the sample in each quarter of the file, within 4 standard deviations.
  const n = whole.height;
  for (let q = 0; q < 4; q++) {
    const inQ = at.filter((i) => i >= (q * n) / 4 && i < ((q + 1) * n) / 4).length;
    assert.ok(Math.abs(inQ - 100) < 4 * Math.sqrt(400 * 0.25 * 0.75), `quarter ${q}: ${inQ} of 400`);
  }
  // Asking for more rows than the file has gives the whole file.
  const all = await sampleCsv(CIC, { rows: 10_000, seed: 1, rowsPerChunk: 300 });
  assert.ok(all.df.frameEqual(whole, true));
  await assert.rejects(sampleCsv(CIC, { rows: 0 }), /integer ≥ 1, found 0/);
});

Deno.test("sampleCsv: a malformed row in the sample is named by the file's own line, dense or sparse", async () => {
  // A hand-edited real row. More rows than the file has read it whole; dense samples copy long runs of
  // rows at once, and the line count must follow them.
  const lines = cicLines();
  const fields = lines[1700].split(",");
  fields[12] = "twelve";
  lines[1700] = fields.join(",");
  const bad = join(scratchDir("nadir-sample-"), "bad.csv");
  Deno.writeTextFileSync(bad, lines.join("\n"));
  const total = lines.filter((l) => l.trim()).length - 1;
  for (const rows of [5000, total - 1, total - 7, Math.floor(total / 2)]) {
    for (const seed of [1, 2, 3]) {
      const picked = await sampleCsv(bad, { rows, seed, rowsPerChunk: 300 }).then(
        () => false,
        (e: unknown) => {
          assert.ok(e instanceof InputError, String(e));
          assert.equal(e.location.file, bad);
          assert.equal(e.location.line, 1701, `rows ${rows}, seed ${seed}: ${e.message}`);
          return true;
        },
      );
      if (rows === total - 1 && !picked) continue; // the one row left out was the bad one
      if (rows >= total - 7) assert.ok(picked, `rows ${rows}, seed ${seed}: the bad row was sampled`);
    }
  }
});

Deno.test("sampleParquet: a column with nulls only in a later row group keeps its values and dtype", async () => {
  // A hand-built table (no dataset family): an id, an integer, and a float with one null in the third
  // row group — gathered typed from the first two groups, plain from the third on.
  const n = 1000;
  const whole = pl.DataFrame({
    id: pl.Series("id", Int32Array.from({ length: n }, (_, i) => i)),
    big: pl.Series("big", Array.from({ length: n }, (_, i) => i * 1000), pl.Int64),
    x: pl.Series("x", Array.from({ length: n }, (_, i) => (i === 700 ? null : i / 4)), pl.Float64),
  });
  const pq = join(scratchDir("nadir-sample-pq-"), "t.parquet");
  const sink = new ParquetFileSink(pq, { batchRows: 300 });
  sink.header(frameColumns(whole));
  writeFrame(sink, whole);
  await sink.close();
  const s = await sampleParquet(pq, { rows: 900, seed: 3 });
  const read = pl.readParquet(pq); // the file as polars reads it whole: the dtypes a sample must keep
  assert.equal(s.df.height, 900);
  assert.deepEqual(s.df.dtypes.map(String), read.dtypes.map(String));
  const ids = s.df.getColumn("id").toArray() as number[];
  assert.ok(ids.every((v, i) => i === 0 || v > ids[i - 1]), "in file order");
  assert.ok(ids.includes(700), "the row with the null is in this sample");
  assert.ok(s.df.frameEqual(read.filter(pl.col("id").isIn(ids)), true));
});

Deno.test("csvInfo: read in chunks, the same summary as the whole file", async () => {
  for (const [name, file] of [["cic-ids2017", CIC], ["nsl-kdd", KDD]]) {
    const d = loadDataset({ name, path: file });
    assert.deepEqual(await csvInfo(name, file, { rowsPerChunk: 250 }), datasetInfo(name, d.df, d.features));
  }
  const kh = loadDataset({ name: "nsl-kdd", path: KDD }, { features: "kdd-header" });
  assert.deepEqual(
    await csvInfo("nsl-kdd", KDD, { rowsPerChunk: 1000, features: "kdd-header" }),
    datasetInfo("nsl-kdd", kh.df, kh.features),
  );
});

Deno.test("isBigCsv: only files over 64 MiB that are not Parquet", () => {
  assert.equal(isBigCsv(CIC), false);
  assert.equal(isBigCsv("cic-ids2017"), false);
  assert.equal(isBigCsv(join(ROOT, "data")), false);
  const big = scratchFile({ suffix: ".csv" });
  const f = Deno.openSync(big, { write: true });
  f.truncateSync(65 * 2 ** 20); // sparse: no disk used
  f.close();
  assert.equal(isBigCsv(big), true);
  Deno.removeSync(big);
});

Deno.test("sampleParquet: the rows sampleCsv draws from the same rows, row group by row group", async () => {
  const dir = scratchDir("nadir-sample-pq-");
  try {
    const whole = await loadTable(CIC, "cic-ids2017");
    const pq = `${dir}/cic.parquet`;
    // Row groups of 300 rows from nadir's writer, with each column's own type.
    const sink = new ParquetFileSink(pq, { batchRows: 300 });
    sink.header(frameColumns(whole));
    writeFrame(sink, whole);
    await sink.close();
    const fromCsv = await sampleCsv(CIC, { rows: 400, seed: 7, rowsPerChunk: 100 });
    let groups = 0;
    const fromPq = await sampleParquet(pq, { rows: 400, seed: 7, onChunk: () => groups++ });
    assert.equal(fromPq.sourceRows, whole.height);
    assert.ok(groups > 1, `${groups} row groups`);
    assert.ok(fromPq.df.frameEqual(fromCsv.df, true), "the same rows, values and order");
    const other = await sampleParquet(pq, { rows: 400, seed: 8 });
    assert.ok(!other.df.frameEqual(fromPq.df, true), "another seed, another sample");
    // A sample of every row is the whole file, as from the CSV.
    const all = await sampleParquet(pq, { rows: whole.height, seed: 1 });
    assert.equal(all.sourceRows, whole.height);
    assert.ok(all.df.frameEqual(whole, true), "every row: the whole file");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("tableFrames: a bad cell of a generic table is named alike whole and in chunks; quoted newlines keep lines", async () => {
  // The real CIC rows under a header no loader claims (a generic table). Before, a chunk's error named the
  // chunk's own row ("data row 4 (line 5 …") and a quoted newline put every later line number off.
  const lines = cicLines();
  lines[0] = lines[0].split(",").map((c, i) => `c${i}_${c.trim().replace(/\W+/g, "_")}`).join(",");
  const column = lines[0].split(",")[10];
  const cells = lines[2001].split(",");
  cells[10] = "abc";
  lines[2001] = cells.join(",");
  const dir = scratchDir("nadir-frames-generic-");
  const bad = join(dir, "generic.csv");
  Deno.writeTextFileSync(bad, lines.join("\n"));
  // As predict reads it: the column's numbers, whole or a frame at a time.
  const said = async (rowsPerChunk?: number) => {
    try {
      if (rowsPerChunk === undefined) {
        await withFile(bad, async () => numericColumn(await loadTable(bad), column));
      } else {
        for await (const f of tableFrames(bad, { rowsPerChunk })) {
          try {
            numericColumn(f.df, column);
          } catch (e) {
            throw f.relocate(e);
          }
        }
      }
    } catch (e) {
      assert.ok(e instanceof InputError, String(e));
      return e.message;
    }
    assert.fail("no error");
  };
  const whole = await said();
  assert.match(
    whole,
    /generic\.csv, data row 2001, column "c10_Total_Bwd_packets": expected a number, found "abc"/,
  );
  for (const n of [333, 1000]) assert.equal(await said(n), whole, `rows per chunk ${n}`);
});

Deno.test("locateError: a record whose quoted field holds a newline; the line after it is its physical line", () => {
  // Before, every newline was a record: the row after a quoted newline was checked as two broken lines.
  const locate = (text: string, b: "num" | "str") => {
    try {
      return locateError(new TextEncoder().encode(text), {
        file: "q.csv",
        header: true,
        columns: [{ name: "a", type: "num" }, { name: "b", type: b }],
      })?.message;
    } catch (e) {
      assert.ok(e instanceof InputError);
      return e.message;
    }
  };
  // Text in a numeric column, named at line 2, where its record starts.
  assert.equal(locate('a,b\n1,"x\ny"\n2,3\n', "num"), 'q.csv:2, column "b": expected a number, found "x\ny"');
  assert.equal(locate('a,b\n1,"x\ny"\n2,3\n4,abc\n', "str"), undefined);
  assert.equal(
    locate('a,b\n1,"x\ny"\n2,3\nz,4\n', "str"),
    'q.csv:5, column "a": expected a number, found "z"',
  );
  assert.equal(locate("a,b\n1,2\n\n", "num"), "q.csv:3: empty line; expected 2 comma-separated fields");
  assert.match(locate('a,b\n1,2\n3,"4\n5,6\n', "str")!, /^q\.csv:3: unterminated quoted field/);
});
