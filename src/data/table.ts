/**
 * Loads "some table" for preprocessing and model commands: a dataset name, a file of a known
 * dataset (detected from its first line), or any other CSV/Parquet file (generic: polars infers
 * the types, string columns are categorical).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectFamily, loadTable } from "./table.ts";
 * assert.equal((await detectFamily("data/kdd99/corrected.gz")), "kdd99");
 * const df = await loadTable("nsl-kdd-test-21");
 * assert.equal(df.height, 11850);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { Buffer } from "node:buffer";
import { InputError } from "../util/errors.ts";
import { familyOf, loadDataset } from "./datasets.ts";
import {
  checkCsvShape,
  isParquetPath,
  listSourceFiles,
  polarsMessage,
  readBytes,
  splitCsvLine,
} from "./csv.ts";
import { VENDORED } from "./source.ts";
import { openBytes } from "./chunks.ts";
import { numericColumn } from "./frame.ts";
import { featureColumns, numbersAsText } from "./schema.ts";

/** The first line of a (possibly gzipped) file, reading only its start. */
export async function sniffFirstLine(path: string, maxBytes = 1 << 16): Promise<string> {
  const { stream } = await openBytes(path);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < maxBytes) {
      const { value, done } = await reader.read();
      if (done || !value) break;
      chunks.push(value);
      total += value.length;
      if (value.includes(0x0a)) break;
    }
  } catch (e) {
    throw new InputError(`cannot read the start of the file (${(e as Error).message})`, { file: path });
  } finally {
    await reader.cancel().catch(() => {});
  }
  const text = new TextDecoder().decode(concat(chunks)).replace(/^\uFEFF/, "");
  return text.split("\n")[0].replace(/\r$/, "");
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export { isParquetPath };

/**
 * The dataset family a file (or directory, by its first file) belongs to, from its first line:
 * "cic-ids2017", "unsw-nb15", "nsl-kdd", "kdd99", or undefined for anything else.
 */
export async function detectFamily(path: string): Promise<string | undefined> {
  const files = listSourceFiles(path, /\.(csv|txt)(\.gz)?$|\.gz$|\.data|\.(parquet|pq)$/i);
  // A Parquet file's column names stand for a CSV header (it has no first line of values to look at).
  const fields = isParquetPath(files[0])
    ? (await import("./parquet.ts")).parquetLayout(files[0]).columns.map((c) => c.name.trim())
    : splitCsvLine(await sniffFirstLine(files[0])).map((f) => f.trim());
  const lower = fields.map((f) => f.toLowerCase());
  // A table a loader already made (`nadir preprocess`, a frame written out) carries its targets as
  // label, attack and category: it is read as it is, not loaded again.
  if (["label", "attack", "category"].every((c) => lower.includes(c))) return undefined;
  if (lower.includes("flow duration") && lower.includes("label")) return "cic-ids2017";
  if (lower.includes("attack_cat") || (fields.length === 49 && /^\d+\.\d+\.\d+\.\d+$/.test(fields[0]))) {
    return "unsw-nb15";
  }
  const kddLike = fields.length >= 42 && ["tcp", "udp", "icmp"].includes(lower[1]);
  if (kddLike && fields.length === 43) return "nsl-kdd";
  if (kddLike && fields.length === 42) return "kdd99";
  return undefined;
}

/** Reads any CSV (.gz ok) or Parquet file with type inference; errors name the file. */
export function readGenericTable(path: string): pl.DataFrame {
  try {
    if (isParquetPath(path)) return pl.readParquet(path);
    const bytes = readBytes(path);
    if (bytes.length === 0) {
      throw new InputError("empty file: expected a CSV header and rows", { file: path });
    }
    checkCsvShape(bytes, path);
    const df = pl.readCSV(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      inferSchemaLength: 10000,
    });
    // A numeric feature column that type inference read as text for a few bad cells ("abc", "0x1F") is
    // named here, by the line of the file: later, rows may be gone (train drops duplicates first) and the
    // row number with them, and a text column of an unknown table had been one-hot encoded instead.
    for (const c of featureColumns(df)) if (numbersAsText(df.getColumn(c))) numericColumn(df, c);
    return df;
  } catch (e) {
    if (e instanceof InputError) {
      throw e.location.file === undefined ? new InputError(e.detail, { ...e.location, file: path }) : e;
    }
    throw new InputError(`cannot read table: ${polarsMessage(e)}`, { file: path });
  }
}

/**
 * Loads a table: `schema` (dataset name or family) forces a loader; a vendored dataset name loads
 * that dataset; otherwise the family is detected from the file and unknown files are read generically.
 */
export async function loadTable(
  source: string,
  schema?: string,
  /** Notes about skipped rows (default: console.warn). */
  warn?: (message: string) => void,
): Promise<pl.DataFrame> {
  if (schema) {
    familyOf(schema); // validates the name
    if (source === schema && VENDORED[source]) return loadDataset(source, { warn }).df;
    return loadDataset({ name: schema, path: source }, { warn }).df;
  }
  if (VENDORED[source]) return loadDataset(source).df;
  let isPath = true;
  try {
    Deno.statSync(source);
  } catch {
    isPath = false;
  }
  if (!isPath) {
    // Something shaped like a path (a folder separator or a file extension) is a missing file, not a name.
    if (/[\\/]|\.[A-Za-z0-9]{1,8}$/.test(source)) throw new InputError("file not found", { file: source });
    familyOf(source); // unknown dataset names get the list of known ones
    return loadDataset(source).df;
  }
  const fam = await detectFamily(source);
  if (fam) return loadDataset({ name: fam, path: source }).df;
  if (Deno.statSync(source).isDirectory) {
    throw new InputError("directory of unknown format; give --schema", { file: source });
  }
  return readGenericTable(source);
}
