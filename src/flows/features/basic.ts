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
import { dstMacHi, dstMacLo, type Flow, Ip6Extras, srcMacHi, srcMacLo, TCP } from "../meter.ts";
import { rowInto } from "./array_writer.ts";
import type { Column, FeatureSet, RowWriter } from "./types.ts";

const DIRS = ["bidirectional", "src2dst", "dst2src"] as const;
const FLAGS = ["syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin"] as const;
const FLAG_BITS = [TCP.SYN, TCP.CWR, TCP.ECE, TCP.URG, TCP.ACK, TCP.PSH, TCP.RST, TCP.FIN];

// Per direction block (bidirectional, src→dst, dst→src): packet sizes (mean, m2, min, max), inter-arrival ms
// (mean, m2, min, max), last ms; then, for a TCP flow only, 8 flag counts src→dst and 8 dst→src. The counts
// are the flow's own (a direction's inter-arrival times are one fewer than its packets) and the
// bidirectional flags are the two directions' sums, so neither is kept.
const PS = 0, PIAT = 4, LAST = 8;
/** Where each block starts: bidirectional, src→dst, dst→src. */
const BLOCK = [0, 9, 18] as const;
/** Where the flag counts of src→dst and dst→src start (TCP flows only). */
const FLAGS_S2D = 27, FLAGS_D2S = 35;

/**
 * Per-flow state: one packed array of 43 doubles for a TCP flow (344 bytes of values, 48 of headers), 27 for
 * any other (no flags). A plain array rather than a Float64Array: V8 allocates it on the heap with a pointer
 * bump, while every typed array over 64 bytes gets an off-heap backing store and ArrayBuffer bookkeeping
 * (about 2 µs and 250 bytes more per flow).
 */
export type BasicState = number[] | number;

/**
 * A flow's state stays a single number (first frame size × 512 + its TCP flags) until its second packet:
 * one-packet flows (scans, SYN floods, DNS) then cost no array at all.
 */
function materialize(
  flow: Flow,
  first: number,
  s = flow.protocol === 6 ? ZERO.slice() : ZERO_NO_FLAGS.slice(),
): number[] {
  const size = Math.floor(first / 512), flags = first % 512;
  s[LAST] = s[BLOCK[1] + LAST] = flow.firstMs;
  addStat(s, PS, size, 1);
  addStat(s, BLOCK[1] + PS, size, 1);
  if (flags !== 0) addFlags(s, FLAGS_S2D, flags);
  return s;
}

/** Zeroed template in PACKED_DOUBLE_ELEMENTS form: `slice()` copies keep that form (no per-flow transition). */
const ZERO: number[] = new Array(FLAGS_D2S + 8);
for (let i = 0; i < ZERO.length; i++) ZERO[i] = 0.5;
for (let i = 0; i < ZERO.length; i++) ZERO[i] = 0;
const ZERO_NO_FLAGS = ZERO.slice(0, FLAGS_S2D);

/** Where {@link emit} expands a one-packet flow's state (emit keeps no reference to it). */
const SCRATCH = ZERO.slice();

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

/** Welford update of (mean, m2, min, max) at offset o with the n-th value x. */
function addStat(s: number[], o: number, x: number, n: number): void {
  if (n === 1) {
    s[o] = s[o + 2] = s[o + 3] = x;
    return;
  }
  if (x < s[o + 2]) s[o + 2] = x;
  if (x > s[o + 3]) s[o + 3] = x;
  const d = x - s[o];
  s[o] += d / n;
  s[o + 1] += d * (x - s[o]);
}

function addFlags(s: number[], at: number, flags: number): void {
  for (let i = 0; i < 8; i++) if (flags & FLAG_BITS[i]) s[at + i]++;
}

const ms = (us: number) => Math.floor(us / 1000);

