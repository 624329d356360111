/**
 * A small NATS client (core protocol over TCP: INFO, CONNECT, PUB, SUB, MSG,
 * PING/PONG, +OK/-ERR) and the NATS alert sink, so several sensors can feed
 * one place (`nats-server` from Debian; subscribe to `nadir.alerts.>`).
 *
 * Written against the protocol description at docs.nats.io ("Client
 * Protocol"), with headers (HPUB/HMSG), request/reply, and TLS: the
 * connection is upgraded after the server's INFO when it requires TLS or the
 * options ask for it (JetStream: src/serve/sinks/jetstream.ts). `flush()` is a
 * PING/PONG round trip: when it resolves the server has processed every PUB
 * sent before it.
 *
 * @example
 * ```ts ignore
 * import { NatsClient } from "./nats.ts";
 * const c = await NatsClient.connect({ host: "127.0.0.1", port: 4222 });
 * c.publish("nadir.alerts.sensor1", '{"id":"x"}');
 * await c.flush();
 * c.close();
 * ```
 * @module
 */
import type { EveRecord } from "../eve.ts";
import type { AlertSink, SinkStats } from "./sink.ts";
import { RetryQueue } from "./retry_queue.ts";
import { ensureStream, jsPublish } from "./jetstream.ts";
import { InputError } from "../../util/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Connection options. */
export interface NatsConnectOptions {
  host: string;
  port: number;
  /** Token or user/pass authentication. */
  token?: string;
  user?: string;
  pass?: string;
  name?: string;
  /** Connect + handshake timeout. Default 3000 ms. */
  timeoutMs?: number;
  /**
   * Use TLS (also used whenever the server's INFO requires it). `caFile`: PEM of the CA that signed the
   * server's certificate, when it is not one the system trusts; the server name checked is `host`.
   */
  tls?: { caFile?: string };
}

/**
 * A connection refused for a reason that retrying cannot mend: TLS asked of a server that offers none, a
 * server that requires TLS reached without it, credentials the server rejects. The collector stops on it
 * and the alert sink counts what it holds as lost, instead of retrying every 10 s forever.
 */
export class NatsConfigError extends InputError {
  constructor(detail: string) {
    super(detail);
    this.name = "NatsConfigError";
  }
}

/**
 * A sensor name as one token of a NATS subject (`nadir.<token>.alert`): letters, digits, `_` and `-` kept,
 * anything else (`.`, `*`, `>`, spaces) as `_`. The collector checks a record's subject against it.
 */
