import assert from "node:assert/strict";
import { join } from "node:path";
import spec from "../../docs/openapi.json" with { type: "json" };
import {
  createHandler,
  isLoopback,
  parsePredictInput,
  type PredictModel,
  serveApi,
} from "../../src/serve/api.ts";
import { makeAlert } from "../../src/serve/alert.ts";
import { AlertStore, LiveStats } from "../../src/serve/store.ts";
import { AlertFilter, SuppressionList } from "../../src/serve/rules.ts";
import { MonitorMetrics } from "../../src/serve/metrics.ts";
import { isUserError } from "../../src/util/errors.ts";
import { scratchDir } from "../_scratch.ts";

const FEATURES = ["bidirectional_packets", "bidirectional_bytes", "bidirectional_duration_ms"];
/** A scoring function that is easy to check: the sum of the row. */
const model: PredictModel = {
  name: "sum",
  detector: "test-sum",
  featureNames: FEATURES,
  threshold: 100,
  score: (x) => {
    const out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) out[i] += x.data[i * x.cols + j];
    return out;
  },
};
const TOKEN = "test-token-0123456789abcdef";
const HOSTILE = `<img src=x onerror="alert(1)">\u0000\u202e"]`;

function setup(opts: { token?: string; maxBody?: number } = {}) {
  const dir = scratchDir("nadir-test-");
  const filter = new AlertFilter({ suppressions: new SuppressionList(join(dir, "suppressions.json")) });
  const store = new AlertStore({
    evidenceDir: join(dir, "evidence"),
    feedbackFile: join(dir, "feedback.jsonl"),
    filter,
  });
  const metrics = new MonitorMetrics();
  const h = createHandler({
    store,
    stats: new LiveStats(),
    metrics,
    models: [model],
    token: opts.token,
    maxBodyBytes: opts.maxBody ?? 4096,
  });
  const call = (path: string, init: RequestInit = {}) => h(new Request("http://127.0.0.1" + path, init));
  return { dir, store, filter, metrics, call };
}

function addAlert(store: AlertStore, i: number, src = "192.0.2.1", host = HOSTILE) {
  const a = makeAlert({
    tsUs: 1.7e15 + i,
    flowId: i,
    srcIp: src,
    srcPort: 1000 + i,
    destIp: "198.51.100.2",
    destPort: 80,
    protocol: 6,
    detector: "kmeans",
    score: 5,
    threshold: 1,
    explanation: HOSTILE,
    host,
  });
  store.add({ alert: a, featureNames: FEATURES, features: [1, 2, 3] });
  return a;
}

Deno.test("every OpenAPI path is routed (no 404 from the router for documented routes)", async () => {
  const { call, store } = setup();
  const a = addAlert(store, 1);
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const method of Object.keys(ops as Record<string, unknown>)) {
      const p = path.replace("{id}", a.id);
      const init: RequestInit = { method: method.toUpperCase() };
      if (method === "post") {
        init.body = p.endsWith("feedback")
          ? JSON.stringify({ label: "true_positive" })
          : JSON.stringify({ rows: [[1, 2, 3]] });
        init.headers = { "content-type": "application/json" };
      }
      const ac = new AbortController();
      const r = await call(p, { ...init, signal: ac.signal });
      let body = "";
      if (p === "/alerts/stream") {
        ac.abort();
        await r.body?.cancel();
      } else body = await r.text();
      // The handler's own 404s say why (no evidence pcap; no model history without a monitor's model).
      assert.ok(
        r.status !== 404 || p.endsWith("/pcap") ||
          (p.startsWith("/model") && body.includes("no model history")),
        `${method} ${p} → ${r.status} ${body.slice(0, 100)}`,
      );
      assert.ok(r.status < 500, `${method} ${p} → ${r.status}`);
    }
  }
});

Deno.test("predict: JSON objects, arrays and CSV score correctly", async () => {
  const { call } = setup();
  let r = await call("/predict", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      rows: [{ bidirectional_packets: 1, bidirectional_bytes: 2, bidirectional_duration_ms: 3 }, [100, 1, 0]],
    }),
  });
  assert.equal(r.status, 200);
  let j = await r.json();
  assert.deepEqual(j.scores, [6, 101]);
  assert.deepEqual(j.anomalous, [false, true]);
  r = await call("/predict?model=sum", {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body:
      'extra,bidirectional_duration_ms,bidirectional_bytes,bidirectional_packets\nx,1,2,3\n"q,",10,20,30\n',
  });
  j = await r.json();
  assert.equal(r.status, 200, JSON.stringify(j));
  assert.deepEqual(j.scores, [6, 60]);
});

