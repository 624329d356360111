import assert from "node:assert/strict";
import { join } from "node:path";
import { CollectorDb } from "../../src/serve/collector.ts";
import { NatsClient } from "../../src/serve/sinks/nats.ts";
import { dataPath, freePort, needPrograms, programPath, ROOT, testWhen } from "../_shared.ts";
import { benignFlowModel } from "./_helpers.ts";
import { scratchDir } from "../_scratch.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `nadir ARGS` in a child whose stderr goes to `log` (exec: signals reach nadir itself). */
function nadir(args: string[], log: string): Deno.ChildProcess {
  const q = (x: string) => `'${x.replaceAll("'", "'\\''")}'`;
  const cmd = [Deno.execPath(), "run", "-A", "--unstable-ffi", join(ROOT, "src", "cli.ts"), ...args].map(q)
    .join(" ");
  return new Deno.Command("bash", {
    args: ["-c", `exec ${cmd} 2>>${q(log)}`],
    stdout: "null",
    stderr: "null",
  })
    .spawn();
}

/** Every alert id a sensor wrote: its alerts file, and what a restart moved aside as torn. */
function writtenIds(dir: string): string[] {
  const ids: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (!e.name.startsWith("alerts.jsonl")) continue;
    for (
      const m of Deno.readTextFileSync(join(dir, e.name)).matchAll(
        /"id":"([^"]+)","timestamp":[^\n]*"event_type":"alert"/g,
      )
    ) {
      ids.push(m[1]);
    }
  }
  return ids;
}

testWhen(
  [needPrograms("nats-server", "bash")],
  "fleet: 3 sensors and a collector over JetStream; a sensor and the collector killed mid-run lose and repeat nothing",
  async () => {
    const model = await benignFlowModel();
    const work = scratchDir("nadir-fleet-");
    const port = freePort();
    const nats = new Deno.Command(programPath("nats-server")!, {
      args: ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(work, "js")],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const procs: Deno.ChildProcess[] = [];
    try {
      for (let i = 0;; i++) {
        try {
          (await NatsClient.connect({ host: "127.0.0.1", port, timeoutMs: 500 })).close();
          break;
        } catch (e) {
          if (i > 50) throw e;
          await sleep(100);
        }
      }
      const captures = ["stratosphere-test7-malicious.pcap", "zeek-ftp-bruteforce.pcap", "zeek-ssh-ssh.pcap"];
      const sensorArgs = captures.map((c, i) => {
        const dir = join(work, `sensor${i}`);
        Deno.mkdirSync(dir);
        const cfg = join(dir, "nadir.json");
        Deno.writeTextFileSync(
          cfg,
          JSON.stringify({
            sensor: `sensor${i}`,
            source: { pcap: dataPath("pcaps", c), replay: "500pps" },
            model,
            alerts: { file: join(dir, "alerts.jsonl") },
            rules: { dedup_window_s: 0, per_host_per_minute: 0 },
            sinks: { nats: { host: "127.0.0.1", port, jetstream: true, health_interval_s: 1 } },
          }),
        );
        return { dir, args: ["monitor", "--config", cfg] };
      });
      const db = join(work, "fleet.db");
      const startCollector = () =>
        nadir(["collect", "--nats", `127.0.0.1:${port}`, "--db", db], join(work, "collector.log"));
      let collector = startCollector();
      const sensors = sensorArgs.map((s) => nadir(s.args, join(s.dir, "log")));
      procs.push(collector, ...sensors);
      // Mid-run: kill sensor 0 (its capture takes 4 s at 500 packets/s) and the collector, hard.
      await sleep(2500);
      sensors[0].kill("SIGKILL");
      await sensors[0].status;
      collector.kill("SIGKILL");
      await collector.status;
      await sleep(500);
      collector = startCollector();
      const again = nadir(sensorArgs[0].args, join(sensorArgs[0].dir, "log"));
      procs.push(collector, again);
      for (const p of [again, sensors[1], sensors[2]]) {
        const st = await p.status;
        assert.equal(st.code, 0, "each sensor ran to its end");
      }
      const written = sensorArgs.flatMap((s) => writtenIds(s.dir));
      assert.ok(written.length > 150, `the sensors wrote alerts: ${written.length}`);
      assert.equal(new Set(written).size, written.length, "alert ids are unique");
      // The collector stores what the stream holds; wait until it has caught up.
      let stored: string[] = [];
      for (let i = 0; i < 200; i++) {
        try {
          const d = CollectorDb.open(db);
          stored = d.alertIds();
          d.close();
        } catch { /* the collector may be migrating it */ }
        if (stored.length >= written.length) break;
        await sleep(100);
      }
      collector.kill("SIGTERM");
      assert.equal((await collector.status).code, 0);
      const d = CollectorDb.open(db);
      try {
        const got = new Set(d.alertIds()), want = new Set(written);
        const missing = written.filter((x) => !got.has(x)), extra = [...got].filter((x) => !want.has(x));
        assert.deepEqual(
          { missing: missing.slice(0, 5), extra: extra.slice(0, 5), n: got.size },
          { missing: [], extra: [], n: want.size },
          `every alert once, and nothing else (work dir ${work})`,
        );
        const sensorsSeen = d.sensors();
        assert.deepEqual(sensorsSeen.map((s) => s.name), ["sensor0", "sensor1", "sensor2"]);
        for (const s of sensorsSeen) {
          assert.equal(s.health.final, true, `${s.name} said it ended`);
          assert.ok(
            (s.health.packets as number) > 0 && (s.health.top_talkers as unknown[]).length > 0,
            s.name,
          );
        }
      } finally {
        d.close();
      }
    } finally {
      for (const p of procs) {
        try {
          p.kill("SIGKILL");
        } catch { /* ended */ }
        await p.status.catch(() => {});
      }
      nats.kill("SIGTERM");
      await nats.status;
    }
  },
);
