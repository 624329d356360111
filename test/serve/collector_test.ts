import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { makeAlert } from "../../src/serve/alert.ts";
import { CollectorDb } from "../../src/serve/collector.ts";
import { parseNatsUrl } from "../../src/cli/collect.ts";
import { InputError } from "../../src/util/errors.ts";
import { scratchFile } from "../_scratch.ts";

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
