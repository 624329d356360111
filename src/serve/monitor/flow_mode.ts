/**
 * Flow scoring mode: a saved, batch-trained model judges metered flows.
 *
 * Packets go through the flow meter with the model's feature set; a flow is
 * scored when it ends (idle/active timeout, FIN/RST, eviction) and, while it
 * lasts, every `rescoreIntervalS` seconds of traffic, so a long attack does not
 * wait for its flow to end. Rows are scored in batches (at most `batchSize`
 * rows or `maxBatchDelayMs` of waiting) because batch `score` is what batch
 * models are fast at. A model with a preprocessing transform (every `nadir
 * train` model) gets each batch of raw flow columns through that transform
 * first.
 *
 * @module
 */
import type { Packet } from "../../capture/packet.ts";
import type { Matrix } from "../../data/matrix.ts";
import type { Transform } from "../../data/preprocess.ts";
import type { Detector } from "../../detectors/types.ts";
import type { FeatureSet } from "../../flows/features/types.ts";
import { EndPhase, type Flow } from "../../flows/meter.ts";
import type { FeatureDeviation } from "../alert.ts";
import { FeatureStats } from "./feature_stats.ts";
import type { Explainer, FlowCounters, ModeHost, RowOrder, ScoringMode } from "./mode.ts";

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

/** The Monitor options the flow mode reads (same names and defaults as `MonitorOptions`). */
export interface FlowModeOptions {
  /** Re-score flows still active every N seconds (packet time). Default 5; 0 = only when they end. */
  rescoreIntervalS?: number;
  /** Only re-score active flows with at least this many packets. Default 3. */
  rescoreMinPackets?: number;
  /** Rows per scoring batch. Default 512. */
  batchSize?: number;
  /** Longest a row waits for its batch (wall ms). Default 5. */
  maxBatchDelayMs?: number;
  /** Process CPU time in ms; when given, each row records it so alerts can report CPU latency. */
  cpuClock?: () => number;
}

interface PendingRow {
  flow: Flow;
  state: "ended" | "active";
  triggerWall: number;
  tsUs: number;
  /** The packet clock when the row was queued: its alert is judged at it (set by #enqueue). */
  clockUs?: number;
  triggerCpu?: number;
  /** The flow's counters when the row was taken (the alert reports the flow as scored). */
  at?: FlowCounters;
  /** The row's text columns for the transform's categories. */
  cats?: (string | null)[];
  /** Queue order (set by #enqueue). */
  seq?: number;
  /** The meter's pass that ended the flow and, for an ordered pass, the time it orders the flow by (RowOrder). */
  phase?: EndPhase;
  orderUs?: number;
}

/** See the module doc. */
export class FlowScoringMode implements ScoringMode {
  readonly featureSet: FeatureSet;
  readonly baseline: FeatureStats;
  readonly explain?: Explainer;
  #s: FlowScoring;
  readonly #host: ModeHost;
  readonly #colIdx: Int32Array;
  readonly #catIdx?: Int32Array;
  readonly #rescoreS: number;
  readonly #rescoreMinPackets: number;
  readonly #batchSize: number;
  readonly #maxBatchDelayMs: number;
  readonly #cpuClock?: () => number;
  readonly #lastScoredUs = new Map<number, number>();
  readonly #scoredPackets = new Map<number, number>();
  #queue: PendingRow[] = [];
  /** Queue order: the next row's, and the oldest row not yet settled (rows settled out of order wait). */
  #nextSeq = 0;
  #nextSettle = 0;
  readonly #settledAhead = new Set<number>();
  #clockUs = -Infinity;
  /** Rows queued per flow id, and ended flows whose forgetting waits for their last queued row. */
  readonly #pending = new Map<number, number>();
  readonly #endedWaiting = new Set<number>();
  /** The queued rows' values, row-major (grown as needed; handed to the batch when it is scored). */
  #qData = new Float64Array(0);
  #sinceClock = 0;
  #queueSince = 0;
  #flushScheduled = false;
  #lastRescoreUs = -Infinity;
  // Reused per-batch columns handed to the transform (grown when a batch is larger).
  #tNum = new Map<string, Float64Array>();
  #tCap = 0;
  readonly #rowBuf: (number | string)[];

