import assert from "node:assert/strict";
import type { Packet } from "../../src/capture/packet.ts";
import {
  Expiration,
  type Flow,
  FlowMeter,
  type MeterOptions,
  TCP,
  unmetered,
} from "../../src/flows/meter.ts";
import { basicFeatures, type BasicState } from "../../src/flows/features/basic.ts";

// Field values taken from zeek-ftp-bruteforce.pcap (frames 1-3 of tcp.stream 0), varied per test.
const A = "192.168.56.1", B = "192.168.56.101";
function pkt(tsUs: number, fromA: boolean, over: Partial<Packet> = {}): Packet {
  return {
    tsUs,
    wireLen: 66,
    capLen: 66,
    ifIndex: 0,
    linkType: 1,
    vlanId: 0,
    ipVersion: 4,
    srcIp: fromA ? A : B,
    dstIp: fromA ? B : A,
    protocol: 6,
    srcPort: fromA ? 54017 : 21,
    dstPort: fromA ? 21 : 54017,
    ipLen: 52,
    ttl: 64,
    transportHeaderLen: 32,
    payloadLen: 0,
    tcpFlags: TCP.ACK,
    tcpWindow: 16471,
    icmpType: -1,
    icmpCode: -1,
    fragment: false,
    laterFragment: false,
    tunnelId: 0,
    ...over,
  };
}
function run(pkts: Packet[], opts: Partial<MeterOptions> = {}): { flows: Flow[]; meter: FlowMeter } {
  const flows: Flow[] = [];
  const meter = new FlowMeter({ ...opts, onFlow: (f) => flows.push(f) });
  for (const p of pkts) meter.add(p);
  meter.flush();
  return { flows, meter };
}

Deno.test("meter: one bidirectional flow, direction from the first packet", () => {
  const { flows } = run([
    pkt(1_389_721_044_820_046, true, { wireLen: 78, tcpFlags: TCP.SYN }),
    pkt(1_389_721_044_820_089, false, { wireLen: 74, tcpFlags: TCP.SYN | TCP.ACK }),
    pkt(1_389_721_044_820_500, true),
  ]);
  assert.equal(flows.length, 1);
  const f = flows[0];
  assert.deepEqual([f.srcIp, f.srcPort, f.dstIp, f.dstPort], [A, 54017, B, 21]);
  assert.deepEqual([f.packets, f.bytes, f.s2dPackets, f.s2dBytes, f.d2sPackets, f.d2sBytes], [
    3,
    218,
    2,
    144,
    1,
    74,
  ]);
  assert.equal(f.expirationId, Expiration.FLUSH);
  // NFStream truncates µs to ms: 820046 µs → 820 ms, 820500 → 820 ms.
  assert.equal(f.lastMs - f.firstMs, 0);
});

Deno.test("meter: idle timeout in ms as NFStream (gap >= timeout starts a new flow)", () => {
  const t0 = 1_000_000_000;
  const { flows } = run([
    pkt(t0, true),
    pkt(t0 + 119_999_999, false),
    pkt(t0 + 119_999_999 + 120_000_000, true),
  ]);
  assert.deepEqual(flows.map((f) => f.packets), [2, 1]);
  assert.equal(flows[0].expirationId, Expiration.IDLE);
  const { flows: f2 } = run([pkt(t0, true), pkt(t0 + 5e6, true)], { idleTimeout: 5 });
  assert.equal(f2.length, 2, "custom idle timeout of 5 s cuts at exactly 5 s");
});

Deno.test("meter: active timeout cuts long flows; packet time is forced monotonic", () => {
  const t0 = 1_000_000_000;
  const pkts = Array.from({ length: 10 }, (_, i) => pkt(t0 + i * 1e6, i % 2 === 0));
  const { flows } = run(pkts, { activeTimeout: 3 });
  assert.deepEqual(flows.map((f) => f.packets), [3, 3, 3, 1]);
  assert.equal(flows[0].expirationId, Expiration.ACTIVE);
  // an out-of-order packet takes the clock's time
  const { flows: g } = run([pkt(t0 + 5e6, true), pkt(t0, false)]);
  assert.equal(g[0].lastUs, t0 + 5e6);
});

