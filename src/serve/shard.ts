/**
 * A sensor on several cores: `nadir monitor --workers N` runs N shards, each a
 * {@link Monitor} that meters, scores and raises alerts for its share of the
 * flows, and one monitor on the main thread that owns what must be one per
 * sensor — the rules (dedup, per-host rate, suppressions), the evidence
 * writer, every sink, the API's store, the metrics and the dashboard
 * statistics.
 *
 * Packets are split by {@link ShardMap} over {@link flowHash}, a hash of the
 * flow key that is the same for both directions, so every packet of a flow
 * reaches the same shard.
 * Every shard routes the sensor's packets in order with a {@link ShardRouter}
 * (the same decisions in every thread) and meters its own. A capture file
 * replayed as fast as it can be read is read whole by every shard, each
 * keeping its own packets: no packet is copied between threads. A live
 * interface is captured by every shard for itself (split "fanout": one Linux
 * PACKET_FANOUT group, the kernel's symmetric hash deciding; {@link liveShard}).
 * Otherwise (a paced replay, split "ring") the main thread reads the source once and
 * puts each packet of shards 1.. in the shard's ring
 * (src/serve/shard_ring.ts, shared memory, no message per packet) with the
 * sensor's packet clock. Shard 0 runs on the main thread, shards 1.. in worker
 * threads. A shard hears of another's packet only when work on packet time
 * falls due at it (the meter's idle scan, re-scoring): the router replays
 * those schedules, so every shard's flows end, are re-scored and alert at the
 * same packets as in a single monitor ({@link Monitor.packetAt},
 * {@link Monitor.advance}), with a tick a second instead of one per packet.
 * A replay gives the same flows and alerts as one monitor, either way
 * (test/serve/shard_test.ts).
 *
 * Measured choices (docs/monitor.md): a reader thread of its own feeding N
 * workers left three threads on two cores; the reader running shard 0 is a
 * thread fewer. For a file, every shard reading it whole beat one reader
 * copying packets into a ring by ~4 % of wall time on the bench capture (each
 * shard decodes every packet, ~0.19 µs, instead of a copy and a ring read).
 *
 * Shards hand each raised alert over, explained and with the flow's evidence
 * pcap, and the main monitor's rules judge the shards' alerts in packet-clock
 * order, each once every shard's watermark has reached it (src/serve/shard_merge.ts,
 * {@link Monitor.acceptAlert}); the rules tell the shards ahead what they
 * will drop for a while (a key within its dedup window, a host over its rate:
 * `FilterHint`), so those are dropped in the shard, unbuilt, and counted.
 * Drift events come over too; counters and dashboard statistics as deltas
 * every 250 ms and at the end.
 * Flow ids stay unique: shard k numbers its flows k, k + N, k + 2N, ...
 *
 * Only a frozen flow model shards: a streaming detector (KitNET) learns from
 * the order of all packets, and an updating model must be one model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flowHash } from "./shard.ts";
 * const p = { ipVersion: 4, srcIp4: 0x0a000001, dstIp4: 0x0a000002, srcPort: 40000, dstPort: 443, protocol: 6 };
 * const back = { ...p, srcIp4: p.dstIp4, dstIp4: p.srcIp4, srcPort: p.dstPort, dstPort: p.srcPort };
 * assert.equal(flowHash(p as never), flowHash(back as never));
 * ```
 * @module
 */
