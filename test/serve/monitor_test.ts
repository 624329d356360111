import assert from "node:assert/strict";
import { join } from "node:path";
import { damageSummary, forEachPacket, parseCaptureBytes, readAllPackets } from "../../src/capture/reader.ts";
import { runMonitor } from "../../src/serve/run.ts";
import type { MonitorMetrics } from "../../src/serve/metrics.ts";
import { alertProblems } from "../../src/serve/alert.ts";
import { configProblems, loadConfig } from "../../src/serve/config.ts";
import {
  EVIDENCE_FLOW_OVERHEAD,
  EVIDENCE_PACKET_OVERHEAD,
  EvidenceBuffer,
} from "../../src/serve/evidence.ts";
import { AlertFilter, Cidr, parseIp } from "../../src/serve/rules.ts";
import { dataPath, nadirArgs, ROOT } from "../_shared.ts";
import { benignFlowModel, concatCaptures, repeatCapture } from "./_helpers.ts";
import { afterImageFeaturizer } from "../../src/serve/featurizer.ts";
import type { Alert } from "../../src/serve/alert.ts";
import { pcapFast, withProgress } from "../../src/serve/pipeline/source.ts";

Deno.test("monitor replays a capture: eve-style alerts, evidence pcaps, consistent counters", async () => {
  const model = await benignFlowModel();
  const out = Deno.makeTempDirSync({ prefix: "nadir-mon-" });
  const pcap = dataPath("pcaps", "zeek-ftp-bruteforce.pcap");
  let metrics: MonitorMetrics | undefined;
  const r = await runMonitor(
    {
      source: { pcap },
      model,
      alerts: { file: join(out, "alerts.jsonl") },
      rules: { dedup_window_s: 0, per_host_per_minute: 0 },
    },
    { onReady: (x) => (metrics = x.metrics), log: () => {} },
  );
  let n = 0;
  await forEachPacket(pcap, () => {
    n++;
  });
  assert.equal(r.packets, n, "every packet reached the pipeline");
  assert.equal(metrics!.flowsEnded.get(), r.flows, "every flow ended at shutdown");
  assert.ok(metrics!.flowsScored.get() >= r.flows, "every flow scored at least once");
  const records = Deno.readTextFileSync(join(out, "alerts.jsonl")).split("\n").filter(Boolean);
  assert.equal(records.length, r.alerts + r.driftEvents, "alerts and drift events share the file");
  const lines = records.filter((l) => JSON.parse(l).event_type === "alert");
  assert.ok(lines.length >= 1, "the brute force raises alerts");
  assert.equal(lines.length, r.alerts);
  for (const l of lines) {
    const a = JSON.parse(l);
    assert.deepEqual(alertProblems(a), []);
    assert.match(a.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(a.score > a.threshold);
    assert.ok([1, 2, 3].includes(a.severity) && a.alert.severity === a.severity);
    assert.ok(a.top_features.length > 0 && typeof a.top_features[0].name === "string");
    assert.ok(a.explanation.length > 10);
    // Evidence: a pcap whose packets belong to the alert's flow.
    assert.ok(a.evidence, "evidence saved");
    const pk = await readAllPackets(join(out, "evidence", a.evidence));
    assert.ok(pk.length >= 1 && pk.length <= 32);
    for (const p of pk) {
      const ends = [`${p.srcIp}:${p.srcPort}`, `${p.dstIp}:${p.dstPort}`].sort();
      assert.deepEqual(ends, [`${a.src_ip}:${a.src_port}`, `${a.dest_ip}:${a.dest_port}`].sort());
    }
  }
  const text = metrics!.registry.render();
  assert.match(text, new RegExp(`^nadir_packets_total ${n}$`, "m"));
  assert.match(text, /^nadir_alert_latency_seconds_count \d+$/m);
  Deno.removeSync(out, { recursive: true });
});

Deno.test("flood of new flows: the flow table stays capped, evicted flows are still scored", async () => {
  const model = await benignFlowModel();
  let metrics: MonitorMetrics | undefined;
  const r = await runMonitor(
    { source: { pcap: dataPath("pcaps", "synscan.pcapng") }, model, flows: { max_flows: 50 } },
    { onReady: (x) => (metrics = x.metrics), log: () => {} },
  );
  assert.ok(r.flows > 1000, `synscan opens many flows (${r.flows})`);
  assert.ok(r.evicted > 0, "the cap evicted flows");
  assert.ok(metrics!.flowsEvicted.get() === r.evicted);
  assert.ok(metrics!.flowsScored.get() >= r.flows, "evicted flows are scored, not dropped");
  assert.equal(metrics!.flowsActive.get(), 0);
});

Deno.test("capture cut mid-packet: packets before the cut are processed, the damage is reported", async () => {
  const model = await benignFlowModel();
  const src = Deno.readFileSync(dataPath("pcaps", "zeek-smtp.pcap"));
  const dir = Deno.makeTempDirSync();
  const cut = join(dir, "cut.pcap");
  Deno.writeFileSync(cut, src.subarray(0, Math.floor(src.length * 0.6) + 7));
  let whole = 0;
  await forEachPacket(cut, () => {
    whole++;
  });
  const r = await runMonitor({ source: { pcap: cut }, model }, { log: () => {} });
  assert.equal(r.packets, whole);
  assert.ok(r.packets > 10);
  assert.match(r.captureDamage ?? "", /truncated/);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("paced replay follows packet time (x20 on a 23 s capture takes about 1.15 s)", async () => {
  const model = await benignFlowModel();
  const pcap = dataPath("pcaps", "synscan.pcapng");
  const pk = await readAllPackets(pcap);
  const spanS = (pk[pk.length - 1].tsUs - pk[0].tsUs) / 1e6;
  const t0 = performance.now();
  const r = await runMonitor({ source: { pcap, replay: "x20" }, model }, { log: () => {} });
  const took = (performance.now() - t0) / 1000;
  assert.equal(r.packets, pk.length);
  assert.ok(
    took >= (spanS / 20) * 0.9,
    `took ${took.toFixed(2)} s for a ${spanS.toFixed(1)} s capture at x20`,
  );
  assert.ok(took < (spanS / 20) * 3 + 1, `took ${took.toFixed(2)} s: pacing far too slow`);
});

Deno.test("paced replay at a packet rate: the fast replay's packets, flows and alerts, at that rate", async () => {
  const model = await benignFlowModel();
  const pcap = dataPath("pcaps", "stratosphere-test7-malicious.pcap");
  const n = (await readAllPackets(pcap)).length;
  const run = async (replay?: string) => {
    const alerts: string[] = [];
    const t0 = performance.now();
    const r = await runMonitor({
      source: { pcap, replay },
      model,
      rules: { dedup_window_s: 0, per_host_per_minute: 0 },
    }, { log: () => {}, onAlert: (a) => void alerts.push(`${a.flow_id} ${a.score.toPrecision(12)}`) });
    return { r, alerts: alerts.sort(), took: (performance.now() - t0) / 1000 };
  };
  const fast = await run();
  const pps = Math.round(n / 0.8); // about 0.8 s
  const paced = await run(`${pps}pps`);
  assert.equal(paced.r.packets, n);
  assert.equal(paced.r.flows, fast.r.flows);
  assert.deepEqual(paced.alerts, fast.alerts);
  assert.ok(paced.took >= 0.9 * (n / pps), `took ${paced.took.toFixed(2)} s for ${n} packets at ${pps} pps`);
  assert.ok(paced.took < 3 * (n / pps) + 1, `took ${paced.took.toFixed(2)} s: pacing far too slow`);
});

Deno.test("config: the example validates; problems name the field", () => {
  const ex = loadConfig(join(ROOT, "deploy", "nadir.example.json"));
  assert.equal(ex.source?.interface, "eth0");
  const p = configProblems({
    flows: { idle_timeout_s: -1, bogus: 1 },
    source: { replay: "slow" },
    sinks: { syslog: { host: "x", port: 70000, transport: "sctp" }, webhook: {} },
    rules: { allowlist: [{ dest_port: "53" }] },
  });
  const text = p.join("\n");
  assert.match(text, /field "flows\.idle_timeout_s": expected a number ≥ 0\.1, found -1/);
  assert.match(text, /field "flows\.bogus": unknown/);
  // A rule's own checks, named by its place (at start they had said only "rule.src: …", no file or index).
  const rules = configProblems({
    rules: { allowlist: [{ src: "10.0.0.1" }, { src: "not-an-ip", proto: "TCPX" }] },
  });
  assert.ok(rules.some((m) => m.startsWith('field "rules.allowlist[1].src": ')), rules.join("\n"));
  assert.ok(
    rules.some((m) => m.startsWith('field "rules.allowlist[1].proto": expected a protocol name')),
    rules.join("\n"),
  );
  assert.match(text, /field "source\.replay": expected a value matching/);
  assert.match(text, /field "sinks\.syslog\.port": expected a number ≤ 65535/);
  assert.match(text, /field "sinks\.syslog\.transport": expected one of "udp", "tcp"/);
  assert.match(text, /field "sinks\.webhook\.url": required/);
  assert.match(text, /field "rules\.allowlist\[0\]\.dest_port": expected an integer/);
  assert.deepEqual(configProblems({ source: { pcap: "a", interface: "b" } }), [
    `field "source": give either interface or pcap, not both`,
  ]);
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(join(dir, "bad.json"), '{"flows": {"max_flows": 0}}');
  assert.throws(
    () => loadConfig(join(dir, "bad.json")),
    /bad\.json: field "flows\.max_flows": expected a number ≥ 1, found 0/,
  );
  Deno.writeTextFileSync(join(dir, "bad.json"), "{oops");
  assert.throws(() => loadConfig(join(dir, "bad.json")), /bad\.json: invalid JSON/);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("rules: CIDR v4/v6, suppression, dedup window, per-host token bucket", () => {
  assert.ok(new Cidr("10.0.0.0/8").contains("10.255.1.2"));
  assert.ok(!new Cidr("10.0.0.0/8").contains("11.0.0.1"));
  assert.ok(new Cidr("2001:db8::/32").contains("2001:db8:1::5"));
  assert.ok(!new Cidr("2001:db8::/32").contains("2001:db9::1"));
  assert.ok(new Cidr("::ffff:192.0.2.0/120").contains("::ffff:192.0.2.9"));
  assert.ok(!new Cidr("10.0.0.0/8").contains("::1"));
  assert.equal(parseIp("1.2.3.256"), undefined);
  assert.equal(parseIp("1::2::3"), undefined);
  assert.throws(() => new Cidr("10.0.0.0/33"), /prefix length/);
  const f = new AlertFilter({ dedupWindowS: 10, perHostPerMinute: 3 });
  const k = { src_ip: "192.0.2.1", dest_ip: "198.51.100.1", dest_port: 22, proto: "TCP", detector: "d" };
  assert.equal(f.check(k, 0), "pass");
  assert.equal(f.check(k, 5_000), "duplicate");
  assert.equal(f.check(k, 11_000), "pass");
  assert.equal(f.check({ ...k, dest_port: 23 }, 11_000), "pass");
  assert.equal(f.check({ ...k, dest_port: 24 }, 11_000), "rate_limited");
  assert.equal(f.check({ ...k, dest_port: 24 }, 11_000 + 20_000), "pass", "the bucket refills");
  f.suppressions.add({ src: "192.0.2.0/24", dest_port: 25, until: new Date(50_000).toISOString() });
  assert.equal(f.check({ ...k, dest_port: 25 }, 40_000), "suppressed");
  assert.equal(f.check({ ...k, dest_port: 25 }, 60_000), "pass", "expired rule");
  // Packet clock and wall clock apart (a replay): the window and the bucket run on the packet clock, a
  // suppression's expiry on the wall clock.
  const g = new AlertFilter({ dedupWindowS: 10, perHostPerMinute: 1 });
  g.suppressions.add({ dest_port: 25, until: new Date(50_000).toISOString() });
  assert.equal(
    g.check({ ...k, dest_port: 25 }, 1e12, 40_000),
    "suppressed",
    "still in force on the wall clock",
  );
  assert.equal(g.check(k, 100_000, 1e12), "pass");
  assert.equal(g.check(k, 95_000, 1e12), "duplicate", "an older alert within the window is a duplicate too");
  assert.equal(
    g.check(k, 89_000, 1e12),
    "rate_limited",
    "outside the window; no token comes back going back",
  );
  assert.equal(g.check(k, 109_000, 1e12), "duplicate", "the window is kept from the latest pass");
  assert.equal(g.check({ ...k, dest_port: 23 }, 160_000, 1e12), "pass", "a token back after 60 s of packets");
  assert.throws(() => f.suppressions.add({ src: "nope" }), /expected an IP address or CIDR/);
});

/** An evidence pcap as the capture reader decodes it: each frame (a copy), its time and length on the wire. */
function framesOf(
  pcap: Uint8Array | undefined,
): { data: Uint8Array; tsUs: number; wireLen: number; linkType: number }[] {
  const out: { data: Uint8Array; tsUs: number; wireLen: number; linkType: number }[] = [];
  if (pcap === undefined) return out;
  const st = parseCaptureBytes(pcap, (p) => {
    out.push({ data: p.raw!.slice(), tsUs: p.tsUs, wireLen: p.wireLen, linkType: p.linkType });
  });
  assert.equal(damageSummary(st), "", "the evidence pcap reads back whole");
  assert.equal(st.format, "pcap");
  return out;
}

Deno.test("evidence buffer: frames of a real capture kept byte for byte in per-flow chunks", async () => {
  const pcap = dataPath("pcaps", "zeek-ftp-bruteforce.pcap");
  const ev = new EvidenceBuffer({ maxBytes: 1 << 30 });
  // forEachPacket hands frames that are views into its read buffer, reused for the next chunk: the buffer
  // must copy them.
  const want = new Map<number, Uint8Array[]>();
  const times = new Map<number, [number, number][]>();
  let k = 0, linkType = -1;
  // A flow's pcap taken early (as an alert takes it) holds its frames so far, whatever comes after.
  let early: Uint8Array | undefined;
  await forEachPacket(pcap, (p) => {
    const id = k++ % 7;
    linkType = p.linkType;
    ev.add(id, p.tsUs, p.wireLen, p.raw!, p.linkType);
    const w = want.get(id) ?? [];
    const t = times.get(id) ?? [];
    if (w.length < 32) w.push(p.raw!.slice()), t.push([p.tsUs, p.wireLen]);
    want.set(id, w);
    times.set(id, t);
    if (k === 30) early = ev.pcap(3);
  });
  const soFar = framesOf(early);
  assert.equal(soFar.length, 4, "flow 3 had 4 frames when its pcap was taken");
  soFar.forEach((q, i) => {
    assert.deepEqual(q.data, want.get(3)![i], `early frame ${i}`);
    assert.equal(q.tsUs, times.get(3)![i][0]);
  });
  let frames = 0, stored = 0;
  for (const [id, w] of want) {
    const pcap = ev.pcap(id)!;
    const got = framesOf(pcap);
    assert.equal(got.length, w.length);
    got.forEach((q, i) => assert.deepEqual(q.data, w[i], `flow ${id} frame ${i}`));
    assert.deepEqual(got.map((q) => [q.tsUs, q.wireLen]), times.get(id), `flow ${id} times, lengths`);
    assert.equal(pcap.length, 24 + w.reduce((s, f) => s + 16 + f.length, 0), "sized exactly");
    assert.ok(got.every((q) => q.linkType === linkType));
    // The first packets only: what an alert's row was taken at, whatever came after.
    assert.deepEqual(framesOf(ev.pcap(id, 3)).map((q) => q.data), w.slice(0, 3), `flow ${id}, 3 frames`);
    frames += w.length;
    stored += w.reduce((s, f) => s + f.length, 0);
  }
  assert.equal(frames, 7 * 32, "the capture has more than 32 frames a flow here");
  const overhead = 7 * EVIDENCE_FLOW_OVERHEAD + frames * EVIDENCE_PACKET_OVERHEAD;
  // Chunks grow to twice what a flow holds: what is counted lies between the frames and twice them.
  assert.ok(
    ev.bytes >= stored + overhead && ev.bytes <= 2 * stored + overhead,
    `${ev.bytes} for ${stored} bytes`,
  );
});

Deno.test("evidence buffer: chunks of dropped flows are used again without touching the frames of kept ones", async () => {
  // A real capture's frames, copied into shared memory at every alignment (as a shard's ring hands them),
  // spread over many short flows of which most are dropped (ended without alert) as the capture goes.
  const frames: Uint8Array[] = [];
  await forEachPacket(dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), (p) => void frames.push(p.raw!.slice()));
  const shared = new Uint8Array(new SharedArrayBuffer(1 << 20));
  const ev = new EvidenceBuffer({ maxBytes: 1 << 30 });
  const kept = new Map<number, Uint8Array[]>();
  let at = 0;
  frames.forEach((f, i) => {
    const id = i >> 2; // 4 frames a flow
    at = (at + 8 + (i % 8)) % ((1 << 20) - 4096); // start at every alignment modulo 8
    shared.set(f, at);
    ev.add(id, i, f.length, shared.subarray(at, at + f.length), 1);
    at += f.length;
    if (id % 5 === 0) (kept.get(id) ?? kept.set(id, []).get(id)!).push(f);
    else if (i % 4 === 3) ev.drop(id);
  });
  assert.ok(kept.size >= 20, `${kept.size} flows kept`);
  for (const [id, want] of kept) {
    const got = framesOf(ev.pcap(id));
    assert.equal(got.length, want.length);
    got.forEach((q, i) => assert.deepEqual(q.data, want[i], `flow ${id} frame ${i}`));
  }
  assert.equal(ev.pcap(1), undefined, "a dropped flow has no pcap");
  const last = (frames.length - 1) >> 2, open = last % 5 !== 0 && frames.length % 4 !== 0 ? 1 : 0;
  assert.equal(ev.size, kept.size + open, "the dropped flows are gone");
});

Deno.test("evidence buffer: free chunks fill the room held flows leave, and go before any held flow does", () => {
  const max = 64 * 1024;
  const ev = new EvidenceBuffer({ maxBytes: max, perFlowPackets: 4 });
  const frame = new Uint8Array(600);
  const fits = () =>
    assert.ok(ev.bytes + ev.freeBytes <= max, `held ${ev.bytes} + free ${ev.freeBytes} > ${max}`);
  for (let id = 0; id < 20; id++) {
    for (let k = 0; k < 4; k++) ev.add(id, k, 600, frame, 1), fits();
  }
  for (let id = 0; id < 20; id++) ev.drop(id), fits();
  assert.equal(ev.bytes, 0);
  // Not a fixed share of the cap: a burst of ended flows leaves its chunks for the flows after it.
  assert.ok(ev.freeBytes > max / 2, `${ev.freeBytes} free bytes kept`);
  const evicted = ev.evicted;
  // Ten flows fit the cap on their own: they take free chunks, and the rest make room for them.
  for (let id = 100; id < 110; id++) {
    for (let k = 0; k < 4; k++) ev.add(id, k, 600, frame, 1), fits();
  }
  assert.equal(ev.evicted, evicted, "no held flow forgotten while free chunks were left to let go");
  assert.equal(ev.size, 10);
});

Deno.test("evidence buffer: per-flow and global caps", () => {
  const ev = new EvidenceBuffer({ perFlowPackets: 3, perFlowBytes: 250, maxBytes: 1000 });
  for (let i = 0; i < 10; i++) ev.add(1, i, 100, new Uint8Array(100), 1);
  const kept = framesOf(ev.pcap(1));
  assert.deepEqual(
    kept.map((q) => [q.data.length, q.wireLen]),
    [[100, 100], [100, 100], [50, 100]],
    "the third frame is cut to the per-flow byte cap, as a snaplen would",
  );
  for (let id = 2; id < 20; id++) ev.add(id, 0, 200, new Uint8Array(200), 1);
  assert.ok(ev.bytes <= 1000, `global cap held (${ev.bytes})`);
  assert.equal(ev.pcap(1), undefined, "oldest flow forgotten first");
  assert.ok(ev.evicted > 0);
  assert.ok(ev.pcap(19));
  ev.drop(19);
  assert.equal(ev.pcap(19), undefined);
});

Deno.test("nadir monitor --pcap: a progress bar over the capture's bytes, also with every shard reading it", async () => {
  const model = await benignFlowModel();
  const dir = Deno.makeTempDirSync({ prefix: "nadir-progress-" });
  try {
    // Over the 16 MiB below which no bar is shown.
    const big = join(dir, "big.pcap");
    await repeatCapture(dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), big, 320);
    const size = Deno.statSync(big).size;
    assert.ok(size > 16 << 20, `${size} bytes`);
    // The bar leaves the source as it was: a sharded replay still has every shard read the file.
    const fast = pcapFast(big);
    assert.deepEqual(withProgress(fast, big, { silent: true }).file, fast.file);
    assert.ok(fast.file);
    for (const workers of ["1", "2"]) {
      const res = await new Deno.Command(Deno.execPath(), {
        args: nadirArgs(
          "monitor",
          "--pcap",
          big,
          "--model",
          model,
          "--alerts",
          join(dir, `a-${workers}.jsonl`),
        )
          .concat(["--workers", workers]),
        stdout: "piped",
        stderr: "piped",
        // The test runner silences progress bars (NADIR_PROGRESS=0); this child must show its own.
        env: { NO_COLOR: "1", NADIR_PROGRESS: "1" },
      }).output();
      const err = new TextDecoder().decode(res.stderr);
      assert.equal(res.code, 0, err);
      // Not a terminal: log lines, the last one whole.
      assert.match(err, /^bytes \[#{24}\] 100% \S+\/\S+B /m, err);
      assert.match(err, /nadir monitor: \d+ packets, \d+ flows, \d+ alerts/);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SIGTERM under load: the monitor flushes and the alerts file is complete JSON lines", async () => {
  const model = await benignFlowModel();
  const dir = Deno.makeTempDirSync({ prefix: "nadir-sigterm-" });
  const big = join(dir, "big.pcap");
  await repeatCapture(dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), big, 400);
  const alerts = join(dir, "alerts.jsonl");
  const child = new Deno.Command(Deno.execPath(), {
    args: nadirArgs("monitor", "--pcap", big, "--model", model, "--alerts", alerts, "--replay", "x2000"),
    stdout: "piped",
    stderr: "piped",
    env: { NADIR_PROGRESS: "0", NO_COLOR: "1" },
  }).spawn();
  // Wait until it is producing alerts, then stop it.
  const t0 = Date.now();
  while (Date.now() - t0 < 20_000) {
    try {
      if (Deno.statSync(alerts).size > 0) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  child.kill("SIGTERM");
  const res = await child.output();
  const err = new TextDecoder().decode(res.stderr);
  assert.equal(res.code, 0, err);
  assert.match(err, /stopping/);
  assert.match(err, /nadir monitor: \d+ packets, \d+ flows, \d+ alerts/);
  const text = Deno.readTextFileSync(alerts);
  assert.ok(text.endsWith("\n"), "last line complete");
  // Drift events (event_type "drift") may share the file; the count below is of alerts.
  const lines = text.split("\n").filter(Boolean).filter((l) => JSON.parse(l).event_type === "alert");
  assert.ok(lines.length >= 1);
  for (const l of lines) assert.deepEqual(alertProblems(JSON.parse(l)), []);
  const m = /(\d+) alerts/.exec(err)!;
  assert.equal(Number(m[1]), lines.length, "every alert counted was written");
  const pk = /(\d+) packets/.exec(err)!;
  assert.ok(Number(pk[1]) < 400 * 1000, "stopped before the end of the capture");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("streaming KitNET on AfterImage: learns during grace, calibrates, then names the SYN scanner only", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-kit-" });
  const pcap = join(dir, "benign-then-scan.pcap");
  const { starts } = await concatCaptures(
    [
      dataPath("pcaps", "http_espn.pcapng"),
      dataPath("pcaps", "zeek-http-bro.org.pcap"),
      dataPath("pcaps", "synscan.pcapng"),
    ],
    pcap,
  );
  const alerts: Alert[] = [];
  let threshold = NaN;
  const r = await runMonitor(
    {
      source: { pcap },
      detector: "kitnet",
      detector_params: { fmGrace: 300 },
      grace: 1300,
      calibration: 400,
      threshold: "percentile:0.999",
      rules: { dedup_window_s: 0, per_host_per_minute: 0 },
    },
    {
      featurizer: afterImageFeaturizer,
      log: () => {},
      onAlert: (a) => alerts.push(a),
      onReady: (x) => (threshold = x.stats.threshold ?? NaN),
    },
  );
  assert.ok(r.alerts >= 1, "the scan raises alerts");
  assert.equal(alerts.length, r.alerts);
  for (const a of alerts) {
    assert.equal(a.detector, "kitnet");
    assert.equal(a.src_ip, "172.16.0.8", "only the scanner is named");
    assert.ok(Date.parse(a.timestamp) * 1000 >= starts[2] - 1000, "no alert during the benign phases");
    assert.ok(a.score > a.threshold && Number.isFinite(a.threshold));
  }
  assert.ok(Number.isNaN(threshold), "no threshold before calibration");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("long flows are re-scored while active; with --rescore 0 only when they end", async () => {
  const model = await benignFlowModel();
  const pcap = dataPath("pcaps", "zeek-http-methods.pcap");
  const scored = async (rescore: number) => {
    let m: MonitorMetrics | undefined;
    const r = await runMonitor(
      { source: { pcap }, model, flows: { rescore_interval_s: rescore, idle_timeout_s: 120 } },
      { onReady: (x) => (m = x.metrics), log: () => {} },
    );
    return { flows: r.flows, scored: m!.flowsScored.get() };
  };
  const off = await scored(0);
  assert.equal(off.scored, off.flows, "one score per flow without rescoring");
  const on = await scored(1);
  assert.equal(on.flows, off.flows);
  assert.ok(on.scored > on.flows, `active flows re-scored (${on.scored} scores for ${on.flows} flows)`);
});

Deno.test("monitor, live: a sensor behind the wire times flows by their packets once its source says what it delivered", async () => {
  const { Monitor } = await import("../../src/serve/monitor.ts");
  const { MonitorMetrics } = await import("../../src/serve/metrics.ts");
  const { AlertStore, LiveStats } = await import("../../src/serve/store.ts");
  const { flowScoringFromDir } = await import("../../src/serve/models.ts");
  // Real HTTP connections, closed by FIN from both sides and then a last ACK.
  const packets = await readAllPackets(dataPath("pcaps", "zeek-http-methods.pcap"));
  const scoring = await flowScoringFromDir(await benignFlowModel());
  /** Every row the model scored (the flows' features), in order. */
  const rows = async (how: "replayed" | "behind" | "behind, caught-up known") => {
    const filter = new AlertFilter({});
    const out: number[] = [];
    const m = new Monitor({
      scoring,
      metrics: new MonitorMetrics(),
      store: new AlertStore({ filter }),
      stats: new LiveStats(),
      filter,
      sinks: [],
      onScored: (x) => void out.push(...x.data),
    });
    let tick = -Infinity;
    for (const p of packets) {
      if (how !== "replayed") {
        // Live, 3 s behind the wire: each packet is read 3 s after it arrived, and the ticker fires
        // every 500 ms of wall time, as startTicker's does.
        const wall = p.tsUs + 3e6;
        if (tick === -Infinity) tick = Math.ceil(wall / 5e5) * 5e5;
        for (; tick <= wall; tick += 5e5) {
          // What the source had delivered by then: every packet that arrived 3 s before.
          if (how === "behind, caught-up known") m.caughtUp(tick - 3e6);
          m.tick(tick);
        }
      }
      m.packet(p);
    }
    await m.finish();
    return out;
  };
  const replayed = await rows("replayed");
  assert.ok(replayed.length > 1000);
  assert.deepEqual(await rows("behind, caught-up known"), replayed);
  // Without it the ticks move the clock past packets still waiting, which then take the clock's time
  // (durations and gaps squeezed) and closing connections end before their last packets.
  assert.notDeepEqual(await rows("behind"), replayed);
});

Deno.test("monitor rules run on packet time: the same alerts pass at full speed and paced", async () => {
  // 2,000 packets over 642 s of traffic: at full speed they go by in a few ms of wall time, paced at
  // 4,000 packets/s in half a second. On the wall clock a 1 s dedup window and a 5-a-minute rate held the
  // whole fast replay, and the paced one differently; on packet time both see the capture's 642 s.
  const model = await benignFlowModel();
  const pcap = dataPath("pcaps", "stratosphere-test7-malicious.pcap");
  const runs: { keys: string[]; dropped: Record<string, number | undefined> }[] = [];
  for (const replay of [undefined, "4000pps"]) {
    const alerts: Alert[] = [];
    const r = await runMonitor(
      {
        source: { pcap, replay },
        model,
        workers: 1,
        rules: { dedup_window_s: 30, per_host_per_minute: 5 },
      },
      { log: () => {}, onAlert: (a) => alerts.push(a) },
    );
    assert.equal(r.alerts, alerts.length);
    runs.push({
      keys: alerts.map((a) => `${a.src_ip}:${a.src_port}-${a.dest_ip}:${a.dest_port} ${a.timestamp}`).sort(),
      dropped: r.alertsDropped,
    });
  }
  const [fast, paced] = runs;
  assert.ok((fast.dropped.duplicate ?? 0) > 0, `some duplicates: ${JSON.stringify(fast.dropped)}`);
  assert.ok((fast.dropped.rate_limited ?? 0) > 0, `some over the rate: ${JSON.stringify(fast.dropped)}`);
  // Over 642 s a host earns ~53 tokens more than the 5 it starts with: far more pass than on the wall clock.
  assert.ok(fast.keys.length > 20, `alerts passed: ${fast.keys.length}`);
  assert.deepEqual(paced.keys, fast.keys);
  assert.deepEqual(paced.dropped, fast.dropped);
});

Deno.test("rules: a suppression's proto is a protocol name or number, matched as a number", async () => {
  const { ruleProblems, SuppressionList } = await import("../../src/serve/rules.ts");
  // "TCPX" had been accepted and matched nothing; "6" never matched a TCP alert (compared as text).
  assert.deepEqual(ruleProblems({ src: "10.0.0.1", proto: "TCPX" }), [
    'rule.proto: expected a protocol name (TCP, UDP, ICMP, …) or number 0-255, found "TCPX"',
  ]);
  const key = { src_ip: "10.0.0.1", dest_ip: "10.0.0.2", dest_port: 80, proto: "TCP", detector: "knn" };
  for (const proto of ["tcp", "TCP", "6"]) {
    const l = new SuppressionList();
    l.add({ src: "10.0.0.1", proto });
    assert.ok(l.match(key), proto);
    assert.equal(l.match({ ...key, proto: "UDP" }), undefined, proto);
  }
});
