/**
 * Durable writes of the alert sinks (issue 19): a torn alerts file or spool is
 * repaired on start, disk-full losses are counted and change the exit code,
 * a big spool loads, and evidence pcaps stay within a disk budget.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Alert, makeAlert } from "../../src/serve/alert.ts";
import { runMonitor } from "../../src/serve/run.ts";
import { MonitorMetrics } from "../../src/serve/metrics.ts";
import { FileSink } from "../../src/serve/sinks/sink.ts";
import { WebhookSink } from "../../src/serve/sinks/webhook.ts";
import { repairJsonLines } from "../../src/serve/sinks/repair.ts";
import { closeSinks, openSinks } from "../../src/serve/pipeline/sinks.ts";
import { EvidenceDisk } from "../../src/serve/evidence.ts";
import { dataPath, needPrograms, needRoot, testWhen } from "../_shared.ts";
import { benignFlowModel, monitorOnFullDisk } from "./_helpers.ts";

function alert(i: number): Alert {
  return makeAlert({
    tsUs: 1_700_000_000_000_000 + i,
    flowId: i,
    srcIp: "192.0.2.7",
    srcPort: 40000 + (i % 20000),
    destIp: "198.51.100.1",
    destPort: 443,
    protocol: 6,
    detector: "kitnet",
    score: 2,
    threshold: 1,
  });
}

/** Real alert lines: the monitor's output on a vendored malware capture (175 alerts). */
async function realAlertLines(dir: string): Promise<string[]> {
  const file = join(dir, "seed.jsonl");
  await runMonitor(
    {
      source: { pcap: dataPath("pcaps", "stratosphere-test7-malicious.pcap") },
      model: await benignFlowModel(),
      alerts: { file },
    },
    { log: () => {} },
  );
  return Deno.readTextFileSync(file).split("\n").filter(Boolean);
}

function sideFiles(dir: string, base: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(`${base}.torn-`)).sort();
}

function parseAll(path: string): unknown[] {
  const text = Deno.readTextFileSync(path);
  assert.ok(text === "" || text.endsWith("\n"), `${path} ends on a line boundary`);
  return text.split("\n").filter(Boolean).map((l, i) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new Error(`${path}:${i + 1}: invalid JSON line`);
    }
  });
}

Deno.test("file sink on a full disk (/dev/full): send never throws, every lost alert counted with the error", async () => {
  const errors: Error[] = [];
  const s = new FileSink("/dev/full", { onError: (e) => errors.push(e) });
  for (let i = 0; i < 5; i++) assert.doesNotThrow(() => s.send(alert(i)));
  await s.close();
  const st = s.stats();
  assert.equal(st.written, 0);
  assert.equal(st.lost, 5);
  assert.match(st.lastError ?? "", /No space left on device/);
  assert.equal(errors.length, 5);
});

