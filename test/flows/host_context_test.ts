import assert from "node:assert/strict";
import { meterFile } from "../../src/flows/pipeline.ts";
import { dataPath } from "../_shared.ts";

type Row = Record<string, number | string>;

async function rows(file: string, features: "packets" | "context" | "hosts"): Promise<Row[]> {
  const out: Row[] = [];
  await meterFile(file, {
    features,
    onRow: (r, cols) => out.push(Object.fromEntries(cols.map((c, i) => [c.name, r[i]]))),
  });
  return out;
}

Deno.test("context feature set: each flow carries its source's earlier flows, recomputed independently", async () => {
  const file = dataPath("pcaps", "synscan.pcapng");
  const packets = await rows(file, "packets"), context = await rows(file, "context");
  assert.equal(context.length, packets.length);
  const bySrc = new Map<string, Row[]>();
  let scanning = 0;
  for (let k = 0; k < context.length; k++) {
    const c = context[k], p = packets[k];
    for (const [name, v] of Object.entries(p)) assert.equal(c[name], v, `flow ${k} ${name}`);
    const past = (bySrc.get(String(p.src_ip)) ?? []).slice(-64);
    const now = Number(p.bidirectional_last_seen_ms);
    const recent = past.filter((q) => now - Number(q.bidirectional_last_seen_ms) <= 60_000);
    assert.equal(c.src_flows_60s, recent.length, `flow ${k}`);
    assert.equal(c.src_dst_ports_60s, new Set(recent.map((q) => q.dst_port)).size, `flow ${k}`);
    assert.equal(c.src_dst_ips_60s, new Set(recent.map((q) => q.dst_ip)).size, `flow ${k}`);
    for (let i = 1; i <= 4; i++) {
      const q = past[past.length - i];
      assert.equal(c[`src_prev${i}_dst_port`], q ? q.dst_port : 0, `flow ${k} prev ${i}`);
      assert.equal(c[`src_prev${i}_packets`], q ? q.bidirectional_packets : 0);
      assert.equal(
        c[`src_prev${i}_gap_ms`],
        q ? Math.max(0, now - Number(q.bidirectional_last_seen_ms)) : -1,
      );
    }
    if (Number(c.src_dst_ports_60s) > 50) scanning++;
    bySrc.set(String(p.src_ip), [...(bySrc.get(String(p.src_ip)) ?? []), p]);
  }
  // The scanner touches many ports within a minute: its flows say so, one by one.
  assert.ok(scanning > 1000, `${scanning} flows see > 50 distinct ports from their source`);
});

/** The `hosts` rows of `file`, each checked against its own recomputation from the `context` rows. */
async function checkedHosts(file: string): Promise<Row[]> {
  const context = await rows(file, "context"), hosts = await rows(file, "hosts");
  assert.equal(hosts.length, context.length);
  const byDst = new Map<string, Row[]>(), bySvc = new Map<string, Row[]>();
  for (let k = 0; k < hosts.length; k++) {
    const h = hosts[k], c = context[k];
    for (const [name, v] of Object.entries(c)) assert.equal(h[name], v, `flow ${k} ${name}`);
    const now = Number(c.bidirectional_last_seen_ms);
    const within = (q: Row) => now - Number(q.bidirectional_last_seen_ms) <= 60_000;
    const recent = (byDst.get(String(c.dst_ip)) ?? []).slice(-64).filter(within);
    assert.equal(h.dst_flows_60s, recent.length, `flow ${k}`);
    assert.equal(h.dst_src_ips_60s, new Set(recent.map((q) => q.src_ip)).size, `flow ${k}`);
    assert.equal(h.dst_same_port_60s, recent.filter((q) => q.dst_port === c.dst_port).length, `flow ${k}`);
    const svc = `${c.protocol}/${c.dst_port}`;
    const svcRecent = (bySvc.get(svc) ?? []).slice(-64).filter(within);
    assert.equal(h.svc_flows_60s, svcRecent.length, `flow ${k}`);
    assert.equal(h.svc_src_ips_60s, new Set(svcRecent.map((q) => q.src_ip)).size, `flow ${k}`);
    assert.equal(h.svc_dst_ips_60s, new Set(svcRecent.map((q) => q.dst_ip)).size, `flow ${k}`);
    byDst.set(String(c.dst_ip), [...(byDst.get(String(c.dst_ip)) ?? []), c]);
    bySvc.set(svc, [...(bySvc.get(svc) ?? []), c]);
  }
  return hosts;
}

Deno.test("hosts feature set: context plus the destination's and the service's recent flows, recomputed independently", async () => {
  // A DHCP flood spoofs sources and destinations alike, one flow each: nothing on either host's side, and a
  // crowd of sources on its service's.
  const flood = await checkedHosts(dataPath("pcaps", "zeek-dhcp-dhcp_flood.pcap"));
  const crowd = flood.filter((h) => h.src_flows_60s === 0 && Number(h.svc_src_ips_60s) > 20).length;
  assert.ok(crowd > 100, `${crowd} flows with a fresh source and > 20 other sources at their service`);
  // A SYN scan: one target, many ports; its destination's side says so.
  const scan = await checkedHosts(dataPath("pcaps", "synscan.pcapng"));
  const target = scan.filter((h) => Number(h.dst_flows_60s) > 50 && Number(h.dst_same_port_60s) < 5).length;
  assert.ok(target > 1000, `${target} flows whose destination saw > 50 flows, to other ports`);
  // A client browsing: one source, many servers on the same ports (so sources and destinations differ).
  const web = await checkedHosts(dataPath("pcaps", "http_espn.pcapng"));
  assert.ok(web.some((h) => Number(h.svc_dst_ips_60s) > Number(h.svc_src_ips_60s) + 2));
});