import { DecodedPacket } from "../capture/decode.ts";
import type { Packet } from "../capture/packet.ts";
import type { MeterStats } from "../flows/meter.ts";
import { InputError, isUserError, UsageError } from "../util/errors.ts";
import type { MonitorConfig } from "./config.ts";
import type { DriftRecord } from "./drift.ts";
import type { MonitorMetrics } from "./metrics.ts";
import type { HandedAlert, HandedTwin, Monitor } from "./monitor.ts";
import type { FilterHint, FilterVerdict, SuppressionRule } from "./rules.ts";
import {
  driveLive,
  type LiveShare,
  type LiveSource,
  openLive,
  type PacketConsumer,
  type PacketSource,
  type SourceReport,
} from "./pipeline/source.ts";
import { PacketRing } from "./shard_ring.ts";
import { AlertMerge } from "./shard_merge.ts";
import {
  CAPTURE_COUNTERS,
  type OpenShard,
  openShard,
  type StatsDelta,
  SUMMED_COUNTERS,
  SUMMED_GAUGES,
} from "./shard_open.ts";
import { IDLE_SCAN_US, TCP, unmetered } from "../flows/meter.ts";
import type { LiveStats } from "./store.ts";

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function strHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** FNV-1a of the 16 bytes at `o` (an IPv6 address). */
function bytesHash(b: Uint8Array, o: number): number {
  let h = 0x811c9dc5;
  for (let i = o; i < o + 16; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/**
 * A hash of a packet's addresses, ports and protocol that is symmetric (xor of the two endpoints), so
 * both directions of a flow get the same value; -1 for a packet without IP.
 */
export function flowHash(p: Packet): number {
  let h: number;
  if (p.ipVersion === 4 && p.srcIp4 !== undefined && p.dstIp4 !== undefined) h = (p.srcIp4 ^ p.dstIp4) >>> 0;
  else if (p.ipVersion === 6 && p instanceof DecodedPacket && p.ipOffset >= 0) {
    // The decoder's IPv6 addresses hashed from their bytes: text would be made for every packet.
    const o = p._off + p.ipOffset + 8;
    h = bytesHash(p._buf, o) ^ bytesHash(p._buf, o + 16);
  } else if (p.ipVersion === 4 || p.ipVersion === 6) h = strHash(p.srcIp) ^ strHash(p.dstIp);
  else return -1;
  return mix32(h ^ Math.imul(p.srcPort ^ p.dstPort, 0x9e3779b1) ^ (p.protocol << 24));
}

/**
 * What the main thread pays besides its own shard, in packets of shard work (metering and scoring one
 * packet, ~1.1 µs here): reading and decoding every packet (~0.19 µs), and copying one into another shard's
 * ring (~0.2 µs). Measured on the bench capture; with these, shard 0 gets ~36 % of the packets of two.
 */
const MAIN_LOAD: ShardLoad = { read: 0.17, forward: 0.18 };

/** What shard 0 pays besides its own packets, in packets of shard work (see {@link ShardMap}). */
export interface ShardLoad {
  /** Per packet read. */
  read: number;
  /** Per packet of another shard. */
  forward: number;
}

/**
 * The same when every shard reads the file itself: shard 0 (the main thread) pays for no copy, only for
 * what is one per sensor (the rules, evidence and sinks of every shard's alerts).
 */
const FILE_LOAD: ShardLoad = { read: 0, forward: 0 };

/** Buckets of {@link ShardMap}: enough that a bucket rarely holds two busy flows. */
const BUCKETS = 1 << 16;

/**
 * Which shard meters a packet. A symmetric hash ({@link flowHash}) picks one of 65,536 buckets; a bucket
 * goes to the least loaded shard when it is first used, and again when it has been quiet longer than a
 * flow can be (the idle timeout, plus 2 s for the idle scan): every flow that was in it has ended, so a
 * move splits no flow. A hash alone spreads flows, not packets — on the bench capture, whose top flow
 * carries 10 % of the packets, shard 0 got 64 % of them. Load is packets, halved every second of packet
 * time so that it follows the traffic of now; shard 0 also pays `read` per packet read and `forward` per
 * packet it hands to another shard (it runs on the reader's thread). Decisions depend only on the packets
 * in order, so a replay splits the same way every time. Non-IP packets go to shard 0.
 */
export class ShardMap {
  readonly #owner = new Int16Array(BUCKETS).fill(-1);
  readonly #seen = new Float64Array(BUCKETS);
  readonly #load: Float64Array;
  readonly #quietUs: number;
  readonly #read: number;
  readonly #forward: number;
  #decayAt = -Infinity;
  /** Packets given to each shard. */
  readonly packets: Float64Array;

  constructor(count: number, o: { idleUs: number } & Partial<ShardLoad>) {
    this.#load = new Float64Array(count);
    this.packets = new Float64Array(count);
    this.#quietUs = o.idleUs + 2e6;
    this.#read = o.read ?? 0;
    this.#forward = o.forward ?? 0;
  }

  /** The shard of `p`, read when the sensor's packet clock is `clockUs`. */
  shard(p: Packet, clockUs: number): number {
    const load = this.#load;
    if (clockUs - this.#decayAt >= 1e6) {
      this.#decayAt = clockUs;
      for (let i = 0; i < load.length; i++) load[i] *= 0.5;
    }
    load[0] += this.#read;
    const h = flowHash(p);
    let k = 0;
    if (h >= 0) {
      const b = h & (BUCKETS - 1);
      k = this.#owner[b];
      if (k < 0 || clockUs - this.#seen[b] > this.#quietUs) {
        k = 0;
        for (let i = 1; i < load.length; i++) if (load[i] < load[k]) k = i;
        this.#owner[b] = k;
      }
      this.#seen[b] = clockUs;
    }
    load[k]++;
    if (k !== 0) load[0] += this.#forward;
    this.packets[k]++;
    return k;
  }
}

/**
 * Routes a sensor's packets, in order, to their shards and replays the single monitor's schedules on
 * packet time (FlowMeter's idle scan, FlowScoringMode's re-scoring): after {@link ShardRouter.route},
 * `clock` is the sensor's packet clock and `due` says whether work on packet time falls due at this
 * packet, which every shard must then hear of. Deterministic: the same packets route the same way in
 * every thread that routes them.
 */
export class ShardRouter {
  /** The sensor's packet clock: the latest packet time so far. */
  clock = -Infinity;
  /** Whether the idle scan or a re-scoring falls due at the packet just routed. */
  due = false;
  /** Whether the packet just routed is metered (see FlowMeter.pass). */
  metered = false;
  #lastScan = -Infinity;
  #lastRescore = -Infinity;
  readonly #map: ShardMap;
  readonly #rescoreUs: number;

  /**
   * The router of `count` shards, with `shard`'s meter and scoring timers (the same in every shard: one
   * config) and shard 0 charged `load`. Every thread builds it here, so every thread decides alike.
   */
  constructor(count: number, shard: Monitor, load: ShardLoad) {
    this.#map = new ShardMap(count, { idleUs: shard.meter.idleUs, ...load });
    this.#rescoreUs = shard.rescoreUs;
    this.#lingerUs = shard.meter.lingerUs;
  }

  readonly #lingerUs: number;
  /**
   * When closed TCP connections may end (FlowMeter's linger): the clock of every FIN or RST plus the
   * linger, in clock order. A superset of the meter's own close times, so every shard hears of the first
   * packet at or after each one. Without it a shard ended a closed connection at its own next packet, up to
   * a linger late, and the rules judged its alert after a later one (another alert of a group passed).
   */
  #lingers: number[] = [];
  #lingerHead = 0;

  /** Packets given to each shard. */
  get packets(): Float64Array {
    return this.#map.packets;
  }

  /** The shard of `p`, the next packet of the sensor. */
  route(p: Packet): number {
    const metered = this.metered = unmetered(p) === 0;
    if (p.tsUs > this.clock) this.clock = p.tsUs;
    const clock = this.clock;
    const k = this.#map.shard(p, clock);
    let due = false;
    if (metered && clock - this.#lastScan >= IDLE_SCAN_US) (this.#lastScan = clock, due = true);
    if (this.#rescoreUs > 0 && clock - this.#lastRescore >= this.#rescoreUs) {
      this.#lastRescore = clock;
      due = true;
    }
    if (this.#lingerUs >= 0) {
      const q = this.#lingers;
      if (this.#lingerHead < q.length && clock >= q[this.#lingerHead]) {
        due = true;
        while (this.#lingerHead < q.length && q[this.#lingerHead] <= clock) this.#lingerHead++;
        if (this.#lingerHead === q.length) this.#lingers = [], this.#lingerHead = 0;
        else if (this.#lingerHead > 1024 && this.#lingerHead * 2 > q.length) {
          this.#lingers = q.slice(this.#lingerHead);
          this.#lingerHead = 0;
        }
      }
      if (p.protocol === 6 && (p.tcpFlags & (TCP.FIN | TCP.RST)) !== 0) {
        const at = clock + this.#lingerUs;
        if (this.#lingers.at(-1) !== at) this.#lingers.push(at);
      }
    }
    this.due = due;
    return k;
  }
}

/**
 * Why this configuration cannot be sharded ("" when it can): only a saved, frozen flow model can; a
 * streaming detector learns from every packet in order, and an updating model must stay one model.
 */
export function shardRefusal(cfg: MonitorConfig): string {
  return !cfg.model
    ? "a streaming detector (--detector) learns from every packet in order; give a saved flow model (--model)"
    : (cfg.adapt?.policy ?? "frozen") !== "frozen" || cfg.adapt?.history
    ? "an updating model (--adapt/--history) must stay one model"
    : "";
}

/**
 * Below this many cores `"auto"` gives one worker: on 2 cores, two workers replayed at 0.84–1.04× one
 * worker's packets/s (which keeps ~1.3 cores busy with V8's collector threads), with 1.5× its memory
 * (bench monitor, 2026-12-06; docs/monitor.md).
 */
export const AUTO_MIN_CORES = 3;

/**
 * How many shards a run gets: `workers` from the config, checked against what can be sharded. `"auto"`
 * is one per core (`cores`, default the machine's), or 1 where the run cannot be sharded or the machine has
 * fewer than {@link AUTO_MIN_CORES} cores.
 */
export function shardCount(cfg: MonitorConfig, cores = navigator.hardwareConcurrency): number {
  if (cfg.workers === "auto") {
    return shardRefusal(cfg) || (cores || 1) < AUTO_MIN_CORES ? 1 : Math.min(64, cores);
  }
  const n = cfg.workers ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new UsageError(`nadir monitor: --workers expects an integer from 1 to 64 or auto, found ${n}`);
  }
  if (n === 1) return 1;
  const why = shardRefusal(cfg);
  if (why) throw new UsageError(`nadir monitor: --workers ${n} cannot be used here: ${why}`);
  return n;
}

/** What a shard posts to the main thread. */
export type ShardMessage =
  /**
   * `sameNames`: the alert's feature names (and its model row's) are those of the shard's previous alert,
   * left out of `r` ({@link NamesCache}).
   */
  | { t: "alert"; r: HandedAlert; sameNames?: boolean }
  /** A twin (`ShardLink.twin` in src/serve/monitor.ts): judged in its place, built only if it passes. */
  | { t: "twin"; r: HandedTwin }
  | { t: "drift"; d: DriftRecord }
  | { t: "ended"; flowId: number }
  /** Where the shard stands in the rules' order (`ShardOutlet.clock` in src/serve/shard_open.ts). */
  | { t: "clock"; us: number; phase: number; orderUs: number }
  | {
    t: "report";
    stats: StatsDelta;
    counters: Record<string, number>;
    gauges: Record<string, number>;
    dropped: Partial<Record<FilterVerdict, number>>;
  }
  | { t: "ready" }
  | {
    t: "done";
    meter: MeterStats;
    nonFiniteScores: number;
    bufferEvicted: number;
    /** A shard's own capture (split fanout): packets its kernel buffer dropped, and packets skipped. */
    kernelDrops?: number;
    skipped?: number;
  }
  | { t: "error"; message: string; stack?: string; user?: "input" | "usage" }
  /** Alerts, places, ended flows and drift events in the order the shard raised them ({@link HandOver}). */
  | { t: "batch"; items: BatchedMessage[] };

/** What a shard's {@link HandOver} batches. */
export type BatchedMessage = Extract<ShardMessage, { t: "alert" | "twin" | "clock" | "ended" | "drift" }>;

/**
 * A worker shard's hand-overs to the main thread, in one message per turn of the worker (or per
 * millisecond within a long one, such as a burst of alerts where an idle scan ends thousands of flows).
 * Each message costs the main thread a turn of its event loop, which also runs the reader's next chunk
 * of packets: with a message per alert and one per place, a burst's alerts reached the main thread
 * 10 ms (median) to 40 ms (p99) after they were built in the paced bench (docs/monitor.md). A place
 * followed by another with nothing between them says nothing more than the second, and is left out.
 */
export class HandOver {
  readonly #post: (m: ShardMessage, transfer: Transferable[]) => void;
  readonly #maxDelayMs: number;
  #items: BatchedMessage[] = [];
  #transfer: Transferable[] = [];
  #since = 0;

  /** `post` sends one message; a batch waits at most `maxDelayMs` (wall) for the end of the turn. */
  constructor(post: (m: ShardMessage, transfer: Transferable[]) => void, maxDelayMs = 1) {
    this.#post = post;
    this.#maxDelayMs = maxDelayMs;
  }

  /** Queues `m` (with `transfer`, the buffers that move with it). */
  add(m: BatchedMessage, transfer?: Transferable): void {
    const items = this.#items;
    if (!items.length) {
      this.#since = performance.now();
      queueMicrotask(() => this.flush());
    } else if (m.t === "clock" && items[items.length - 1].t === "clock") {
      items[items.length - 1] = m;
      return;
    }
    items.push(m);
    if (transfer) this.#transfer.push(transfer);
    if ((m.t === "alert" || m.t === "twin") && performance.now() - this.#since >= this.#maxDelayMs) {
      this.flush();
    }
  }

  /** Posts what is queued now (before any message that must follow it, such as "done"). */
  flush(): void {
    if (!this.#items.length) return;
    const items = this.#items, transfer = this.#transfer;
    this.#items = [];
    this.#transfer = [];
    this.#post(items.length === 1 ? items[0] : { t: "batch", items }, transfer);
  }
}

/** What the main thread posts to a shard. */
export type ShardCommand =
  | {
    t: "start";
    cfg: MonitorConfig;
    index: number;
    count: number;
    evidenceDir?: string;
    /** The shard's packet ring (src/serve/shard_ring.ts), or none when it reads `file` itself. */
    ring?: SharedArrayBuffer;
    /**
     * The capture file the shard reads whole itself, keeping the packets {@link ShardRouter} gives it,
     * routed over a {@link ShardMap} with `load`, as every other shard does.
     */
    file?: { path: string; chunkSize: number; load: ShardLoad };
    /**
     * The live interface the shard captures its own share of, in PACKET_FANOUT group `fanoutGroup`. It
     * joins before it says "ready" and reads once told "go".
     */
    capture?: LiveShare & { fanoutGroup: number };
    /** Whether packet time is the wall clock (live capture: flows expire on it). */
    live: boolean;
  }
  /**
   * Every shard has joined the fanout group: read from now on, skipping what was captured before `fromUs`
   * (packet time, µs), which the kernel split while shards were still joining.
   */
  | { t: "go"; fromUs: number }
  /**
   * What the main monitor's rules said since the last such message: what they will drop for a while, and
   * which of this shard's flows had an alert pass (it raises no more for them), and which of its twins
   * passed (to be built now) or were dropped (`Monitor.twinVerdict`).
   */
  | {
    t: "verdicts";
    hints: FilterHint[];
    accepted: number[];
    twinsPassed: number[];
    twinsDropped: number[];
    /** The sensor's suppression rules, when they changed since the last message (and in the first). */
    suppressions?: SuppressionRule[];
  }
  /** Stop reading `file` (the run was stopped); the shard then finishes as at the end of the file. */
  | { t: "stop" };

/** Totals of a finished sharded run, for the run summary. */
export interface ShardTotals {
  meter: MeterStats;
  /** Packets each shard was given. */
  shardPackets: number[];
  report: SourceReport;
  nonFiniteScores: number;
  bufferEvicted: number;
}

/** Bytes of each shard's packet ring: ~35 k average frames of the bench capture, ~20 ms of packets. */
const RING_BYTES = 16 << 20;

/**
 * Runs `count` shards fed by `source` and feeds their alerts, drift events, counters and statistics to
 * `main`. The main thread runs shard 0 (a thread fewer competing for the cores); shards 1.. run in worker
 * threads. A capture file replayed as fast as it can be read (`source.file`) is read whole by every
 * shard; any other source is read once, here, and shards 1.. are fed through their rings (`o.ring`: so
 * even a file). Resolves when the source ended (or `signal` stopped it) and every shard has ended its
 * flows and handed its last alert; rejects (stopping the others) when one fails.
 */
export async function runShards(
  cfg: MonitorConfig,
  count: number,
  main: { monitor: Monitor; metrics: MonitorMetrics; stats: LiveStats; evidenceDir?: string },
  source: PacketSource,
  signal: AbortSignal,
  o: { ring?: boolean; split?: "fanout" | "ring"; log?: (line: string) => void } = {},
): Promise<ShardTotals> {
  const url = new URL("./shard_worker.ts", import.meta.url).href;
  const workers: Worker[] = [];
  /** Rings of shards 1..count-1 (index i - 1). */
  const rings: PacketRing[] = [];
  const counters: Record<string, number>[] = [];
  const gauges: Record<string, number>[] = [];
  const done: (ShardDone | undefined)[] = new Array(count).fill(undefined);
  const applyStats = (d: StatsDelta) => {
    const st = main.stats;
    if (d.packets) st.packets(d.packets);
    if (d.flows) st.flows(d.flows);
    for (const [ip, b, p] of d.talkers) st.talker(ip, b, p);
    for (const s of d.scores) st.score(s);
    if (d.threshold !== null) st.threshold = d.threshold;
    for (const v of d.latency) main.metrics.scoringLatency.observe(v);
  };
  const applyMetrics = () => {
    const m = main.metrics;
    const summed = share ? [...SUMMED_COUNTERS, ...CAPTURE_COUNTERS] : SUMMED_COUNTERS;
    for (const k of summed) m[k].setTotal(counters.reduce((s, c) => s + (c?.[k] ?? 0), 0));
    for (const k of SUMMED_GAUGES) m[k].set(gauges.reduce((s, g) => s + (g?.[k] ?? 0), 0));
  };
  const report = (i: number) =>
  (
    d: StatsDelta,
    c: Record<string, number>,
    g: Record<string, number>,
    dropped: Partial<Record<FilterVerdict, number>>,
  ) => {
    main.monitor.acceptDropped(dropped);
    applyStats(d);
    counters[i] = c;
    gauges[i] = g;
    applyMetrics();
  };
  let failure: Error | undefined;
  let settle: { ready: () => void; done: () => void; fail: (e: Error) => void } | undefined;
  let ready = 0;
  const fail = (e: Error) => {
    if (failure) return;
    failure = e;
    for (const w of workers) w.terminate();
    for (const r of rings) r.abort();
    ownStop.abort(); // this thread's own capture (split fanout)
    settle?.fail(e);
  };
  const file = !o.ring && source.file ? { ...source.file, load: FILE_LOAD } : undefined;
  // A live interface: every shard captures its own share (a PACKET_FANOUT group this thread founds),
  // unless the ring is asked for.
  let share = !file && !o.ring && o.split !== "ring" ? source.capture : undefined;
  let own: LiveSource | undefined;
  const ownStop = new AbortController();
  if (share) {
    try {
      own = await openLive({ ...share, fanoutGroup: "new" });
    } catch (e) {
      // Fanout by default: where the kernel refuses it, the ring still works; asked for, it must not.
      if (o.split === "fanout") throw e;
      o.log?.(`nadir monitor: ${(e as Error).message}; one capture feeds the workers instead (split ring)`);
      share = undefined;
    }
  }
  const capture = share && { ...share, fanoutGroup: own!.fanoutGroup! };
  // The rules judge the shards' alerts in packet-clock order, as one monitor would (src/serve/shard_merge.ts).
  // The rules' verdict on a shard's twin goes back to that shard (set once the shards are open).
  let twinJudged = (_r: HandedTwin, _passed: boolean) => {};
  const merge = new AlertMerge<HandedAlert | HandedTwin>(count, {
    judge: (r) => "twin" in r ? twinJudged(r, main.monitor.judgeTwin(r)) : main.monitor.acceptAlert(r),
    ended: (flowId) => main.monitor.acceptEnded(flowId),
    waiting: (n) => main.metrics.alertsWaiting.set(n),
  });
  const toMerge = (i: number, r: HandedAlert | HandedTwin) => {
    // A twin the rules passed, built afterwards: its place was judged already.
    if ("alert" in r && r.judged) return main.monitor.acceptAlert(r);
    merge.add(i, {
      clockUs: r.clockUs,
      phase: r.phase,
      orderUs: r.orderUs,
      flowId: "twin" in r ? r.flowId : r.alert.flow_id,
      item: r,
    });
  };
  for (let i = 1; i < count; i++) {
    const ring = file || share ? undefined : PacketRing.create(RING_BYTES);
    if (ring) rings.push(ring);
    const w = new Worker(url, { type: "module", name: `nadir-shard-${i}` });
    workers.push(w);
    w.onerror = (e) => {
      e.preventDefault();
      fail(new Error(`nadir monitor: shard ${i} failed: ${e.message}`));
    };
    const reportTo = report(i);
    const names = new NamesCache();
    const take = (m: BatchedMessage) => {
      if (m.t === "alert") toMerge(i, names.restore(m.r, m.sameNames));
      else if (m.t === "twin") toMerge(i, m.r);
      else if (m.t === "clock") merge.mark(i, m.us, m.phase, m.orderUs);
      else if (m.t === "ended") merge.ended(m.flowId);
      else main.monitor.acceptDrift(m.d);
    };
    w.onmessage = (e: MessageEvent<ShardMessage>) => {
      const m = e.data;
      try {
        if (m.t === "batch") { for (const b of m.items) take(b); }
        else if (m.t === "alert" || m.t === "twin" || m.t === "clock" || m.t === "ended" || m.t === "drift") {
          take(m);
        } else if (m.t === "report") reportTo(m.stats, m.counters, m.gauges, m.dropped);
        else if (m.t === "ready") {
          if (++ready === count - 1) settle?.ready();
        } else if (m.t === "error") {
          // A user's error (a damaged capture) stays one: one line and its exit code, as with one worker,
          // not an uncaught Error with a worker's stack.
          const err = m.user === "input"
            ? new InputError(m.message)
            : m.user === "usage"
            ? new UsageError(m.message)
            : new Error(m.message);
          if (m.stack && !m.user) err.stack = m.stack;
          fail(err);
        } else if (m.t === "done") {
          merge.mark(i, Infinity);
          done[i] = m;
          w.terminate();
          if (done.every((d) => d !== undefined)) settle?.done();
        }
      } catch (err) {
        fail(err as Error);
      }
    };
    w.postMessage(
      {
        t: "start",
        cfg,
        index: i,
        count,
        evidenceDir: main.evidenceDir,
        ring: ring?.buffer,
        file,
        capture,
        live: source.live,
      } satisfies ShardCommand,
    );
  }
  const until = (phase: "ready" | "done") =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      if (phase === "ready" && ready === count - 1) return resolve();
      if (phase === "done" && done.every((d) => d !== undefined)) return resolve();
      settle = {
        ready: phase === "ready" ? resolve : () => {},
        done: phase === "done" ? resolve : () => {},
        fail: reject,
      };
    });
  let local: OpenShard | undefined;
  try {
    // Shard 0, here: its verdicts and hand-overs are direct calls.
    local = await openShard(cfg, { index: 0, count, evidenceDir: main.evidenceDir, live: source.live }, {
      alert: (r) => toMerge(0, r),
      twin: (r) => toMerge(0, r),
      ended: (flowId) => merge.ended(flowId),
      drift: (d) => main.monitor.acceptDrift(d),
      report: report(0),
      clock: (us, phase, orderUs) => merge.mark(0, us, phase, orderUs),
    });
    const shard0 = local.monitor;
    const hints0 = local.hints;
    // What the rules will drop for a while goes to every shard; a passed alert's flow to its own shard
    // (flow ids: shard k numbers k, k + N, ...), which raises no more for it.
    // The workers get them in one message per turn of this thread: a message per alert (one hint to every
    // worker, one "accepted" to the alert's own) was ~15 µs of the main thread's ~120 µs per alert.
    const toWorkers = workers.map(() => ({
      hints: [] as FilterHint[],
      accepted: [] as number[],
      twinsPassed: [] as number[],
      twinsDropped: [] as number[],
    }));
    let posting = false;
    // The shards check the sensor's suppression rules before their other hints, in the rules' order:
    // shard 0 reads the list itself, the workers get a copy whenever it changes (first in the first post).
    const rules = main.monitor.o.filter.suppressions;
    hints0.suppressions = rules;
    let rulesChanged = true;
    const post = () => {
      posting = false;
      const suppressions = rulesChanged ? rules.rules() : undefined;
      rulesChanged = false;
      toWorkers.forEach((v, k) => {
        if (
          !v.hints.length && !v.accepted.length && !v.twinsPassed.length && !v.twinsDropped.length &&
          !suppressions
        ) return;
        workers[k].postMessage({ t: "verdicts", ...v, suppressions } satisfies ShardCommand);
        v.hints = [];
        v.accepted = [];
        v.twinsPassed = [];
        v.twinsDropped = [];
      });
    };
    const later = () => {
      if (!posting) (posting = true, queueMicrotask(post));
    };
    rules.onChange = () => (rulesChanged = true, later());
    later();
    twinJudged = (r, passed) => {
      if (r.shard === 0) return shard0.twinVerdict(r.twin, passed);
      toWorkers[r.shard - 1][passed ? "twinsPassed" : "twinsDropped"].push(r.twin);
      later();
    };
    main.monitor.shardHints = {
      hint(h) {
        hints0.add(h);
        for (const v of toWorkers) v.hints.push(h);
        later();
      },
      accepted(flowId) {
        const k = flowId % count;
        if (k === 0) return shard0.markAlerted(flowId);
        toWorkers[k - 1].accepted.push(flowId);
        later();
      },
    };
    // Every shard has its model loaded before the first packet: a ring filling up during a slow start
    // would otherwise block this thread, and with it the messages that say a shard failed. With split
    // fanout every shard has joined the group by then.
    await until("ready");
    const stopOthers = () => {
      for (const w of workers) w.postMessage({ t: "stop" } satisfies ShardCommand);
    };
    if (signal.aborted) stopOthers();
    else signal.addEventListener("abort", stopOthers, { once: true });
    const skip = { packets: 0 };
    let report0: SourceReport;
    /** The router of a replay (not of a split live capture): its clock is the sensor's at the end. */
    let routed: ShardRouter | undefined;
    if (own) {
      // The kernel split packets by the group's size at their arrival: what came before the last shard
      // joined is skipped by every shard alike (a flow's packets could sit in two shards' buffers).
      const fromUs = Date.now() * 1000;
      for (const w of workers) w.postMessage({ t: "go", fromUs } satisfies ShardCommand);
      o.log?.(
        `nadir monitor: capturing on ${share!.iface}${share!.bpf ? ` (filter ${share!.bpf})` : ""}, ` +
          `${count} captures in PACKET_FANOUT group ${capture!.fanoutGroup} (split fanout)`,
      );
      if (signal.aborted) ownStop.abort();
      else signal.addEventListener("abort", () => ownStop.abort(), { once: true });
      report0 = await driveLive(own, liveShard(shard0, fromUs, skip), ownStop.signal, local.metrics);
      if (failure) throw failure;
      own = undefined;
    } else {
      // The sensor's packet clock and the moments work is due on it, replayed from the single monitor's
      // rules (FlowMeter's idle scan, FlowScoringMode's re-scoring): other shards hear of a packet only then.
      const router = routed = new ShardRouter(count, shard0, file?.load ?? MAIN_LOAD);
      let caughtUpSent = -Infinity;
      report0 = await source.run(
        file ? routeTo(router, 0, shard0) : {
          packet(p) {
            const k = router.route(p);
            const clock = router.clock;
            if (k === 0) shard0.packetAt(p, clock);
            else rings[k - 1].packet(p, clock);
            if (router.due) {
              if (k !== 0) shard0.advance(clock, router.metered);
              for (let i = 1; i < count; i++) if (i !== k) rings[i - 1].tick(clock, router.metered);
            }
          },
          // A live capture found its buffer empty: every shard has been given what arrived before `nowUs`
          // (a worker learns it in order, after the packets in its ring). It also moves a quiet worker's
          // watermark, which the other shards' alerts wait for: every 5 ms at most (a ring record each).
          caughtUp(nowUs) {
            shard0.caughtUp(nowUs);
            if (nowUs - caughtUpSent < 5_000) return;
            caughtUpSent = nowUs;
            for (const r of rings) r.caughtUp(nowUs);
          },
        },
        signal,
      );
    }
    signal.removeEventListener("abort", stopOthers);
    if (routed) {
      endOfInput(shard0, routed);
      // Fed over rings, the workers learn the end's clock in order, after their last packets.
      for (const r of rings) r.tick(routed.clock, false);
    }
    for (const r of rings) r.close();
    await shard0.finish();
    merge.mark(0, Infinity);
    await shard0.twinsSettled();
    local.close();
    done[0] = { t: "done", ...local.totals(), kernelDrops: report0.kernelDrops, skipped: skip.packets };
    await until("done");
    const parts = done as ShardDone[];
    const skipped = parts.reduce((s, d) => s + (d.skipped ?? 0), 0);
    if (skipped) o.log?.(`nadir monitor: ${skipped} packet(s) captured before every shard joined, skipped`);
    // Drops: this thread's capture, plus each worker's own with split fanout.
    const kernelDrops = parts.reduce((s, d) => s + (d.kernelDrops ?? 0), 0);
    // What each shard metered: each captured for itself (fanout), or was given (rings), or read the file
    // itself and, stopped early (SIGINT), stopped at its own place (shard 0's router counted only what it
    // routed).
    const shardPackets = parts.map((d) => d.meter.packets);
    return { ...sumTotals(parts), report: { ...report0, kernelDrops }, shardPackets };
  } catch (e) {
    fail(e as Error);
    // This thread's own error when it is the user's (every shard reads the same damaged file) and a
    // worker's came first.
    throw isUserError(e) ? e : failure ?? e;
  } finally {
    // What waits still goes to the rules and sinks (a failed run keeps the alerts its shards raised).
    try {
      merge.flush();
    } catch { /* the run's own error is the one to report */ }
    local?.close();
    own?.close();
  }
}

/**
 * The consumer of a shard that captures its own share of a live interface: packets from before `fromUs`
 * are counted in `skip` and dropped, the rest metered on the shard's packet clock.
 */
export function liveShard(shard: Monitor, fromUs: number, skip: { packets: number }): PacketConsumer {
  let clock = -Infinity;
  return {
    packet(p) {
      if (p.tsUs < fromUs) return void skip.packets++;
      if (p.tsUs > clock) clock = p.tsUs;
      shard.packetAt(p, clock);
    },
    caughtUp: (nowUs) => shard.caughtUp(nowUs),
  };
}

/**
 * The end of the input, for a shard that routes the file itself: its clock moves to the sensor's last
 * packet, where a single monitor's is when it ends every flow left. A shard's own last packet can be
 * earlier, and its flows then ended at an earlier clock: their alerts went to the rules before other
 * shards' ones from the same end, and another alert of a group passed (tcp_ports.pcapng: port 2829's
 * alert instead of 2827's, with --workers 2).
 */
export function endOfInput(shard: Monitor, router: ShardRouter): void {
  shard.advance(router.clock, false);
}

/**
 * The consumer of shard `index` when every shard reads the whole source: its own packets are metered,
 * the others' only advance its clock when work on packet time falls due.
 */
export function routeTo(router: ShardRouter, index: number, shard: Monitor): PacketConsumer {
  return {
    packet(p) {
      const k = router.route(p);
      if (k === index) shard.packetAt(p, router.clock);
      else if (router.due) shard.advance(router.clock, router.metered);
    },
  };
}

/** What a shard reports when it is done. */
type ShardDone = Extract<ShardMessage, { t: "done" }>;

function sumTotals(parts: ShardDone[]): Omit<ShardTotals, "report" | "shardPackets"> {
  const meter = { ...parts[0].meter };
  for (const p of parts.slice(1)) {
    for (const k of Object.keys(meter) as (keyof MeterStats)[]) {
      if (k !== "peakActive") meter[k] += p.meter[k];
    }
  }
  // Each shard's peak came at its own moment: their sum bounds the sensor's peak from above.
  meter.peakActive = parts.reduce((s, p) => s + p.meter.peakActive, 0);
  return {
    meter,
    nonFiniteScores: parts.reduce((s, p) => s + p.nonFiniteScores, 0),
    bufferEvicted: parts.reduce((s, p) => s + p.bufferEvicted, 0),
  };
}

/**
 * Feature names of a shard's alerts, sent once rather than with every alert: they are the model's, one array
 * for every alert until a model update, and cloning them (two arrays of ~60 strings) was a quarter of the
 * cost of posting an alert. The shard calls {@link NamesCache.strip} before posting, the main thread
 * {@link NamesCache.restore} on arrival; each side keeps the last names it saw.
 */
export class NamesCache {
  #names: readonly string[] = [];
  #model?: readonly string[];

  /** Shard side: leaves the names out of `r` when they are the ones last sent; true when it did. */
  strip(r: HandedAlert): boolean {
    if (r.names !== this.#names || r.model?.names !== this.#model) {
      this.#names = r.names;
      this.#model = r.model?.names;
      return false;
    }
    r.names = [];
    if (r.model) r.model = { values: r.model.values };
    return true;
  }

  /** Main side: puts back the names `strip` left out, or remembers the ones that came. */
  restore(r: HandedAlert, same: boolean | undefined): HandedAlert {
    if (same) {
      r.names = this.#names;
      if (r.model) r.model.names = this.#model;
    } else {
      this.#names = r.names;
      this.#model = r.model?.names;
    }
    return r;
  }
}
