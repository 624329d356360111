/**
 * Strict CSV reading for dataset loaders: polars does the parsing (fast, multi-threaded), this module
 * makes it strict. Polars on its own silently drops extra fields and turns missing ones into nulls,
 * so every read adds a sentinel column and checks null counts afterwards; when anything is off (or
 * polars throws), the text is re-scanned in JavaScript to find the first offending line and column,
 * and an {@link InputError} naming file, line and column is thrown. The slow scan runs only on the
 * error path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTable } from "./csv.ts";
 * const { df } = parseTable(new TextEncoder().encode("a,b\n1,x\n2,y\n"), {
 *   file: "inline.csv",
 *   columns: [{ name: "a", type: "num" }, { name: "b", type: "str" }],
 *   header: true,
 * });
 * assert.equal(df.height, 2);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { gunzipSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { InputError } from "../util/errors.ts";
import { splitCsvLine } from "./csv_line.ts";

export { splitCsvLine };

/** One column as the file holds it. `num` columns are read as float64. */
export interface ColumnSpec {
  name: string;
  type: "num" | "int" | "str";
  /** An empty field is allowed (read as null). Default false: empty fields are errors. */
  nullable?: boolean;
}

/** Options for {@link parseTable}. */
export interface ParseTableOptions {
  /** Name used in error messages. */
  file: string;
  /** Columns in file order. */
  columns: readonly ColumnSpec[];
  /** The first line is a header (already checked by the caller) and is skipped. */
  header: boolean;
  /** Drop rows whose every field is empty (e.g. the trailing ",,,," rows of some CIC-IDS2017 files). */
  skipEmptyRows?: boolean;
  /**
   * "utf8" (default): invalid UTF-8 is an error naming the line. "utf8-lossy": invalid bytes become
   * U+FFFD (the original CIC-IDS2017 CSVs hold a Windows-1252 en-dash, byte 0x96, in labels).
   */
  encoding?: "utf8" | "utf8-lossy";
}

/** The result of {@link parseTable} with what was skipped, so nothing is dropped silently. */
export interface ParsedTable {
  df: pl.DataFrame;
  /** Rows dropped because every field was empty (only with skipEmptyRows). */
  emptyRowsSkipped: number;
}

const SENTINEL = "__nadir_extra_field__";
const GZIP_MAGIC = [0x1f, 0x8b];

/** Options for {@link readBytes}. */
export interface ReadBytesOptions {
  /** Whether the CSV form of a Parquet file starts with its column names (default true; KDD files have none). */
  header?: boolean;
}

/**
 * Reads a file into bytes, gunzipping `.gz` (detected by magic number, not by name) and removing a
 * UTF-8 byte-order mark. Truncated or corrupt gzip data becomes an InputError naming the file.
 *
 * A Parquet file (detected by its magic "PAR1") comes back as CSV text, its rows in order and its column
 * names as the header: CIC-IDS2017 and UNSW-NB15 are passed around as Parquet as much as CSV, and the
 * loaders' checks and label handling are then the same for both. An error the loader finds at a line of
 * that text names the Parquet row instead ({@link atParquetRow}).
 */
export function readBytes(path: string, o: ReadBytesOptions = {}): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new InputError("file not found", { file: path });
    if (e instanceof Deno.errors.IsADirectory) {
      throw new InputError("expected a file, found a directory", { file: path });
    }
    throw new InputError(`cannot read: ${(e as Error).message}`, { file: path });
  }
  let bytes = raw;
  if (isParquetBytes(raw)) return parquetAsCsv(path, o.header ?? true);
  if (raw.length >= 2 && raw[0] === GZIP_MAGIC[0] && raw[1] === GZIP_MAGIC[1]) {
    try {
      bytes = gunzipSync(raw);
    } catch (e) {
      const msg = (e as Error).message;
      const what = /unexpected end/i.test(msg)
        ? "truncated gzip data (unexpected end of file)"
        : `corrupt gzip data (${msg})`;
      throw new InputError(`${what}; the download or copy is incomplete`, { file: path });
    }
  } else if (path.endsWith(".gz")) {
    throw new InputError(
      `expected gzip data (a .gz name), found no gzip header (first bytes ${hex(raw.subarray(0, 2))})`,
      { file: path },
    );
  }
  notACapture(bytes, path);
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    bytes = bytes.subarray(3);
  }
  return bytes;
}

