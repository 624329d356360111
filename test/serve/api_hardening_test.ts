/**
 * Regression tests for the attack-minded review of the HTTP API (issue 19):
 * bounded live-stream queues, the Host allowlist and JSON-only state changes,
 * no 500 for any path, merged and capped suppression rules, atomic feedback,
 * bounded JSON nesting, /predict sliced so other requests are served, and
 * non-finite scores failing closed (API and `nadir predict`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createHandler, type PredictModel, ROUTES } from "../../src/serve/api.ts";
import { makeAlert } from "../../src/serve/alert.ts";
import { AlertStore, LiveStats } from "../../src/serve/store.ts";
import { AlertFilter, SuppressionList } from "../../src/serve/rules.ts";
import { MonitorMetrics } from "../../src/serve/metrics.ts";
import { featureSetByName, flowMatrixFromPcap } from "../../src/serve/models.ts";
import { forEachPacket } from "../../src/capture/reader.ts";
import { FlowMeter } from "../../src/flows/meter.ts";
import { predictBatch } from "../../src/detectors/predict.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { loadModel, saveModel } from "../../src/detectors/model_dir.ts";
import { dataPath, ROOT } from "../_shared.ts";

interface RealFlow {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  firstUs: number;
  lastUs: number;
  packets: number;
  bytes: number;
}

const flowCache = new Map<string, Promise<RealFlow[]>>();

/** The flows of a vendored capture (basic meter settings), cached per capture. */
function realFlows(pcap = "http_espn.pcapng"): Promise<RealFlow[]> {
  let p = flowCache.get(pcap);
  if (!p) {
    p = (async () => {
      const out: RealFlow[] = [];
      const meter = new FlowMeter({
        idleTimeout: 15,
        onFlow: (f) =>
          out.push({
            srcIp: f.srcIp,
            dstIp: f.dstIp,
            srcPort: f.srcPort,
            dstPort: f.dstPort,
            protocol: f.protocol,
            firstUs: f.firstUs,
            lastUs: f.lastUs,
            packets: f.packets,
            bytes: f.bytes,
          }),
      });
      await forEachPacket(dataPath("pcaps", pcap), (pk) => meter.add(pk));
      meter.flush();
      return out;
    })();
    flowCache.set(pcap, p);
  }
  return p;
}

/** Alert `i` made from real flow `i mod n` of the capture. */
function alertFrom(flows: RealFlow[], i: number) {
  const f = flows[i % flows.length];
  return makeAlert({
    tsUs: f.lastUs + i,
    flowId: i,
    srcIp: f.srcIp,
    srcPort: f.srcPort,
    destIp: f.dstIp,
    destPort: f.dstPort,
    protocol: f.protocol,
    detector: "kmeans",
    score: 5 + (i % 7),
    threshold: 1,
    packets: f.packets,
    bytes: f.bytes,
    startUs: f.firstUs,
    endUs: f.lastUs,
    host: "sensor-1",
  });
}

const BASIC = ["bidirectional_packets", "bidirectional_bytes", "bidirectional_duration_ms"];

/** Rows of real flows (http_espn.pcapng, benign browsing) with the {@link BASIC} columns. */
async function basicRows(): Promise<number[][]> {
  const x = await flowMatrixFromPcap(dataPath("pcaps", "http_espn.pcapng"), featureSetByName("basic"));
  const idx = BASIC.map((n) => x.names.indexOf(n));
  return Array.from({ length: x.rows }, (_, r) => idx.map((j) => x.data[r * x.cols + j]));
}

/** Sum of the row: easy to check, and it overflows to ±Infinity on ±1e308 cells as a real model would. */
function sumModel(name = "sum", threshold: number | undefined = 1e6): PredictModel & { calls: number } {
  const m = {
    name,
    detector: "test-sum",
    featureNames: BASIC,
    threshold,
    calls: 0,
    score(x: { data: Float64Array; rows: number; cols: number }) {
      m.calls++;
      const out = new Float64Array(x.rows);
      for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) out[i] += x.data[i * x.cols + j];
      return out;
    },
  };
  return m;
}