Deno.test("meter: non-IP packets are counted, not metered; later IPv4 fragments and unmeterable frames ignored", () => {
  const { flows, meter } = run([
    pkt(1, true, { ipVersion: 0, protocol: 0, srcIp: "", dstIp: "" }),
    pkt(2, true, { laterFragment: true, fragment: true, srcPort: 0, dstPort: 0 }),
    pkt(3, true, { meterable: false }),
    pkt(4, true),
  ]);
  assert.equal(flows.length, 1);
  assert.equal(meter.stats.nonIp, 1);
  assert.equal(meter.stats.ignored, 2);
  assert.equal(meter.stats.metered, 1);
});

Deno.test("meter: ICMP is keyed with ports 0; VLAN and tunnel id are part of the key", () => {
  const icmp = (t: number, a: boolean) =>
    pkt(t, a, { protocol: 1, srcPort: 0, dstPort: 0, icmpType: a ? 8 : 0, icmpCode: 0 });
  const { flows } = run([
    icmp(1, true),
    icmp(2, false),
    pkt(3, true, { vlanId: 7 }),
    pkt(4, true),
    pkt(5, true, { tunnelId: 1 }),
  ]);
  assert.deepEqual(flows.map((f) => f.packets).sort(), [1, 1, 1, 2]);
});

Deno.test("meter: flow-table cap evicts the least recently updated flow and counts it", () => {
  const pkts: Packet[] = [];
  for (let i = 0; i < 10; i++) pkts.push(pkt(i, true, { srcPort: 40000 + i }));
  pkts.push(pkt(20, true, { srcPort: 40000 })); // flow 0 was evicted: this starts a new flow
  const { flows, meter } = run(pkts, { maxFlows: 4 });
  assert.equal(meter.stats.evicted, 7);
  assert.equal(meter.stats.peakActive, 4);
  assert.equal(flows.filter((f) => f.expirationId === Expiration.EVICTED).length, 7);
  assert.equal(flows.reduce((s, f) => s + f.packets, 0), 11, "no packet lost");
});

Deno.test("meter: TCP termination off by default; on: RST ends, late ACK stays in the flow, SYN reopens", () => {
  const t0 = 1_000_000_000;
  const conn = (t: number) => [
    pkt(t, true, { tcpFlags: TCP.SYN }),
    pkt(t + 10, false, { tcpFlags: TCP.SYN | TCP.ACK }),
    pkt(t + 20, true, { tcpFlags: TCP.FIN | TCP.ACK }),
    pkt(t + 30, false, { tcpFlags: TCP.FIN | TCP.ACK }),
    pkt(t + 40, true, { tcpFlags: TCP.ACK }), // last ACK: no "TCP appendix" flow
  ];
  const two = [...conn(t0), ...conn(t0 + 100_000)];
  assert.deepEqual(run(two).flows.map((f) => f.packets), [10]);
  const on = run(two, { tcpTermination: true }).flows;
  assert.deepEqual(on.map((f) => f.packets), [5, 5]);
  assert.equal(on[0].expirationId, Expiration.TCP_END);
  const rst = run([
    pkt(t0, true, { tcpFlags: TCP.SYN }),
    pkt(t0 + 5, false, { tcpFlags: TCP.RST | TCP.ACK }),
    pkt(t0 + 3e6, true, { tcpFlags: TCP.ACK }),
  ], { tcpTermination: true }).flows;
  assert.deepEqual(rst.map((f) => f.packets), [2, 1], "after the 2 s linger a late packet starts a new flow");
});

Deno.test("meter: expire(now) ends idle flows for live use", () => {
  const flows: Flow[] = [];
  const m = new FlowMeter({ idleTimeout: 10, onFlow: (f) => flows.push(f) });
  m.add(pkt(1e9, true));
  m.add(pkt(1e9 + 5e6, true, { srcPort: 50000 }));
  m.expire(1e9 + 12e6);
  assert.equal(flows.length, 1);
  assert.equal(m.stats.active, 1);
});