Deno.test("sink stage on a full disk: /metrics counts written and lost alerts per sink", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-full-" });
  const metrics = new MonitorMetrics();
  const sinks = openSinks({ alerts: { file: "/dev/full" } }, { metrics, baseDir: dir, log: () => {} });
  for (let i = 0; i < 7; i++) for (const s of sinks) s.send(alert(i));
  await closeSinks(sinks, () => {});
  const text = metrics.registry.render();
  assert.match(text, /^nadir_sink_lost_total\{sink="file"\} 7$/m);
  assert.match(text, /^nadir_sink_errors_total\{sink="file"\} 7$/m);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("torn tail of the alerts file is moved aside on start; the next run appends on a clean line", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-torn-" });
  const lines = await realAlertLines(dir);
  const file = join(dir, "alerts.jsonl");
  const torn = lines[10].slice(0, 300);
  Deno.writeTextFileSync(file, lines.slice(0, 10).join("\n") + "\n" + torn);
  const log: string[] = [];
  const cfg = {
    source: { pcap: dataPath("pcaps", "tcp_ports.pcapng") },
    model: await benignFlowModel(),
    alerts: { file },
  };
  const r1 = await runMonitor(cfg, { log: (l) => log.push(l) });
  assert.ok(r1.alerts >= 1);
  const all = parseAll(file);
  assert.equal(
    all.length,
    10 + r1.alerts + r1.driftEvents,
    "earlier alerts kept, every new record on its own line",
  );
  const side = sideFiles(dir, "alerts.jsonl");
  assert.equal(side.length, 1);
  assert.match(side[0], /^alerts\.jsonl\.torn-\d{8}T\d{6}Z/);
  assert.equal(Deno.readTextFileSync(join(dir, side[0])), torn);
  assert.ok(
    log.some((l) => /alerts\.jsonl:11: torn last line .*moved to .*alerts\.jsonl\.torn-/.test(l)),
    log.join("\n"),
  );
  assert.ok(r1.repairs?.some((x) => /alerts\.jsonl:11/.test(x)));
  // And a third run starts (before the fix it refused: "invalid JSON line").
  await runMonitor(cfg, { log: () => {} });
  assert.equal(parseAll(file).length, 10 + 2 * (r1.alerts + r1.driftEvents));
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a file damaged by an older run (torn line with an alert appended onto it) is repaired too", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-torn2-" });
  const lines = await realAlertLines(dir);
  const file = join(dir, "alerts.jsonl");
  // What the old sink left: 5 lines, a torn one, and the next run's first alert glued onto it.
  Deno.writeTextFileSync(
    file,
    lines.slice(0, 5).join("\n") + "\n" + lines[5].slice(0, 200) + lines[6] + "\n",
  );
  const cfg = {
    source: { pcap: dataPath("pcaps", "tcp_ports.pcapng") },
    model: await benignFlowModel(),
    alerts: { file },
  };
  const r = await runMonitor(cfg, { log: () => {} });
  assert.equal(parseAll(file).length, 5 + r.alerts + r.driftEvents);
  assert.equal(sideFiles(dir, "alerts.jsonl").length, 1);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("an invalid line in the middle stops the start naming file:line; alerts.repair moves it aside", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-mid-" });
  const lines = await realAlertLines(dir);
  const file = join(dir, "alerts.jsonl");
  const bad = lines[2].slice(0, 100);
  Deno.writeTextFileSync(file, [lines[0], lines[1], bad, lines[3]].join("\n") + "\n");
  const cfg = {
    source: { pcap: dataPath("pcaps", "tcp_ports.pcapng") },
    model: await benignFlowModel(),
    alerts: { file },
  };
  await assert.rejects(runMonitor(cfg, { log: () => {} }), /alerts\.jsonl:3: invalid JSON line/);
  const r = await runMonitor({ ...cfg, alerts: { file, repair: true } }, { log: () => {} });
  assert.equal(parseAll(file).length, 3 + r.alerts + r.driftEvents);
  const side = sideFiles(dir, "alerts.jsonl");
  assert.equal(side.length, 1);
  assert.equal(Deno.readTextFileSync(join(dir, side[0])), bad + "\n");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a line that is JSON but no record (not an alert, not a drift event) is repaired like one that is not JSON", async () => {
  // --repair had left these ([1,2,3] at the end, {"foo":1} in the middle), and the start refused them still.
  const dir = Deno.makeTempDirSync({ prefix: "nadir-notrec-" });
  const lines = await realAlertLines(dir);
  const file = join(dir, "alerts.jsonl");
  const cfg = {
    source: { pcap: dataPath("pcaps", "tcp_ports.pcapng") },
    model: await benignFlowModel(),
    alerts: { file },
  };
  Deno.writeTextFileSync(file, [lines[0], lines[1], "[1,2,3]"].join("\n") + "\n");
  await runMonitor(cfg, { log: () => {} }); // the tail: moved aside without asking
  assert.ok(parseAll(file).every((v) => !Array.isArray(v)));
  Deno.writeTextFileSync(file, [lines[0], '{"foo":1}', lines[1]].join("\n") + "\n");
  await assert.rejects(runMonitor(cfg, { log: () => {} }), /alerts\.jsonl:2: id: expected a string/);
  const r = await runMonitor({ ...cfg, alerts: { file, repair: true } }, { log: () => {} });
  assert.equal(parseAll(file).length, 2 + r.alerts + r.driftEvents);
  assert.ok(
    sideFiles(dir, "alerts.jsonl").some((n) => Deno.readTextFileSync(join(dir, n)).includes('{"foo":1}')),
  );
  Deno.removeSync(dir, { recursive: true });
});

