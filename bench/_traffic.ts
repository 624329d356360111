/**
 * Seeded synthetic traffic for the scale benchmarks: writes a classic pcap
 * (Ethernet, µs) whose flows are known in advance, so a meter's output can be
 * checked as well as timed. Two profiles:
 *
 * - `many`: ≥ 1 M packets in ≥ 200 k flows, short-lived, most closed by FIN or
 *   RST — the flow-table churn of a busy edge link (about 5 k new flows/s).
 * - `long`: ≥ 10 M packets over about an hour and a half of packet time,
 *   ~100 new flows/s; 40 % of the flows stop without FIN, so they end by the
 *   meter's idle timeout, and some UDP and TCP flows last minutes.
 *
 * Every flow has its own 5-tuple (client ports are allocated per client, never
 * reused within a file) and no flow pauses longer than 30 s, so any meter with
 * an idle timeout ≥ 30 s and an active timeout above the longest flow finds
 * exactly `flows` bidirectional flows. Frames are stored with a 128-byte
 * snaplen (as `tcpdump -s 128` would) and their real length on the wire.
 *
 * ```sh
 * deno run -A bench/_traffic.ts --profile many --seed 1 --out /tmp/many.pcap
 * ```
 *
 * @module
 */
import { PcapWriter } from "../src/capture/writer.ts";
import { Rng } from "../src/util/random.ts";

/** Generation parameters; a profile fills them in. */
export interface TrafficOptions {
  /** Stop after the flow that makes the file reach this many packets (and `minFlows`). */
  minPackets: number;
  minFlows: number;
  /** New flows per second of packet time. */
  flowRate: number;
  /** Share of TCP flows that end without FIN/RST (idle expiry). */
  silentEnd: number;
  /** Mean request/response exchanges per TCP session. */
  exchanges: number;
  /** Share of flows that are long (minutes): bulk TCP or UDP streams. */
  longShare: number;
  seed: number;
}

/** The two profiles of the issue-18 benchmark. */
export const PROFILES: Record<"many" | "long", Omit<TrafficOptions, "seed">> = {
  many: {
    minPackets: 1_000_000,
    minFlows: 200_000,
    flowRate: 5000,
    silentEnd: 0.1,
    exchanges: 0.6,
    longShare: 0,
  },
  long: {
    minPackets: 10_000_000,
    minFlows: 0,
    flowRate: 100,
    silentEnd: 0.4,
    exchanges: 4,
    longShare: 0.03,
  },
};

/** What was written. */
export interface TrafficSummary {
  file: string;
  packets: number;
  flows: number;
  /** Flows by kind. */
  kinds: Record<string, number>;
  /** Packet time covered, seconds. */
  seconds: number;
  bytesOnWire: number;
}

const SNAPLEN = 128;
const CLIENTS = 20_000;
const SERVERS = 2_000;
const TCP_PORTS = [443, 443, 443, 80, 80, 22, 25, 993, 8080, 3389];
const F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10;

/** One packet of a flow's script: direction (0 client→server), TCP flags (UDP/ICMP: 0), payload bytes, gap before it (µs). */
interface Step {
  dir: 0 | 1;
  flags: number;
  payload: number;
  gapUs: number;
}

interface Flow {
  proto: 6 | 17 | 1;
  cIp: number;
  sIp: number;
  cPort: number;
  sPort: number;
  steps: Step[];
  next: number;
  tsUs: number;
  seq: [number, number];
}

/** Binary min-heap of flows keyed by the time of their next packet. */
class Heap {
  items: Flow[] = [];
  get size(): number {
    return this.items.length;
  }
  push(f: Flow): void {
    const a = this.items;
    a.push(f);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].tsUs <= f.tsUs) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = f;
  }
  peek(): Flow | undefined {
    return this.items[0];
  }
  pop(): Flow {
    const a = this.items, top = a[0], last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        let mv = last.tsUs;
        if (l < a.length && a[l].tsUs < mv) (m = l, mv = a[l].tsUs);
        if (r < a.length && a[r].tsUs < mv) m = r;
        if (m === i) break;
        a[i] = a[m];
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}

function expGap(rng: Rng, meanUs: number, capUs = 30_000_000): number {
  return Math.min(capUs, Math.max(1, Math.round(-Math.log(1 - rng.next()) * meanUs)));
}

