/**
 * A flow's host context (the `context` feature set: `packets` plus these
 * columns). One probe of a port scan, one DHCP request of a flood, one login
 * attempt of a brute force: each flow alone looks ordinary; the source host's
 * recent flows do not. Every flow gets, from the flows of the same source
 * address that ended before it (in the order the meter emits them):
 *
 * - `src_flows_60s`, `src_dst_ports_60s`, `src_dst_ips_60s`: how many of them
 *   ended within the last 60 s of this flow's end, and how many distinct
 *   destination ports and addresses they reached (among the source's last 64
 *   flows);
 * - the last 4 of them, most recent first, as a sequence: `src_prev<i>_dst_port`,
 *   `src_prev<i>_protocol`, `src_prev<i>_packets`, `src_prev<i>_bytes` and
 *   `src_prev<i>_gap_ms` (this flow's end minus that flow's end), all 0 and a
 *   gap of −1 when the source has fewer flows.
 *
 * With `destination` (the `hosts` feature set), two more sides, the traffic
 * features of KDD Cup 99 (Stolfo et al. 2000: `dst_host_count`,
 * `dst_host_same_srv_rate`, `srv_count`), counted here over the window:
 *
 * - the destination's: `dst_flows_60s`, `dst_src_ips_60s`, `dst_same_port_60s`,
 *   how many flows to the same destination address ended within the window,
 *   from how many distinct sources, and how many to the same port;
 * - the service's (protocol and destination port): `svc_flows_60s`,
 *   `svc_src_ips_60s`, `svc_dst_ips_60s`, how many flows to the same service
 *   ended within the window, from how many sources, to how many destinations.
 *
 * A flood from spoofed sources, one flow each, has no history on its source's
 * side; the destination's or the service's side shows it.
 *
 * Memory is bounded: 64 flows per host or service, and those silent for
 * longer than the window are dropped as time moves on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureSet } from "./mod.ts";
 * const fs = featureSet("context");
 * assert.ok(fs.columns.some((c) => c.name === "src_prev1_dst_port"));
 * assert.equal(fs.columns.length, featureSet("packets").columns.length + 23);
 * ```
 * @module
 */
import type { Flow } from "../meter.ts";
import type { Column, FeatureSet } from "./types.ts";

/** Options of {@link withHostContext}. */
export interface HostContextOptions {
  /** Previous flows listed one by one (default 4). */
  previous?: number;
  /** Window of the counts, ms (default 60,000). */
  windowMs?: number;
  /** Flows remembered per source (default 64). */
  history?: number;
  /**
   * Also the destination's and the service's side (default false; see the module doc): `dst_flows_60s`,
   * `dst_src_ips_60s`, `dst_same_port_60s`, `svc_flows_60s`, `svc_src_ips_60s`, `svc_dst_ips_60s`.
   */
  destination?: boolean;
}

interface Past {
  endMs: number;
  dport: number;
  proto: number;
  packets: number;
  bytes: number;
  dst: string;
}

/** The base columns the context reads; a base set must have them. */
const NEEDS = [
  "src_ip",
  "dst_ip",
  "dst_port",
  "protocol",
  "bidirectional_packets",
  "bidirectional_bytes",
  "bidirectional_last_seen_ms",
] as const;

