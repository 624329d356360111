/**
 * The alert record nadir emits. Field names follow Suricata's eve.json
 * (`timestamp`, `event_type`, `flow_id`, `src_ip`, `src_port`, `dest_ip`,
 * `dest_port`, `proto`, nested `alert.signature/severity/category`) so that
 * SIEM pipelines built for Suricata ingest nadir alerts unchanged; the
 * anomaly-specific fields (`detector`, `score`, `threshold`, `top_features`,
 * `explanation`) sit beside them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeAlert, severityFor } from "./alert.ts";
 * const a = makeAlert({
 *   tsUs: 1_700_000_000_000_000, flowId: 7, srcIp: "10.0.0.9", srcPort: 4242, destIp: "10.0.0.1",
 *   destPort: 80, protocol: 6, detector: "kitnet", score: 3, threshold: 1,
 * });
 * assert.ok(a.event_type === "alert" && a.proto === "TCP" && a.severity === severityFor(3, 1));
 * ```
 * @module
 */

/** One feature that made the flow stand out. */
export interface FeatureDeviation {
  name: string;
  value: number;
  /**
   * How much it deviates: the feature's share (0–1) of the score when the model has a benign profile
   * (src/detectors/explain.ts), else a z-score against the traffic scored so far.
   */
  deviation: number;
  /** Benign percentile of the value (0–100), when the model has a benign profile. */
  percentile?: number;
  /** The 1st and 99th benign percentiles (where 98 % of benign training values lie), with a profile. */
  benign_range?: [number, number];
}

/** An alert as written to sinks (one JSON line each). */
export interface Alert {
  /** Unique id (sensor-local, sortable): used by the API (/alerts/{id}). */
  id: string;
  /** Time of the flow packet that triggered scoring, UTC ISO 8601 with microseconds. */
  timestamp: string;
  event_type: "alert";
  flow_id: number;
  src_ip: string;
  src_port: number;
  dest_ip: string;
  dest_port: number;
  /** "TCP", "UDP", "ICMP", "IPv6-ICMP" or the protocol number as a string. */
  proto: string;
  /** Sensor name (host name unless configured). */
  host: string;
  /** Detector name ("kitnet", "autoencoder", ...). */
  detector: string;
  score: number;
  threshold: number;
  /** 1 (highest) to 3, as in Suricata. */
  severity: 1 | 2 | 3;
  /** Suricata-compatible nested block. */
  alert: { action: "allowed"; signature: string; category: string; severity: 1 | 2 | 3 };
  /** Flow counters at the time of scoring. */
  flow: { pkts: number; bytes: number; start: string; end: string; state: "ended" | "active" };
  top_features: FeatureDeviation[];
  /** Free-text explanation (from src/detectors/explain.ts when available). */
  explanation?: string;
  /** File name of the evidence pcap (under the alerts directory), when saved. */
  evidence?: string;
  /** Sensor-specific extra fields (application name, SNI, ...): attacker controlled, escape on display. */
  extra?: Record<string, string | number>;
}

/** Inputs for {@link makeAlert}. */
export interface AlertInput {
  tsUs: number;
  flowId: number;
  srcIp: string;
  srcPort: number;
  destIp: string;
  destPort: number;
  protocol: number;
  detector: string;
  score: number;
  threshold: number;
  host?: string;
  startUs?: number;
  endUs?: number;
  packets?: number;
  bytes?: number;
  state?: "ended" | "active";
  topFeatures?: FeatureDeviation[];
  explanation?: string;
  extra?: Record<string, string | number>;
}

const PROTO_NAMES: Record<number, string> = {
  1: "ICMP",
  6: "TCP",
  17: "UDP",
  58: "IPv6-ICMP",
  132: "SCTP",
  47: "GRE",
};

/** eve.json protocol name for an IP protocol number. */
export function protoName(p: number): string {
  return PROTO_NAMES[p] ?? String(p);
}

/** IP protocol number from an eve.json name or a number string; NaN when unknown. */
export function protoNumber(name: string): number {
  for (const [k, v] of Object.entries(PROTO_NAMES)) {
    if (v.toLowerCase() === name.toLowerCase()) return Number(k);
  }
  return /^\d+$/.test(name) ? Number(name) : NaN;
}

/**
 * Severity from how far the score is past the threshold: 1 when the excess is
 * at least 3x the threshold's magnitude, 2 at 1x, else 3. Uses the margin
 * relative to |threshold| so it also works for detectors whose scores are
 * negative (log-likelihoods).
 */
