/**
 * The live pipeline: packets → flows/features → scores → threshold → alerts.
 *
 * The {@link Monitor} meters every packet into flows and hands it to a scoring
 * mode, a strategy chosen by {@link MonitorOptions.scoring}:
 * - **flow** (a saved, batch-trained model, {@link FlowScoring}): flows are
 *   scored in batches when they end and periodically while they last
 *   (src/serve/monitor/flow_mode.ts);
 * - **packet** (a streaming detector such as KitNET on per-packet features,
 *   {@link PacketScoring}): it learns during a grace period, calibrates its
 *   threshold, then scores every packet (src/serve/monitor/packet_mode.ts).
 *
 * Whatever the mode, alerts take one path, kept here: the {@link AlertFilter}
 * (suppression, dedup, per-host rate), the flow's first packets as an evidence
 * pcap, then every sink, the API's store and the dashboard statistics. Every
 * scored row also feeds the drift detectors ({@link MonitorOptions.drift},
 * src/serve/drift.ts), whose events take the same sinks, the store's drift list
 * and `nadir_drift_events_total`. Latency
 * (packet entering the pipeline → alert written) and scoring time go to the
 * metrics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Monitor } from "./monitor.ts";
 * import { MonitorMetrics } from "./metrics.ts";
 * import { AlertFilter } from "./rules.ts";
 * import { AlertStore, LiveStats } from "./store.ts";
 * import type { StreamingDetector } from "../detectors/types.ts";
 *
 * // A toy streaming detector whose score is the packet's size, with a fixed threshold.
 * const detector = { learnOne() {}, scoreOne: (x: ArrayLike<number>) => x[0] } as unknown as StreamingDetector;
 * const filter = new AlertFilter({ dedupWindowS: 0, perHostPerMinute: 0 });
 * const monitor = new Monitor({
 *   scoring: {
 *     kind: "packet", name: "size", detector, grace: 1, threshold: 1000, fitThreshold: () => 1000,
 *     featurizer: { names: ["wire_len"], update: (p, out) => void (out[0] = p.wireLen) },
 *   },
 *   metrics: new MonitorMetrics(), store: new AlertStore({ filter }), stats: new LiveStats(), filter,
 *   sinks: [], sensor: "example",
 * });
 * const p = { tsUs: 0, wireLen: 60, capLen: 60, ifIndex: 0, linkType: 1, vlanId: 0, ipVersion: 4 as const,
 *   srcIp: "10.0.0.1", dstIp: "10.0.0.2", protocol: 17, srcPort: 1234, dstPort: 53, ipLen: 46, ttl: 64,
 *   transportHeaderLen: 8, payloadLen: 18, tcpFlags: 0, tcpWindow: 0, icmpType: -1, icmpCode: -1,
 *   fragment: false, laterFragment: false, tunnelId: 0 };
 * monitor.packet(p); // learnt (grace)
 * monitor.packet({ ...p, tsUs: 1000 }); // scored 60: below the threshold
 * monitor.packet({ ...p, tsUs: 2000, wireLen: 1500 }); // scored 1500: alerts for the flow
 * await monitor.finish();
 * assert.equal(monitor.alertCount, 1);
 * ```
 * @module
 */
import type { Packet } from "../capture/packet.ts";
import type { Matrix } from "../data/matrix.ts";
import type { Detector } from "../detectors/types.ts";
import { EndPhase, Expiration, Flow, type FlowFeatureSet, FlowMeter } from "../flows/meter.ts";
import { type Alert, hostName, makeAlert, protoName } from "./alert.ts";
import { EvidenceBuffer, type EvidenceOptions, EvidenceWriter } from "./evidence.ts";
import type { MonitorMetrics } from "./metrics.ts";
import {
  type AlertFilter,
  type AlertKey,
  alertKeyString,
  type FilterHint,
  type FilterVerdict,
} from "./rules.ts";
import type { AlertSink } from "./sinks/sink.ts";
import type { AlertStore, LiveStats } from "./store.ts";
import { type DriftOptions, type DriftRecord, DriftWatch } from "./drift.ts";
import type { EveRecord } from "./eve.ts";
import { type FlowScoring, FlowScoringMode } from "./monitor/flow_mode.ts";
import { type PacketScoring, PacketScoringMode } from "./monitor/packet_mode.ts";
import type { Explainer, FlowCounters, ModeHost, RowOrder, ScoringMode } from "./monitor/mode.ts";

export type { FlowExplanation, FlowScoring } from "./monitor/flow_mode.ts";
export type { PacketFeaturizer, PacketScoring } from "./monitor/packet_mode.ts";

