/**
 * Alert sinks: where alerts go after the filter, and drift events beside them
 * (both are eve-style records, src/serve/eve.ts). Every sink implements
 * {@link AlertSink}; `send` must not block the capture loop for long (network
 * sinks queue and deliver in the background), `flush` waits until everything
 * handed over so far is delivered or safely spooled, `close` flushes and frees.
 *
 * This module has the two local sinks: a JSON-lines file with size-based
 * rotation and stdout.
 *
 * @module
 */
import { eveLine, type EveRecord } from "../eve.ts";
import { dirname } from "node:path";
import { repairJsonLines, type RepairReport } from "./repair.ts";
import { existsSync as exists } from "../../util/fs.ts";

/** A destination for alerts. */
export interface AlertSink {
  /** Short name for metrics and logs ("file", "webhook", ...). */
  readonly name: string;
  /** Hands one record (an alert or a drift event) over. Sync sinks write immediately. */
  send(r: EveRecord): void | Promise<void>;
  /** Waits until every alert sent so far is delivered or spooled to disk. */
  flush(): Promise<void>;
  /** Flushes and releases resources. */
  close(): Promise<void>;
  /** Alerts not yet delivered (in memory or spool). */
  pending?(): number;
  /** Alerts written and lost so far (this process); see {@link SinkStats}. */
  stats?(): SinkStats;
}

/**
 * What a sink did with the records handed to it (alerts, and drift events when
 * the monitor raised any). `written` counts records the sink has acknowledged: for the file sink, the line's write() returned for
 * every byte (the line is in the kernel's page cache and survives the process
 * being killed; surviving power loss also needs the fsync done on flush); for
 * the webhook, the line is in its spool. `lost` counts alerts the sink could
 * not take (disk full, I/O error, a network sink's queue overflowing) — gone
 * for that sink.
 */
export interface SinkStats {
  written: number;
  lost: number;
  /** Message of the last error, e.g. "No space left on device (os error 28)". */
  lastError?: string;
}

/** Callbacks a sink reports through (the sink stage wires them to the metrics). */
export interface SinkEvents {
  /** An attempt failed (a lost alert, a failed delivery to retry). */
  onError?: (e: Error) => void;
  /** One alert acknowledged (see {@link SinkStats}). */
  onWritten?: () => void;
  /** One alert lost (see {@link SinkStats}). */
  onLost?: (e: Error) => void;
}

const enc = new TextEncoder();

/** Options for {@link FileSink}. */
export interface FileSinkOptions {
  /** Rotate when the file would exceed this many bytes (0 = never). Default 100 MiB. */
  maxBytes?: number;
  /** Rotated files kept (`alerts.jsonl.1` newest … `.N` oldest). Default 5. */
  keep?: number;
  /** fsync on flush (durability across power loss). Default true. */
  fsync?: boolean;
  /**
   * Move a torn tail aside before appending (see ./repair.ts). Default true;
   * the monitor repairs earlier, before it reads the file, and passes false.
   */
  repairTail?: boolean;
  /**
   * Called with a rotated file just before it is deleted (the oldest one, or
   * the live file when `keep` is 0), so what refers to its alerts (evidence
   * pcaps) can go with it.
   */
  onRotateOut?: (path: string) => void;
}

/**
 * JSON lines appended with one write per alert, so each line is complete on
 * disk when `send` returns (the latency clock of the bench stops here) and a
 * crash can at most lose nothing already returned.
 *
 * A failed write (disk full, I/O error) never throws into the capture loop:
 * the file is cut back to the last line boundary (a write that stopped
 * half-way would leave a torn line for the next alert to be glued to), the
 * alert is counted as lost, and `onError`/`onLost` are told. The next alert
 * tries again, so writing resumes by itself once space is freed.
 */
