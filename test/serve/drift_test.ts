/**
 * Drift events in the monitor (issue 15, scope 1): the score stream of a real replay that switches
 * from one capture to another fires an ADWIN drift, written as an eve-style `drift` line beside the
 * alerts, counted in `nadir_drift_events_total`, listed by `GET /drift` and pushed on the live
 * stream; drift off writes none; non-finite scores are not fed; the config and CLI options are
 * checked field by field.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runMonitor, type RunSummary } from "../../src/serve/run.ts";
import type { MonitorMetrics } from "../../src/serve/metrics.ts";
import { AlertStore, LiveStats } from "../../src/serve/store.ts";
import { createHandler } from "../../src/serve/api.ts";
import { SseClients } from "../../src/serve/api/sse.ts";
import { configProblems, type MonitorConfig } from "../../src/serve/config.ts";
import { type DriftRecord, driftRecord } from "../../src/serve/drift.ts";
import { Monitor } from "../../src/serve/monitor.ts";
import { MonitorMetrics as Metrics } from "../../src/serve/metrics.ts";
import { AlertFilter } from "../../src/serve/rules.ts";
import { SyslogSink } from "../../src/serve/sinks/syslog.ts";
import { driftOptions } from "../../src/cli/monitor.ts";
import type { StreamingDetector } from "../../src/detectors/types.ts";
import { alertProblems } from "../../src/serve/alert.ts";
import { InputError } from "../../src/util/errors.ts";
import { dataPath } from "../_shared.ts";
import { benignFlowModel, concatCaptures } from "./_helpers.ts";
import { scratchDir } from "../_scratch.ts";

/**
 * synscan.pcapng (1,994 SYN-scan flows the benign kmeans model scores ≈ 0.49, nearly constant),
 * then stratosphere-test7-malicious.pcap (382 flows scored ≈ 8.5 on average): a shift of the score
 * distribution at a known time. ~0.3 s per run.
 */
async function replay(drift: MonitorConfig["drift"]) {
  const dir = scratchDir("nadir-drift-");
  const pcap = join(dir, "mix.pcap");
  const { starts } = await concatCaptures(
    [dataPath("pcaps", "synscan.pcapng"), dataPath("pcaps", "stratosphere-test7-malicious.pcap")],
    pcap,
  );
  const file = join(dir, "eve.jsonl");
  let metrics: MonitorMetrics | undefined;
  let store: AlertStore | undefined;
  const live: DriftRecord[] = [];
  const r: RunSummary = await runMonitor(
    { source: { pcap }, model: await benignFlowModel(), alerts: { file }, ...(drift ? { drift } : {}) },
    {
      log: () => {},
      onReady: (x) => {
        metrics = x.metrics;
        store = x.store;
      },
      onDrift: (d) => live.push(d),
    },
  );
  const lines = Deno.readTextFileSync(file).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return { dir, file, r, metrics: metrics!, store: store!, lines, live, secondStartUs: starts[1] };
}