Deno.test("predict: malformed input gets 400 naming each field; wrong types; hostile keys", async () => {
  const { call } = setup();
  const post = (body: string, ct = "application/json") =>
    call("/predict", { method: "POST", headers: { "content-type": ct }, body });
  let r = await post("{not json");
  assert.equal(r.status, 400);
  let j = await r.json();
  assert.equal(j.errors[0].field, "body");
  assert.match(j.errors[0].message, /invalid JSON/);

  r = await post(
    JSON.stringify({
      rows: [{ bidirectional_packets: "7", bidirectional_bytes: null }, [1, 2], 5],
      [HOSTILE]: 1,
    }),
  );
  assert.equal(r.status, 400);
  j = await r.json();
  const fields = j.errors.map((e: { field: string }) => e.field);
  assert.ok(fields.includes("rows[0].bidirectional_packets"), fields.join(" | "));
  assert.ok(fields.includes("rows[0].bidirectional_bytes"));
  assert.ok(fields.includes("rows[0].bidirectional_duration_ms"));
  assert.ok(fields.includes("rows[1]"));
  assert.ok(fields.includes("rows[2]"));
  assert.ok(fields.some((f: string) => f.startsWith("<img")), "unknown top-level field reported");
  // The response is JSON (never HTML) so a hostile key cannot become markup.
  assert.match(r.headers.get("content-type")!, /^application\/json/);
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");

  r = await post("[1,2]");
  assert.equal(r.status, 400);
  r = await post("a,b\n1,2\n", "text/csv");
  j = await r.json();
  assert.equal(r.status, 400);
  assert.match(j.errors[0].field, /^header\./);
  r = await post(
    "bidirectional_packets,bidirectional_bytes,bidirectional_duration_ms\n1,abc,3\n",
    "text/csv",
  );
  j = await r.json();
  assert.deepEqual(j.errors[0].field, "line 2.bidirectional_bytes");
  // Decimal numbers only, as `nadir predict` reads a CSV: Number() took 0x10 as 16.
  for (const v of ["0x10", "0b11", "0o7"]) {
    r = await post(
      `bidirectional_packets,bidirectional_bytes,bidirectional_duration_ms\n1,${v},3\n`,
      "text/csv",
    );
    j = await r.json();
    assert.equal(r.status, 400, v);
    assert.deepEqual(j.errors, [{
      field: "line 2.bidirectional_bytes",
      message: `expected a finite number, found "${v}"`,
    }]);
  }
  // Lines ended by CR alone (old Mac style) are lines: it had read them as one header line.
  r = await post(
    "bidirectional_packets,bidirectional_bytes,bidirectional_duration_ms\r1,2,3\r4,5,6\r",
    "text/csv",
  );
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal((await r.json()).scores.length, 2);
  // A column named twice: the first copy had been used and the second ignored.
  r = await post(
    "bidirectional_packets,bidirectional_bytes,bidirectional_duration_ms,bidirectional_packets\n1,2,3,999\n",
    "text/csv",
  );
  j = await r.json();
  assert.equal(r.status, 400);
  assert.deepEqual(j.errors, [{
    field: "header.bidirectional_packets",
    message: 'column "bidirectional_packets" appears twice (columns 1 and 4)',
  }]);
  // A gzip body had been read as its compressed bytes: 400 "expected UTF-8 text".
  r = await call("/predict", {
    method: "POST",
    headers: { "content-type": "application/json", "content-encoding": "gzip" },
    body: new Uint8Array([0x1f, 0x8b, 8, 0]),
  });
  assert.equal(r.status, 415);
  assert.match((await r.json()).error, /^content-encoding "gzip" is not accepted/);
  r = await post("x", "application/xml");
  assert.equal(r.status, 415);
  r = await call("/predict?model=nope", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(r.status, 404);
  // Bad UTF-8
  r = await call("/predict", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: new Uint8Array([0xff, 0xfe, 0x7b]),
  });
  assert.equal(r.status, 400);
});

Deno.test("huge body gets 413, with and without Content-Length", async () => {
  const { call } = setup({ maxBody: 1024 });
  const big = JSON.stringify({ rows: Array.from({ length: 500 }, () => [1, 2, 3]) });
  let r = await call("/predict", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: big,
  });
  assert.equal(r.status, 413);
  // Streamed body (no length known up front).
  const chunk = new TextEncoder().encode("[1,2,3],".repeat(100));
  let n = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (n++ < 1000) c.enqueue(chunk);
      else c.close();
    },
  });
  r = await call("/predict", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: stream,
  });
  assert.equal(r.status, 413);
  assert.ok(n < 50, `reading stopped early (pulled ${n} chunks)`);
});

