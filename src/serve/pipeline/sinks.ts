/**
 * Sink stage: every destination an emitted alert is sent to (alerts file,
 * stdout, webhook, syslog, NATS), opened from the config and closed at
 * shutdown.
 *
 * A sink failing must never stop the sensor: send errors are counted per sink
 * in the metrics, and a sink that fails to close is logged while the others
 * still close. Each sink also reports what it acknowledged and lost
 * (`nadir_sink_written_total{sink}`, `nadir_sink_lost_total{sink}`); the first
 * error of each kind is logged, the rest only counted (a full disk fails every
 * alert), and {@link lossLines} sums it up at shutdown.
 *
 * Files the sinks append to are checked on start ({@link repairAlertFile}, and
 * the webhook's own spool check): a torn tail left by a crash or a full disk
 * is moved to a side file. The evidence directory gets a disk budget
 * ({@link EvidenceJanitor}), and pcaps of alerts rotated out of the alerts
 * file are removed with them.
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
import { type AlertSink, FileSink, type SinkEvents, type SinkStats, StdoutSink } from "../sinks/sink.ts";
import { describeRepair, repairJsonLines } from "../sinks/repair.ts";
import { EvidenceDisk, EvidenceJanitor, EvidenceWriter } from "../evidence.ts";
import { WebhookSink } from "../sinks/webhook.ts";
import { SyslogSink } from "../sinks/syslog.ts";
import { NatsSink } from "../sinks/nats.ts";
import type { EveRecord } from "../eve.ts";
import { join } from "node:path";
import { readTextIfExists } from "../../util/fs.ts";
import { alertFileLineProblems } from "../store.ts";

/** Options for {@link openSinks}. */
export interface OpenSinksOptions {
  /** Counts send errors per sink (`nadir_sink_errors_total{sink}`). */
  metrics: MonitorMetrics;
  /** Directory for the webhook spool when the config names none (default "."). */
  baseDir?: string;
  /** Evidence pcap directory: kept within `cfg.evidence.disk_max_bytes/_files`; none when undefined. */
  evidenceDir?: string;
  /** Receives a line per file repaired on start (the webhook spool). */
  repairs?: string[];
  log: (line: string) => void;
}

/**
 * Checks the alerts file before anything reads or appends to it: a torn tail
 * is moved to `<file>.torn-<UTC>`; with `alerts.repair`, invalid lines
 * anywhere are too (without it the store's load names the first one,
 * file:line). Returns the log lines of what was repaired (also logged).
 */
export function repairAlertFile(cfg: MonitorConfig, log: (line: string) => void): string[] {
  const file = cfg.alerts?.file;
  if (!file) return [];
  // A good line is a record the store reads back: an alert, or a drift event.
  const valid = (v: unknown) => alertFileLineProblems(v).length === 0;
  const r = repairJsonLines(file, { all: cfg.alerts?.repair, valid });
  if (!r) return [];
  const line = describeRepair(r);
  log(`nadir monitor: repaired ${line}`);
  return [line];
}

/** Queues every record of the alerts file on `sink` (lines that are not records are skipped). */
function resendAlertFile(file: string, sink: NatsSink, log: (line: string) => void): void {
  const text = readTextIfExists(file);
  if (text === undefined) return;
  const records: EveRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line);
      if (typeof r?.id === "string" && typeof r?.host === "string") records.push(r);
    } catch { /* repairAlertFile moved torn lines aside; anything left is not ours to send */ }
  }
  sink.resend(records);
  const n = records.length;
  if (n) log(`nadir monitor: ${n} records of ${file} queued again for JetStream (repeats are dropped by id)`);
}

/** Per-sink counts for the run summary. */
export interface SinkReport extends SinkStats {
  name: string;
}

/** The counts of every sink that keeps them (the evidence janitor does not). */
export function sinkReports(sinks: AlertSink[]): SinkReport[] {
  return sinks.flatMap((s) => s.stats ? [{ name: s.name, ...s.stats() }] : []);
}

/**
 * Summary lines for sinks that lost alerts:
 * `1994 alerts raised, 1469 written, 525 lost: No space left on device (os error 28) (file sink)`.
 * A sink's counts include the drift events it took; with `drift` > 0 the line says
 * `… alerts and 2 drift events raised` (not for the evidence sink, whose pcaps are the alerts').
 */
