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
  src: string;
  dst: string;
}

/**
 * Which side of a flow a {@link History} counts: the source's (its `a` values are destination addresses,
 * `b` destination ports), the destination's (source addresses, destination ports) or the service's
 * (source addresses, destination addresses). One {@link Past} a flow then serves all three.
 */
const enum Side {
  Source,
  Destination,
  Service,
}

function keyA(side: Side, q: Past): string {
  return side === Side.Source ? q.dst : q.src;
}

function keyB(side: Side, q: Past): string | number {
  return side === Side.Service ? q.dst : q.dport;
}

/**
 * A host's (or a service's) last flows, at most `limit`, in the order the meter emitted them, with how many
 * of them hold each value of `a` and of `b` (the source's side: destination address and port; the
 * destination's: source address and port; the service's: source and destination address). While every one
 * of them ended within the window — the usual case for a busy host — the counts answer a flow's columns
 * without a pass over the flows; otherwise {@link History.count} takes that pass. Most hosts have a few flows
 * only: up to {@link SMALL} of them the counts are not kept, and a pass over the flows answers.
 */
class History {
  readonly flows: Past[] = [];
  /** Made once the history holds more than {@link SMALL} flows. */
  #a: Map<string | number, number> | undefined;
  #b: Map<string | number, number> | undefined;
  /** Flows in the window, distinct `a` and `b` values among them, and how many have `b === same`. */
  n = 0;
  distinctA = 0;
  distinctB = 0;
  sameB = 0;

  /**
   * The flows' end times, in a ring: the window check reads these rather than the flow objects spread over
   * the heap (the `hosts` set on the 200 k-flow bench capture: 6.4–6.6 → 5.7 s of CPU). A plain array of
   * doubles, grown as flows come: a typed array of 64 would take an off-heap store for every host.
   */
  readonly #ends: number[] = [];
  #next = 0;

  constructor(readonly limit: number, readonly side: Side) {}

  add(p: Past): void {
    const ends = this.#ends;
    if (ends.length < this.limit) ends.push(p.endMs);
    else ends[this.#next] = p.endMs;
    this.#next = this.#next + 1 === this.limit ? 0 : this.#next + 1;
    const f = this.flows;
    f.push(p);
    let a = this.#a, b = this.#b;
    if (a === undefined || b === undefined) {
      if (f.length <= SMALL) return;
      a = this.#a = new Map();
      b = this.#b = new Map();
      for (const q of f) inc(a, keyA(this.side, q)), inc(b, keyB(this.side, q));
    } else {
      inc(a, keyA(this.side, p));
      inc(b, keyB(this.side, p));
    }
    if (f.length > this.limit) {
      const q = f.shift()!;
      dec(a, keyA(this.side, q));
      dec(b, keyB(this.side, q));
    }
  }

  /** Fills n, distinctA, distinctB and sameB for a flow ending at `now`. */
  count(now: number, windowMs: number, same: string | number): void {
    const f = this.flows, ends = this.#ends, all = this.#a, allB = this.#b;
    if (all === undefined || allB === undefined) return this.#countFew(now, windowMs, same);
    let inWindow = 0;
    for (let i = 0; i < f.length; i++) if (now - ends[i] <= windowMs) inWindow++;
    this.n = inWindow;
    const old = f.length - inWindow;
    if (old === 0) {
      this.distinctA = all.size;
      this.distinctB = allB.size;
      this.sameB = allB.get(same) ?? 0;
      return;
    }
    // Count whichever part is smaller, the flows out of the window or those in it.
    const outside = old <= inWindow;
    SCRATCH_A.clear();
    SCRATCH_B.clear();
    for (const q of f) {
      if (now - q.endMs > windowMs !== outside) continue;
      inc(SCRATCH_A, keyA(this.side, q));
      inc(SCRATCH_B, keyB(this.side, q));
    }
    if (outside) {
      // A value leaves the count when every flow that holds it is out of the window.
      this.distinctA = all.size - gone(SCRATCH_A, all);
      this.distinctB = allB.size - gone(SCRATCH_B, allB);
      this.sameB = (allB.get(same) ?? 0) - (SCRATCH_B.get(same) ?? 0);
    } else {
      this.distinctA = SCRATCH_A.size;
      this.distinctB = SCRATCH_B.size;
      this.sameB = SCRATCH_B.get(same) ?? 0;
    }
  }

  /** {@link count} of a history of at most {@link SMALL} flows: each flow against those before it. */
  #countFew(now: number, windowMs: number, same: string | number): void {
    const f = this.flows, side = this.side;
    let n = 0, distinctA = 0, distinctB = 0, sameB = 0;
    for (let i = 0; i < f.length; i++) {
      const q = f[i];
      if (now - q.endMs > windowMs) continue;
      n++;
      const a = keyA(side, q), b = keyB(side, q);
      if (b === same) sameB++;
      let newA = true, newB = true;
      for (let j = 0; j < i && (newA || newB); j++) {
        const r = f[j];
        if (now - r.endMs > windowMs) continue;
        if (keyA(side, r) === a) newA = false;
        if (keyB(side, r) === b) newB = false;
      }
      if (newA) distinctA++;
      if (newB) distinctB++;
    }
    this.n = n;
    this.distinctA = distinctA;
    this.distinctB = distinctB;
    this.sameB = sameB;
  }
}

