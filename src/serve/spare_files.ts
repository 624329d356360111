/**
 * Empty files created ahead of need, so that writing a small new file on a
 * busy thread costs a write and a rename instead of a file creation.
 *
 * Why: on this project's machine (ext4 on a virtual disk) creating a small
 * file costs 0.20–0.30 ms, while writing an existing empty one and renaming it
 * costs about 0.03 ms (measured from Deno and from Python alike): allocating
 * the inode is the cost, not the bytes. The monitor writes each alert's
 * evidence pcap on its capture thread before the alert goes out, so a burst of
 * alerts from one idle scan waited on one file creation per alert
 * (docs/monitor.md). A pool of spare files in a hidden subdirectory, refilled
 * a few at a time from timer turns, moves the creations off the alert's path; spares held open (within
 * a share of the open-file limit) save the open too.
 * The work is the same; it is done when the thread has a moment. A file
 * written through a spare appears under its name whole (the rename is
 * atomic), never half written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { SpareFiles } from "./spare_files.ts";
 * const dir = Deno.makeTempDirSync();
 * const spares = new SpareFiles(dir, { size: 2 });
 * assert.equal(spares.fill(), 2);
 * assert.equal(spares.writeAs(join(dir, "a.pcap"), new Uint8Array([1, 2, 3])), true);
 * assert.deepEqual(Deno.readFileSync(join(dir, "a.pcap")), new Uint8Array([1, 2, 3]));
 * assert.equal(spares.ready, 1);
 * spares.close(); // removes the unused spares and their directory
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.pcap"]);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { join } from "node:path";

/** Options for {@link SpareFiles}. */
export interface SpareFilesOptions {
  /** Empty files kept ready. Default 256: the largest burst of alerts from one scan measured was 257. */
  size?: number;
  /**
   * Spares kept open, ready to write (the rest are reopened by path). Default: 1/8 of the process's
   * open-file limit, at most `size` (a limit of 1,024 gives 128). An open spare saves the open: its pcap
   * costs ~17 µs instead of ~55 µs (500 pcaps of 6.8 KB, 5 interleaved rounds).
   */
  open?: number;
  /**
   * Longest a timer turn creates files, ms. Default 1: a turn delays whatever the thread does next (the
   * next packets, the next alert) by at most this much plus one creation.
   */
  turnMs?: number;
}

/** Where the spares live, inside the directory they serve (same file system, so rename works). */
export const SPARE_DIR = ".spare";

/** The soft limit on open files (Linux /proc/self/limits), 1,024 where it cannot be read. */
function openFileLimit(): number {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n").find((l) =>
      l.startsWith("Max open files")
    );
    const n = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(n) && n > 0 ? n : 1024;
  } catch {
    return 1024;
  }
}

interface Spare {
  path: string;
  /** Open for writing (created by this pool, within its open budget). */
  file?: Deno.FsFile;
}

/**
 * A pool of empty files in `<dir>/.spare`. {@link writeAs} writes through one
 * when one is ready; {@link start} keeps the pool full from timer turns, and
 * {@link close} removes what is left. Spares a killed run left behind are
 * used again.
 */
export class SpareFiles {
  readonly dir: string;
  readonly #size: number;
  readonly #maxOpen: number;
  #open = 0;
  readonly #turnMs: number;
  readonly #ready: Spare[] = [];
  #seq = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #running = false;
  #closed = false;
  /** Until when refills pause after a failed creation (a full disk must not be retried every turn). */
  #pauseUntil = 0;

  constructor(parent: string, opts: SpareFilesOptions = {}) {
    this.#size = opts.size ?? 256;
    this.#turnMs = opts.turnMs ?? 1;
    if (!(Number.isInteger(this.#size) && this.#size >= 0)) {
      throw new RangeError(`spare files: size must be an integer ≥ 0, found ${opts.size}`);
    }
    this.#maxOpen = Math.min(this.#size, opts.open ?? Math.floor(openFileLimit() / 8));
    this.dir = join(parent, SPARE_DIR);
    try {
      Deno.mkdirSync(this.dir, { recursive: true });
      for (const e of Deno.readDirSync(this.dir)) {
        if (e.isFile) this.#ready.push({ path: join(this.dir, e.name) });
      }
    } catch {
      // No pool (a read-only or missing directory): every write goes the direct way and fails or
      // succeeds there, where it is counted.
      this.#closed = true;
    }
  }

  /** Spare files ready now. */
  get ready(): number {
    return this.#ready.length;
  }

  /** Spare files held open now. */
  get open(): number {
    return this.#open;
  }

  /**
   * Writes `bytes` as the file `path` through a spare: true when written, false when no spare was ready
   * or the rename found no file (the caller writes the file itself, and a missing directory fails there).
   * A failed write removes the spare and throws.
   */
  writeAs(path: string, bytes: Uint8Array): boolean {
    const spare = this.#ready.pop();
    if (spare === undefined) return false;
    this.#schedule();
    try {
      if (spare.file) {
        const f = spare.file;
        spare.file = undefined;
        this.#open--;
        try {
          for (let off = 0; off < bytes.length;) off += f.writeSync(bytes.subarray(off));
        } finally {
          f.close();
        }
      } else Deno.writeFileSync(spare.path, bytes, { create: false });
    } catch (e) {
      this.#drop(spare);
      // Removed from outside (a cleaner of hidden files): not a failure of this write.
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
    try {
      Deno.renameSync(spare.path, path);
    } catch (e) {
      this.#drop(spare);
      // The spare was removed from outside, or `path`'s directory is gone: the caller's own write says which.
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
    return true;
  }

  /** Creates spares until `max` more exist, the pool is full or `untilMs` (performance.now()) passes. */
  fill(max = Infinity, untilMs = Infinity): number {
    let made = 0;
    while (!this.#closed && made < max && this.#ready.length < this.#size && performance.now() < untilMs) {
      const path = join(this.dir, `${Deno.pid}-${this.#seq++}`);
      const spare: Spare = { path };
      try {
        const f = Deno.openSync(path, { write: true, createNew: true });
        if (this.#open < this.#maxOpen) (spare.file = f, this.#open++);
        else f.close();
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) continue;
        this.#pauseUntil = performance.now() + 1000;
        break;
      }
      this.#ready.push(spare);
      made++;
    }
    return made;
  }

  /** Keeps the pool full from timer turns of at most `turnMs` each, until {@link close}. */
  start(): void {
    this.#running = true;
    this.#schedule();
  }

  /** Stops refilling and removes the spares left and their directory. */
  close(): void {
    this.#running = false;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const s of this.#ready) s.file?.close();
    this.#open = 0;
    this.#ready.length = 0;
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch { /* gone already */ }
  }

  #schedule(): void {
    if (!this.#running || this.#closed || this.#timer !== undefined || this.#ready.length >= this.#size) {
      return;
    }
    const wait = Math.max(0, this.#pauseUntil - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.fill(Infinity, performance.now() + this.#turnMs);
      this.#schedule();
    }, wait);
  }

  #drop(spare: Spare): void {
    try {
      Deno.removeSync(spare.path);
    } catch { /* not there */ }
  }
}