/** Options for {@link Monitor}. */
export interface MonitorOptions {
  scoring: FlowScoring | PacketScoring;
  metrics: MonitorMetrics;
  store: AlertStore;
  stats: LiveStats;
  filter: AlertFilter;
  sinks: AlertSink[];
  /** Directory for evidence pcaps (none written when absent). */
  evidenceDir?: string;
  evidence?: EvidenceOptions;
  /**
   * Writes the pcaps into `evidenceDir` and counts them (the sink stage's, so the run summary reports
   * lost pcaps). Default: one of its own, counted in the `evidence` sink metrics.
   */
  evidenceWriter?: EvidenceWriter;
  /** Log line sink (stderr by default). */
  log?: (line: string) => void;
  /** Flow idle timeout (s). Default 15. */
  idleTimeoutS?: number;
  /** Flow active timeout (s). Default 300. */
  activeTimeoutS?: number;
  /** Re-score flows still active every N seconds (packet time). Default 5; 0 = only when they end. */
  rescoreIntervalS?: number;
  /** Only re-score active flows with at least this many packets. Default 3. */
  rescoreMinPackets?: number;
  /** Flow-table cap. Default {@link defaultMaxFlows}() (from the machine's memory). */
  maxFlows?: number;
  /** Rows per scoring batch. Default 512. */
  batchSize?: number;
  /** Longest a row waits for its batch (wall ms). Default 5. */
  maxBatchDelayMs?: number;
  /** Sensor name in alerts. Default the host name. */
  sensor?: string;
  /** How many top deviating features an alert lists. Default 5. */
  topFeatures?: number;
  /**
   * Explanation builder (src/detectors/explain.ts for models saved with a benign profile); may be
   * async, the alert is then written when it resolves. Default: {@link defaultExplanation}.
   */
  explain?: Explainer;
  /**
   * Drift detection on the score stream and chosen feature columns (src/serve/drift.ts); off when
   * absent. The config's default (`drift` section, src/serve/pipeline/meter.ts) turns it on for the
   * score stream.
   */
  drift?: DriftOptions;
  /** Called for every drift event (tests; the update policy's on-drift trigger). */
  onDrift?: (d: DriftRecord) => void;
  /**
   * Every batch a flow model scored, in the model's columns, with its scores (the update policy,
   * src/serve/adaptation.ts). Flow mode only.
   */
  onScored?: (x: Matrix, scores: ArrayLike<number>) => void;
  /** Called for every alert that passed the filter (tests, bench); `cpuLatencyMs` needs `cpuClock`. */
  onAlert?: (a: Alert, latencyMs: number, cpuLatencyMs?: number) => void;
  /**
   * Process CPU time in ms (bench): when given, each alert's latency is also measured in CPU time
   * of this process, i.e. what the latency would be on an otherwise idle core.
   */
  cpuClock?: () => number;
  /**
   * Shard mode (src/serve/shard.ts): this monitor meters and scores a share of the flows; the rules,
   * evidence writer, sinks and store are the main monitor's, reached through this link.
   */
  shard?: ShardLink;
  /** Flow ids of this monitor's meter (see MeterOptions.ids); shards take disjoint ones. */
  flowIds?: { first: number; step: number };
}

/** How a shard reaches the main monitor (src/serve/shard.ts carries these over worker messages). */
export interface ShardLink {
  /**
   * What the main monitor's rules told this shard ahead (src/serve/rules.ts `FilterHint`): a verdict other
   * than pass means the alert is dropped here, unbuilt, and counted with {@link ShardLink.dropped}.
   */
  precheck(key: AlertKey, clockMs: number): FilterVerdict | undefined;
  /** An alert dropped by {@link ShardLink.precheck}, for the main monitor's counts. */
  dropped(verdict: FilterVerdict): void;
  /** A raised alert, built and explained, with its evidence: the main monitor judges it ({@link Monitor.acceptAlert}). */
  alert(r: HandedAlert): void;
  /** A flow this shard raised alerts for was forgotten ({@link Monitor.acceptEnded}). */
  ended(flowId: number): void;
  /**
   * The alert just handed over came with every alert this shard raised before it, and none it raises later
   * comes before it in the rules' order (`HandedAlert`'s `clockUs`, `phase`, `orderUs`): the main monitor may
   * judge other shards' alerts up to it (src/serve/shard_merge.ts).
   */
  mark?(clockUs: number, phase: EndPhase, orderUs: number): void;
  /**
   * A "twin": an alert with the rule key and packet clock of one this shard handed over just before. The
   * rules judge it in its place like any alert, but it is built (evidence, explanation) only if they pass
   * it ({@link Monitor.twinVerdict}), which they almost never do: the alert before it passed (a twin is then
   * a duplicate) or was dropped for a reason the twin shares. On the bench capture 1,615 of 8,491 alerts
   * the shards handed were twins, each built and copied for nothing.
   */
  twin?(r: Omit<HandedTwin, "shard">): void;
}

/** See {@link ShardLink.twin}. */
export interface HandedTwin {
  /** The shard's number for it, quoted in the verdict. */
  twin: number;
  /** The shard that raised it. */
  shard: number;
  key: AlertKey;
  clockUs: number;
  phase: EndPhase;
  orderUs: number;
  flowId: number;
}

/** A raised alert passed from a shard to the monitor that owns the filter, sinks and store. */
export interface HandedAlert {
  /** The alert, explanation included. */
  alert: Alert;
  /** What the rules judge it by. */
  key: AlertKey;
  /** The sensor's packet clock (µs) when the alert was triggered: what the rules judge it at. */
  clockUs: number;
  /**
   * What orders alerts triggered at one clock: the meter's pass that ended the flow, then the time that pass
   * orders flows by (`RowOrder` in src/serve/monitor/mode.ts).
   */
  phase: EndPhase;
  orderUs: number;
  /** The flow's first frames as a pcap (undefined: none were kept). */
  pcap?: Uint8Array;
  names: readonly string[];
  values: number[];
  model?: { names?: readonly string[]; values: Float64Array };
  /** When the triggering packet entered the pipeline: ms since the Unix epoch (performance.timeOrigin based). */
  triggerEpochMs: number;
  /** A twin the rules passed, built after their verdict ({@link ShardLink.twin}): delivered, not judged again. */
  judged?: true;
}

