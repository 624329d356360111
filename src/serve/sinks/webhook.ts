/**
 * Webhook sink: POSTs each alert as JSON to a URL, with retry and exponential
 * backoff, behind a write-ahead on-disk spool so a receiver outage (or a
 * crash of nadir itself) loses no alert.
 *
 * Every alert is appended to the spool file before `send` returns; a
 * background loop delivers the spool in order and records how many lines are
 * done in `<spool>.done`; when everything is delivered the spool is
 * truncated. Delivery is therefore at-least-once: after a crash, alerts
 * delivered since the last `.done` update are sent again (receivers should
 * dedupe on the alert `id`). A 4xx answer other than 408/429 is permanent:
 * the alert goes to `<spool>.rejected` (kept, not retried) so one bad alert
 * cannot block the queue.
 *
 * Memory holds at most `memoryLines` alerts of the queue; the rest of a
 * backlog stays in the spool and is read back, in order, as the queue drains.
 * A receiver down for days while alerts keep coming then costs disk, not
 * memory (the queue once held every undelivered alert as a string: a
 * weekend's outage at 10 alerts/s is gigabytes).
 *
 * On start the spool is checked like the alerts file (./repair.ts): a torn
 * tail is moved to `<spool>.torn-<UTC>`, an invalid line before it is an
 * error naming spool:line unless `repair` is set. A spool write that fails
 * (disk full) is cut back to the line boundary and the alert counted as lost
 * for this sink, never thrown into the capture loop.
 *
 * @module
 */
import type { EveRecord } from "../eve.ts";
import type { AlertSink, SinkEvents, SinkStats } from "./sink.ts";
import { RetryQueue } from "./retry_queue.ts";
import { describeRepair, repairJsonLines, type RepairReport } from "./repair.ts";
import { dirname } from "node:path";
import { forEachLine } from "../../util/lines.ts";

/** Options for {@link WebhookSink}. */
export interface WebhookOptions {
  url: string;
  /** Spool file (JSON lines). */
  spoolPath: string;
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Per-request timeout. Default 5000 ms. */
  timeoutMs?: number;
  /** First retry delay. Default 200 ms. */
  backoffMs?: number;
  /** Longest retry delay. Default 30 s. */
  maxBackoffMs?: number;
  /** How long `close()` keeps trying before leaving the rest in the spool. Default 5 s. */
  closeTimeoutMs?: number;
  /** Called on each failed attempt (metrics). */
  onError?: (e: Error) => void;
  /** Move invalid spool lines anywhere (not just a torn tail) to the side file. Default false. */
  repair?: boolean;
  /** Undelivered alerts held in memory at most; the rest wait in the spool. Default 1,024. */
  memoryLines?: number;
}

const enc = new TextEncoder();

/** See the module doc. */
export class WebhookSink implements AlertSink {
  readonly name = "webhook";
  readonly #o:
    & Required<Omit<WebhookOptions, "headers" | "onError" | "repair" | "memoryLines">>
    & Pick<WebhookOptions, "headers" | "onError">
    & SinkEvents;
  readonly #queue: RetryQueue<string>;
  #done = 0;
  #spool: Deno.FsFile;
  #spoolSize: number;
  #closed = false;
  #spooled = 0;
  #lost = 0;
  #lastError?: string;
  readonly #memoryLines: number;
  /** Spool byte offset of the first undelivered line not in memory (the spool's size when all are). */
  #diskFrom = 0;
  /** Undelivered lines in the spool past `#diskFrom`, not yet read into memory. */
  #onDisk = 0;
  /** What the start-up check moved out of the spool, as a log line. */
  readonly repair?: string;
  /** Delivered alerts (this process). */
  delivered = 0;
  /** Failed attempts (this process). */
  failures = 0;
  /** Alerts moved to the rejected file. */
  rejected = 0;

