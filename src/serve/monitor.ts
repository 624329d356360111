/**
 * The live pipeline: packets → flows/features → scores → threshold → alerts.
 *
 * Two scoring modes:
 * - **flow** (a saved, batch-trained model): packets go through the
 *   {@link FlowMeter} with the model's feature set; a flow is scored when it
 *   ends (idle/active timeout, FIN/RST, eviction) and, while it lasts, every
 *   `rescoreIntervalS` seconds of traffic, so a long attack does not wait for
 *   its flow to end. Rows are scored in batches (at most `batchSize` rows or
 *   `maxBatchDelayMs` of waiting) because batch `score` is what batch models
 *   are fast at. A model with a preprocessing transform (every `nadir train`
 *   model) gets each batch of raw flow columns through that transform first.
 * - **packet** (a streaming detector such as KitNET on per-packet features):
 *   every packet is featurised; the first `grace` packets train the detector,
 *   the next `calibration` packets are scored (no learning) to fit the
 *   threshold on benign scores, then every packet is scored and an anomalous
 *   packet raises an alert for its flow.
 *
 * Alerts go through the {@link AlertFilter} (suppression, dedup, per-host
 * rate), get the flow's first packets as an evidence pcap, then reach every
 * sink, the API's store and the dashboard statistics. Latency (packet entering
 * the pipeline → alert written) and scoring time go to the metrics.
 *
 * @module
 */
import type { Packet } from "../capture/packet.ts";
import type { Detector, StreamingDetector } from "../detectors/types.ts";
import { Expiration, type Flow, type FlowFeatureSet, FlowMeter } from "../flows/meter.ts";
import type { FeatureSet } from "../flows/features/types.ts";
import type { Matrix } from "../data/matrix.ts";
import type { Transform } from "../data/preprocess.ts";
import { type Alert, type FeatureDeviation, hostName, makeAlert, protoName } from "./alert.ts";
import { EvidenceBuffer, type EvidenceOptions, type FlowEvidence, pcapBytes } from "./evidence.ts";
import type { MonitorMetrics } from "./metrics.ts";
import type { AlertFilter } from "./rules.ts";
import type { AlertSink } from "./sinks/sink.ts";
import type { AlertRecord, AlertStore, LiveStats } from "./store.ts";
import { join } from "node:path";

/** A batch-trained flow model plus how to build its rows. */
export interface FlowScoring {
  kind: "flow";
  name: string;
  detector: Detector;
  /** Feature set that computes the model's features. */
  featureSet: FeatureSet;
  /**
   * Numeric feature-set columns read from each flow, in order: the model's features, or with a
   * `transform` its numeric input columns. Alerts list and explain these raw values.
   */
  featureNames: readonly string[];
  /** Text feature-set columns a `transform` one-hot encodes (kdd's protocol_type, service, flag). */
  categoricalNames?: readonly string[];
  /**
   * The model's preprocessing (src/data/preprocess.ts, as `nadir train` saved it), applied to each
   * batch of raw rows before scoring; rows it drops (nanPolicy "drop") are not scored.
   */
  transform?: Transform;
  /**
   * Score flows only when they end: the feature set's `row()` has side effects (kdd adds each row to
   * its connection windows), so re-scoring an active flow would count it twice.
   */
  endedOnly?: boolean;
  threshold: number;
  /** Explains one row (the model's benign profile); used when the monitor has no other explainer. */
  explain?: (
    names: readonly string[],
    values: number[],
    score: number,
  ) => FlowExplanation | Promise<FlowExplanation>;
}

/** An explanation of one scored flow. */
export interface FlowExplanation {
  summary: string;
  features: FeatureDeviation[];
}

/** Per-packet features (AfterImage for KitNET). */
export interface PacketFeaturizer {
  readonly names: readonly string[];
  /** Updates the statistics with `p` and writes its feature vector into `out`. */
  update(p: Packet, out: Float64Array): void;
}

