/**
 * The background delivery loop the network sinks (NATS, syslog over TCP,
 * webhook) share: an in-memory queue, a loop that sleeps while the queue is
 * empty, delivers from its head while it is not, and backs off after each
 * failed attempt, and `flush` waiters that are released when the queue runs
 * dry. What "deliver" means (publish a batch, write one frame, POST one line)
 * and how long to back off stay with each sink.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RetryQueue } from "./retry_queue.ts";
 * const got: number[] = [];
 * const q = new RetryQueue<number>({
 *   deliver: (items) => {
 *     got.push(items.shift()!);
 *     return Promise.resolve(true);
 *   },
 *   backoffMs: (failures) => 100 * 2 ** failures,
 * });
 * q.push(1);
 * q.push(2);
 * q.start();
 * await q.whenEmpty(1000);
 * await q.stop();
 * assert.equal(got.join(), "1,2");
 * ```
 * @module
 */
import { sleep } from "./sink.ts";

/** Options for {@link RetryQueue}. */
export interface RetryQueueOptions<T> {
  /**
   * One delivery attempt, called only while the queue is not empty. Takes
   * what it delivered off the front of `items` and resolves true, or resolves
   * false after a failure (having reported it) to back off and try again.
   */
  deliver: (items: T[]) => Promise<boolean>;
  /** Delay after a failure, given how many failures came before it since the last success. */
  backoffMs: (failuresBefore: number) => number;
}

/** A queue drained by a background loop with retry and backoff. */
export class RetryQueue<T> {
  /** What waits for delivery, oldest first. */
  readonly items: T[] = [];
  readonly #o: RetryQueueOptions<T>;
  #wake?: () => void;
  #idle: (() => void)[] = [];
  readonly #stop = new AbortController();
  #loop?: Promise<void>;

  constructor(opts: RetryQueueOptions<T>) {
    this.#o = opts;
  }

  /** Aborted by {@link stop}: pass it to requests that should end with the loop. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Starts the delivery loop (once); items pushed before it are delivered first. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Appends one item; while more than `max` wait, drops the oldest (each passed to `onDrop`).
   * Returns how many were dropped.
   */
  push(item: T, max = Infinity, onDrop?: (dropped: T) => void): number {
    this.items.push(item);
    let dropped = 0;
    while (this.items.length > max) {
      const d = this.items.shift()!;
      onDrop?.(d);
      dropped++;
    }
    this.#wake?.();
    return dropped;
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stop.signal.aborted) {
      if (!this.items.length) {
        this.#idle.splice(0).forEach((f) => f());
        await new Promise<void>((r) => {
          this.#wake = r;
          this.#stop.signal.addEventListener("abort", () => r(), { once: true });
        });
        this.#wake = undefined;
        continue;
      }
      if (await this.#o.deliver(this.items)) {
        attempt = 0;
      } else {
        await sleep(this.#o.backoffMs(attempt++), this.#stop.signal);
      }
    }
  }

  /** Resolves when the queue is empty, or after `timeoutMs` (what is left stays queued). */
  whenEmpty(timeoutMs: number): Promise<void> {
    if (!this.items.length) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.#idle.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Stops the loop (an attempt under way finishes first) and waits for it. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}
