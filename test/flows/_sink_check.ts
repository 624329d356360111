/**
 * The check the streaming columnar sinks share (Arrow, Parquet): a real capture metered with every
 * feature set into the sink, in 7-row batches (30 flows: 5 batches, the last one short), read back and
 * compared with the CSV the same capture gives.
 */
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { dataPath } from "../_shared.ts";
import type { BatchSink } from "../../src/flows/batch_sink.ts";
import { meterFile } from "../../src/flows/pipeline.ts";
import { CsvSink } from "../../src/flows/writer.ts";
import type { FeatureSetName } from "../../src/flows/features/mod.ts";

/** The text CSV gives a value, from what polars read out of the sink's file. */
function asCsvText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  return String(v);
}

/**
 * Meters zeek-ftp-bruteforce.pcap with each feature set into `open(path)` (basic through its value-by-value
 * writer path, the others as rows) and into a CSV, reads the sink's file with `read`, and checks every value;
 * `also` checks more of each file.
 */
export async function sameRowsAsCsv(
  ext: string,
  open: (path: string) => BatchSink,
  read: (path: string) => pl.DataFrame,
  also?: (features: FeatureSetName, path: string, got: pl.DataFrame) => void,
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: `nadir-${ext}-` });
  try {
    const pcap = dataPath("pcaps", "zeek-ftp-bruteforce.pcap");
    for (const features of ["basic", "cic", "kdd", "packets", "context", "hosts"] as FeatureSetName[]) {
      const csvPath = `${dir}/${features}.csv`, path = `${dir}/${features}.${ext}`;
      const csv = new CsvSink(csvPath);
      await meterFile(pcap, {
        features,
        onColumns: (c) => csv.header(c),
        onRow: (r) => csv.row(r),
        writer: csv,
      });
      await csv.close();
      const sink = open(path);
      await meterFile(pcap, {
        features,
        onColumns: (c) => sink.header(c),
        onRow: (r) => sink.row(r),
        writer: features === "basic" ? sink : undefined,
      });
      await sink.close();
      const want = pl.readCSV(csvPath, { inferSchemaLength: 0 });
      const got = read(path);
      assert.deepEqual(got.columns, want.columns, features);
      assert.equal(got.height, 30, features);
      for (const name of want.columns) {
        const w = want.getColumn(name).toArray().map((v) => v ?? "");
        const g = got.getColumn(name).toArray().map(asCsvText);
        // CSV text and the file's values agree as text, or as numbers where CSV wrote a number its own way.
        g.forEach((v, i) =>
          assert.ok(v === w[i] || Number(v) === Number(w[i]), `${features} ${name}[${i}]: ${v} ${w[i]}`)
        );
      }
      also?.(features, path, got);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * The edge rows both sinks are checked on: a file with no rows reads back with its columns (`read`), then a
 * sink of 2-row batches gets an unsafe integer (a null), NaN, -Infinity, non-ASCII text and a comma, and
 * refuses a string in a float column and a short row. Returns that sink, open, for more rows.
 */
export async function emptyThenOddRows(
  dir: string,
  ext: string,
  open: (path: string, batchRows?: number) => BatchSink,
  read: (path: string) => pl.DataFrame,
): Promise<BatchSink> {
  const cols = [{ name: "n", type: "int" as const }, { name: "x", type: "float" as const }, {
    name: "s",
    type: "str" as const,
  }];
  const empty = open(`${dir}/empty.${ext}`);
  const name = empty.name;
  empty.header(cols);
  await empty.close();
  const e = read(`${dir}/empty.${ext}`);
  assert.deepEqual([e.height, e.columns], [0, ["n", "x", "s"]]);
  const s = open(`${dir}/odd.${ext}`, 2);
  s.header(cols);
  s.row([2 ** 53, NaN, ""]); // past the safe integers: null, not a rounded integer
  s.row([-3, -Infinity, "ü"]);
  s.row([-(2 ** 40) - 1, 0.1, "a,b"]);
  assert.throws(
    () => s.row([1, "x", "y"]),
    new RegExp(`^\\w*Error: ${name}: column "x" is float, found the string "x"`),
  );
  assert.throws(() => s.row([1, 2]), /a row has 2 values, the header 3 columns/);
  return s;
}
