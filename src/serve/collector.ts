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
import { existsSync, readTextIfExists } from "../util/fs.ts";
import { type Alert, alertProblems } from "./alert.ts";
import { driftProblems, type DriftRecord } from "./drift.ts";
import type { MonitorConfig } from "./config.ts";
import { MonitorMetrics } from "./metrics.ts";
import { startApi } from "./pipeline/server.ts";
import { ensureConsumer, ensureStream, fetch } from "./sinks/jetstream.ts";
import { NatsClient, subjectToken } from "./sinks/nats.ts";
import { ALERT_ID_RE } from "./api/alerts.ts";
import { AlertStore, LiveStats, type SensorSummary } from "./store.ts";

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
      // FULL: a batch is acknowledged to the stream once its transaction committed, so the commit must
      // survive a power loss too (NORMAL, in WAL mode, may lose the last commits then: acknowledged, gone).
      // One fsync a batch of up to 256 records.
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
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

  /**
   * Stores a batch of sensor records in one transaction (repeats by id are counted, not stored).
   * `subjects[i]`, the NATS subject record i came on, must name its sensor (`nadir.<sensor>.<event>`,
   * the sensor as {@link subjectToken} writes it): NATS permissions let a sensor publish only under its
   * own name, and this check makes the record's `host` field keep to it. `onStored` sees each alert and
   * drift event newly stored, after the transaction committed.
   */
  store(
    records: unknown[],
    o: { subjects?: (string | undefined)[]; onStored?: (r: Alert | DriftRecord) => void } = {},
  ): StoreCounts {
    try {
      return this.#store(records, o);
    } catch (e) {
      // A file damaged under a running collector: an error naming it, not a retry every 10 s forever.
      if (/malformed|not a database|disk I\/O error/i.test((e as Error).message)) {
        throw new InputError(`the collector's SQLite store is damaged: ${(e as Error).message}`, {
          file: this.path,
        });
      }
      throw e;
    }
  }

  #store(
    records: unknown[],
    o: { subjects?: (string | undefined)[]; onStored?: (r: Alert | DriftRecord) => void },
  ): StoreCounts {
    const c: StoreCounts = { alerts: 0, drift: 0, health: 0, repeats: 0, skipped: 0 };
    const stored: (Alert | DriftRecord)[] = [];
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
    // Health is ordered by the sensor's clock (a redelivered record must not replace a newer one), but
    // never past the collector's: a record stamped in 2030 by a wrong clock had kept every later one out.
    const nowMs = Date.now();
    const healthTime = (ts: string) => {
      const ms = Date.parse(ts);
      return new Date(Number.isFinite(ms) && ms < nowMs ? ms : nowMs).toISOString();
    };
    this.#db.exec("BEGIN");
    try {
      for (let i = 0; i < records.length; i++) {
        const x = records[i] as Record<string, unknown>;
        if (
          typeof x?.id !== "string" || typeof x.host !== "string" || typeof x.event_type !== "string" ||
          // An id the API can name (GET /alerts/{id}, ?before=): any other had been stored and then broke
          // paging for every alert after it.
          !ALERT_ID_RE.test(x.id)
        ) {
          c.skipped++;
          continue;
        }
        const subject = o.subjects?.[i];
        if (subject !== undefined && subject.split(".")[1] !== subjectToken(x.host)) {
          c.skipped++; // a sensor speaking for another
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
          if (insAlert.run(x.id, x.host, ts, json, now).changes) {
            c.alerts++, stored.push(x as unknown as Alert);
          } else c.repeats++;
        } else if (x.event_type === "drift") {
          if (insDrift.run(x.id, x.host, ts, json).changes) {
            c.drift++, stored.push(x as unknown as DriftRecord);
          } else c.repeats++;
        } else if (x.event_type === "health") {
          upHealth.run(x.host, healthTime(ts), json);
          c.health++;
        } else c.skipped++;
      }
      this.#db.exec("COMMIT");
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
    if (o.onStored) { for (const r of stored) o.onStored(r); }
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

  /** The newest `limit` drift events, oldest first. */
  recentDrift(limit: number): DriftRecord[] {
    const rows = this.#db.prepare(
      "SELECT record FROM (SELECT record, rowid FROM drift ORDER BY rowid DESC LIMIT ?) ORDER BY rowid",
    ).all(limit) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as DriftRecord);
  }

  /** Stored alerts by severity (the API's running totals after a restart). */
  alertsBySeverity(): Map<string, number> {
    const rows = this.#db.prepare(
      "SELECT json_extract(record, '$.severity') AS s, count(*) AS n FROM alerts GROUP BY s",
    ).all() as { s: number | null; n: number }[];
    return new Map(rows.map((r) => [String(r.s), Number(r.n)]));
  }

  /**
   * Every sensor the file knows (an alert or a health record), by name: its alerts stored, its newest
   * alert, and when its newest health record was stamped — a sensor that stopped reporting shows by it.
   */
  sensorSummaries(): SensorSummary[] {
    const rows = this.#db.prepare(
      `SELECT name, sum(alerts) AS alerts, max(last_alert) AS last_alert, max(last_seen) AS last_seen FROM (
         SELECT sensor AS name, count(*) AS alerts, max(timestamp) AS last_alert, NULL AS last_seen
           FROM alerts GROUP BY sensor
         UNION ALL SELECT name, 0, NULL, last_seen FROM sensors
       ) GROUP BY name ORDER BY name`,
    ).all() as { name: string; alerts: number; last_alert: string | null; last_seen: string | null }[];
    return rows.map((r) => ({
      name: r.name,
      alerts: Number(r.alerts),
      ...(r.last_alert !== null ? { last_alert: r.last_alert } : {}),
      ...(r.last_seen !== null ? { last_seen: r.last_seen } : {}),
    }));
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
  const unlock = lockStore(o.db);
  try {
    return await collect(o);
  } finally {
    unlock();
  }
}