function setup(o: {
  token?: string;
  maxRules?: number;
  models?: PredictModel[];
  allowedHosts?: string[];
  sseMaxQueueBytes?: number;
  predictChunkRows?: number;
} = {}) {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-hardening-" });
  const suppressions = new SuppressionList(join(dir, "suppressions.json"), { maxRules: o.maxRules });
  const filter = new AlertFilter({ suppressions });
  const store = new AlertStore({ feedbackFile: join(dir, "feedback.jsonl"), filter });
  const metrics = new MonitorMetrics();
  const h = createHandler({
    store,
    stats: new LiveStats(),
    metrics,
    models: o.models ?? [sumModel()],
    token: o.token,
    allowedHosts: o.allowedHosts,
    sseMaxQueueBytes: o.sseMaxQueueBytes,
    predictChunkRows: o.predictChunkRows,
  });
  const call = (path: string, init: RequestInit = {}, host = "127.0.0.1") =>
    h(new Request(`http://${host}${path}`, init));
  const feedback = (id: string, body: unknown, ct = "application/json") =>
    call(`/alerts/${id}/feedback`, {
      method: "POST",
      headers: { "content-type": ct },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const cleanup = () => Deno.removeSync(dir, { recursive: true });
  return { dir, store, filter, metrics, h, call, feedback, cleanup };
}

/** The value of one metric line in /metrics text. */
function metric(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

// ---- 1. SSE queues are bounded -------------------------------------------------------------

Deno.test("alerts/stream: clients that never read are disconnected at the queue cap, queues freed", async () => {
  const cap = 64 * 1024;
  const { store, call, cleanup } = setup({ sseMaxQueueBytes: cap });
  const flows = await realFlows();
  const logged: string[] = [];
  const origError = console.error;
  console.error = (...a: unknown[]) => logged.push(a.join(" "));
  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  try {
    for (let k = 0; k < 20; k++) readers.push((await call("/alerts/stream")).body!.getReader());
    // ~700 bytes an event: 2,000 alerts are ~1.4 MB per client, 20 times the cap.
    for (let i = 0; i < 2000; i++) store.add({ alert: alertFrom(flows, i) });
  } finally {
    console.error = origError;
  }
  // What a client can still get is at most the cap: its queue was dropped with it.
  for (const r of readers) {
    let got = 0;
    await assert.rejects(async () => {
      while (got <= cap) {
        const { done, value } = await r.read();
        if (done) break;
        got += value.byteLength;
      }
      assert.ok(got <= cap, `a client that never read still had ${got} bytes queued (cap ${cap})`);
    }, /queue full/);
  }
  const m = await (await call("/metrics")).text();
  assert.equal(metric(m, "nadir_api_sse_slow_disconnects_total"), 20);
  assert.equal(metric(m, "nadir_api_sse_clients"), 0);
  const peak = metric(m, "nadir_api_sse_peak_queued_bytes")!;
  assert.ok(peak > cap / 2 && peak <= cap, `peak queue ${peak} bytes, cap ${cap}`);
  assert.equal(logged.filter((l) => /\/alerts\/stream client disconnected/.test(l)).length, 20);
  cleanup();
});

Deno.test("alerts/stream over TCP: a client that stops reading loses its connection, a reading one keeps it", async () => {
  const cap = 64 * 1024;
  const { store, h, cleanup } = setup({ sseMaxQueueBytes: cap });
  const flows = await realFlows();
  const ac = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} }, h);
  const origError = console.error;
  const logged: string[] = [];
  console.error = (...a: unknown[]) => logged.push(a.join(" "));
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(new TextEncoder().encode(
      "GET /alerts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n",
    ));
    // A well-behaved client (fetch, reading everything).
    const live = await fetch(`http://127.0.0.1:${server.addr.port}/alerts/stream`);
    const liveReader = live.body!.getReader();
    let liveBytes = 0;
    const reading = (async () => {
      while (true) {
        const { done, value } = await liveReader.read();
        if (done) break;
        liveBytes += value.byteLength;
      }
    })();
    // Add alerts in batches, letting the server write between them, until the stuck client is cut.
    let i = 0;
    for (let batch = 0; batch < 4000 && !logged.some((l) => /client disconnected/.test(l)); batch++) {
      // 10 alerts (~7 KB) a turn: far below the cap, so a client that reads keeps up.
      for (let k = 0; k < 10; k++) store.add({ alert: alertFrom(flows, i++) });
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.ok(logged.some((l) => /client disconnected/.test(l)), `not cut after ${i} alerts`);
    // The stuck client's connection is closed by the server: reading it now ends (EOF or reset).
    const buf = new Uint8Array(1 << 16);
    let ended = false;
    for (let k = 0; k < 100_000 && !ended; k++) {
      try {
        ended = (await conn.read(buf)) === null;
      } catch (e) {
        if (!(e instanceof Deno.errors.ConnectionReset)) throw e;
        ended = true;
      }
    }
    assert.ok(ended, "the slow client's connection is closed");
    conn.close();
    assert.equal(
      logged.filter((l) => /client disconnected/.test(l)).length,
      1,
      "only the stuck client is cut",
    );
    assert.ok(liveBytes > 0);
    await liveReader.cancel();
    await reading;
  } finally {
    console.error = origError;
    ac.abort();
    await server.finished;
    cleanup();
  }
});

// ---- 2. Host allowlist, JSON-only state changes --------------------------------------------

Deno.test("host allowlist: a token-less API answers loopback names only (421 otherwise), extra names by option", async () => {
  const { call, store, feedback, cleanup } = setup();
  const flows = await realFlows();
  const a = alertFrom(flows, 0);
  store.add({ alert: a });
  for (const host of ["127.0.0.1", "localhost", "[::1]", "127.0.0.1:8787", "localhost:8787"]) {
    assert.equal((await call("/alerts", {}, host)).status, 200, host);
  }
  for (
    const host of ["rebind.attacker.example", "rebind.attacker.example:8787", "10.0.0.5", "127.0.0.1.nip.io"]
  ) {
    for (const path of ["/alerts", "/health", `/alerts/${a.id}`, "/suppressions"]) {
      const r = await call(path, {}, host);
      assert.equal(r.status, 421, `${host}${path}`);
      const j = await r.json();
      assert.match(j.error, /^host ".*" not allowed: expected localhost, 127\.0\.0\.1 or \[::1\]/);
    }
  }
  // A rebinding page's POST changes nothing.
  const r = await call(`/alerts/${a.id}/feedback`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ label: "false_positive" }),
  }, "rebind.attacker.example");
  assert.equal(r.status, 421);
  assert.equal(store.get(a.id)!.alert.feedback, undefined);
  assert.equal((await feedback(a.id, { label: "true_positive" })).status, 200);
  cleanup();

  const named = setup({ allowedHosts: ["sensor.lan", "[fd00::1]"] });
  assert.equal((await named.call("/alerts", {}, "sensor.lan:8787")).status, 200);
  assert.equal((await named.call("/alerts", {}, "[fd00::1]")).status, 200);
  assert.equal((await named.call("/alerts", {}, "localhost")).status, 200);
  assert.equal((await named.call("/alerts", {}, "other.lan")).status, 421);
  named.cleanup();
  // With a token the token is the guard; the Host is checked only against a configured list.
  const token = "hardening-token-0123456789";
  const auth = { headers: { authorization: `Bearer ${token}` } };
  const t = setup({ token });
  assert.equal((await t.call("/alerts", auth, "sensor.example.org")).status, 200);
  t.cleanup();
  const tl = setup({ token, allowedHosts: ["sensor.lan"] });
  assert.equal((await tl.call("/alerts", auth, "sensor.example.org")).status, 421);
  tl.cleanup();
});