Deno.test("basic: NFStream statistics (sizes, piat ms, sample stddev, flags per direction)", () => {
  const flows: Flow[] = [];
  const m = new FlowMeter({ features: basicFeatures, onFlow: (f) => flows.push(f) });
  // tcp.stream 0 of zeek-ftp-bruteforce.pcap, first 4 frames (times in µs, frame lengths)
  m.add(pkt(1_389_721_044_820_046, true, { wireLen: 78, tcpFlags: TCP.SYN }));
  m.add(pkt(1_389_721_044_820_089, false, { wireLen: 74, tcpFlags: TCP.SYN | TCP.ACK }));
  m.add(pkt(1_389_721_044_820_500, true, { wireLen: 66 }));
  m.add(pkt(1_389_721_044_826_077, false, { wireLen: 135, tcpFlags: TCP.ACK | TCP.PSH }));
  m.flush();
  const out: (number | string)[] = [];
  basicFeatures.row(flows[0], flows[0].state as BasicState, out);
  const row = Object.fromEntries(basicFeatures.columns.map((c, i) => [c.name, out[i]]));
  assert.equal(row.bidirectional_packets, 4);
  assert.equal(row.bidirectional_bytes, 353);
  assert.equal(row.bidirectional_min_ps, 66);
  assert.equal(row.bidirectional_max_ps, 135);
  assert.equal(row.bidirectional_mean_ps, 353 / 4);
  const m4 = 353 / 4;
  const sd = Math.sqrt([78, 74, 66, 135].reduce((s, x) => s + (x - m4) ** 2, 0) / 3);
  assert.ok(Math.abs((row.bidirectional_stddev_ps as number) - sd) < 1e-9);
  assert.equal(row.bidirectional_duration_ms, 6); // 826 − 820 ms
  assert.equal(row.bidirectional_max_piat_ms, 6);
  assert.equal(row.dst2src_mean_piat_ms, 6);
  assert.equal(row.bidirectional_syn_packets, 2);
  assert.equal(row.src2dst_syn_packets, 1);
  assert.equal(row.dst2src_psh_packets, 1);
  assert.equal(row.bidirectional_ack_packets, 3);
});

Deno.test("meter: 50k distinct IPv4 flows (hashed table with chains) keep every packet in its own flow", () => {
  const flows: Flow[] = [];
  const m = new FlowMeter({ onFlow: (f) => flows.push(f) });
  const n = 50_000;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < n; i++) {
      const src4 = (10 << 24) | (i >> 8), dst4 = (192 << 24) | (168 << 16) | (i & 255);
      const fwd = pass === 0;
      m.add(pkt(1e9 + pass * 1e6 + i, fwd, {
        srcIp4: fwd ? src4 : dst4,
        dstIp4: fwd ? dst4 : src4,
        srcPort: fwd ? 1024 + (i % 7) : 80,
        dstPort: fwd ? 80 : 1024 + (i % 7),
      }));
    }
  }
  m.flush();
  assert.equal(flows.length, n);
  assert.ok(flows.every((f) => f.packets === 2 && f.s2dPackets === 1 && f.d2sPackets === 1));
  assert.equal(m.stats.active, 0);
});

Deno.test("FlowMeter.pass: meters that split a capture end every flow at the same packet as one meter", async () => {
  const { forEachPacket } = await import("../../src/capture/reader.ts");
  const { dataPath } = await import("../_shared.ts");
  // idle 15 s and TCP ends: on this 10-minute capture most flows end while it runs, not at the flush.
  const opts = { idleTimeout: 15, tcpTermination: true };
  const ended = (meter: () => FlowMeter, out: string[]) => (f: Flow) =>
    out.push(
      `${f.srcIp}:${f.srcPort}>${f.dstIp}:${f.dstPort}/${f.protocol} ${f.packets} ${f.expirationId} ${meter().nowUs}`,
    );
  const one: string[] = [];
  const single: FlowMeter = new FlowMeter({ ...opts, onFlow: ended(() => single, one) });
  const split: string[] = [];
  const parts: FlowMeter[] = [0, 1].map((k) =>
    new FlowMeter({ ...opts, ids: { first: k, step: 2 }, onFlow: ended(() => parts[k], split) })
  );
  await forEachPacket(dataPath("pcaps", "stratosphere-test7-malicious.pcap"), (p) => {
    single.add(p);
    const k = (p.srcPort ^ p.dstPort) & 1; // same for both directions
    parts[k].add(p);
    parts[1 - k].pass(p.tsUs, unmetered(p) === 0);
  });
  for (const m of [single, ...parts]) m.flush();
  assert.ok(one.length > 100);
  assert.ok(one.filter((l) => / 0 \d+$/.test(l)).length > 20, "flows end by idle timeout mid-capture");
  assert.deepEqual(split.sort(), one.sort());
  assert.equal(parts[0].stats.created + parts[1].stats.created, single.stats.created);
});

