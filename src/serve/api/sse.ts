/**
 * GET /alerts/stream: new alerts as server-sent events (`event: alert`,
 * `id: <alert id>`, `data: <alert JSON>`), with a keep-alive comment every
 * 15 s so proxies do not close an idle stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alertStream } from "./sse.ts";
 * import { AlertStore } from "../store.ts";
 *
 * const r = alertStream(new AlertStore(), new AbortController().signal);
 * assert.equal(r.headers.get("content-type"), "text/event-stream; charset=utf-8");
 * const reader = r.body!.getReader();
 * const { value } = await reader.read();
 * assert.equal(new TextDecoder().decode(value), ": nadir alert stream\nretry: 2000\n\n");
 * await reader.cancel();
 * ```
 * @module
 */
import type { AlertStore } from "../store.ts";
import { SECURITY_HEADERS } from "./http.ts";

/** Milliseconds between keep-alive comments. */
export const KEEP_ALIVE_MS = 15_000;

/**
 * The event stream of `store`'s new alerts. It ends when the client cancels
 * the body, or at once when `signal` has already aborted.
 */
export function alertStream(store: AlertStore, signal: AbortSignal): Response {
  const enc = new TextEncoder();
  let unsub = () => {};
  let beat: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (s: string) => {
        try {
          controller.enqueue(enc.encode(s));
        } catch (e) {
          // enqueue throws TypeError once the stream is closed or errored: the client is gone.
          if (!(e instanceof TypeError)) throw e;
          cleanup();
        }
      };
      const cleanup = () => {
        unsub();
        if (beat !== undefined) clearInterval(beat);
        try {
          controller.close();
        } catch (e) {
          // close throws TypeError when the stream is already closed or errored, which is the
          // state cleanup wants; any other error is unexpected and must surface.
          if (!(e instanceof TypeError)) throw e;
        }
      };
      send(": nadir alert stream\nretry: 2000\n\n");
      unsub = store.subscribe((a) => send(`event: alert\nid: ${a.id}\ndata: ${JSON.stringify(a)}\n\n`));
      beat = setInterval(() => send(": keep-alive\n\n"), KEEP_ALIVE_MS);
      // A client that goes away cancels the stream (cancel() below); the request signal is only
      // used when it aborts before the response started.
      if (signal.aborted) cleanup();
    },
    cancel() {
      unsub();
      if (beat !== undefined) clearInterval(beat);
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
      ...SECURITY_HEADERS,
    },
  });
}
