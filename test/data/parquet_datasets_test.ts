/**
 * Dataset files given as Parquet: the real vendored CIC-IDS2017 and NSL-KDD files, converted by polars
 * (typed columns as a Parquet release has them, doubles narrowed to float32 as some releases do, and
 * all-text columns), must load as their CSV text does, whole, in chunks and sampled, whether the loader
 * takes the columns as they are or parses the text; errors name the Parquet row.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import pl from "nodejs-polars";
import { datasetInfo, loadDataset } from "../../src/data/datasets.ts";
import { frameAsCsv, readBytes } from "../../src/data/csv.ts";
import { csvFrames, csvInfo, sampleCsv, sampleParquet, tableFrames } from "../../src/data/stream.ts";
import { detectFamily, loadTable } from "../../src/data/table.ts";
import { InputError } from "../../src/util/errors.ts";
import { dataPath } from "../_shared.ts";

const CIC = dataPath("cic-ids2017", "DDoS_2500.csv.gz");
const KDD = dataPath("nsl-kdd", "KDDTest-21.txt.gz");

type Columns = "typed" | "float32" | "text";

/** A real CSV as Parquet: polars' typed reading, the same with its doubles as float32, or all text. */
function asParquet(csv: string, out: string, o: { columns: Columns; header: boolean }): string {
  const text = Buffer.from(readBytes(csv));
  let df = pl.readCSV(text, { hasHeader: o.header, inferSchemaLength: o.columns === "text" ? 0 : 10_000 });
  if (o.columns === "float32") {
    const doubles = df.columns.filter((c) => String(df.getColumn(c).dtype).includes("Float64"));
    assert.ok(doubles.length > 5);
    df = df.withColumns(...doubles.map((c) => pl.col(c).cast(pl.Float32)));
  }
  df.writeParquet(out, { compression: "zstd" });
  return out;
}

/** The CSV text of a Parquet file's rows (what the loaders read where its columns cannot be taken as they are). */
function textOf(parquet: string, header: boolean): string {
  const out = parquet.replace(/\.parquet$/, ".csv");
  Deno.writeFileSync(out, frameAsCsv(pl.readParquet(parquet), header));
  return out;
}

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "nadir-pq-datasets-" });
}

