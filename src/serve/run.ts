/**
 * Wires a {@link MonitorConfig} into a running sensor, as a pipeline of stages
 * (src/serve/pipeline/):
 *
 *   source (pcap replay / live libpcap) → meter → featurize → score → alert → sinks
 *
 * with the HTTP API beside it, and shuts all of it down in order on abort
 * (SIGINT/SIGTERM in the CLI): stop reading, end every flow and score it, wait
 * for scoring, flush and close the sinks, stop the server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type LiveOpener, runMonitor } from "./run.ts";
 * import { afterImageFeaturizer } from "./featurizer.ts";
 *
 * // A stand-in for libpcap on "test0": 300 DNS queries from one host, then the capture ends.
 * const p = { tsUs: 0, wireLen: 60, capLen: 60, ifIndex: 0, linkType: 1, vlanId: 0, ipVersion: 4 as const,
 *   srcIp: "10.0.0.1", dstIp: "10.0.0.2", protocol: 17, srcPort: 1234, dstPort: 53, ipLen: 46, ttl: 64,
 *   transportHeaderLen: 8, payloadLen: 18, tcpFlags: 0, tcpWindow: 0, icmpType: -1, icmpCode: -1,
 *   fragment: false, laterFragment: false, tunnelId: 0 };
 * const liveOpener: LiveOpener = () =>
 *   Promise.resolve({
 *     run(cb) {
 *       for (let i = 0; i < 300; i++) cb({ ...p, tsUs: i * 1000, srcPort: 1024 + i });
 *       return Promise.resolve();
 *     },
 *     stats: () => ({ received: 300, kernelDrops: 0, ifDrops: 0 }),
 *     close() {},
 *   });
 * const lines: string[] = [];
 * const summary = await runMonitor(
 *   { source: { interface: "test0" }, detector: "kitnet", grace: 200, calibration: 50, sensor: "example" },
 *   { liveOpener, featurizer: afterImageFeaturizer, log: (l) => lines.push(l) },
 * );
 * assert.equal(summary.packets, 300);
 * assert.equal(summary.flows, 300, "every flow ended at shutdown");
 * assert.deepEqual(lines, [
 *   "nadir monitor: no alert sink configured (--alerts FILE); alerts are only kept for the API",
 *   "nadir monitor: capturing on test0",
 * ]);
 * ```
 * @module
 */
import { UsageError } from "../util/errors.ts";
import type { Alert } from "./alert.ts";
import type { MonitorConfig } from "./config.ts";
import type { DriftRecord } from "./drift.ts";
import { MonitorMetrics } from "./metrics.ts";
import type { Monitor } from "./monitor.ts";
import { LiveStats } from "./store.ts";
import { LiveAdaptation, prepareHistory } from "./adaptation.ts";
import type { AlertStore } from "./store.ts";
import { openAlerting } from "./pipeline/alerting.ts";
import { createMonitor, startTicker } from "./pipeline/meter.ts";
import { type FeaturizerFactory, resolveScoring } from "./pipeline/scoring.ts";
import { startApi } from "./pipeline/server.ts";
import { shutdown } from "./pipeline/shutdown.ts";
import { openSinks, repairAlertFile, type SinkReport, sinkReports } from "./pipeline/sinks.ts";
import {
  type LiveOpener,
  packetSource,
  parseReplay,
  type SourceReport,
  withProgress,
} from "./pipeline/source.ts";
import { AUTO_MIN_CORES, runShards, shardCount, shardRefusal, type ShardTotals } from "./shard.ts";
import { NatsSink } from "./sinks/nats.ts";
import type { AlertSink } from "./sinks/sink.ts";
import { hostName } from "./alert.ts";

export type { FeaturizerFactory } from "./pipeline/scoring.ts";
export type { LiveOpener, LiveSource } from "./pipeline/source.ts";