testWhen(
  [needRoot("a small tmpfs in a private mount namespace"), needPrograms("unshare", "mount", "sh")],
  "disk full (64 KiB tmpfs): exit 3, the summary says raised/written/lost, the file ends on a line",
  async () => {
    const out = Deno.makeTempDirSync({ prefix: "nadir-diskfull-" });
    const mnt = join(out, "mnt");
    Deno.mkdirSync(mnt);
    const cfg = join(out, "nadir.json");
    Deno.writeTextFileSync(cfg, JSON.stringify({ rules: { dedup_window_s: 0, per_host_per_minute: 0 } }));
    const r = await monitorOnFullDisk(
      mnt,
      `--config ${cfg} --alerts ${mnt}/alerts.jsonl`,
      `cp ${mnt}/alerts.jsonl ${out}/alerts.jsonl`,
    );
    const err = r.stderr;
    assert.equal(r.code, 3, err);
    // The file sink's counts cover every line it takes: alerts and drift events.
    const m =
      /(\d+) alerts(?: and (\d+) drift events)? raised, (\d+) written, (\d+) lost: No space left on device/
        .exec(err);
    assert.ok(m, err);
    const [raised, drift, written, lost] = [Number(m[1]), Number(m[2] ?? 0), Number(m[3]), Number(m[4])];
    assert.equal(raised, 175);
    assert.ok(lost > 0 && written > 0);
    assert.equal(written + lost, raised + drift);
    const lines = parseAll(join(out, "alerts.jsonl"));
    assert.equal(lines.length, written, "every record counted as written is a whole line");
    Deno.removeSync(out, { recursive: true });
  },
);

