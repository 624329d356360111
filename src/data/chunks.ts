/**
 * A CSV file (gzip or plain) read as a stream of chunks of whole rows, each a
 * small CSV of its own (the header repeated in front when the file has one):
 * how a file bigger than memory goes through the ordinary loaders a bounded
 * piece at a time. Rows are split on newlines outside double quotes, so a
 * quoted field may hold a newline. Each chunk says which line of the file its
 * first row is on, so an error found in a chunk can name the file's line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvChunks } from "./chunks.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".csv" });
 * Deno.writeTextFileSync(path, 'a,b\n1,"x\ny"\n2,z\n3,w\n');
 * const chunks = [];
 * for await (const c of csvChunks(path, { rowsPerChunk: 2, header: true })) {
 *   chunks.push([new TextDecoder().decode(c.bytes), c.firstLine, c.rows]);
 * }
 * assert.deepEqual(chunks, [['a,b\n1,"x\ny"\n2,z\n', 2, 2], ["a,b\n3,w\n", 5, 1]]);
 * Deno.removeSync(path);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";

/** One chunk of rows. */
export interface CsvChunk {
  /** A CSV: the header line (when the file has one), then the rows, each ending in a newline. */
  bytes: Uint8Array;
  /** 1-based line of the file the chunk's first row starts on. */
  firstLine: number;
  rows: number;
  /** Bytes of the header in front (0 without one): the first row starts there. */
  headerLength: number;
  /** With `rowEnds`: where each row ends in `bytes` (after its newline). */
  rowEnds?: Int32Array;
  /**
   * Bytes of the file on disk read so far (compressed bytes for a gzip file), for progress against
   * its size; reads run a little ahead of the rows emitted.
   */
  fileBytes: number;
}

/** Options for {@link csvChunks}. */
export interface CsvChunkOptions {
  rowsPerChunk: number;
  /** Whether the first line is a header (repeated at the front of every chunk). */
  header: boolean;
  /** Record where each row ends ({@link CsvChunk.rowEnds}). */
  rowEnds?: boolean;
  /** False: count the rows only, `bytes` is empty (no copy of the file is made). Default true. */
  bytes?: boolean;
}

const READ_BYTES = 1 << 20;

/**
 * The bytes of `path` as a stream, gunzipped when the file starts with the gzip magic number (whatever its
 * name). The stream closes the file when read to the end or cancelled; `file` is there to close it early.
 * `read()` says how many bytes of the file on disk were read so far (compressed ones for a gzip file).
 */
export async function openBytes(
  path: string,
): Promise<{ file: Deno.FsFile; stream: ReadableStream<Uint8Array>; read: () => number }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    throw new InputError("file not found", { file: path });
  }
  const head = new Uint8Array(2);
  const n = await file.read(head);
  await file.seek(0, Deno.SeekMode.Start);
  let read = 0;
  // Reads of 1 MiB: a file's own readable stream hands over 64 KiB at a time, a turn of the event loop each,
  // which cost counting a 600 MB CSV's rows about half its time.
  let stream = new ReadableStream<Uint8Array>({
    async pull(out) {
      const b = new Uint8Array(READ_BYTES);
      const n = await file.read(b);
      if (n === null) {
        file.close();
        out.close();
        return;
      }
      read += n;
      out.enqueue(n === b.length ? b : b.subarray(0, n));
    },
    cancel() {
      file.close();
    },
  });
  if (n === 2 && head[0] === 0x1f && head[1] === 0x8b) {
    stream = stream.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  return { file, stream, read: () => read };
}

/**
 * Reads `path` in chunks of at most `rowsPerChunk` rows. Blank lines are not rows: between rows they are
 * passed on (the loaders count them in line numbers and skip them), leading a chunk they are left out.
 */