/** The packet script of one flow. */
function script(
  rng: Rng,
  o: TrafficOptions,
): { kind: string; proto: 6 | 17 | 1; sPort: number; steps: Step[] } {
  const rtt = Math.round(Math.exp(rng.normal(Math.log(20_000), 0.8))); // µs, ~20 ms median
  const steps: Step[] = [];
  const add = (dir: 0 | 1, flags: number, payload: number, gapUs: number) =>
    steps.push({ dir, flags, payload, gapUs });
  const u = rng.next();
  if (u < o.longShare / 2) { // UDP stream (media, VPN): minutes of small packets both ways
    const n = 300 + rng.int(2000);
    add(0, 0, 100 + rng.int(1000), 0);
    for (let i = 1; i < n; i++) {
      add(rng.next() < 0.5 ? 0 : 1, 0, 60 + rng.int(1100), expGap(rng, 80_000, 2_000_000));
    }
    return { kind: "udp-stream", proto: 17, sPort: 4500, steps };
  }
  if (u < 0.22) { // DNS: query and (usually) answer
    add(0, 0, 30 + rng.int(40), 0);
    if (rng.next() < 0.95) add(1, 0, 60 + rng.int(400), rtt);
    return { kind: "dns", proto: 17, sPort: 53, steps };
  }
  if (u < 0.25) { // ping: 1-4 echo pairs a second apart
    const n = 1 + rng.int(4);
    for (let i = 0; i < n; i++) {
      add(0, 8, 56, i ? 1_000_000 : 0);
      add(1, 0, 56, rtt);
    }
    return { kind: "icmp", proto: 1, sPort: 0, steps };
  }
  const sPort = TCP_PORTS[rng.int(TCP_PORTS.length)];
  if (u < 0.33) { // refused or unanswered connection attempt
    add(0, F_SYN, 0, 0);
    if (rng.next() < 0.6) add(1, F_RST | F_ACK, 0, rtt);
    else add(0, F_SYN, 0, 1_000_000); // one retransmission, then silence
    return { kind: "tcp-refused", proto: 6, sPort, steps };
  }
  add(0, F_SYN, 0, 0);
  add(1, F_SYN | F_ACK, 0, rtt);
  add(0, F_ACK, 0, 200);
  const bulk = u > 1 - o.longShare / 2;
  const exchanges = bulk ? 200 + rng.int(1500) : Math.round(-Math.log(1 - rng.next()) * o.exchanges);
  for (let e = 0; e < exchanges; e++) {
    add(0, F_PSH | F_ACK, 40 + rng.int(600), e ? expGap(rng, bulk ? 150_000 : 2_000_000) : 100);
    const segs = 1 + (rng.next() < 0.3 ? rng.int(6) : 0);
    for (let s = 0; s < segs; s++) {
      add(1, (s === segs - 1 ? F_PSH : 0) | F_ACK, s === segs - 1 ? 1 + rng.int(1460) : 1460, s ? 50 : rtt);
    }
    if (segs > 1) add(0, F_ACK, 0, 300);
  }
  if (!bulk && rng.next() < o.silentEnd) return { kind: "tcp-silent", proto: 6, sPort, steps };
  add(0, F_FIN | F_ACK, 0, expGap(rng, 500_000));
  add(1, F_FIN | F_ACK, 0, rtt);
  add(0, F_ACK, 0, 100);
  return { kind: bulk ? "tcp-bulk" : "tcp", proto: 6, sPort, steps };
}

