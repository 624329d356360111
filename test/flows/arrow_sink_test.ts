import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import pl from "nodejs-polars";
import { tableFromIPC } from "@uwdata/flechette";
import { dataPath } from "../_shared.ts";
import { ArrowFileSink } from "../../src/flows/arrow_sink.ts";
import { meterFile } from "../../src/flows/pipeline.ts";
import { CsvSink } from "../../src/flows/writer.ts";
import type { FeatureSetName } from "../../src/flows/features/mod.ts";

/** The text CSV gives a value, from what polars read out of the Arrow file. */
function asCsvText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  return String(v);
}

Deno.test("ArrowFileSink: batch by batch, the same rows as the CSV on a real capture, every feature set", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-arrow-" });
  try {
    const pcap = dataPath("pcaps", "zeek-ftp-bruteforce.pcap");
    for (const features of ["basic", "cic", "kdd", "packets", "context"] as FeatureSetName[]) {
      const csvPath = `${dir}/${features}.csv`, arrowPath = `${dir}/${features}.arrow`;
      const csv = new CsvSink(csvPath);
      await meterFile(pcap, {
        features,
        onColumns: (c) => csv.header(c),
        onRow: (r) => csv.row(r),
        writer: csv,
      });
      await csv.close();
      // 7 rows a batch: the 30 flows take 5 record batches, the last one short.
      const arrow = new ArrowFileSink(arrowPath, { batchRows: 7 });
      await meterFile(pcap, {
        features,
        onColumns: (c) => arrow.header(c),
        onRow: (r) => arrow.row(r),
        writer: features === "basic" ? arrow : undefined, // basic's value-by-value path, the others' rows
      });
      await arrow.close();
      const want = pl.readCSV(csvPath, { inferSchemaLength: 0 });
      const got = pl.readIPC(Buffer.from(Deno.readFileSync(arrowPath)));
      assert.deepEqual(got.columns, want.columns, features);
      assert.equal(got.height, 30, features);
      for (const name of want.columns) {
        const w = want.getColumn(name).toArray().map((v) => v ?? "");
        const g = got.getColumn(name).toArray().map(asCsvText);
        // CSV text and Arrow values agree as text, or as numbers where CSV wrote a number its own way.
        g.forEach((v, i) =>
          assert.ok(v === w[i] || Number(v) === Number(w[i]), `${features} ${name}[${i}]: ${v} ${w[i]}`)
        );
      }
      const t = tableFromIPC(Deno.readFileSync(arrowPath));
      assert.equal(t.numRows, 30);
      assert.equal(t.children[0].data.length, 5, `${features}: record batches`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ArrowFileSink: no rows is a valid file with the columns; nulls, NaN and bad rows", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-arrow-" });
  try {
    const cols = [{ name: "n", type: "int" as const }, { name: "x", type: "float" as const }, {
      name: "s",
      type: "str" as const,
    }];
    const empty = new ArrowFileSink(`${dir}/empty.arrow`);
    empty.header(cols);
    await empty.close();
    const e = pl.readIPC(Buffer.from(Deno.readFileSync(`${dir}/empty.arrow`)));
    assert.deepEqual([e.height, e.columns], [0, ["n", "x", "s"]]);

    const s = new ArrowFileSink(`${dir}/odd.arrow`, { batchRows: 2 });
    s.header(cols);
    s.row([2 ** 53, NaN, ""]); // past the safe integers: null, not a rounded integer
    s.row([-3, -Infinity, "ü"]);
    s.row([-(2 ** 40) - 1, 0.1, "a,b"]);
    assert.throws(() => s.row([1, "x", "y"]), /column "x" is float, found the string "x"/);
    assert.throws(() => s.row([1, 2]), /a row has 2 values, the header 3 columns/);
    await s.close();
    const t = tableFromIPC(Deno.readFileSync(`${dir}/odd.arrow`), { useBigInt: true });
    assert.deepEqual(t.getChild("n")!.toArray(), [null, -3n, -(2n ** 40n) - 1n]);
    const x = t.getChild("x")!.toArray() as number[];
    assert.ok(Number.isNaN(x[0]) && x[1] === -Infinity && x[2] === 0.1);
    assert.deepEqual(t.getChild("s")!.toArray(), ["", "ü", "a,b"]);
    assert.throws(
      () => new ArrowFileSink(`${dir}/bad.arrow`, { batchRows: 0 }),
      /batchRows expects an integer > 0/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
