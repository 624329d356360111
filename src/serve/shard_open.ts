/**
 * One shard of a sharded sensor (src/serve/shard.ts): a {@link Monitor} with
 * no sinks, rules or store of its own, whose raised alerts are judged by the
 * main monitor's rules and handed over with their evidence. The same code runs
 * a shard in a worker thread (src/serve/shard_worker.ts, over messages) and
 * shard 0 on the main thread beside the reader (direct calls).
 *
 * @module
 */
import { EndPhase, type MeterStats } from "../flows/meter.ts";
import type { MonitorConfig } from "./config.ts";
import type { DriftRecord } from "./drift.ts";
import { MonitorMetrics } from "./metrics.ts";
import { defaultMaxFlows, type HandedTwin, type Monitor, type ShardLink } from "./monitor.ts";
import { EVIDENCE_BUFFER_BYTES } from "./evidence.ts";
import { createMonitor, startTicker } from "./pipeline/meter.ts";
import { resolveScoring } from "./pipeline/scoring.ts";
import { AlertFilter, type FilterVerdict, HintBook } from "./rules.ts";
import { comparePlaces } from "./shard_merge.ts";
import { type AlertStore, LiveStats } from "./store.ts";

/** Where a shard's alerts, drift events and counters go. */
export interface ShardOutlet extends Omit<ShardLink, "precheck" | "dropped" | "mark" | "twin"> {
  /** {@link ShardLink.twin}, with the shard's index. */
  twin(r: HandedTwin): void;
  drift(d: DriftRecord): void;
  /**
   * Counter and statistics deltas, every 250 ms and at the end; `dropped` = alerts dropped on the rules'
   * hints since the last report, by verdict.
   */
  report(
    stats: StatsDelta,
    counters: Record<string, number>,
    gauges: Record<string, number>,
    dropped: Partial<Record<FilterVerdict, number>>,
  ): void;
  /**
   * Where the shard stands in the rules' order (src/serve/shard_merge.ts, `AlertMerge.mark`): it will hand
   * over no alert before packet clock `us` (µs), nor, at `us`, one before (`phase`, `orderUs`); Infinity for
   * both: its watermark, none at `us` at all. Told whenever it moved: the watermark (`Monitor.watermarkUs`)
   * checked every millisecond (timers run between chunks and ring batches), and the place of each alert of
   * an ordered pass handed over with everything before it ({@link ShardLink.mark}).
   */
  clock(us: number, phase: number, orderUs: number): void;
}

/** Where a shard stands: drive `monitor` with packets, then call `close` once it finished. */
export interface OpenShard {
  monitor: Monitor;
  /** The shard's own metrics, reported to the main monitor as deltas (a fanout capture's drops too). */
  metrics: MonitorMetrics;
  /** What the main monitor's rules said ahead ({@link HintBook.add} each hint it sends). */
  hints: HintBook;
  /** Sends the last report and stops the shard's timers. */
  close(): void;
  /** What the finished shard counted, for the run summary. */
  totals(): { meter: MeterStats; nonFiniteScores: number; bufferEvicted: number };
}

/**
 * The sensor's memory caps split over its `count` shards: `flows.max_flows` (default
 * {@link defaultMaxFlows}) and `evidence.max_bytes` (default {@link EVIDENCE_BUFFER_BYTES}) are the
 * sensor's, each shard holding its share, rounded up. Before, every shard took the whole cap: N workers
 * held N times the memory the docs promise. An over-full table then evicts each shard's least recently
 * active flow, not the sensor's: under eviction the shards' flows differ from one monitor's.
 */
export function shardCaps(cfg: MonitorConfig, count: number): MonitorConfig {
  const share = (v: number) => Math.max(1, Math.ceil(v / count));
  return {
    ...cfg,
    flows: { ...cfg.flows, max_flows: share(cfg.flows?.max_flows ?? defaultMaxFlows()) },
    evidence: { ...cfg.evidence, max_bytes: share(cfg.evidence?.max_bytes ?? EVIDENCE_BUFFER_BYTES) },
  };
}