export function lossLines(raised: number, reports: SinkReport[], drift = 0): string[] {
  return reports.filter((r) => r.lost > 0).map((r) =>
    `nadir monitor: ${raised} alerts${
      drift > 0 && r.name !== "evidence" ? ` and ${drift} drift events` : ""
    } ` +
    `raised, ${r.written} written, ${r.lost} lost: ` +
    `${r.lastError ?? "queue overflow"} (${r.name} sink)`
  );
}

/**
 * Opens the sinks in `cfg.alerts` and `cfg.sinks`, in a fixed order (file, stdout, webhook, syslog,
 * NATS). With none, says so in the log: alerts then only reach the API, which is easy to miss.
 */
export function openSinks(cfg: MonitorConfig, o: OpenSinksOptions): AlertSink[] {
  const onErr = (name: string) => () => o.metrics.sinkErrors.inc(1, { sink: name });
  const logged = new Set<string>();
  const events = (name: string): SinkEvents => ({
    onError: (e) => {
      o.metrics.sinkErrors.inc(1, { sink: name });
      // Once per sink and message: a full disk fails every alert after it, the count tells how many.
      const key = `${name}\0${e.message}`;
      if (logged.has(key) || logged.size > 100) return;
      logged.add(key);
      o.log(`nadir monitor: sink ${name}: ${e.message} (further errors like it are only counted)`);
    },
    onWritten: () => o.metrics.sinkWritten.inc(1, { sink: name }),
    onLost: () => o.metrics.sinkLost.inc(1, { sink: name }),
  });
  const sinks: AlertSink[] = [];
  const alertsFile = cfg.alerts?.file;
  const disk = o.evidenceDir
    ? new EvidenceDisk(o.evidenceDir, {
      maxBytes: cfg.evidence?.disk_max_bytes,
      maxFiles: cfg.evidence?.disk_max_files,
    })
    : undefined;
  if (alertsFile) {
    sinks.push(
      new FileSink(alertsFile, {
        maxBytes: cfg.alerts?.max_bytes,
        keep: cfg.alerts?.keep,
        onRotateOut: (path) => disk?.removeFor(path),
        ...events("file"),
      }),
    );
  }
  if (cfg.alerts?.stdout) sinks.push(new StdoutSink(events("stdout")));
  const sk = cfg.sinks ?? {};
  if (sk.webhook) {
    sinks.push(
      new WebhookSink({
        url: sk.webhook.url,
        headers: sk.webhook.headers,
        timeoutMs: sk.webhook.timeout_ms,
        spoolPath: sk.webhook.spool ?? join(o.baseDir ?? ".", "webhook.spool"),
        repair: cfg.alerts?.repair,
        onError: onErr("webhook"),
        onWritten: events("webhook").onWritten,
        onLost: events("webhook").onLost,
      }),
    );
    const fixed = (sinks.at(-1) as WebhookSink).repair;
    if (fixed) {
      o.log(`nadir monitor: repaired ${fixed}`);
      o.repairs?.push(fixed);
    }
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
        jetstream: sk.nats.jetstream ? { stream: sk.nats.stream ?? "NADIR" } : undefined,
        tls: sk.nats.tls ? { caFile: sk.nats.tls.ca_file } : undefined,
        onError: onErr("nats"),
      }),
    );
    // With JetStream, what the alerts file holds is sent again on start: records written before a crash
    // but never acknowledged by the stream are not lost, and the rest are dropped as repeats (message id).
    if (sk.nats.jetstream && alertsFile) resendAlertFile(alertsFile, sinks.at(-1) as NatsSink, o.log);
  }
  if (!sinks.length) {
    o.log("nadir monitor: no alert sink configured (--alerts FILE); alerts are only kept for the API");
  }
  // Last: it sees each alert after the others took it. Its writer is the monitor's (createMonitor),
  // which writes each pcap before the alert goes to any sink; lost pcaps count as this sink's losses.
  if (disk) {
    const writer = new EvidenceWriter(disk.dir, {
      onWritten: events("evidence").onWritten,
      onLost: () => {
        o.metrics.sinkErrors.inc(1, { sink: "evidence" });
        o.metrics.sinkLost.inc(1, { sink: "evidence" });
      },
      log: o.log,
    });
    sinks.push(new EvidenceJanitor(disk, writer));
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