Deno.test("meter: the compact flow record reads back every value, past the int32 ranges it packs into", () => {
  // Addresses >= 128.0.0.0 (stored as signed 32-bit), the largest VLAN id, a 32-bit tunnel id, and times
  // 3 h apart: offsets past 2^31 µs fall back to doubles and must stay exact.
  const hi = (203 << 24) | (113 << 8) | 9, lo = (198 << 24) | (51 << 16) | (100 << 8) | 7;
  const t0 = 1_700_000_000_123_457, later = t0 + 3 * 3600e6 + 1;
  const over = { vlanId: 4095, tunnelId: 0xfffffffe, protocol: 17, srcPort: 5353, dstPort: 53 };
  const fwd = { ...over, srcIp4: hi, dstIp4: lo, srcIp: "203.0.113.9", dstIp: "198.51.100.7" };
  const rev = {
    ...over,
    srcIp4: lo,
    dstIp4: hi,
    srcIp: "198.51.100.7",
    dstIp: "203.0.113.9",
    srcPort: 53,
    dstPort: 5353,
  };
  const flows: Flow[] = [];
  const m = new FlowMeter({ idleTimeout: 1e6, activeTimeout: 1e6, onFlow: (f) => flows.push(f) });
  m.add(pkt(t0, true, fwd));
  m.add(pkt(t0 + 10, true, fwd));
  m.add(pkt(later, false, rev));
  m.add(pkt(later + 5, true, fwd));
  m.flush();
  assert.equal(flows.length, 1);
  const f = flows[0];
  assert.deepEqual([f.srcIp, f.srcPort, f.dstIp, f.dstPort], ["203.0.113.9", 5353, "198.51.100.7", 53]);
  assert.deepEqual([f.protocol, f.ipVersion, f.vlanId, f.tunnelId], [17, 4, 4095, 0xfffffffe]);
  assert.deepEqual([f.firstUs, f.s2dFirstUs, f.s2dLastUs, f.d2sFirstUs, f.d2sLastUs, f.lastUs], [
    t0,
    t0,
    later + 5,
    later,
    later,
    later + 5,
  ]);
  assert.deepEqual([f.packets, f.bytes, f.closedUs, f.expirationId], [4, 264, 0, Expiration.FLUSH]);

  // A flow that never heard back reports 0 for its dst→src times; a RST records the close time.
  const one: Flow[] = [];
  const t = new FlowMeter({ tcpTermination: true, onFlow: (x) => one.push(x) });
  t.add(pkt(t0, true, { tcpFlags: TCP.SYN }));
  t.add(pkt(t0 + 7, true, { tcpFlags: TCP.RST }));
  t.flush();
  assert.deepEqual([one[0].d2sFirstUs, one[0].d2sLastUs, one[0].closedUs, one[0].tcpClose], [
    0,
    0,
    t0 + 7,
    4,
  ]);
  assert.equal(one[0].expirationId, Expiration.TCP_END);
});

Deno.test("meter: ports up to 65535 share one packed field; a port past 16 bits is refused, not folded", () => {
  // Ports >= 32768 set the packed field's sign bit; both directions must still find the one flow.
  const ip = { srcIp4: (10 << 24) | 1, dstIp4: (10 << 24) | 2 };
  const rev = { srcIp4: ip.dstIp4, dstIp4: ip.srcIp4, srcPort: 40000, dstPort: 65535 };
  const { flows } = run([
    pkt(1e12, true, { ...ip, srcPort: 65535, dstPort: 40000 }),
    pkt(1e12 + 1, false, rev),
    pkt(1e12 + 2, true, { ...ip, srcPort: 65535, dstPort: 40000 }),
  ]);
  assert.equal(flows.length, 1);
  assert.deepEqual([flows[0].srcPort, flows[0].dstPort, flows[0].s2dPackets, flows[0].d2sPackets], [
    65535,
    40000,
    2,
    1,
  ]);
  const m = new FlowMeter({ onFlow: () => {} });
  assert.throws(() => m.add(pkt(1e12, true, { srcPort: 70000 })), /expected ports 0–65535, found 70000 → 21/);
});