/** `base` plus each flow's host context (see the module docs); named `name`. */
export function withHostContext<S>(
  base: FeatureSet<S>,
  name: string,
  o: HostContextOptions = {},
): FeatureSet<S> {
  const K = o.previous ?? 4, window = o.windowMs ?? 60_000, H = o.history ?? 64;
  const at = NEEDS.map((n) => base.columns.findIndex((c) => c.name === n));
  const missing = NEEDS.filter((_, i) => at[i] < 0);
  if (missing.length) throw new RangeError(`host context needs the base columns ${missing.join(", ")}`);
  const extra: Column[] = [
    { name: "src_flows_60s", type: "int" },
    { name: "src_dst_ports_60s", type: "int" },
    { name: "src_dst_ips_60s", type: "int" },
  ];
  for (let i = 1; i <= K; i++) {
    for (const c of ["dst_port", "protocol", "packets", "bytes"]) {
      extra.push({ name: `src_prev${i}_${c}`, type: "int" });
    }
    extra.push({ name: `src_prev${i}_gap_ms`, type: "int" });
  }
  if (o.destination) {
    extra.push(
      { name: "dst_flows_60s", type: "int" },
      { name: "dst_src_ips_60s", type: "int" },
      { name: "dst_same_port_60s", type: "int" },
      { name: "svc_flows_60s", type: "int" },
      { name: "svc_src_ips_60s", type: "int" },
      { name: "svc_dst_ips_60s", type: "int" },
    );
  }
  const hosts = new Map<string, Past[]>();
  // The destination's side: its flows, with `dst` holding their source address. The service's side
  // (protocol and destination port): its flows, with `dst` holding "source destination".
  const dsts = new Map<string, Past[]>(), services = new Map<string, Past[]>();
  let seen = 0;
  const baseLen = base.columns.length;
  const remember = (m: Map<string, Past[]>, host: string, flow: Past) => {
    const past = m.get(host);
    if (!past) return void m.set(host, [flow]);
    past.push(flow);
    if (past.length > H) past.shift();
  };
  return {
    name,
    columns: [...base.columns, ...extra],
    meterDefaults: base.meterDefaults,
    crossFlow: true,
    init: (flow: Flow, p, prev) => base.init(flow, p, prev),
    update: (state, flow, p, dir) => base.update(state, flow, p, dir),
    row(f: Flow, state: S, out: (number | string)[]): void {
      base.row(f, state, out);
      const [src, dst, dport, proto, packets, bytes, end] = at.map((i) => out[i]);
      const now = Number(end);
      const past = hosts.get(String(src)) ?? [];
      let n = 0;
      const ports = new Set<number>(), ips = new Set<string>();
      for (const q of past) {
        if (now - q.endMs > window) continue;
        n++;
        ports.add(q.dport);
        ips.add(q.dst);
      }
      let j = baseLen;
      out[j++] = n;
      out[j++] = ports.size;
      out[j++] = ips.size;
      for (let i = 0; i < K; i++) {
        const q = past[past.length - 1 - i];
        out[j++] = q ? q.dport : 0;
        out[j++] = q ? q.proto : 0;
        out[j++] = q ? q.packets : 0;
        out[j++] = q ? q.bytes : 0;
        out[j++] = q ? Math.max(0, now - q.endMs) : -1;
      }
      const flow: Past = {
        endMs: now,
        dport: Number(dport),
        proto: Number(proto),
        packets: Number(packets),
        bytes: Number(bytes),
        dst: String(dst),
      };
      remember(hosts, String(src), flow);
      if (o.destination) {
        const into = dsts.get(String(dst)) ?? [];
        let m = 0, same = 0;
        const srcs = new Set<string>();
        for (const q of into) {
          if (now - q.endMs > window) continue;
          m++;
          srcs.add(q.dst);
          if (q.dport === flow.dport) same++;
        }
        out[j++] = m;
        out[j++] = srcs.size;
        out[j++] = same;
        remember(dsts, String(dst), { ...flow, dst: String(src) });
        const svc = `${proto}/${dport}`;
        let v = 0;
        const vSrcs = new Set<string>(), vDsts = new Set<string>();
        for (const q of services.get(svc) ?? []) {
          if (now - q.endMs > window) continue;
          v++;
          const sp = q.dst.indexOf(" ");
          vSrcs.add(q.dst.slice(0, sp));
          vDsts.add(q.dst.slice(sp + 1));
        }
        out[j++] = v;
        out[j++] = vSrcs.size;
        out[j++] = vDsts.size;
        remember(services, svc, { ...flow, dst: `${src} ${dst}` });
      }
      // Forget hosts silent for longer than the window, now and then.
      if ((++seen & 4095) === 0) {
        for (const m of [hosts, dsts, services]) {
          for (const [h, q] of m) if (now - q[q.length - 1].endMs > window) m.delete(h);
        }
      }
    },
  };
}
