/**
 * Flow-row sinks: streaming CSV (file or stdout) and Parquet / Arrow IPC via
 * nodejs-polars (columns collected in memory, written at the end).
 *
 * @example
 * ```ts
 * import { csvField } from "./writer.ts";
 * console.assert(csvField('a,"b"') === '"a,""b"""' && csvField(1.5) === "1.5");
 * ```
 * @module
 */
import type { Column } from "./features/types.ts";

/** Formats one CSV field (RFC 4180 quoting). */
export function csvField(v: number | string): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Something rows can be written to. */
export interface RowSink {
  header(columns: readonly Column[]): void;
  row(values: readonly (number | string)[]): void;
  /** Flushes and closes; resolves when the output is complete. */
  close(): Promise<void>;
}

const enc = new TextEncoder();

/** Streaming CSV to a file or (path undefined) stdout. */
export class CsvSink implements RowSink {
  #out: { writeSync(b: Uint8Array): number };
  #file: Deno.FsFile | undefined;
  #buf: string[] = [];
  #len = 0;

  constructor(path?: string) {
    if (path) {
      this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
      this.#out = this.#file;
    } else this.#out = Deno.stdout;
  }
  header(columns: readonly Column[]): void {
    this.#push(columns.map((c) => csvField(c.name)).join(","));
  }
  row(values: readonly (number | string)[]): void {
    let s = "";
    for (let i = 0; i < values.length; i++) s += (i ? "," : "") + csvField(values[i]);
    this.#push(s);
  }
  #push(line: string): void {
    this.#buf.push(line);
    this.#len += line.length + 1;
    if (this.#len > 1 << 16) this.#flush();
  }
  #flush(): void {
    if (!this.#buf.length) return;
    const b = enc.encode(this.#buf.join("\n") + "\n");
    let off = 0;
    while (off < b.length) off += this.#out.writeSync(b.subarray(off));
    this.#buf = [];
    this.#len = 0;
  }
  close(): Promise<void> {
    this.#flush();
    this.#file?.close();
    return Promise.resolve();
  }
}

/** Collects columns, then writes Parquet (`.parquet`) or Arrow IPC (`.arrow`/`.ipc`/`.feather`). */
export class PolarsSink implements RowSink {
  #cols: readonly Column[] = [];
  #data: (number | string)[][] = [];

  constructor(readonly path: string, readonly format: "parquet" | "arrow") {}
  header(columns: readonly Column[]): void {
    this.#cols = columns;
    this.#data = columns.map(() => []);
  }
  row(values: readonly (number | string)[]): void {
    for (let i = 0; i < values.length; i++) this.#data[i].push(values[i]);
  }
  async close(): Promise<void> {
    const pl = (await import("nodejs-polars")).default;
    const series = this.#cols.map((c, i) =>
      c.type === "str"
        ? pl.Series(c.name, this.#data[i] as string[], pl.Utf8)
        : pl.Series(c.name, this.#data[i] as number[], c.type === "int" ? pl.Int64 : pl.Float64)
    );
    const df = pl.DataFrame(series);
    // Write from an in-memory buffer: nodejs-polars' path writers may leave the file unflushed until GC.
    const bytes = this.format === "parquet" ? df.writeParquet() : df.writeIPC();
    await Deno.writeFile(this.path, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
}

/** Picks a sink from the output file name (undefined: CSV on stdout). */
export function sinkFor(path: string | undefined): RowSink {
  if (!path) return new CsvSink();
  const lower = path.toLowerCase();
  if (lower.endsWith(".parquet")) return new PolarsSink(path, "parquet");
  if (lower.endsWith(".arrow") || lower.endsWith(".ipc") || lower.endsWith(".feather")) return new PolarsSink(path, "arrow");
  return new CsvSink(path);
}
