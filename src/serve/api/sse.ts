/**
 * GET /alerts/stream: new alerts as server-sent events (`event: alert`,
 * `id: <alert id>`, `data: <alert JSON>`), and drift events as `event: drift`
 * (`data: <drift record JSON>`), with a keep-alive comment every 15 s so
 * proxies do not close an idle stream. An `EventSource` that listens for
 * `alert` only never sees the drift events.
 *
 * Each client has a bounded queue: events wait in it until the connection
 * takes them, and a client whose queue would pass `maxQueueBytes` (it stopped
 * reading, or reads slower than alerts arrive) is disconnected, counted in
 * `nadir_api_sse_slow_disconnects_total` and logged once. Without the bound,
 * 20 clients that never read held every alert ever sent (1.9 GB for 20,000
 * alerts); with it they hold at most 20 × the cap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SseClients } from "./sse.ts";
 * import { AlertStore } from "../store.ts";
 *
 * const clients = new SseClients();
 * const r = clients.stream(new AlertStore(), new AbortController().signal);
 * assert.equal(r.headers.get("content-type"), "text/event-stream; charset=utf-8");
 * assert.equal(clients.stats().clients, 1);
 * const reader = r.body!.getReader();
 * const { value } = await reader.read();
 * assert.equal(new TextDecoder().decode(value), ": nadir alert stream\nretry: 2000\n\n");
 * await reader.cancel();
 * assert.equal(clients.stats().clients, 0);
 * ```
 * @module
 */
import type { Counter, Gauge } from "../metrics.ts";
import type { MonitorMetrics } from "../metrics.ts";
import type { AlertStore } from "../store.ts";
import { SECURITY_HEADERS } from "./http.ts";

/** Milliseconds between keep-alive comments. */
export const KEEP_ALIVE_MS = 15_000;

/** Default bytes one client may have waiting before it is disconnected as too slow. */
export const DEFAULT_SSE_MAX_QUEUE_BYTES = 1024 * 1024;

/** Options for {@link SseClients}. */
export interface SseClientsOptions {
  /** Bytes one client may have queued. Default {@link DEFAULT_SSE_MAX_QUEUE_BYTES}. */
  maxQueueBytes?: number;
  /** Where the slow-client counter and the client gauge are registered. */
  metrics?: MonitorMetrics;
  /** Where the one line per slow client goes. Default console.error. */
  log?: (msg: string) => void;
}

/** What {@link SseClients.stats} reports. */
export interface SseStats {
  /** Clients connected now. */
  clients: number;
  /** Bytes queued now, per connected client. */
  queuedBytes: number[];
  /** Most bytes any client ever had queued. */
  peakQueuedBytes: number;
  /** Clients disconnected because their queue was full. */
  slowDisconnects: number;
}

/** The live-stream clients of one API handler, each with a bounded queue. */
export class SseClients {
  readonly maxQueueBytes: number;
  readonly #queued = new Set<() => number>();
  readonly #log: (msg: string) => void;
  readonly #slowCounter?: Counter;
  readonly #clientsGauge?: Gauge;
  readonly #peakGauge?: Gauge;
  #peak = 0;
  #slow = 0;

