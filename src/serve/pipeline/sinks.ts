/**
 * Sink stage: every destination an emitted alert is sent to (alerts file,
 * stdout, webhook, syslog, NATS), opened from the config and closed at
 * shutdown.
 *
 * A sink failing must never stop the sensor: send errors are counted per sink
 * in the metrics, and a sink that fails to close is logged while the others
 * still close.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closeSinks } from "./sinks.ts";
 * import type { AlertSink } from "../sinks/sink.ts";
 *
 * const closed: string[] = [];
 * const sink = (name: string, fail: boolean) =>
 *   ({
 *     name,
 *     send() {},
 *     flush: () => Promise.resolve(),
 *     close: () => fail ? Promise.reject(new Error("gone")) : (closed.push(name), Promise.resolve()),
 *   }) as AlertSink;
 * const log: string[] = [];
 * await closeSinks([sink("a", true), sink("b", false)], (l) => log.push(l));
 * assert.deepEqual(closed, ["b"]);
 * assert.deepEqual(log, ["nadir monitor: closing sink a: gone"]);
 * ```
 * @module
 */
import type { MonitorConfig } from "../config.ts";
import type { MonitorMetrics } from "../metrics.ts";
import { type AlertSink, FileSink, StdoutSink } from "../sinks/sink.ts";
import { WebhookSink } from "../sinks/webhook.ts";
import { SyslogSink } from "../sinks/syslog.ts";
import { NatsSink } from "../sinks/nats.ts";
import { join } from "node:path";

/** Options for {@link openSinks}. */
export interface OpenSinksOptions {
  /** Counts send errors per sink (`nadir_sink_errors_total{sink}`). */
  metrics: MonitorMetrics;
  /** Directory for the webhook spool when the config names none (default "."). */
  baseDir?: string;
  log: (line: string) => void;
}

/**
 * Opens the sinks in `cfg.alerts` and `cfg.sinks`, in a fixed order (file, stdout, webhook, syslog,
 * NATS). With none, says so in the log: alerts then only reach the API, which is easy to miss.
 */
export function openSinks(cfg: MonitorConfig, o: OpenSinksOptions): AlertSink[] {
  const onErr = (name: string) => () => o.metrics.sinkErrors.inc(1, { sink: name });
  const sinks: AlertSink[] = [];
  const alertsFile = cfg.alerts?.file;
  if (alertsFile) {
    sinks.push(new FileSink(alertsFile, { maxBytes: cfg.alerts?.max_bytes, keep: cfg.alerts?.keep }));
  }
  if (cfg.alerts?.stdout) sinks.push(new StdoutSink());
  const sk = cfg.sinks ?? {};
  if (sk.webhook) {
    sinks.push(
      new WebhookSink({
        url: sk.webhook.url,
        headers: sk.webhook.headers,
        timeoutMs: sk.webhook.timeout_ms,
        spoolPath: sk.webhook.spool ?? join(o.baseDir ?? ".", "webhook.spool"),
        onError: onErr("webhook"),
      }),
    );
  }
  if (sk.syslog) {
    sinks.push(
      new SyslogSink({
        host: sk.syslog.host,
        port: sk.syslog.port,
        transport: sk.syslog.transport ?? "udp",
        facility: sk.syslog.facility,
        onError: onErr("syslog"),
      }),
    );
  }
  if (sk.nats) {
    const token = sk.nats.token_file ? Deno.readTextFileSync(sk.nats.token_file).trim() : undefined;
    sinks.push(
      new NatsSink({
        host: sk.nats.host,
        port: sk.nats.port,
        subject: sk.nats.subject,
        token,
        onError: onErr("nats"),
      }),
    );
  }
  if (!sinks.length) {
    o.log("nadir monitor: no alert sink configured (--alerts FILE); alerts are only kept for the API");
  }
  return sinks;
}

/** Closes every sink concurrently; a failure is logged and does not keep the others open. */
export async function closeSinks(sinks: AlertSink[], log: (line: string) => void): Promise<void> {
  await Promise.all(
    sinks.map((s) =>
      s.close().catch((e) => log(`nadir monitor: closing sink ${s.name}: ${(e as Error).message}`))
    ),
  );
}