/** A streaming detector on per-packet features. */
export interface PacketScoring {
  kind: "packet";
  name: string;
  detector: StreamingDetector;
  featurizer: PacketFeaturizer;
  /** Packets used for learning before scoring starts. */
  grace: number;
  /** Packets after the grace period scored (not learned) to fit the threshold. Default grace/4. */
  calibration?: number;
  /** Fits the threshold from the calibration scores. */
  fitThreshold: (benignScores: Float64Array) => number;
  /** A fixed threshold instead of calibrating (e.g. from a saved model). */
  threshold?: number;
}

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
  /** Flow idle timeout (s). Default 15. */
  idleTimeoutS?: number;
  /** Flow active timeout (s). Default 300. */
  activeTimeoutS?: number;
  /** Re-score flows still active every N seconds (packet time). Default 5; 0 = only when they end. */
  rescoreIntervalS?: number;
  /** Only re-score active flows with at least this many packets. Default 3. */
  rescoreMinPackets?: number;
  /** Flow-table cap. Default 1,000,000. */
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
  explain?: (
    a: Alert,
    names: readonly string[],
    values: number[],
  ) => string | undefined | Promise<string | undefined>;
  /** Called for every alert that passed the filter (tests, bench); `cpuLatencyMs` needs `cpuClock`. */
  onAlert?: (a: Alert, latencyMs: number, cpuLatencyMs?: number) => void;
  /**
   * Process CPU time in ms (bench): when given, each alert's latency is also measured in CPU time
   * of this process, i.e. what the latency would be on an otherwise idle core.
   */
  cpuClock?: () => number;
}

interface PendingRow {
  flow: Flow;
  state: "ended" | "active";
  triggerWall: number;
  tsUs: number;
  triggerCpu?: number;
}

/** Welford statistics per feature, for z-score "top deviating features". */
class FeatureStats {
  readonly n: Float64Array;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  constructor(readonly names: readonly string[]) {
    this.n = new Float64Array(names.length);
    this.mean = new Float64Array(names.length);
    this.m2 = new Float64Array(names.length);
  }
  add(x: ArrayLike<number>): void {
    for (let j = 0; j < this.names.length; j++) {
      const v = x[j];
      if (!Number.isFinite(v)) continue;
      const n = ++this.n[j];
      const d = v - this.mean[j];
      this.mean[j] += d / n;
      this.m2[j] += d * (v - this.mean[j]);
    }
  }
  top(x: ArrayLike<number>, k: number): FeatureDeviation[] {
    const out: FeatureDeviation[] = [];
    for (let j = 0; j < this.names.length; j++) {
      const n = this.n[j];
      const sd = n > 1 ? Math.sqrt(this.m2[j] / (n - 1)) : 0;
      const v = x[j];
      if (n < 2) continue;
      // A feature constant so far that now differs is reported at a capped 1000 σ.
      const z = sd > 1e-12
        ? (v - this.mean[j]) / sd
        : v === this.mean[j]
        ? 0
        : Math.sign(v - this.mean[j]) * 1e3;
      if (Number.isFinite(z) && z !== 0) {
        out.push({ name: this.names[j], value: v, deviation: Math.round(z * 1000) / 1000 });
      }
    }
    out.sort((a, b) => Math.abs(b.deviation) - Math.abs(a.deviation));
    return out.slice(0, k);
  }
}

