import assert from "node:assert/strict";
import { coverageFromAlerts, covered, matchAlerts, protoNumber } from "../../src/eval/match.ts";

const flow = (over: Record<string, unknown> = {}) => ({
  src: "192.168.10.50",
  srcPort: 52712,
  dst: "172.16.0.1",
  dstPort: 21,
  proto: 6,
  start: 10_000,
  end: 20_000,
  ...over,
});
const alert = (over: Record<string, unknown> = {}) => ({
  src: "192.168.10.50",
  srcPort: 52712,
  dst: "172.16.0.1",
  dstPort: 21,
  proto: "TCP",
  ts: 15_000,
  rule: "1:1:1",
  ...over,
});

Deno.test("match: same 5-tuple, either direction, inside the window", () => {
  const flows = [flow(), flow({ srcPort: 1 }), flow()];
  const alerts = [
    alert(),
    alert({ src: "172.16.0.1", srcPort: 21, dst: "192.168.10.50", dstPort: 52712, rule: "1:2:1" }), // reverse direction
    alert({ ts: 25_000 }), // after the flow end + tolerance
  ];
  const m = matchAlerts(flows, alerts, { toleranceMs: 1000 });
  assert.deepEqual([...m.flagged], [1, 0, 1]);
  assert.deepEqual([...m.alertCounts], [2, 0, 2]);
  assert.deepEqual(m.rules[0], ["1:1:1", "1:2:1"]);
  assert.equal(m.alertsMatched, 2);
  assert.equal(m.alertsTotal, 3);
  // tolerance widens the window; window:false ignores time entirely
  assert.deepEqual([...matchAlerts(flows, alerts, { toleranceMs: 6000 }).alertCounts], [3, 0, 3]);
  assert.deepEqual([...matchAlerts(flows, [alert({ ts: 1e12 })], { window: false }).flagged], [1, 0, 1]);
});

Deno.test("match: protocol must agree; unknown alert protocol matches on addresses", () => {
  const flows = [flow()];
  assert.equal(matchAlerts(flows, [alert({ proto: "UDP" })]).flagged[0], 0);
  assert.equal(matchAlerts(flows, [alert({ proto: "IP" })]).flagged[0], 1);
  assert.equal(protoNumber("tcp"), 6);
  assert.equal(protoNumber("17"), 17);
  assert.equal(protoNumber("IP"), -1);
});

Deno.test("match: ICMP ignores ports; timezone offset shifts the flow clock", () => {
  const icmp = [flow({ proto: 1, srcPort: 8, dstPort: 0 })];
  assert.equal(matchAlerts(icmp, [alert({ proto: "ICMP", srcPort: 0, dstPort: 0 })]).flagged[0], 1);
  assert.equal(
    matchAlerts(icmp, [alert({ proto: "ICMP", srcPort: 0, dstPort: 0 })], { icmpIgnorePorts: false })
      .flagged[0],
    0,
  );
  // flows written in UTC-3 local time: 10:00 local = 13:00 UTC
  const local = [flow({ start: Date.UTC(2017, 6, 4, 10), end: Date.UTC(2017, 6, 4, 10, 1) })];
  const utcAlert = [alert({ ts: Date.UTC(2017, 6, 4, 13, 0, 30) })];
  assert.equal(matchAlerts(local, utcAlert).flagged[0], 0);
  assert.equal(matchAlerts(local, utcAlert, { tzOffsetMinutes: -180 }).flagged[0], 1);
});

Deno.test("coverage: alert spans and flow overlap", () => {
  const iv = coverageFromAlerts([{ source: "a", ts: [100, 50, 300] }, { source: "empty", ts: [] }], 10);
  assert.deepEqual(iv, [{ start: 40, end: 310, source: "a" }]);
  const flows = [flow({ start: 0, end: 45 }), flow({ start: 311, end: 400 }), flow({ start: 0, end: 1000 })];
  assert.deepEqual([...covered(flows, iv)], [1, 0, 1]);
});

Deno.test("labelFlowsWithAlerts labels nadir flows and CIC flows with the matcher", async () => {
  const pl = (await import("nodejs-polars")).default;
  const { labelFlowsWithAlerts } = await import("../../src/eval/alert_labels.ts");
  const flows = pl.DataFrame({
    src_ip: ["10.0.0.1", "10.0.0.3"],
    src_port: [5000, 5001],
    dst_ip: ["10.0.0.2", "10.0.0.2"],
    dst_port: [21, 21],
    protocol: [6, 6],
    bidirectional_first_seen_ms: [1000, 1000],
    bidirectional_last_seen_ms: [2000, 2000],
    label: [0, 0],
  });
  const a = [{
    engine: "snort" as const,
    ts: 1500,
    proto: "TCP",
    src: "10.0.0.2",
    srcPort: 21,
    dst: "10.0.0.1",
    dstPort: 5000,
    rule: "1:9:2",
    line: 1,
  }];
  const r = labelFlowsWithAlerts(flows, a);
  assert.equal(r.flagged, 1);
  assert.deepEqual(r.df.getColumn("label").toArray(), [1, 0]);
  assert.deepEqual(r.df.getColumn("ids_rules").toArray(), ["1:9:2", ""]);
  assert.equal(r.df.width, flows.width + 3);
  assert.throws(() => labelFlowsWithAlerts(pl.DataFrame({ a: [1] }), a), /lacks "src_ip"/);
});
