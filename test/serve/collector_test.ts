import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { makeAlert } from "../../src/serve/alert.ts";
import { CollectorDb, lockStore, runCollector } from "../../src/serve/collector.ts";
import { parseNatsUrl } from "../../src/cli/collect.ts";
import { InputError } from "../../src/util/errors.ts";
import { scratchFile } from "../_scratch.ts";
import { join } from "node:path";
import { NatsClient } from "../../src/serve/sinks/nats.ts";
import { ensureStream, jsPublish } from "../../src/serve/sinks/jetstream.ts";
import { needPrograms, startNats, testWhen } from "../_shared.ts";

/** A real alert record (what a monitor publishes) with this id and sensor. */
const alert = (id: string, host = "s1") => ({
  ...makeAlert({
    tsUs: Date.UTC(2026, 0, 1) * 1000,
    flowId: 1,
    srcIp: "10.0.0.1",
    srcPort: 5000,
    destIp: "10.0.0.2",
    destPort: 80,
    protocol: 6,
    detector: "knn",
    score: 3,
    threshold: 1,
    host,
  }),
  id,
});
/** A drift record with this id. */
const drift = (id: string, host = "s1") => ({
  id,
  event_type: "drift",
  host,
  timestamp: "2026-01-01T00:00:00Z",
  stream: "score",
  detector: "adwin",
  drift: { index: 10 },
});

Deno.test("CollectorDb: each record stored once; health keeps the newest per sensor; junk is skipped", () => {
  const path = scratchFile({ suffix: ".db" });
  const db = CollectorDb.open(path);
  try {
    const health = (t: string) => ({
      id: `h${t}`,
      event_type: "health",
      host: "s1",
      timestamp: t,
      packets: Number(t),
    });
    assert.deepEqual(
      db.store([alert("a"), alert("b", "s2"), alert("a"), health("2"), health("1"), { x: 1 }, null]),
      { alerts: 2, drift: 0, health: 2, repeats: 1, skipped: 2 },
    );
    assert.deepEqual(db.store([alert("b", "s2"), drift("d")]), {
      alerts: 0,
      drift: 1,
      health: 0,
      repeats: 1,
      skipped: 0,
    });
    // A record that names itself an alert or a drift event without their fields is not stored (it had been
    // served as an alert).
    const junk = [
      { id: "evil-1", host: "s9", event_type: "alert" },
      { ...alert("evil-2"), src_ip: 5, score: "x" },
      { ...drift("evil-3"), drift: "x" },
    ];
    assert.deepEqual(db.store(junk), { alerts: 0, drift: 0, health: 0, repeats: 0, skipped: 3 });
    assert.equal(db.count("alerts"), 2);
    assert.deepEqual(db.sensors().map((s) => [s.name, s.health.packets]), [["s1", 2]]);
    assert.deepEqual(db.recentAlerts(10).map((a) => a.id), ["a", "b"]);
  } finally {
    db.close();
  }
  // Reopened: the same rows, no migration run twice.
  const again = CollectorDb.open(path);
  assert.equal(again.count("alerts"), 2);
  again.close();
});

Deno.test("CollectorDb: a damaged file or a newer schema is refused with the file named", () => {
  const junk = scratchFile({ suffix: ".db" });
  Deno.writeTextFileSync(
    junk,
    "this is not a database, just text that is long enough to be read as a header",
  );
  assert.throws(() => CollectorDb.open(junk), (e) => e instanceof InputError && e.message.includes(junk));
  const newer = scratchFile({ suffix: ".db" });
  const raw = new DatabaseSync(newer);
  raw.exec("PRAGMA user_version = 99");
  raw.close();
  assert.throws(() => CollectorDb.open(newer), /schema version 99 is newer than this nadir knows \(1\)/);
});