/** See the module doc. Drive it with {@link Monitor.packet}, {@link Monitor.tick}, {@link Monitor.finish}. */
export class Monitor {
  o: MonitorOptions;
  readonly meter: FlowMeter;
  readonly evidence: EvidenceBuffer;
  /** Writes the evidence pcaps (undefined without `evidenceDir`). */
  readonly evidenceWriter?: EvidenceWriter;
  readonly #mode: ScoringMode;
  #inflight = new Set<Promise<void>>();
  #currentWall = 0;
  #lastGaugeWall = 0;
  readonly #sensor: string;
  #lastFlowOfPacket: Flow | undefined;
  #alertedFlows = new Set<number>();
  /** Shard mode: flows this monitor raised alerts for (the main monitor is told when they are forgotten). */
  #handed = new Set<number>();
  /** Main monitor of shards: flows whose alert passed the rules (later ones are not raised again). */
  #acceptedFlows = new Set<number>();
  #nPackets = 0;
  /** Shard mode: the rule keys of the alerts handed over at packet clock {@link #twinClock}. */
  readonly #twinKeys = new Set<string>();
  #twinClock = NaN;
  #twinSeq = 0;
  /** Twins waiting for the rules' verdict: how to build each, and the flow whose evidence it needs. */
  readonly #twins = new Map<number, { flowId: number; build: () => void }>();
  /** Called once no twin waits for its verdict ({@link Monitor.twinsSettled}). */
  #twinsDone: (() => void)[] = [];
  /** Flows with twins waiting (how many): their evidence stays until the last verdict. */
  readonly #pinned = new Map<number, number>();
  /** Pinned flows forgotten meanwhile: their evidence goes with their last twin's verdict. */
  readonly #forgottenPinned = new Set<number>();
  #nBytes = 0;
  #syncedPackets = 0;
  #syncedBytes = 0;
  /** Alerts emitted (after the filter). */
  alertCount = 0;
  /** Alerts raised (a score past the threshold, or non-finite) before the filter. */
  alertsRaised = 0;
  /** Raised alerts the filter dropped, by reason (suppressed, duplicate, rate_limited). */
  readonly alertsDropped: Record<string, number> = {};
  /** Scores that were NaN or ±Infinity after the detector was ready (each one judged anomalous). */
  nonFiniteScores = 0;
  /** Drift events emitted (each went to the sinks and the store). */
  driftEvents = 0;
  /** The drift detectors (undefined when drift detection is off). */
  readonly drift?: DriftWatch;
  #nonFiniteLogged = 0;
  #nonFiniteLogWall = -Infinity;

