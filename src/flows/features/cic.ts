/**
 * `cic`: the CICFlowMeter feature set with the column names (and per-column
 * meaning) of the improved CIC-IDS2017 CSVs (Engelen et al., WTMC 2021), so a
 * model trained on those CSVs scores nadir's flows. Times are microseconds,
 * "Packet Length" columns are transport payload bytes, as in the CSVs.
 *
 * Flow construction does not copy CICFlowMeter's defects (see
 * docs/features.md): TCP flows end on RST or after FINs from both sides and
 * keep their late packets (no "TCP appendix" flows), rates of zero-duration
 * flows are 0 (never Infinity/NaN), 'Fwd Header Length' appears once, the
 * flag column is 'CWR Flag Count', 'Bwd Init Win Bytes' is the first
 * backward window (not the last).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cicFeatures } from "./cic.ts";
 * assert.equal(cicFeatures.columns[1].name, "Flow ID");
 * ```
 * @module
 */
import type { Packet } from "../../capture/packet.ts";
import { type Flow, TCP } from "../meter.ts";
import { type Column, type FeatureSet, RunningStats } from "./types.ts";

/** CICFlowMeter's activity timeout for the Active/Idle columns (µs). */
export const CIC_ACTIVITY_TIMEOUT_US = 5_000_000;
/** Gap (µs) that ends a bulk. */
const BULK_GAP_US = 1_000_000;

const NAMES: [string, Column["type"], boolean?][] = [
  ["id", "int", true],
  ["Flow ID", "str", true],
  ["Src IP", "str", true],
  ["Src Port", "int", true],
  ["Dst IP", "str", true],
  ["Dst Port", "int", true],
  ["Protocol", "int"],
  ["Timestamp", "str", true],
  ["Flow Duration", "int"],
  ["Total Fwd Packet", "int"],
  ["Total Bwd packets", "int"],
  ["Total Length of Fwd Packet", "int"],
  ["Total Length of Bwd Packet", "int"],
  ["Fwd Packet Length Max", "float"],
  ["Fwd Packet Length Min", "float"],
  ["Fwd Packet Length Mean", "float"],
  ["Fwd Packet Length Std", "float"],
  ["Bwd Packet Length Max", "float"],
  ["Bwd Packet Length Min", "float"],
  ["Bwd Packet Length Mean", "float"],
  ["Bwd Packet Length Std", "float"],
  ["Flow Bytes/s", "float"],
  ["Flow Packets/s", "float"],
  ["Flow IAT Mean", "float"],
  ["Flow IAT Std", "float"],
  ["Flow IAT Max", "float"],
  ["Flow IAT Min", "float"],
  ["Fwd IAT Total", "float"],
  ["Fwd IAT Mean", "float"],
  ["Fwd IAT Std", "float"],
  ["Fwd IAT Max", "float"],
  ["Fwd IAT Min", "float"],
  ["Bwd IAT Total", "float"],
  ["Bwd IAT Mean", "float"],
  ["Bwd IAT Std", "float"],
  ["Bwd IAT Max", "float"],
  ["Bwd IAT Min", "float"],
  ["Fwd PSH Flags", "int"],
  ["Bwd PSH Flags", "int"],
  ["Fwd URG Flags", "int"],
  ["Bwd URG Flags", "int"],
  ["Fwd RST Flags", "int"],
  ["Bwd RST Flags", "int"],
  ["Fwd Header Length", "int"],
  ["Bwd Header Length", "int"],
  ["Fwd Packets/s", "float"],
  ["Bwd Packets/s", "float"],
  ["Packet Length Min", "float"],
  ["Packet Length Max", "float"],
  ["Packet Length Mean", "float"],
  ["Packet Length Std", "float"],
  ["Packet Length Variance", "float"],
  ["FIN Flag Count", "int"],
  ["SYN Flag Count", "int"],
  ["RST Flag Count", "int"],
  ["PSH Flag Count", "int"],
  ["ACK Flag Count", "int"],
  ["URG Flag Count", "int"],
  ["CWR Flag Count", "int"],
  ["ECE Flag Count", "int"],
  ["Down/Up Ratio", "float"],
  ["Average Packet Size", "float"],
  ["Fwd Segment Size Avg", "float"],
  ["Bwd Segment Size Avg", "float"],
  ["Fwd Bytes/Bulk Avg", "float"],
  ["Fwd Packet/Bulk Avg", "float"],
  ["Fwd Bulk Rate Avg", "float"],
  ["Bwd Bytes/Bulk Avg", "float"],
  ["Bwd Packet/Bulk Avg", "float"],
  ["Bwd Bulk Rate Avg", "float"],
  ["Subflow Fwd Packets", "int"],
  ["Subflow Fwd Bytes", "int"],
  ["Subflow Bwd Packets", "int"],
  ["Subflow Bwd Bytes", "int"],
  ["FWD Init Win Bytes", "int"],
  ["Bwd Init Win Bytes", "int"],
  ["Fwd Act Data Pkts", "int"],
  ["Fwd Seg Size Min", "int"],
  ["Active Mean", "float"],
  ["Active Std", "float"],
  ["Active Max", "float"],
  ["Active Min", "float"],
  ["Idle Mean", "float"],
  ["Idle Std", "float"],
  ["Idle Max", "float"],
  ["Idle Min", "float"],
  ["ICMP Code", "int"],
  ["ICMP Type", "int"],
  ["Total TCP Flow Time", "int"],
];

