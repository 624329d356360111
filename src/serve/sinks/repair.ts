/**
 * Start-up repair of a JSON-lines file a sink appends to (the alerts file,
 * the webhook spool). A crash or a full disk can leave a torn last line: bytes
 * without their newline, or — after an older nadir appended onto such a tail
 * — a last line that is not JSON. Appending after it would glue the next
 * alert onto the fragment and lose both, and the run after would refuse to
 * start. So, before a sink opens the file:
 *
 * - the torn tail (an unterminated last line, and a last complete line that
 *   is not valid JSON) is moved to a side file `<file>.torn-<UTC>` (written
 *   and fsync'd first, then the file is truncated to the last good line
 *   boundary), so nothing is thrown away and writing resumes on a clean line;
 * - an invalid line anywhere else is not a crash artefact but damage or a
 *   foreign file: {@link repairJsonLines} reports it as an {@link InputError}
 *   naming file:line, unless `all` is set (`alerts.repair` in the config,
 *   `--repair` on the command line), which moves every invalid line to the
 *   side file and rewrites the file (through a temporary file and a rename).
 *
 * Only the last 64 KiB are read for the tail check, so a 100 MiB alerts file
 * costs nothing to open; `all` (and `scanAll`) reads the whole file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { repairJsonLines } from "./repair.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const file = join(dir, "alerts.jsonl");
 * Deno.writeTextFileSync(file, '{"id":"a"}\n{"id":"b"}\n{"id":"c');
 * const r = repairJsonLines(file, { now: new Date("2024-05-01T12:00:00Z") })!;
 * assert.equal(Deno.readTextFileSync(file), '{"id":"a"}\n{"id":"b"}\n');
 * assert.equal(r.line, 3);
 * assert.equal(Deno.readTextFileSync(r.movedTo), '{"id":"c');
 * assert.equal(r.movedTo, file + ".torn-20240501T120000Z");
 * assert.equal(repairJsonLines(file), undefined); // clean now
 * Deno.removeSync(dir, { recursive: true });
 * ```
 * @module
 */
import { InputError } from "../../util/errors.ts";
import { basename } from "node:path";
import { existsSync as exists } from "../../util/fs.ts";
import { forEachLine } from "../../util/lines.ts";

/** What {@link repairJsonLines} did. */
export interface RepairReport {
  /** The repaired file. */
  path: string;
  /** 1-based line number of the first line moved aside. */
  line: number;
  /** Lines moved aside (a torn tail without newline counts as one). */
  lines: number;
  /** Bytes moved aside. */
  bytes: number;
  /** The side file that holds them. */
  movedTo: string;
  /** "tail" (crash/disk-full artefact) or "all" (invalid lines anywhere, on request). */
  kind: "tail" | "all";
}

/** Options for {@link repairJsonLines}. */
export interface RepairOptions {
  /** Move every invalid line aside instead of failing on one before the tail. Default false. */
  all?: boolean;
  /** Also check every line (without `all`: fail naming file:line on the first invalid one). */
  scanAll?: boolean;
  /** Clock for the side file's name (tests). */
  now?: Date;
  /**
   * What a good line holds, beyond being JSON (the alerts file: an alert or drift record). A line that is
   * JSON but not that (`[1,2,3]`, `{"foo":1}`) had been left by `--repair`, and the start refused it still.
   */
  valid?: (v: unknown) => boolean;
}

const TAIL_BYTES = 64 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

function isGood(line: string, opts: RepairOptions): boolean {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return false;
  }
  return opts.valid === undefined || opts.valid(v);
}

/** `<path>.torn-YYYYMMDDTHHMMSSZ`, with `-2`, `-3`… when a repair already happened this second. */
function sideName(path: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  let name = `${path}.torn-${stamp}`;
  for (let i = 2; exists(name); i++) name = `${path}.torn-${stamp}-${i}`;
  return name;
}

function writeDurably(path: string, data: Uint8Array): void {
  const f = Deno.openSync(path, { write: true, createNew: true });
  try {
    let off = 0;
    while (off < data.length) off += f.writeSync(data.subarray(off));
    f.syncSync();
  } finally {
    f.close();
  }
}

/**
 * Repairs `path` as the module doc says; undefined when it is absent, empty
 * or clean. Throws {@link InputError} (file:line) on an invalid line before
 * the tail unless `all`.
 */
