/**
 * The fleet collector (`nadir collect`): many sensors as one. Sensors publish
 * their alerts, drift events and health into a NATS JetStream stream
 * (`sinks.nats.jetstream`, subjects `nadir.<sensor>.<event>`); the collector
 * reads it through a durable pull consumer, stores every record in a SQLite
 * file, and acknowledges a message only after the transaction that stored it
 * committed. A collector stopped at any point loses nothing (unacknowledged
 * messages come again) and stores nothing twice (records are keyed by their
 * id; the stream also drops a repeated publish within its duplicate window).
 * It serves the monitor's API and dashboard over the stored alerts, each with
 * its sensor (`host`), filterable with `GET /alerts?sensor=`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeAlert } from "./alert.ts";
 * import { CollectorDb } from "./collector.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".db" });
 * const db = CollectorDb.open(path);
 * const a = makeAlert({ tsUs: 1.7e15, flowId: 1, srcIp: "10.0.0.1", srcPort: 5, destIp: "10.0.0.2", destPort: 80,
 *   protocol: 6, detector: "knn", score: 3, threshold: 1, host: "s1" });
 * assert.deepEqual(db.store([a, a, { id: "x", event_type: "alert", host: "s1" }]), {
 *   alerts: 1, drift: 0, health: 0, repeats: 1, skipped: 1, // the last: no alert's fields
 * });
 * assert.equal(db.count("alerts"), 1);
 * db.close();
 * Deno.removeSync(path);
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { InputError } from "../util/errors.ts";
import { type Alert, alertProblems } from "./alert.ts";
import { driftProblems } from "./drift.ts";
import type { MonitorConfig } from "./config.ts";
import { MonitorMetrics } from "./metrics.ts";
import { startApi } from "./pipeline/server.ts";
import { ensureConsumer, ensureStream, fetch } from "./sinks/jetstream.ts";
import { NatsClient } from "./sinks/nats.ts";
import { AlertStore, LiveStats } from "./store.ts";

/**
 * Schema migrations, in order; `user_version` holds how many ran. A new version appends one (never edit
 * a released one): a collector opening an older file brings it up to date, a newer file is refused.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE alerts (id TEXT PRIMARY KEY, sensor TEXT NOT NULL, timestamp TEXT NOT NULL,
     record TEXT NOT NULL, received TEXT NOT NULL);
   CREATE INDEX alerts_sensor ON alerts (sensor, timestamp);
   CREATE TABLE drift (id TEXT PRIMARY KEY, sensor TEXT NOT NULL, timestamp TEXT NOT NULL, record TEXT NOT NULL);
   CREATE TABLE sensors (name TEXT PRIMARY KEY, last_seen TEXT NOT NULL, health TEXT NOT NULL);`,
];

/** What {@link CollectorDb.store} did with a batch. */
export interface StoreCounts {
  alerts: number;
  drift: number;
  health: number;
  /** Records already stored (same id): a retry or a restart sent them again. */
  repeats: number;
  /** Messages that are not sensor records (no id/host/event_type). */
  skipped: number;
}

/** The collector's SQLite file. */
export class CollectorDb {
  readonly #db: DatabaseSync;
  readonly path: string;

  private constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.path = path;
  }

  /** Opens (creating or migrating) the store; a damaged or newer file is an InputError naming it. */
  static open(path: string): CollectorDb {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    } catch (e) {
      throw new InputError(`cannot open the collector's SQLite store: ${(e as Error).message}`, {
        file: path,
      });
    }
    try {
      const v = Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
      if (v > MIGRATIONS.length) {
        throw new InputError(
          `schema version ${v} is newer than this nadir knows (${MIGRATIONS.length}); use a newer nadir`,
          { file: path },
        );
      }
      for (let i = v; i < MIGRATIONS.length; i++) {
        db.exec("BEGIN");
        db.exec(MIGRATIONS[i]);
        db.exec(`PRAGMA user_version = ${i + 1}`);
        db.exec("COMMIT");
      }
    } catch (e) {
      db.close();
      if (e instanceof InputError) throw e;
      throw new InputError(`not a collector store, or damaged: ${(e as Error).message}`, { file: path });
    }
    return new CollectorDb(db, path);
  }

  /** Stores a batch of sensor records in one transaction (repeats by id are counted, not stored). */
  store(records: unknown[]): StoreCounts {
    const c: StoreCounts = { alerts: 0, drift: 0, health: 0, repeats: 0, skipped: 0 };
    const now = new Date().toISOString();
    const insAlert = this.#db.prepare(
      "INSERT OR IGNORE INTO alerts (id, sensor, timestamp, record, received) VALUES (?, ?, ?, ?, ?)",
    );
    const insDrift = this.#db.prepare(
      "INSERT OR IGNORE INTO drift (id, sensor, timestamp, record) VALUES (?, ?, ?, ?)",
    );
    const upHealth = this.#db.prepare(
      "INSERT INTO sensors (name, last_seen, health) VALUES (?, ?, ?) " +
        "ON CONFLICT(name) DO UPDATE SET last_seen = excluded.last_seen, health = excluded.health " +
        "WHERE excluded.last_seen >= sensors.last_seen",
    );
    this.#db.exec("BEGIN");
    try {
      for (const r of records) {
        const x = r as Record<string, unknown>;
        if (typeof x?.id !== "string" || typeof x.host !== "string" || typeof x.event_type !== "string") {
          c.skipped++;
          continue;
        }
        const ts = typeof x.timestamp === "string" ? x.timestamp : now;
        const json = JSON.stringify(x);
        // Checked as the monitor and `serve` check a line of an alerts file: a record without the fields
        // the API and dashboard read ({"id","host","event_type"} only, or "score": "x") had been stored and
        // served as an alert.
        if (
          (x.event_type === "alert" && alertProblems(x).length) ||
          (x.event_type === "drift" && driftProblems(x).length)
        ) {
          c.skipped++;
          continue;
        }
        if (x.event_type === "alert") {
          if (insAlert.run(x.id, x.host, ts, json, now).changes) c.alerts++;
          else c.repeats++;
        } else if (x.event_type === "drift") {
          if (insDrift.run(x.id, x.host, ts, json).changes) c.drift++;
          else c.repeats++;
        } else if (x.event_type === "health") {
          upHealth.run(x.host, ts, json);
          c.health++;
        } else c.skipped++;
      }
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
    return c;
  }

  /** Rows in a table. */
  count(table: "alerts" | "drift" | "sensors"): number {
    return Number((this.#db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
  }

  /** Stored alert ids (tests, audits). */
  alertIds(): string[] {
    return (this.#db.prepare("SELECT id FROM alerts").all() as { id: string }[]).map((r) => r.id);
  }

  /** The newest `limit` alerts, oldest first. */
  recentAlerts(limit: number): Alert[] {
    const rows = this.#db.prepare(
      "SELECT record FROM (SELECT record, rowid FROM alerts ORDER BY rowid DESC LIMIT ?) ORDER BY rowid",
    ).all(limit) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as Alert);
  }

  /** Each sensor's last health record. */
  sensors(): { name: string; last_seen: string; health: Record<string, unknown> }[] {
    return (this.#db.prepare("SELECT name, last_seen, health FROM sensors ORDER BY name").all() as {
      name: string;
      last_seen: string;
      health: string;
    }[]).map((r) => ({ name: r.name, last_seen: r.last_seen, health: JSON.parse(r.health) }));
  }

  close(): void {
    this.#db.close();
  }
}

