/**
 * Streaming Parquet output for flow rows (`nadir flows --out F.parquet`): rows are gathered into column
 * batches ({@link BatchSink}), and each full batch becomes one row group, written at once, so memory stays
 * bounded however many flows a capture holds (polars' writer holds the whole frame, and its lazy
 * `sinkParquet` took 1.17 GB on a 1 M-flow file).
 *
 * The file follows the Apache Parquet format: the magic `PAR1`, the row groups, the file metadata (Thrift
 * compact protocol) and its length, `PAR1` again. Each column chunk is one version-1 data page: the
 * definition levels (RLE, so that an `int` value that is not a safe integer can be null), then the values
 * in PLAIN encoding, compressed with zstd (node:zlib). Columns are OPTIONAL, as polars and Arrow write them:
 * `int` → INT64, `float` → DOUBLE (NaN and ±Infinity kept), `str` → BYTE_ARRAY annotated as UTF-8 text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { ParquetFileSink } from "./parquet_sink.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".parquet" });
 * const sink = new ParquetFileSink(path, { batchRows: 2 });
 * sink.header([{ name: "id", type: "int" }, { name: "ip", type: "str" }, { name: "mean", type: "float" }]);
 * for (let i = 0; i < 3; i++) sink.row([i, `10.0.0.${i}`, i / 2]);
 * await sink.close();
 * const df = pl.readParquet(path);
 * assert.deepEqual(df.toRecords(), [
 *   { id: 0, ip: "10.0.0.0", mean: 0 },
 *   { id: 1, ip: "10.0.0.1", mean: 0.5 },
 *   { id: 2, ip: "10.0.0.2", mean: 1 },
 * ]);
 * Deno.removeSync(path);
 * ```
 * @module
 */
import { zstdCompressSync } from "node:zlib";
import { BatchSink, type BatchSinkOptions, type ColumnBuffer, writeAll } from "./batch_sink.ts";
import { Compact, zigzag } from "../util/thrift.ts";

/** Options for {@link ParquetFileSink}. */
export interface ParquetSinkOptions extends BatchSinkOptions {
  /** zstd level (default 1: on flow rows both faster and smaller than zstd's default 3; 19 smallest). */
  zstdLevel?: number;
}

const MAGIC = new TextEncoder().encode("PAR1");
const enc = new TextEncoder();

// Parquet's enums (parquet.thrift).
const TYPE_INT64 = 2, TYPE_DOUBLE = 5, TYPE_BYTE_ARRAY = 6;
const OPTIONAL = 1;
const CONVERTED_UTF8 = 0;
const ENC_PLAIN = 0, ENC_RLE = 3;
const CODEC_ZSTD = 6;
const PAGE_DATA = 0;

/** One column chunk of a row group, as the file metadata describes it. */
interface ChunkMeta {
  type: number;
  name: string;
  values: number;
  uncompressed: number;
  compressed: number;
  offset: number;
}

/** Writes flow rows as a Parquet file, one row group at a time (see the module doc). */
export class ParquetFileSink extends BatchSink {
  #file: Deno.FsFile;
  #pos = 0;
  #rows = 0;
  #groups: { rows: number; chunks: ChunkMeta[] }[] = [];
  readonly #level: number;
  readonly #zstdParams: Record<number, number>;