/** Flows a {@link History} holds before it keeps counts by value. */
const SMALL = 8;

/** Scratch counts of {@link History.count} (one row is counted at a time). */
const SCRATCH_A = new Map<string | number, number>(), SCRATCH_B = new Map<string | number, number>();

/** How many values of `part` occur there as often as in `all`. */
function gone(part: Map<string | number, number>, all: Map<string | number, number>): number {
  let n = 0;
  for (const [v, c] of part) if (all.get(v) === c) n++;
  return n;
}

function inc(m: Map<string | number, number>, k: string | number): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function dec(m: Map<string | number, number>, k: string | number): void {
  const n = m.get(k)! - 1;
  if (n === 0) m.delete(k);
  else m.set(k, n);
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
  const hosts = new Map<string, History>(), dsts = new Map<string, History>();
  const services = new Map<number, History>();
  let seen = 0;
  const baseLen = base.columns.length;
  const historyOf = <K>(m: Map<K, History>, key: K, side: Side) => {
    let h = m.get(key);
    if (!h) m.set(key, h = new History(H, side));
    return h;
  };
  const [iSrc, iDst, iPort, iProto, iPackets, iBytes, iEnd] = at;
  return {
    name,
    columns: [...base.columns, ...extra],
    meterDefaults: base.meterDefaults,
    crossFlow: true,
    init: (flow: Flow, p, prev) => base.init(flow, p, prev),
    update: (state, flow, p, dir) => base.update(state, flow, p, dir),
    row(f: Flow, state: S, out: (number | string)[]): void {
      base.row(f, state, out);
      const src = String(out[iSrc]), dst = String(out[iDst]), now = Number(out[iEnd]);
      const dport = Number(out[iPort]), proto = Number(out[iProto]);
      const packets = Number(out[iPackets]), bytes = Number(out[iBytes]);
      const from = historyOf(hosts, src, Side.Source);
      from.count(now, window, dport);
      let j = baseLen;
      out[j++] = from.n;
      out[j++] = from.distinctB; // destination ports
      out[j++] = from.distinctA; // destination addresses
      const past = from.flows;
      for (let i = 0; i < K; i++) {
        const q = past[past.length - 1 - i];
        out[j++] = q ? q.dport : 0;
        out[j++] = q ? q.proto : 0;
        out[j++] = q ? q.packets : 0;
        out[j++] = q ? q.bytes : 0;
        out[j++] = q ? Math.max(0, now - q.endMs) : -1;
      }
      const flow: Past = { endMs: now, dport, proto, packets, bytes, src, dst };
      from.add(flow);
      if (o.destination) {
        const to = historyOf(dsts, dst, Side.Destination);
        to.count(now, window, dport);
        out[j++] = to.n;
        out[j++] = to.distinctA; // source addresses
        out[j++] = to.sameB; // to this port
        to.add(flow);
        const svc = historyOf(services, proto * 65536 + dport, Side.Service);
        svc.count(now, window, dport);
        out[j++] = svc.n;
        out[j++] = svc.distinctA; // source addresses
        out[j++] = svc.distinctB; // destination addresses
        svc.add(flow);
      }
      // Forget hosts silent for longer than the window, now and then.
      if ((++seen & 4095) === 0) {
        for (const m of [hosts, dsts, services] as Map<string | number, History>[]) {
          for (const [k, h] of m) if (now - h.flows[h.flows.length - 1].endMs > window) m.delete(k);
        }
      }
    },
  };
}