/** Options for {@link runCollector}. */
export interface CollectorOptions {
  nats: { host: string; port: number; token?: string; tls?: { caFile?: string } };
  /** SQLite file. */
  db: string;
  /** JetStream stream the sensors publish into (default NADIR) and the durable consumer's name. */
  stream?: string;
  durable?: string;
  /** API and dashboard (as the monitor's `api` section); none without a port. */
  api?: MonitorConfig["api"];
  signal: AbortSignal;
  log?: (line: string) => void;
  /** Alerts held in memory for the API (the newest; default 100,000). The file keeps all. */
  keep?: number;
  /** Called after each stored batch (tests). */
  onBatch?: (c: StoreCounts) => void;
  onListen?: (addr: Deno.NetAddr) => void;
}

/** What a collector run did. */
export interface CollectorSummary {
  alerts: number;
  drift: number;
  health: number;
  repeats: number;
  skipped: number;
  reconnects: number;
}

/** Runs the collector until `signal` aborts. */
export async function runCollector(o: CollectorOptions): Promise<CollectorSummary> {
  const log = o.log ?? ((l: string) => console.error(l));
  const stream = o.stream ?? "NADIR", durable = o.durable ?? "nadir-collector";
  const db = CollectorDb.open(o.db);
  const store = new AlertStore({ capacity: o.keep ?? 100_000 });
  for (const a of db.recentAlerts(o.keep ?? 100_000)) store.add({ alert: a, featureNames: [], features: [] });
  const stats = new LiveStats();
  stats.source = `collector ${o.nats.host}:${o.nats.port} stream ${stream}`;
  stats.running = true;
  const metrics = new MonitorMetrics();
  const server = startApi(o.api, { store, stats, metrics, models: [] }, {
    log,
    command: "nadir collect",
    onListen: o.onListen,
  });
  const sum: CollectorSummary = { alerts: 0, drift: 0, health: 0, repeats: 0, skipped: 0, reconnects: 0 };
  log(`nadir collect: ${db.count("alerts")} alerts in ${o.db}; reading stream ${stream} as ${durable}`);
  let client: NatsClient | undefined;
  let backoff = 100;
  const dec = new TextDecoder();
  try {
    while (!o.signal.aborted) {
      try {
        if (!client || client.closed) {
          client = await NatsClient.connect({ ...o.nats, name: "nadir-collector" });
          await ensureStream(client, { name: stream, subjects: ["nadir.>"] });
          await ensureConsumer(client, stream, durable);
          backoff = 100;
        }
        const msgs = await fetch(client, stream, durable, 256, 1000);
        if (!msgs.length) continue;
        const records = msgs.map((m) => {
          try {
            return JSON.parse(dec.decode(m.data));
          } catch {
            return undefined; // counted as skipped, and acknowledged: it will never parse
          }
        });
        const c = db.store(records);
        for (const k of Object.keys(c) as (keyof StoreCounts)[]) sum[k] += c[k];
        for (const r of records) {
          if (r?.event_type === "alert" && !store.get(r.id)) {
            store.add({ alert: r, featureNames: [], features: [] });
          }
          if (r?.event_type === "alert") stats.alert(r.src_ip);
        }
        // Acknowledged only once the transaction committed: a crash before this line means a redelivery,
        // which the ids turn into repeats.
        for (const m of msgs) await m.ack();
        await client.flush();
        metrics.alerts.inc(c.alerts);
        o.onBatch?.(c);
      } catch (e) {
        if (o.signal.aborted) break;
        if (e instanceof InputError) throw e;
        log(`nadir collect: ${(e as Error).message}; retrying in ${backoff} ms`);
        client?.close();
        client = undefined;
        sum.reconnects++;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(10_000, backoff * 2);
      }
    }
  } finally {
    client?.close();
    stats.running = false;
    await server?.shutdown();
    db.close();
  }
  return sum;
}
