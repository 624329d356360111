/**
 * Counters, gauges and histograms rendered in the Prometheus text exposition
 * format (version 0.0.4). Every metric name gets the `nadir_` prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry } from "./metrics.ts";
 * const m = new MetricsRegistry();
 * const c = m.counter("packets_total", "Packets seen");
 * c.inc(3);
 * assert.ok(m.render().includes("nadir_packets_total 3"));
 * ```
 * @module
 */

type Labels = Record<string, string>;

function labelKey(l?: Labels): string {
  if (!l) return "";
  const keys = Object.keys(l);
  // One label (the common case: an alert's severity, a drop's reason) needs no sorting or joining: the key
  // is built per alert and per dropped alert.
  if (keys.length === 1) return `{${keys[0]}="${escapeLabel(l[keys[0]])}"}`;
  if (!keys.length) return "";
  return "{" + keys.sort().map((k) => `${k}="${escapeLabel(l[k])}"`).join(",") + "}";
}

function escapeLabel(v: string): string {
  if (!/[\\\n"]/.test(v)) return v;
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  lines(): string[];
}

/** A monotonically increasing count, optionally split by labels. */
export class Counter implements Metric {
  readonly type = "counter" as const;
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  /** Adds `n` (≥ 0). */
  inc(n = 1, labels?: Labels): void {
    if (n < 0) throw new RangeError(`counter ${this.name} cannot decrease (inc ${n})`);
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + n);
  }
  /** Current value for the label set. */
  get(labels?: Labels): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  /** Sets the value from an external monotonic source (kernel drop counters). */
  setTotal(n: number, labels?: Labels): void {
    const k = labelKey(labels);
    this.#values.set(k, Math.max(this.#values.get(k) ?? 0, n));
  }
  lines(): string[] {
    if (!this.#values.size) return [`${this.name} 0`];
    return [...this.#values].map(([k, v]) => `${this.name}${k} ${fmt(v)}`);
  }
}

/** A value that goes up and down. */
export class Gauge implements Metric {
  readonly type = "gauge" as const;
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  set(v: number, labels?: Labels): void {
    this.#values.set(labelKey(labels), v);
  }
  get(labels?: Labels): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  lines(): string[] {
    if (!this.#values.size) return [`${this.name} 0`];
    return [...this.#values].map(([k, v]) => `${this.name}${k} ${fmt(v)}`);
  }
}

/** Cumulative histogram with fixed upper bounds (seconds for latencies). */
export class Histogram implements Metric {
  readonly type = "histogram" as const;
  readonly buckets: readonly number[];
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;
  /** Raw observations kept for exact quantiles (bounded reservoir). */
  readonly #reservoir: number[] = [];
  readonly #reservoirCap: number;
  constructor(readonly name: string, readonly help: string, buckets: number[], reservoirCap = 100_000) {
    this.buckets = [...buckets].sort((a, b) => a - b);
    this.#counts = new Float64Array(this.buckets.length);
    this.#reservoirCap = reservoirCap;
  }
  /** Called with every observation (a shard relays its own to the sensor's metrics this way). */
  tap?: (v: number) => void;
  observe(v: number): void {
    this.tap?.(v);
    this.#sum += v;
    this.#count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.#counts[i]++;
    if (this.#reservoir.length < this.#reservoirCap) this.#reservoir.push(v);
    else {
      const j = Math.floor(Math.random() * this.#count);
      if (j < this.#reservoirCap) this.#reservoir[j] = v;
    }
  }
  get count(): number {
    return this.#count;
  }
  get sum(): number {
    return this.#sum;
  }
  /** Quantile q ∈ [0,1] of the observations (from the reservoir), NaN when empty. */
  quantile(q: number): number {
    if (!this.#reservoir.length) return NaN;
    const s = [...this.#reservoir].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  }
  lines(): string[] {
    const out: string[] = [];
    this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{le="${fmt(b)}"} ${this.#counts[i]}`));
    out.push(`${this.name}_bucket{le="+Inf"} ${this.#count}`);
    out.push(`${this.name}_sum ${fmt(this.#sum)}`, `${this.name}_count ${this.#count}`);
    return out;
  }
}

/** A set of metrics with one `render()` for GET /metrics. */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric>();
  constructor(readonly prefix = "nadir_") {}

  #add<T extends Metric>(m: T): T {
    const existing = this.#metrics.get(m.name);
    if (existing) {
      if (existing.type !== m.type) {
        throw new Error(`metric ${m.name} already registered as ${existing.type}`);
      }
      return existing as T;
    }
    this.#metrics.set(m.name, m);
    return m;
  }
  counter(name: string, help: string): Counter {
    return this.#add(new Counter(this.prefix + name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(this.prefix + name, help));
  }
  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.#add(new Histogram(this.prefix + name, help, buckets));
  }
  /** Prometheus text format. */
  render(): string {
    const out: string[] = [];
    for (const m of this.#metrics.values()) {
      out.push(
        `# HELP ${m.name} ${m.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`,
        `# TYPE ${m.name} ${m.type}`,
      );
      for (const l of m.lines()) out.push(l); // not push(...): one series per label set, unbounded
    }
    return out.join("\n") + "\n";
  }
}

/** Latency buckets in seconds: 0.1 ms … 10 s. */
export const LATENCY_BUCKETS = [
  0.0001,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** The monitor's standard metric set. */
export class MonitorMetrics {
  readonly registry: MetricsRegistry;
  readonly packets: Counter;
  readonly bytes: Counter;
  readonly kernelDrops: Counter;
  readonly ifDrops: Counter;
  readonly internalDrops: Counter;
  readonly flowsActive: Gauge;
  readonly flowsEnded: Counter;
  readonly flowsEvicted: Counter;
  readonly flowsScored: Counter;
  readonly alerts: Counter;
  readonly alertsSuppressed: Counter;
  readonly alertsTwins: Counter;
  readonly sinkErrors: Counter;
  readonly nonFiniteScores: Counter;
  readonly driftEvents: Counter;
  readonly modelUpdates: Counter;
  readonly modelRollbacks: Counter;
  readonly modelRowsLearned: Counter;
  readonly modelVersion: Gauge;
  readonly sinkSpooled: Gauge;
  readonly sinkWritten: Counter;
  readonly sinkLost: Counter;
  readonly scoringLatency: Histogram;
  readonly alertLatency: Histogram;
  readonly evidenceBytes: Gauge;
  readonly alertsWaiting: Gauge;
  readonly startTime: Gauge;

  constructor(registry = new MetricsRegistry()) {
    this.registry = registry;
    const r = registry;
    this.packets = r.counter("packets_total", "Packets received from the capture source");
    this.bytes = r.counter("bytes_total", "Bytes on the wire received from the capture source");
    this.kernelDrops = r.counter("kernel_drops_total", "Packets dropped by the kernel (libpcap ps_drop)");
    this.ifDrops = r.counter("interface_drops_total", "Packets dropped by the interface (libpcap ps_ifdrop)");
    this.internalDrops = r.counter(
      "internal_drops_total",
      "Packets nadir dropped itself (queue full, undecodable)",
    );
    this.flowsActive = r.gauge("flows_active", "Flows in the flow table");
    this.flowsEnded = r.counter("flows_ended_total", "Flows that ended (idle/active timeout, FIN/RST)");
    this.flowsEvicted = r.counter(
      "flows_evicted_total",
      "Flows evicted early because the flow table was full",
    );
    this.flowsScored = r.counter("flows_scored_total", "Flow (or packet) scores computed");
    this.alerts = r.counter("alerts_total", "Alerts emitted, by severity");
    this.alertsSuppressed = r.counter(
      "alerts_suppressed_total",
      "Alerts dropped by dedup, rate limit or suppression, by reason",
    );
    this.alertsTwins = r.counter(
      "alerts_twins_total",
      "Alerts a shard raised with the rule key and packet clock of one it had just handed over: judged in " +
        "their place, built only if the rules passed them (sharded sensor)",
    );
    this.sinkErrors = r.counter("sink_errors_total", "Failed sink deliveries (retried), by sink");
    this.nonFiniteScores = r.counter(
      "non_finite_scores_total",
      "NaN/Infinity scores from a ready detector; each flow is flagged (reason non_finite_score)",
    );
    this.driftEvents = r.counter(
      "drift_events_total",
      "Drift events (a watched stream's distribution changed), by stream and drift detector",
    );
    this.modelUpdates = r.counter(
      "model_updates_total",
      "Model versions the update policy wrote (refit detector and threshold), by policy",
    );
    this.modelRollbacks = r.counter(
      "model_rollbacks_total",
      "Rollbacks of the live model to an earlier version",
    );
    this.modelRowsLearned = r.counter(
      "model_rows_learned_total",
      "Flows the update policy learned as benign, by source (guard rails: accepted; feedback: false positives)",
    );
    this.modelVersion = r.gauge("model_version", "Number of the model version scoring now (v0003 = 3)");
    this.sinkSpooled = r.gauge("sink_spooled", "Records waiting in a sink's on-disk spool, by sink");
    this.sinkWritten = r.counter(
      "sink_written_total",
      "Records (alerts, drift events) a sink acknowledged (file: line fully written; webhook: spooled), by sink",
    );
    this.sinkLost = r.counter(
      "sink_lost_total",
      "Records (alerts, drift events) a sink could not write (disk full, I/O error), by sink",
    );
    this.scoringLatency = r.histogram(
      "scoring_latency_seconds",
      "Time to score one batch of flows",
      LATENCY_BUCKETS,
    );
    this.alertLatency = r.histogram(
      "alert_latency_seconds",
      "Wall time from a flow's triggering packet entering the pipeline to its alert being written",
      LATENCY_BUCKETS,
    );
    this.evidenceBytes = r.gauge("evidence_buffer_bytes", "Bytes held in the evidence ring buffer");
    this.alertsWaiting = r.gauge(
      "alerts_waiting",
      "Alerts of a sharded sensor's shards waiting for every shard's packet clock to pass them",
    );
    this.startTime = r.gauge("start_time_seconds", "Unix time the process started");
    this.startTime.set(Math.floor(Date.now() / 1000));
  }
}