Deno.test("drift: a replay that switches captures fires on the score stream — eve line, counter, GET /drift", async () => {
  const { dir, file, r, metrics, store, lines, live, secondStartUs } = await replay(undefined);
  try {
    const drift = lines.filter((l) => l.event_type === "drift");
    const alerts = lines.filter((l) => l.event_type === "alert");
    assert.equal(alerts.length, r.alerts);
    for (const a of alerts) assert.deepEqual(alertProblems(a), []);
    assert.equal(drift.length, r.driftEvents, "every drift event is a line of the alerts file");
    assert.ok(drift.length >= 1, "the switch of captures is a drift of the score stream");
    assert.deepEqual(
      drift.map((d) => d.id),
      live.map((d) => d.id),
      "the lines are the events raised, in order",
    );
    for (const d of drift) assert.equal(d.stream, "score", "default: only the score stream is watched");

    const first = drift[0];
    assert.deepEqual(Object.keys(first).sort(), [
      "anomaly_detector",
      "detector",
      "drift",
      "event_type",
      "flow_id",
      "host",
      "id",
      "stream",
      "timestamp",
    ]);
    assert.equal(first.detector, "adwin");
    assert.equal(first.anomaly_detector, "kmeans");
    assert.match(first.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // It fired on a flow of the second capture, not during the scan's near-constant scores.
    assert.ok(
      Date.parse(first.timestamp) * 1000 >= secondStartUs - 1000,
      `${first.timestamp} is before the second capture`,
    );
    const d = first.drift;
    assert.ok(d.index >= 1900 && d.index < 2300, `index ${d.index}: soon after the scan's ~1,997 scores`);
    assert.ok(d.change_start <= d.index);
    assert.equal(d.direction, "up");
    assert.ok(d.before.mean < 1 && d.after.mean > 2, JSON.stringify(d));
    assert.ok(d.before.n > 0 && d.after.n > 0);
    assert.ok(d.statistic > d.threshold, "ADWIN's |Δmean| crossed its bound ε");

    // The counter, by stream and detector.
    assert.equal(metrics.driftEvents.get({ stream: "score", detector: "adwin" }), drift.length);
    assert.match(
      metrics.registry.render(),
      new RegExp(`^nadir_drift_events_total\\{detector="adwin",stream="score"\\} ${drift.length}$`, "m"),
    );

    // GET /drift: newest first, bounded by limit, filtered by stream; bad queries are 400 naming the field.
    const api = createHandler({ store, metrics });
    const get = async (q: string) => {
      const res = await api(new Request(`http://127.0.0.1/drift${q}`));
      return { status: res.status, body: await res.json() };
    };
    let g = await get("");
    assert.equal(g.status, 200);
    assert.equal(g.body.total, drift.length);
    assert.deepEqual(g.body.events.map((e: DriftRecord) => e.id), drift.map((e) => e.id).reverse());
    g = await get("?limit=1&stream=score");
    assert.deepEqual(g.body.events.map((e: DriftRecord) => e.id), [drift.at(-1).id]);
    g = await get("?stream=feature:bidirectional_bytes");
    assert.deepEqual(g.body.events, []);
    g = await get("?limit=0");
    assert.equal(g.status, 400);
    assert.equal(g.body.errors[0].field, "limit");

    // A restarted sensor (or `nadir serve --alerts`) reads both kinds of line back.
    const again = new AlertStore();
    assert.equal(again.loadFile(file), r.alerts, "alerts loaded");
    assert.equal(again.listDrift().total, drift.length, "drift events loaded");
    // The file is read in chunks now: a torn last line is still skipped, and a line that is not JSON
    // before others is still an error naming it.
    const written: string[] = Deno.readTextFileSync(file).split("\n").filter((l) => l !== "");
    const torn = join(dir, "torn.jsonl"), bad = join(dir, "bad.jsonl");
    Deno.writeTextFileSync(torn, written.join("\n") + "\n" + written[0].slice(0, 40));
    assert.equal(new AlertStore().loadFile(torn), r.alerts, "a torn last line is skipped");
    Deno.writeTextFileSync(bad, [written[0], "{not json", ...written.slice(1)].join("\n") + "\n");
    assert.throws(
      () => new AlertStore().loadFile(bad),
      (e: unknown) => e instanceof InputError && e.location.file === bad && e.location.line === 2,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("drift off (and feature streams): no drift line with enabled false; a watched feature gets its own stream", async () => {
  const off = await replay({ enabled: false });
  try {
    assert.equal(off.r.driftEvents, 0);
    assert.equal(off.lines.filter((l) => l.event_type !== "alert").length, 0, "only alerts in the file");
    assert.equal(off.lines.length, off.r.alerts);
    assert.equal(off.metrics.driftEvents.get({ stream: "score", detector: "adwin" }), 0);
    assert.match(off.metrics.registry.render(), /^nadir_drift_events_total 0$/m);
    assert.equal(off.store.listDrift().total, 0);
  } finally {
    Deno.removeSync(off.dir, { recursive: true });
  }
  // Page-Hinkley on one feature column only (the score stream off): every event names that stream.
  const feat = await replay({
    detector: "page-hinkley",
    options: { threshold: 200, delta: 5 },
    score: false,
    features: ["bidirectional_bytes"],
  });
  try {
    const drift = feat.lines.filter((l) => l.event_type === "drift");
    assert.ok(drift.length >= 1, "the second capture's flows carry far more bytes than SYN probes");
    for (const d of drift) {
      assert.equal(d.stream, "feature:bidirectional_bytes");
      assert.equal(d.detector, "page-hinkley");
    }
    assert.equal(
      feat.metrics.driftEvents.get({ stream: "feature:bidirectional_bytes", detector: "page-hinkley" }),
      drift.length,
    );
  } finally {
    Deno.removeSync(feat.dir, { recursive: true });
  }
  // A feature the model does not have is refused before the replay starts, naming the field.
  await assert.rejects(
    () => replay({ features: ["no_such_feature"] }),
    /field "drift\.features": expected names of the model's numeric features \(.*\), found "no_such_feature"/,
  );
});

Deno.test("drift: non-finite scores are never fed (packet mode, scores NaN every third packet)", async () => {
  let n = 0;
  // Score = the packet's size, NaN for every third scored packet; size jumps from 60 to 1500 half-way.
  const detector = {
    learnOne() {},
    scoreOne: (x: ArrayLike<number>) => (++n % 3 === 0 ? NaN : x[0]),
  } as unknown as StreamingDetector;
  const filter = new AlertFilter({ dedupWindowS: 0, perHostPerMinute: 0 });
  const metrics = new Metrics();
  const store = new AlertStore({ filter });
  const events: DriftRecord[] = [];
  const monitor = new Monitor({
    scoring: {
      kind: "packet",
      name: "size",
      detector,
      grace: 1,
      threshold: 1e9,
      fitThreshold: () => 1e9,
      featurizer: { names: ["wire_len"], update: (p, out) => void (out[0] = p.wireLen) },
    },
    metrics,
    store,
    stats: new LiveStats(),
    filter,
    sinks: [],
    sensor: "t",
    drift: { detector: "page-hinkley", options: { threshold: 50, delta: 10 }, score: true, features: "all" },
    onDrift: (d) => events.push(d),
  });
  const p = {
    tsUs: 0,
    wireLen: 60,
    capLen: 60,
    ifIndex: 0,
    linkType: 1,
    vlanId: 0,
    ipVersion: 4 as const,
    srcIp: "10.0.0.1",
    dstIp: "10.0.0.2",
    protocol: 17,
    srcPort: 1234,
    dstPort: 53,
    ipLen: 46,
    ttl: 64,
    transportHeaderLen: 8,
    payloadLen: 18,
    tcpFlags: 0,
    tcpWindow: 0,
    icmpType: -1,
    icmpCode: -1,
    fragment: false,
    laterFragment: false,
    tunnelId: 0,
  };
  for (let i = 0; i < 301; i++) monitor.packet({ ...p, tsUs: i * 1000, wireLen: i <= 150 ? 60 : 1500 });
  await monitor.finish();
  assert.equal(n, 300, "300 packets scored after the 1-packet grace");
  assert.equal(monitor.nonFiniteScores, 100);
  assert.equal(monitor.drift!.seen("score"), 200, "only the 200 finite scores were fed");
  assert.equal(monitor.drift!.seen("feature:wire_len"), 300, "the feature stream takes every scored packet");
  assert.deepEqual([...new Set(events.map((e) => e.stream))].sort(), ["feature:wire_len", "score"]);
  assert.ok(events.every((e) => e.drift.direction === "up" && e.drift.index >= 100));
  assert.equal(store.listDrift().total, events.length);
  assert.equal(monitor.driftEvents, events.length);
});

Deno.test("drift config: defaults, and problems that name the field (expected vs found)", () => {
  assert.deepEqual(configProblems({ drift: {} }), []);
  assert.deepEqual(
    configProblems({
      drift: { detector: "kswin", options: { alpha: 1e-4 }, features: "all", max_events: 50 },
    }),
    [],
  );
  assert.deepEqual(configProblems({ drift: { detector: "cusum" } }), [
    'field "drift.detector": expected one of "adwin", "page-hinkley", "kswin", found "cusum"',
  ]);
  assert.deepEqual(configProblems({ drift: { enabled: "yes" } }), [
    'field "drift.enabled": expected a boolean, found "yes"',
  ]);
  assert.deepEqual(configProblems({ drift: { options: { delta: 2 } } }), [
    'field "drift.options": ADWIN option delta expects a number in (0, 1), found 2',
  ]);
  assert.deepEqual(configProblems({ drift: { detector: "page-hinkley", options: { lambda: 3 } } }).length, 1);
  assert.match(
    configProblems({ drift: { detector: "page-hinkley", options: { lambda: 3 } } })[0],
    /^field "drift\.options": .*lambda/,
  );
  assert.deepEqual(configProblems({ drift: { features: "some" } }), [
    'field "drift.features": expected "all" or an array of feature names, found "some"',
  ]);
  assert.deepEqual(configProblems({ drift: { features: [""] } }), [
    'field "drift.features[0]": expected at least 1 character(s)',
  ]);
  assert.deepEqual(configProblems({ drift: { max_events: 0 } }), [
    'field "drift.max_events": expected a number ≥ 1, found 0',
  ]);
  assert.match(
    configProblems({ drift: { every: 1 } })[0],
    /^field "drift\.every": unknown \(expected one of enabled, /,
  );

  // The CLI options over the file's section.
  const cli = (options: Record<string, string | string[]>, drift?: MonitorConfig["drift"]) => {
    const cfg: MonitorConfig = drift ? { drift } : {};
    driftOptions(cfg, { options, positionals: [] });
    return cfg.drift;
  };
  assert.equal(cli({}), undefined, "no option: the section is left alone (defaults apply)");
  assert.deepEqual(cli({ drift: "off" }, { detector: "kswin" }), { detector: "kswin", enabled: false });
  assert.deepEqual(cli({ drift: "page-hinkley", "drift-param": ["threshold=20", "mode=up"] }), {
    enabled: true,
    detector: "page-hinkley",
    options: { threshold: 20, mode: "up" },
  });
  assert.deepEqual(cli({ drift: "kswin" }, { detector: "adwin", options: { delta: 0.01 } }), {
    enabled: true,
    detector: "kswin",
  }, "the file's options were for another detector");
  assert.deepEqual(cli({ "drift-features": "all" }), { features: "all" });
  assert.deepEqual(cli({ "drift-features": "a, b" }), { features: ["a", "b"] });
  assert.throws(() => cli({ "drift-param": ["delta"] }), /--drift-param expects KEY=VALUE, found "delta"/);
  assert.deepEqual(configProblems({ drift: cli({ "drift-param": ["delta=2"] }) }), [
    'field "drift.options": ADWIN option delta expects a number in (0, 1), found 2',
  ]);
});

Deno.test("drift events on the live stream (event: drift) and in syslog (notice, MSGID drift)", async () => {
  const d = driftRecord(
    {
      detector: "adwin",
      index: 40,
      changeStart: 32,
      before: { n: 32, mean: 0.5 },
      after: { n: 9, mean: 8 },
      direction: "up",
      statistic: 7.5,
      threshold: 2,
    },
    { stream: "score", tsUs: 1_700_000_000_000_000, flowId: 7, host: "sensor-1", anomalyDetector: "kmeans" },
  );
  assert.equal(d.timestamp, "2023-11-14T22:13:20.000000Z");
  const store = new AlertStore();
  const clients = new SseClients();
  const res = clients.stream(store);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  assert.match((await reader.read()).value!, /^: nadir alert stream/);
  store.addDrift(d);
  store.addDrift(d); // the same id again (a followed file read twice): kept once
  const ev = (await reader.read()).value!;
  assert.equal(ev, `event: drift\nid: ${d.id}\ndata: ${JSON.stringify(d)}\n\n`);
  await reader.cancel();
  assert.equal(store.listDrift().total, 1);

  const sink = new SyslogSink({ host: "127.0.0.1", port: 9, transport: "udp" });
  try {
    const line = sink.format(d);
    // facility local0 (16) × 8 + notice (5) = 133
    assert.match(line, /^<133>1 2023-11-14T22:13:20\.000000Z sensor-1 nadir \d+ drift \[nadir@32473 /);
    assert.match(line, /stream="score" detector="adwin" index="40"\] \{/);
  } finally {
    await sink.close();
  }
});