/** See the module doc. Drive it with {@link Monitor.packet}, {@link Monitor.tick}, {@link Monitor.finish}. */
export class Monitor {
  o: MonitorOptions;
  readonly meter: FlowMeter;
  readonly evidence: EvidenceBuffer;
  readonly #active = new Map<number, Flow>();
  readonly #lastScoredUs = new Map<number, number>();
  readonly #scoredPackets = new Map<number, number>();
  #queue: PendingRow[] = [];
  #queueSince = 0;
  #flushScheduled = false;
  #inflight = new Set<Promise<void>>();
  #currentWall = 0;
  #lastRescoreUs = -Infinity;
  #lastGaugeWall = 0;
  readonly #sensor: string;
  // flow mode
  readonly #flow?: FlowScoring;
  readonly #colIdx?: Int32Array;
  readonly #catIdx?: Int32Array;
  readonly #rescoreS: number;
  // Reused per-batch columns handed to the transform (grown when a batch is larger).
  #tNum = new Map<string, Float64Array>();
  #tCap = 0;
  readonly #rowBuf: (number | string)[] = [];
  readonly #fstats: FeatureStats;
  // packet mode
  readonly #pkt?: PacketScoring;
  #pktSeen = 0;
  #calib: number[] = [];
  #threshold: number;
  readonly #pvec?: Float64Array;
  #lastFlowOfPacket: Flow | undefined;
  #alertedFlows = new Set<number>();
  #nPackets = 0;
  #nBytes = 0;
  #syncedPackets = 0;
  #syncedBytes = 0;
  readonly #talked = new Map<number, Float64Array>();
  #evidenceQueue: { rec: AlertRecord; ev: FlowEvidence }[] = [];
  /** Alerts emitted (after the filter). */
  alertCount = 0;

  constructor(o: MonitorOptions) {
    this.o = o;
    this.#sensor = o.sensor ?? hostName();
    this.evidence = new EvidenceBuffer(o.evidence);
    if (o.evidenceDir) Deno.mkdirSync(o.evidenceDir, { recursive: true });
    const s = o.scoring;
    this.#rescoreS = s.kind === "flow" && s.endedOnly ? 0 : o.rescoreIntervalS ?? 5;
    let inner: FlowFeatureSet | undefined;
    if (s.kind === "flow") {
      this.#flow = s;
      inner = s.featureSet;
      const cols = s.featureSet.columns.map((c) => c.name);
      const colOf = (n: string) => {
        const i = cols.indexOf(n);
        if (i < 0) {
          throw new Error(`model feature "${n}" is not a column of feature set ${s.featureSet.name}`);
        }
        return i;
      };
      this.#colIdx = Int32Array.from(s.featureNames, colOf);
      if (s.transform) {
        const want = new Set(s.transform.inputColumns);
        const have = [...s.featureNames, ...(s.categoricalNames ?? [])];
        const bad = have.filter((n) => !want.has(n));
        if (bad.length || have.length !== want.size) {
          throw new Error(
            `the monitor reads ${have.join(", ")} but the transform's inputs are ${[...want].join(", ")}`,
          );
        }
        this.#catIdx = Int32Array.from(s.categoricalNames ?? [], colOf);
      }
      this.#rowBuf = new Array(cols.length);
      this.#fstats = new FeatureStats(s.featureNames);
      this.#threshold = s.threshold;
      o.stats.threshold = s.threshold;
    } else {
      this.#pkt = s;
      this.#pvec = new Float64Array(s.featurizer.names.length);
      this.#fstats = new FeatureStats(s.featurizer.names);
      this.#threshold = s.threshold ?? NaN;
      o.stats.threshold = s.threshold ?? null;
    }
    o.stats.detector = s.name;
    if (!o.explain && s.kind === "flow" && s.explain) {
      const ex = s.explain;
      this.o = {
        ...o,
        explain: (a, names, values) => {
          const use = (r: FlowExplanation) => {
            if (r.features.length) a.top_features = r.features;
            return r.summary;
          };
          const r = ex(names, values, a.score);
          return r instanceof Promise ? r.then(use) : use(r);
        },
      };
    }
    // Wrap the feature set: track active flows (for periodic re-scoring) and keep evidence packets.
    const keepEvidence = o.evidenceDir !== undefined;
    const wrapper: FlowFeatureSet = {
      name: inner?.name ?? "monitor",
      init: (flow, pkt, prev) => {
        this.#active.set(flow.id, flow);
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
      maxFlows: o.maxFlows ?? 1_000_000,
      features: wrapper,
      onFlow: (f) => this.#flowEnded(f),
    });
  }