  /** Throws when a flow model's features do not match its feature set or transform. */
  constructor(o: MonitorOptions) {
    this.o = o;
    this.#sensor = o.sensor ?? hostName();
    this.evidence = new EvidenceBuffer(o.evidence);
    if (o.evidenceDir && !o.shard) {
      Deno.mkdirSync(o.evidenceDir, { recursive: true });
      this.evidenceWriter = o.evidenceWriter ?? new EvidenceWriter(o.evidenceDir, {
        onWritten: () => o.metrics.sinkWritten.inc(1, { sink: "evidence" }),
        onLost: () => {
          o.metrics.sinkErrors.inc(1, { sink: "evidence" });
          o.metrics.sinkLost.inc(1, { sink: "evidence" });
        },
        log: o.log ?? ((l) => console.error(l)),
      });
    }
    const host: ModeHost = {
      activeFlows: () => this.meter.flows(),
      alerted: this.#alertedFlows,
      metrics: o.metrics,
      stats: o.stats,
      wallNow: () => this.#currentWall ||= performance.now(),
      clockUs: () => this.meter.nowUs,
      // Only a shard has a watermark to hold back: a single monitor skips the bookkeeping per row.
      hold: o.shard ? (c) => this.#hold(c) : () => {},
      release: o.shard ? (c) => this.#release(c) : () => {},
      raise: (f, score, tsUs, clockUs, state, triggerWall, names, vals, triggerCpu, modelRow, at, order) =>
        this.#raise(
          f,
          score,
          tsUs,
          clockUs,
          state,
          triggerWall,
          names,
          vals,
          triggerCpu,
          modelRow,
          at,
          order,
        ),
      forget: (f) => this.#forget(f),
      nonFinite: (score) => this.#nonFinite(score),
      observe: (score, vals, tsUs, flowId) => this.drift?.observe(score, vals, tsUs, flowId),
      track: (work) => this.#track(work),
      ...(o.onScored ? { scored: o.onScored } : {}),
    };
    const s = o.scoring;
    this.#mode = s.kind === "flow" ? new FlowScoringMode(s, host, o) : new PacketScoringMode(s, host);
    if (o.drift) {
      this.drift = new DriftWatch(o.drift, this.#mode.baseline.names, {
        host: this.#sensor,
        anomalyDetector: s.name,
        emit: (d) => this.#driftEvent(d),
      });
    }
    o.stats.detector = s.name;
    if (!o.explain && this.#mode.explain) this.o = { ...o, explain: this.#mode.explain };
    // Wrap the feature set: track active flows (for periodic re-scoring) and keep evidence packets.
    const inner: FlowFeatureSet | undefined = this.#mode.featureSet;
    const keepEvidence = o.evidenceDir !== undefined;
    const wrapper: FlowFeatureSet = {
      name: inner?.name ?? "monitor",
      init: (flow, pkt, prev) => {
        this.#lastFlowOfPacket = flow;
        if (keepEvidence) this.#keep(flow.id, pkt);
        return inner ? inner.init(flow, pkt, prev) : undefined;
      },
      update: (state, flow, pkt, dir) => {
        this.#lastFlowOfPacket = flow;
        if (keepEvidence && this.evidence.wants(flow.id)) this.#keep(flow.id, pkt);
        if (inner) inner.update(state, flow, pkt, dir);
      },
    };
    this.meter = new FlowMeter({
      idleTimeout: o.idleTimeoutS ?? 15,
      activeTimeout: o.activeTimeoutS ?? 300,
      tcpTermination: true,
      tcpLinger: 1,
      maxFlows: o.maxFlows ?? defaultMaxFlows(),
      features: wrapper,
      onFlow: (f) => this.#flowEnded(f),
      ids: o.flowIds,
      flowClass: TalkerFlow,
    });
  }

  #keep(id: number, p: Packet): void {
    const raw = p.raw;
    if (raw) this.evidence.add(id, p.tsUs, p.wireLen, raw, p.linkType);
  }

  /** The current threshold (NaN while a packet-mode detector is still calibrating). */
  get threshold(): number {
    return this.#mode.threshold;
  }

  /**
   * Replaces a flow model's detector and threshold (a model update or rollback) from the next batch
   * on; resolves once every batch scored before the swap has settled, so the caller may then
   * dispose the old detector.
   */
  async swapModel(detector: Detector, threshold: number): Promise<void> {
    if (!(this.#mode instanceof FlowScoringMode)) {
      throw new Error("swapModel: only a flow model (--model) can be replaced while the monitor runs");
    }
    this.#mode.swap(detector, threshold);
    await Promise.allSettled([...this.#inflight]);
  }

  #caughtUpUs: number | undefined = undefined;

  /**
   * The live source has delivered every packet that arrived before `nowUs` (it found the kernel's buffer
   * empty). From the first call on, {@link tick} moves the clock no further than the latest such time. A
   * sensor behind the wire (a burst, a busy machine) then times its flows by their packets: a wall-clock
   * tick past packets still waiting in the buffer made them take the clock's time when read (the meter
   * keeps time in order), squeezing their flows' durations and gaps, and ran the TCP linger and idle
   * timeouts on the wall clock instead of the packets (test/serve/monitor_test.ts, "behind the wire").
   */
  caughtUp(nowUs: number): void {
    if (this.#caughtUpUs === undefined || nowUs > this.#caughtUpUs) this.#caughtUpUs = nowUs;
  }

  /** Feeds one packet (the packet object may be reused by the caller after return). */
  packet(p: Packet): void {
    this.#nPackets++;
    this.#nBytes += p.wireLen;
    // The entry time is taken lazily (first flow that ends or alerts during this packet): a clock
    // read per packet is a measurable share of the per-packet budget.
    this.#currentWall = 0;
    this.#lastFlowOfPacket = undefined;
    this.meter.add(p);
    this.#mode.packet(p, this.#lastFlowOfPacket, this.meter.nowUs);
    if ((this.#nPackets & 4095) === 0) {
      this.#syncCounters();
      const wall = performance.now();
      if (wall - this.#lastGaugeWall > 250) {
        this.#lastGaugeWall = wall;
        this.#gauges();
      }
    }
  }

  /**
   * A packet of a shard (src/serve/shard.ts) with the sensor's packet clock `clockUs` (the latest time of
   * every shard's packets so far): this meter's clock catches up first, so the packet is timed, and flows
   * lingering after a TCP end are closed, as in a single monitor.
   */
  packetAt(p: Packet, clockUs: number): void {
    this.#currentWall = 0;
    this.meter.pass(clockUs, false);
    this.packet(p);
  }

  /** Packet time between re-scorings of active flows (0: none). */
  get rescoreUs(): number {
    return this.#mode.rescoreUs ?? 0;
  }

  /**
   * A packet another shard meters went by at `tsUs` when the meter's idle scan or a re-scoring was due
   * (src/serve/shard.ts; `metered`: see FlowMeter.pass): this monitor's flows end and are re-scored at the
   * same packet as in a single monitor.
   */
  advance(tsUs: number, metered: boolean): void {
    this.#currentWall = 0;
    this.meter.pass(tsUs, metered);
    this.#mode.advance?.(tsUs);
  }

  #wallNow(): number {
    return this.#currentWall ||= performance.now();
  }

  /** Moves the locally counted packets/bytes into the metrics and dashboard stats. */
  #syncCounters(): void {
    const dp = this.#nPackets - this.#syncedPackets;
    if (dp > 0) {
      this.o.metrics.packets.inc(dp);
      this.o.metrics.bytes.inc(this.#nBytes - this.#syncedBytes);
      this.o.stats.packets(dp);
      this.#syncedPackets = this.#nPackets;
      this.#syncedBytes = this.#nBytes;
    }
  }

  /**
   * Adds a flow's traffic since it was last accounted to the top-talker table. What was accounted
   * lives on the flow record ({@link TalkerFlow}): a Map of Float64Array per active flow cost ~280 bytes
   * a flow, a quarter of the table's memory under a flow flood.
   */
  #accountTalkers(flow: Flow): void {
    const f = flow as TalkerFlow; // every flow of this monitor's meter (flowClass)
    const st = this.o.stats;
    if (f.s2dPackets > f.acctS2dPackets) {
      st.talker(f.srcIp, f.s2dBytes - f.acctS2dBytes, f.s2dPackets - f.acctS2dPackets);
      f.acctS2dPackets = f.s2dPackets;
      f.acctS2dBytes = f.s2dBytes;
    }
    if (f.d2sPackets > f.acctD2sPackets) {
      st.talker(f.dstIp, f.d2sBytes - f.acctD2sBytes, f.d2sPackets - f.acctD2sPackets);
      f.acctD2sPackets = f.d2sPackets;
      f.acctD2sBytes = f.d2sBytes;
    }
  }

  /**
   * Periodic work on the wall clock (call about once a second in live capture): expires idle flows
   * at `nowUs` (live: the wall clock in µs), re-scores long flows and scores a waiting batch.
   */
  tick(nowUs?: number): void {
    const wall = performance.now();
    this.#currentWall = wall;
    this.#syncCounters();
    // A live source that says how far it has delivered (caughtUp) bounds the wall clock: packets still
    // waiting in the kernel's buffer must not find the clock past them.
    if (nowUs !== undefined && this.#caughtUpUs !== undefined) nowUs = Math.min(nowUs, this.#caughtUpUs);
    if (nowUs !== undefined) this.meter.expire(nowUs);
    for (const f of this.meter.flows()) this.#accountTalkers(f);
    this.#mode.tick(nowUs ?? this.meter.nowUs, wall);
    this.#gauges();
  }

  /** Ends every flow, scores what is left, waits for scoring and flushes the sinks. */
  async finish(): Promise<void> {
    this.#currentWall = performance.now();
    this.meter.flush();
    this.#syncCounters();
    this.#mode.finish();
    while (this.#inflight.size) await Promise.all([...this.#inflight]);
    this.#gauges();
    await Promise.all(this.o.sinks.map((s) => s.flush()));
  }

  #gauges(): void {
    const m = this.o.metrics;
    const st = this.meter.stats;
    m.flowsActive.set(st.active);
    m.flowsEvicted.setTotal(st.evicted);
    m.evidenceBytes.set(this.evidence.bytes);
    for (const s of this.o.sinks) if (s.pending) m.sinkSpooled.set(s.pending(), { sink: s.name });
  }

  #flowEnded(f: Flow): void {
    this.#accountTalkers(f);
    this.o.metrics.flowsEnded.inc();
    this.o.stats.flows(1);
    this.#mode.flowEnded(f, this.meter.endPhase, this.meter.endOrderUs);
  }

  /** Shared per-flow state of an ended flow; the mode drops its own first. */
  #forget(f: Flow): void {
    this.#alertedFlows.delete(f.id);
    if (this.#handed.delete(f.id)) this.o.shard?.ended(f.id);
    if (this.#pinned.has(f.id)) this.#forgottenPinned.add(f.id);
    else this.evidence.drop(f.id);
  }

  /**
   * Counts a non-finite score (metrics, run summary) and logs it once per burst: the first one, then
   * at most one line per 10 s saying how many more came, so a detector gone NaN on every packet
   * cannot flood the log.
   */
  #nonFinite(score: number): void {
    this.nonFiniteScores++;
    this.o.metrics.nonFiniteScores.inc();
    const wall = performance.now();
    if (wall - this.#nonFiniteLogWall < 10_000) return;
    const more = this.nonFiniteScores - 1 - this.#nonFiniteLogged;
    console.error(
      `nadir monitor: detector ${this.o.scoring.name} returned a non-finite score (${score}); ` +
        `such flows are flagged (reason non_finite_score)` +
        (more > 0 ? `; ${more} more since the last report` : ""),
    );
    this.#nonFiniteLogged = this.nonFiniteScores;
    this.#nonFiniteLogWall = wall;
  }

  /** A drift event: counted, sent to every sink (like an alert, without filter or evidence), kept for the API. */
  #driftEvent(d: DriftRecord): void {
    const o = this.o;
    this.driftEvents++;
    o.metrics.driftEvents.inc(1, { stream: d.stream, detector: d.detector });
    this.#send(d);
    o.store.addDrift(d);
    o.onDrift?.(d);
  }

  /** Hands a record to every sink; a sink that throws or rejects is counted and never stops the others. */
  #send(r: EveRecord): void {
    const o = this.o;
    for (const s of o.sinks) {
      try {
        const p = s.send(r);
        if (p instanceof Promise) p.catch(() => o.metrics.sinkErrors.inc(1, { sink: s.name }));
      } catch (e) {
        o.metrics.sinkErrors.inc(1, { sink: s.name });
        console.error(`nadir monitor: sink ${s.name}: ${(e as Error).message}`);
      }
    }
  }

  /** Packet clocks (µs) of rows and alerts still on their way to the rules, with their counts. */
  readonly #holds = new Map<number, number>();

  #hold(clockUs: number): void {
    this.#holds.set(clockUs, (this.#holds.get(clockUs) ?? 0) + 1);
  }

  #release(clockUs: number): void {
    const n = (this.#holds.get(clockUs) ?? 1) - 1;
    if (n > 0) this.#holds.set(clockUs, n);
    else this.#holds.delete(clockUs);
  }

  /**
   * Shard mode: every alert this monitor will still hand over has a packet clock at or after this (µs).
   * The meter's clock never goes back, and a live source that caught up has delivered every packet
   * captured before its mark; rows queued for scoring and alerts being explained hold it back. The main
   * monitor judges the shards' alerts in packet-clock order up to the lowest watermark (src/serve/shard.ts).
   */
  watermarkUs(): number {
    let w = this.meter.nowUs;
    if (this.#caughtUpUs !== undefined && this.#caughtUpUs > w) w = this.#caughtUpUs;
    for (const c of this.#holds.keys()) if (c < w) w = c;
    return w;
  }

  /** Keeps `work` in the set {@link Monitor.finish} waits for until it settles. */
  #track(work: Promise<void>): void {
    const p = work.finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  #raise(
    f: Flow,
    score: number,
    tsUs: number,
    clockUs: number,
    state: "ended" | "active",
    triggerWall: number,
    names: readonly string[],
    vals: ArrayLike<number>,
    triggerCpu?: number,
    modelRow?: { names?: readonly string[]; values: ArrayLike<number> },
    at?: FlowCounters,
    order?: RowOrder,
  ): void {
    const o = this.o;
    this.alertsRaised++;
    // Fail closed: a NaN/±Infinity score (a detector's numerics broke, or an input drove it there)
    // is an alert, never a pass. The alert carries a finite stand-in score (JSON has no NaN, and the
    // alerts file must stay loadable) and says why in extra.reason.
    let extra: Record<string, string> | undefined;
    if (!Number.isFinite(score)) {
      extra = { reason: "non_finite_score", raw_score: String(score) };
      score = Number.MAX_VALUE;
    }
    const key: AlertKey = {
      src_ip: f.srcIp,
      dest_ip: f.dstIp,
      dest_port: f.dstPort,
      proto: protoName(f.protocol),
      detector: o.scoring.name,
    };
    // What the alert needs, taken when it is built: the flow may end (and its evidence be dropped) before
    // the rules answer (shard mode) or an async explanation returns.
    // The pcap is built only where it will be written (here, or by the monitor a shard hands to), of the
    // packets the row was taken at (`at`): the flow's frames are its first packets, and more may have come
    // by the time its batch is scored, depending on the batch's timing.
    const pcapOf = () =>
      this.evidenceWriter || (o.shard && o.evidenceDir) ? this.evidence.pcap(f.id, at?.packets) : undefined;
    const take = (withPcap = true) => {
      return {
        topFeatures: this.#mode.baseline.top(vals, o.topFeatures ?? 5),
        pcap: withPcap ? pcapOf() : undefined,
        values: Array.from(vals),
        model: modelRow && { names: modelRow.names, values: Float64Array.from(modelRow.values) },
      };
    };
    const clockMs = clockUs / 1000;
    const emit = (t: ReturnType<typeof take>, shardKey?: AlertKey, judged = false) => {
      const a = makeAlert({
        tsUs,
        flowId: f.id,
        srcIp: f.srcIp,
        srcPort: f.srcPort,
        destIp: f.dstIp,
        destPort: f.dstPort,
        protocol: f.protocol,
        detector: o.scoring.name,
        score,
        threshold: this.#mode.threshold,
        host: this.#sensor,
        startUs: f.firstUs,
        endUs: at?.lastUs ?? f.lastUs,
        packets: at?.packets ?? f.packets,
        bytes: at?.bytes ?? f.bytes,
        // A row taken while the flow was active reports it active, even if it ended before its batch.
        state: state === "ended" || (at === undefined && f.expirationId !== -1) ? "ended" : "active",
        topFeatures: t.topFeatures,
        ...(extra ? { extra } : {}),
      });
      this.#explainAndSend(
        a,
        t.pcap,
        names,
        t.values,
        triggerWall,
        triggerCpu,
        t.model,
        shardKey &&
          { key: shardKey, clockUs, phase: order?.phase ?? EndPhase.OTHER, orderUs: order?.us ?? tsUs },
        order?.first === true,
        judged,
      );
    };
    const shard = o.shard;
    if (shard) {
      // The rules belong to the main monitor, which sees every shard's alerts and judges them in
      // packet-clock order (src/serve/shard_merge.ts); asking first cost a round trip per alert (measured:
      // 13 ms median, 40 ms p99 of the packet → alert latency). What the rules said ahead (dedup windows,
      // hosts over their rate) drops an alert here, unbuilt, as the main monitor would.
      const ahead = shard.precheck(key, clockMs);
      if (ahead) return shard.dropped(ahead);
      this.#handed.add(f.id);
      if (shard.twin && this.#isTwin(key, clockUs)) {
        // What the row gives is taken now (top features, values); its pcap only if the rules pass it.
        const t = take(false);
        const phase = order?.phase ?? EndPhase.OTHER, orderUs = order?.us ?? tsUs;
        const id = ++this.#twinSeq;
        this.o.metrics.alertsTwins.inc();
        this.#pinned.set(f.id, (this.#pinned.get(f.id) ?? 0) + 1);
        const build = () => {
          t.pcap = pcapOf();
          emit(t, key, true);
        };
        this.#twins.set(id, { flowId: f.id, build });
        shard.twin({ twin: id, key, clockUs, phase, orderUs, flowId: f.id });
        if (order?.first === true) shard.mark?.(clockUs, phase, orderUs);
        return;
      }
      emit(take(), key);
      return;
    }
    // Filter first (cheap key): suppressed/duplicate alerts never pay for features and formatting.
    if (!this.#passes(key, clockMs)) return;
    // A flow raises until one of its alerts passes the rules.
    this.#alertedFlows.add(f.id);
    emit(take());
  }

  /**
   * Shard mode: whether an alert with `key` at packet clock `clockUs` is a twin ({@link ShardLink.twin}).
   * Only while no explanation is pending: an alert explained asynchronously is handed over later, and a twin
   * must not reach the rules before the alert it follows.
   */
  #isTwin(key: AlertKey, clockUs: number): boolean {
    if (this.#explaining !== 0) return false;
    if (clockUs !== this.#twinClock) {
      this.#twinClock = clockUs;
      this.#twinKeys.clear();
    }
    const k = alertKeyString(key);
    if (this.#twinKeys.has(k)) return true;
    this.#twinKeys.add(k);
    return false;
  }

  /** Shard mode: the rules' verdict on twin `id` ({@link ShardLink.twin}); built and handed over if it passed. */
  twinVerdict(id: number, passed: boolean): void {
    const t = this.#twins.get(id);
    if (t === undefined) return;
    this.#twins.delete(id);
    if (passed) t.build();
    const left = this.#pinned.get(t.flowId)! - 1;
    if (left > 0) this.#pinned.set(t.flowId, left);
    else {
      this.#pinned.delete(t.flowId);
      if (this.#forgottenPinned.delete(t.flowId)) this.evidence.drop(t.flowId);
    }
    if (this.#twins.size === 0) { for (const done of this.#twinsDone.splice(0)) done(); }
  }

  /**
   * Shard mode: resolves once every twin handed over has its verdict (a passed one built and handed
   * over too). A shard waits for it at the end after telling the rules it will hand over nothing more
   * (its place past everything): the verdicts need the rules to reach the twins, which needs that place.
   */
  twinsSettled(): Promise<void> {
    return this.#twins.size === 0 ? Promise.resolve() : new Promise((r) => this.#twinsDone.push(r));
  }

  /** Explains `a` (maybe asynchronously), then delivers it here or hands it to the main monitor. */
  #explainAndSend(
    a: Alert,
    pcap: Uint8Array | undefined,
    names: readonly string[],
    values: number[],
    triggerWall: number,
    triggerCpu: number | undefined,
    model: { names?: readonly string[]; values: Float64Array } | undefined,
    /** Shard mode: what the main monitor's rules judge the alert by, and in which order. */
    handed?: Pick<HandedAlert, "key" | "clockUs" | "phase" | "orderUs">,
    /** `RowOrder.first` (src/serve/monitor/mode.ts). */
    first = false,
    /** A twin the rules already passed ({@link HandedAlert.judged}): it holds no place in their order. */
    judged = false,
  ): void {
    const o = this.o;
    let ex: string | undefined | Promise<string | undefined>;
    try {
      ex = o.explain ? o.explain(a, names, values) : undefined;
    } catch (e) {
      ex = `(explanation failed: ${(e as Error).message})`;
    }
    const then = (text: string | undefined) => {
      if (!o.shard) return this.#deliver(a, text, pcap, names, values, triggerWall, triggerCpu, model);
      a.explanation = text ?? defaultExplanation(a);
      o.shard.alert({
        alert: a,
        ...handed!,
        pcap,
        names,
        values,
        model,
        triggerEpochMs: performance.timeOrigin + triggerWall,
        ...(judged ? { judged: true as const } : {}),
      });
    };
    if (ex instanceof Promise) {
      // A shard's alert holds its watermark back until it is handed over.
      const held = judged ? undefined : handed?.clockUs;
      if (held !== undefined) this.#hold(held);
      this.#explaining++;
      const sent = ex.catch((e) => `(explanation failed: ${(e as Error).message})`).then(then);
      this.#track(
        sent.finally(() => {
          this.#explaining--;
          if (held !== undefined) this.#release(held);
        }),
      );
    } else {
      then(ex);
      // Handed over in the rules' order with everything before it: the main monitor may judge other shards'
      // alerts up to this one now, not once this shard is done with the packet clock (a burst of alerts at
      // one clock otherwise all waited for the last of them; see src/serve/shard_merge.ts).
      if (first && !judged && this.#explaining === 0 && handed) {
        o.shard?.mark?.(handed.clockUs, handed.phase, handed.orderUs);
      }
    }
  }

  /** Alerts whose explanation is still being written (asynchronously). */
  #explaining = 0;

  /** The rules' verdict on a raised alert at packet clock `clockMs`; a dropped one is counted by reason. */
  #passes(key: AlertKey, clockMs: number): boolean {
    const verdict = this.o.filter.check(key, clockMs, Date.now());
    if (verdict === "pass") return true;
    this.#countDropped(verdict, 1);
    return false;
  }

  /**
   * Main monitor of shards: told what the rules will drop for a while (to every shard), and which flow's
   * alert passed (to the shard of that flow, which raises no more for it). Set by src/serve/shard.ts.
   */
  shardHints?: { hint(h: FilterHint): void; accepted(flowId: number): void };

  /**
   * The rules' verdict on an alert a shard raised ({@link MonitorOptions.shard}) at packet clock `clockMs`.
   * An alert of a flow whose earlier alert passed is not counted as raised (a single monitor would not
   * have raised it).
   */
  judge(key: AlertKey, flowId: number, clockMs: number): boolean {
    if (this.#acceptedFlows.has(flowId)) return false;
    this.alertsRaised++;
    const wallMs = Date.now();
    const verdict = this.o.filter.check(key, clockMs, wallMs);
    const hint = this.shardHints && this.o.filter.hint(key, verdict, wallMs);
    if (hint) this.shardHints!.hint(hint);
    if (verdict !== "pass") {
      this.#countDropped(verdict, 1);
      return false;
    }
    this.#acceptedFlows.add(flowId);
    this.shardHints?.accepted(flowId);
    return true;
  }

  /** Alerts a shard dropped on the rules' hints ({@link ShardLink.precheck}): raised, and dropped by reason. */
  acceptDropped(counts: Partial<Record<FilterVerdict, number>>): void {
    for (const [v, n] of Object.entries(counts) as [FilterVerdict, number][]) {
      if (!n) continue;
      this.alertsRaised += n;
      this.#countDropped(v, n);
    }
  }

  #countDropped(verdict: FilterVerdict, n: number): void {
    this.o.metrics.alertsSuppressed.inc(n, { reason: verdict });
    this.alertsDropped[verdict] = (this.alertsDropped[verdict] ?? 0) + n;
  }

  /** Shard mode: the main monitor says an alert of flow `flowId` passed; the flow raises no more. */
  markAlerted(flowId: number): void {
    if (this.#handed.has(flowId)) this.#alertedFlows.add(flowId);
  }

  /** The rules' verdict on a twin a shard handed over ({@link ShardLink.twin}); true when it passed. */
  judgeTwin(r: HandedTwin): boolean {
    return this.judge(r.key, r.flowId, r.clockUs / 1000);
  }

  /** Takes an alert a shard raised: judged by the rules, then evidence pcap, every sink, the store. */
  acceptAlert(r: HandedAlert): void {
    if (!r.judged && !this.judge(r.key, r.alert.flow_id, r.clockUs / 1000)) return;
    const triggerWall = r.triggerEpochMs - performance.timeOrigin;
    this.#deliver(r.alert, r.alert.explanation, r.pcap, r.names, r.values, triggerWall, undefined, r.model);
  }

  /** A shard forgot a flow it handed alerts for (see {@link ShardLink.ended}). */
  acceptEnded(flowId: number): void {
    this.#acceptedFlows.delete(flowId);
  }

  /** Takes a drift event a shard's detectors raised: sinks, store and counts, as one raised here. */
  acceptDrift(d: DriftRecord): void {
    this.#driftEvent(d);
  }

  #deliver(
    a: Alert,
    explanation: string | undefined,
    pcap: Uint8Array | undefined,
    names: readonly string[],
    values: number[],
    triggerWall: number,
    triggerCpu: number | undefined,
    model?: { names?: readonly string[]; values: Float64Array },
  ): void {
    const o = this.o;
    a.explanation = explanation ?? defaultExplanation(a);
    // The evidence pcap is written before the alert goes to any sink. Deferring it to the end of
    // the burst (as before) kept the first p99 low, but the evidence disk budget (a sink,
    // src/serve/evidence.ts) looks for every named pcap not yet on disk on each alert: with the
    // writes deferred, a burst of n alerts cost O(n²) failing stat() calls — 10 ms per alert, the
    // 3–5 k packets/s collapse of a flood where every flow alerts (issue 19). Written first, each
    // alert's pcap is found at once; the cost is one small file write per alert: 0.2–0.3 ms when it
    // creates the file, ~0.04 ms through a file created ahead of time (`nadir monitor` keeps a pool of
    // them, src/serve/spare_files.ts). A failed write leaves no file and no `evidence` field, and is
    // counted (EvidenceWriter).
    const w = this.evidenceWriter;
    if (w !== undefined) {
      if (pcap === undefined) w.missing++;
      else if (w.write(`${a.id}.pcap`, pcap)) a.evidence = `${a.id}.pcap`;
    }
    this.#send(a);
    const latencyMs = performance.now() - triggerWall;
    o.metrics.alertLatency.observe(latencyMs / 1000);
    o.metrics.alerts.inc(1, { severity: String(a.severity) });
    o.stats.alert(a.src_ip);
    this.alertCount++;
    o.onAlert?.(a, latencyMs, triggerCpu !== undefined && o.cpuClock ? o.cpuClock() - triggerCpu : undefined);
    o.store.add({
      alert: a,
      featureNames: names,
      features: values,
      ...(model ? { modelFeatureNames: model.names, modelFeatures: model.values } : {}),
    });
  }
}

/**
 * The monitor's flow record: a {@link Flow} with the counters its top-talker table has already taken
 * (it adds only the growth since). `nadir flows` and the other meters do without them.
 */
export class TalkerFlow extends Flow {
  acctS2dPackets = 0;
  acctS2dBytes = 0;
  acctD2sPackets = 0;
  acctD2sBytes = 0;
}

/**
 * Heap bytes one active single-packet flow costs the monitor's flow table (flow record, `basic`
 * feature state, table entries, talker counters): 251, the growth of the used heap after full
 * collections between 100 k and 200 k flows of the SYN flood (bench/_monitor_heap.ts, docs/monitor.md;
 * 552 before the flow record shrank on 2026-12-06, 320 and 288 after its first steps, before the
 * monitor's own map of active flows went). Kept at 310, a margin the full flood's peak was measured with
 * (948 MiB at 288 bytes a flow, 874 MiB at 251). Its evidence frames are bounded apart, by the
 * evidence buffer's own cap (`evidence.max_bytes`, 64 MiB), which counts their bookkeeping too (~528
 * bytes a one-frame flow).
 */
export const BYTES_PER_FLOW = 310;

/**
 * Heap the default flow-table cap allows at most: {@link BYTES_PER_FLOW} × cap ≤ this. 160 MiB keeps the full
 * 1.5 M-flow flood, every flow alerting, under issue 19's 1 GiB of peak RSS with room to spare: 192 MiB at
 * 340 bytes a flow (592,137 flows) peaked at 996 MiB, 192 MiB at 500 bytes (402,653) at 906 MiB.
 */
export const FLOW_TABLE_BUDGET = 160 * 2 ** 20;

/**
 * The default flow-table cap: {@link FLOW_TABLE_BUDGET} (or a 16th of the machine's memory when that
 * is less) at {@link BYTES_PER_FLOW}, at least 10,000: 541,200 flows. A fixed budget, not a share of
 * the machine: V8 lets garbage grow to a multiple of the live heap before it collects, so a 1 M-flow
 * table (~1 GB live with its evidence) peaked at 4.1 GB RSS under a flood (issue 19). A flood beyond
 * the cap evicts the least recently active flows (scored, counted in `flows_evicted_total` and the run
 * summary) instead of growing; `flows.max_flows` / `--max-flows` sets it outright.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultMaxFlows } from "./monitor.ts";
 * assert.equal(defaultMaxFlows(16 * 2 ** 30), 541_200);
 * assert.equal(defaultMaxFlows(2 * 2 ** 30), 432_960);
 * assert.equal(defaultMaxFlows(0), 10_000);
 * ```
 */
export function defaultMaxFlows(totalBytes?: number): number {
  let total = totalBytes;
  if (total === undefined) {
    try {
      total = Deno.systemMemoryInfo().total;
    } catch {
      total = 16 * 2 ** 30; // not permitted to ask: assume a 16 GiB machine
    }
  }
  return Math.max(10_000, Math.floor(Math.min(FLOW_TABLE_BUDGET, total / 16) / BYTES_PER_FLOW));
}

/** A plain-words explanation from the top deviating features (used when no explainer is configured). */
export function defaultExplanation(a: Alert): string {
  const ratio = Math.abs(a.threshold) > 1e-12 ? a.score / a.threshold : NaN;
  const head =
    `${a.detector} scored this ${a.proto} flow ${a.src_ip}:${a.src_port} → ${a.dest_ip}:${a.dest_port} at ` +
    `${a.score.toPrecision(4)}${
      Number.isFinite(ratio) ? ` (${ratio.toFixed(1)}× the threshold ${a.threshold.toPrecision(4)})` : ""
    }.`;
  if (!a.top_features.length) return head;
  const parts = a.top_features.slice(0, 3).map((f) =>
    `${f.name} = ${Number.isInteger(f.value) ? f.value : f.value.toPrecision(4)} (${
      f.deviation >= 0 ? "+" : ""
    }${f.deviation.toFixed(1)} σ from the traffic seen so far)`
  );
  return `${head} Most unusual: ${parts.join("; ")}.`;
}

export { Expiration };