  constructor(opts: WebhookOptions & SinkEvents) {
    // Field by field: an explicit `undefined` (from an absent config key) must not erase a default.
    this.#o = {
      ...opts,
      timeoutMs: opts.timeoutMs ?? 5000,
      backoffMs: opts.backoffMs ?? 200,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      closeTimeoutMs: opts.closeTimeoutMs ?? 5000,
    };
    this.#memoryLines = opts.memoryLines ?? 1024;
    if (!Number.isInteger(this.#memoryLines) || this.#memoryLines < 1) {
      throw new RangeError(`webhook sink: memoryLines expects an integer ≥ 1, found ${opts.memoryLines}`);
    }
    this.#queue = new RetryQueue({
      deliver: (items) => this.#deliver(items),
      backoffMs: (attempt) =>
        Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** Math.min(attempt, 30)) *
        (0.5 + Math.random() * 0.5),
    });
    Deno.mkdirSync(dirname(opts.spoolPath), { recursive: true });
    // Recover what an earlier run left behind.
    let done = 0;
    try {
      done = Number(Deno.readTextFileSync(opts.spoolPath + ".done").trim()) || 0;
    } catch { /* none */ }
    // Moving invalid lines out of the delivered part shifts the undelivered ones up: count them.
    if (opts.repair && done > 0) done -= invalidLinesBefore(opts.spoolPath, done);
    const fixed: RepairReport | undefined = repairJsonLines(opts.spoolPath, {
      scanAll: true,
      all: opts.repair,
    });
    if (fixed) this.repair = describeRepair(fixed);
    // Line by line (src/util/lines.ts): a spool that grew through a long outage can outgrow one string.
    // The undelivered lines are counted where they lie, and the first `memoryLines` read back as the queue
    // reads them later.
    let seen = 0;
    forEachLine(opts.spoolPath, (l, _n, end) => {
      if (l.trim() === "") return;
      if (seen++ < done) this.#diskFrom = end;
      else this.#onDisk++;
    });
    this.#done = Math.min(done, seen);
    if (this.#onDisk > 0) this.#readBack();
    this.#spool = Deno.openSync(opts.spoolPath, { append: true, create: true });
    this.#spoolSize = this.#spool.statSync().size;
    this.#queue.start();
  }

  /** Undelivered alerts: in memory and in the spool. */
  pending(): number {
    return this.#queue.items.length + this.#onDisk;
  }

  /** Undelivered alerts held in memory (at most `memoryLines`). */
  get held(): number {
    return this.#queue.items.length;
  }

  /** Alerts spooled (acknowledged) and lost (spool write failed) by this process. */
  stats(): SinkStats {
    return { written: this.#spooled, lost: this.#lost, lastError: this.#lastError };
  }

  send(r: EveRecord): void {
    if (this.#closed) throw new Error("webhook sink is closed");
    const line = JSON.stringify(r);
    const b = enc.encode(line + "\n");
    try {
      let off = 0;
      while (off < b.length) off += this.#spool.writeSync(b.subarray(off));
    } catch (e) {
      // Cut a half-written line back, so the spool stays whole lines for the next run.
      try {
        this.#spool.truncateSync(this.#spoolSize);
      } catch { /* the next start repairs the tail */ }
      this.#lost++;
      this.#lastError = (e as Error).message;
      this.#o.onError?.(e as Error);
      this.#o.onLost?.(e as Error);
      return;
    }
    this.#spoolSize += b.length;
    this.#spooled++;
    this.#o.onWritten?.();
    if (this.#onDisk > 0 || this.#queue.items.length >= this.#memoryLines) {
      this.#onDisk++;
      // Only after a failed read-back can the queue be empty with lines in the spool: try again now.
      if (!this.#queue.items.length) this.#tryReadBack();
    } else {
      this.#diskFrom = this.#spoolSize;
      this.#queue.push(line);
    }
  }

  #tryReadBack(): void {
    try {
      this.#readBack();
    } catch (e) {
      this.#o.onError?.(e as Error);
    }
  }

  /**
   * Reads spooled lines into memory, in order, up to `memoryLines` held. Called as the queue drains, before
   * it can run dry, so an empty queue always means nothing is left in the spool.
   */
  #readBack(): void {
    const items = this.#queue.items;
    forEachLine(this.#o.spoolPath, (l, _n, end) => {
      if (l.trim() !== "") {
        this.#queue.push(l); // wakes the loop, which may wait on an empty queue after a failed read
        this.#onDisk--;
      }
      this.#diskFrom = end;
      return this.#onDisk > 0 && items.length < this.#memoryLines;
    }, { start: this.#diskFrom });
  }

  async #deliver(queue: string[]): Promise<boolean> {
    const line = queue[0];
    const result = await this.#post(line);
    if (result === "retry") {
      this.failures++;
      return false;
    }
    if (result === "rejected") {
      this.rejected++;
      Deno.writeTextFileSync(this.#o.spoolPath + ".rejected", line + "\n", { append: true });
    } else this.delivered++;
    queue.shift();
    this.#done++;
    if (this.#onDisk > 0 && queue.length <= this.#memoryLines >> 1) this.#tryReadBack();
    try {
      if (!queue.length && this.#onDisk === 0) {
        this.#spool.truncateSync(0);
        this.#spoolSize = 0;
        this.#diskFrom = 0;
        this.#done = 0;
      }
      Deno.writeTextFileSync(this.#o.spoolPath + ".done", String(this.#done));
    } catch (e) {
      // Disk full: the alert was delivered; at worst it is sent again after a restart.
      this.#o.onError?.(e as Error);
    }
    return true;
  }

  async #post(line: string): Promise<"ok" | "retry" | "rejected"> {
    try {
      const r = await fetch(this.#o.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.#o.headers },
        body: line,
        signal: AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), this.#queue.signal]),
      });
      await r.body?.cancel();
      if (r.ok) return "ok";
      const err = new Error(`webhook ${this.#o.url} answered ${r.status}`);
      this.#o.onError?.(err);
      if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) return "rejected";
      return "retry";
    } catch (e) {
      this.#o.onError?.(e as Error);
      return "retry";
    }
  }

  /** Resolves when the queue is empty, or after `timeoutMs` (the rest stays spooled). */
  flush(timeoutMs = this.#o.closeTimeoutMs): Promise<void> {
    return this.#queue.whenEmpty(timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    await this.#queue.stop();
    try {
      this.#spool.syncSync();
    } catch { /* best effort */ }
    this.#spool.close();
  }
}

/** Invalid non-blank lines among the first `count` non-blank lines of `path` (0 when absent). */
function invalidLinesBefore(path: string, count: number): number {
  let bad = 0, seen = 0;
  try {
    forEachLine(path, (l) => {
      if (seen >= count || l.trim() === "") return;
      seen++;
      try {
        JSON.parse(l);
      } catch {
        bad++;
      }
    });
  } catch {
    return 0;
  }
  return bad;
}