export class FileSink implements AlertSink {
  readonly name = "file";
  #file: Deno.FsFile;
  #size: number;
  readonly #maxBytes: number;
  readonly #keep: number;
  readonly #fsync: boolean;
  readonly #o: FileSinkOptions & SinkEvents;
  #written = 0;
  #lost = 0;
  #lastError?: string;
  /** What the start-up repair moved aside, if anything. */
  readonly repair?: RepairReport;

  constructor(readonly path: string, opts: FileSinkOptions & SinkEvents = {}) {
    this.#o = opts;
    this.#maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.#keep = opts.keep ?? 5;
    this.#fsync = opts.fsync ?? true;
    Deno.mkdirSync(dirname(path), { recursive: true });
    if (opts.repairTail ?? true) this.repair = repairJsonLines(path);
    this.#file = Deno.openSync(path, { append: true, create: true });
    this.#size = this.#file.statSync().size;
  }

  send(r: EveRecord): void {
    this.writeLine(eveLine(r));
  }

  /** Appends one raw line (must end with "\n"); a failure is counted, not thrown (see the class doc). */
  writeLine(line: string): void {
    const bytes = enc.encode(line);
    try {
      if (this.#maxBytes > 0 && this.#size > 0 && this.#size + bytes.length > this.#maxBytes) this.#rotate();
      let off = 0;
      while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
    } catch (e) {
      this.#cutBack();
      this.#lost++;
      this.#lastError = (e as Error).message;
      this.#o.onError?.(e as Error);
      this.#o.onLost?.(e as Error);
      return;
    }
    this.#size += bytes.length;
    this.#written++;
    this.#o.onWritten?.();
  }

  /** Drops the bytes of a line whose write failed half-way, so the file ends on a line boundary. */
  #cutBack(): void {
    try {
      if (this.#file.statSync().size > this.#size) this.#file.truncateSync(this.#size);
    } catch { /* not a regular file (/dev/full), or the handle is gone: the next start repairs */ }
  }

  /** Alerts written (acknowledged) and lost by this sink. */
  stats(): SinkStats {
    return { written: this.#written, lost: this.#lost, lastError: this.#lastError };
  }

  #rotate(): void {
    this.#file.close();
    const oldest = `${this.path}.${this.#keep}`;
    if (this.#keep === 0) this.#o.onRotateOut?.(this.path);
    else if (exists(oldest)) this.#o.onRotateOut?.(oldest);
    for (let i = this.#keep; i >= 1; i--) {
      const from = i === 1 ? this.path : `${this.path}.${i - 1}`;
      const to = `${this.path}.${i}`;
      try {
        if (i === this.#keep) Deno.removeSync(to);
      } catch { /* absent */ }
      try {
        Deno.renameSync(from, to);
      } catch { /* absent */ }
    }
    if (this.#keep === 0) Deno.truncateSync(this.path, 0);
    this.#file = Deno.openSync(this.path, { append: true, create: true });
    this.#size = 0;
  }

  flush(): Promise<void> {
    if (this.#fsync) {
      try {
        this.#file.syncSync();
      } catch { /* e.g. /dev/stdout-like targets */ }
    }
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.flush();
    try {
      this.#file.close();
    } catch { /* already closed */ }
  }
}

/** One JSON line per alert on stdout; a closed pipe or full disk counts the alert as lost, as in {@link FileSink}. */
export class StdoutSink implements AlertSink {
  readonly name = "stdout";
  #written = 0;
  #lost = 0;
  #lastError?: string;
  constructor(readonly events: SinkEvents = {}) {}
  send(r: EveRecord): void {
    const b = enc.encode(eveLine(r));
    try {
      let off = 0;
      while (off < b.length) off += Deno.stdout.writeSync(b.subarray(off));
    } catch (e) {
      this.#lost++;
      this.#lastError = (e as Error).message;
      this.events.onError?.(e as Error);
      this.events.onLost?.(e as Error);
      return;
    }
    this.#written++;
    this.events.onWritten?.();
  }
  /** Alerts written and lost. */
  stats(): SinkStats {
    return { written: this.#written, lost: this.#lost, lastError: this.#lastError };
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Sleeps `ms`, resolving early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