  /** Throws when the model's feature names are not columns of its feature set or its transform's inputs. */
  constructor(s: FlowScoring, host: ModeHost, o: FlowModeOptions = {}) {
    this.#s = s;
    this.#host = host;
    this.#rescoreS = s.endedOnly ? 0 : o.rescoreIntervalS ?? 5;
    this.#rescoreMinPackets = o.rescoreMinPackets ?? 3;
    this.#batchSize = o.batchSize ?? 512;
    this.#maxBatchDelayMs = o.maxBatchDelayMs ?? 5;
    this.#cpuClock = o.cpuClock;
    this.featureSet = s.featureSet;
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
    this.baseline = new FeatureStats(s.featureNames);
    host.stats.threshold = s.threshold;
    if (s.explain) {
      const ex = s.explain;
      // The model explains with numbers; an alert also lists the features it names.
      this.explain = (a, names, values) => {
        const use = (r: FlowExplanation) => {
          if (r.features.length) a.top_features = r.features;
          return r.summary;
        };
        const r = ex(names, values, a.score);
        return r instanceof Promise ? r.then(use) : use(r);
      };
    }
  }

  /** Score above which a flow alerts. */
  get threshold(): number {
    return this.#s.threshold;
  }

  /**
   * Scores with `detector` and `threshold` from the next batch on (a model update or rollback). A batch
   * already being scored finishes with the detector it started with.
   */
  swap(detector: Detector, threshold: number): void {
    this.#s = { ...this.#s, detector, threshold };
    this.#host.stats.threshold = threshold;
  }

  get rescoreUs(): number {
    return this.#rescoreS * 1e6;
  }