/** Column names of the cic feature set, in output order. */
export const CIC_COLUMNS: readonly string[] = NAMES.map((n) => n[0]);

/** Bulk tracking for one direction (CICFlowMeter's definition: ≥ 4 payload packets, gaps ≤ 1 s). */
class Bulk {
  startHelper = 0;
  lastTs = 0;
  countHelper = 0;
  sizeHelper = 0;
  states = 0;
  packets = 0;
  bytes = 0;
  durationUs = 0;

  add(ts: number, size: number, otherLastTs: number): void {
    if (otherLastTs > this.startHelper) this.startHelper = 0;
    if (size <= 0) return;
    if (this.startHelper === 0 || ts - this.lastTs > BULK_GAP_US) {
      this.startHelper = ts;
      this.lastTs = ts;
      this.countHelper = 1;
      this.sizeHelper = size;
      return;
    }
    this.countHelper++;
    this.sizeHelper += size;
    if (this.countHelper === 4) {
      this.states++;
      this.packets += this.countHelper;
      this.bytes += this.sizeHelper;
      this.durationUs += ts - this.startHelper;
    } else if (this.countHelper > 4) {
      this.packets++;
      this.bytes += size;
      this.durationUs += ts - this.lastTs;
    }
    this.lastTs = ts;
  }
}

/** Per-flow CIC state. */
export class CicState {
  fwdLen = new RunningStats();
  bwdLen = new RunningStats();
  allLen = new RunningStats();
  flowIat = new RunningStats();
  fwdIat = new RunningStats();
  bwdIat = new RunningStats();
  active = new RunningStats();
  idle = new RunningStats();
  fwdBulk = new Bulk();
  bwdBulk = new Bulk();
  lastUs = 0;
  fwdLastUs = 0;
  bwdLastUs = 0;
  startActiveUs = 0;
  endActiveUs = 0;
  fPsh = 0;
  bPsh = 0;
  fUrg = 0;
  bUrg = 0;
  fRst = 0;
  bRst = 0;
  fHdr = 0;
  bHdr = 0;
  /** FIN SYN RST PSH ACK URG CWR ECE counts. */
  flags = new Float64Array(8);
  initWinFwd = 0;
  initWinBwd = -1;
  fwdActData = 0;
  fwdHdrMin = Infinity;
  icmpCode = -1;
  icmpType = -1;
  /** Start of the TCP connection this flow belongs to (µs), for 'Total TCP Flow Time'. */
  connStartUs = 0;
}

const FLAG_ORDER = [TCP.FIN, TCP.SYN, TCP.RST, TCP.PSH, TCP.ACK, TCP.URG, TCP.CWR, TCP.ECE];

/** CICFlowMeter counts transport payload only for TCP and UDP. */
function payloadOf(p: Packet): number {
  return p.protocol === 6 || p.protocol === 17 ? p.payloadLen : 0;
}
function headerOf(p: Packet): number {
  return p.protocol === 6 || p.protocol === 17 ? p.transportHeaderLen : 0;
}