Deno.test("CIC-IDS2017 and NSL-KDD files as Parquet load as their CSVs do (typed, float32 and text columns)", async () => {
  const dir = tempDir();
  try {
    for (const columns of ["typed", "float32", "text"] as const) {
      const cic = asParquet(CIC, join(dir, `cic-${columns}.parquet`), { columns, header: true });
      // float32 values are not the CSV's: the reference is then the file's own text.
      const want =
        loadDataset({ name: "cic-ids2017", path: columns === "float32" ? textOf(cic, true) : CIC }).df;
      assert.ok(
        loadDataset({ name: "cic-ids2017", path: cic }).df.frameEqual(want, true),
        `CIC, ${columns}`,
      );
      assert.equal(await detectFamily(cic), "cic-ids2017", "told by its column names");
      assert.ok((await loadTable(cic)).frameEqual(want, true), "loadTable finds the family itself");

      // KDD files name no columns: the family is given.
      const kdd = asParquet(KDD, join(dir, `kdd-${columns}.parquet`), { columns, header: false });
      const kddWant =
        loadDataset({ name: "nsl-kdd", path: columns === "float32" ? textOf(kdd, false) : KDD }).df;
      assert.ok(
        loadDataset({ name: "nsl-kdd", path: kdd }).df.frameEqual(kddWant, true),
        `KDD, ${columns}`,
      );
      assert.ok((await loadTable(kdd, "nsl-kdd")).frameEqual(kddWant, true));
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a Parquet dataset in chunks: frames, data info and a seeded sample equal the CSV's", async () => {
  const dir = tempDir();
  try {
    const cic = asParquet(CIC, join(dir, "cic.parquet"), { columns: "float32", header: true });
    const text = textOf(cic, true);
    const whole = loadDataset({ name: "cic-ids2017", path: text }).df;
    for (const frames of [csvFrames(cic, { rowsPerChunk: 333 }), tableFrames(cic, { rowsPerChunk: 333 })]) {
      const parts: pl.DataFrame[] = [];
      for await (const f of frames) parts.push(f.df);
      assert.ok(parts.length >= 7);
      assert.ok(pl.concat(parts).frameEqual(whole, true));
    }
    assert.deepEqual(
      await csvInfo("cic-ids2017", cic, { rowsPerChunk: 333 }),
      datasetInfo("cic-ids2017", whole),
    );
    // The same seed draws the same rows from either form.
    const a = await sampleParquet(cic, { rows: 300, seed: 5 });
    const b = await sampleCsv(text, { rows: 300, seed: 5, rowsPerChunk: 700 });
    assert.equal(a.sourceRows, b.sourceRows);
    assert.ok(a.df.frameEqual(b.df, true));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a bad value in a Parquet dataset is named by its row and column, whole, in chunks and sampled", async () => {
  const dir = tempDir();
  try {
    const df = pl.readCSV(Buffer.from(readBytes(CIC)), { inferSchemaLength: 0 });
    const col = "Flow Duration";
    const values = df.getColumn(col).toArray() as string[];
    values[1999] = "12x"; // row 2000
    const bad = join(dir, "bad.parquet");
    df.withColumns(pl.Series(col, values)).writeParquet(bad);
    const named = (e: unknown) =>
      e instanceof InputError && e.location.file === bad && /^row 2000: /.test(e.detail) &&
      /12x/.test(e.message) && e.location.column === col;
    assert.throws(() => loadDataset({ name: "cic-ids2017", path: bad }), named);
    await assert.rejects(async () => {
      for await (const _ of csvFrames(bad, { rowsPerChunk: 300 })) { /* read on */ }
    }, named);
    await assert.rejects(() => sampleParquet(bad, { rows: 2500, seed: 1 }), named);
    // A CIC file given as NSL-KDD: the wrong shape, named at its first row.
    assert.throws(
      () => loadDataset({ name: "nsl-kdd", path: bad }),
      (e: unknown) => e instanceof InputError && /^row 1: expected 43 columns/.test(e.detail),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a table a loader made (label, attack, category) reads back as it is, CSV or Parquet", async () => {
  const dir = tempDir();
  try {
    const loaded = loadDataset({ name: "cic-ids2017", path: CIC }).df;
    for (const name of ["loaded.csv", "loaded.parquet"]) {
      const path = join(dir, name);
      if (name.endsWith(".csv")) loaded.writeCSV(path);
      else loaded.writeParquet(path);
      assert.equal(await detectFamily(path), undefined, name);
      assert.ok((await loadTable(path)).frameEqual(loaded, true), name);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a folder of CIC Parquet files loads as the folder of CSVs; a folder of both forms is refused", async () => {
  const dir = tempDir();
  try {
    const csvs = ["Botnet_736.csv.gz", "Heartbleed_11.csv.gz"].map((f) => dataPath("cic-ids2017", f));
    const pq = join(dir, "pq"), both = join(dir, "both");
    Deno.mkdirSync(pq);
    Deno.mkdirSync(both);
    for (const f of csvs) {
      const name = f.split("/").at(-1)!.replace(".csv.gz", "");
      asParquet(f, join(pq, `${name}.parquet`), { columns: "typed", header: true });
      Deno.copyFileSync(f, join(both, `${name}.csv.gz`));
    }
    const want = pl.concat(csvs.map((f) => loadDataset({ name: "cic-ids2017", path: f }).df));
    assert.ok(loadDataset({ name: "cic-ids2017", path: pq }).df.frameEqual(want, true));
    assert.equal(await detectFamily(pq), "cic-ids2017");
    Deno.copyFileSync(join(pq, "Botnet_736.parquet"), join(both, "Botnet_736.parquet"));
    assert.throws(
      () => loadDataset({ name: "cic-ids2017", path: both }),
      (e: unknown) =>
        e instanceof InputError && e.location.file === both &&
        /both Parquet \(1\) and text data files \(2\)/.test(e.detail),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a cut or foreign Parquet file given as a dataset is an error naming it", async () => {
  const dir = tempDir();
  try {
    const whole = asParquet(CIC, join(dir, "cic.parquet"), { columns: "typed", header: true });
    const bytes = Deno.readFileSync(whole);
    const cut = join(dir, "cut.parquet"), foreign = join(dir, "foreign.parquet");
    Deno.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    Deno.writeFileSync(foreign, new TextEncoder().encode("PAR1 but not a Parquet file"));
    for (const file of [cut, foreign]) {
      const named = (e: unknown) => e instanceof InputError && e.location.file === file;
      assert.throws(() => loadDataset({ name: "cic-ids2017", path: file }), named);
      assert.throws(() => loadDataset({ name: "nsl-kdd", path: file }), named);
      await assert.rejects(() => loadTable(file), named);
      await assert.rejects(() => detectFamily(file), named);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
