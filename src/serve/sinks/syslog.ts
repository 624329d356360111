/**
 * Syslog sink: RFC 5424 messages over UDP (one datagram each, RFC 5426) or
 * TCP (octet-counting framing, RFC 6587 §3.4.1). The alert's JSON is the
 * MSG; a structured-data element `[nadir@32473 ...]` carries the key fields
 * so syslog servers can filter without parsing JSON (32473 is the example
 * enterprise number of RFC 5612; set `sdId` to your own).
 *
 * Severity mapping: alert severity 1 → crit (2), 2 → err (3), 3 → warning (4);
 * a drift event (`event_type: "drift"`, MSGID `drift`) is notice (5).
 * Default facility: local0 (16).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRfc5424 } from "./syslog.ts";
 * const line = formatRfc5424({ facility: 16, severity: 2, timestamp: "2024-01-01T00:00:00.000000Z",
 *   host: "sensor-1", app: "nadir", procId: "42", msgId: "alert", sd: { src: "10.0.0.1" }, msg: "{}" });
 * assert.equal(line, '<130>1 2024-01-01T00:00:00.000000Z sensor-1 nadir 42 alert [nadir@32473 src="10.0.0.1"] {}');
 * ```
 * @module
 */
import type { EveRecord } from "../eve.ts";
import type { AlertSink, SinkStats } from "./sink.ts";
import { RetryQueue } from "./retry_queue.ts";
import dgram from "node:dgram";
import { Buffer } from "node:buffer";

/** Fields of one RFC 5424 message. */
export interface Rfc5424Parts {
  facility: number;
  severity: number;
  timestamp: string;
  host: string;
  app: string;
  procId: string;
  msgId: string;
  sd?: Record<string, string | number>;
  sdId?: string;
  msg: string;
}

/** PRINTUSASCII without spaces, cut to `max` ("-" when empty), as header fields require. */
function headerField(s: string, max: number): string {
  const clean = s.replace(/[^\x21-\x7e]/g, "_").slice(0, max);
  return clean || "-";
}

