import assert from "node:assert/strict";
import dgram from "node:dgram";
import { join } from "node:path";
import { type Alert, makeAlert } from "../../src/serve/alert.ts";
import { FileSink } from "../../src/serve/sinks/sink.ts";
import { WebhookSink } from "../../src/serve/sinks/webhook.ts";
import { formatRfc5424, SyslogSink } from "../../src/serve/sinks/syslog.ts";
import { NatsClient, NatsConfigError, NatsSink } from "../../src/serve/sinks/nats.ts";
import { runCollector } from "../../src/serve/collector.ts";
import { freePort, needPrograms, programPath, selfSignedCert, startNats, testWhen } from "../_shared.ts";
import { scratchFile } from "../_scratch.ts";

function alert(i: number, extra: Partial<{ src: string }> = {}): Alert {
  return makeAlert({
    tsUs: 1_700_000_000_000_000 + i,
    flowId: i,
    srcIp: extra.src ?? "192.0.2.7",
    srcPort: 40000 + i,
    destIp: "198.51.100.1",
    destPort: 443,
    protocol: 6,
    detector: "kitnet",
    score: 2 + i,
    threshold: 1,
    explanation: `<img src=x onerror=alert(${i})> "quoted" ]`,
  });
}

Deno.test("file sink rotates by size and keeps every line complete", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "alerts.jsonl");
  const s = new FileSink(path, { maxBytes: 2000, keep: 3 });
  for (let i = 0; i < 20; i++) s.send(alert(i));
  await s.close();
  const files = [path, `${path}.1`, `${path}.2`, `${path}.3`];
  const lines = files.flatMap((f) => {
    try {
      return Deno.readTextFileSync(f).split("\n").filter(Boolean);
    } catch {
      return [];
    }
  });
  for (const l of lines) JSON.parse(l);
  for (const f of files) {
    try {
      assert.ok(Deno.statSync(f).size <= 2000, `${f} over the rotation size`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  // Only the newest alerts survive when older files rotate out; the newest must be in the live file.
  const live = Deno.readTextFileSync(path).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(live.at(-1).flow_id, 19);
  assert.ok(lines.length < 20 && lines.length >= 6, `kept ${lines.length}`);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("webhook: failing then slow receiver, spool survives a restart, no alert lost", async () => {
  const dir = Deno.makeTempDirSync();
  const spool = join(dir, "webhook.spool");
  const got: string[] = [];
  let mode: "fail" | "slow" | "ok" = "fail";
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const body = await req.text();
      if (mode === "fail") return new Response("down", { status: 503 });
      if (mode === "slow") await new Promise((r) => setTimeout(r, 300));
      got.push(JSON.parse(body).id);
      return new Response("ok");
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}/hook`;
  try {
    // Phase 1: receiver fails; the sink closes with everything still spooled.
    let errors = 0;
    const s1 = new WebhookSink({
      url,
      spoolPath: spool,
      backoffMs: 20,
      maxBackoffMs: 50,
      closeTimeoutMs: 200,
      onError: () => errors++,
    });
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      const a = alert(i);
      sent.push(a.id);
      s1.send(a);
    }
    await s1.close();
    assert.ok(errors >= 1, "receiver failures were seen");
    assert.equal(got.length, 0);
    assert.equal(Deno.readTextFileSync(spool).trim().split("\n").length, 5, "all 5 alerts in the spool");
    // Phase 2: a new sink on the same spool, a slow receiver (timeout shorter than the delay at first).
    mode = "slow";
    const s2 = new WebhookSink({
      url,
      spoolPath: spool,
      timeoutMs: 3000,
      backoffMs: 20,
      closeTimeoutMs: 10_000,
    });
    for (let i = 5; i < 8; i++) {
      const a = alert(i);
      sent.push(a.id);
      s2.send(a);
    }
    await s2.flush();
    assert.equal(s2.pending(), 0);
    await s2.close();
    // At-least-once: a timeout under load may repeat a delivery; never lose or reorder one.
    assert.deepEqual([...new Set(got)], sent, "every alert delivered, in order");
    assert.equal(Deno.statSync(spool).size, 0, "spool truncated when drained");
  } finally {
    ac.abort();
    await server.finished;
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("webhook: permanent 4xx goes to the rejected file instead of blocking", async () => {
  const dir = Deno.makeTempDirSync();
  const spool = join(dir, "w.spool");
  const ac = new AbortController();
  let n = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      await req.text();
      return n++ === 0 ? new Response("bad", { status: 400 }) : new Response("ok");
    },
  );
  try {
    const s = new WebhookSink({
      url: `http://127.0.0.1:${server.addr.port}/`,
      spoolPath: spool,
      backoffMs: 10,
    });
    s.send(alert(1));
    s.send(alert(2));
    await s.close();
    assert.equal(s.rejected, 1);
    assert.equal(s.delivered, 1);
    assert.equal(Deno.readTextFileSync(spool + ".rejected").trim().split("\n").length, 1);
  } finally {
    ac.abort();
    await server.finished;
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("syslog RFC 5424 formatting escapes structured data and header fields", () => {
  const s = formatRfc5424({
    facility: 16,
    severity: 2,
    timestamp: "2024-01-01T00:00:00Z",
    host: "bad host\n",
    app: "nadir",
    procId: "1",
    msgId: "alert",
    sd: { x: 'a"b]c\\' },
    msg: "m",
  });
  assert.equal(s, '<130>1 2024-01-01T00:00:00Z bad_host_ nadir 1 alert [nadir@32473 x="a\\"b\\]c\\\\"] m');
});

Deno.test("syslog sink over UDP and TCP reaches a local listener", async () => {
  // UDP
  const sock = dgram.createSocket("udp4");
  const udpGot: string[] = [];
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  sock.on("message", (m: Uint8Array) => udpGot.push(new TextDecoder().decode(m)));
  const port = (sock.address() as { port: number }).port;
  const u = new SyslogSink({ host: "127.0.0.1", port, transport: "udp" });
  u.send(alert(1));
  u.send(alert(2));
  await u.close();
  for (let i = 0; i < 50 && udpGot.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  sock.close();
  assert.equal(udpGot.length, 2);
  assert.match(udpGot[0], /^<130>1 \S+ \S+ nadir \d+ alert \[nadir@32473 id="[^"]+" src="192\.0\.2\.7"/);
  // UDP may reorder; the MSG after the structured data is the alert's JSON.
  const flowIds = udpGot.map((m) => JSON.parse(m.slice(m.indexOf("] ") + 2)).flow_id).sort();
  assert.deepEqual(flowIds, [1, 2]);

  // TCP with octet counting
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tcpRead = (async () => {
    const conn = await listener.accept();
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    conn.close();
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  })();
  const t = new SyslogSink({ host: "127.0.0.1", port: listener.addr.port, transport: "tcp" });
  for (let i = 0; i < 3; i++) t.send(alert(i));
  await t.close();
  const text = await tcpRead;
  listener.close();
  const msgs: string[] = [];
  let rest = new TextEncoder().encode(text);
  while (rest.length) {
    const sp = rest.indexOf(32);
    const len = Number(new TextDecoder().decode(rest.subarray(0, sp)));
    msgs.push(new TextDecoder().decode(rest.subarray(sp + 1, sp + 1 + len)));
    rest = rest.subarray(sp + 1 + len);
  }
  assert.equal(msgs.length, 3);
  for (const m of msgs) assert.match(m, /^<1\d\d>1 /);
});

testWhen([needPrograms("nats-server")], "NATS sink publishes alerts to a real nats-server", async (t) => {
  const bin = programPath("nats-server")!;
  const port = freePort();
  const proc = new Deno.Command(bin, {
    args: ["-a", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let sub: NatsClient | undefined;
  try {
    for (let i = 0;; i++) {
      try {
        sub = await NatsClient.connect({ host: "127.0.0.1", port, timeoutMs: 500 });
        break;
      } catch (e) {
        if (i > 40) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const got: Alert[] = [];
    await sub.subscribe("nadir.alerts.>", (m) => got.push(JSON.parse(new TextDecoder().decode(m.data))));
    await sub.flush();
    await t.step("publish + flush", async () => {
      const s = new NatsSink({ host: "127.0.0.1", port });
      const sent = [alert(1), alert(2, { src: "2001:db8::1" }), alert(3)];
      for (const a of sent) s.send(a);
      await s.close();
      for (let i = 0; i < 50 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(got.map((a) => a.id), sent.map((a) => a.id));
      assert.equal(got[1].src_ip, "2001:db8::1");
    });
  } finally {
    sub?.close();
    proc.kill("SIGTERM");
    await proc.status;
  }
});

testWhen(
  [needPrograms("nats-server", "openssl")],
  "NATS over TLS: a sink with the server's CA publishes; without TLS it says so",
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "nadir-nats-tls-" });
    const { cert, key } = selfSignedCert(dir, "127.0.0.1");
    const port = freePort();
    const conf = join(dir, "nats.conf");
    Deno.writeTextFileSync(
      conf,
      `listen: 127.0.0.1:${port}\ntls { cert_file: "${cert}"\n key_file: "${key}" }\n`,
    );
    const proc = new Deno.Command(programPath("nats-server")!, {
      args: ["-c", conf],
      stdout: "null",
      stderr: "null",
    })
      .spawn();
    let sub: NatsClient | undefined;
    try {
      for (let i = 0;; i++) {
        try {
          sub = await NatsClient.connect({ host: "127.0.0.1", port, timeoutMs: 500, tls: { caFile: cert } });
          break;
        } catch (e) {
          if (i > 40) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await assert.rejects(
        NatsClient.connect({ host: "127.0.0.1", port, timeoutMs: 2000 }),
        /requires TLS; configure tls/,
      );
      const got: string[] = [];
      await sub.subscribe("nadir.alerts.>", (m) => got.push(JSON.parse(new TextDecoder().decode(m.data)).id));
      await sub.flush();
      const s = new NatsSink({ host: "127.0.0.1", port, tls: { caFile: cert } });
      const sent = [alert(1), alert(2)];
      for (const a of sent) s.send(a);
      await s.close();
      for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(got, sent.map((a) => a.id));
      assert.deepEqual(s.stats(), { written: 2, lost: 0 });
    } finally {
      sub?.close();
      proc.kill("SIGTERM");
      await proc.status;
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("sinks: NATS and syslog TCP servers that cannot be reached: what was never delivered is lost, with why", async () => {
  // Before, a server that could not be reached lost every alert at shutdown with exit 0 and no word.
  const port = freePort(); // nothing listens there
  const nats = new NatsSink({ host: "127.0.0.1", port, maxQueue: 100 });
  const syslog = new SyslogSink({ host: "127.0.0.1", port, transport: "tcp" });
  for (let i = 0; i < 3; i++) nats.send(alert(i)), syslog.send(alert(i));
  await Promise.all([nats.close(), syslog.close()]);
  for (const s of [nats.stats(), syslog.stats()]) {
    assert.equal(s.written, 0);
    assert.equal(s.lost, 3);
    assert.match(s.lastError ?? "", /^not delivered: .*refused/i);
  }
  assert.equal(nats.pending(), 0);
});

testWhen(
  [needPrograms("nats-server")],
  "NATS settings the server refuses end at once: TLS asked of a plain server, a wrong token",
  async () => {
    // Before, the collector retried these every 10 s forever and the sink queued until the run ended.
    const plain = await startNats([]);
    const auth = await startNats(["--auth", "right-token"]);
    try {
      const started = Date.now();
      await assert.rejects(
        NatsClient.connect({ host: "127.0.0.1", port: plain.port, tls: {} }),
        (e) => e instanceof NatsConfigError && /does not offer TLS/.test(e.message),
      );
      await assert.rejects(
        NatsClient.connect({ host: "127.0.0.1", port: auth.port, token: "wrong-token" }),
        (e) =>
          e instanceof NatsConfigError &&
          /refused the credentials given \(Authorization Violation\)/.test(e.message),
      );
      (await NatsClient.connect({ host: "127.0.0.1", port: auth.port, token: "right-token" })).close();

      const sink = new NatsSink({ host: "127.0.0.1", port: plain.port, tls: {} });
      sink.send(alert(1));
      await sink.flush(2000);
      sink.send(alert(2)); // after the refusal: counted lost at once, not queued
      assert.equal(sink.pending(), 0);
      await sink.close();
      const st = sink.stats();
      assert.equal(st.written, 0);
      assert.equal(st.lost, 2);
      assert.match(st.lastError ?? "", /^not delivered: .*does not offer TLS/);

      const logged: string[] = [];
      await assert.rejects(
        runCollector({
          nats: { host: "127.0.0.1", port: auth.port, token: "wrong-token" },
          db: scratchFile({ suffix: ".db" }),
          signal: new AbortController().signal,
          log: (l) => logged.push(l),
        }),
        /refused the credentials given/,
      );
      assert.equal(logged.filter((l) => /retrying/.test(l)).length, 0);
      // Well under one connect timeout (3 s) per case: nothing waited for a handshake that never comes.
      assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
    } finally {
      await Promise.all([plain.stop(), auth.stop()]);
    }
  },
);

testWhen(
  [needPrograms("nats-server")],
  "NATS JetStream sink: an earlier run's records sent again never count as this run's, nor push its alerts out",
  async () => {
    // Before, re-sending an alerts file larger than the queue dropped the excess and counted it as lost.
    const dir = Deno.makeTempDirSync({ prefix: "nadir-nats-js-" });
    const nats = await startNats(["-js", "-sd", dir]);
    const unreachable = new NatsSink({
      host: "127.0.0.1",
      port: freePort(),
      maxQueue: 100,
      jetstream: { stream: "T" },
    });
    try {
      const old = Array.from({ length: 250 }, (_, i) => alert(1000 + i));
      const s = new NatsSink({
        host: "127.0.0.1",
        port: nats.port,
        maxQueue: 100,
        jetstream: { stream: "T" },
      });
      s.resend(old);
      assert.ok(s.pending() <= 50, `${s.pending()} queued at once`);
      for (let i = 0; i < 10; i++) s.send(alert(i));
      s.resend(old.slice(0, 5)); // already stored: the stream drops them by id
      await s.close();
      assert.deepEqual(s.stats(), { written: 10, lost: 0 });
      const c = await NatsClient.connect({ host: "127.0.0.1", port: nats.port });
      const info = JSON.parse(new TextDecoder().decode((await c.request("$JS.API.STREAM.INFO.T", "")).data));
      c.close();
      assert.equal(info.state.messages, 260);

      // Nothing reachable: this run's 10 alerts are lost, the 250 re-sends are not counted.
      unreachable.resend(old);
      for (let i = 0; i < 10; i++) unreachable.send(alert(i));
      await unreachable.close();
      assert.equal(unreachable.stats().written, 0);
      assert.equal(unreachable.stats().lost, 10);
    } finally {
      await unreachable.close();
      await nats.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
