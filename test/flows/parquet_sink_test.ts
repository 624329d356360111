import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { definitionLevels, ParquetFileSink } from "../../src/flows/parquet_sink.ts";
import { featureSet } from "../../src/flows/features/mod.ts";
import { emptyThenOddRows, sameRowsAsCsv } from "./_sink_check.ts";

Deno.test("ParquetFileSink: row group by row group, the same rows as the CSV on a real capture, every feature set", async () => {
  await sameRowsAsCsv(
    "parquet",
    (path) => new ParquetFileSink(path, { batchRows: 7 }),
    (path) => pl.readParquet(path),
    (features, _path, got) =>
      // The dtypes a reader sees: Int64, Float64 and text, as the columns declare.
      featureSet(features).columns.forEach((c) =>
        assert.equal(
          String(got.getColumn(c.name).dtype),
          `DataType(${c.type === "int" ? "Int64" : c.type === "float" ? "Float64" : "String"})`,
          `${features} ${c.name}`,
        )
      ),
  );
});

Deno.test("ParquetFileSink: no rows is a valid file with the columns; nulls, NaN and bad rows", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-parquet-" });
  try {
    const s = await emptyThenOddRows(
      dir,
      "parquet",
      (path, batchRows) => new ParquetFileSink(path, { batchRows }),
      (path) => pl.readParquet(path),
    );
    s.row([7, 1.5, "x"]);
    s.row([2 ** 60, 2, "y"]);
    s.nul(); // a null in every kind of column: none is a 0, a NaN or an empty text
    s.nul();
    s.nul();
    s.end();
    await s.close();
    const df = pl.readParquet(`${dir}/odd.parquet`);
    assert.deepEqual(df.getColumn("n").toArray(), [null, -3, -(2 ** 40) - 1, 7, null, null]);
    const x = df.getColumn("x").toArray() as number[];
    assert.ok(Number.isNaN(x[0]) && x[1] === -Infinity && x[2] === 0.1 && x[3] === 1.5 && x[4] === 2);
    assert.equal(x[5], null);
    assert.deepEqual(df.getColumn("s").toArray(), ["", "ü", "a,b", "x", "y", null]);
    assert.throws(
      () => new ParquetFileSink(`${dir}/bad.parquet`, { batchRows: 0 }),
      /batchRows expects an integer > 0/,
    );
    assert.throws(
      () => new ParquetFileSink(`${dir}/bad.parquet`, { zstdLevel: 0 }),
      /zstdLevel expects an integer 1–22/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("definitionLevels: RLE runs of present and null rows", () => {
  // No nulls: one run of n ones (header 5 << 1 = 10, level 1).
  assert.deepEqual([...definitionLevels(5, [])], [10, 1]);
  // Rows 1, 2 and 4 of 6 null: 1×1, 2×0, 1×1, 1×0, 1×1.
  assert.deepEqual([...definitionLevels(6, [1, 2, 4])], [2, 1, 4, 0, 2, 1, 2, 0, 2, 1]);
  // Leading and trailing nulls; a run of 200 takes a two-byte varint (400 = 0x90 0x03).
  assert.deepEqual([...definitionLevels(202, [0, 201])], [2, 0, 0x90, 0x03, 1, 2, 0]);
});