  packet(_p: Packet, _f: Flow | undefined, clockUs: number): void {
    this.advance(clockUs);
    // The clock is read every 32nd packet while rows wait, not on every one: a flow ends every ~130
    // packets of the bench capture, so rows waited during most packets, and the reads were 3.5 % of a
    // shard's CPU time (a CPU profile, docs/monitor.md). The delay limit is then late by at most 31
    // packets (~30 µs at 1 M packets/s).
    if (this.#queue.length && (++this.#sinceClock & 31) === 0) {
      if (performance.now() - this.#queueSince >= this.#maxBatchDelayMs) this.#scoreQueue();
    }
  }

  advance(packetUs: number): void {
    // The packet clock never goes back (as the meter's): an out-of-order packet takes the clock's time,
    // so the replay ticker (which passes the meter's clock) cannot find a re-scoring moment packets missed.
    if (packetUs > this.#clockUs) this.#clockUs = packetUs;
    const tsUs = this.#clockUs;
    const ri = this.rescoreUs;
    if (ri > 0 && tsUs - this.#lastRescoreUs >= ri) {
      if (this.#lastRescoreUs !== -Infinity) this.#rescore(tsUs, ri, this.#host.wallNow());
      this.#lastRescoreUs = tsUs;
    }
  }

  tick(nowUs: number, wall: number): void {
    const ri = this.#rescoreS;
    if (ri > 0 && Number.isFinite(nowUs) && nowUs - this.#lastRescoreUs >= ri * 1e6) {
      this.#rescore(nowUs, ri * 1e6, wall);
      this.#lastRescoreUs = nowUs;
    }
    if (this.#queue.length) this.#scoreQueue();
  }

  flowEnded(f: Flow, phase: EndPhase = EndPhase.OTHER, orderUs = 0): void {
    // Score it unless it was already scored with exactly these packets (a rescore just before it ended).
    if (this.#scoredPackets.get(f.id) === f.packets) {
      // Its last row may still wait in the queue: forgetting now would drop the evidence and the
      // "already alerted" mark that row needs. It is forgotten when that row is settled.
      if (this.#pending.has(f.id)) this.#endedWaiting.add(f.id);
      else this.#forget(f);
    } else {
      const wall = this.#host.wallNow();
      this.#enqueue({ flow: f, state: "ended", triggerWall: wall, tsUs: f.lastUs, phase, orderUs });
    }
  }

  finish(): void {
    if (this.#queue.length) this.#scoreQueue();
  }

  /** A queued row was judged (or dropped): the flow is forgotten after its last row once it ended. */
  #settle(r: PendingRow): void {
    this.#host.release(r.clockUs!);
    if (r.seq === this.#nextSettle) {
      this.#nextSettle++;
      while (this.#settledAhead.delete(this.#nextSettle)) this.#nextSettle++;
    } else this.#settledAhead.add(r.seq!);
    const id = r.flow.id;
    const left = (this.#pending.get(id) ?? 1) - 1;
    if (left > 0) {
      this.#pending.set(id, left);
      return;
    }
    this.#pending.delete(id);
    if (r.state === "ended" || this.#endedWaiting.delete(id)) this.#forget(r.flow);
  }

  #forget(f: Flow): void {
    this.#lastScoredUs.delete(f.id);
    this.#scoredPackets.delete(f.id);
    this.#host.forget(f);
  }

  /**
   * Queues a flow's row for the next batch. The row is taken now, not when the batch is scored: its
   * features and the alert's counters are the flow's at this packet, so a replay scores the same rows
   * whatever the batch timing (and a sharded sensor the same as a single one).
   */
  #enqueue(r: PendingRow): void {
    r.seq = this.#nextSeq++;
    if (this.#cpuClock) r.triggerCpu = this.#cpuClock();
    r.clockUs = this.#host.clockUs();
    this.#host.hold(r.clockUs);
    const f = r.flow, s = this.#s, cols = s.featureNames.length, buf = this.#rowBuf, idx = this.#colIdx;
    const at = this.#queue.length * cols;
    if (at + cols > this.#qData.length) {
      const grown = new Float64Array(Math.max(2 * this.#qData.length, at + cols));
      grown.set(this.#qData);
      this.#qData = grown;
    }
    s.featureSet.row(f, f.state, buf);
    const data = this.#qData;
    for (let j = 0; j < cols; j++) {
      const v = buf[idx[j]];
      data[at + j] = typeof v === "number" ? v : Number(v);
    }
    const ci = this.#catIdx;
    if (ci?.length) {
      r.cats = new Array(ci.length);
      for (let k = 0; k < ci.length; k++) {
        const v = buf[ci[k]];
        r.cats[k] = v === undefined || v === null ? null : String(v);
      }
    }
    r.at = { packets: f.packets, bytes: f.bytes, lastUs: f.lastUs };
    this.#pending.set(f.id, (this.#pending.get(f.id) ?? 0) + 1);
    this.#scoredPackets.set(f.id, f.packets);
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
    // A full batch is scored at once: at shutdown (or a burst of evictions) every flow of the table
    // ends in one synchronous pass, and one batch of all of them (537 k rows, their alerts and
    // garbage) was the flood's peak RSS (issue 19).
    if (this.#queue.length >= this.#batchSize) this.#scoreQueue();
  }

  #rescore(nowUs: number, intervalUs: number, wall: number): void {
    const minP = this.#rescoreMinPackets;
    for (const f of this.#host.activeFlows()) {
      if (f.packets < minP || f.expirationId !== -1) continue;
      const last = this.#lastScoredUs.get(f.id) ?? f.firstUs;
      if (nowUs - last < intervalUs) continue;
      if (this.#scoredPackets.get(f.id) === f.packets) continue;
      this.#lastScoredUs.set(f.id, nowUs);
      this.#enqueue({ flow: f, state: "active", triggerWall: wall, tsUs: f.lastUs });
    }
  }

  #scoreQueue(): void {
    const s = this.#s;
    const rows = this.#queue;
    this.#queue = [];
    const cols = s.featureNames.length;
    // The rows were taken at enqueue time; the buffer goes with the batch (scoring may be async).
    const data = this.#qData.subarray(0, rows.length * cols);
    this.#qData = new Float64Array(this.#qData.length);
    const nCat = this.#catIdx?.length ?? 0;
    const catVals = nCat ? Array.from({ length: nCat }, (_, k) => rows.map((r) => r.cats![k])) : undefined;
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
        this.#host.metrics.sinkErrors.inc(rows.length, { sink: "transform" });
        console.error(
          `nadir monitor: preprocessing failed, ${rows.length} flow(s) unscored: ${(e as Error).message}`,
        );
        for (const r of rows) this.#settle(r);
        return;
      }
    }
    const out = x.rows ? s.detector.score(x) : new Float64Array(0);
    const done = (sc: Float64Array) => {
      // The model's own rows go to the update policy before they are judged (src/serve/adaptation.ts).
      if (x.rows) this.#host.scored?.(x, sc);
      if (!kept) return this.#handleScores(rows, raw, sc, null, t0, x);
      const all = new Float64Array(rows.length);
      const dropped = new Uint8Array(rows.length).fill(1);
      const modelRow = new Int32Array(rows.length).fill(-1);
      for (let r = 0; r < kept.length; r++) {
        all[kept[r]] = sc[r];
        dropped[kept[r]] = 0;
        modelRow[kept[r]] = r;
      }
      this.#handleScores(rows, raw, all, dropped, t0, x, modelRow);
    };
    if (out instanceof Promise) this.#host.track(out.then(done));
    else done(out);
  }

  /** Raw batch → model matrix through the saved transform (columns reused across batches). */
  #transform(
    s: FlowScoring,
    raw: Matrix,
    catVals: (string | null)[][] | undefined,
  ): { matrix: Matrix; rows: Uint32Array | null } {
    const n = raw.rows, cols = raw.cols;
    if (n > this.#tCap) {
      this.#tCap = Math.max(n, this.#batchSize);
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

  /**
   * `dropped[i]` = 1: row i was dropped by the transform (not scored); null = every row scored. `model`
   * holds the rows the detector scored; `modelRow[i]` is row i's index in it (identity when absent).
   */
  #handleScores(
    rows: PendingRow[],
    x: Matrix,
    scores: Float64Array,
    dropped: Uint8Array | null,
    t0: number,
    model: Matrix,
    modelRow?: Int32Array,
  ): void {
    const host = this.#host;
    const m = host.metrics;
    m.scoringLatency.observe((performance.now() - t0) / 1000);
    m.flowsScored.inc(rows.length);
    const cols = x.cols;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const score = scores[i];
      if (dropped !== null && dropped[i] === 1) {
        // Dropped by the transform (non-finite values under nanPolicy "drop"): nothing to judge.
        this.#settle(r);
        continue;
      }
      const vals = x.data.subarray(i * cols, (i + 1) * cols);
      host.observe(score, vals, r.tsUs, r.flow.id);
      // Fail closed: a NaN/±Infinity score is flagged, never compared (NaN > t is false: it would pass).
      const finite = Number.isFinite(score);
      if (finite) host.stats.score(score);
      else host.nonFinite(score);
      if ((!finite || score > this.threshold) && !host.alerted.has(r.flow.id)) {
        const m = modelRow ? modelRow[i] : i, mc = model.cols;
        host.raise(
          r.flow,
          score,
          r.tsUs,
          r.clockUs!,
          r.state,
          r.triggerWall,
          x.names,
          vals,
          r.triggerCpu,
          {
            names: model.names,
            values: model.data.subarray(m * mc, (m + 1) * mc),
          },
          r.at,
          rowOrder(r, r.seq === this.#nextSettle),
        );
      } else if (finite) this.baseline.add(vals);
      this.#settle(r);
    }
  }
}

/** Where row `r` stands in the rules' order ({@link RowOrder}); `allBefore`: every earlier row was judged. */
function rowOrder(r: PendingRow, allBefore: boolean): RowOrder {
  const phase = r.phase ?? EndPhase.OTHER;
  const ordered = phase !== EndPhase.OTHER;
  return { phase, us: ordered ? r.orderUs! : r.tsUs, first: ordered && allBefore };
}