export function severityFor(score: number, threshold: number): 1 | 2 | 3 {
  const scale = Math.abs(threshold) > 1e-12 ? Math.abs(threshold) : 1;
  const excess = (score - threshold) / scale;
  if (excess >= 3) return 1;
  if (excess >= 1) return 2;
  return 3;
}

/** µs since the epoch → ISO 8601 UTC with microseconds (`2024-01-02T03:04:05.123456Z`). */
export function isoMicros(tsUs: number): string {
  const s = Math.floor(tsUs / 1e6);
  // An alert's three times (its own, its flow's start and end) mostly share their second, and so do the
  // alerts of a burst: the date and time part is formatted once per second met. Formatting each time
  // (toISOString, then the µs spliced in) was 3 µs a call, 62 ms of a shard's ~6,500 alerts (a CPU
  // profile of the paced bench run).
  if (s !== isoSecond) {
    const d = new Date(s * 1000);
    if (Number.isNaN(d.getTime())) return new Date(0).toISOString();
    isoSecond = s;
    isoPrefix = d.toISOString().slice(0, -5); // without ".mmmZ" (any year)
  }
  const us = Math.floor(tsUs - s * 1e6);
  return `${isoPrefix}.${
    us < 10 ? "00000" : us < 100 ? "0000" : us < 1000 ? "000" : us < 1e4 ? "00" : us < 1e5 ? "0" : ""
  }${us}Z`;
}
let isoSecond = NaN, isoPrefix = "";

let seq = 0;
/**
 * Start time (base 36) and 30 random bits: the shards of a sensor (worker threads, each with its own copy
 * of this module) and the sensors of a fleet start within the same millisecond, and their ids must
 * still differ (a collector keys alerts by id; evidence pcaps are named by it).
 */
const bootTag = Date.now().toString(36) +
  (crypto.getRandomValues(new Uint32Array(1))[0] >>> 2).toString(36).padStart(6, "0");

/** A new alert id: boot tag + sequence, unique across processes and threads, sortable within one. */
export function newAlertId(): string {
  seq++;
  return `${bootTag}-${seq.toString().padStart(8, "0")}`;
}

/** Builds an {@link Alert} with a fresh id and derived severity. */
export function makeAlert(i: AlertInput): Alert {
  const severity = severityFor(i.score, i.threshold);
  const host = i.host ?? hostName();
  return {
    id: newAlertId(),
    timestamp: isoMicros(i.tsUs),
    event_type: "alert",
    flow_id: i.flowId,
    src_ip: i.srcIp,
    src_port: i.srcPort,
    dest_ip: i.destIp,
    dest_port: i.destPort,
    proto: protoName(i.protocol),
    host,
    detector: i.detector,
    score: i.score,
    threshold: i.threshold,
    severity,
    alert: {
      action: "allowed",
      signature: `nadir ${i.detector} anomaly score ${fmtNum(i.score)} > ${fmtNum(i.threshold)}`,
      category: "Anomalous flow",
      severity,
    },
    flow: {
      pkts: i.packets ?? 0,
      bytes: i.bytes ?? 0,
      start: isoMicros(i.startUs ?? i.tsUs),
      end: isoMicros(i.endUs ?? i.tsUs),
      state: i.state ?? "ended",
    },
    top_features: i.topFeatures ?? [],
    ...(i.explanation !== undefined ? { explanation: i.explanation } : {}),
    ...(i.extra ? { extra: i.extra } : {}),
  };
}

function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4);
}

let cachedHost: string | undefined;
/** This machine's host name ("sensor" when it cannot be read). */
export function hostName(): string {
  if (cachedHost) return cachedHost;
  try {
    cachedHost = Deno.hostname();
  } catch {
    cachedHost = "sensor";
  }
  return cachedHost;
}

/** Serialises one alert as a JSON line (with the trailing newline). */
export function alertLine(a: Alert): string {
  return JSON.stringify(a) + "\n";
}

/** Checks that a parsed JSON value has the alert's required fields; returns a list of problems. */
export function alertProblems(v: unknown): string[] {
  const out: string[] = [];
  if (typeof v !== "object" || v === null) return ["expected an object"];
  const o = v as Record<string, unknown>;
  const str = ["id", "timestamp", "src_ip", "dest_ip", "proto", "detector", "host"];
  const num = ["flow_id", "src_port", "dest_port", "score", "threshold", "severity"];
  for (const k of str) {
    if (typeof o[k] !== "string") out.push(`${k}: expected a string, found ${typeof o[k]}`);
  }
  for (const k of num) {
    if (typeof o[k] !== "number") out.push(`${k}: expected a number, found ${typeof o[k]}`);
  }
  if (o.event_type !== "alert") out.push(`event_type: expected "alert"`);
  return out;
}
