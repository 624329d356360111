import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { hybrid, parquetLayout, parquetRowGroups, snappy } from "../../src/data/parquet.ts";
import { loadTable } from "../../src/data/table.ts";
import { ParquetFileSink } from "../../src/flows/parquet_sink.ts";
import { parquetFrames } from "../../src/data/stream.ts";
import { meterFile } from "../../src/flows/pipeline.ts";
import { InputError } from "../../src/util/errors.ts";
import { dataPath } from "../_shared.ts";

/** Every row group of `path` read here, joined, against polars' own reading of the whole file. */
function sameAsPolars(path: string, what: string, rowsPerChunk?: number): number {
  const want = pl.readParquet(path);
  const got = new Map<string, unknown[]>();
  let groups = 0;
  for (const g of parquetRowGroups(path, { rowsPerChunk })) {
    groups++;
    for (const c of g.columns) {
      const held = got.get(c.name) ?? [];
      for (const v of c.values) held.push(typeof v === "bigint" ? Number(v) : v);
      got.set(c.name, held);
    }
  }
  assert.deepEqual([...got.keys()], want.columns, `${what}: columns`);
  for (const name of want.columns) {
    const w = want.getColumn(name).toArray().map((v) => typeof v === "bigint" ? Number(v) : v);
    const g = got.get(name)!;
    assert.equal(g.length, w.length, `${what} ${name}: rows`);
    for (let i = 0; i < w.length; i++) {
      const a = g[i], b = w[i];
      const same = a === b || (Number.isNaN(a) && Number.isNaN(b)) ||
        (typeof a === "number" && typeof b === "number" && Math.fround(a) === Math.fround(b) && a === b);
      if (!same) assert.fail(`${what} ${name}[${i}]: read ${a}, polars ${b}`);
    }
  }
  return groups;
}