  constructor(readonly path: string, opts: ParquetSinkOptions = {}) {
    super("ParquetFileSink", opts);
    this.#level = opts.zstdLevel ?? 1;
    if (!(Number.isInteger(this.#level) && this.#level >= 1 && this.#level <= 22)) {
      throw new RangeError(`ParquetFileSink: zstdLevel expects an integer 1–22, found ${opts.zstdLevel}`);
    }
    // ZSTD_c_compressionLevel is parameter 100 (zstd.h).
    this.#zstdParams = { 100: this.#level };
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
    this.#write(MAGIC);
  }

  protected writeBatch(n: number, bufs: readonly ColumnBuffer[]): void {
    const chunks: ChunkMeta[] = [];
    this.columns.forEach((c, i) => {
      const b = bufs[i];
      const data = pageData(n, b);
      const packed = new Uint8Array(zstdCompressSync(data, { params: this.#zstdParams }));
      const header = pageHeader(n, data.length, packed.length);
      const offset = this.#pos;
      this.#write(header);
      this.#write(packed);
      chunks.push({
        type: b.kind === "int" ? TYPE_INT64 : b.kind === "float" ? TYPE_DOUBLE : TYPE_BYTE_ARRAY,
        name: c.name,
        values: n,
        uncompressed: header.length + data.length,
        compressed: header.length + packed.length,
        offset,
      });
    });
    this.#groups.push({ rows: n, chunks });
    this.#rows += n;
  }

  protected finish(): void {
    const meta = fileMetadata(
      this.columns.map((c) => c.type),
      this.columns.map((c) => c.name),
      this.#rows,
      this.#groups,
    );
    this.#write(meta);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, meta.length, true);
    this.#write(len);
    this.#write(MAGIC);
    this.#file.close();
  }

  #write(bytes: Uint8Array): void {
    writeAll(this.#file, bytes);
    this.#pos += bytes.length;
  }
}

/** A version-1 data page's body: the definition levels (4-byte length, RLE runs), then the PLAIN values. */
function pageData(n: number, b: ColumnBuffer): Uint8Array {
  const levels = definitionLevels(n, b.nulls);
  const present = n - b.nulls.length;
  let size = 4 + levels.length;
  if (b.kind === "str") size += 4 * present + b.offsets[n];
  else size += 8 * present;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, levels.length, true);
  out.set(levels, 4);
  let p = 4 + levels.length;
  if (b.kind === "str") {
    // A null row has no value (its offsets are equal, so its bytes count nothing in the size above).
    let k = 0;
    for (let r = 0; r < n; r++) {
      if (k < b.nulls.length && b.nulls[k] === r) {
        k++;
        continue;
      }
      const a = b.offsets[r], z = b.offsets[r + 1];
      view.setUint32(p, z - a, true);
      out.set(b.bytes.subarray(a, z), p + 4);
      p += 4 + z - a;
    }
  } else if (b.nulls.length === 0) {
    // Both typed arrays hold their values little-endian on the machines Deno runs on (x86-64, arm64).
    out.set(new Uint8Array(b.values.buffer, 0, 8 * n), p);
  } else {
    // A null row has a definition level of 0 and no value.
    const bytes = new Uint8Array(b.values.buffer, 0, 8 * n);
    let from = 0;
    for (const r of b.nulls) {
      out.set(bytes.subarray(8 * from, 8 * r), p);
      p += 8 * (r - from);
      from = r + 1;
    }
    out.set(bytes.subarray(8 * from, 8 * n), p);
  }
  return out;
}

/**
 * The definition levels of `n` rows of an OPTIONAL column (1: a value, 0: null) in the RLE/bit-packing
 * hybrid with bit width 1: one RLE run (header `count << 1`, then the level in one byte) per stretch of
 * equal levels.
 */
export function definitionLevels(n: number, nulls: readonly number[]): Uint8Array {
  const w = new Compact();
  const run = (count: number, level: number) => {
    if (count === 0) return;
    w.varint(count * 2);
    w.byte(level);
  };
  let from = 0;
  for (let i = 0; i < nulls.length;) {
    const start = nulls[i];
    let end = start + 1;
    while (++i < nulls.length && nulls[i] === end) end++;
    run(start - from, 1);
    run(end - start, 0);
    from = end;
  }
  run(n - from, 1);
  return w.bytes();
}

/** PageHeader of a version-1 data page of `n` values. */
function pageHeader(n: number, uncompressed: number, compressed: number): Uint8Array {
  const w = new Compact();
  w.i32(1, PAGE_DATA);
  w.i32(2, uncompressed);
  w.i32(3, compressed);
  w.struct(5, () => { // DataPageHeader
    w.i32(1, n);
    w.i32(2, ENC_PLAIN);
    w.i32(3, ENC_RLE); // definition levels
    w.i32(4, ENC_RLE); // repetition levels (none: the columns are not nested)
  });
  w.stop();
  return w.bytes();
}

/** FileMetaData: the schema (a root and one OPTIONAL leaf per column) and every row group's chunks. */
function fileMetadata(
  types: readonly string[],
  names: readonly string[],
  rows: number,
  groups: readonly { rows: number; chunks: ChunkMeta[] }[],
): Uint8Array {
  const w = new Compact();
  w.i32(1, 1); // version
  w.list(2, Compact.STRUCT, names.length + 1, (k) => {
    if (k === 0) { // the root
      w.string(4, "schema");
      w.i32(5, names.length);
      return;
    }
    const t = types[k - 1];
    w.i32(1, t === "int" ? TYPE_INT64 : t === "float" ? TYPE_DOUBLE : TYPE_BYTE_ARRAY);
    w.i32(3, OPTIONAL);
    w.string(4, names[k - 1]);
    if (t === "str") {
      w.i32(6, CONVERTED_UTF8);
      w.struct(10, () => w.struct(1, () => {})); // LogicalType STRING
    }
  });
  w.i64(3, rows);
  w.list(4, Compact.STRUCT, groups.length, (g) => {
    const { rows, chunks } = groups[g];
    w.list(1, Compact.STRUCT, chunks.length, (c) => {
      const m = chunks[c];
      // file_offset: the format now says 0 (no ColumnMetaData outside the footer), but some readers still
      // locate chunks by it and read only the first row group when it is 0; the chunk's start is what
      // parquet-java wrote for years.
      w.i64(2, m.offset);
      w.struct(3, () => { // ColumnMetaData
        w.i32(1, m.type);
        w.list(2, Compact.I32, 2, (e) => w.varint(zigzag(e === 0 ? ENC_PLAIN : ENC_RLE)));
        w.list(3, Compact.BINARY, 1, () => w.binary(enc.encode(m.name)));
        w.i32(4, CODEC_ZSTD);
        w.i64(5, m.values);
        w.i64(6, m.uncompressed);
        w.i64(7, m.compressed);
        w.i64(9, m.offset); // data_page_offset
      });
    });
    w.i64(2, chunks.reduce((s, m) => s + m.uncompressed, 0)); // total_byte_size
    w.i64(3, rows);
    w.i64(5, chunks[0]?.offset ?? 0); // file_offset
    w.i64(6, chunks.reduce((s, m) => s + m.compressed, 0)); // total_compressed_size
  });
  w.string(6, "nadir");
  w.stop();
  return w.bytes();
}