/** Whether `path` names a Parquet file (`.parquet`, `.pq`): what the readers here tell the formats by. */
export function isParquetPath(path: string): boolean {
  return /\.(parquet|pq)$/i.test(path);
}

/** Whether `b` starts with "PAR1", the magic of a Parquet file. */
export function isParquetBytes(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x41 && b[2] === 0x52 && b[3] === 0x31;
}

/** The rows of a Parquet file as CSV text, after the column names when `header`. */
function parquetAsCsv(path: string, header: boolean): Uint8Array {
  return frameAsCsv(readParquetFile(path), header);
}

/** A whole Parquet file through polars; a damaged or foreign file is an InputError naming it. */
export function readParquetFile(path: string): pl.DataFrame {
  try {
    return pl.readParquet(path);
  } catch (e) {
    throw new InputError(`cannot read Parquet: ${polarsMessage(e)}`, { file: path });
  }
}

/**
 * A frame of a Parquet file (`raw`, columns in file order) with the names and types {@link parseTable}
 * gives `columns`, when its columns already hold what the CSV text of those rows would parse to: text as
 * text, integers as integers, doubles or integers as doubles, and no value missing where one is required.
 * A float32 column becomes the double of its shortest decimal, as its CSV text does (not the float32's own
 * double). Otherwise undefined — numbers kept as text, missing values (empty rows to skip, or an error to
 * locate) — and the caller parses the CSV text instead, which decides and names the row.
 */
export function typedFrame(raw: pl.DataFrame, columns: readonly ColumnSpec[]): pl.DataFrame | undefined {
  if (raw.width !== columns.length || raw.height === 0) return undefined;
  const out: pl.Series[] = [];
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i], s = raw.getColumn(raw.columns[i]);
    const t = String(s.dtype).replace(/^DataType\((.*)\)$/, "$1");
    const int = /^U?Int(8|16|32|64)$/.test(t) && t !== "UInt64";
    const f32 = c.type === "num" && t === "Float32";
    const ok = c.type === "str" ? t === "String" : c.type === "int" ? int : int || f32 || t === "Float64";
    if (!ok || (!c.nullable && s.nullCount() > 0)) return undefined;
    out.push((f32 ? s.cast(pl.Utf8) : s).cast(dtypeOf(c.type)).rename(c.name));
  }
  return pl.DataFrame(out);
}

/** A frame as CSV text (polars writes each float so that it reads back to the same value). */
export function frameAsCsv(df: pl.DataFrame, header: boolean): Uint8Array {
  return df.writeCSV({ includeHeader: header });
}

/**
 * An error a loader found at a line of the CSV form of a Parquet file ({@link readBytes}), told as the
 * file's row (`rowOf` maps the k-th row of that text to the file's 1-based row; identity by default) or,
 * at line 1 of a form with a header, as its column names. Other errors come back unchanged.
 */
export function atParquetRow(
  e: unknown,
  header: boolean,
  file: string,
  rowOf: (k: number) => number | undefined = (k) => k,
): unknown {
  if (!(e instanceof InputError) || e.location.line === undefined) return e;
  const k = header ? e.location.line - 1 : e.location.line;
  const row = k >= 1 ? rowOf(k) : undefined;
  const where = row !== undefined ? `row ${row}` : k === 0 ? "column names" : "a row";
  return new InputError(`${where}: ${e.detail}`, { file, column: e.location.column }, { cause: e });
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ") || "none";
}

/** The first line of `bytes` (without CR/LF), decoded as UTF-8. */
export function firstLine(bytes: Uint8Array, maxBytes = 1 << 16): string {
  const end = Math.min(bytes.length, maxBytes);
  let i = 0;
  while (i < end && bytes[i] !== 0x0a) i++;
  return new TextDecoder().decode(bytes.subarray(0, i)).replace(/\r$/, "");
}