  constructor(o: SseClientsOptions = {}) {
    this.maxQueueBytes = o.maxQueueBytes ?? DEFAULT_SSE_MAX_QUEUE_BYTES;
    if (!(this.maxQueueBytes > 0)) {
      throw new RangeError(`expected sseMaxQueueBytes > 0, found ${this.maxQueueBytes}`);
    }
    this.#log = o.log ?? ((m) => console.error(m));
    const r = o.metrics?.registry;
    this.#slowCounter = r?.counter(
      "api_sse_slow_disconnects_total",
      "Live-stream clients disconnected because their queue was full (too slow or not reading)",
    );
    this.#clientsGauge = r?.gauge("api_sse_clients", "Live-stream clients connected");
    this.#peakGauge = r?.gauge(
      "api_sse_peak_queued_bytes",
      "Most bytes one live-stream client has had waiting (bounded by the per-client queue cap)",
    );
  }

  /** Connected clients, their queues now, the peak queue and the slow disconnects so far. */
  stats(): SseStats {
    return {
      clients: this.#queued.size,
      queuedBytes: [...this.#queued].map((q) => q()),
      peakQueuedBytes: this.#peak,
      slowDisconnects: this.#slow,
    };
  }

  /**
   * The event stream of `store`'s new alerts for one client. It ends when the
   * client cancels the body (or at once when `signal` has already aborted), and
   * errors (the connection is dropped) when the client's queue is full.
   */
  stream(store: AlertStore, signal?: AbortSignal): Response {
    const enc = new TextEncoder();
    const max = this.maxQueueBytes;
    let unsub = () => {};
    let beat: ReturnType<typeof setInterval> | undefined;
    let done = false;
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    // desiredSize = highWaterMark − queued bytes (the size function counts bytes); null once closed.
    const queued = () => (done || ctl.desiredSize === null ? 0 : max - ctl.desiredSize);
    const release = () => {
      if (done) return;
      done = true;
      unsub();
      if (beat !== undefined) clearInterval(beat);
      this.#queued.delete(queued);
      this.#clientsGauge?.set(this.#queued.size);
    };
    const onAbort = () => {
      release();
      try {
        ctl.close();
      } catch (e) {
        // close throws TypeError when the stream is already closed or errored, the state wanted here.
        if (!(e instanceof TypeError)) throw e;
      }
    };
    const send = (s: string) => {
      if (done) return;
      const chunk = enc.encode(s);
      const q = queued();
      // An event bigger than the whole cap still goes to a client that has nothing waiting.
      if (q > 0 && q + chunk.byteLength > max) {
        this.#slow++;
        this.#slowCounter?.inc();
        this.#log(
          `nadir api: /alerts/stream client disconnected: ${q} bytes waiting, the queue holds at most ${max} ` +
            `(the client reads slower than alerts arrive)`,
        );
        release();
        // error() (not close()) drops the queued events at once, and the server drops the connection.
        // Deno.serve prints a body stream's error: one line, no stack, beside the line logged above.
        const e = new Error(`alert stream queue full (${max} bytes)`);
        e.stack = `nadir api: ${e.message}: slow client dropped`;
        ctl.error(e);
        return;
      }
      try {
        ctl.enqueue(chunk);
      } catch (e) {
        // enqueue throws TypeError once the stream is closed or errored: the client is gone.
        if (!(e instanceof TypeError)) throw e;
        release();
        return;
      }
      const now = queued();
      if (now > this.#peak) {
        this.#peak = now;
        this.#peakGauge?.set(now);
      }
    };
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        ctl = controller;
        this.#queued.add(queued);
        this.#clientsGauge?.set(this.#queued.size);
        send(": nadir alert stream\nretry: 2000\n\n");
        const unAlert = store.subscribe((a) =>
          send(`event: alert\nid: ${a.id}\ndata: ${JSON.stringify(a)}\n\n`)
        );
        const unDrift = store.subscribeDrift((d) =>
          send(`event: drift\nid: ${d.id}\ndata: ${JSON.stringify(d)}\n\n`)
        );
        unsub = () => {
          unAlert();
          unDrift();
        };
        beat = setInterval(() => send(": keep-alive\n\n"), KEEP_ALIVE_MS);
        // A client that goes away cancels the body (cancel() below). The API passes no signal:
        // Deno.serve's request.signal also aborts when a response completes, and warns when read.
        if (signal?.aborted) onAbort();
      },
      cancel: () => release(),
    }, { highWaterMark: max, size: (chunk) => chunk.byteLength });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
        ...SECURITY_HEADERS,
      },
    });
  }
}