export function repairJsonLines(path: string, opts: RepairOptions = {}): RepairReport | undefined {
  let size: number;
  try {
    const st = Deno.statSync(path);
    if (!st.isFile) return undefined; // /dev/stdout, /dev/full, a FIFO: nothing to repair
    size = st.size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (size === 0) return undefined;
  if (opts.all || opts.scanAll) return repairAll(path, size, opts);
  return repairTail(path, size, opts);
}

/** Moves the unterminated fragment and an invalid last complete line of `path` aside (see the module doc). */
function repairTail(path: string, size: number, opts: RepairOptions): RepairReport | undefined {
  // Tail only: the last 64 KiB hold the unterminated fragment and the last complete line (an
  // alert line is a few KiB); a longer last line is read whole below.
  const f = Deno.openSync(path, { read: true });
  let tail = new Uint8Array(0);
  let start = 0;
  try {
    let want = Math.min(size, TAIL_BYTES);
    for (;;) {
      start = size - want;
      tail = new Uint8Array(want);
      f.seekSync(start, Deno.SeekMode.Start);
      let off = 0;
      while (off < want) {
        const n = f.readSync(tail.subarray(off));
        if (n === null) break;
        off += n;
      }
      // Enough when the window holds the start of the last complete line (or the whole file).
      const lastNl = tail.lastIndexOf(0x0a);
      const prevNl = lastNl < 0 ? -1 : tail.subarray(0, lastNl).lastIndexOf(0x0a);
      if (start === 0 || prevNl >= 0 || want === size) break;
      want = Math.min(size, want * 4);
    }
  } finally {
    f.close();
  }
  const lastNl = tail.lastIndexOf(0x0a);
  let cut = lastNl + 1; // keep tail[0, cut)
  if (lastNl >= 0) {
    const prevNl = tail.subarray(0, lastNl).lastIndexOf(0x0a);
    const lastLine = dec.decode(tail.subarray(prevNl + 1, lastNl));
    if (lastLine.trim() !== "" && !isGood(lastLine, opts)) cut = prevNl + 1;
  }
  if (start + cut === size) return undefined;
  const moved = tail.subarray(cut);
  // Line number of the first moved line: count newlines before the cut (reads the file once more
  // only when something is actually repaired).
  const line = countLines(path, start + cut) + 1;
  const movedTo = sideName(path, opts.now ?? new Date());
  writeDurably(movedTo, moved);
  Deno.truncateSync(path, start + cut);
  const nl = moved.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
  return {
    path,
    line,
    lines: nl + (moved.at(-1) === 0x0a ? 0 : 1),
    bytes: moved.length,
    movedTo,
    kind: "tail",
  };
}

function countLines(path: string, upTo: number): number {
  const f = Deno.openSync(path, { read: true });
  try {
    const buf = new Uint8Array(1 << 20);
    let n = 0, pos = 0;
    while (pos < upTo) {
      const r = f.readSync(buf.subarray(0, Math.min(buf.length, upTo - pos)));
      if (r === null) break;
      for (let i = 0; i < r; i++) if (buf[i] === 0x0a) n++;
      pos += r;
    }
    return n;
  } finally {
    f.close();
  }
}

function repairAll(path: string, size: number, opts: RepairOptions): RepairReport | undefined {
  // Line by line (src/util/lines.ts): a spool that grew through a long outage can outgrow one string.
  // Only the invalid lines' text is held; the kept ones are streamed again when the file is rewritten.
  const bad: number[] = [];
  const badText = new Map<number, string>();
  let count = 0, last = "";
  forEachLine(path, (l, n) => {
    count = n;
    last = l;
    if (l.trim() !== "" && !isGood(l, opts)) {
      bad.push(n - 1);
      badText.set(n - 1, l);
    }
  });
  // An unterminated last line is the torn tail, moved whatever it holds; the complete lines come before it.
  const lastByte = new Uint8Array(1);
  const f = Deno.openSync(path, { read: true });
  try {
    f.seekSync(size - 1, Deno.SeekMode.Start);
    f.readSync(lastByte);
  } finally {
    f.close();
  }
  const complete = lastByte[0] === 0x0a ? count : count - 1;
  const unterminated = complete < count ? last : "";
  if (bad.at(-1) === complete) bad.pop();
  // Without `all`, only the tail may be moved: the last complete line, and the fragment after it.
  const tailStart = complete - 1;
  const early = bad.find((i) => i < tailStart);
  if (!opts.all && early !== undefined) {
    throw new InputError(
      `invalid JSON line (start with --repair to move invalid lines to a side file)`,
      { file: path, line: early + 1 },
    );
  }
  if (!bad.length && unterminated === "") return undefined;
  // Only the tail is damaged: the tail repair moves it, truncating to the bytes before it.
  if (early === undefined) return repairTail(path, size, opts);
  const moved = bad.map((i) => badText.get(i)! + "\n").join("") + unterminated;
  const movedTo = sideName(path, opts.now ?? new Date());
  const movedBytes = enc.encode(moved);
  writeDurably(movedTo, movedBytes);
  const tmp = `${path}.repair-${Deno.pid}`;
  try {
    Deno.removeSync(tmp);
  } catch { /* absent */ }
  const badSet = new Set(bad);
  const out = Deno.openSync(tmp, { write: true, createNew: true });
  try {
    let held: string[] = [], heldBytes = 0;
    const flush = () => {
      const b = enc.encode(held.join(""));
      for (let off = 0; off < b.length;) off += out.writeSync(b.subarray(off));
      held = [];
      heldBytes = 0;
    };
    forEachLine(path, (l, n) => {
      if (n > complete || badSet.has(n - 1)) return;
      held.push(l + "\n");
      if ((heldBytes += l.length) > 1 << 20) flush();
    });
    flush();
    out.syncSync();
  } finally {
    out.close();
  }
  Deno.renameSync(tmp, path);
  return {
    path,
    line: bad[0] + 1,
    lines: bad.length + (unterminated !== "" ? 1 : 0),
    bytes: movedBytes.length,
    movedTo,
    kind: "all",
  };
}

/** One log line for a repair: `alerts.jsonl:61: torn last line (312 bytes) moved to alerts.jsonl.torn-…`. */
export function describeRepair(r: RepairReport): string {
  const what = r.kind === "tail"
    ? `torn last line${r.lines > 1 ? "s" : ""}`
    : `${r.lines} invalid line${r.lines > 1 ? "s" : ""} (first)`;
  return `${r.path}:${r.line}: ${what} (${r.bytes} bytes) moved to ${basename(r.movedTo)}; ` +
    `writing continues on a clean line`;
}
