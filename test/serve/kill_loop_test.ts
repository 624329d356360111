/**
 * kill -9 durability of the alerts file (issue 19, item 4): the monitor is
 * killed with SIGKILL at seeded random points and restarted on the same alerts
 * file; the file must always parse (after the automatic repair on start) and
 * no acknowledged alert may be lost.
 *
 * "Acknowledged" (docs/monitor.md, Sinks): an alert counted in
 * `nadir_sink_written_total{sink="file"}`. The file sink counts a line only
 * once its write() returned for every byte, so the line is in the kernel's
 * page cache and survives the process being killed (power loss additionally
 * needs the fsync done on flush/close). The test reads that counter from
 * /metrics right before each kill: those alerts were acknowledged.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dataPath, exists, ROOT } from "../_shared.ts";
import { benignFlowModel, repeatCapture } from "./_helpers.ts";
import { Rng } from "../../src/util/random.ts";

/** Packets in the replayed capture: stratosphere-test7-malicious.pcap (2,000 packets) 100 times. */
const PACKETS = 200_000;

/** Reads a child's stderr into a growing string. */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let text = "";
  const dec = new TextDecoder();
  const done = stream.pipeTo(
    new WritableStream({
      write(chunk) {
        text += dec.decode(chunk, { stream: true });
      },
    }),
  );
  return { text: () => text, done };
}

function monitor(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-ffi", join(ROOT, "src", "cli.ts"), "monitor", ...args],
    stdout: "null",
    stderr: "piped",
    env: { NADIR_PROGRESS: "0", NO_COLOR: "1" },
  }).spawn();
}

/** Alert ids in one file's complete lines; throws naming file:line on a complete line that is not JSON. */
function fileIds(path: string): string[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch { /* not created yet, or rotated away */ }
  const complete = text.slice(0, text.lastIndexOf("\n") + 1);
  return complete.split("\n").filter(Boolean).map((l, i) => {
    try {
      return JSON.parse(l).id as string;
    } catch {
      throw new Error(`${path}:${i + 1}: invalid JSON line`);
    }
  });
}

/**
 * Alert ids in the order written, across the file sink's rotations (`alerts.jsonl.5` oldest …
 * `alerts.jsonl.1`, then `alerts.jsonl`): ten runs over a 100× capture pass the sink's 100 MiB size limit,
 * and an alert rotated into `.1` is kept, not lost.
 */
function completeIds(path: string, keep = 5): string[] {
  const ids: string[] = [];
  for (let i = keep; i >= 1; i--) ids.push(...fileIds(`${path}.${i}`));
  ids.push(...fileIds(path));
  return ids;
}