Deno.test("host allowlist holds on a real socket: the Host header decides (DNS rebinding)", async () => {
  const { h, cleanup } = setup();
  const ac = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} }, h);
  const raw = async (host: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(
      new TextEncoder().encode(`GET /alerts HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    let text = "";
    const buf = new Uint8Array(4096);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    conn.close();
    return text;
  };
  try {
    assert.match(await raw(`127.0.0.1:${server.addr.port}`), /^HTTP\/1\.1 200/);
    const bad = await raw(`rebind.attacker.example:${server.addr.port}`);
    assert.match(bad, /^HTTP\/1\.1 421/);
    assert.match(bad, /host \\?"rebind\.attacker\.example\\?" not allowed/);
  } finally {
    ac.abort();
    await server.finished;
    cleanup();
  }
});

Deno.test("state-changing POSTs take application/json only (predict also text/csv): 415 otherwise, nothing changes", async () => {
  const { store, call, feedback, filter, cleanup } = setup();
  const flows = await realFlows();
  const a = alertFrom(flows, 1);
  store.add({ alert: a });
  // text/plain is what a cross-site form or a preflight-free fetch can send.
  for (
    const ct of ["text/plain", "text/plain; x=application/json", "application/x-www-form-urlencoded", ""]
  ) {
    const r = await call(`/alerts/${a.id}/feedback`, {
      method: "POST",
      headers: ct ? { "content-type": ct } : {},
      body: new TextEncoder().encode(JSON.stringify({ label: "false_positive" })),
    });
    assert.equal(r.status, 415, ct);
    assert.match((await r.json()).error, /^expected content-type application\/json, found /);
  }
  assert.equal(store.get(a.id)!.alert.feedback, undefined);
  assert.equal(filter.suppressions.rules().length, 0);
  const rows = JSON.stringify({ rows: [[1, 2, 3]] });
  for (const ct of ["text/plain", "multipart/form-data; boundary=x", ""]) {
    const r = await call("/predict", {
      method: "POST",
      headers: ct ? { "content-type": ct } : {},
      body: new TextEncoder().encode(rows),
    });
    assert.equal(r.status, 415, ct);
    assert.match((await r.json()).error, /expected content-type application\/json or text\/csv/);
  }
  const ok = await call("/predict", {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    body: rows,
  });
  assert.equal(ok.status, 200);
  const csv = await call("/predict", {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: BASIC.join(",") + "\n1,2,3\n",
  });
  assert.deepEqual((await csv.json()).scores, [6]);
  assert.equal((await feedback(a.id, { label: "false_positive" })).status, 200);
  cleanup();
});

// ---- 3. No path gives 500 -------------------------------------------------------------------

Deno.test("no path gives 500: prototype keys and malformed %-escapes under every route", async () => {
  const { call, store, cleanup } = setup();
  const flows = await realFlows();
  store.add({ alert: alertFrom(flows, 2) });
  const segments = [
    "__proto__",
    "constructor",
    "hasOwnProperty",
    "toString",
    "valueOf",
    "%E0%A4%A",
    "%",
    "%zz",
    "%C0%AF",
    "%00",
  ];
  const prefixes = new Set<string>();
  for (const r of ROUTES) {
    for (const seg of segments) {
      const path = r.path.replace(/:[a-z]+/g, seg).replace(/\*$/, seg);
      prefixes.add(`${r.method} ${path}`);
      prefixes.add(`${r.method} ${path}/${seg}`);
    }
  }
  for (const seg of segments) {
    prefixes.add(`GET /${seg}`);
    prefixes.add(`GET /alerts?${seg}=${seg}&limit=${seg}&before=${seg}&src_ip=${seg}&severity=${seg}`);
  }
  for (const entry of prefixes) {
    const [method, path] = entry.split(" ");
    for (const m of method === "GET" ? ["GET", "HEAD"] : ["POST"]) {
      const init: RequestInit = { method: m };
      if (m === "POST") {
        init.headers = { "content-type": "application/json" };
        init.body = path.endsWith("/feedback") ? '{"label":"true_positive"}' : '{"rows":[[1,2,3]]}';
      }
      const r = await call(path, init);
      // The live stream never ends by itself: its status is enough.
      const body = path === "/alerts/stream" ? "" : await r.text();
      if (path === "/alerts/stream") await r.body?.cancel();
      assert.ok(r.status < 500, `${m} ${path} → ${r.status} ${body.slice(0, 120)}`);
    }
  }
  const bad = await call("/alerts/%E0%A4%A");
  assert.equal(bad.status, 400);
  assert.deepEqual((await bad.json()).errors[0].field, "id");
  const post = await call("/alerts/%E0%A4%A/feedback", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"label":"false_positive"}',
  });
  assert.equal(post.status, 400);
  await post.body?.cancel();
  assert.equal((await call("/alerts/%E0%A4%A/pcap")).status, 400);
  cleanup();
});

// ---- 4. Feedback rules merge and are capped -------------------------------------------------

Deno.test("feedback rules: identical false positives merge (later expiry, hits counted); a full list is 409", async () => {
  const { store, feedback, filter, dir, cleanup } = setup({ maxRules: 3 });
  const flows = await realFlows();
  // Many alerts of one real flow pair, as a long flow re-scored raises them.
  const same = Array.from({ length: 40 }, (_, k) => alertFrom(flows, k * flows.length));
  for (const a of same) store.add({ alert: a });
  for (const [k, a] of same.entries()) {
    const r = await feedback(a.id, { label: "false_positive", suppress_for_s: 60 + k });
    assert.equal(r.status, 200);
  }
  let rules = filter.suppressions.rules();
  assert.equal(rules.length, 1, "identical rules merge");
  assert.equal(rules[0].hits, 40);
  const until = Date.parse(rules[0].until!);
  assert.ok(until > Date.now() + 90_000, "the expiry is the latest asked for");
  assert.equal(JSON.parse(Deno.readTextFileSync(join(dir, "suppressions.json"))).length, 1);
  // Different pairs fill the list (cap 3), the next is refused and changes nothing.
  const pairs = new Map<string, ReturnType<typeof alertFrom>>();
  for (let i = 0; pairs.size < 4 && i < flows.length; i++) {
    const a = alertFrom(flows, i);
    const key = `${a.src_ip}|${a.dest_ip}|${a.dest_port}|${a.proto}`;
    const first = same[0];
    if (key !== `${first.src_ip}|${first.dest_ip}|${first.dest_port}|${first.proto}` && !pairs.has(key)) {
      pairs.set(key, a);
    }
  }
  const [b1, b2, b3] = [...pairs.values()];
  for (const a of [b1, b2, b3]) store.add({ alert: a });
  assert.equal((await feedback(b1.id, { label: "false_positive" })).status, 200);
  assert.equal((await feedback(b2.id, { label: "false_positive" })).status, 200);
  const full = await feedback(b3.id, { label: "false_positive" });
  assert.equal(full.status, 409);
  assert.match((await full.json()).error, /^expected at most 3 suppression rules/);
  assert.equal(store.get(b3.id)!.alert.feedback, undefined, "a refused request leaves the label as it was");
  rules = filter.suppressions.rules();
  assert.equal(rules.length, 3);
  // A repeated verdict changes nothing, even with the list full.
  assert.equal((await feedback(b1.id, { label: "false_positive" })).status, 200);
  assert.equal(filter.suppressions.rules().length, 3);
  // A file written before rules merged loads once per rule.
  const file = join(dir, "old.json");
  const rule = { src: same[0].src_ip, dest: same[0].dest_ip, reason: "fp" };
  Deno.writeTextFileSync(file, JSON.stringify(Array.from({ length: 50 }, () => rule)));
  const loaded = new SuppressionList(file).rules();
  assert.equal(loaded.length, 1);
  assert.equal(loaded[0].hits, 50);
  cleanup();
});

Deno.test("feedback: one verdict an alert; the same again changes nothing, the other is 409", async () => {
  const { store, feedback, filter, dir, cleanup } = setup();
  const flows = await realFlows();
  const [a, b] = [alertFrom(flows, 0), alertFrom(flows, 7)];
  const learned: string[] = [];
  store.onVerdict = (r, label) => void learned.push(`${r.alert.id} ${label}`);
  for (const x of [a, b]) store.add({ alert: x });
  const rows = () => Deno.readTextFileSync(join(dir, "feedback.jsonl")).trim().split("\n").length;
  // Before, each of these was learned again: 200 posts of one false positive made most of a refit's pool.
  for (let i = 0; i < 5; i++) {
    const r = await feedback(a.id, { label: "false_positive", scope: "src" });
    assert.equal(r.status, 200);
    assert.deepEqual(
      await r.json(),
      i === 0 ? { ok: true, suppression: filter.suppressions.rules()[0] } : {
        ok: true,
        unchanged: true,
      },
    );
  }
  assert.deepEqual(learned, [`${a.id} false_positive`]);
  assert.equal(rows(), 1, "one feedback line");
  assert.equal(filter.suppressions.rules()[0].hits ?? 1, 1);
  // The other verdict would leave the first learned and its rule in force.
  const flip = await feedback(a.id, { label: "true_positive" });
  assert.equal(flip.status, 409);
  assert.match((await flip.json()).error, /already has the verdict false_positive/);
  assert.equal(store.get(a.id)!.alert.feedback, "false_positive");
  assert.equal(filter.suppressions.rules().length, 1);
  assert.equal((await feedback(b.id, { label: "true_positive" })).status, 200);
  assert.equal((await feedback(b.id, { label: "true_positive" })).status, 200);
  assert.equal((await feedback(b.id, { label: "false_positive" })).status, 409);
  assert.deepEqual(learned, [`${a.id} false_positive`, `${b.id} true_positive`]);
  assert.equal(rows(), 2);
  // A file from before, with a verdict repeated and then flipped: the first one stands on reload.
  const again = new AlertStore({ feedbackFile: join(dir, "feedback.jsonl") });
  for (const x of [a, b]) again.add({ alert: { ...x, feedback: undefined } });
  const old = Deno.readTextFileSync(join(dir, "feedback.jsonl")).trim().split("\n");
  const flipped = { ...JSON.parse(old[0]), verdict: "true_positive", label: "attack" };
  Deno.writeTextFileSync(
    join(dir, "feedback.jsonl"),
    [old[0], old[0], JSON.stringify(flipped), old[1]].join("\n") + "\n",
  );
  again.loadFeedback();
  assert.equal(again.get(a.id)!.alert.feedback, "false_positive");
  cleanup();
});

// ---- 5. suppress_for_s validated before anything changes ------------------------------------

Deno.test("feedback: suppress_for_s out of range is 400 naming it, and changes nothing", async () => {
  const { store, feedback, filter, dir, cleanup } = setup();
  const flows = await realFlows();
  const a = alertFrom(flows, 3);
  store.add({ alert: a });
  for (const bad of [1e300, 0, -5, 30 * 86400 + 1, "3600", null]) {
    const r = await feedback(a.id, { label: "false_positive", suppress_for_s: bad });
    assert.equal(r.status, 400, String(bad));
    const j = await r.json();
    assert.deepEqual(j.errors.map((e: { field: string }) => e.field), ["suppress_for_s"]);
    assert.match(j.errors[0].message, /^expected seconds > 0 and ≤ 2592000 \(30 days\), found /);
  }
  assert.equal(store.get(a.id)!.alert.feedback, undefined);
  assert.equal(filter.suppressions.rules().length, 0);
  assert.throws(() => Deno.statSync(join(dir, "feedback.jsonl")), Deno.errors.NotFound);
  const ok = await feedback(a.id, { label: "false_positive", suppress_for_s: 30 * 86400 });
  assert.equal(ok.status, 200);
  assert.ok(Date.parse((await ok.json()).suppression.until) > Date.now() + 29 * 86400_000);
  cleanup();
});

// ---- 6. JSON nesting bounded; the feedback 413 names its own limit --------------------------

Deno.test("deeply nested JSON is refused before parsing (400 naming the limit); feedback 413 names 64 KiB", async () => {
  const { store, call, feedback, cleanup } = setup();
  const flows = await realFlows();
  const a = alertFrom(flows, 4);
  store.add({ alert: a });
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  let r = await feedback(a.id, `{"label":"true_positive","note":${deep(65)}}`);
  assert.equal(r.status, 400);
  let j = await r.json();
  assert.equal(j.errors[0].field, "body");
  assert.match(j.errors[0].message, /expected JSON nested at most 64 levels deep, found a 65th level/);
  // 1 MiB of brackets (the shape that stalled the server) is answered with the same 400.
  r = await call("/predict", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: `{"rows":${deep(512 * 1024)}}`,
  });
  assert.equal(r.status, 400);
  j = await r.json();
  assert.match(j.errors[0].message, /at most 64 levels deep/);
  // Brackets inside strings are not nesting.
  r = await feedback(a.id, JSON.stringify({ label: "true_positive", note: "[[[[".repeat(100) + '\\"{' }));
  assert.equal(r.status, 200);
  r = await feedback(a.id, "x".repeat(70_000));
  assert.equal(r.status, 413);
  assert.equal(
    (await r.json()).error,
    "request body larger than 65536 bytes, the limit of POST /alerts/{id}/feedback",
  );
  cleanup();
});

// ---- 7. A big /predict does not hold the other requests -------------------------------------

Deno.test("predict: /health is answered while an 80,000-row predict is being scored", async () => {
  const model = sumModel();
  const { h, cleanup } = setup({ models: [model], predictChunkRows: 1000 });
  const ac = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} }, h);
  const base = `http://127.0.0.1:${server.addr.port}`;
  // Real flow rows (a benign capture), repeated to 80,000.
  const real = await basicRows();
  const rows = Array.from({ length: 80_000 }, (_, i) => real[i % real.length]);
  const order: string[] = [];
  let health: Promise<void> | undefined;
  const score = model.score.bind(model);
  // The health request goes out once scoring has started: it must come back before the predict does.
  model.score = (m) => {
    health ??= fetch(`${base}/health`).then(async (r) => {
      assert.equal(r.status, 200);
      await r.body?.cancel();
      order.push("health");
    });
    return score(m);
  };
  try {
    const r = await fetch(`${base}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows }),
    });
    order.push("predict");
    const j = await r.json();
    assert.equal(r.status, 200);
    assert.equal(j.scores.length, 80_000);
    assert.equal(j.scores[0], real[0][0] + real[0][1] + real[0][2]);
    await health;
    assert.deepEqual(order, ["health", "predict"]);
    assert.equal(model.calls, 80, "scored in slices of 1000 rows");
  } finally {
    ac.abort();
    await server.finished;
    cleanup();
  }
});

// ---- 8. Non-finite scores fail closed; non-finite inputs are refused ------------------------

Deno.test("predict API: a non-finite score is null, anomalous, with a reason, and counted", async () => {
  const nanModel: PredictModel = {
    name: "nan-weights",
    detector: "test",
    featureNames: BASIC,
    threshold: 1,
    score: (x) => new Float64Array(x.rows).fill(NaN),
  };
  const { call, metrics, cleanup } = setup({ models: [sumModel(), nanModel] });
  const real = (await basicRows()).slice(0, 2);
  const post = (model: string, rows: unknown[]) =>
    call(`/predict?model=${model}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows }),
    });
  // A model with NaN weights flags every row instead of none.
  let r = await post("nan-weights", real);
  let j = await r.json();
  assert.equal(r.status, 200);
  assert.deepEqual(j.scores, [null, null]);
  assert.deepEqual(j.anomalous, [true, true]);
  assert.deepEqual(j.reasons, ["non_finite_score", "non_finite_score"]);
  assert.equal(j.non_finite_scores, 2);
  // −1e308 is a valid float, but the sum overflows to −Infinity: fail closed, as valid JSON.
  r = await call("/predict?model=sum", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: `{"rows":[${JSON.stringify(real[0])},[-1e308,-1e308,0]]}`,
  });
  const text = await r.text();
  j = JSON.parse(text);
  assert.equal(j.scores[1], null);
  assert.deepEqual(j.anomalous, [false, true]);
  assert.deepEqual(j.reasons, [null, "non_finite_score"]);
  assert.equal(
    metrics.registry.render().match(/nadir_api_predict_non_finite_scores_total\{model="nan-weights"\} (\d+)/)
      ?.[1],
    "2",
  );
  // Values out of the float range are refused with their row and column.
  r = await call("/predict?model=sum", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body:
      '{"rows":[[1,2,3],{"bidirectional_packets":1,"bidirectional_bytes":1e400,"bidirectional_duration_ms":0}]}',
  });
  assert.equal(r.status, 400);
  j = await r.json();
  assert.deepEqual(j.errors, [{
    field: "rows[1].bidirectional_bytes",
    message: "expected a finite number, found Infinity (outside the 64-bit float range)",
  }]);
  r = await call("/predict?model=sum", {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: BASIC.join(",") + "\n1,2,3\n1,-1e999,3\n",
  });
  assert.equal(r.status, 400);
  assert.deepEqual((await r.json()).errors.map((e: { field: string }) => e.field), [
    "line 3.bidirectional_bytes",
  ]);
  cleanup();
});