Deno.test("bearer token: required on data routes, not on /health; wrong token 401", async () => {
  const { call } = setup({ token: TOKEN });
  assert.equal((await call("/health")).status, 200);
  assert.equal((await call("/metrics")).status, 401);
  assert.equal(
    (await call("/alerts", { headers: { authorization: "Bearer wrong-token-000000000" } })).status,
    401,
  );
  assert.equal((await call("/alerts", { headers: { authorization: `Basic ${TOKEN}` } })).status, 401);
  assert.equal((await call("/alerts", { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  const m = await call("/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.match(await m.text(), /^# HELP nadir_packets_total/m);
});

Deno.test("off-loopback without a token refuses to start; loopback detection", () => {
  assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost"));
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("10.0.0.1"));
  assert.throws(
    () => serveApi({ host: "0.0.0.0", port: 0, handler: () => Promise.resolve(new Response()) }),
    (e: unknown) => isUserError(e) && /without a token/.test((e as Error).message),
  );
});

Deno.test("alerts: paging, filters, 404, bad query, feedback adds suppression and benign row", async () => {
  const { call, store, dir, filter } = setup();
  const ids = [];
  for (let i = 0; i < 7; i++) {
    ids.push(addAlert(store, i, i % 2 ? "192.0.2.1" : "192.0.2.2", i >= 4 ? "s1" : HOSTILE).id);
  }
  let r = await call("/alerts?limit=3");
  let j = await r.json();
  assert.deepEqual(j.alerts.map((a: { id: string }) => a.id), ids.slice(4).reverse());
  assert.equal(j.total, 7);
  r = await call(`/alerts?limit=3&before=${j.next}`);
  j = await r.json();
  assert.deepEqual(j.alerts.map((a: { id: string }) => a.id), ids.slice(1, 4).reverse());
  r = await call(`/alerts?limit=3&before=${j.next}`);
  j = await r.json();
  assert.deepEqual(j.alerts.map((a: { id: string }) => a.id), [ids[0]]);
  assert.equal(j.next, null);
  j = await (await call("/alerts?src_ip=192.0.2.2")).json();
  assert.equal(j.alerts.length, 4);
  // A collector holds many sensors' alerts: ?sensor= keeps one (the alert's host).
  j = await (await call("/alerts?sensor=s1")).json();
  assert.deepEqual(j.alerts.map((a: { id: string }) => a.id), ids.slice(4).reverse());
  assert.equal((await (await call("/alerts?sensor=nowhere")).json()).alerts.length, 0);
  assert.equal((await call(`/alerts?sensor=${"x".repeat(300)}`)).status, 400);
  r = await call("/alerts?limit=abc&severity=9");
  assert.equal(r.status, 400);
  j = await r.json();
  assert.deepEqual(j.errors.map((e: { field: string }) => e.field).sort(), ["limit", "severity"]);
  assert.equal((await call("/alerts/nope")).status, 404);
  assert.equal((await call("/alerts/" + encodeURIComponent("../../etc/passwd") + "/pcap")).status, 400);
  assert.equal((await call(`/alerts/${ids[0]}/pcap`)).status, 404);

  // Feedback: bad bodies, then a real false positive.
  const fb = (id: string, body: string) =>
    call(`/alerts/${id}/feedback`, { method: "POST", headers: { "content-type": "application/json" }, body });
  r = await fb(ids[0], JSON.stringify({ label: "maybe", extra: 1, note: 5 }));
  assert.equal(r.status, 400);
  j = await r.json();
  assert.deepEqual(j.errors.map((e: { field: string }) => e.field).sort(), ["extra", "label", "note"]);
  assert.equal((await fb("nope", JSON.stringify({ label: "false_positive" }))).status, 404);
  assert.equal((await fb(ids[0], "x".repeat(70_000))).status, 413);
  r = await fb(ids[0], JSON.stringify({ label: "false_positive", note: HOSTILE }));
  assert.equal(r.status, 200);
  j = await r.json();
  assert.equal(j.suppression.src, "192.0.2.2");
  // The suppression now applies to the same pair and is persisted.
  const a0 = store.get(ids[0])!.alert;
  assert.equal(filter.check(a0), "suppressed");
  assert.equal(filter.check({ ...a0, dest_port: 81 }), "pass");
  const saved = JSON.parse(Deno.readTextFileSync(join(dir, "suppressions.json")));
  assert.equal(saved.length, 1);
  assert.equal(new SuppressionList(join(dir, "suppressions.json")).match(a0)?.from_alert, ids[0]);
  const feedback = Deno.readTextFileSync(join(dir, "feedback.jsonl")).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.equal(feedback.length, 1);
  assert.equal(feedback[0].label, "benign");
  assert.deepEqual(feedback[0].features, {
    bidirectional_packets: 1,
    bidirectional_bytes: 2,
    bidirectional_duration_ms: 3,
  });
  assert.equal((await (await call(`/alerts/${ids[0]}`)).json()).feedback, "false_positive");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("SSE stream delivers alerts as they are added", async () => {
  const { call, store } = setup();
  const ac = new AbortController();
  const r = await call("/alerts/stream", { signal: ac.signal });
  assert.equal(r.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  const a = addAlert(store, 42);
  let text = "";
  while (!text.includes("\n\n") || !text.includes(a.id)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  ac.abort();
  await reader.cancel();
  const data = text.split("\n").find((l) => l.startsWith("data: "))!;
  assert.equal(JSON.parse(data.slice(6)).id, a.id);
  assert.match(text, /event: alert/);
});

Deno.test("dashboard and static bundles are served with a strict CSP", async () => {
  const { call } = setup({ token: TOKEN });
  const r = await call("/");
  assert.equal(r.status, 200);
  const csp = r.headers.get("content-security-policy")!;
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
  const html = await r.text();
  assert.match(html, /<script src="\/static\/plot.js"/);
  for (const f of ["app.js", "style.css", "d3.js", "plot.js"]) {
    const s = await call("/static/" + f);
    assert.equal(s.status, 200, f);
    const body = await s.text();
    assert.ok(body.length > 100, f);
  }
  const esc = await call("/static/..%2f..%2fdeno.json");
  assert.equal(esc.status, 404);
  assert.doesNotMatch(await esc.text(), /"imports"/);
  // The dashboard script never writes data through HTML sinks.
  const app = (await (await call("/static/app.js")).text()).replace(/^\s*\/\/.*$/gm, "");
  assert.doesNotMatch(app, /\.innerHTML\s*=|outerHTML|insertAdjacentHTML|document\.write/);
});

Deno.test("parsePredictInput caps the number of reported errors", () => {
  const rows = Array.from({ length: 500 }, () => ({ bad: "x" }));
  const r = parsePredictInput(
    new TextEncoder().encode(JSON.stringify({ rows })),
    "application/json",
    model,
    1000,
  );
  assert.equal(r.matrix, undefined);
  assert.equal(r.errors.length, 50);
});

Deno.test("store.follow picks up alerts appended by another writer, survives rotation and bad lines", async () => {
  const dir = scratchDir("nadir-test-");
  const path = join(dir, "alerts.jsonl");
  const store = new AlertStore();
  const ac = new AbortController();
  const errors: string[] = [];
  const seen: string[] = [];
  store.subscribe((a) => seen.push(a.id));
  const done = store.follow(path, ac.signal, 20, (m) => errors.push(m));
  const mk = (i: number) =>
    makeAlert({
      tsUs: 1.7e15,
      flowId: i,
      srcIp: "192.0.2.1",
      srcPort: i,
      destIp: "192.0.2.2",
      destPort: 80,
      protocol: 6,
      detector: "d",
      score: 2,
      threshold: 1,
    });
  const a1 = mk(1), a2 = mk(2), a3 = mk(3);
  const wait = async (n: number) => {
    for (let i = 0; i < 200 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  };
  Deno.writeTextFileSync(path, JSON.stringify(a1) + "\n" + JSON.stringify(a2).slice(0, 20));
  await wait(1);
  assert.deepEqual(seen, [a1.id], "a torn last line waits for its end");
  Deno.writeTextFileSync(path, JSON.stringify(a2).slice(20) + "\n{oops}\n", { append: true });
  await wait(2);
  assert.deepEqual(seen, [a1.id, a2.id]);
  Deno.writeTextFileSync(path, JSON.stringify(a3) + "\n"); // rotated: shorter file
  await wait(3);
  ac.abort();
  await done;
  assert.deepEqual(seen, [a1.id, a2.id, a3.id]);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /alerts\.jsonl:3: skipped/);
  Deno.removeSync(dir, { recursive: true });
});