  #keep(id: number, p: Packet): void {
    const raw = p.raw;
    if (raw) this.evidence.add(id, p.tsUs, p.wireLen, raw, p.linkType);
  }

  /** The current threshold (NaN while a packet-mode detector is still calibrating). */
  get threshold(): number {
    return this.#threshold;
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
    if (this.#pkt) this.#packetScore(p, this.#wallNow());
    else {
      const ri = this.#rescoreS;
      if (ri > 0 && p.tsUs - this.#lastRescoreUs >= ri * 1e6) {
        if (this.#lastRescoreUs !== -Infinity) this.#rescore(p.tsUs, ri * 1e6, this.#wallNow());
        this.#lastRescoreUs = p.tsUs;
      }
      if (this.#queue.length) {
        if (
          this.#queue.length >= (this.o.batchSize ?? 512) ||
          performance.now() - this.#queueSince >= (this.o.maxBatchDelayMs ?? 5)
        ) {
          this.#scoreQueue();
        }
      }
    }
    if ((this.#nPackets & 4095) === 0) {
      this.#syncCounters();
      const wall = performance.now();
      if (wall - this.#lastGaugeWall > 250) {
        this.#lastGaugeWall = wall;
        this.#gauges();
      }
    }
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

  /** Adds a flow's traffic since it was last accounted to the top-talker table. */
  #accountTalkers(f: Flow, done: boolean): void {
    let prev = this.#talked.get(f.id);
    if (!prev) prev = new Float64Array(4);
    const st = this.o.stats;
    if (f.s2dPackets > prev[1]) st.talker(f.srcIp, f.s2dBytes - prev[0], f.s2dPackets - prev[1]);
    if (f.d2sPackets > prev[3]) st.talker(f.dstIp, f.d2sBytes - prev[2], f.d2sPackets - prev[3]);
    if (done) this.#talked.delete(f.id);
    else {
      prev[0] = f.s2dBytes;
      prev[1] = f.s2dPackets;
      prev[2] = f.d2sBytes;
      prev[3] = f.d2sPackets;
      this.#talked.set(f.id, prev);
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
    if (nowUs !== undefined) this.meter.expire(nowUs);
    for (const f of this.#active.values()) this.#accountTalkers(f, false);
    if (this.#flow) {
      const ri = this.#rescoreS;
      const now = nowUs ?? this.meter.nowUs;
      if (ri > 0 && Number.isFinite(now) && now - this.#lastRescoreUs >= ri * 1e6) {
        this.#rescore(now, ri * 1e6, wall);
        this.#lastRescoreUs = now;
      }
      if (this.#queue.length) this.#scoreQueue();
    }
    this.#gauges();
  }

  /** Ends every flow, scores what is left, waits for scoring and flushes the sinks. */
  async finish(): Promise<void> {
    this.#currentWall = performance.now();
    this.meter.flush();
    this.#syncCounters();
    if (this.#queue.length) this.#scoreQueue();
    while (this.#inflight.size) await Promise.all([...this.#inflight]);
    this.#writeEvidence();
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
    this.#active.delete(f.id);
    this.#accountTalkers(f, true);
    this.o.metrics.flowsEnded.inc();
    this.o.stats.flows(1);
    if (this.#flow) {
      // Score it unless it was already scored with exactly these packets (a rescore just before it ended).
      if (this.#scoredPackets.get(f.id) === f.packets) this.#forget(f);
      else this.#enqueue({ flow: f, state: "ended", triggerWall: this.#wallNow(), tsUs: f.lastUs });
    } else {
      this.#forget(f);
    }
  }

  #forget(f: Flow): void {
    this.#lastScoredUs.delete(f.id);
    this.#scoredPackets.delete(f.id);
    this.#alertedFlows.delete(f.id);
    this.evidence.drop(f.id);
  }

  #enqueue(r: PendingRow): void {
    if (this.o.cpuClock) r.triggerCpu = this.o.cpuClock();
    if (!this.#queue.length) {
      this.#queueSince = performance.now();
      // Score what is waiting before the source next yields to the event loop (an I/O wait or a
      // poll sleep), so no row waits across it; within a synchronous run of packets the size and
      // delay limits in packet() apply.
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => {
          this.#flushScheduled = false;
          if (this.#queue.length) this.#scoreQueue();
        });
      }
    }
    this.#queue.push(r);
  }

  #rescore(nowUs: number, intervalUs: number, wall: number): void {
    const minP = this.o.rescoreMinPackets ?? 3;
    for (const f of this.#active.values()) {
      if (f.packets < minP || f.expirationId !== -1) continue;
      const last = this.#lastScoredUs.get(f.id) ?? f.firstUs;
      if (nowUs - last < intervalUs) continue;
      if (this.#scoredPackets.get(f.id) === f.packets) continue;
      this.#lastScoredUs.set(f.id, nowUs);
      this.#enqueue({ flow: f, state: "active", triggerWall: wall, tsUs: f.lastUs });
    }
  }

  #scoreQueue(): void {
    const s = this.#flow!;
    const rows = this.#queue;
    this.#queue = [];
    const cols = s.featureNames.length;
    const data = new Float64Array(rows.length * cols);
    const idx = this.#colIdx!;
    const buf = this.#rowBuf;
    // Text columns for the transform's categories, taken from the same row (row() runs once per flow).
    const ci = this.#catIdx;
    const catVals = ci?.length ? Array.from(ci, () => new Array<string | null>(rows.length)) : undefined;
    for (let i = 0; i < rows.length; i++) {
      const f = rows[i].flow;
      s.featureSet.row(f, f.state, buf);
      for (let j = 0; j < cols; j++) {
        const v = buf[idx[j]];
        data[i * cols + j] = typeof v === "number" ? v : Number(v);
      }
      if (catVals) {
        for (let k = 0; k < catVals.length; k++) {
          const v = buf[ci![k]];
          catVals[k][i] = v === undefined || v === null ? null : String(v);
        }
      }
      this.#scoredPackets.set(f.id, f.packets);
    }
    const raw: Matrix = { data, rows: rows.length, cols, names: s.featureNames };
    const t0 = performance.now();
    let x = raw;
    let kept: Uint32Array | null = null;
    if (s.transform) {
      try {
        ({ matrix: x, rows: kept } = this.#transform(s, raw, catVals));
      } catch (e) {
        // A value the transform rejects (nanPolicy "error") must not stop the sensor: these rows
        // go unscored, counted as a scoring error, and the message is logged.
        this.o.metrics.sinkErrors.inc(rows.length, { sink: "transform" });
        console.error(
          `nadir monitor: preprocessing failed, ${rows.length} flow(s) unscored: ${(e as Error).message}`,
        );
        for (const r of rows) if (r.state === "ended") this.#forget(r.flow);
        return;
      }
    }
    const out = x.rows ? s.detector.score(x) : new Float64Array(0);
    const done = (sc: Float64Array) => {
      if (!kept) return this.#handleScores(rows, raw, sc, t0);
      const all = new Float64Array(rows.length).fill(NaN);
      for (let r = 0; r < kept.length; r++) all[kept[r]] = sc[r];
      this.#handleScores(rows, raw, all, t0);
    };
    if (out instanceof Promise) {
      const p = out.then(done).finally(() => this.#inflight.delete(p));
      this.#inflight.add(p);
    } else done(out);
  }

  /** Raw batch → model matrix through the saved transform (columns reused across batches). */
  #transform(
    s: FlowScoring,
    raw: Matrix,
    catVals: (string | null)[][] | undefined,
  ): { matrix: Matrix; rows: Uint32Array | null } {
    const n = raw.rows, cols = raw.cols;
    if (n > this.#tCap) {
      this.#tCap = Math.max(n, this.o.batchSize ?? 512);
      for (const name of s.featureNames) this.#tNum.set(name, new Float64Array(this.#tCap));
    }
    const num = new Map<string, Float64Array>();
    s.featureNames.forEach((name, j) => {
      const col = this.#tNum.get(name)!;
      for (let i = 0; i < n; i++) col[i] = raw.data[i * cols + j];
      num.set(name, n === this.#tCap ? col : col.subarray(0, n));
    });
    const cat = new Map<string, (string | null)[]>();
    s.categoricalNames?.forEach((name, k) => cat.set(name, catVals![k]));
    const a = s.transform!.applyColumns(n, num, cat);
    return { matrix: a.matrix, rows: a.rows };
  }

  #handleScores(rows: PendingRow[], x: Matrix, scores: Float64Array, t0: number): void {
    const m = this.o.metrics;
    m.scoringLatency.observe((performance.now() - t0) / 1000);
    m.flowsScored.inc(rows.length);
    const cols = x.cols;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const score = scores[i];
      if (Number.isNaN(score)) {
        // Dropped by the transform (non-finite values under nanPolicy "drop"): nothing to judge.
        if (r.state === "ended") this.#forget(r.flow);
        continue;
      }
      this.o.stats.score(score);
      const vals = x.data.subarray(i * cols, (i + 1) * cols);
      if (score > this.#threshold && !this.#alertedFlows.has(r.flow.id)) {
        this.#raise(r.flow, score, r.tsUs, r.state, r.triggerWall, x.names, vals, r.triggerCpu);
      } else this.#fstats.add(vals);
      if (r.state === "ended") this.#forget(r.flow);
    }
  }

  #packetScore(p: Packet, wall: number): void {
    const s = this.#pkt!;
    if (p.ipVersion === 0) return;
    const v = this.#pvec!;
    s.featurizer.update(p, v);
    this.#pktSeen++;
    const calib = s.calibration ?? Math.max(1, Math.floor(s.grace / 4));
    if (this.#pktSeen <= s.grace) {
      s.detector.learnOne(v);
      this.#fstats.add(v);
      return;
    }
    const t0 = performance.now();
    const score = s.detector.scoreOne(v);
    const m = this.o.metrics;
    m.scoringLatency.observe((performance.now() - t0) / 1000);
    m.flowsScored.inc();
    if (Number.isNaN(score)) return;
    this.o.stats.score(score);
    if (Number.isNaN(this.#threshold)) {
      this.#calib.push(score);
      this.#fstats.add(v);
      if (this.#calib.length >= calib) {
        this.#threshold = s.fitThreshold(Float64Array.from(this.#calib));
        this.o.stats.threshold = this.#threshold;
        this.#calib = [];
      }
      return;
    }
    const f = this.#lastFlowOfPacket;
    if (score > this.#threshold && f) {
      if (!this.#alertedFlows.has(f.id)) this.#raise(f, score, p.tsUs, "active", wall, s.featurizer.names, v);
    } else this.#fstats.add(v);
  }

  #raise(
    f: Flow,
    score: number,
    tsUs: number,
    state: "ended" | "active",
    triggerWall: number,
    names: readonly string[],
    vals: ArrayLike<number>,
    triggerCpu?: number,
  ): void {
    const o = this.o;
    // Filter first (cheap key): suppressed/duplicate alerts never pay for features and formatting.
    const verdict = o.filter.check({
      src_ip: f.srcIp,
      dest_ip: f.dstIp,
      dest_port: f.dstPort,
      proto: protoName(f.protocol),
      detector: o.scoring.name,
    });
    if (verdict !== "pass") {
      o.metrics.alertsSuppressed.inc(1, { reason: verdict });
      return;
    }
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
      threshold: this.#threshold,
      host: this.#sensor,
      startUs: f.firstUs,
      endUs: f.lastUs,
      packets: f.packets,
      bytes: f.bytes,
      state: state === "ended" || f.expirationId !== -1 ? "ended" : "active",
      topFeatures: this.#fstats.top(vals, o.topFeatures ?? 5),
    });
    this.#alertedFlows.add(f.id);
    // Evidence is taken now: the flow may end (and its buffer be dropped) before an async explanation returns.
    const ev = this.evidence.get(f.id);
    const values = Array.from(vals);
    let ex: string | undefined | Promise<string | undefined>;
    try {
      ex = o.explain ? o.explain(a, names, values) : undefined;
    } catch (e) {
      ex = `(explanation failed: ${(e as Error).message})`;
    }
    if (ex instanceof Promise) {
      const p = ex
        .catch((e) => `(explanation failed: ${(e as Error).message})`)
        .then((text) => this.#deliver(a, text, ev, names, values, triggerWall, triggerCpu))
        .finally(() => this.#inflight.delete(p));
      this.#inflight.add(p);
    } else this.#deliver(a, ex, ev, names, values, triggerWall, triggerCpu);
  }

  #deliver(
    a: Alert,
    explanation: string | undefined,
    ev: FlowEvidence | undefined,
    names: readonly string[],
    values: number[],
    triggerWall: number,
    triggerCpu: number | undefined,
  ): void {
    const o = this.o;
    a.explanation = explanation ?? defaultExplanation(a);
    // The evidence pcap is named now but written after the alert line (end of the current burst, see
    // #writeEvidence): writing a file per alert on the critical path tripled alert latency in the
    // bench. The API's store only gets the alert once its pcap is on disk, so a download never 404s;
    // a file/syslog/webhook consumer may see the alert up to a few ms before its pcap.
    const withEvidence = ev !== undefined && o.evidenceDir !== undefined;
    if (withEvidence) a.evidence = `${a.id}.pcap`;
    for (const s of o.sinks) {
      try {
        const r = s.send(a);
        if (r instanceof Promise) r.catch(() => o.metrics.sinkErrors.inc(1, { sink: s.name }));
      } catch (e) {
        o.metrics.sinkErrors.inc(1, { sink: s.name });
        console.error(`nadir monitor: sink ${s.name}: ${(e as Error).message}`);
      }
    }
    const latencyMs = performance.now() - triggerWall;
    o.metrics.alertLatency.observe(latencyMs / 1000);
    o.metrics.alerts.inc(1, { severity: String(a.severity) });
    o.stats.alert(a.src_ip);
    this.alertCount++;
    o.onAlert?.(a, latencyMs, triggerCpu !== undefined && o.cpuClock ? o.cpuClock() - triggerCpu : undefined);
    const rec = { alert: a, featureNames: names, features: values };
    if (!withEvidence) {
      o.store.add(rec);
      return;
    }
    this.#evidenceQueue.push({ rec, ev: ev! });
    if (this.#evidenceQueue.length === 1) queueMicrotask(() => this.#writeEvidence());
  }

  /** Writes queued evidence pcaps, then hands their alerts to the store (API, live stream). */
  #writeEvidence(): void {
    const o = this.o;
    const q = this.#evidenceQueue.splice(0);
    for (const { rec, ev } of q) {
      const name = rec.alert.evidence!;
      try {
        Deno.writeFileSync(join(o.evidenceDir!, name), pcapBytes(ev));
      } catch (e) {
        delete rec.alert.evidence;
        o.metrics.sinkErrors.inc(1, { sink: "evidence" });
        console.error(`nadir monitor: cannot write evidence ${name}: ${(e as Error).message}`);
      }
      o.store.add(rec);
    }
  }
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