function ipChecksum(b: Uint8Array, o: number): number {
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (b[o + i] << 8) | b[o + i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Writes the packet of `f`'s current step into `frame`; returns [captured length, wire length]. */
function encode(f: Flow, frame: Uint8Array, dv: DataView): [number, number] {
  const st = f.steps[f.next];
  const fromClient = st.dir === 0;
  const l4 = f.proto === 6 ? 20 : 8;
  const ipLen = 20 + l4 + st.payload;
  // Ethernet: MACs derived from the addresses
  dv.setUint16(0, 0x0200);
  dv.setUint32(2, fromClient ? f.sIp : f.cIp);
  dv.setUint16(6, 0x0200);
  dv.setUint32(8, fromClient ? f.cIp : f.sIp);
  dv.setUint16(12, 0x0800);
  const ip = 14;
  frame[ip] = 0x45;
  frame[ip + 1] = 0;
  dv.setUint16(ip + 2, ipLen);
  dv.setUint16(ip + 4, f.seq[st.dir] & 0xffff);
  dv.setUint16(ip + 6, 0x4000);
  frame[ip + 8] = fromClient ? 64 : 56;
  frame[ip + 9] = f.proto;
  dv.setUint16(ip + 10, 0);
  dv.setUint32(ip + 12, fromClient ? f.cIp : f.sIp);
  dv.setUint32(ip + 16, fromClient ? f.sIp : f.cIp);
  dv.setUint16(ip + 10, ipChecksum(frame, ip));
  const t = ip + 20;
  if (f.proto === 1) {
    frame[t] = st.flags; // 8 echo request, 0 echo reply
    frame[t + 1] = 0;
    dv.setUint16(t + 2, 0);
    dv.setUint16(t + 4, f.cPort);
    dv.setUint16(t + 6, f.next >> 1);
  } else {
    dv.setUint16(t, fromClient ? f.cPort : f.sPort);
    dv.setUint16(t + 2, fromClient ? f.sPort : f.cPort);
    if (f.proto === 17) {
      dv.setUint16(t + 4, 8 + st.payload);
      dv.setUint16(t + 6, 0);
    } else {
      dv.setUint32(t + 4, f.seq[st.dir]);
      dv.setUint32(t + 8, st.flags & F_ACK ? f.seq[1 - st.dir] : 0);
      dv.setUint16(t + 12, (5 << 12) | st.flags);
      dv.setUint16(t + 14, 64240);
      dv.setUint32(t + 16, 0);
      f.seq[st.dir] = (f.seq[st.dir] + st.payload + (st.flags & (F_SYN | F_FIN) ? 1 : 0)) >>> 0;
    }
  }
  const wire = 14 + ipLen;
  const cap = Math.min(SNAPLEN, wire);
  frame.fill(0, t + l4, cap);
  return [cap, wire];
}

/** Writes the traffic to `file`; deterministic for given options. */
export function generateTraffic(
  file: string,
  o: TrafficOptions,
  onProgress?: (packets: number) => void,
): TrafficSummary {
  const rng = new Rng(o.seed);
  const w = PcapWriter.create(file, { snaplen: SNAPLEN });
  const heap = new Heap();
  const portsUsed = new Uint16Array(CLIENTS);
  const kinds: Record<string, number> = {};
  const frame = new Uint8Array(14 + 60 + 1500);
  const dv = new DataView(frame.buffer);
  const t0 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z, µs
  let nextStart = t0, flows = 0, packets = 0, planned = 0, bytes = 0, lastTs = t0;
  const startFlow = () => {
    const s = script(rng, o);
    const c = rng.int(CLIENTS);
    const port = 1024 + portsUsed[c]++;
    if (portsUsed[c] >= 64000) throw new Error("traffic: client ports exhausted; raise CLIENTS");
    const f: Flow = {
      proto: s.proto,
      cIp: (10 << 24) | (1 + Math.floor(c / 250)) << 8 | (1 + c % 250),
      sIp: (172 << 24) | (16 << 16) | (Math.floor(rng.int(SERVERS) / 250) << 8) | (1 + rng.int(250)),
      cPort: port,
      sPort: s.proto === 1 ? 0 : s.sPort,
      steps: s.steps,
      next: 0,
      tsUs: nextStart,
      seq: [rng.nextUint32(), rng.nextUint32()],
    };
    kinds[s.kind] = (kinds[s.kind] ?? 0) + 1;
    flows++;
    planned += s.steps.length;
    heap.push(f);
    nextStart += expGap(rng, 1e6 / o.flowRate);
  };
  const wanted = () => planned < o.minPackets || flows < o.minFlows;
  while (wanted() || heap.size) {
    while (wanted() && (heap.size === 0 || nextStart <= heap.peek()!.tsUs)) startFlow();
    const f = heap.pop();
    const [cap, wire] = encode(f, frame, dv);
    w.writePacket(f.tsUs, frame.subarray(0, cap), wire);
    lastTs = f.tsUs;
    bytes += wire;
    if ((++packets & 0xfffff) === 0) onProgress?.(packets);
    if (++f.next < f.steps.length) {
      f.tsUs += f.steps[f.next].gapUs;
      heap.push(f);
    }
  }
  w.close();
  return { file, packets, flows, kinds, seconds: (lastTs - t0) / 1e6, bytesOnWire: bytes };
}

if (import.meta.main) {
  const a = Deno.args;
  const get = (k: string, d: string) => (a.indexOf(`--${k}`) >= 0 ? a[a.indexOf(`--${k}`) + 1] : d);
  const profile = get("profile", "many") as keyof typeof PROFILES;
  if (!(profile in PROFILES)) throw new Error(`--profile expects many or long, found ${profile}`);
  const out = get("out", `/tmp/nadir-${profile}.pcap`);
  const o = { ...PROFILES[profile], seed: Number(get("seed", "1")) };
  if (a.includes("--packets")) o.minPackets = Number(get("packets", "0"));
  if (a.includes("--flows")) o.minFlows = Number(get("flows", "0"));
  const t = performance.now();
  const s = generateTraffic(out, o, (n) => Deno.stderr.writeSync(new TextEncoder().encode(`\r${n} packets`)));
  console.log(JSON.stringify({ ...s, generateSeconds: (performance.now() - t) / 1000 }, null, 2));
}
