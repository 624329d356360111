/**
 * The lines of a text file read in chunks, for the JSON-lines files a sensor appends to and reads back (the
 * alerts file, the feedback file). Reading one whole into a string fails past V8's string limit
 * (~512 MiB: "buffer exceeds maximum length", measured on a 620 MB alerts file) and holds the text twice
 * meanwhile; here memory holds one chunk and the line being cut.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forEachLine } from "./lines.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "a\nbé\n\nc");
 * const seen: string[] = [];
 * forEachLine(path, (line, n) => void seen.push(`${n}:${line}`), { chunkBytes: 2 });
 * assert.deepEqual(seen, ["1:a", "2:bé", "3:", "4:c"]);
 * Deno.removeSync(path);
 * ```
 * @module
 */

/** Options for {@link forEachLine}. */
export interface ForEachLineOptions {
  /** Bytes read at a time (default 1 MiB); a longer line grows the buffer to hold it. */
  chunkBytes?: number;
  /** Byte offset to start at (default 0): the start of a line, as an earlier call's `endByte` gave it. */
  start?: number;
}

/**
 * Calls `f` with each line of `path` (without its "\n"), its 1-based number (counted from `opts.start`) and
 * the byte offset just past it (past its "\n"), in order; a last line without "\n" is passed too, one ending
 * in "\n" is not followed by an empty one. `f` returning `false` stops the read there. Returns false when the
 * file does not exist (nothing is called); other read errors are thrown.
 */
export function forEachLine(
  path: string,
  f: (line: string, lineNo: number, endByte: number) => void | boolean,
  opts: ForEachLineOptions = {},
): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  try {
    const dec = new TextDecoder();
    let buf = new Uint8Array(Math.max(1, opts.chunkBytes ?? 1 << 20));
    let held = 0; // bytes of a line not yet ended, at buf[0 .. held)
    let lineNo = 0;
    // The file offset of buf[0].
    let base = opts.start ?? 0;
    if (base > 0) file.seekSync(base, Deno.SeekMode.Start);
    for (;;) {
      if (held === buf.length) {
        const grown = new Uint8Array(2 * buf.length);
        grown.set(buf);
        buf = grown;
      }
      const n = file.readSync(buf.subarray(held));
      if (n === null) break;
      const end = held + n;
      let start = 0;
      // UTF-8 never uses the byte 0x0a inside a character, so a line can be cut at it before decoding.
      for (let nl = buf.indexOf(10, held); nl !== -1 && nl < end; nl = buf.indexOf(10, start)) {
        if (f(dec.decode(buf.subarray(start, nl)), ++lineNo, base + nl + 1) === false) return true;
        start = nl + 1;
        if (start >= end) break;
      }
      buf.copyWithin(0, start, end);
      base += start;
      held = end - start;
    }
    if (held > 0) f(dec.decode(buf.subarray(0, held)), ++lineNo, base + held);
    return true;
  } finally {
    file.close();
  }
}
