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
import { rowInto } from "./array_writer.ts";
import type { Column, FeatureSet, RowWriter } from "./types.ts";

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

// The per-flow state is one packed array of doubles (see CicState). Running statistics (Welford) take 6
// slots: count, mean, M2, min, max, sum.
const N = 0, MEAN = 1, M2 = 2, MIN = 3, MAX = 4, SUM = 5;
const FWD_LEN = 0,
  BWD_LEN = 6,
  ALL_LEN = 12,
  FLOW_IAT = 18,
  FWD_IAT = 24,
  BWD_IAT = 30,
  ACTIVE = 36,
  IDLE = 42;
// A direction's bulk (CICFlowMeter's definition: ≥ 4 payload packets, gaps ≤ 1 s) takes 8: the current
// bulk's start, last time, packets and bytes, then the totals of the bulks: count, packets, bytes, µs.
const B_START = 0, B_LAST = 1, B_COUNT = 2, B_SIZE = 3, B_STATES = 4, B_PACKETS = 5, B_BYTES = 6, B_US = 7;
const FWD_BULK = 48, BWD_BULK = 56;
const LAST = 64, FWD_LAST = 65, BWD_LAST = 66, START_ACTIVE = 67, END_ACTIVE = 68;
const F_PSH = 69, B_PSH = 70, F_URG = 71, B_URG = 72, F_RST = 73, B_RST = 74, F_HDR = 75, B_HDR = 76;
/** FIN SYN RST PSH ACK URG CWR ECE counts. */
const FLAGS = 77;
const INIT_WIN_FWD = 85,
  INIT_WIN_BWD = 86,
  FWD_ACT_DATA = 87,
  FWD_HDR_MIN = 88,
  ICMP_CODE = 89,
  ICMP_TYPE = 90;
/** Start of the TCP connection this flow belongs to (µs), for 'Total TCP Flow Time'. */
const CONN_START = 91;
const SLOTS = 92;

/**
 * Per-flow CIC state: 92 doubles in one plain array (736 bytes of values). It was an object holding eight
 * running-statistics objects, two bulk trackers and a Float64Array: eleven allocations a flow, and every
 * double field boxed on the heap besides. A packed array of doubles is one allocation with the values
 * inline (see {@link BasicState} in basic.ts for why not a typed array).
 */
export type CicState = number[];

/** Zeroed template in PACKED_DOUBLE_ELEMENTS form: `slice()` copies keep that form (no per-flow transition). */
const ZERO: number[] = new Array(SLOTS);
for (let i = 0; i < SLOTS; i++) ZERO[i] = 0.5;
for (let i = 0; i < SLOTS; i++) ZERO[i] = 0;

function isCicState(x: unknown): x is CicState {
  return Array.isArray(x) && x.length === SLOTS;
}

/** Welford update of the statistics at offset `o` with `x`. */
function statAdd(s: number[], o: number, x: number): void {
  const n = ++s[o + N];
  s[o + SUM] += x;
  if (n === 1) {
    s[o + MEAN] = s[o + MIN] = s[o + MAX] = x;
    s[o + M2] = 0;
    return;
  }
  if (x < s[o + MIN]) s[o + MIN] = x;
  if (x > s[o + MAX]) s[o + MAX] = x;
  const d = x - s[o + MEAN];
  s[o + MEAN] += d / n;
  s[o + M2] += d * (x - s[o + MEAN]);
}

/** Sample standard deviation (n − 1) of the statistics at `o`, 0 below 2 values. */
function statStd(s: number[], o: number): number {
  return s[o + N] > 1 ? Math.sqrt(s[o + M2] / (s[o + N] - 1)) : 0;
}