/** True when `bytes` hold no data line after the (optional) header. */
function hasNoRows(bytes: Uint8Array, header: boolean): boolean {
  const text = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, 1 << 20)));
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.length <= (header ? 1 : 0);
}

function dtypeOf(t: ColumnSpec["type"]) {
  return t === "str" ? pl.Utf8 : t === "int" ? pl.Int64 : pl.Float64;
}

/** Parses CSV bytes strictly against `columns`; see the module doc. */
export function parseTable(bytes: Uint8Array, opts: ParseTableOptions): ParsedTable {
  const { file, columns, header } = opts;
  notACapture(bytes, file);
  if (bytes.length === 0 || hasNoRows(bytes, header)) {
    throw new InputError(
      `empty file: expected ${
        header ? "a header and " : ""
      }rows of ${columns.length} columns, found no data rows`,
      { file },
    );
  }
  const schema: Record<string, any> = {};
  for (const c of columns) schema[c.name] = dtypeOf(c.type);
  schema[SENTINEL] = pl.Utf8;
  let df: pl.DataFrame;
  try {
    df = pl.readCSV(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      hasHeader: false,
      skipRows: header ? 1 : 0,
      schema,
      quoteChar: '"',
      encoding: opts.encoding ?? "utf8",
    } as any);
  } catch (e) {
    throw locateError(bytes, opts) ??
      new InputError(`cannot parse CSV: ${polarsMessage(e)}`, { file });
  }
  let emptyRowsSkipped = 0;
  const nulls = df.nullCount().toRecords()[0] as Record<string, number>;
  const extra = nulls[SENTINEL] !== df.height;
  const badNull = columns.some((c) => !c.nullable && nulls[c.name] > 0);
  if (extra || badNull) {
    if (opts.skipEmptyRows && !extra) {
      // Rows where every field is null are the empty ",,,," lines; drop them and count.
      let allNull = pl.lit(true);
      for (const c of columns) allNull = allNull.and(pl.col(c.name).isNull());
      const before = df.height;
      df = df.filter(allNull.not());
      emptyRowsSkipped = before - df.height;
      const n2 = df.nullCount().toRecords()[0] as Record<string, number>;
      if (columns.some((c) => !c.nullable && n2[c.name] > 0)) {
        throw locateError(bytes, opts) ??
          new InputError("unexpected empty value (could not locate the line)", { file });
      }
    } else {
      throw locateError(bytes, opts) ??
        new InputError("unexpected empty value or extra field (could not locate the line)", { file });
    }
  }
  return { df: df.drop(SENTINEL), emptyRowsSkipped };
}

/** Longest CSV line accepted (bytes). Real rows are a few hundred bytes; a line past this is damage. */
export const MAX_LINE_BYTES = 1 << 20;

/**
 * A packet capture where a table was expected: said as such, with the step that makes a table of it. Read as
 * CSV it failed on whatever its bytes happened to hold ("line 3: empty line", "invalid UTF-8 byte").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notACapture } from "./csv.ts";
 * notACapture(new TextEncoder().encode("a,b\n"), "t.csv");
 * assert.throws(() => notACapture(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), "x.pcap"), /x\.pcap: a pcap packet capture/);
 * ```
 */
export function notACapture(bytes: Uint8Array, file: string): void {
  if (bytes.length < 4) return;
  const m = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  const kind = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(m)
    ? "pcap"
    : m === 0x0a0d0d0a
    ? "pcapng"
    : undefined;
  if (kind) {
    throw new InputError(
      `a ${kind} packet capture, not a table of flows: make one first with \`deno task nadir flows ${file} ` +
        `--out flows.csv\``,
      { file },
    );
  }
}

/**
 * A header naming a column twice: polars renames the second `<name>_duplicated_0`, and a model trained on
 * it silently lost the real column of that name.
 */
function duplicateHeader(bytes: Uint8Array, from: number, to: number, file: string): void {
  const names = new TextDecoder().decode(bytes.subarray(from, to)).replace(/^\uFEFF/, "").split(",")
    .map((n) => n.trim().replace(/^"(.*)"$/, "$1"));
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    const first = seen.get(n);
    if (first !== undefined) {
      throw new InputError(`column "${n}" appears twice in the header (columns ${first + 1} and ${i + 1})`, {
        file,
        line: 1,
      });
    }
    seen.set(n, i);
  });
}