Deno.test("nadir collect --nats: HOST:PORT, nats://HOST:PORT, default port; anything else is a usage error", () => {
  assert.deepEqual(parseNatsUrl("127.0.0.1:4223"), { host: "127.0.0.1", port: 4223 });
  assert.deepEqual(parseNatsUrl("nats://nats.example:4222"), { host: "nats.example", port: 4222 });
  assert.deepEqual(parseNatsUrl("collector"), { host: "collector", port: 4222 });
  assert.throws(
    () => parseNatsUrl("http://x:1/y"),
    /--nats expects HOST:PORT or nats:\/\/HOST:PORT, found "http:\/\/x:1\/y"/,
  );
  assert.throws(() => parseNatsUrl("x:99999"), /--nats expects/);
});

Deno.test("nadir collect: a --stream or --durable name JetStream cannot hold is a usage error at once", async () => {
  const { main } = await import("../../src/cli.ts");
  const orig = console.error;
  const said: string[] = [];
  console.error = (...a: unknown[]) => void said.push(a.join(" "));
  try {
    // It had asked the server every 5 s, forever ("STREAM.INFO timed out").
    for (const [k, v] of [["--stream", "bad.name"], ["--durable", "a b"], ["--stream", "x>"]]) {
      assert.equal(
        await main(["collect", "--nats", "127.0.0.1:1", k, v, "--db", scratchFile({ suffix: ".db" })]),
        2,
      );
      assert.match(said.at(-1)!, new RegExp(`${k} expects a JetStream name`));
    }
  } finally {
    console.error = orig;
  }
});

Deno.test("CollectorDb: what a sensor may not say is skipped, and only what is newly stored is passed on", async () => {
  const db = CollectorDb.open(scratchFile({ suffix: ".db" }));
  try {
    const passed: string[] = [];
    const onStored = (r: { id: string }) => void passed.push(r.id);
    const records = [
      alert("a1", "s1"),
      alert("a2", "s2"), // says s2, came on s1's subject: a sensor speaking for another
      alert("x'); DROP TABLE alerts;--", "s1"), // an id the API could never name
      alert("ünï-🙂", "s1"),
      alert("a3", "site.a"), // sanitised as the sink does: site_a
      drift("d1", "s1"),
      alert("a1", "s1"), // a repeat
      { id: "evil", host: "s1", event_type: "alert" }, // not an alert
    ];
    const subjects = [
      "nadir.s1.alert",
      "nadir.s1.alert",
      "nadir.s1.alert",
      "nadir.s1.alert",
      "nadir.site_a.alert",
      "nadir.s1.drift",
      "nadir.s1.alert",
      "nadir.s1.alert",
    ];
    assert.deepEqual(db.store(records, { subjects, onStored }), {
      alerts: 2,
      drift: 1,
      health: 0,
      repeats: 1,
      skipped: 4,
    });
    assert.deepEqual(passed, ["a1", "a3", "d1"]);
    assert.deepEqual(db.alertIds().sort(), ["a1", "a3"]);
    assert.deepEqual(db.recentDrift(5).map((d) => d.id), ["d1"]);
    assert.deepEqual([...db.alertsBySeverity().values()], [2]);

    // A wrong clock (2030) no longer pins a sensor's health: later records still replace it.
    const health = (id: string, timestamp: string, packets: number) => ({
      id,
      event_type: "health",
      host: "s1",
      timestamp,
      packets,
    });
    db.store([health("h1", "2030-01-01T00:00:00.000000+0000", 1)]);
    await new Promise((r) => setTimeout(r, 5)); // the clock fixed: the next record comes later
    db.store([health("h2", new Date().toISOString(), 2)]);
    db.store([health("h3", new Date(Date.now() - 60_000).toISOString(), 3)]); // older: a redelivery
    assert.deepEqual(db.sensors().map((s) => s.health.packets), [2]);
  } finally {
    db.close();
  }
});

