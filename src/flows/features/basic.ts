/**
 * `basic`: NFStream's flow columns (same names and meaning as NFStream with
 * `statistical_analysis=True`, default accounting mode: sizes are frame
 * lengths on the wire, times in milliseconds).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { basicFeatures } from "./basic.ts";
 * assert.ok(basicFeatures.columns.some((c) => c.name === "bidirectional_packets"));
 * ```
 * @module
 */
import type { Packet } from "../../capture/packet.ts";
import { type Flow, formatIp4, formatMac48, TCP } from "../meter.ts";
import type { Column, FeatureSet, RowWriter } from "./types.ts";

const DIRS = ["bidirectional", "src2dst", "dst2src"] as const;
const FLAGS = ["syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin"] as const;
const FLAG_BITS = [TCP.SYN, TCP.CWR, TCP.ECE, TCP.URG, TCP.ACK, TCP.PSH, TCP.RST, TCP.FIN];

// Per direction: packet sizes (n, mean, m2, min, max), inter-arrival ms (n, mean, m2, min, max), last ms, 8 flags.
const PS = 0, PIAT = 5, LAST = 10, FL = 11, DIR = 19;

/**
 * Per-flow state: one packed array of doubles (3 directions × 19 values). A plain array rather than a
 * Float64Array: V8 allocates it on the heap with a pointer bump, while every typed array over 64 bytes gets an
 * off-heap backing store and ArrayBuffer bookkeeping (about 2 µs and 250 bytes more per flow).
 */
export type BasicState = number[] | number;

/**
 * A flow's state stays a single number (first frame size × 512 + its TCP flags) until its second packet:
 * one-packet flows (scans, SYN floods, DNS) then cost no array at all.
 */
function materialize(flow: Flow, first: number): number[] {
  const s = ZERO.slice();
  const size = Math.floor(first / 512), flags = first % 512;
  s[LAST] = s[DIR + LAST] = flow.firstMs;
  addStat(s, PS, size);
  addStat(s, DIR + PS, size);
  if (flags !== 0) addFlags(s, 1, flags);
  return s;
}

/** Zeroed template in PACKED_DOUBLE_ELEMENTS form: `slice()` copies keep that form (no per-flow transition). */
const ZERO: number[] = new Array(3 * DIR);
for (let i = 0; i < ZERO.length; i++) ZERO[i] = 0.5;
for (let i = 0; i < ZERO.length; i++) ZERO[i] = 0;

const COLUMNS: Column[] = [
  { name: "id", type: "int", meta: true },
  { name: "expiration_id", type: "int", meta: true },
  { name: "src_ip", type: "str", meta: true },
  { name: "src_mac", type: "str", meta: true },
  { name: "src_port", type: "int", meta: true },
  { name: "dst_ip", type: "str", meta: true },
  { name: "dst_mac", type: "str", meta: true },
  { name: "dst_port", type: "int", meta: true },
  { name: "protocol", type: "int" },
  { name: "ip_version", type: "int" },
  { name: "vlan_id", type: "int", meta: true },
  { name: "tunnel_id", type: "int", meta: true },
];
for (const d of DIRS) {
  COLUMNS.push(
    { name: `${d}_first_seen_ms`, type: "int", meta: true },
    { name: `${d}_last_seen_ms`, type: "int", meta: true },
    { name: `${d}_duration_ms`, type: "int" },
    { name: `${d}_packets`, type: "int" },
    { name: `${d}_bytes`, type: "int" },
  );
}
for (const d of DIRS) {
  COLUMNS.push(
    { name: `${d}_min_ps`, type: "int" },
    { name: `${d}_mean_ps`, type: "float" },
    { name: `${d}_stddev_ps`, type: "float" },
    { name: `${d}_max_ps`, type: "int" },
  );
}
for (const d of DIRS) {
  COLUMNS.push(
    { name: `${d}_min_piat_ms`, type: "int" },
    { name: `${d}_mean_piat_ms`, type: "float" },
    { name: `${d}_stddev_piat_ms`, type: "float" },
    { name: `${d}_max_piat_ms`, type: "int" },
  );
}
for (const d of DIRS) for (const f of FLAGS) COLUMNS.push({ name: `${d}_${f}_packets`, type: "int" });

/** Welford update of (n, mean, m2, min, max) at offset o. */
function addStat(s: number[], o: number, x: number): void {
  const n = ++s[o];
  if (n === 1) {
    s[o + 1] = s[o + 3] = s[o + 4] = x;
    return;
  }
  if (x < s[o + 3]) s[o + 3] = x;
  if (x > s[o + 4]) s[o + 4] = x;
  const d = x - s[o + 1];
  s[o + 1] += d / n;
  s[o + 2] += d * (x - s[o + 1]);
}

