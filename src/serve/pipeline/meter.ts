/**
 * Meter → featurize → score: the {@link Monitor} configured from the config's
 * `flows` and `evidence` sections, and the ticker that drives it on the wall
 * clock.
 *
 * @module
 */
import type { Matrix } from "../../data/matrix.ts";
import type { Alert } from "../alert.ts";
import type { MonitorConfig } from "../config.ts";
import type { MonitorMetrics } from "../metrics.ts";
import { type FlowScoring, Monitor, type PacketScoring, type ShardLink } from "../monitor.ts";
import type { AlertSink } from "../sinks/sink.ts";
import { EvidenceJanitor } from "../evidence.ts";
import type { LiveStats } from "../store.ts";
import type { Alerting } from "./alerting.ts";
import { driftOptionsFromConfig, type DriftRecord } from "../drift.ts";

/** The stages the Monitor connects: scoring in front, alerting and sinks behind. */
export interface MonitorParts extends Alerting {
  scoring: FlowScoring | PacketScoring;
  metrics: MonitorMetrics;
  stats: LiveStats;
  sinks: AlertSink[];
}

/** Hooks passed through to the Monitor (see `MonitorOptions.cpuClock` and `onAlert`). */
export interface MonitorHooks {
  cpuClock?: () => number;
  onAlert?: (a: Alert, latencyMs: number, cpuLatencyMs?: number) => void;
  /** Called for every drift event. */
  onDrift?: (d: DriftRecord) => void;
  /** Every batch a flow model scored, in its columns (the update policy). */
  onScored?: (x: Matrix, scores: ArrayLike<number>) => void;
  /** Log line sink (stderr by default). */
  log?: (line: string) => void;
  /** Shard mode: the link to the main monitor (see MonitorOptions.shard). */
  shard?: ShardLink;
  /** Flow ids of a shard (see MonitorOptions.flowIds). */
  flowIds?: { first: number; step: number };
}

/**
 * A Monitor over `parts`, with the flow table, timeouts, batching and evidence caps of `cfg`, and
 * drift detection as `cfg.drift` says (default: ADWIN on the score stream). Throws an InputError
 * naming `drift.features` for a feature the scoring does not have.
 */
export function createMonitor(cfg: MonitorConfig, parts: MonitorParts, hooks: MonitorHooks = {}): Monitor {
  const fl = cfg.flows ?? {};
  return new Monitor({
    scoring: parts.scoring,
    metrics: parts.metrics,
    store: parts.store,
    stats: parts.stats,
    filter: parts.filter,
    sinks: parts.sinks,
    evidenceDir: parts.evidenceDir,
    // The evidence sink's writer (src/serve/pipeline/sinks.ts): its counts reach the run summary.
    evidenceWriter: parts.sinks.find((s): s is EvidenceJanitor => s instanceof EvidenceJanitor)?.writer,
    evidence: {
      perFlowPackets: cfg.evidence?.packets_per_flow,
      perFlowBytes: cfg.evidence?.bytes_per_flow,
      maxBytes: cfg.evidence?.max_bytes,
    },
    idleTimeoutS: fl.idle_timeout_s,
    activeTimeoutS: fl.active_timeout_s,
    rescoreIntervalS: fl.rescore_interval_s,
    maxFlows: fl.max_flows,
    batchSize: fl.batch_size,
    maxBatchDelayMs: fl.max_batch_delay_ms,
    sensor: cfg.sensor,
    drift: driftOptionsFromConfig(cfg.drift),
    cpuClock: hooks.cpuClock,
    onAlert: hooks.onAlert,
    onDrift: hooks.onDrift,
    onScored: hooks.onScored,
    log: hooks.log,
    shard: hooks.shard,
    flowIds: hooks.flowIds,
  });
}

/**
 * Calls {@link Monitor.tick} on a timer until the returned function is called. Live capture ticks
 * every 500 ms with the wall clock, so flows on a quiet link still time out and waiting rows are
 * scored (no further than the capture says it has delivered: {@link Monitor.caughtUp}); a replay ticks
 * every second on packet time only (its flows expire deterministically).
 * A failing tick is logged, not thrown: one bad batch must not stop the sensor.
 */
export function startTicker(monitor: Monitor, live: boolean, log: (line: string) => void): () => void {
  const ticker = setInterval(() => {
    try {
      monitor.tick(live ? Date.now() * 1000 : undefined);
    } catch (e) {
      log(`nadir monitor: tick failed: ${(e as Error).stack ?? e}`);
    }
  }, live ? 500 : 1000);
  return () => clearInterval(ticker);
}