/**
 * Checks the shape of CSV bytes in one pass without decoding them: every line
 * holds as many fields as the first (the header), and no line is longer than
 * `maxLineBytes`. polars alone turns a short row into nulls and an extra field
 * into nothing, and a 200 MB line without a newline costs gigabytes before it
 * fails, so the generic reader runs this first. Quoted fields may hold commas
 * and newlines. Throws an {@link InputError} naming the file and line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCsvShape } from "./csv.ts";
 * const ok = new TextEncoder().encode('a,b\n1,"x,y"\n');
 * assert.equal(checkCsvShape(ok, "ok.csv"), 1);
 * assert.throws(() => checkCsvShape(new TextEncoder().encode("a,b\n1\n"), "short.csv"), /short\.csv:2/);
 * ```
 */
export function checkCsvShape(bytes: Uint8Array, file: string, maxLineBytes = MAX_LINE_BYTES): number {
  notACapture(bytes, file);
  const n = bytes.length;
  // `line`: the physical line a row starts on (a quoted field may hold newlines); `phys`: the current one.
  let line = 1, phys = 1, lineStart = 0, fields = 1, expected = -1, start = 0, quoted = false, rows = 0;
  let quoteLine = 0, quoteCol = 0;
  // A quote left open swallows the lines after it into one row: say so, rather than only "found N fields".
  const unclosed = (what: string) =>
    new InputError(
      `${what}: the quote opened on this line, at character ${quoteCol}, is not closed ` +
        (phys > quoteLine ? `within the ${phys - quoteLine} line(s) after it` : "before the end of the line"),
      { file, line: quoteLine },
    );
  for (let i = 0; i <= n; i++) {
    const b = i < n ? bytes[i] : 0x0a;
    if (b === 0x22) {
      // a doubled "" inside quotes toggles twice: no net change
      quoted = !quoted;
      if (quoted) (quoteLine = phys, quoteCol = i - lineStart + 1);
    } else if (!quoted && b === 0x2c) fields++;
    else if (b === 0x0a && (!quoted || i === n)) {
      if (quoted && i === n && i > start) throw unclosed("unterminated quoted field");
      const len = i - start - (i > start && bytes[i - 1] === 0x0d ? 1 : 0);
      if (len > maxLineBytes) {
        throw new InputError(`line of ${len} bytes; expected CSV rows under ${maxLineBytes} bytes`, {
          file,
          line,
        });
      }
      if (len > 0 || i < n) {
        if (len === 0) {
          throw new InputError(`empty line; expected ${expected} comma-separated fields`, { file, line });
        }
        if (expected < 0) {
          expected = fields;
          duplicateHeader(bytes, start, start + len, file);
        } else {
          rows++;
          if (fields !== expected) {
            if (phys > line) throw unclosed(`expected ${expected} fields (as the header), found ${fields}`);
            throw new InputError(`expected ${expected} fields (as the header), found ${fields}`, {
              file,
              line,
            });
          }
        }
      }
      phys++;
      line = phys;
      lineStart = i + 1;
      fields = 1;
      start = i + 1;
      quoted = false;
      continue;
    } else if (b === 0x0a) (phys++, lineStart = i + 1);
    if (i - start > maxLineBytes) {
      throw new InputError(
        `line longer than ${maxLineBytes} bytes (no newline?); expected CSV rows`,
        { file, line },
      );
    }
  }
  return rows;
}

/** polars' message, first line, without the offending data it may quote at length. */
export function polarsMessage(e: unknown, max = 200): string {
  const m = String((e as Error)?.message ?? e).split("\n")[0];
  return m.length > max ? m.slice(0, max) + "…" : m;
}

const INT_RE = /^[+-]?\d+$/;
const NUM_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i;

/**
 * Scans the text for the first line that breaks the column spec. Returns undefined when every line
 * is fine (then the caller reports polars' own message).
 */