function addFlags(s: number[], d: number, flags: number): void {
  if (flags === 0) return;
  for (let i = 0; i < 8; i++) {
    if (flags & FLAG_BITS[i]) {
      s[FL + i]++;
      s[d * DIR + FL + i]++;
    }
  }
}

const ms = (us: number) => Math.floor(us / 1000);

/** The one definition of a basic row, shared by {@link FeatureSet.row} and {@link FeatureSet.writeRow}. */
function emit(f: Flow, state: BasicState, w: RowWriter): void {
  const s = typeof state === "number" ? materialize(f, state) : state;
  w.num(f.id);
  w.num(f.expirationId);
  // Addresses and MACs go to the writer as numbers when no string was made yet (IPv4 keys, link MACs).
  if (f._srcIp === undefined) w.ip4(f.swapped ? f.kb : f.ka);
  else w.str(f._srcIp);
  if (f._srcMac === undefined && f._smHi >= 0) w.mac48(f._smHi, f._smLo);
  else w.str(f._srcMac ?? "");
  w.num(f.srcPort);
  if (f._dstIp === undefined) w.ip4(f.swapped ? f.ka : f.kb);
  else w.str(f._dstIp);
  if (f._dstMac === undefined && f._dmHi >= 0) w.mac48(f._dmHi, f._dmLo);
  else w.str(f._dstMac ?? "");
  w.num(f.dstPort);
  w.num(f.protocol);
  w.num(f.ipVersion);
  w.num(f.vlanId);
  w.num(f.tunnelId);
  const first = f.firstMs, last = f.lastMs;
  w.num(first);
  w.num(last);
  w.num(last - first);
  w.num(f.packets);
  w.num(f.bytes);
  const s2dFirst = ms(f.s2dFirstUs), s2dLast = ms(f.s2dLastUs);
  w.num(s2dFirst);
  w.num(s2dLast);
  w.num(s2dLast - s2dFirst);
  w.num(f.s2dPackets);
  w.num(f.s2dBytes);
  const d2s = f.d2sPackets > 0;
  const d2sFirst = d2s ? ms(f.d2sFirstUs) : 0, d2sLast = d2s ? ms(f.d2sLastUs) : 0;
  w.num(d2sFirst);
  w.num(d2sLast);
  w.num(d2sLast - d2sFirst);
  w.num(f.d2sPackets);
  w.num(f.d2sBytes);
  for (let base = PS; base <= PIAT; base += PIAT - PS) {
    for (let d = 0; d < 3; d++) {
      const o = d * DIR + base, n = s[o];
      w.num(n ? s[o + 3] : 0);
      w.num(n ? s[o + 1] : 0);
      w.num(n > 1 ? Math.sqrt(s[o + 2] / (n - 1)) : 0);
      w.num(n ? s[o + 4] : 0);
    }
  }
  for (let d = 0; d < 3; d++) for (let k = 0; k < 8; k++) w.num(s[d * DIR + FL + k]);
}

const NO_ROW: (number | string)[] = [];

/** Collects a row into an array (for {@link FeatureSet.row}). */
class ArrayWriter implements RowWriter {
  out: (number | string)[] = NO_ROW;
  i = 0;
  num(v: number): void {
    this.out[this.i++] = v;
  }
  str(v: string): void {
    this.out[this.i++] = v;
  }
  ip4(x: number): void {
    this.out[this.i++] = formatIp4(x);
  }
  mac48(hi: number, lo: number): void {
    this.out[this.i++] = formatMac48(hi, lo);
  }
  end(): void {}
}
const ARRAY_WRITER = new ArrayWriter();

/** NFStream's columns for one flow. */
export const basicFeatures: FeatureSet<BasicState> = {
  name: "basic",
  columns: COLUMNS,
  init(_flow: Flow, p: Packet): BasicState {
    return p.wireLen * 512 + (p.protocol === 6 ? p.tcpFlags & 511 : 0);
  },
  update(state: BasicState, flow: Flow, p: Packet, dir: 0 | 1): void {
    const s = typeof state === "number" ? (flow.state = materialize(flow, state)) : state;
    const ms = flow.lastMs;
    const d = (dir + 1) * DIR;
    addStat(s, PS, p.wireLen);
    addStat(s, d + PS, p.wireLen);
    addStat(s, PIAT, ms - s[LAST]);
    s[LAST] = ms;
    if (dir === 0 || flow.d2sPackets > 1) addStat(s, d + PIAT, ms - s[d + LAST]);
    s[d + LAST] = ms;
    if (p.protocol === 6) addFlags(s, dir + 1, p.tcpFlags);
  },
  row(f: Flow, state: BasicState, out: (number | string)[]): void {
    const w = ARRAY_WRITER;
    w.out = out;
    w.i = 0;
    emit(f, state, w);
    w.out = NO_ROW;
  },
  writeRow(f: Flow, state: BasicState, w: RowWriter): void {
    emit(f, state, w);
    w.end();
  },
};