export async function* csvChunks(path: string, o: CsvChunkOptions): AsyncGenerator<CsvChunk> {
  if (!(o.rowsPerChunk >= 1)) throw new RangeError(`rowsPerChunk must be ≥ 1, found ${o.rowsPerChunk}`);
  const { file, stream, read } = await openBytes(path);
  let buf = new Uint8Array(1 << 20);
  let len = 0; // bytes held in buf
  let rowStart = 0; // start of the first row not yet emitted
  let scan = 0; // next byte to look at
  let inQuotes = false;
  let quoteAt = -1; // next quote at or after `scan` (len when none is held)
  let line = 1; // line of the file at `scan`
  let rowLine = 1; // line the current row starts on
  let rowsEnd = 0; // end of the last complete row in buf
  let rowsInChunk = 0;
  let chunkFirstLine = 0;
  let header: Uint8Array | undefined;
  let needHeader = o.header;
  const ends = o.rowEnds ? new Int32Array(o.rowsPerChunk) : undefined;
  const copy = o.bytes ?? true;
  const emit = (end: number): CsvChunk => {
    const rows = buf.subarray(rowStart, end);
    const h = header ?? new Uint8Array(0);
    const out = new Uint8Array(copy ? h.length + rows.length : 0);
    if (copy) (out.set(h), out.set(rows, h.length));
    const c: CsvChunk = {
      bytes: out,
      firstLine: chunkFirstLine,
      rows: rowsInChunk,
      headerLength: copy ? h.length : 0,
      fileBytes: read(),
    };
    if (ends) {
      c.rowEnds = ends.slice(0, rowsInChunk);
      for (let i = 0; i < c.rowEnds.length; i++) c.rowEnds[i] += h.length - rowStart;
    }
    rowStart = end;
    rowsInChunk = 0;
    return c;
  };
  try {
    for await (const part of stream) {
      if (len + part.length > buf.length) {
        // Drop what was emitted, then grow if one chunk's rows still do not fit.
        buf.copyWithin(0, rowStart, len);
        len -= rowStart;
        scan -= rowStart;
        rowsEnd -= rowStart;
        if (ends) { for (let i = 0; i < rowsInChunk; i++) ends[i] -= rowStart; }
        rowStart = 0;
        if (len + part.length > buf.length) {
          const grown = new Uint8Array(Math.max(buf.length * 2, len + part.length));
          grown.set(buf.subarray(0, len));
          buf = grown;
        }
      }
      buf.set(part, len);
      len += part.length;
      quoteAt = -1; // the cached quote position is stale once bytes move or arrive
      // Searches stop at the bytes held: past `len` lies stale data as long as the buffer.
      const held = buf.subarray(0, len);
      for (; scan < len; scan++) {
        if (!inQuotes) {
          // Fast path: jump to the next newline or quote with native scans rather than a byte loop.
          // The next quote is cached, so a file without quotes is searched for them once per read.
          if (quoteAt < scan) {
            quoteAt = held.indexOf(0x22, scan);
            if (quoteAt < 0) quoteAt = len;
          }
          let nl = held.indexOf(0x0a, scan);
          if (nl < 0) nl = len;
          const next = Math.min(nl, quoteAt);
          if (next >= len) {
            scan = len;
            break;
          }
          scan = next;
        }
        const b = buf[scan];
        if (b === 0x22) inQuotes = !inQuotes;
        else if (b === 0x0a) {
          line++;
          if (inQuotes) continue; // a newline inside a quoted field
          if (needHeader) {
            header = buf.slice(rowStart, scan + 1);
            rowStart = scan + 1;
            needHeader = false;
            rowLine = line;
            continue;
          }
          // A blank line (empty, or a lone CR) is not a row: a chunk of only blank lines had been "a file
          // with no data rows", and a sample had counted one as a row and dropped a real one.
          const begin = Math.max(rowsEnd, rowStart);
          if (scan === begin || (scan === begin + 1 && buf[begin] === 0x0d)) {
            if (rowsInChunk === 0) rowStart = scan + 1; // leading a chunk: left out of it
            rowsEnd = scan + 1;
            rowLine = line;
            continue;
          }
          if (rowsInChunk === 0) chunkFirstLine = rowLine;
          rowLine = line;
          rowsEnd = scan + 1;
          if (ends) ends[rowsInChunk] = scan + 1;
          if (++rowsInChunk === o.rowsPerChunk) yield emit(scan + 1);
        }
      }
    }
    if (needHeader) return; // a header and nothing else (or nothing)
    const tailStart = Math.max(rowsEnd, rowStart);
    if (len > tailStart && !(len === tailStart + 1 && buf[tailStart] === 0x0d)) {
      // A last row without a newline: given one, after the complete rows still held.
      if (rowsInChunk === 0) chunkFirstLine = rowLine;
      const tail = new Uint8Array(len - rowStart + 1);
      tail.set(buf.subarray(rowStart, len));
      tail[tail.length - 1] = 0x0a;
      if (ends) {
        for (let i = 0; i < rowsInChunk; i++) ends[i] -= rowStart;
        ends[rowsInChunk] = tail.length;
      }
      rowsInChunk++;
      buf = tail;
      rowStart = 0;
      len = tail.length;
    }
    if (rowsInChunk > 0) yield emit(len);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read (${(e as Error).message})`, { file: path, line });
  } finally {
    try {
      file.close();
    } catch { /* the stream closed it */ }
  }
}