/** A knn model on real flow rows saved as `nadir train` would, without a transform. */
async function savedKnn(): Promise<{ dir: string; x: Awaited<ReturnType<typeof flowMatrixFromPcap>> }> {
  const x = await flowMatrixFromPcap(dataPath("pcaps", "http_espn.pcapng"), featureSetByName("basic"));
  const d = createDetector("knn", { k: 1 }, 0);
  await d.fit(x);
  const dir = await Deno.makeTempDir({ prefix: "nadir-knn-" });
  await saveModel(dir, {
    detector: d,
    seed: 0,
    featureNames: x.names,
    threshold: { strategy: "fixed", params: {}, value: 1e6 },
  });
  return { dir, x };
}

Deno.test("predictBatch: a NaN score fails closed (anomalous, marked), a dropped row does not", async () => {
  const { dir, x } = await savedKnn();
  const model = await loadModel(dir);
  const rows = Array.from({ length: 4 }, (_, r) => Array.from(x.data.subarray(r * x.cols, (r + 1) * x.cols)));
  const ok = await predictBatch(rows, model);
  assert.deepEqual(ok.isAnomaly, [false, false, false, false]);
  assert.equal(ok.nonFiniteCount, 0);
  // NaN weights: every score NaN.
  model.detector.score = (m) => Promise.resolve(new Float64Array(m.rows).fill(NaN));
  const bad = await predictBatch(rows, model);
  assert.deepEqual(bad.isAnomaly, [true, true, true, true]);
  assert.equal(bad.nonFiniteCount, 4);
  assert.deepEqual(Array.from(bad.dropped), [0, 0, 0, 0]);
  model.detector.dispose?.();
  // Input that is not finite never reaches a model without a transform.
  const fresh = await loadModel(dir);
  await assert.rejects(
    predictBatch(
      [rows[0], rows[1].map((v, j) => (x.names[j] === "bidirectional_bytes" ? Infinity : v))],
      fresh,
    ),
    /row 2, column "bidirectional_bytes": expected a finite number, found Infinity/,
  );
  fresh.detector.dispose?.();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("nadir predict: a row whose distance overflows saturates and is flagged (valid JSON); out-of-range input is refused", async () => {
  const { dir, x } = await savedKnn();
  const input = join(dir, "rows.csv");
  const lines = [x.names.join(",")];
  for (let r = 0; r < 3; r++) lines.push(Array.from(x.data.subarray(r * x.cols, (r + 1) * x.cols)).join(","));
  // A real row whose byte counts are −1e308: valid floats whose distance overflows float64. knn saturates
  // such a score at Number.MAX_VALUE (src/detectors/_linalg.ts saturateScore): flagged, and still JSON.
  // (A score that is NaN or ±Infinity is written as null with a reason: see the predictBatch test above.)
  lines.push(
    Array.from(x.data.subarray(0, x.cols), (v, j) => (/_bytes$/.test(x.names[j]) ? "-1e308" : String(v)))
      .join(","),
  );
  Deno.writeTextFileSync(input, lines.join("\n") + "\n");
  const out = join(dir, "scores.jsonl");
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-ffi", join(ROOT, "src/cli.ts"), ...args],
      env: { NO_COLOR: "1", NADIR_PROGRESS: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const res = await run(["predict", "--model", dir, "--input", input, "--out", out]);
  const stderr = new TextDecoder().decode(res.stderr);
  assert.equal(res.code, 0, stderr);
  const rows = Deno.readTextFileSync(out).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(rows.length, 4);
  assert.ok(rows.slice(0, 3).every((r) => typeof r.score === "number" && r.is_anomaly === false));
  assert.deepEqual(rows[3], { score: Number.MAX_VALUE, is_anomaly: true });
  assert.doesNotMatch(stderr, /scored NaN or ±Infinity/);
  const summary = JSON.parse(new TextDecoder().decode(res.stdout));
  assert.equal(summary.non_finite_scores, 0);
  assert.equal(summary.anomalies, 1);
  // A value out of the float range is refused with its row and column.
  const big = Array.from(
    x.data.subarray(0, x.cols),
    (v, j) => (x.names[j] === "bidirectional_bytes" ? "1e400" : String(v)),
  );
  Deno.writeTextFileSync(input, [x.names.join(","), big.join(",")].join("\n") + "\n");
  const bad = await run(["predict", "--model", dir, "--input", input]);
  assert.equal(bad.code, 1);
  assert.match(
    new TextDecoder().decode(bad.stderr),
    /row 1, column "bidirectional_bytes": expected a finite number/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an upload the client abandons mid-body is answered without logging it as the server's error", async () => {
  const { h, cleanup } = setup();
  const logged: string[] = [];
  const origError = console.error;
  console.error = (...a: unknown[]) => logged.push(a.join(" "));
  const answered: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const r = await h(req);
    answered.push(r.status);
    return r;
  });
  try {
    for (const path of ["/predict", "/alerts/x/feedback"]) {
      // A body promised at 500 bytes, 9 sent, then the connection closed (before: a 500 and three lines of
      // stack trace in the log for every such request, so a slow-read flood filled the log).
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await conn.write(
        new TextEncoder().encode(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"rows":[`,
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
      conn.close();
    }
    for (let i = 0; i < 50 && answered.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(answered, [400, 400]);
    assert.deepEqual(logged.filter((l) => l.includes("nadir api")), []);
    const ok = await fetch(`http://127.0.0.1:${server.addr.port}/health`);
    assert.equal(ok.status, 200, "the server still answers");
    await ok.body?.cancel();
  } finally {
    console.error = origError;
    await server.shutdown();
    cleanup();
  }
});

Deno.test("predict: at most 4 requests are scored at once; one more is 503 with Retry-After, before its body is read", async () => {
  // 100 concurrent 8 MiB predicts had taken the server to 3.7 GB of RSS and /health to 18 s.
  let open!: () => void;
  const gate = new Promise<void>((r) => open = r);
  const gated: PredictModel = {
    name: "gated",
    detector: "test",
    featureNames: BASIC,
    score: async (x) => (await gate, new Float64Array(x.rows)),
  };
  const { call, cleanup } = setup({ models: [gated] });
  const post = () =>
    call("/predict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        rows: [{ bidirectional_packets: 1, bidirectional_bytes: 2, bidirectional_duration_ms: 3 }],
      }),
    });
  try {
    const held = Array.from({ length: 4 }, post);
    await new Promise((r) => setTimeout(r, 20));
    const busy = await post();
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get("retry-after"), "1");
    assert.match((await busy.json()).error, /^busy: 4 \/predict requests are being scored/);
    assert.equal((await call("/health")).status, 200, "/health is not held back");
    open();
    assert.deepEqual((await Promise.all(held)).map((r) => r.status), [200, 200, 200, 200]);
    assert.equal((await post()).status, 200, "a slot is free again");
  } finally {
    open();
    cleanup();
  }
});

Deno.test("query parameters: unknown, repeated or out of their set are 400 naming them; feedback fields a verdict ignores too", async () => {
  const { store, call, feedback, cleanup } = setup();
  const flows = await realFlows();
  const a = alertFrom(flows, 0);
  store.add({ alert: a });
  try {
    const bad = async (path: string, field: string, message: RegExp) => {
      const r = await call(path);
      assert.equal(r.status, 400, path);
      const j = await r.json();
      assert.equal(j.errors[0].field, field, path);
      assert.match(j.errors[0].message, message, path);
    };
    // Before: every alert (the typo ignored), the first limit, any stream name.
    await bad(
      "/alerts?limt=1",
      "limt",
      /^unknown query parameter \(expected limit, before, severity, src_ip, sensor\)$/,
    );
    await bad("/alerts?limit=2&limit=x", "limit", /^given more than once$/);
    await bad("/drift?stream=bogus", "stream", /^expected "score" or "feature:<name>", found "bogus"$/);
    await bad("/drift?limit=5&x=1", "x", /^unknown query parameter/);
    assert.equal((await call("/alerts?limit=1")).status, 200);
    assert.equal((await call("/drift?stream=feature:bidirectional_bytes")).status, 200);
    assert.equal((await call("/drift?stream=score")).status, 200);
    const p = await call("/predict?model=sum&x=1", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(p.status, 400);
    assert.equal((await p.json()).errors[0].field, "x");
    const both = await call("/predict?model=sum", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "other", rows: [] }),
    });
    assert.equal(both.status, 400);
    assert.match((await both.json()).errors[0].message, /^the query names model "sum" and the body "other"$/);
    const tp = await feedback(a.id, { label: "true_positive", scope: "flow", suppress_for_s: 100 });
    assert.equal(tp.status, 400);
    assert.deepEqual((await tp.json()).errors.map((e: { field: string }) => e.field), [
      "scope",
      "suppress_for_s",
    ]);
    assert.equal(store.get(a.id)!.alert.feedback, undefined, "nothing changed");
  } finally {
    cleanup();
  }
});