/** What {@link runMonitor} returns. */
export interface RunSummary {
  packets: number;
  flows: number;
  alerts: number;
  kernelDrops: number;
  internalDrops: number;
  evicted: number;
  /** Alerts raised (score past the threshold or non-finite, one per flow) before the rules. */
  alertsRaised: number;
  /** Raised alerts the rules dropped, by reason: alerts = alertsRaised − the sum of these. */
  alertsDropped: Record<string, number>;
  /** NaN/±Infinity scores of a ready detector (each flagged, reason non_finite_score). */
  nonFiniteScores: number;
  /** Drift events written beside the alerts (the sinks' written counts include them). */
  driftEvents: number;
  seconds: number;
  /** Packets each shard metered (`--workers N` > 1). */
  shardPackets?: number[];
  captureDamage?: string;
  /** Alerts some sink could not write (sum over sinks; the CLI exits 3 when non-zero). */
  lost: number;
  /** What each sink wrote and lost (evidence pcaps as sink `evidence`). */
  sinks: SinkReport[];
  /**
   * Evidence pcaps (with an evidence directory): written and lost (also in `sinks`), `missing` alerts
   * whose flow had no frames left, `bufferEvicted` flows whose frames the buffer forgot under its cap.
   */
  evidence?: { written: number; lost: number; missing: number; bufferEvicted: number };
  /** Files repaired on start (torn tails moved aside). */
  repairs: string[];
  /** With a model history: the version scoring at the end, and the updates and rollbacks of this run. */
  model?: { history: string; version: string; policy: string; updates: number; rollbacks: number };
}

/** Options beyond the config. */
export interface RunOptions {
  signal?: AbortSignal;
  /** Keep serving the API after a pcap replay ends, until `signal` aborts. */
  stay?: boolean;
  /** Called once the API listens (port 0 → the real port). */
  onListen?: (addr: Deno.NetAddr) => void;
  /** Called once everything is set up (before the first packet). */
  onReady?: (m: { monitor: Monitor; store: AlertStore; metrics: MonitorMetrics; stats: LiveStats }) => void;
  liveOpener?: LiveOpener;
  featurizer?: FeaturizerFactory;
  /** Passed to the monitor (see MonitorOptions.cpuClock / onAlert). */
  cpuClock?: () => number;
  onAlert?: (a: Alert, latencyMs: number, cpuLatencyMs?: number) => void;
  /** Called for every drift event. */
  onDrift?: (d: DriftRecord) => void;
  /** Log line sink (stderr by default). */
  log?: (line: string) => void;
  /** A progress bar on stderr while a capture file is replayed (files of 16 MiB and more). */
  progress?: boolean;
  /**
   * With `--workers N`: feed the shards from one reader over rings even when every shard could read the
   * capture file itself — the way a live capture and a paced replay are fed (benchmarks compare the two).
   */
  ringFeed?: boolean;
}

/**
 * Health records on the NATS sink (subject `nadir.<sensor>.health` with JetStream): what the sensor
 * counted so far (packets, bytes, flows, alerts, drops) and a flow summary (top talkers), every `sinks.nats.health_interval_s` (default 5 s) and once at the end, so a collector
 * sees which sensors are alive and how busy. Returns the function that sends the last one and stops.
 */
function startHealth(
  cfg: MonitorConfig,
  sinks: AlertSink[],
  monitor: Monitor,
  m: MonitorMetrics,
  stats: LiveStats,
): () => void {
  const nats = sinks.find((s): s is NatsSink => s instanceof NatsSink);
  const every = cfg.sinks?.nats?.health_interval_s ?? 5;
  if (!nats || !(every > 0)) return () => {};
  const host = cfg.sensor ?? hostName();
  const boot = Date.now();
  let seq = 0;
  const send = (final: boolean) =>
    nats.sendHealth({
      host,
      id: `${host}-${boot}-${seq++}`,
      timestamp: new Date().toISOString(),
      final,
      uptime_s: (Date.now() - boot) / 1000,
      packets: m.packets.get(),
      bytes: m.bytes.get(),
      flows_active: m.flowsActive.get(),
      flows_ended: m.flowsEnded.get(),
      alerts: monitor.alertCount,
      kernel_drops: m.kernelDrops.get(),
      drift_events: monitor.driftEvents,
      // The flow summary: the sources that sent the most bytes so far (the dashboard's top talkers).
      top_talkers: (stats.snapshot({}).top_talkers as unknown[]).slice(0, 5),
    });
  send(false);
  const t = setInterval(() => send(false), every * 1000);
  return () => {
    clearInterval(t);
    send(true);
  };
}