function onPacket(s: CicState, p: Packet, ts: number, dir: 0 | 1): void {
  const pay = payloadOf(p);
  s.allLen.add(pay);
  const fl = p.protocol === 6 ? p.tcpFlags : 0;
  if (fl !== 0) { for (let i = 0; i < 8; i++) if (fl & FLAG_ORDER[i]) s.flags[i]++; }
  if (dir === 0) {
    s.fwdBulk.add(ts, pay, s.bwdBulk.lastTs);
    s.fwdLen.add(pay);
    s.fHdr += headerOf(p);
    const h = headerOf(p);
    if (h < s.fwdHdrMin) s.fwdHdrMin = h;
    if (pay >= 1) s.fwdActData++;
    if (fl & TCP.PSH) s.fPsh++;
    if (fl & TCP.URG) s.fUrg++;
    if (fl & TCP.RST) s.fRst++;
  } else {
    s.bwdBulk.add(ts, pay, s.fwdBulk.lastTs);
    s.bwdLen.add(pay);
    s.bHdr += headerOf(p);
    if (s.initWinBwd < 0 && p.protocol === 6) s.initWinBwd = p.tcpWindow;
    if (fl & TCP.PSH) s.bPsh++;
    if (fl & TCP.URG) s.bUrg++;
    if (fl & TCP.RST) s.bRst++;
  }
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** 'YYYY-MM-DD hh:mm:ss.ffffff' in UTC (the CSVs use the capture site's local time). */
export function cicTimestamp(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  const frac = String(Math.floor(us) % 1_000_000).padStart(6, "0");
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${frac}`;
}

function stats4(r: RunningStats, out: (number | string)[], i: number, order: "mmms" | "msmm"): number {
  // order mmms: max min mean std (packet lengths); msmm: mean std max min (IAT, active, idle)
  if (r.n === 0) {
    out[i++] = 0, out[i++] = 0, out[i++] = 0, out[i++] = 0;
    return i;
  }
  if (order === "mmms") out[i++] = r.max, out[i++] = r.min, out[i++] = r.mean, out[i++] = r.std;
  else out[i++] = r.mean, out[i++] = r.std, out[i++] = r.max, out[i++] = r.min;
  return i;
}

/** The CIC-IDS2017 (improved) feature set. */
export const cicFeatures: FeatureSet<CicState> = {
  name: "cic",
  columns: NAMES.map(([name, type, meta]) => ({ name, type, meta })),
  // CICFlowMeter: 120 s flow timeout counted from the first packet; TCP flows end on teardown.
  meterDefaults: { activeTimeout: 120, idleTimeout: 120, tcpTermination: true },
  init(flow: Flow, p: Packet, prev?: Flow): CicState {
    const s = new CicState();
    const ts = flow.firstUs;
    s.lastUs =
      s.fwdLastUs =
      s.startActiveUs =
      s.endActiveUs =
        ts;
    s.initWinFwd = p.protocol === 6 ? p.tcpWindow : 0;
    if (p.icmpType >= 0) {
      s.icmpType = p.icmpType;
      s.icmpCode = p.icmpCode;
    }
    // A TCP connection cut by a timeout keeps counting from its real start.
    const prevState = prev?.state as CicState | undefined;
    s.connStartUs = p.protocol === 6 && prevState instanceof CicState && (p.tcpFlags & TCP.SYN) === 0 &&
        prev!.closedUs === 0
      ? prevState.connStartUs
      : ts;
    onPacket(s, p, ts, 0);
    return s;
  },
  update(s: CicState, flow: Flow, p: Packet, dir: 0 | 1): void {
    const ts = flow.lastUs;
    // Active/idle periods: a gap longer than the activity timeout closes an active period.
    if (ts - s.endActiveUs > CIC_ACTIVITY_TIMEOUT_US) {
      if (s.endActiveUs - s.startActiveUs > 0) s.active.add(s.endActiveUs - s.startActiveUs);
      s.idle.add(ts - s.endActiveUs);
      s.startActiveUs = s.endActiveUs = ts;
    } else s.endActiveUs = ts;
    s.flowIat.add(ts - s.lastUs);
    s.lastUs = ts;
    if (dir === 0) {
      s.fwdIat.add(ts - s.fwdLastUs);
      s.fwdLastUs = ts;
    } else {
      if (flow.d2sPackets > 1) s.bwdIat.add(ts - s.bwdLastUs);
      s.bwdLastUs = ts;
    }
    onPacket(s, p, ts, dir);
  },
  row(f: Flow, s: CicState, out: (number | string)[]): void {
    const F = f.s2dPackets, B = f.d2sPackets, N = F + B;
    const dur = f.lastUs - f.firstUs;
    const secs = dur / 1e6;
    const proto = f.protocol === 6 || f.protocol === 17 || f.protocol === 1 ? f.protocol : 0;
    let i = 0;
    out[i++] = f.id;
    out[i++] = `${f.srcIp}-${f.dstIp}-${f.srcPort}-${f.dstPort}-${proto}`;
    out[i++] = f.srcIp;
    out[i++] = f.srcPort;
    out[i++] = f.dstIp;
    out[i++] = f.dstPort;
    out[i++] = proto;
    out[i++] = cicTimestamp(f.firstUs);
    out[i++] = dur;
    out[i++] = F;
    out[i++] = B;
    out[i++] = s.fwdLen.sum;
    out[i++] = s.bwdLen.sum;
    i = stats4(s.fwdLen, out, i, "mmms");
    i = stats4(s.bwdLen, out, i, "mmms");
    out[i++] = dur > 0 ? (s.fwdLen.sum + s.bwdLen.sum) / secs : 0;
    out[i++] = dur > 0 ? N / secs : 0;
    i = stats4(s.flowIat, out, i, "msmm");
    out[i++] = s.fwdIat.n ? s.fwdIat.sum : 0;
    i = stats4(s.fwdIat, out, i, "msmm");
    out[i++] = s.bwdIat.n ? s.bwdIat.sum : 0;
    i = stats4(s.bwdIat, out, i, "msmm");
    out[i++] = s.fPsh;
    out[i++] = s.bPsh;
    out[i++] = s.fUrg;
    out[i++] = s.bUrg;
    out[i++] = s.fRst;
    out[i++] = s.bRst;
    out[i++] = s.fHdr;
    out[i++] = s.bHdr;
    out[i++] = dur > 0 ? F / secs : 0;
    out[i++] = dur > 0 ? B / secs : 0;
    const a = s.allLen;
    out[i++] = a.n ? a.min : 0;
    out[i++] = a.n ? a.max : 0;
    out[i++] = a.n ? a.mean : 0;
    out[i++] = a.std;
    out[i++] = a.variance;
    for (let k = 0; k < 8; k++) out[i++] = s.flags[k];
    out[i++] = F > 0 ? B / F : 0;
    out[i++] = N > 0 ? a.sum / N : 0;
    out[i++] = s.fwdLen.n ? s.fwdLen.mean : 0;
    out[i++] = s.bwdLen.n ? s.bwdLen.mean : 0;
    for (const b of [s.fwdBulk, s.bwdBulk]) {
      out[i++] = b.states ? b.bytes / b.states : 0;
      out[i++] = b.states ? b.packets / b.states : 0;
      out[i++] = b.durationUs ? b.bytes / (b.durationUs / 1e6) : 0;
    }
    // As in the CSVs: the subflow count equals the packet count (integer division).
    out[i++] = N ? Math.floor(F / N) : 0;
    out[i++] = N ? Math.floor(s.fwdLen.sum / N) : 0;
    out[i++] = N ? Math.floor(B / N) : 0;
    out[i++] = N ? Math.floor(s.bwdLen.sum / N) : 0;
    out[i++] = s.initWinFwd;
    out[i++] = s.initWinBwd < 0 ? 0 : s.initWinBwd;
    out[i++] = s.fwdActData;
    out[i++] = Number.isFinite(s.fwdHdrMin) ? s.fwdHdrMin : 0;
    i = stats4(s.active, out, i, "msmm");
    i = stats4(s.idle, out, i, "msmm");
    out[i++] = s.icmpCode;
    out[i++] = s.icmpType;
    out[i++] = f.protocol === 6 ? f.lastUs - s.connStartUs : 0;
  },
};
