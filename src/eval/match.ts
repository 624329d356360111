/**
 * Maps signature-IDS alerts to labelled flows, so Snort/Suricata are scored
 * with the same metrics, on the same flows, as the anomaly detectors.
 *
 * A flow matches an alert when the alert's 5-tuple equals the flow's in either
 * direction (IDSs report the packet's direction, flow tables the initiator's)
 * and — unless `window: false` — the alert time lies in
 * `[flow start − tolerance, flow end + tolerance]`. Flow times are shifted by
 * `tzOffsetMinutes` (flow clock − UTC) before comparing with the alerts' UTC
 * times; alert parsers take their own offsets (see src/ids/).
 *
 * Alerts carry the protocol by name, flows usually by IANA number; both are
 * normalised. An alert whose protocol has no number (Snort's "IP") matches on
 * addresses and ports alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchAlerts } from "./match.ts";
 * const flows = [{ src: "10.0.0.1", srcPort: 5000, dst: "10.0.0.2", dstPort: 21, proto: 6, start: 1000, end: 2000 }];
 * const alerts = [{ src: "10.0.0.2", srcPort: 21, dst: "10.0.0.1", dstPort: 5000, proto: "TCP", ts: 1500 }];
 * assert.equal(matchAlerts(flows, alerts).flagged[0], 1);
 * ```
 * @module
 */

/** What the matcher needs of a flow. Times in ms. */
export interface FlowTuple {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** IANA number (6) or name ("TCP"). */
  proto: number | string;
  start: number;
  end: number;
}

/** What the matcher needs of an alert (a subset of src/ids Alert). */
export interface AlertTuple {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  proto: string | number;
  /** UTC ms. */
  ts: number;
  rule?: string;
}

/** Matcher options. */
export interface MatchOptions {
  /** Slack around the flow's [start, end] in ms (default 1000). */
  toleranceMs?: number;
  /** Offset of the flows' clock from UTC in minutes (flow − UTC); default 0. */
  tzOffsetMinutes?: number;
  /** Require the alert time to fall in the flow's window (default true). `false` = 5-tuple alone. */
  window?: boolean;
  /** ICMP alerts: ignore ports (Snort reports 0, flow meters type/code). Default true. */
  icmpIgnorePorts?: boolean;
}

/** Per-flow outcome. */
export interface MatchResult {
  /** 1 when at least one alert matched the flow. */
  flagged: Uint8Array;
  /** Number of alerts matched per flow. */
  alertCounts: Uint32Array;
  /** Rule ids (distinct) matched per flow; empty array when none. */
  rules: string[][];
  /** Alerts that matched at least one flow. */
  alertsMatched: number;
  alertsTotal: number;
}

const PROTO_NUM: Record<string, number> = {
  ICMP: 1,
  IGMP: 2,
  TCP: 6,
  UDP: 17,
  GRE: 47,
  ESP: 50,
  "IPV6-ICMP": 58,
  ICMPV6: 58,
  SCTP: 132,
};

/** Normalises a protocol to its IANA number, or -1 when unknown ("IP", "any"). */
export function protoNumber(p: number | string): number {
  if (typeof p === "number") return p;
  const t = p.trim().toUpperCase();
  if (/^\d+$/.test(t)) return Number(t);
  return PROTO_NUM[t] ?? -1;
}

function endpointKey(a: string, ap: number, b: string, bp: number): string {
  // direction-free: order the two endpoints
  const x = `${a}|${ap}`, y = `${b}|${bp}`;
  return x < y ? `${x}|${y}` : `${y}|${x}`;
}