/** How often the monitor checks whether the model history's head moved (a rollback from the CLI). */
const FOLLOW_HEAD_MS = 2000;

/** Runs the sensor until the capture ends (pcap) or `signal` aborts. */
export async function runMonitor(cfg: MonitorConfig, ro: RunOptions = {}): Promise<RunSummary> {
  const log = ro.log ?? ((l: string) => console.error(l));
  const src = cfg.source ?? {};
  if (!src.interface && !src.pcap) throw new UsageError("nadir monitor: give --interface IF or --pcap FILE");
  if (!cfg.model && !cfg.detector) throw new UsageError("nadir monitor: give --model DIR or --detector NAME");
  const replay = parseReplay(src.replay);
  let shards = shardCount(cfg);
  // Why `--workers auto` gave one worker (logged once the model is known: its feature set may be the reason).
  let autoWhy = "";
  const refusal = shardRefusal(cfg);
  if (cfg.workers === "auto" && shards === 1) {
    const cores = navigator.hardwareConcurrency;
    autoWhy = refusal ||
      `${cores} core${cores === 1 ? "" : "s"}: below ${AUTO_MIN_CORES} cores, several workers gain nothing`;
  }
  const t0 = performance.now();

  // An adaptive monitor scores from a model history (created from --model on first run).
  let history: string | undefined;
  if (cfg.model) history = await prepareHistory(cfg.model, cfg.adapt);
  else if ((cfg.adapt?.policy ?? "frozen") !== "frozen") {
    throw new UsageError(
      "nadir monitor: adapt.policy needs a saved flow model (--model); a streaming detector (--detector) " +
        "learns during its grace period only",
    );
  }
  const { scoring, predictModels } = await resolveScoring(
    history ? { ...cfg, model: history } : cfg,
    ro.featurizer,
  );
  if (
    scoring.kind === "flow" && scoring.featureSet.crossFlow && (shards > 1 || (autoWhy && !refusal))
  ) {
    // Each shard would count only its own share of a host's flows.
    const why = `the model's feature set (${scoring.featureSet.name}) counts each flow's neighbours ` +
      "(other flows of its hosts or of the last seconds), which no shard sees whole";
    if (cfg.workers !== "auto") {
      throw new UsageError(`nadir monitor: --workers ${shards} cannot be used here: ${why}`);
    }
    autoWhy = why;
    shards = 1;
  }
  if (autoWhy) log(`nadir monitor: --workers auto: 1 worker (${autoWhy})`);
  const metrics = new MonitorMetrics();
  const stats = new LiveStats();
  stats.source = src.interface ? `interface ${src.interface}` : `pcap ${src.pcap}`;
  const read = packetSource(src, { replay, liveOpener: ro.liveOpener, metrics, log });
  const source = ro.progress && src.pcap && !src.interface ? withProgress(read, src.pcap) : read;
  // Before the store reads the alerts file and before any sink appends to it.
  const repairs = repairAlertFile(cfg, log);
  const alerting = openAlerting(cfg);
  const sinks = openSinks(cfg, {
    metrics,
    baseDir: alerting.baseDir,
    evidenceDir: alerting.evidenceDir,
    repairs,
    log,
  });
  let adaptation: LiveAdaptation | undefined;
  const monitor = createMonitor(cfg, { scoring, metrics, stats, sinks, ...alerting }, {
    ...ro,
    onDrift: (d) => {
      adaptation?.drift(d.stream);
      ro.onDrift?.(d);
    },
    ...(history ? { onScored: (x, s) => adaptation?.scored(x, s) } : {}),
  });
  if (history && scoring.kind === "flow") {
    adaptation = await LiveAdaptation.open(history, cfg.adapt ?? {}, scoring, {
      swap: (d, t) => monitor.swapModel(d, t),
      log,
      metrics,
    }, alerting.feedback);
    alerting.store.onVerdict = (rec, label) => adaptation?.verdict(rec, label);
    log(
      `nadir monitor: model history ${history}, version ${adaptation.version}, policy ${adaptation.policy}`,
    );
  }
  // `nadir model rollback HOME` while the sensor runs moves the head on disk: follow it.
  let headError = "";
  const followHead = adaptation && setInterval(() => {
    adaptation!.followHead().then(() => (headError = ""), (e) => {
      const msg = `nadir monitor: cannot follow the model history's head: ${(e as Error).message}`;
      if (msg !== headError) log(headError = msg);
    });
  }, FOLLOW_HEAD_MS);

  const stop = new AbortController();
  ro.signal?.addEventListener("abort", () => stop.abort(), { once: true });
  const { store } = alerting;
  const server = startApi(cfg.api, { store, stats, metrics, models: predictModels, adaptation }, {
    log,
    onListen: ro.onListen,
  });
  ro.onReady?.({ monitor, store, metrics, stats });

  stats.running = true;
  // Shards tick their own monitors; this one only takes their alerts.
  const stopTicker = shards > 1 ? () => {} : startTicker(monitor, source.live, log);
  let report: SourceReport;
  let sharded: ShardTotals | undefined;
  const stopHealth = startHealth(cfg, sinks, monitor, metrics, stats);
  // Evidence pcaps are written through files created ahead of time (src/serve/spare_files.ts).
  const stopSpares = monitor.evidenceWriter?.keepSpares() ?? (() => {});
  try {
    if (shards > 1) {
      log(`nadir monitor: ${shards} workers, flows split by a symmetric hash`);
      if (cfg.source?.split && source.capture === undefined) {
        log(`nadir monitor: source.split "${cfg.source.split}" applies to a live interface only; ignored`);
      }
      sharded = await runShards(
        cfg,
        shards,
        { monitor, metrics, stats, evidenceDir: alerting.evidenceDir },
        source,
        stop.signal,
        { ring: ro.ringFeed, split: cfg.source?.split, log },
      );
      report = sharded.report;
    } else report = await source.run(monitor, stop.signal);
    if (report.damage) log(`nadir monitor: capture damage: ${report.damage}`);
  } finally {
    try {
      await shutdown({
        stopTicker,
        monitor,
        stats,
        sinks,
        server,
        signal: stop.signal,
        stay: ro.stay,
        log,
        beforeSinksClose: stopHealth,
      });
    } finally {
      stopSpares();
    }
    if (followHead) clearInterval(followHead);
    await adaptation?.settle();
    adaptation?.dispose();
  }
  const ms = sharded?.meter ?? monitor.meter.stats;
  return {
    packets: metrics.packets.get(),
    flows: ms.created,
    alerts: monitor.alertCount,
    kernelDrops: report.kernelDrops,
    internalDrops: metrics.internalDrops.get(),
    evicted: ms.evicted,
    alertsRaised: monitor.alertsRaised,
    alertsDropped: { ...monitor.alertsDropped },
    nonFiniteScores: monitor.nonFiniteScores + (sharded?.nonFiniteScores ?? 0),
    driftEvents: monitor.driftEvents,
    seconds: (performance.now() - t0) / 1000,
    ...(sharded ? { shardPackets: sharded.shardPackets } : {}),
    captureDamage: report.damage,
    lost: sinkReports(sinks).reduce((n, s) => n + s.lost, 0),
    sinks: sinkReports(sinks),
    ...(monitor.evidenceWriter
      ? {
        evidence: {
          written: monitor.evidenceWriter.written,
          lost: monitor.evidenceWriter.lost,
          missing: monitor.evidenceWriter.missing,
          bufferEvicted: monitor.evidence.evicted + (sharded?.bufferEvicted ?? 0),
        },
      }
      : {}),
    repairs,
    ...(adaptation
      ? {
        model: {
          history: adaptation.home,
          version: adaptation.version,
          policy: adaptation.policy,
          updates: adaptation.updates,
          rollbacks: adaptation.rollbacks,
        },
      }
      : {}),
  };
}