Deno.test("feedback file: a torn last line is moved aside at start, so the next verdict starts on a clean line", async () => {
  const { openAlerting } = await import("../../src/serve/pipeline/alerting.ts");
  const dir = Deno.makeTempDirSync({ prefix: "nadir-fb-torn-" });
  const origError = console.error;
  const logged: string[] = [];
  console.error = (...a: unknown[]) => void logged.push(a.join(" "));
  try {
    const flows = await realFlows();
    const a = alertFrom(flows, 0);
    Deno.writeTextFileSync(join(dir, "alerts.jsonl"), JSON.stringify(a) + "\n");
    // A crash mid-write left this; the next verdict had been glued onto it and the start after refused the file.
    Deno.writeTextFileSync(join(dir, "feedback.jsonl"), '{"id":"x');
    const cfg = { alerts: { file: join(dir, "alerts.jsonl") } };
    const first = openAlerting(cfg);
    assert.match(logged.join("\n"), /repaired .*feedback\.jsonl/);
    first.store.feedback(a.id, { label: "false_positive" });
    const again = openAlerting(cfg);
    assert.equal(again.store.get(a.id)!.alert.feedback, "false_positive");
    assert.equal(again.feedback.length, 1);
    assert.ok(
      [...Deno.readDirSync(dir)].some((e) => e.name.startsWith("feedback.jsonl.torn-")),
      "the fragment kept aside",
    );
  } finally {
    console.error = origError;
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("feedback: a suppressions file that cannot be written is a 500 naming it, and the rule does not take effect", async () => {
  const { store, feedback, filter, dir, cleanup } = setup();
  const flows = await realFlows();
  const a = alertFrom(flows, 0);
  store.add({ alert: a });
  // The rules are written through "<file>.tmp": a directory there makes every save fail.
  Deno.mkdirSync(join(dir, "suppressions.json.tmp"));
  try {
    const r = await feedback(a.id, { label: "false_positive" });
    assert.equal(r.status, 500);
    assert.match(
      (await r.json()).error,
      /^cannot save the suppression rules to .*suppressions\.json: .*; nothing changed$/,
    );
    // Before, the rule was in force (GET /suppressions listed it) while the request had failed.
    assert.deepEqual(filter.suppressions.rules(), []);
    assert.equal(store.get(a.id)!.alert.feedback, undefined);
    Deno.removeSync(join(dir, "suppressions.json.tmp"));
    assert.equal((await feedback(a.id, { label: "false_positive" })).status, 200);
    assert.equal(filter.suppressions.rules().length, 1);
  } finally {
    cleanup();
  }
});

Deno.test("serveApi: a port in use or out of range, or a TLS file that is not PEM, is one line naming it", async () => {
  const { serveApi } = await import("../../src/serve/api/server.ts");
  const handler = () => Promise.resolve(new Response("x"));
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = Deno.makeTempDirSync({ prefix: "nadir-serve-" });
  try {
    const port = (busy.addr as Deno.NetAddr).port;
    // Each had been an uncaught AddrInUse / RangeError / TLS error with a stack trace.
    assert.throws(
      () => serveApi({ host: "127.0.0.1", port, handler }),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`),
    );
    assert.throws(
      () => serveApi({ host: "127.0.0.1", port: 70000, handler }),
      /expected a port 0–65535 to listen on, found 70000/,
    );
    Deno.writeTextFileSync(join(dir, "cert.pem"), "not a certificate");
    assert.throws(
      () =>
        serveApi({
          host: "127.0.0.1",
          port: 0,
          handler,
          certFile: join(dir, "cert.pem"),
          keyFile: join(dir, "cert.pem"),
        }),
      /cert\.pem: expected a PEM certificate/,
    );
    assert.throws(
      () =>
        serveApi({
          host: "127.0.0.1",
          port: 0,
          handler,
          certFile: join(dir, "none.pem"),
          keyFile: join(dir, "none.pem"),
        }),
      /none\.pem: cannot read the TLS certificate/,
    );
  } finally {
    busy.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("monitor config: paths of the wrong kind or missing are named by field before anything opens", async () => {
  const { configPathProblems } = await import("../../src/serve/config.ts");
  const dir = Deno.makeTempDirSync({ prefix: "nadir-cfgpath-" });
  try {
    Deno.writeTextFileSync(join(dir, "evidence"), "");
    Deno.mkdirSync(join(dir, "sup"));
    const problems = configPathProblems({
      alerts: { file: join(dir, "a.jsonl") },
      rules: { suppressions_file: join(dir, "sup") },
      sinks: { nats: { host: "127.0.0.1", port: 4222, token_file: join(dir, "no-token") } },
    });
    assert.deepEqual(problems, [
      `field "evidence.dir": ${join(dir, "evidence")} is a file; expected a directory`,
      `field "rules.suppressions_file": ${join(dir, "sup")} is a directory; expected a file`,
      `field "sinks.nats.token_file": ${join(dir, "no-token")} does not exist`,
    ]);
    assert.deepEqual(configPathProblems({ alerts: { file: join(dir, "b", "a.jsonl") } }), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