export function locateError(bytes: Uint8Array, opts: ParseTableOptions): InputError | undefined {
  const { file, columns, header } = opts;
  const text = new TextDecoder().decode(bytes);
  if (opts.encoding !== "utf8-lossy") {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      const at = text.indexOf("\uFFFD");
      const line = at < 0 ? undefined : text.slice(0, at).split("\n").length;
      return new InputError("invalid UTF-8 byte (is the file in another encoding?)", { file, line });
    }
  }
  const n = columns.length;
  let pos = 0;
  let next = 1; // the physical line the next record starts on
  let first = true;
  while (pos < text.length) {
    // One record: to a newline outside quotes, as the loaders read it (a quoted field may hold newlines).
    // Split at every newline, a record after a quoted newline had been named by the wrong line.
    let end = pos, quoted = false, inner = 0;
    for (; end < text.length; end++) {
      const ch = text.charCodeAt(end);
      if (ch === 0x22) quoted = !quoted;
      else if (ch === 0x0a) {
        if (!quoted) break;
        inner++;
      }
    }
    const line = next;
    next += inner + 1;
    if (quoted) {
      // A quote left open to the end of the text: its record starts here.
      const open = text.slice(pos, end).indexOf('"');
      throw new InputError(
        `unterminated quoted field: the quote at character ${open + 1} is not closed before the end ` +
          "of the file",
        { file, line },
      );
    }
    const raw = text.slice(pos, end).replace(/\r$/, "");
    pos = end + 1;
    if (header && first) {
      first = false;
      continue;
    }
    first = false;
    if (raw.length === 0) {
      if (opts.skipEmptyRows) continue;
      // A blank line, at the end too ("\n\n"): the final newline alone never makes an empty record here.
      throw new InputError(`empty line; expected ${n} comma-separated fields`, { file, line });
    }
    const fields = splitCsvLine(raw);
    if (opts.skipEmptyRows && fields.every((f) => f.trim() === "")) continue;
    if (fields.length !== n) {
      // (A quote left open was said above: a record ends only at a newline outside quotes.)
      throw new InputError(
        `expected ${n} columns, found ${fields.length}` +
          (fields.length < n ? ` (missing from column "${columns[fields.length].name}" on)` : ""),
        { file, line },
      );
    }
    for (let i = 0; i < n; i++) {
      const c = columns[i];
      const v = fields[i];
      if (v === "") {
        if (!c.nullable) {
          throw new InputError(`empty value; expected ${c.type === "str" ? "a value" : "a number"}`, {
            file,
            line,
            column: c.name,
          });
        }
        continue;
      }
      if (c.type === "num" && !NUM_RE.test(v)) {
        throw new InputError(`expected a number, found "${clip(v)}"`, { file, line, column: c.name });
      }
      if (c.type === "int" && !INT_RE.test(v)) {
        throw new InputError(`expected an integer, found "${clip(v)}"`, { file, line, column: c.name });
      }
    }
  }
  return undefined;
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + "…" : s;
}

/**
 * The files a source stands for: the file itself, or every file matching `pattern` in a directory
 * (sorted by name, so concatenation order is stable).
 */
export function listSourceFiles(path: string, pattern: RegExp = /\.csv(\.gz)?$|\.(parquet|pq)$/i): string[] {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch {
    throw new InputError("file or directory not found", { file: path });
  }
  if (!st.isDirectory) return [path];
  const files: string[] = [];
  for (const e of Deno.readDirSync(path)) {
    if (e.isFile && !e.name.startsWith(".") && pattern.test(e.name)) {
      files.push(`${path.replace(/\/$/, "")}/${e.name}`);
    }
  }
  if (!files.length) {
    throw new InputError(`directory holds no data files (names matching ${pattern})`, { file: path });
  }
  // Both forms of one dataset side by side (a CSV folder with its Parquet copies) would load every row twice.
  const parquet = files.filter(isParquetPath).length;
  const text = files.filter((f) => /\.(csv|txt|data)(\.gz)?$|\.gz$/i.test(f)).length;
  if (parquet > 0 && text > 0) {
    throw new InputError(
      `directory holds both Parquet (${parquet}) and text data files (${text}); ` +
        "expected one format: give a folder of one, or one file",
      { file: path },
    );
  }
  return files.sort();
}
