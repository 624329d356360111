import assert from "node:assert/strict";
import { join } from "node:path";
import { dataPath, needShared, sharedPath, testWhen } from "../_shared.ts";
import {
  detectFormat,
  parseEve,
  parseEveTime,
  parseSnortFast,
  parseSnortJson,
  parseSnortTime,
  readAlerts,
  splitAddrPort,
} from "../../src/ids/mod.ts";
import { InputError } from "../../src/util/errors.ts";

Deno.test("snort timestamps: local time, year and offset options", () => {
  assert.equal(parseSnortTime("07/07-19:40:44.228212", 2017), Date.UTC(2017, 6, 7, 19, 40, 44) + 228.212);
  // local = UTC-3 → add 3 h to get UTC
  assert.equal(parseSnortTime("07/07-19:40:44", 2017, -180), Date.UTC(2017, 6, 7, 22, 40, 44));
  assert.equal(parseSnortTime("07/05/17-11:42:45.5", 1999), Date.UTC(2017, 6, 5, 11, 42, 45, 500));
  assert.throws(() => parseSnortTime("2017-07-07 19:40", 2017), /MM\/DD-hh:mm:ss/);
  assert.throws(
    () => parseSnortTime("13/07-19:40:44", 2017),
    /expected a month 01–12, found "13\/07-19:40:44"/,
  );
});

Deno.test("ip:port splitting, IPv4 and IPv6", () => {
  assert.deepEqual(splitAddrPort("172.16.0.1:0"), { addr: "172.16.0.1", port: 0 });
  assert.deepEqual(splitAddrPort("fe80::1:443"), { addr: "fe80::1", port: 443 });
  assert.deepEqual(splitAddrPort("[fe80::1]:443"), { addr: "fe80::1", port: 443 });
  assert.deepEqual(splitAddrPort("10.0.0.1"), { addr: "10.0.0.1", port: 0 });
  assert.throws(() => splitAddrPort("1.2.3.4:70000"), /ip:port/);
});

Deno.test("snort3 alert_json: vendored real slices parse completely", async () => {
  const r = await readAlerts(dataPath("alerts", "snort3-cicids2017", "Tuesday_start.json"), { year: 2017 });
  assert.equal(r.format, "snort-json");
  assert.equal(r.total, 55);
  assert.equal(r.alerts.length, 55);
  assert.equal(r.skipped.length, 0);
  for (const a of r.alerts) {
    assert.equal(new Date(a.ts).getUTCMonth(), 6);
    assert.equal(new Date(a.ts).getUTCDate(), 4); // Tuesday = 2017-07-04
    assert.match(a.rule, /^\d+:\d+:\d+$/);
  }
  const w = await readAlerts(dataPath("alerts", "snort3-cicids2017", "Wednesday_start.json"), { year: 2017 });
  assert.deepEqual(w.alerts[0], {
    engine: "snort",
    ts: Date.UTC(2017, 6, 5, 11, 42, 44) + 722.002,
    proto: "TCP",
    src: "13.107.4.50",
    srcPort: 80,
    dst: "192.168.10.15",
    dstPort: 49451,
    rule: "1:11192:20",
    message: undefined,
    classification: undefined,
    priority: undefined,
    line: 1,
  });
});

testWhen(
  [needShared("snort3 alert files", "alerts", "snort3-cicids2017")],
  "snort3 alert_json: every shared file parses without skips",
  async () => {
    const dir = sharedPath("alerts", "snort3-cicids2017");
    let n = 0;
    for (const e of Deno.readDirSync(dir)) {
      if (!e.name.endsWith(".json")) continue;
      const r = await readAlerts(join(dir, e.name), { year: 2017 });
      assert.equal(r.skipped.length, 0, `${e.name}: ${JSON.stringify(r.skipped.slice(0, 2))}`);
      assert.equal(r.alerts.length, r.total);
      n += r.alerts.length;
    }
    assert.ok(n > 20000, `read ${n} alerts`);
  },
);

Deno.test("snort3 alert_json: malformed lines are counted with line numbers, or thrown in strict mode", () => {
  const good =
    '{ "timestamp" : "07/07-19:40:44.228212", "proto" : "TCP", "src_ap" : "1.2.3.4:80", "dst_ap" : "5.6.7.8:1234", "rule" : "1:399:9" }';
  const text = [
    good,
    "{ truncated",
    "",
    '{"timestamp":"07/07-19:40:44","src_ap":"1.2.3.4:1"}',
    '{"timestamp":"yesterday","src_ap":"1.2.3.4:1","dst_ap":"1.1.1.1:2","rule":"1:1:1"}',
  ].join("\n");
  const r = parseSnortJson(text, { year: 2017 });
  assert.equal(r.items.length, 1);
  assert.equal(r.total, 4);
  assert.deepEqual(r.skipped.map((s) => s.line), [2, 4, 5]);
  assert.match(r.skipped[0].reason, /not valid JSON/);
  assert.match(r.skipped[1].reason, /dst_ap/);
  assert.match(r.skipped[2].reason, /yesterday/);
  assert.throws(() => parseSnortJson(text, { year: 2017, strict: true, file: "x.json" }), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match((e as Error).message, /^x\.json:2: not valid JSON/);
    return true;
  });
});

