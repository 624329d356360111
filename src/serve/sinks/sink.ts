/**
 * Alert sinks: where alerts go after the filter. Every sink implements
 * {@link AlertSink}; `send` must not block the capture loop for long (network
 * sinks queue and deliver in the background), `flush` waits until everything
 * handed over so far is delivered or safely spooled, `close` flushes and frees.
 *
 * This module has the two local sinks: a JSON-lines file with size-based
 * rotation and stdout.
 *
 * @module
 */
import { type Alert, alertLine } from "../alert.ts";
import { dirname } from "node:path";

/** A destination for alerts. */
export interface AlertSink {
  /** Short name for metrics and logs ("file", "webhook", ...). */
  readonly name: string;
  /** Hands one alert over. Sync sinks write immediately. */
  send(a: Alert): void | Promise<void>;
  /** Waits until every alert sent so far is delivered or spooled to disk. */
  flush(): Promise<void>;
  /** Flushes and releases resources. */
  close(): Promise<void>;
  /** Alerts not yet delivered (in memory or spool). */
  pending?(): number;
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
}

/**
 * JSON lines appended with one write per alert, so each line is complete on
 * disk when `send` returns (the latency clock of the bench stops here) and a
 * crash can at most lose nothing already returned.
 */
export class FileSink implements AlertSink {
  readonly name = "file";
  #file: Deno.FsFile;
  #size: number;
  readonly #maxBytes: number;
  readonly #keep: number;
  readonly #fsync: boolean;

  constructor(readonly path: string, opts: FileSinkOptions = {}) {
    this.#maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.#keep = opts.keep ?? 5;
    this.#fsync = opts.fsync ?? true;
    Deno.mkdirSync(dirname(path), { recursive: true });
    this.#file = Deno.openSync(path, { append: true, create: true });
    this.#size = this.#file.statSync().size;
  }

  send(a: Alert): void {
    this.writeLine(alertLine(a));
  }

  /** Appends one raw line (must end with "\n"). */
  writeLine(line: string): void {
    const bytes = enc.encode(line);
    if (this.#maxBytes > 0 && this.#size > 0 && this.#size + bytes.length > this.#maxBytes) this.#rotate();
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
    this.#size += bytes.length;
  }

  #rotate(): void {
    this.#file.close();
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

/** One JSON line per alert on stdout. */
export class StdoutSink implements AlertSink {
  readonly name = "stdout";
  send(a: Alert): void {
    const b = enc.encode(alertLine(a));
    let off = 0;
    while (off < b.length) off += Deno.stdout.writeSync(b.subarray(off));
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