function lowerBound(a: Float64Array, v: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Bucket {
  ts: Float64Array;
  idx: Uint32Array;
}

/** Matches alerts to flows; see the module doc for the rule. */
export function matchAlerts(
  flows: ArrayLike<FlowTuple>,
  alerts: ArrayLike<AlertTuple>,
  options: MatchOptions = {},
): MatchResult {
  const tol = options.toleranceMs ?? 1000;
  const shift = (options.tzOffsetMinutes ?? 0) * 60_000;
  const useWindow = options.window ?? true;
  const icmpNoPorts = options.icmpIgnorePorts ?? true;

  // Index alerts by direction-free endpoints, then by protocol number.
  const groups = new Map<string, Map<number, number[]>>();
  for (let i = 0; i < alerts.length; i++) {
    const a = alerts[i];
    const p = protoNumber(a.proto);
    const noPorts = icmpNoPorts && (p === 1 || p === 58);
    const key = noPorts ? endpointKey(a.src, 0, a.dst, 0) : endpointKey(a.src, a.srcPort, a.dst, a.dstPort);
    let byProto = groups.get(key);
    if (!byProto) groups.set(key, byProto = new Map());
    let list = byProto.get(p);
    if (!list) byProto.set(p, list = []);
    list.push(i);
  }
  const buckets = new Map<string, Map<number, Bucket>>();
  for (const [key, byProto] of groups) {
    const m = new Map<number, Bucket>();
    for (const [p, list] of byProto) {
      list.sort((x, y) => alerts[x].ts - alerts[y].ts);
      m.set(p, { ts: Float64Array.from(list, (i) => alerts[i].ts), idx: Uint32Array.from(list) });
    }
    buckets.set(key, m);
  }

  const n = flows.length;
  const flagged = new Uint8Array(n);
  const alertCounts = new Uint32Array(n);
  const rules: string[][] = new Array(n);
  const used = new Uint8Array(alerts.length);
  for (let f = 0; f < n; f++) {
    const fl = flows[f];
    const p = protoNumber(fl.proto);
    const noPorts = icmpNoPorts && (p === 1 || p === 58);
    const key = noPorts
      ? endpointKey(fl.src, 0, fl.dst, 0)
      : endpointKey(fl.src, fl.srcPort, fl.dst, fl.dstPort);
    const byProto = buckets.get(key);
    const hit: string[] = [];
    let count = 0;
    if (byProto) {
      const lo = fl.start - shift - tol, hi = fl.end - shift + tol;
      for (const [ap, b] of byProto) {
        if (ap !== p && ap !== -1 && p !== -1) continue;
        const from = useWindow ? lowerBound(b.ts, lo) : 0;
        for (let k = from; k < b.ts.length && (!useWindow || b.ts[k] <= hi); k++) {
          count++;
          used[b.idx[k]] = 1;
          const r = alerts[b.idx[k]].rule;
          if (r && !hit.includes(r)) hit.push(r);
        }
      }
    }
    alertCounts[f] = count;
    flagged[f] = count > 0 ? 1 : 0;
    rules[f] = hit;
  }
  let alertsMatched = 0;
  for (let i = 0; i < used.length; i++) alertsMatched += used[i];
  return { flagged, alertCounts, rules, alertsMatched, alertsTotal: alerts.length };
}

/** A closed time interval in UTC ms. */
export interface Interval {
  start: number;
  end: number;
  /** Where the interval comes from (e.g. an alert file name). */
  source?: string;
}

/**
 * Time intervals covered by alert files, estimated as each file's first to last
 * alert (± `padMs`). Snort was run on slices of each day's capture; the slices'
 * exact bounds are not published, so the alert span is a conservative estimate.
 */
export function coverageFromAlerts(
  files: { source: string; ts: ArrayLike<number> }[],
  padMs = 0,
): Interval[] {
  const out: Interval[] = [];
  for (const f of files) {
    if (!f.ts.length) continue;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < f.ts.length; i++) {
      lo = Math.min(lo, f.ts[i]);
      hi = Math.max(hi, f.ts[i]);
    }
    out.push({ start: lo - padMs, end: hi + padMs, source: f.source });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** 1 for each flow whose [start, end] (shifted to UTC) overlaps one of `intervals`. */
export function covered(flows: ArrayLike<FlowTuple>, intervals: Interval[], tzOffsetMinutes = 0): Uint8Array {
  const shift = tzOffsetMinutes * 60_000;
  const out = new Uint8Array(flows.length);
  for (let f = 0; f < flows.length; f++) {
    const s = flows[f].start - shift, e = flows[f].end - shift;
    for (const iv of intervals) {
      if (s <= iv.end && e >= iv.start) {
        out[f] = 1;
        break;
      }
    }
  }
  return out;
}