/** The one definition of a basic row, shared by {@link FeatureSet.row} and {@link FeatureSet.writeRow}. */
function emit(f: Flow, state: BasicState, w: RowWriter): void {
  // A one-packet flow's row is made in a scratch array: nothing is allocated for it.
  const s = typeof state === "number" ? materialize(f, state, SCRATCH.fill(0)) : state;
  w.num(f.id);
  w.num(f.expirationId);
  // The decoder's flows hand their IPv4 addresses and MACs to the writer as numbers: no string is made.
  // The decoder's IPv6 addresses go over as words; as text only when the packets gave strings.
  const x = f._x, numeric4 = x === undefined || (x.srcIp === undefined && !(x instanceof Ip6Extras));
  if (numeric4) w.ip4(f.swapped ? f.kb : f.ka);
  else if (x instanceof Ip6Extras) x.writeTo(w, f.swapped);
  else w.str(f.srcIp);
  const sm = srcMacHi(f);
  if (sm >= 0) w.mac48(sm, srcMacLo(f));
  else w.str(x?.srcMac ?? "");
  w.num(f.srcPort);
  if (numeric4) w.ip4(f.swapped ? f.ka : f.kb);
  else if (x instanceof Ip6Extras) x.writeTo(w, !f.swapped);
  else w.str(f.dstIp);
  const dm = dstMacHi(f);
  if (dm >= 0) w.mac48(dm, dstMacLo(f));
  else w.str(x?.dstMac ?? "");
  w.num(f.dstPort);
  // The 67 numbers after dst_port go over in one typed array: no boxed double per value.
  const r = ROW;
  r[0] = f.protocol;
  r[1] = f.ipVersion;
  r[2] = f.vlanId;
  r[3] = f.tunnelId;
  const first = f.firstMs, last = f.lastMs;
  r[4] = first;
  r[5] = last;
  r[6] = last - first;
  r[7] = f.packets;
  r[8] = f.bytes;
  const s2dFirst = ms(f.s2dFirstUs), s2dLast = ms(f.s2dLastUs);
  r[9] = s2dFirst;
  r[10] = s2dLast;
  r[11] = s2dLast - s2dFirst;
  r[12] = f.s2dPackets;
  r[13] = f.s2dBytes;
  const d2s = f.d2sPackets > 0;
  const d2sFirst = d2s ? ms(f.d2sFirstUs) : 0, d2sLast = d2s ? ms(f.d2sLastUs) : 0;
  r[14] = d2sFirst;
  r[15] = d2sLast;
  r[16] = d2sLast - d2sFirst;
  r[17] = f.d2sPackets;
  r[18] = f.d2sBytes;
  let i = 19;
  const s2dN = f.s2dPackets, d2sN = f.d2sPackets;
  for (let base = PS; base <= PIAT; base += PIAT - PS) {
    for (let d = 0; d < 3; d++) {
      const packets = d === 0 ? s2dN + d2sN : d === 1 ? s2dN : d2sN;
      const o = BLOCK[d] + base, n = base === PS ? packets : Math.max(0, packets - 1);
      r[i++] = n ? s[o + 2] : 0;
      r[i++] = n ? s[o] : 0;
      r[i++] = n > 1 ? Math.sqrt(s[o + 1] / (n - 1)) : 0;
      r[i++] = n ? s[o + 3] : 0;
    }
  }
  if (s.length > FLAGS_S2D) {
    const a = FLAGS_S2D, b = FLAGS_D2S;
    for (let k = 0; k < 8; k++) r[i++] = s[a + k] + s[b + k];
    for (let k = 0; k < 8; k++) r[i++] = s[a + k];
    for (let k = 0; k < 8; k++) r[i++] = s[b + k];
  } else r.fill(0, i, i += 24);
  w.nums(r, i);
}

/** The numeric tail of a row (protocol … dst2src_fin_packets), filled by {@link emit}. */
const ROW = new Float64Array(67);

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
    // The flow's counts already include this packet.
    const n = flow.packets, nd = dir === 0 ? flow.s2dPackets : flow.d2sPackets;
    const d = BLOCK[dir + 1];
    addStat(s, PS, p.wireLen, n);
    addStat(s, d + PS, p.wireLen, nd);
    addStat(s, PIAT, ms - s[LAST], n - 1);
    s[LAST] = ms;
    if (nd > 1) addStat(s, d + PIAT, ms - s[d + LAST], nd - 1);
    s[d + LAST] = ms;
    if (p.protocol === 6 && p.tcpFlags !== 0) addFlags(s, dir === 0 ? FLAGS_S2D : FLAGS_D2S, p.tcpFlags);
  },
  row(f: Flow, state: BasicState, out: (number | string)[]): void {
    rowInto(out, emit, f, state);
  },
  writeRow(f: Flow, state: BasicState, w: RowWriter): void {
    emit(f, state, w);
    w.end();
  },
};
