/**
 * The parts of NATS JetStream a fleet of sensors needs, over {@link NatsClient}
 * (written from the JetStream wire API at docs.nats.io, "JetStream API
 * Reference"): a file-backed stream that keeps the sensors' records while the
 * collector is away, publishing with a message id (the server drops a repeat
 * within its duplicate window) and a publish acknowledgement, and a durable
 * pull consumer whose messages are acknowledged one by one once stored.
 *
 * @example
 * ```ts ignore
 * import { NatsClient } from "./nats.ts";
 * import { ensureStream, jsPublish } from "./jetstream.ts";
 * const c = await NatsClient.connect({ host: "127.0.0.1", port: 4222 });
 * await ensureStream(c, { name: "NADIR", subjects: ["nadir.>"] });
 * const ack = await jsPublish(c, "nadir.sensor1.alert", '{"id":"a1"}', "a1");
 * console.log(ack.seq, ack.duplicate);
 * ```
 * @module
 */
import type { NatsClient, NatsMsg } from "./nats.ts";

const dec = new TextDecoder();

/** A stream to create when it does not exist. */
export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Seconds a record is kept (default 7 days). */
  maxAgeS?: number;
  /** Seconds within which a repeated message id is dropped by the server (default 120). */
  duplicateWindowS?: number;
}

/** What the server answered a JetStream publish with. */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

/** A JetStream API answer as JSON; throws with the server's description when it is an error. */
function apiAnswer(m: NatsMsg, what: string): Record<string, unknown> {
  const status = m.headers?.[":status"];
  if (status?.startsWith("503")) {
    throw new Error(`${what}: no JetStream on this NATS server (start it with -js)`);
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(dec.decode(m.data));
  } catch {
    throw new Error(
      `${what}: expected a JSON answer, found ${JSON.stringify(dec.decode(m.data).slice(0, 200))}`,
    );
  }
  const err = body.error as { code?: number; err_code?: number; description?: string } | undefined;
  if (err) {
    const e = new Error(
      `${what}: ${err.description ?? "error"} (code ${err.code}, err_code ${err.err_code})`,
    );
    (e as Error & { code?: number }).code = err.code;
    throw e;
  }
  return body;
}

/** Creates the stream unless it exists (an existing one is left as it is). */
export async function ensureStream(c: NatsClient, s: StreamSpec): Promise<void> {
  try {
    apiAnswer(await c.request(`$JS.API.STREAM.INFO.${s.name}`, ""), `stream ${s.name}`);
    return;
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
  }
  const config = {
    name: s.name,
    subjects: s.subjects,
    storage: "file",
    retention: "limits",
    max_age: Math.round((s.maxAgeS ?? 7 * 86400) * 1e9),
    duplicate_window: Math.round((s.duplicateWindowS ?? 120) * 1e9),
  };
  apiAnswer(
    await c.request(`$JS.API.STREAM.CREATE.${s.name}`, JSON.stringify(config)),
    `creating stream ${s.name}`,
  );
}

/** Publishes into a stream with message id `msgId`; resolves once the stream has stored it. */
export async function jsPublish(
  c: NatsClient,
  subject: string,
  data: string | Uint8Array,
  msgId: string,
  timeoutMs = 5000,
): Promise<PubAck> {
  const m = await c.request(subject, data, { headers: { "Nats-Msg-Id": msgId }, timeoutMs });
  if (m.headers?.[":status"]?.startsWith("503")) {
    throw new Error(
      `publish to ${subject}: no stream takes this subject (is the collector's stream created?)`,
    );
  }
  const a = apiAnswer(m, `publish to ${subject}`);
  return { stream: String(a.stream), seq: Number(a.seq), duplicate: a.duplicate === true };
}

/**
 * Creates (or finds) a durable pull consumer that delivers every record once acknowledged. `ackWaitS`
 * (default 5) is how long a delivered but unacknowledged message waits before it is delivered again:
 * after a crash of the reader, that is the delay before its last batch comes back.
 */
export async function ensureConsumer(
  c: NatsClient,
  stream: string,
  durable: string,
  o: { ackWaitS?: number } = {},
): Promise<void> {
  const config = {
    stream_name: stream,
    config: {
      durable_name: durable,
      ack_policy: "explicit",
      deliver_policy: "all",
      ack_wait: Math.round((o.ackWaitS ?? 5) * 1e9),
      max_ack_pending: 20_000,
    },
  };
  try {
    apiAnswer(
      await c.request(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`, JSON.stringify(config)),
      `consumer ${durable} on ${stream}`,
    );
  } catch (e) {
    // One made by an earlier run with other settings is kept as it is (its position is what matters).
    if (!/already (exists|in use)/i.test((e as Error).message)) throw e;
  }
}

/** A message from a pull consumer. */
export interface JsMsg {
  subject: string;
  data: Uint8Array;
  /** Acknowledge (the stream will not deliver it to this consumer again). */
  ack(): Promise<void>;
}

/**
 * Fetches up to `batch` messages, waiting at most `expiresMs` for them. Resolves early when the server
 * says no more are waiting.
 */
export async function fetch(
  c: NatsClient,
  stream: string,
  durable: string,
  batch: number,
  expiresMs: number,
): Promise<JsMsg[]> {
  const out: JsMsg[] = [];
  const inbox = c.inbox();
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const sid = await c.subscribe(inbox, (m) => {
    const status = m.headers?.[":status"];
    if (status && !m.data.length && !m.reply) {
      // 404 no messages, 408 request expired, 409 consumer changed: the pull is over.
      done();
      return;
    }
    out.push({
      subject: m.subject,
      data: m.data,
      ack: () => (m.reply ? c.publish(m.reply, "+ACK") : Promise.resolve()),
    });
    if (out.length >= batch) done();
  });
  try {
    await c.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      JSON.stringify({ batch, expires: Math.round(expiresMs * 1e6) }),
      { reply: inbox },
    );
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([finished, new Promise<void>((r) => (t = setTimeout(r, expiresMs + 1000)))]);
    clearTimeout(t);
  } finally {
    await c.unsubscribe(sid).catch(() => {});
  }
  return out;
}
