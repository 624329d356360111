/**
 * `basic`: NFStream's flow columns (same names and meaning as NFStream with
 * `statistical_analysis=True`, default accounting mode: sizes are frame
 * lengths on the wire, times in milliseconds).
 *
 * @example
 * ```ts
 * import { basicFeatures } from "./basic.ts";
 * console.assert(basicFeatures.columns.some((c) => c.name === "bidirectional_packets"));
 * ```
 * @module
 */
import type { Packet } from "../../capture/packet.ts";
import { type Flow, TCP } from "../meter.ts";
import { type Column, type FeatureSet, RunningStats } from "./types.ts";

const DIRS = ["bidirectional", "src2dst", "dst2src"] as const;
const FLAGS = ["syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin"] as const;
const FLAG_BITS = [TCP.SYN, TCP.CWR, TCP.ECE, TCP.URG, TCP.ACK, TCP.PSH, TCP.RST, TCP.FIN];

/** Per-flow state: packet-size and inter-arrival statistics, TCP flag counts per direction. */
export class BasicState {
  /** Packet sizes: [bidirectional, src2dst, dst2src]. */
  ps = [new RunningStats(), new RunningStats(), new RunningStats()];
  /** Packet inter-arrival times in ms. */
  piat = [new RunningStats(), new RunningStats(), new RunningStats()];
  /** Last packet time (ms) per direction: [bidirectional, src2dst, dst2src]. */
  lastMs = [0, 0, 0];
  /** Flag counts: 3 directions × 8 flags. */
  flags = new Float64Array(24);
}

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

function addFlags(s: BasicState, dir: number, flags: number): void {
  if (flags === 0) return;
  const base = dir * 8;
  for (let i = 0; i < 8; i++) {
    if (flags & FLAG_BITS[i]) {
      s.flags[i]++;
      s.flags[base + i]++;
    }
  }
}

/** NFStream's columns for one flow. */
export const basicFeatures: FeatureSet<BasicState> = {
  name: "basic",
  columns: COLUMNS,
  init(flow: Flow, p: Packet): BasicState {
    const s = new BasicState();
    const ms = flow.firstMs;
    s.lastMs[0] = s.lastMs[1] = ms;
    s.ps[0].add(p.wireLen);
    s.ps[1].add(p.wireLen);
    addFlags(s, 1, p.protocol === 6 ? p.tcpFlags : 0);
    return s;
  },
  update(s: BasicState, flow: Flow, p: Packet, dir: 0 | 1): void {
    const ms = flow.lastMs;
    const d = dir + 1;
    s.ps[0].add(p.wireLen);
    s.ps[d].add(p.wireLen);
    s.piat[0].add(ms - s.lastMs[0]);
    s.lastMs[0] = ms;
    if (d === 1 || flow.d2sPackets > 1) s.piat[d].add(ms - s.lastMs[d]);
    s.lastMs[d] = ms;
    addFlags(s, d, p.protocol === 6 ? p.tcpFlags : 0);
  },
  row(f: Flow, s: BasicState, out: (number | string)[]): void {
    let i = 0;
    out[i++] = f.id;
    out[i++] = f.expirationId;
    out[i++] = f.srcIp;
    out[i++] = f.srcMac ?? "";
    out[i++] = f.srcPort;
    out[i++] = f.dstIp;
    out[i++] = f.dstMac ?? "";
    out[i++] = f.dstPort;
    out[i++] = f.protocol;
    out[i++] = f.ipVersion;
    out[i++] = f.vlanId;
    out[i++] = f.tunnelId;
    const ms = (us: number) => Math.floor(us / 1000);
    out[i++] = f.firstMs;
    out[i++] = f.lastMs;
    out[i++] = f.lastMs - f.firstMs;
    out[i++] = f.packets;
    out[i++] = f.bytes;
    out[i++] = ms(f.s2dFirstUs);
    out[i++] = ms(f.s2dLastUs);
    out[i++] = ms(f.s2dLastUs) - ms(f.s2dFirstUs);
    out[i++] = f.s2dPackets;
    out[i++] = f.s2dBytes;
    const d2s = f.d2sPackets > 0;
    out[i++] = d2s ? ms(f.d2sFirstUs) : 0;
    out[i++] = d2s ? ms(f.d2sLastUs) : 0;
    out[i++] = d2s ? ms(f.d2sLastUs) - ms(f.d2sFirstUs) : 0;
    out[i++] = f.d2sPackets;
    out[i++] = f.d2sBytes;
    for (const r of s.ps) {
      out[i++] = r.n ? r.min : 0;
      out[i++] = r.n ? r.mean : 0;
      out[i++] = r.std;
      out[i++] = r.n ? r.max : 0;
    }
    for (const r of s.piat) {
      out[i++] = r.n ? r.min : 0;
      out[i++] = r.n ? r.mean : 0;
      out[i++] = r.std;
      out[i++] = r.n ? r.max : 0;
    }
    for (let d = 0; d < 3; d++) for (let k = 0; k < 8; k++) out[i++] = s.flags[d * 8 + k];
  },
};