/**
 * One collector per store: `<db>.lock` holds the pid of the collector using it. Two on one file had each
 * served only its share of the alerts (the stream hands each message to one of them). A lock whose
 * process is gone (a collector killed) is taken over. Returns the release.
 */
export function lockStore(db: string): () => void {
  const lock = `${db}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      Deno.writeTextFileSync(lock, `${Deno.pid}\n`, { createNew: true });
      return () => {
        try {
          if (Deno.readTextFileSync(lock).trim() === String(Deno.pid)) Deno.removeSync(lock);
        } catch { /* already gone */ }
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw new InputError(`cannot create the lock file ${lock}: ${(e as Error).message}`, { file: db });
      }
      const pid = Number(readTextIfExists(lock)?.trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== Deno.pid && existsSync(`/proc/${pid}`)) {
        throw new InputError(
          `another collector (pid ${pid}) uses this store; stop it or give another --db ` +
            `(if none runs, remove ${lock})`,
          { file: db },
        );
      }
      try {
        Deno.removeSync(lock); // stale: its collector is gone
      } catch { /* another collector took it over first: the next try says so */ }
    }
  }
  throw new InputError(`cannot take the lock file ${lock}`, { file: db });
}

async function collect(o: CollectorOptions): Promise<CollectorSummary> {
  const log = o.log ?? ((l: string) => console.error(l));
  const stream = o.stream ?? "NADIR", durable = o.durable ?? "nadir-collector";
  const db = CollectorDb.open(o.db);
  const store = new AlertStore({ capacity: o.keep ?? 100_000 });
  const metrics = new MonitorMetrics();
  try {
    for (const a of db.recentAlerts(o.keep ?? 100_000)) {
      store.add({ alert: a, featureNames: [], features: [] });
    }
    for (const d of db.recentDrift(store.driftCapacity)) store.addDrift(d);
    // The dashboard's totals are these counters (by severity, as the monitor counts them): from the file.
    for (const [severity, n] of db.alertsBySeverity()) metrics.alerts.inc(n, { severity });
  } catch (e) {
    db.close();
    throw new InputError(`cannot read the collector's SQLite store: ${(e as Error).message}`, { file: o.db });
  }
  const stats = new LiveStats();
  stats.source = `collector ${o.nats.host}:${o.nats.port} stream ${stream}`;
  stats.running = true;
  const server = startApi(o.api, { store, stats, metrics, models: [], sensors: () => db.sensorSummaries() }, {
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
        // Only what was newly stored reaches the API, its rates and its totals: a record the file refused
        // had been served until the next restart, and a repeat counted again in /stats.
        const c = db.store(records, {
          subjects: msgs.map((m) => m.subject),
          onStored: (r) => {
            if (r.event_type === "drift") return store.addDrift(r as DriftRecord);
            const a = r as Alert;
            store.add({ alert: a, featureNames: [], features: [] });
            stats.alert(a.src_ip);
            metrics.alerts.inc(1, { severity: String(a.severity) });
          },
        });
        for (const k of Object.keys(c) as (keyof StoreCounts)[]) sum[k] += c[k];
        // Acknowledged only once the transaction committed: a crash before this line means a redelivery,
        // which the ids turn into repeats.
        for (const m of msgs) await m.ack();
        await client.flush();
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