Deno.test("snort 2/3 alert_fast (hand-written fixture) with malformed lines", async () => {
  const text = (await Deno.readTextFile(new URL("./fixtures/alert_fast.txt", import.meta.url))).replace(
    /^#.*/,
    "",
  );
  assert.equal(detectFormat(text), "snort-fast");
  const r = parseSnortFast(text, { year: 2017 });
  assert.equal(r.items.length, 3);
  assert.deepEqual(r.skipped.map((s) => s.line), [5, 6, 7]);
  const [icmp, s2, s3] = r.items;
  assert.deepEqual([icmp.proto, icmp.src, icmp.srcPort, icmp.dst, icmp.rule, icmp.priority], [
    "ICMP",
    "172.16.0.1",
    0,
    "192.168.10.14",
    "1:399:9",
    3,
  ]);
  assert.equal(icmp.message, "PROTOCOL-ICMP Destination Unreachable Host Unreachable");
  assert.equal(icmp.classification, "Misc activity");
  assert.equal(s2.message, "FILE-IDENTIFY Microsoft executable file download request");
  assert.deepEqual([s2.src, s2.srcPort, s2.dst, s2.dstPort], ["13.107.4.50", 80, "192.168.10.15", 49451]);
  assert.equal(s3.ts, Date.UTC(2017, 6, 5, 11, 42, 45) + 0.001);
});

Deno.test("suricata eve: JSON lines with alert + flow events (vendored real slice)", async () => {
  const text = await Deno.readTextFile(dataPath("alerts", "suricata", "stratosphere-test6-eve-head300.json"));
  const r = parseEve(text);
  assert.deepEqual(r.eventTypes, { alert: 157, dns: 134, flow: 8, tls: 1 });
  assert.equal(r.alerts.items.length, 157);
  assert.equal(r.flows.items.length, 8);
  assert.equal(r.skipped.length, 0);
  const a = r.alerts.items[0];
  assert.equal(a.ts, Date.UTC(2021, 5, 6, 13, 59, 46) + 457.984);
  assert.equal(a.rule, "1:2403388:66418");
  assert.equal(a.message, "ET CINS Active Threat Intelligence Poor Reputation IP group 89");
  const f = r.flows.items[0];
  assert.ok(f.end >= f.start && f.pktsToServer > 0);
});

Deno.test("suricata eve: JSON array export (vendored honeypot sample)", async () => {
  const h = await readAlerts(dataPath("alerts", "suricata", "honeypot-2018-alerts-only.json"));
  assert.equal(h.format, "eve");
  assert.ok(h.alerts.length > 20 && h.skipped.length === 0);
  assert.equal(h.alerts[0].ts, Date.UTC(2019, 0, 2, 3, 50, 11) + 315.11);
});

testWhen(
  [needShared("suricata eve files", "alerts", "suricata")],
  "suricata eve: every shared file",
  async () => {
    const dir = sharedPath("alerts", "suricata");
    const full = parseEve(await Deno.readTextFile(join(dir, "stratosphere-test6-eve.json")));
    assert.equal(full.alerts.items.length, 745);
    assert.equal(full.flows.items.length, 3512);
    for (const n of ["first-org-conf-2015-alerts-only.json", "wrccdc-2017-alerts-only.json"]) {
      const r = await readAlerts(join(dir, n));
      assert.ok(r.alerts.length > 0 && r.skipped.length === 0, n);
    }
  },
);

Deno.test("suricata eve: malformed events are counted or thrown", () => {
  assert.equal(parseEveTime("2015-03-29T11:01:38.5-0600"), Date.UTC(2015, 2, 29, 17, 1, 38, 500));
  assert.equal(parseEveTime("2019-01-02T03:50:11", 60), Date.UTC(2019, 0, 2, 2, 50, 11));
  const text = [
    '{"timestamp":"2021-06-06T15:59:46+0200","event_type":"alert","src_ip":"1.2.3.4","src_port":1,"dest_ip":"5.6.7.8","dest_port":2,"proto":"TCP","alert":{"signature_id":1,"rev":1}}',
    "not json",
    '{"timestamp":"2021-06-06T15:59:46+0200","event_type":"alert","src_ip":"1.2.3.4","dest_ip":"5.6.7.8","proto":"TCP"}',
    '{"timestamp":"2021-06-06T15:59:46+0200","event_type":"flow","src_ip":"1.2.3.4","src_port":"x","dest_ip":"5.6.7.8","proto":"TCP","flow":{}}',
  ].join("\n");
  const r = parseEve(text);
  assert.equal(r.alerts.items.length, 1);
  assert.deepEqual(r.skipped.map((s) => s.line), [2, 3, 4]);
  assert.match(r.skipped[1].reason, /"alert" object/);
  assert.match(r.skipped[2].reason, /src_port/);
  assert.throws(() => parseEve("[1, 2", { file: "e.json" }), /e\.json: not a valid JSON array/);
  assert.throws(() => parseEve(text, { strict: true, file: "e.json" }), /e\.json:2: not valid JSON/);
});
