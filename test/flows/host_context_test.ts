import assert from "node:assert/strict";
import { meterFile } from "../../src/flows/pipeline.ts";
import { dataPath } from "../_shared.ts";

type Row = Record<string, number | string>;

async function rows(file: string, features: "packets" | "context"): Promise<Row[]> {
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
