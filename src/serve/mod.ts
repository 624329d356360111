/**
 * The sensor: {@link runMonitor} wires a {@link MonitorConfig} (pcap replay or
 * live libpcap capture → flow meter → detector → threshold) into eve.json-style
 * {@link Alert}s with explanations and evidence pcaps, alert sinks (file with
 * rotation, stdout, webhook with spool and retry, syslog RFC 5424, NATS), drift
 * watches, and the HTTP API with its dashboard ({@link createHandler},
 * {@link serveApi}). docs/monitor.md, docs/api.md (contract docs/openapi.json)
 * and docs/deploy.md describe each.
 *
 * Live capture is loaded lazily (src/serve/live_source.ts, Deno FFI), so
 * importing this module never opens libpcap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AlertStore, createHandler, isLoopback, ROUTES } from "nadir/serve";
 *
 * // serveApi({ host: "127.0.0.1", port: 8787, handler }) would listen; the handler alone needs no socket.
 * const handler = createHandler({ store: new AlertStore() });
 * const r = await handler(new Request("http://127.0.0.1/alerts"));
 * assert.equal(r.status, 200);
 * assert.deepEqual(await r.json(), { alerts: [], next: null, total: 0 });
 * assert.ok(ROUTES.some((route) => route.path === "/predict"));
 * assert.ok(isLoopback("127.0.0.1") && !isLoopback("10.0.0.1"));
 * ```
 * @module
 */
export * from "./run.ts";
export * from "./monitor.ts";
export * from "./config.ts";
export * from "./api.ts";
export * from "./alert.ts";
export * from "./eve.ts";
export * from "./store.ts";
export * from "./rules.ts";
export * from "./drift.ts";
export * from "./adaptation.ts";
export * from "./evidence.ts";
export * from "./metrics.ts";
export * from "./models.ts";
export { afterImageFeaturizer } from "./featurizer.ts";
export {
  type AlertSink,
  FileSink,
  type FileSinkOptions,
  type SinkEvents,
  type SinkStats,
  StdoutSink,
} from "./sinks/sink.ts";
export { type WebhookOptions, WebhookSink } from "./sinks/webhook.ts";
export { formatRfc5424, type Rfc5424Parts, type SyslogOptions, SyslogSink } from "./sinks/syslog.ts";
export { type NatsConnectOptions, NatsSink, type NatsSinkOptions } from "./sinks/nats.ts";
export { RetryQueue, type RetryQueueOptions } from "./sinks/retry_queue.ts";
export { describeRepair, repairJsonLines, type RepairOptions, type RepairReport } from "./sinks/repair.ts";
