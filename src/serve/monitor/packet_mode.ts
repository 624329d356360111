/**
 * Packet scoring mode: a streaming detector (such as KitNET) on per-packet
 * features.
 *
 * Every packet is featurised; the first `grace` packets train the detector,
 * the next `calibration` packets are scored (no learning) to fit the threshold
 * on benign scores, then every packet is scored and an anomalous packet raises
 * an alert for its flow. The threshold is fitted here rather than at training
 * time because a streaming detector is trained on the sensor's own traffic: its
 * score scale is only known once it has learnt.
 *
 * This is the per-packet hot path (hundreds of thousands of packets a second):
 * the feature vector is one reused buffer and the work per packet is the
 * featurizer, one detector call and a comparison.
 *
 * @module
 */
import type { Packet } from "../../capture/packet.ts";
import type { StreamingDetector } from "../../detectors/types.ts";
import type { Flow } from "../../flows/meter.ts";
import type { MonitorMetrics } from "../metrics.ts";
import type { LiveStats } from "../store.ts";
import { FeatureStats } from "./feature_stats.ts";
import type { ModeHost, ScoringMode } from "./mode.ts";

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

/** See the module doc. */
export class PacketScoringMode implements ScoringMode {
  readonly baseline: FeatureStats;
  readonly #s: PacketScoring;
  readonly #host: ModeHost;
  readonly #metrics: MonitorMetrics;
  readonly #stats: LiveStats;
  readonly #alerted: ReadonlySet<number>;
  readonly #vec: Float64Array;
  readonly #calibN: number;
  #seen = 0;
  #calib: number[] = [];
  #threshold: number;

  constructor(s: PacketScoring, host: ModeHost) {
    this.#s = s;
    this.#host = host;
    this.#metrics = host.metrics;
    this.#stats = host.stats;
    this.#alerted = host.alerted;
    this.#vec = new Float64Array(s.featurizer.names.length);
    this.#calibN = s.calibration ?? Math.max(1, Math.floor(s.grace / 4));
    this.baseline = new FeatureStats(s.featurizer.names);
    this.#threshold = s.threshold ?? NaN;
    host.stats.threshold = s.threshold ?? null;
  }

  get threshold(): number {
    return this.#threshold;
  }

  packet(p: Packet, f: Flow | undefined, clockUs: number): void {
    const wall = this.#host.wallNow();
    const s = this.#s;
    if (p.ipVersion === 0) return;
    const v = this.#vec;
    s.featurizer.update(p, v);
    this.#seen++;
    if (this.#seen <= s.grace) {
      s.detector.learnOne(v);
      this.baseline.add(v);
      return;
    }
    const t0 = performance.now();
    const score = s.detector.scoreOne(v);
    const m = this.#metrics;
    m.scoringLatency.observe((performance.now() - t0) / 1000);
    m.flowsScored.inc();
    this.#host.observe(score, v, p.tsUs, f?.id ?? -1);
    if (!Number.isFinite(score)) {
      // Past the grace period the detector is ready: a NaN/±Infinity score fails closed. While
      // calibrating there is no threshold to alert against; the score is counted and left out of
      // the calibration set (it would poison the fitted threshold).
      this.#host.nonFinite(score);
      if (f && !Number.isNaN(this.#threshold) && !this.#alerted.has(f.id)) {
        this.#host.raise(f, score, p.tsUs, clockUs, "active", wall, s.featurizer.names, v);
      }
      return;
    }
    this.#stats.score(score);
    if (Number.isNaN(this.#threshold)) {
      this.#calib.push(score);
      this.baseline.add(v);
      if (this.#calib.length >= this.#calibN) {
        this.#threshold = s.fitThreshold(Float64Array.from(this.#calib));
        this.#stats.threshold = this.#threshold;
        this.#calib = [];
      }
      return;
    }
    if (score > this.#threshold && f) {
      if (!this.#alerted.has(f.id)) {
        this.#host.raise(f, score, p.tsUs, clockUs, "active", wall, s.featurizer.names, v);
      }
    } else this.baseline.add(v);
  }

  /** Nothing waits for the clock: every packet is judged as it arrives. */
  tick(): void {}

  flowEnded(f: Flow): void {
    this.#host.forget(f);
  }

  /** Nothing is queued. */
  finish(): void {}
}