Deno.test("parquetRowGroups reads what polars writes, every codec, real CIC-IDS2017 and NSL-KDD rows", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-parquet-read-" });
  try {
    const frames = {
      cic: await loadTable(dataPath("cic-ids2017", "Botnet_736.csv.gz")),
      kdd: (await loadTable(dataPath("nsl-kdd", "KDDTest+.txt.gz"))).head(3000),
    };
    for (const [name, df] of Object.entries(frames)) {
      // Nulls in every 5th row of the first numeric column and of the first text one, as flow tables have.
      let withNulls = df;
      for (const numeric of [true, false]) {
        const col = df.getColumns().find((c) => /Utf8|String/.test(String(c.dtype)) !== numeric);
        assert.ok(col, `${name}: a ${numeric ? "numeric" : "text"} column`);
        const vals = col!.toArray().map((v, i) => (i % 5 === 0 ? null : v));
        withNulls = withNulls.withColumn(pl.Series(col!.name, vals, col!.dtype));
      }
      for (const compression of ["uncompressed", "snappy", "gzip", "zstd"] as const) {
        const path = `${dir}/${name}-${compression}.parquet`;
        withNulls.writeParquet(path, { compression });
        sameAsPolars(path, `${name} ${compression}`);
        // In pieces that cut pages: the same values, in 7-row pieces decoded page by page.
        assert.ok(sameAsPolars(path, `${name} ${compression} in pieces`, 7) > 100);
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parquetRowGroups: nadir's own files row group by row group; a polars file of several row groups", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-parquet-read-" });
  try {
    const path = `${dir}/flows.parquet`;
    const sink = new ParquetFileSink(path, { batchRows: 7 });
    await meterFile(dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), {
      features: "cic",
      onColumns: (c) => sink.header(c),
      onRow: (r) => sink.row(r),
    });
    await sink.close();
    assert.equal(sameAsPolars(path, "nadir flows"), 5, "30 flows in groups of 7");
    const before = [...parquetRowGroups(path)].map((g) => g.rowsBefore);
    assert.deepEqual(before, [0, 7, 14, 21, 28]);
    // polars cuts a frame of 600 k rows into row groups of its own size.
    const big = `${dir}/big.parquet`;
    const n = 600_000;
    pl.DataFrame({ i: Array.from({ length: n }, (_, k) => k), x: Array.from({ length: n }, (_, k) => k / 7) })
      .writeParquet(big, { compression: "zstd" });
    const groups = sameAsPolars(big, "600 k rows");
    assert.ok(groups > 1, `${groups} row group(s)`);
    const pieces = parquetLayout(big).groups.reduce((k, g) => k + Math.ceil(g.rows / 100_000), 0);
    assert.equal(sameAsPolars(big, "600 k rows in pieces", 100_000), pieces, "pieces never span groups");
    assert.equal(parquetLayout(big).rows, n);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parquetRowGroups: what it does not read, and damaged files, are InputErrors naming the file", () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-parquet-read-" });
  try {
    const df = pl.DataFrame({ a: [1, 2, 3], s: ["x", "y", "z"] });
    const lz4 = `${dir}/lz4.parquet`;
    df.writeParquet(lz4, { compression: "lz4" });
    assert.throws(
      () => [...parquetRowGroups(lz4)],
      (e: unknown) =>
        e instanceof InputError && e.location.file === lz4 &&
        /row group 0, column "a": the LZ4(_RAW)? compression is not read here/.test(e.message),
    );
    const good = `${dir}/good.parquet`;
    df.writeParquet(good, { compression: "snappy" });
    const bytes = Deno.readFileSync(good);
    const cut = `${dir}/cut.parquet`;
    Deno.writeFileSync(cut, bytes.subarray(0, bytes.length - 20));
    assert.throws(
      () => parquetLayout(cut),
      (e: unknown) => e instanceof InputError && /not a Parquet file/.test(e.message),
    );
    const junk = `${dir}/junk.parquet`;
    Deno.writeTextFileSync(junk, "id,x\n1,2\n3,4\n5,6\n");
    assert.throws(() => parquetLayout(junk), /not a Parquet file: expected the magic "PAR1"/);
    // A footer whose length is right but whose bytes are not Thrift.
    const bad = bytes.slice();
    const len = new DataView(bad.buffer).getUint32(bad.length - 8, true);
    bad.fill(0xff, bad.length - 8 - len, bad.length - 8);
    const damaged = `${dir}/damaged.parquet`;
    Deno.writeFileSync(damaged, bad);
    assert.throws(() => parquetLayout(damaged), /damaged Parquet footer/);
    assert.throws(() => parquetLayout(`${dir}/missing.parquet`), /file not found/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("hybrid and snappy decode hand-made runs (formats no file here is known to hold every case of)", () => {
  // RLE run of 3 × 5 (width 3), then one bit-packed group of 8 values 0..7 (width 3: 3 bytes).
  const out = new Uint32Array(11);
  hybrid(new Uint8Array([6, 5, 3, 0b10001000, 0b11000110, 0b11111010]), 0, 6, 3, 11, out);
  assert.deepEqual([...out], [5, 5, 5, 0, 1, 2, 3, 4, 5, 6, 7]);
  // Bit-packed groups at every width 1–32 (seeded values), packed here bit by bit, LSB first.
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let width = 1; width <= 32; width++) {
    const vals = Array.from({ length: 16 }, () => Math.floor(rand() * 2 ** width));
    const packed = new Uint8Array(1 + 2 * width);
    packed[0] = (2 << 1) | 1; // two groups of 8
    vals.forEach((v, k) => {
      for (let j = 0; j < width; j++) {
        if (Math.floor(v / 2 ** j) % 2) packed[1 + ((k * width + j) >> 3)] |= 1 << ((k * width + j) & 7);
      }
    });
    const got = new Uint32Array(16);
    hybrid(packed, 0, packed.length, width, 16, got);
    assert.deepEqual([...got], vals, `width ${width}`);
  }
  // "abcabcabcX": literal "abc", a copy of 6 at offset 3 (1-byte offset form), literal "X".
  const block = new Uint8Array([10, 2 << 2, 97, 98, 99, ((6 - 4) << 2) | 1, 3, 0, 88]);
  assert.equal(new TextDecoder().decode(snappy(block)), "abcabcabcX");
  assert.throws(() => snappy(new Uint8Array([4, 1 | (0 << 2), 9])), /a copy reaches outside the output/);
});

Deno.test("parquetRowGroups and parquetFrames: integers annotated unsigned or narrow read as polars reads them", async () => {
  // Generated by polars here: no Parquet file in the repository holds these types. Before, a UInt32 column's
  // values ≥ 2³¹ came out negative chunk by chunk (and scores with them), and an Int16 column as Int32.
  const dir = Deno.makeTempDirSync({ prefix: "nadir-parquet-ints-" });
  try {
    const n = 3000;
    const u32 = Array.from({ length: n }, (_, i) => (i * 2654435761) % 4294967296);
    const df = pl.DataFrame([
      pl.Series("bytes_u32", u32, pl.UInt32),
      pl.Series("pkts_i16", Array.from({ length: n }, (_, i) => (i % 300) - 150), pl.Int16),
      pl.Series("ttl_u8", Array.from({ length: n }, (_, i) => (i * 7) % 256), pl.UInt8),
      pl.Series("delta_i8", Array.from({ length: n }, (_, i) => (i % 256) - 128), pl.Int8),
      pl.Series("u32_nulls", u32.map((v, i) => (i % 9 === 0 ? null : v)), pl.UInt32),
      pl.Series("octets_u64", Array.from({ length: n }, (_, i) => 2 ** 40 + i), pl.UInt64),
    ]);
    const path = `${dir}/ints.parquet`;
    df.writeParquet(path, { compression: "snappy" });
    sameAsPolars(path, "annotated integers");
    sameAsPolars(path, "annotated integers in pieces", 7);
    const want = pl.readParquet(path);
    for await (const f of parquetFrames(path, { rowsPerChunk: 1000 })) {
      assert.deepEqual(f.df.dtypes.map(String), want.dtypes.map(String));
      assert.ok(f.df.getColumn("bytes_u32").min() >= 0);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
