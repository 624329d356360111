/**
 * Streaming Arrow IPC file output for flow rows (`nadir flows --out F.arrow`): rows are gathered into
 * column batches ({@link BatchSink}), and each full batch is encoded and written at once, so memory stays
 * bounded however many flows a capture holds. The file is the Arrow IPC *file* format (what `pl.readIPC` and flechette's
 * `tableFromIPC` read): a magic, the schema, one record batch per `batchRows` rows, and a footer that
 * points at them.
 *
 * Types: `int` columns are Int64 (a value that is not a safe integer is written as null), `float` columns
 * Float64 (NaN and ±Infinity kept as they are, as polars writes them), `str` columns Utf8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromIPC } from "@uwdata/flechette";
 * import { ArrowFileSink } from "./arrow_sink.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".arrow" });
 * const sink = new ArrowFileSink(path, { batchRows: 2 });
 * sink.header([{ name: "id", type: "int" }, { name: "ip", type: "str" }, { name: "mean", type: "float" }]);
 * for (let i = 0; i < 3; i++) sink.row([i, `10.0.0.${i}`, i / 2]);
 * await sink.close();
 * const t = tableFromIPC(Deno.readFileSync(path));
 * assert.deepEqual(t.toArray().map((r) => ({ ...r })), [
 *   { id: 0, ip: "10.0.0.0", mean: 0 },
 *   { id: 1, ip: "10.0.0.1", mean: 0.5 },
 *   { id: 2, ip: "10.0.0.2", mean: 1 },
 * ]);
 * Deno.removeSync(path);
 * ```
 * @module
 */
import { batchType, Column, float64, int64, tableFromColumns, tableToIPC, utf8 } from "@uwdata/flechette";
// flechette encodes a whole table at once; the footer of a file written batch by batch comes from its own
// footer writer (version pinned in deno.json).
import { Builder } from "@uwdata/flechette/src/encode/builder.js";
import { writeFooter } from "@uwdata/flechette/src/encode/footer.js";
import { BatchSink, type BatchSinkOptions, type ColumnBuffer, writeAll } from "./batch_sink.ts";

/** Options for {@link ArrowFileSink}. */
export type ArrowSinkOptions = BatchSinkOptions;

const MAGIC = new TextEncoder().encode("ARROW1\0\0");

/** Writes flow rows as an Arrow IPC file, one record batch at a time (see the module doc). */
export class ArrowFileSink extends BatchSink {
  #file: Deno.FsFile;
  #pos = 0;
  #schema: unknown;
  #blocks: { offset: number; metadataLength: number; bodyLength: number }[] = [];

  constructor(readonly path: string, opts: ArrowSinkOptions = {}) {
    super("ArrowFileSink", opts);
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
    this.#write(MAGIC);
  }

  override close(): Promise<void> {
    // No rows at all still gets one empty batch: polars refuses a file without record batches.
    return this.closeWith(true);
  }

  protected finish(): void {
    const sink = {
      write: (bytes: Uint8Array) => this.#write(bytes),
      pad: (n: number) => this.#write(new Uint8Array(n)),
      finish: () => null,
    };
    // EOS marker, footer (the schema and every record batch's block), its length and the magic again.
    writeFooter(new Builder(sink), this.#schema, [], this.#blocks, null);
    this.#file.close();
  }

  /** Encodes the rows gathered so far as one record batch and writes it. */
  protected writeBatch(n: number, bufs: readonly ColumnBuffer[]): void {
    const columns: Record<string, Column<unknown>> = {};
    this.columns.forEach((c, i) => {
      const b = bufs[i];
      const type = b.kind === "int" ? int64() : b.kind === "float" ? float64() : utf8();
      const nullCount = b.nulls.length;
      let validity = new Uint8Array(0);
      if (nullCount) {
        validity = new Uint8Array((n + 7) >> 3).fill(255);
        for (const r of b.nulls) validity[r >> 3] &= ~(1 << (r & 7));
      }
      const common = { length: n, nullCount, type, validity };
      const Batch = batchType(type);
      const batch = b.kind === "str"
        ? new Batch({
          ...common,
          offsets: b.offsets.subarray(0, n + 1),
          values: b.bytes.subarray(0, b.offsets[n]),
        })
        : new Batch({ ...common, values: b.values.subarray(0, n) });
      columns[c.name] = new Column([batch]);
    });
    // Encoded into a list of the encoder's own buffers (the column arrays among them), not joined into one.
    const chunks: Uint8Array[] = [];
    const sink = {
      write: (b: Uint8Array) => chunks.push(b),
      pad: (k: number) => chunks.push(new Uint8Array(k)),
    };
    const table = tableFromColumns(columns);
    tableToIPC(table, { format: "stream", sink: { ...sink, finish: () => null } });
    const ipc = new Chunks(chunks);
    // The stream: the schema message, this batch's message, the 8-byte end-of-stream marker. Each message
    // is a continuation marker, its metadata's length, the metadata (8-aligned) and its body.
    const schemaEnd = 8 + ipc.int32(4);
    const end = ipc.length - 8;
    if (this.#schema === undefined) {
      ipc.copy(0, schemaEnd, (b) => this.#write(b));
      this.#schema = table.schema;
    }
    const metadataLength = 8 + ipc.int32(schemaEnd + 4);
    this.#blocks.push({ offset: this.#pos, metadataLength, bodyLength: end - schemaEnd - metadataLength });
    ipc.copy(schemaEnd, end, (b) => this.#write(b));
  }

  #write(bytes: Uint8Array): void {
    writeAll(this.#file, bytes);
    this.#pos += bytes.length;
  }
}

/** A byte sequence held as a list of buffers. */
class Chunks {
  readonly length: number;
  constructor(readonly parts: Uint8Array[]) {
    this.length = parts.reduce((n, p) => n + p.length, 0);
  }
  /** Hands `fn` the bytes [from, to) as views of the parts. */
  copy(from: number, to: number, fn: (b: Uint8Array) => void): void {
    let at = 0;
    for (const p of this.parts) {
      const a = Math.max(from, at), z = Math.min(to, at + p.length);
      if (a < z) fn(p.subarray(a - at, z - at));
      at += p.length;
    }
  }
  /** The little-endian int32 at `pos`. */
  int32(pos: number): number {
    const b = new Uint8Array(4);
    let k = 0;
    this.copy(pos, pos + 4, (v) => {
      b.set(v, k);
      k += v.length;
    });
    return new DataView(b.buffer).getInt32(0, true);
  }
}