Deno.test("webhook spool of 200 000 lines loads (no stack overflow) and resumes after .done", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-bigspool-" });
  const spool = join(dir, "webhook.spool");
  const line = JSON.stringify(alert(1));
  const n = 200_000;
  const f = Deno.openSync(spool, { write: true, create: true });
  const chunk = new TextEncoder().encode((line + "\n").repeat(1000));
  for (let i = 0; i < n / 1000; i++) f.writeSync(chunk);
  f.close();
  Deno.writeTextFileSync(spool + ".done", "1000");
  // Port 9 (discard) on loopback: nothing listens, so nothing is delivered during the test.
  const s = new WebhookSink({
    url: "http://127.0.0.1:9/",
    spoolPath: spool,
    closeTimeoutMs: 0,
    backoffMs: 60_000,
  });
  assert.equal(s.pending(), n - 1000);
  assert.equal(s.held, 1024, "memory holds the default window; the rest waits in the spool");
  await s.close();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("webhook backlog past memoryLines: held on disk, read back in order, across a restart", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-backlog-" });
  const spool = join(dir, "webhook.spool");
  const got: number[] = [];
  // The receiver is down, then takes 50 alerts and goes down again, then takes the rest.
  let accept = 0;
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const id = JSON.parse(await req.text()).flow_id;
      if (accept <= 0) return new Response("down", { status: 503 });
      accept--;
      got.push(id);
      return new Response("ok");
    },
  );
  const open = () =>
    new WebhookSink({
      url: `http://127.0.0.1:${server.addr.port}/`,
      spoolPath: spool,
      memoryLines: 8,
      backoffMs: 5,
      maxBackoffMs: 10,
      closeTimeoutMs: 0,
    });
  try {
    const s1 = open();
    for (let i = 0; i < 100; i++) s1.send(alert(i));
    assert.equal(s1.pending(), 100);
    assert.equal(s1.held, 8);
    await s1.close();

    const s2 = open();
    assert.equal(s2.pending(), 100);
    assert.equal(s2.held, 8);
    accept = 50;
    // Until the sink has counted the 50th delivery (its answer reaches the sink after the receiver saw it).
    for (let t = 0; s2.pending() > 50 && t < 2000; t++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(got.length, 50);
    for (let i = 100; i < 130; i++) s2.send(alert(i));
    assert.ok(s2.held <= 8, `held ${s2.held}`);
    assert.equal(s2.pending(), 80);
    await s2.close();

    const s3 = open();
    assert.equal(s3.pending(), 80, "the restart resumes after the 50 recorded in .done");
    accept = Infinity;
    await s3.flush(10_000);
    assert.equal(s3.pending(), 0);
    await s3.close();
    // At least once: a request in flight when a sink closes is cut off at the sink's end but may still be
    // taken at the receiver's, and is sent again after the restart (receivers dedupe on the alert id).
    assert.deepEqual([...new Set(got)], Array.from({ length: 130 }, (_, i) => i), "every alert, in order");
    assert.ok(got.length <= 132, `${got.length - 130} sent twice, at most one a restart`);
    assert.equal(Deno.statSync(spool).size, 0, "the drained spool is truncated");
  } finally {
    ac.abort();
    await server.finished;
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("webhook spool with a torn tail: moved aside, the rest delivered, new alerts on a clean line", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-tornspool-" });
  const spool = join(dir, "webhook.spool");
  const good = [alert(1), alert(2), alert(3)].map((a) => JSON.stringify(a));
  const torn = JSON.stringify(alert(4)).slice(0, 120);
  Deno.writeTextFileSync(spool, good.join("\n") + "\n" + torn);
  const got: unknown[] = [];
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      got.push(JSON.parse(await req.text()));
      return new Response("ok");
    },
  );
  try {
    const s = new WebhookSink({ url: `http://127.0.0.1:${server.addr.port}/`, spoolPath: spool });
    assert.equal(s.pending(), 3);
    assert.match(s.repair ?? "", /webhook\.spool:4: torn last line/);
    s.send(alert(5));
    await s.flush(5000);
    await s.close();
    assert.equal(got.length, 4);
    const side = sideFiles(dir, "webhook.spool");
    assert.equal(side.length, 1);
    assert.equal(Deno.readTextFileSync(join(dir, side[0])), torn);
  } finally {
    ac.abort();
    await server.finished;
  }
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("evidence disk budget: file and byte caps, oldest removed first, earlier runs' files counted", () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-evdisk-" });
  // Two files from an "earlier run", older by mtime.
  for (const n of ["old-1.pcap", "old-2.pcap"]) Deno.writeFileSync(join(dir, n), new Uint8Array(100));
  const past = new Date(Date.now() - 3600_000);
  Deno.utimeSync(join(dir, "old-1.pcap"), past, past);
  const disk = new EvidenceDisk(dir, { maxFiles: 4, maxBytes: 1000 });
  for (let i = 0; i < 3; i++) {
    Deno.writeFileSync(join(dir, `a-${i}.pcap`), new Uint8Array(100));
    disk.add(`a-${i}.pcap`);
  }
  const names = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(names(), ["a-0.pcap", "a-1.pcap", "a-2.pcap", "old-2.pcap"]);
  Deno.writeFileSync(join(dir, "big.pcap"), new Uint8Array(800));
  disk.add("big.pcap");
  // 5 files > 4: old-2 goes; 1100 bytes > 1000: a-0 goes.
  assert.deepEqual(names(), ["a-1.pcap", "a-2.pcap", "big.pcap"]);
  assert.equal(disk.bytes, 1000);
  disk.remove(["a-2.pcap"]);
  assert.deepEqual(names(), ["a-1.pcap", "big.pcap"]);
  assert.equal(disk.bytes, 900);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("monitor: evidence stays within evidence.disk_max_files and follows rotated-away alerts", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-evmon-" });
  const file = join(dir, "alerts.jsonl");
  const r = await runMonitor(
    {
      source: { pcap: dataPath("pcaps", "stratosphere-test7-malicious.pcap") },
      model: await benignFlowModel(),
      alerts: { file, max_bytes: 20_000, keep: 1 },
      rules: { dedup_window_s: 0, per_host_per_minute: 0 },
      evidence: { disk_max_files: 1000 },
    },
    { log: () => {} },
  );
  assert.equal(r.alerts, 175);
  const kept = [file, `${file}.1`].flatMap((f) => parseAll(f)) as Alert[];
  const referenced = new Set(kept.map((a) => a.evidence).filter(Boolean));
  const onDisk = [...Deno.readDirSync(join(dir, "evidence"))].map((e) => e.name);
  assert.ok(onDisk.length > 0);
  assert.ok(onDisk.length <= 1000);
  for (const n of onDisk) assert.ok(referenced.has(n), `${n} outlived its alert`);
  // A cap below what the kept alerts need: the newest survive.
  const dir2 = Deno.makeTempDirSync({ prefix: "nadir-evmon2-" });
  await runMonitor(
    {
      source: { pcap: dataPath("pcaps", "stratosphere-test7-malicious.pcap") },
      model: await benignFlowModel(),
      alerts: { file: join(dir2, "alerts.jsonl") },
      rules: { dedup_window_s: 0, per_host_per_minute: 0 },
      evidence: { disk_max_files: 10 },
    },
    { log: () => {} },
  );
  // Alerts only: drift events share the file and have no pcap.
  const all = (parseAll(join(dir2, "alerts.jsonl")) as Alert[]).filter((a) => a.event_type === "alert");
  const left = [...Deno.readDirSync(join(dir2, "evidence"))].map((e) => e.name).sort();
  assert.deepEqual(left, all.slice(-10).map((a) => a.evidence).sort());
  Deno.removeSync(dir, { recursive: true });
  Deno.removeSync(dir2, { recursive: true });
});

Deno.test("repairJsonLines, read line by line: a torn tail cut inside a character, and invalid lines past 1 MiB", () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-repair-lines-" });
  try {
    // Real eve.json lines, repeated past the reader's 1 MiB chunk; one hand-made line with multi-byte text.
    const real = Deno.readTextFileSync(dataPath("alerts", "suricata", "stratosphere-test6-eve-head300.json"))
      .split("\n").filter((l) => l);
    const lines: string[] = [];
    while (lines.join("\n").length < 3 << 20) lines.push(...real.slice(0, 100));
    const wide = JSON.stringify({ msg: "café ✓ 日本" });
    const bytes = new TextEncoder().encode(wide);
    const torn = bytes.subarray(0, bytes.length - 6); // inside "本" (3 bytes) … cut mid-character

    // Tail only: the file is truncated to its complete lines, byte for byte.
    const tailFile = join(dir, "tail.jsonl");
    const good = new TextEncoder().encode(lines.join("\n") + "\n" + wide + "\n");
    Deno.writeFileSync(tailFile, new Uint8Array([...good, ...torn]));
    const t = repairJsonLines(tailFile, { scanAll: true, now: new Date("2026-12-06T00:00:00Z") })!;
    assert.equal(t.kind, "tail");
    assert.equal(t.line, lines.length + 2);
    assert.deepEqual(Deno.readFileSync(tailFile), good);

    // Invalid lines in the middle, with `all`: moved aside, the rest rewritten in order.
    const allFile = join(dir, "all.jsonl");
    const damaged = [...lines];
    damaged.splice(5000, 0, "{not json");
    damaged.splice(20, 0, "also not json");
    Deno.writeTextFileSync(allFile, damaged.join("\n") + "\n");
    assert.throws(() => repairJsonLines(allFile, { scanAll: true }), /all\.jsonl:21: invalid JSON line/);
    const a = repairJsonLines(allFile, { all: true, now: new Date("2026-12-06T00:00:01Z") })!;
    assert.deepEqual([a.kind, a.line, a.lines], ["all", 21, 2]);
    assert.equal(Deno.readTextFileSync(allFile), lines.join("\n") + "\n");
    assert.equal(Deno.readTextFileSync(a.movedTo), "also not json\n{not json\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