function bulkAdd(s: number[], o: number, ts: number, size: number, otherLastTs: number): void {
  if (otherLastTs > s[o + B_START]) s[o + B_START] = 0;
  if (size <= 0) return;
  if (s[o + B_START] === 0 || ts - s[o + B_LAST] > BULK_GAP_US) {
    s[o + B_START] = ts;
    s[o + B_LAST] = ts;
    s[o + B_COUNT] = 1;
    s[o + B_SIZE] = size;
    return;
  }
  const count = ++s[o + B_COUNT];
  s[o + B_SIZE] += size;
  if (count === 4) {
    s[o + B_STATES]++;
    s[o + B_PACKETS] += count;
    s[o + B_BYTES] += s[o + B_SIZE];
    s[o + B_US] += ts - s[o + B_START];
  } else if (count > 4) {
    s[o + B_PACKETS]++;
    s[o + B_BYTES] += size;
    s[o + B_US] += ts - s[o + B_LAST];
  }
  s[o + B_LAST] = ts;
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
  statAdd(s, ALL_LEN, pay);
  const fl = p.protocol === 6 ? p.tcpFlags : 0;
  if (fl !== 0) { for (let i = 0; i < 8; i++) if (fl & FLAG_ORDER[i]) s[FLAGS + i]++; }
  if (dir === 0) {
    bulkAdd(s, FWD_BULK, ts, pay, s[BWD_BULK + B_LAST]);
    statAdd(s, FWD_LEN, pay);
    const h = headerOf(p);
    s[F_HDR] += h;
    if (h < s[FWD_HDR_MIN]) s[FWD_HDR_MIN] = h;
    if (pay >= 1) s[FWD_ACT_DATA]++;
    if (fl & TCP.PSH) s[F_PSH]++;
    if (fl & TCP.URG) s[F_URG]++;
    if (fl & TCP.RST) s[F_RST]++;
  } else {
    bulkAdd(s, BWD_BULK, ts, pay, s[FWD_BULK + B_LAST]);
    statAdd(s, BWD_LEN, pay);
    s[B_HDR] += headerOf(p);
    if (s[INIT_WIN_BWD] < 0 && p.protocol === 6) s[INIT_WIN_BWD] = p.tcpWindow;
    if (fl & TCP.PSH) s[B_PSH]++;
    if (fl & TCP.URG) s[B_URG]++;
    if (fl & TCP.RST) s[B_RST]++;
  }
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

// Consecutive flows mostly start in the same second: its text is made once.
let tsSecond = NaN, tsPrefix = "";

/** 'YYYY-MM-DD hh:mm:ss.ffffff' in UTC (the CSVs use the capture site's local time). */
export function cicTimestamp(us: number): string {
  const second = Math.floor(Math.floor(us / 1000) / 1000);
  if (second !== tsSecond) {
    const d = new Date(second * 1000);
    tsPrefix = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
      `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.`;
    tsSecond = second;
  }
  return tsPrefix + String(Math.floor(us) % 1_000_000).padStart(6, "0");
}

/**
 * Appends four figures of the statistics at `o`, from `r[i]`, and returns the next index: max min mean std
 * for packet lengths, mean std max min for times (IAT, active, idle), as the CSVs order them; 0s when empty.
 */
function stats4(s: number[], o: number, r: Float64Array, i: number, order: "lengths" | "times"): number {
  if (s[o + N] === 0) r.fill(0, i, i + 4);
  else if (order === "lengths") {
    r[i] = s[o + MAX], r[i + 1] = s[o + MIN], r[i + 2] = s[o + MEAN], r[i + 3] = statStd(s, o);
  } else r[i] = s[o + MEAN], r[i + 1] = statStd(s, o), r[i + 2] = s[o + MAX], r[i + 3] = s[o + MIN];
  return i + 4;
}

/** Where each direction's bulk figures start. */
const BULKS = [FWD_BULK, BWD_BULK] as const;

/** The numbers after 'Timestamp', filled by {@link emit} and handed over at once (no boxed double each). */
const ROW = new Float64Array(NAMES.length - 8);

/** The one definition of a cic row, shared by {@link FeatureSet.row} and {@link FeatureSet.writeRow}. */
function emit(f: Flow, s: CicState, w: RowWriter): void {
  const F = f.s2dPackets, B = f.d2sPackets, n = F + B;
  const dur = f.lastUs - f.firstUs;
  const secs = dur / 1e6;
  const proto = f.protocol === 6 || f.protocol === 17 || f.protocol === 1 ? f.protocol : 0;
  const src = f.srcIp, dst = f.dstIp, sport = f.srcPort, dport = f.dstPort;
  w.num(f.id);
  w.str(`${src}-${dst}-${sport}-${dport}-${proto}`);
  w.str(src);
  w.num(sport);
  w.str(dst);
  w.num(dport);
  w.num(proto);
  w.str(cicTimestamp(f.firstUs));
  const r = ROW;
  let i = 0;
  const fwdSum = s[FWD_LEN + SUM], bwdSum = s[BWD_LEN + SUM];
  r[i++] = dur;
  r[i++] = F;
  r[i++] = B;
  r[i++] = fwdSum;
  r[i++] = bwdSum;
  i = stats4(s, FWD_LEN, r, i, "lengths");
  i = stats4(s, BWD_LEN, r, i, "lengths");
  r[i++] = dur > 0 ? (fwdSum + bwdSum) / secs : 0;
  r[i++] = dur > 0 ? n / secs : 0;
  i = stats4(s, FLOW_IAT, r, i, "times");
  r[i++] = s[FWD_IAT + N] ? s[FWD_IAT + SUM] : 0;
  i = stats4(s, FWD_IAT, r, i, "times");
  r[i++] = s[BWD_IAT + N] ? s[BWD_IAT + SUM] : 0;
  i = stats4(s, BWD_IAT, r, i, "times");
  r[i++] = s[F_PSH];
  r[i++] = s[B_PSH];
  r[i++] = s[F_URG];
  r[i++] = s[B_URG];
  r[i++] = s[F_RST];
  r[i++] = s[B_RST];
  r[i++] = s[F_HDR];
  r[i++] = s[B_HDR];
  r[i++] = dur > 0 ? F / secs : 0;
  r[i++] = dur > 0 ? B / secs : 0;
  const all = s[ALL_LEN + N];
  r[i++] = all ? s[ALL_LEN + MIN] : 0;
  r[i++] = all ? s[ALL_LEN + MAX] : 0;
  r[i++] = all ? s[ALL_LEN + MEAN] : 0;
  r[i++] = statStd(s, ALL_LEN);
  r[i++] = all > 1 ? s[ALL_LEN + M2] / (all - 1) : 0;
  for (let k = 0; k < 8; k++) r[i++] = s[FLAGS + k];
  r[i++] = F > 0 ? B / F : 0;
  r[i++] = n > 0 ? s[ALL_LEN + SUM] / n : 0;
  r[i++] = s[FWD_LEN + N] ? s[FWD_LEN + MEAN] : 0;
  r[i++] = s[BWD_LEN + N] ? s[BWD_LEN + MEAN] : 0;
  for (const b of BULKS) {
    const states = s[b + B_STATES], us = s[b + B_US];
    r[i++] = states ? s[b + B_BYTES] / states : 0;
    r[i++] = states ? s[b + B_PACKETS] / states : 0;
    r[i++] = us ? s[b + B_BYTES] / (us / 1e6) : 0;
  }
  // As in the CSVs: the subflow count equals the packet count (integer division).
  r[i++] = n ? Math.floor(F / n) : 0;
  r[i++] = n ? Math.floor(fwdSum / n) : 0;
  r[i++] = n ? Math.floor(B / n) : 0;
  r[i++] = n ? Math.floor(bwdSum / n) : 0;
  r[i++] = s[INIT_WIN_FWD];
  r[i++] = s[INIT_WIN_BWD] < 0 ? 0 : s[INIT_WIN_BWD];
  r[i++] = s[FWD_ACT_DATA];
  r[i++] = Number.isFinite(s[FWD_HDR_MIN]) ? s[FWD_HDR_MIN] : 0;
  i = stats4(s, ACTIVE, r, i, "times");
  i = stats4(s, IDLE, r, i, "times");
  r[i++] = s[ICMP_CODE];
  r[i++] = s[ICMP_TYPE];
  r[i++] = f.protocol === 6 ? f.lastUs - s[CONN_START] : 0;
  w.nums(r, i);
}

/** The CIC-IDS2017 (improved) feature set. */
export const cicFeatures: FeatureSet<CicState> = {
  name: "cic",
  columns: NAMES.map(([name, type, meta]) => ({ name, type, meta })),
  // CICFlowMeter: 120 s flow timeout counted from the first packet; TCP flows end on teardown.
  meterDefaults: { activeTimeout: 120, idleTimeout: 120, tcpTermination: true },
  init(flow: Flow, p: Packet, prev?: Flow): CicState {
    const s = ZERO.slice();
    const ts = flow.firstUs;
    s[LAST] =
      s[FWD_LAST] =
      s[START_ACTIVE] =
      s[END_ACTIVE] =
        ts;
    s[INIT_WIN_FWD] = p.protocol === 6 ? p.tcpWindow : 0;
    s[INIT_WIN_BWD] = -1;
    s[FWD_HDR_MIN] = Infinity;
    s[ICMP_CODE] = s[ICMP_TYPE] = -1;
    if (p.icmpType >= 0) {
      s[ICMP_TYPE] = p.icmpType;
      s[ICMP_CODE] = p.icmpCode;
    }
    // A TCP connection cut by a timeout keeps counting from its real start.
    const prevState = prev?.state;
    s[CONN_START] = p.protocol === 6 && isCicState(prevState) && (p.tcpFlags & TCP.SYN) === 0 &&
        prev!.closedUs === 0
      ? prevState[CONN_START]
      : ts;
    onPacket(s, p, ts, 0);
    return s;
  },
  update(s: CicState, flow: Flow, p: Packet, dir: 0 | 1): void {
    const ts = flow.lastUs;
    // Active/idle periods: a gap longer than the activity timeout closes an active period.
    if (ts - s[END_ACTIVE] > CIC_ACTIVITY_TIMEOUT_US) {
      if (s[END_ACTIVE] - s[START_ACTIVE] > 0) statAdd(s, ACTIVE, s[END_ACTIVE] - s[START_ACTIVE]);
      statAdd(s, IDLE, ts - s[END_ACTIVE]);
      s[START_ACTIVE] = s[END_ACTIVE] = ts;
    } else s[END_ACTIVE] = ts;
    statAdd(s, FLOW_IAT, ts - s[LAST]);
    s[LAST] = ts;
    if (dir === 0) {
      statAdd(s, FWD_IAT, ts - s[FWD_LAST]);
      s[FWD_LAST] = ts;
    } else {
      if (flow.d2sPackets > 1) statAdd(s, BWD_IAT, ts - s[BWD_LAST]);
      s[BWD_LAST] = ts;
    }
    onPacket(s, p, ts, dir);
  },
  row(f: Flow, s: CicState, out: (number | string)[]): void {
    rowInto(out, emit, f, s);
  },
  writeRow(f: Flow, s: CicState, w: RowWriter): void {
    emit(f, s, w);
    w.end();
  },
};