/** Opens shard `index` of `count`; see the module doc. */
export async function openShard(
  sensorCfg: MonitorConfig,
  o: { index: number; count: number; evidenceDir?: string; live: boolean },
  out: ShardOutlet,
): Promise<OpenShard> {
  const cfg = shardCaps(sensorCfg, o.count);
  const { scoring } = await resolveScoring(cfg, undefined);
  const metrics = new MonitorMetrics();
  const stats = new StatsRelay();
  // Only drift events reach the store from a shard: they go to the main monitor's.
  const store = { addDrift: (d: DriftRecord) => out.drift(d) } as unknown as AlertStore;
  const log = (l: string) => console.error(l);
  const hints = new HintBook();
  // The last place told (see ShardOutlet.clock): only a later one is sent.
  let markUs = -Infinity, markPhase = -Infinity, markAt = -Infinity;
  const markPlace = (us: number, phase: number, at: number) => {
    if (comparePlaces(us, phase, at, markUs, markPhase, markAt) <= 0) return;
    markUs = us;
    markPhase = phase;
    markAt = at;
    out.clock(us, phase, at);
  };
  let dropped: Partial<Record<FilterVerdict, number>> = {};
  const monitor = createMonitor(cfg, {
    scoring,
    metrics,
    stats,
    sinks: [],
    filter: new AlertFilter({}),
    store,
    evidenceDir: o.evidenceDir,
    feedback: [],
  }, {
    log,
    shard: {
      ...out,
      mark: markPlace,
      twin: (r) => out.twin({ ...r, shard: o.index }),
      precheck: (key, clockMs) => hints.verdict(key, clockMs, Date.now()),
      dropped: (v) => void (dropped[v] = (dropped[v] ?? 0) + 1),
    },
    flowIds: { first: o.index, step: o.count },
  });
  metrics.scoringLatency.tap = (v) => stats.latency(v);
  const report = () => {
    const c = StatsRelay.counters(metrics);
    const d = dropped;
    dropped = {};
    out.report(stats.take(), c.counters, c.gauges, d);
  };
  const reporter = setInterval(report, 250);
  const marking = setInterval(() => {
    const [us, phase, at] = watermarkPlace(monitor);
    markPlace(us, phase, at);
  }, 1);
  const stopTicker = startTicker(monitor, o.live, log);
  let closed = false;
  return {
    monitor,
    metrics,
    hints,
    totals: () => ({
      meter: { ...monitor.meter.stats },
      nonFiniteScores: monitor.nonFiniteScores,
      bufferEvicted: monitor.evidence.evicted,
    }),
    close() {
      if (closed) return;
      closed = true;
      stopTicker();
      clearInterval(reporter);
      clearInterval(marking);
      report();
    },
  };
}

/**
 * The place a shard's watermark stands at: it hands over nothing more before it. Everything at the
 * watermark's clock but the end of the input (`EndPhase.FLUSH`), which ends the flows left at the last
 * clock after the shard has given its watermark there. Told "nothing more at this clock" (as it was), the
 * rules judged other shards' alerts of a capture's end before this shard's own end was handed over: with
 * `--workers 2` another alert of a group passed the dedup window than with one.
 */
export function watermarkPlace(monitor: Monitor): [number, number, number] {
  return [monitor.watermarkUs(), EndPhase.FLUSH, -Infinity];
}

/** Counters a shard reports; the main monitor's metrics hold their sums. */
export const SUMMED_COUNTERS = [
  "packets",
  "bytes",
  "flowsEnded",
  "flowsScored",
  "flowsEvicted",
  "nonFiniteScores",
  "alertsTwins",
] as const;
export const SUMMED_GAUGES = ["flowsActive", "evidenceBytes"] as const;
/** Drop counters of a shard's own capture (split fanout): summed only when every shard captures. */
export const CAPTURE_COUNTERS = ["kernelDrops", "ifDrops"] as const;

/** Dashboard traffic a shard saw since its last report. */
export interface StatsDelta {
  packets: number;
  flows: number;
  talkers: [string, number, number][];
  scores: number[];
  threshold: number | null;
  /** Scoring latencies (s) observed since the last report: the sensor's histogram observes each. */
  latency: number[];
}

/** A LiveStats that also records what it was told, for the shard to report as a {@link StatsDelta}. */
export class StatsRelay extends LiveStats {
  #d: StatsDelta = { packets: 0, flows: 0, talkers: [], scores: [], threshold: null, latency: [] };
  #talkers = new Map<string, [string, number, number]>();
  /** A scoring latency (s) of this shard's, for the sensor's histogram. */
  latency(s: number): void {
    this.#d.latency.push(s);
  }
  override packets(n: number, nowMs?: number): void {
    this.#d.packets += n;
    super.packets(n, nowMs);
  }
  override flows(n: number, nowMs?: number): void {
    this.#d.flows += n;
    super.flows(n, nowMs);
  }
  override talker(ip: string, bytes: number, packets: number): void {
    const t = this.#talkers.get(ip);
    if (t) (t[1] += bytes, t[2] += packets);
    else this.#talkers.set(ip, [ip, bytes, packets]);
  }
  override score(s: number): void {
    if (Number.isFinite(s) && this.#d.scores.length < 500) this.#d.scores.push(s);
  }
  /** What was recorded since the last call. */
  take(): StatsDelta {
    const d = this.#d;
    d.talkers = [...this.#talkers.values()];
    d.threshold = this.threshold;
    this.#talkers.clear();
    this.#d = { packets: 0, flows: 0, talkers: [], scores: [], threshold: null, latency: [] };
    return d;
  }
  /** The counters and gauges of `m` the main monitor sums over shards. */
  static counters(m: MonitorMetrics): { counters: Record<string, number>; gauges: Record<string, number> } {
    return {
      counters: Object.fromEntries([...SUMMED_COUNTERS, ...CAPTURE_COUNTERS].map((k) => [k, m[k].get()])),
      gauges: Object.fromEntries(SUMMED_GAUGES.map((k) => [k, m[k].get()])),
    };
  }
}