function sdValue(v: string | number): string {
  return String(v).replace(/[\\"\]]/g, (c) => "\\" + c);
}

/** Formats one RFC 5424 message (without transport framing). */
export function formatRfc5424(p: Rfc5424Parts): string {
  const pri = p.facility * 8 + p.severity;
  let sd = "-";
  if (p.sd && Object.keys(p.sd).length) {
    const id = p.sdId ?? "nadir@32473";
    sd = `[${id} ` + Object.entries(p.sd).map(([k, v]) =>
      `${headerField(k, 32).replace(/[= "\]]/g, "_")}="${sdValue(v)}"`
    ).join(" ") + "]";
  }
  return `<${pri}>1 ${headerField(p.timestamp, 64)} ${headerField(p.host, 255)} ${headerField(p.app, 48)} ` +
    `${headerField(p.procId, 128)} ${headerField(p.msgId, 32)} ${sd} ${p.msg}`;
}

/** Options for {@link SyslogSink}. */
export interface SyslogOptions {
  host: string;
  port: number;
  transport: "udp" | "tcp";
  /** Syslog facility number. Default 16 (local0). */
  facility?: number;
  app?: string;
  sdId?: string;
  /** Messages kept in memory while a TCP server is unreachable. Default 10000 (oldest dropped, counted). */
  maxQueue?: number;
  onError?: (e: Error) => void;
}

const SEVERITY_MAP: Record<number, number> = { 1: 2, 2: 3, 3: 4 };
const enc = new TextEncoder();

/** See the module doc. */
export class SyslogSink implements AlertSink {
  readonly name: string;
  readonly #o: SyslogOptions;
  readonly #queue: RetryQueue<Uint8Array>;
  #udp?: dgram.Socket;
  #tcp?: Deno.TcpConn;
  #closed = false;
  /** Messages dropped because the queue overflowed. */
  dropped = 0;
  sent = 0;

  /** Why the last delivery failed (the run summary says it with the messages lost). */
  #lastError?: string;

  /** Messages delivered (`written`) and lost: dropped from a full queue or unsent at the end. */
  stats(): SinkStats {
    return {
      written: this.sent,
      lost: this.dropped,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  constructor(opts: SyslogOptions) {
    this.#o = opts;
    this.name = `syslog-${opts.transport}`;
    this.#queue = new RetryQueue({
      deliver: (items) => this.#deliverTcp(items),
      backoffMs: (attempt) => Math.min(10_000, 100 * 2 ** attempt),
    });
    if (opts.transport === "udp") {
      this.#udp = dgram.createSocket(opts.host.includes(":") ? "udp6" : "udp4");
      this.#udp.on("error", (e: Error) => opts.onError?.(e));
    } else {
      this.#queue.start();
    }
  }

  /** The RFC 5424 text for a record (an alert, or a drift event at severity notice). */
  format(a: EveRecord): string {
    if (a.event_type === "drift") {
      return formatRfc5424({
        facility: this.#o.facility ?? 16,
        severity: 5,
        timestamp: a.timestamp,
        host: a.host,
        app: this.#o.app ?? "nadir",
        procId: String(Deno.pid),
        msgId: "drift",
        sdId: this.#o.sdId,
        sd: { id: a.id, stream: a.stream, detector: a.detector, index: a.drift.index },
        msg: JSON.stringify(a),
      });
    }
    return formatRfc5424({
      facility: this.#o.facility ?? 16,
      severity: SEVERITY_MAP[a.severity] ?? 4,
      timestamp: a.timestamp,
      host: a.host,
      app: this.#o.app ?? "nadir",
      procId: String(Deno.pid),
      msgId: "alert",
      sdId: this.#o.sdId,
      sd: {
        id: a.id,
        src: a.src_ip,
        dst: a.dest_ip,
        dport: a.dest_port,
        proto: a.proto,
        score: a.score,
        severity: a.severity,
      },
      msg: JSON.stringify(a),
    });
  }

  pending(): number {
    return this.#queue.items.length;
  }

  send(r: EveRecord): void {
    const msg = enc.encode(this.format(r));
    if (this.#udp) {
      this.#udp.send(Buffer.from(msg), this.#o.port, this.#o.host, (e) => {
        if (e) this.#o.onError?.(e);
        else this.sent++;
      });
      return;
    }
    // Octet counting (RFC 6587): "<length> <message>", built with set() (a spread copies byte by byte).
    const head = enc.encode(`${msg.length} `);
    const framed = new Uint8Array(head.length + msg.length);
    framed.set(head);
    framed.set(msg, head.length);
    this.dropped += this.#queue.push(framed, this.#o.maxQueue ?? 10_000);
  }

  async #deliverTcp(queue: Uint8Array[]): Promise<boolean> {
    try {
      this.#tcp ??= await Deno.connect({ hostname: this.#o.host, port: this.#o.port });
      const m = queue[0];
      let off = 0;
      while (off < m.length) off += await this.#tcp.write(m.subarray(off));
      queue.shift();
      this.sent++;
      return true;
    } catch (e) {
      this.#lastError = `not delivered: ${(e as Error).message}`;
      this.#o.onError?.(e as Error);
      try {
        this.#tcp?.close();
      } catch { /* closed */ }
      this.#tcp = undefined;
      return false;
    }
  }

  flush(timeoutMs = 3000): Promise<void> {
    if (this.#udp) return Promise.resolve();
    return this.#queue.whenEmpty(timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.flush();
    await this.#queue.stop();
    // Messages a TCP server never took are lost to this run: counted (the summary names the sink, exit 3).
    this.dropped += this.#queue.items.length;
    this.#queue.items.length = 0;
    if (this.#udp) {
      // Let queued datagrams leave before closing the socket.
      await new Promise<void>((r) => setTimeout(r, 20));
      this.#udp.close();
    }
    try {
      this.#tcp?.close();
    } catch { /* closed */ }
  }
}