Deno.test("meter: the first packet's time reads back exactly: fractional microseconds, past 2038", () => {
  // Whole seconds and the rest are kept apart as integers where they fit; any other time must stay exact.
  for (const t0 of [1_700_000_000_123_456.5, 2_200_000_000_000_001, 1_000_000, 0]) {
    const { flows } = run([pkt(t0, true), pkt(t0 + 3, false)]);
    assert.deepEqual(
      [flows[0].firstUs, flows[0].lastUs, flows[0].d2sFirstUs],
      [t0, t0 + 3, t0 + 3],
      `t0 ${t0}`,
    );
  }
});

Deno.test("meter: an IPv4 flow leaves its hash chain when it ends (the record recomputes its bucket)", () => {
  // VLAN 4095, a 32-bit tunnel id and UDP: every field of the key goes into the recomputed hash.
  const over = {
    vlanId: 4095,
    tunnelId: 0xfffffffe,
    protocol: 17,
    srcIp4: (203 << 24) | 9,
    dstIp4: (10 << 24) | 7,
  };
  const flows: Flow[] = [];
  const m = new FlowMeter({ idleTimeout: 1, onFlow: (f) => flows.push(f) });
  for (let i = 0; i < 5000; i++) m.add(pkt(1e12 + i, true, { ...over, srcPort: 1024 + i }));
  m.expire(1e12 + 3e6);
  assert.deepEqual([flows.length, m.stats.active], [5000, 0]);
  // The same keys again: new flows, none found in a chain it should have left.
  for (let i = 0; i < 5000; i++) m.add(pkt(1e12 + 4e6 + i, true, { ...over, srcPort: 1024 + i }));
  assert.equal(m.stats.created, 10_000);
  m.flush();
  assert.deepEqual([flows.length, m.stats.active, m.stats.ended], [10_000, 0, 10_000]);
  assert.ok(flows.every((f) => f.packets === 1 && f.vlanId === 4095 && f.tunnelId === 0xfffffffe));
});

Deno.test("meter: the ordered passes (EndPhase) end flows in the order they promise, on every vendored capture", async () => {
  const { forEachPacket } = await import("../../src/capture/reader.ts");
  const { dataPath } = await import("../_shared.ts");
  const { EndPhase } = await import("../../src/flows/meter.ts");
  const files = [...Deno.readDirSync(dataPath("pcaps"))].map((e) => e.name).filter((n) =>
    /\.pcap(ng)?$/.test(n)
  );
  const seen = [0, 0, 0];
  for (const name of files.sort()) {
    // Short timers, so that lingers run out and idle scans end flows often, at clocks held by packets whose
    // time runs backwards too.
    let clock = -Infinity, phase = -1, order = -Infinity;
    let scanMaxUs = -Infinity, scanClock = -Infinity;
    const meter: FlowMeter = new FlowMeter({
      idleTimeout: 2,
      tcpTermination: true,
      tcpLinger: 1,
      onFlow: (f) => {
        const c = meter.nowUs, p = meter.endPhase;
        const at = p === EndPhase.OTHER ? f.lastUs : meter.endOrderUs;
        seen[p]++;
        if (c !== clock) (clock = c, phase = -1, order = -Infinity);
        const where = `${name}: flow ${f.id} ended at clock ${c} in pass ${p}`;
        // At one clock: lingers, then the scan, then the rest; within a pass of the first two, never back.
        assert.ok(p >= phase, `${where}, after pass ${phase}`);
        if (p !== phase) order = -Infinity;
        if (p !== EndPhase.OTHER) assert.ok(at >= order, `${where}: ${at} after ${order}`);
        if (p === EndPhase.LINGER) assert.equal(at, f.closedUs, where);
        if (p === EndPhase.SCAN) {
          assert.equal(at, f.lastUs, where);
          scanMaxUs = scanClock === c ? Math.max(scanMaxUs, at) : at;
          scanClock = c;
        }
        phase = p;
        order = at;
      },
    });
    await forEachPacket(dataPath("pcaps", name), (p) => {
      meter.add(p);
      // Every flow the scan left was seen later than all it ended.
      if (scanClock === meter.nowUs) {
        for (const f of meter.flows()) {
          assert.ok(f.lastUs > scanMaxUs, `${name}: flow ${f.id} left by the scan`);
        }
        scanClock = -Infinity;
      }
    });
    meter.flush();
  }
  assert.ok(seen[EndPhase.LINGER] > 100 && seen[EndPhase.SCAN] > 100, `both passes ran: ${seen}`);
});