Deno.test("lockStore: one collector per store; a lock left by a killed collector is taken over", async () => {
  const db = scratchFile({ suffix: ".db" });
  const release = lockStore(db);
  try {
    // Another process holding it: this one (its pid) written by hand as a second collector would.
    const child = new Deno.Command(Deno.execPath(), { args: ["eval", "setTimeout(() => {}, 30_000)"] })
      .spawn();
    try {
      release();
      Deno.writeTextFileSync(`${db}.lock`, `${child.pid}\n`);
      assert.throws(
        () => lockStore(db),
        (e) => e instanceof InputError && e.message.includes(`another collector (pid ${child.pid})`),
      );
    } finally {
      child.kill();
      await child.status;
    }
    // Its process is gone: the lock is stale and taken over.
    const again = lockStore(db);
    assert.equal(Deno.readTextFileSync(`${db}.lock`).trim(), String(Deno.pid));
    again();
    assert.throws(() => Deno.statSync(`${db}.lock`), Deno.errors.NotFound);
  } finally {
    release();
  }
});

Deno.test("runCollector: a store damaged inside is an error naming it before anything connects", async () => {
  const path = scratchFile({ suffix: ".db" });
  const db = CollectorDb.open(path);
  const big = "x".repeat(2000);
  db.store(Array.from({ length: 300 }, (_, i) => ({ ...alert(`a${i}`), note: big })));
  db.close();
  // Closed: the write-ahead log is checkpointed into the file, so damaging the file damages the alerts.
  const bytes = Deno.readFileSync(path);
  // Pages past the schema: the alerts table's leaves and index.
  for (let i = 8 * 4096; i < bytes.length; i += 97) bytes[i] ^= 0x5a;
  Deno.writeFileSync(path, bytes);
  await assert.rejects(
    runCollector({
      nats: { host: "127.0.0.1", port: 1 },
      db: path,
      signal: new AbortController().signal,
      log: () => {},
    }),
    (e) => e instanceof InputError && e.message.includes(path),
  );
});

testWhen(
  [needPrograms("nats-server")],
  "runCollector: the API serves what the file holds: no refused record, no repeat counted twice, drift events",
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "nadir-collect-" });
    const nats = await startNats(["-js", "-sd", dir]);
    const stop = new AbortController();
    try {
      const c = await NatsClient.connect({ host: "127.0.0.1", port: nats.port });
      await ensureStream(c, { name: "NADIR", subjects: ["nadir.>"] });
      const pub = (subject: string, r: unknown, msgId: string) =>
        jsPublish(c, subject, JSON.stringify(r), msgId);
      await pub("nadir.s1.alert", alert("a1"), "m1");
      await pub("nadir.s1.alert", alert("a1"), "m2"); // the same alert again (a restarted sensor)
      await pub("nadir.s1.alert", { id: "junk", host: "s1", event_type: "alert" }, "m3");
      await pub("nadir.s1.alert", alert("s2-says", "s2"), "m4");
      await pub("nadir.s1.drift", drift("d1"), "m5");
      const seen = new Date(Date.now() - 5000).toISOString();
      await pub("nadir.s3.health", { id: "h1", event_type: "health", host: "s3", timestamp: seen }, "m6");
      c.close();
      let port = 0, stored = 0;
      const done = runCollector({
        nats: { host: "127.0.0.1", port: nats.port },
        db: join(dir, "fleet.db"),
        api: { port: 0 },
        signal: stop.signal,
        log: () => {},
        onListen: (a) => port = a.port,
        onBatch: (n) => stored += n.alerts + n.drift + n.health + n.repeats + n.skipped,
      });
      for (let i = 0; i < 100 && stored < 6; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(stored, 6);
      const get = async (path: string) => await (await fetch(`http://127.0.0.1:${port}${path}`)).json();
      assert.deepEqual((await get("/alerts")).alerts.map((a: { id: string }) => a.id), ["a1"]);
      assert.deepEqual((await get("/drift")).events.map((d: { id: string }) => d.id), ["d1"]);
      const st = await get("/stats");
      assert.equal(st.totals.alerts, 1);
      // Every sensor the file knows: s3 has sent only health (the dashboard's filter offers it too).
      assert.deepEqual((await get("/sensors")).sensors, [
        { name: "s1", alerts: 1, last_alert: alert("a1").timestamp },
        { name: "s3", alerts: 0, last_seen: new Date(Date.parse(seen)).toISOString() },
      ]);
      stop.abort();
      await done;
    } finally {
      stop.abort();
      await nats.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