Deno.test({
  name: "kill -9 loop: the alerts file always parses after repair and no acknowledged alert is lost",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const model = await benignFlowModel();
  const dir = Deno.makeTempDirSync({ prefix: "nadir-kill-" });
  const big = join(dir, "big.pcap");
  await repeatCapture(dataPath("pcaps", "stratosphere-test7-malicious.pcap"), big, PACKETS / 2000);
  const cfg = join(dir, "nadir.json");
  Deno.writeTextFileSync(cfg, JSON.stringify({ rules: { dedup_window_s: 0, per_host_per_minute: 0 } }));
  const alerts = join(dir, "alerts.jsonl");
  const args = ["--pcap", big, "--model", model, "--config", cfg, "--alerts", alerts, "--port", "0"];
  const rng = new Rng(19); // seeded: the kill points are the same on every run
  const acknowledged: string[] = [];
  let repairs = 0, finished = 0;
  const kills = 10;
  for (let k = 0; k < kills; k++) {
    const before = new Set(completeIds(alerts));
    const child = monitor(args);
    const err = collect(child.stderr);
    // Wait for the API (bounded), then a seeded random time into the run.
    let port = 0;
    for (let t = 0; t < 400 && !port; t++) {
      const m = /API and dashboard on http:\/\/[^:]+:(\d+)\//.exec(err.text());
      if (m) port = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(port, `run ${k}: the API never came up:\n${err.text()}`);
    // Kill at a seeded point of the run's progress, read from the monitor's own packet counter: a timer
    // is no measure (a quiet machine finished the capture before a 1.7 s timer), and neither is the
    // alerts file (the sink queue drains late under load). The last /metrics read before the kill
    // gives the acknowledged count.
    const target = Math.round((0.05 + rng.next() * 0.7) * PACKETS);
    let metrics = "";
    let packets = 0;
    let failures = 0;
    let ended: Deno.CommandStatus | undefined;
    for (let t = 0; t < 3000 && packets < target; t++) {
      // A fresh connection each time: ports recur across runs, and a pooled keep-alive connection to
      // an earlier, killed monitor on the same port would fail the request.
      const client = Deno.createHttpClient({});
      try {
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { client } as RequestInit)).text();
        failures = 0;
      } catch (e) {
        // Under a full parallel test run on 2 cores a request is now and then reset mid-run (seen once
        // in ~60 runs); the durability question needs only the last successful read, so a few retries
        // are allowed, never a kill on a stale count (metrics is the last good read).
        if (++failures > 5) {
          // A replay used to leave /metrics answered but unsent until it ended when the machine was busy
          // (about once in 6 full test runs; cause and cure in docs/monitor.md, "Why the API starved"). A
          // run that ends by itself, cleanly, is no kill but no loss either: counted below.
          ended = await Promise.race([child.status, new Promise<undefined>((r) => setTimeout(r, 200))]);
          if (ended?.success) break;
          throw new Error(
            `run ${k}: GET /metrics failed ${failures} times in a row at ${packets} of its ${target}-packet ` +
              `kill point (${(e as Error).message}: ${
                String((e as Error).cause)
              }); monitor said:\n${err.text()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
        continue;
      } finally {
        client.close();
      }
      packets = Number(/^nadir_packets_total (\d+)$/m.exec(metrics)?.[1] ?? 0);
      if (packets < target) await new Promise((r) => setTimeout(r, 10));
    }
    if (ended?.success) {
      // It wrote and flushed every alert of its run before exiting: all of them are acknowledged.
      await err.done;
      finished++;
      const mine = completeIds(alerts).filter((id) => !before.has(id));
      assert.match(
        err.text(),
        new RegExp(`nadir monitor: ${PACKETS} packets`),
        `run ${k} ended early:\n${err.text()}`,
      );
      acknowledged.push(...mine);
      continue;
    }
    assert.ok(packets >= target, `run ${k} never reached ${target} packets:\n${metrics}`);
    child.kill("SIGKILL");
    const status = await child.status;
    await err.done;
    assert.equal(status.signal, "SIGKILL", `run ${k} ended before the kill:\n${err.text()}`);
    if (/repaired|torn last line/.test(err.text())) repairs++;
    const m = /^nadir_sink_written_total\{sink="file"\} (\d+)$/m.exec(metrics);
    assert.ok(m, 'the monitor publishes nadir_sink_written_total{sink="file"}');
    const acked = Number(m[1]);
    // This run's alerts, in the order written: the first `acked` of them are acknowledged.
    const mine = completeIds(alerts).filter((id) => !before.has(id));
    assert.ok(mine.length >= acked, `run ${k}: ${acked} acknowledged, only ${mine.length} in the file`);
    acknowledged.push(...mine.slice(0, acked));
  }
  // Most runs must be real kills, or the test would prove nothing about them.
  assert.ok(finished <= 3, `${finished} of ${kills} runs ended before their kill point`);
  // A last run to the end: it repairs what the last kill left and exits cleanly.
  const last = monitor([
    "--pcap",
    dataPath("pcaps", "tcp_ports.pcapng"),
    "--model",
    model,
    "--alerts",
    alerts,
  ]);
  const err = collect(last.stderr);
  const st = await last.status;
  await err.done;
  assert.equal(st.code, 0, err.text());
  const text = Deno.readTextFileSync(alerts);
  assert.ok(text.endsWith("\n"));
  const ids = new Set(completeIds(alerts));
  for (const id of acknowledged) assert.ok(ids.has(id), `acknowledged alert ${id} lost`);
  assert.ok(acknowledged.length > 0, "the kills came after some alerts were written");
  console.log(
    `kill loop: ${
      kills - finished
    } kills (${finished} runs ended first), ${acknowledged.length} acknowledged ` +
      `alerts kept, ${repairs} repairs, ` +
      `${[1, 2, 3, 4, 5].filter((i) => exists(`${alerts}.${i}`)).length} rotated files`,
  );
  Deno.removeSync(dir, { recursive: true });
});