export function subjectToken(host: string): string {
  return host.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** A received message. */
export interface NatsMsg {
  subject: string;
  sid: string;
  reply?: string;
  data: Uint8Array;
  /** Headers (HMSG): the status line as `:status` ("408 Request Timeout"), then each header. */
  headers?: Record<string, string>;
}

/** One connection to a NATS server. */
export class NatsClient {
  readonly #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #pongs: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #subs = new Map<string, (m: NatsMsg) => void>();
  #nextSid = 1;
  #closed = false;
  #error?: Error;
  #writeChain: Promise<void> = Promise.resolve();
  #muxSid = "";
  #muxPrefix = "";
  #nextToken = 1;
  readonly #waiting = new Map<string, (m: NatsMsg) => void>();
  /** The server's INFO object. */
  info: Record<string, unknown> = {};
  readonly #readLoop: Promise<void>;
  #onInfo?: (() => void) | undefined;

  private constructor(conn: Deno.Conn, info: Record<string, unknown>) {
    this.#conn = conn;
    this.info = info;
    this.#readLoop = this.#read();
  }

  /**
   * Connects, reads INFO (upgrading to TLS when the server requires it or `tls` is given), sends CONNECT
   * and checks it with a PING/PONG.
   */
  static async connect(o: NatsConnectOptions): Promise<NatsClient> {
    const timeout = o.timeoutMs ?? 3000;
    let conn: Deno.Conn = await withTimeout(
      Deno.connect({ hostname: o.host, port: o.port }),
      timeout,
      "connect",
    );
    let c: NatsClient | undefined;
    try {
      const info = await withTimeout(readInfo(conn), timeout, "INFO");
      if (o.tls || info.tls_required === true) {
        if (!o.tls) {
          throw new NatsConfigError(
            `NATS server ${o.host}:${o.port} requires TLS; configure tls (a CA file if needed)`,
          );
        }
        // A plain server would never answer the handshake: each try would wait out the timeout.
        if (info.tls_required !== true && info.tls_available !== true) {
          throw new NatsConfigError(
            `NATS server ${o.host}:${o.port} does not offer TLS (its INFO has neither tls_required nor ` +
              `tls_available); turn TLS on at the server, or connect without tls`,
          );
        }
        const caCerts = o.tls.caFile ? [Deno.readTextFileSync(o.tls.caFile)] : undefined;
        conn = await withTimeout(
          Deno.startTls(conn as Deno.TcpConn, { hostname: o.host, caCerts }),
          timeout,
          "TLS handshake",
        );
        await withTimeout((conn as Deno.TlsConn).handshake(), timeout, "TLS handshake");
      }
      c = new NatsClient(conn, info);
      const connect: Record<string, unknown> = {
        verbose: false,
        pedantic: false,
        lang: "deno",
        headers: true,
        no_responders: true,
        version: "0.1.0",
        protocol: 1,
        name: o.name ?? "nadir",
      };
      if (o.token) connect.auth_token = o.token;
      if (o.user) connect.user = o.user;
      if (o.pass) connect.pass = o.pass;
      await c.#write(`CONNECT ${JSON.stringify(connect)}\r\n`);
      await withTimeout(c.flush(), timeout, "CONNECT/PONG");
    } catch (e) {
      if (c) c.close();
      else {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      const m = /'(Authorization Violation|User Authentication Expired)'/i.exec(
        (e as Error).message,
      );
      if (m) {
        throw new NatsConfigError(
          `NATS server ${o.host}:${o.port} refused the credentials given (${m[1]}); check the token or user`,
        );
      }
      throw e;
    }
    return c;
  }

  /** True once the connection failed or was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  #write(s: string | Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#error ?? new Error("NATS connection closed"));
    const bytes = typeof s === "string" ? enc.encode(s) : s;
    this.#writeChain = this.#writeChain.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
    });
    return this.#writeChain;
  }

  /**
   * Publishes `data` on `subject`; `reply` names where answers go, `headers` are sent with HPUB (the
   * server must support headers, as every JetStream server does).
   */
  publish(
    subject: string,
    data: string | Uint8Array,
    o: { reply?: string; headers?: Record<string, string> } = {},
  ): Promise<void> {
    for (const s of [subject, o.reply]) {
      if (s !== undefined && (!/^[^\s*>]+(\.[^\s.]+)*$/.test(s) || /\s/.test(s))) {
        return Promise.reject(new Error(`invalid NATS subject "${s}"`));
      }
    }
    const payload = typeof data === "string" ? enc.encode(data) : data;
    const reply = o.reply ? ` ${o.reply}` : "";
    let hdr = new Uint8Array(0);
    if (o.headers) {
      let h = "NATS/1.0\r\n";
      for (const [k, v] of Object.entries(o.headers)) {
        if (/[\r\n:]/.test(k) || /[\r\n]/.test(v)) {
          return Promise.reject(new Error(`invalid NATS header ${JSON.stringify(k)}: ${JSON.stringify(v)}`));
        }
        h += `${k}: ${v}\r\n`;
      }
      hdr = enc.encode(h + "\r\n");
    }
    const head = enc.encode(
      o.headers
        ? `HPUB ${subject}${reply} ${hdr.length} ${hdr.length + payload.length}\r\n`
        : `PUB ${subject}${reply} ${payload.length}\r\n`,
    );
    const msg = new Uint8Array(head.length + hdr.length + payload.length + 2);
    msg.set(head);
    msg.set(hdr, head.length);
    msg.set(payload, head.length + hdr.length);
    msg.set([13, 10], msg.length - 2);
    return this.#write(msg);
  }

  /** Removes a subscription. */
  async unsubscribe(sid: string): Promise<void> {
    this.#subs.delete(sid);
    await this.#write(`UNSUB ${sid}\r\n`);
  }

  /** A fresh reply subject under this connection's inbox. */
  inbox(): string {
    return `_INBOX.${crypto.randomUUID().replaceAll("-", "")}`;
  }

  /**
   * Sends `data` to `subject` and resolves with the first answer (NATS request/reply); rejects after
   * `timeoutMs` (default 5000) without one.
   */
  async request(
    subject: string,
    data: string | Uint8Array,
    o: { timeoutMs?: number; headers?: Record<string, string> } = {},
  ): Promise<NatsMsg> {
    if (!this.#muxSid) {
      this.#muxPrefix = this.inbox();
      this.#muxSid = await this.subscribe(`${this.#muxPrefix}.*`, (m) => {
        const token = m.subject.slice(this.#muxPrefix.length + 1);
        this.#waiting.get(token)?.(m);
        this.#waiting.delete(token);
      });
    }
    const token = String(this.#nextToken++);
    const answer = new Promise<NatsMsg>((resolve) => this.#waiting.set(token, resolve));
    try {
      await this.publish(subject, data, { reply: `${this.#muxPrefix}.${token}`, headers: o.headers });
      return await withTimeout(answer, o.timeoutMs ?? 5000, `request to ${subject}`);
    } finally {
      this.#waiting.delete(token);
    }
  }

  /** Subscribes; returns the sid. */
  async subscribe(subject: string, cb: (m: NatsMsg) => void): Promise<string> {
    const sid = String(this.#nextSid++);
    this.#subs.set(sid, cb);
    await this.#write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  /** PING/PONG round trip: resolves when the server has processed everything sent before. */
  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pongs.push({ resolve, reject });
      this.#write("PING\r\n").catch(reject);
    });
  }

  /** Closes the connection (pending flushes reject). */
  close(): void {
    if (this.#closed) return;
    this.#fail(new Error("NATS connection closed"));
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }

  #fail(e: Error): void {
    this.#closed = true;
    this.#error ??= e;
    for (const p of this.#pongs.splice(0)) p.reject(e);
  }

  async #read(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        const merged = new Uint8Array(this.#buf.length + n);
        merged.set(this.#buf);
        merged.set(chunk.subarray(0, n), this.#buf.length);
        this.#buf = merged;
        this.#parse();
      }
      this.#fail(new Error("NATS server closed the connection"));
    } catch (e) {
      this.#fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #parse(): void {
    let pos = 0;
    const b = this.#buf;
    while (true) {
      let eol = -1;
      for (let i = pos; i + 1 < b.length; i++) {
        if (b[i] === 13 && b[i + 1] === 10) {
          eol = i;
          break;
        }
      }
      if (eol < 0) break;
      const line = dec.decode(b.subarray(pos, eol));
      const op = line.split(" ", 1)[0].toUpperCase();
      if (op === "HMSG") {
        // HMSG <subject> <sid> [reply] <header bytes> <total bytes>
        const parts = line.split(" ");
        const total = Number(parts[parts.length - 1]), hlen = Number(parts[parts.length - 2]);
        if (eol + 2 + total + 2 > b.length) break;
        const raw = b.subarray(eol + 2, eol + 2 + hlen);
        const data = b.slice(eol + 2 + hlen, eol + 2 + total);
        pos = eol + 2 + total + 2;
        const headers: Record<string, string> = {};
        const lines = dec.decode(raw).split("\r\n");
        headers[":status"] = lines[0].replace(/^NATS\/1\.0\s*/, "");
        for (const l of lines.slice(1)) {
          const i = l.indexOf(":");
          if (i > 0) headers[l.slice(0, i).trim()] = l.slice(i + 1).trim();
        }
        const msg: NatsMsg = {
          subject: parts[1],
          sid: parts[2],
          reply: parts.length === 6 ? parts[3] : undefined,
          data,
          headers,
        };
        this.#subs.get(msg.sid)?.(msg);
        continue;
      }
      if (op === "MSG") {
        const parts = line.split(" ");
        const size = Number(parts[parts.length - 1]);
        if (eol + 2 + size + 2 > b.length) break; // payload not complete yet
        const data = b.slice(eol + 2, eol + 2 + size);
        pos = eol + 2 + size + 2;
        const msg: NatsMsg = {
          subject: parts[1],
          sid: parts[2],
          reply: parts.length === 5 ? parts[3] : undefined,
          data,
        };
        this.#subs.get(msg.sid)?.(msg);
        continue;
      }
      pos = eol + 2;
      if (op === "PING") this.#write("PONG\r\n").catch(() => {});
      else if (op === "PONG") this.#pongs.shift()?.resolve();
      else if (op === "INFO") {
        try {
          this.info = JSON.parse(line.slice(5));
        } catch { /* keep old */ }
        this.#onInfo?.();
        this.#onInfo = undefined;
      } else if (op === "-ERR") {
        const e = new Error(`NATS server error: ${line.slice(5)}`);
        this.#pongs.shift()?.reject(e);
      }
    }
    this.#buf = b.slice(pos);
  }

  /** Waits for the read loop to end (after close). */
  async closed_(): Promise<void> {
    await this.#readLoop;
  }
}

/** Reads the server's first line (INFO {...}) byte by byte, so nothing after it is consumed before TLS. */
async function readInfo(conn: Deno.Conn): Promise<Record<string, unknown>> {
  const line: number[] = [];
  const one = new Uint8Array(1);
  while (line.length < 65536) {
    const n = await conn.read(one);
    if (n === null) throw new Error("NATS server closed the connection before INFO");
    if (one[0] === 10) break;
    if (one[0] !== 13) line.push(one[0]);
  }
  const text = dec.decode(new Uint8Array(line));
  if (!text.startsWith("INFO ")) {
    throw new Error(`expected INFO from the NATS server, found ${JSON.stringify(text.slice(0, 80))}`);
  }
  try {
    return JSON.parse(text.slice(5));
  } catch {
    throw new Error(`the NATS server's INFO is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`NATS ${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** Options for {@link NatsSink}. */
export interface NatsSinkOptions extends NatsConnectOptions {
  /**
   * Subject; `{host}` is replaced by the record's host (the sensor), `{event}` by its kind (alert,
   * drift, health). Default "nadir.alerts.{host}", with `jetstream` "nadir.{host}.{event}".
   */
  subject?: string;
  /**
   * Publish into this JetStream stream (created on `nadir.>` when missing): each record is stored by the
   * server before it leaves the queue, with its id as message id, so a collector that was away still
   * gets it and a record sent twice (a retry, a restart) is stored once.
   */
  jetstream?: { stream: string };
  /** Alerts kept in memory while the server is unreachable. Default 10000. */
  maxQueue?: number;
  onError?: (e: Error) => void;
}

/**
 * How many of `items` are this run's alerts, counted as written or lost: health records and an earlier
 * run's re-sends are queued with an id marked `~`.
 */
function countedIn(items: readonly { id?: string }[]): number {
  let n = 0;
  for (const m of items) if (!m.id?.startsWith("~")) n++;
  return n;
}

/** Publishes each alert as JSON; reconnects with backoff and queues meanwhile. */
export class NatsSink implements AlertSink {
  readonly name = "nats";
  readonly #o: NatsSinkOptions;
  #client?: NatsClient;
  readonly #queue: RetryQueue<{ subject: string; data: string; id?: string }>;
  dropped = 0;
  published = 0;

  /** Why the last delivery failed (the run summary says it with the alerts lost). */
  #lastError?: string;
  /** The server refused this sink's settings (a {@link NatsConfigError}): nothing more is tried. */
  #refused = false;

  /** Alerts confirmed by the server (`written`) and lost: dropped from a full queue or unsent at the end. */
  stats(): SinkStats {
    return {
      written: this.published,
      lost: this.dropped,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  constructor(opts: NatsSinkOptions) {
    this.#o = opts;
    this.#queue = new RetryQueue({
      deliver: (items) => this.#deliver(items),
      backoffMs: (attempt) => Math.min(10_000, 100 * 2 ** attempt),
    });
    this.#queue.start();
  }

  pending(): number {
    return this.#queue.items.length;
  }

  send(r: EveRecord): void {
    this.#push(r.host, r.event_type, r.id, JSON.stringify(r));
  }

  /** Publishes a sensor's health record (event_type "health"; not an alert: not counted as written). */
  sendHealth(h: { host: string; id: string } & Record<string, unknown>): void {
    this.#push(h.host, "health", h.id, JSON.stringify({ ...h, event_type: "health" }), false);
  }

  /**
   * Records of an earlier run sent again (the alerts file, on start, for JetStream to drop what it already
   * holds): counted neither as written nor as lost, since this run did not raise them, and fed into the
   * queue only as it drains, so they never push this run's alerts out of a full queue. Before, a file of
   * 12,000 records went into the 10,000-record queue at once: 2,000 re-sends were dropped and counted as
   * this run's losses (exit 3 after a run that lost nothing).
   */
  resend(records: EveRecord[]): void {
    if (this.#refused) return;
    for (const r of records) {
      this.#backlog.push({
        subject: this.#subject(r.host, r.event_type),
        data: JSON.stringify(r),
        id: `~${r.id}`,
      });
    }
    this.#topUp(this.#queue.items);
  }

  /** Records waiting for {@link resend}'s room in the queue, from `#backlogHead` on. */
  #backlog: { subject: string; data: string; id: string }[] = [];
  #backlogHead = 0;

  #topUp(queue: { subject: string; data: string; id?: string }[]): void {
    const room = Math.floor((this.#o.maxQueue ?? 10_000) / 2) - queue.length; // half: room left for new alerts
    const end = Math.min(this.#backlog.length, this.#backlogHead + Math.max(0, room));
    for (let i = this.#backlogHead; i < end; i++) this.#queue.push(this.#backlog[i]);
    this.#backlogHead = end;
    if (end === this.#backlog.length) this.#backlog = [], this.#backlogHead = 0;
  }

  #subject(host: string, event: string): string {
    const template = this.#o.subject ?? (this.#o.jetstream ? "nadir.{host}.{event}" : "nadir.alerts.{host}");
    return template.replace("{host}", subjectToken(host)).replace("{event}", event);
  }

  #push(host: string, event: string, id: string, data: string, counted = true): void {
    if (this.#refused) {
      if (counted) this.dropped++;
      return;
    }
    const item = { subject: this.#subject(host, event), data, id: counted ? id : `~${id}` };
    // Only this run's alerts count as lost when a full queue drops them (not health records or re-sends).
    this.#queue.push(item, this.#o.maxQueue ?? 10_000, (d) => this.dropped += countedIn([d]));
  }

  async #deliver(queue: { subject: string; data: string; id?: string }[]): Promise<boolean> {
    try {
      if (!this.#client || this.#client.closed) {
        this.#client = await NatsClient.connect(this.#o);
        if (this.#o.jetstream) {
          await ensureStream(this.#client, { name: this.#o.jetstream.stream, subjects: ["nadir.>"] });
        }
      }
      const js = this.#o.jetstream;
      const batch = queue.slice(0, js ? 200 : 1000);
      if (js) {
        // Stored by the stream (publish acknowledgements) before the records leave the queue.
        const c = this.#client;
        await Promise.all(batch.map((m) => jsPublish(c, m.subject, m.data, m.id!.replace(/^~/, ""))));
        queue.splice(0, batch.length);
        this.published += countedIn(batch);
        this.#topUp(queue);
        return true;
      }
      // Publish what is queued, then confirm with PING/PONG before dropping it from the queue.
      for (const m of batch) await this.#client.publish(m.subject, m.data);
      await this.#client.flush();
      queue.splice(0, batch.length);
      this.published += countedIn(batch);
      this.#topUp(queue);
      return true;
    } catch (e) {
      this.#lastError = `not delivered: ${(e as Error).message}`;
      this.#o.onError?.(e as Error);
      this.#client?.close();
      this.#client = undefined;
      if (e instanceof NatsConfigError) {
        // Retrying cannot mend it: what waits and what comes later is lost, counted, with the reason.
        this.#refused = true;
        this.dropped += countedIn(queue);
        queue.length = 0;
        this.#backlog = [];
        this.#backlogHead = 0;
        return true;
      }
      return false;
    }
  }

  flush(timeoutMs = 3000): Promise<void> {
    return this.#queue.whenEmpty(timeoutMs);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#queue.stop();
    this.#client?.close();
    // What the server never confirmed is lost to this run: counted, so the summary names the sink and the
    // run exits 3. Before, a server that could not be reached lost every alert with exit 0.
    this.dropped += countedIn(this.#queue.items);
    this.#queue.items.length = 0;
  }
}
