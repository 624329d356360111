/**
 * Live test: two network namespaces joined by a veth pair. Benign HTTP
 * traffic (Deno server + client) is recorded with tcpdump and a flow model is
 * trained on it; then `nadir monitor --interface` runs in the server's
 * namespace while nmap SYN-scans it from the other one. The monitor must name
 * the attacker's address within a few seconds, with no kernel drops.
 * Skips (with a message) without root, `ip netns`, nmap or tcpdump.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { trainFlowModelFromPcap } from "../../src/serve/models.ts";
import { alertProblems } from "../../src/serve/alert.ts";
import { needNetns, ROOT, testWhen } from "../_shared.ts";

const NS_SRV = `nadir${Deno.pid % 100000}s`;
const NS_ATT = `nadir${Deno.pid % 100000}a`;
const IF_SRV = `nv${Deno.pid % 100000}s`;
const IF_ATT = `nv${Deno.pid % 100000}a`;
const SRV_IP = "10.77.0.1";
const ATT_IP = "10.77.0.2";

function sh(args: string[]): { ok: boolean; out: string } {
  const r = new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped" }).outputSync();
  return { ok: r.success, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

function inNs(
  ns: string,
  args: string[],
  opts: { stdout?: "piped" | "null"; stderr?: "piped" | "null" } = {},
): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, ...args],
    stdout: opts.stdout ?? "null",
    stderr: opts.stderr ?? "null",
    env: { NO_COLOR: "1", NADIR_PROGRESS: "0" },
  })
    .spawn();
}

/** Stops a child the test started (nothing to do when it never started). */
async function stopProc(p: Deno.ChildProcess | undefined, sig: Deno.Signal = "SIGTERM"): Promise<void> {
  if (p === undefined) return;
  try {
    p.kill(sig);
  } catch { /* already gone */ }
  await p.status;
}

/** Reads stderr lines of a child into an array as they come. */
function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  return (async () => {
    const r = stream.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
    if (buf) lines.push(buf);
  })();
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

const SERVER = `
const body = "x".repeat(2048);
Deno.serve({ hostname: "${SRV_IP}", port: 8080, onListen() { console.log("ready"); } }, (req) =>
  new Response(new URL(req.url).pathname === "/big" ? body.repeat(8) : body));`;

const CLIENT = `
for (let i = 0; i < 40; i++) {
  const client = Deno.createHttpClient({});
  const r = await fetch("http://${SRV_IP}:8080/" + (i % 3 === 0 ? "big" : "page" + i), { client });
  await r.text();
  client.close();
  await new Promise((r) => setTimeout(r, 40));
}`;

testWhen([needNetns("nmap", "tcpdump")], {
  name: "live: monitor --interface on a veth names the SYN scanner within seconds, no drops",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nadir-live-" });
    const deno = Deno.execPath();
    let server: Deno.ChildProcess | undefined,
      dump: Deno.ChildProcess | undefined,
      monitor: Deno.ChildProcess | undefined;
    try {
      for (
        const cmd of [
          ["ip", "netns", "add", NS_SRV],
          ["ip", "netns", "add", NS_ATT],
          ["ip", "link", "add", IF_SRV, "type", "veth", "peer", "name", IF_ATT],
          ["ip", "link", "set", IF_SRV, "netns", NS_SRV],
          ["ip", "link", "set", IF_ATT, "netns", NS_ATT],
          ["ip", "-n", NS_SRV, "addr", "add", `${SRV_IP}/24`, "dev", IF_SRV],
          ["ip", "-n", NS_ATT, "addr", "add", `${ATT_IP}/24`, "dev", IF_ATT],
          ["ip", "-n", NS_SRV, "link", "set", IF_SRV, "up"],
          ["ip", "-n", NS_ATT, "link", "set", IF_ATT, "up"],
          ["ip", "-n", NS_SRV, "link", "set", "lo", "up"],
          ["ip", "-n", NS_ATT, "link", "set", "lo", "up"],
        ]
      ) {
        const r = sh(cmd);
        assert.ok(r.ok, `${cmd.join(" ")}: ${r.out}`);
      }
      // --- benign phase: HTTP server + client, recorded for training
      server = inNs(NS_SRV, [deno, "eval", SERVER], { stdout: "piped" });
      const srvOut: string[] = [];
      collect(server.stdout, srvOut);
      assert.ok(await until(() => srvOut.includes("ready"), 10_000), "HTTP server did not start");
      const benign = join(dir, "benign.pcap");
      dump = inNs(NS_SRV, ["tcpdump", "-i", IF_SRV, "-U", "-w", benign, "-s", "0"], { stderr: "piped" });
      const dumpErr: string[] = [];
      collect(dump.stderr, dumpErr);
      assert.ok(
        await until(() => dumpErr.some((l) => l.includes("listening")), 10_000),
        "tcpdump did not start",
      );
      const client = await inNs(NS_ATT, [deno, "eval", CLIENT], { stderr: "piped" }).output();
      assert.ok(client.success, new TextDecoder().decode(client.stderr));
      await new Promise((r) => setTimeout(r, 300));
      await stopProc(dump, "SIGINT");
      dump = undefined;
      const model = join(dir, "model");
      const trained = await trainFlowModelFromPcap(benign, model, { detector: "kmeans", seed: 3 });
      assert.ok(trained.rows >= 30, `benign flows: ${trained.rows}`);

      // --- monitor in the server namespace
      const alerts = join(dir, "alerts.jsonl");
      monitor = inNs(NS_SRV, [
        deno,
        "run",
        "-A",
        "--unstable-ffi",
        join(ROOT, "src", "cli.ts"),
        "monitor",
        "--interface",
        IF_SRV,
        "--model",
        model,
        "--alerts",
        alerts,
      ], {
        stderr: "piped",
      });
      const monErr: string[] = [];
      const monDone = collect(monitor.stderr, monErr);
      assert.ok(
        await until(() => monErr.some((l) => l.includes("capturing on")), 15_000),
        `monitor did not start: ${monErr.join("\n")}`,
      );

      // --- attack: SYN scan from the other namespace
      const t0 = Date.now();
      const scan = inNs(NS_ATT, [
        "nmap",
        "-sS",
        "-n",
        "-Pn",
        "-T4",
        "--max-retries",
        "0",
        "-p",
        "1-1000",
        SRV_IP,
      ]);
      const readAlerts = () => {
        try {
          return Deno.readTextFileSync(alerts).split("\n").filter(Boolean).map((l) => JSON.parse(l));
        } catch {
          return [];
        }
      };
      const named = await until(() => readAlerts().some((a) => a.src_ip === ATT_IP), 8_000);
      const latency = (Date.now() - t0) / 1000;
      await scan.status;
      await stopProc(monitor);
      monitor = undefined;
      await monDone;
      assert.ok(named, `no alert naming ${ATT_IP} within 8 s; monitor said:\n${monErr.join("\n")}`);
      console.log(`first alert naming the attacker ${latency.toFixed(2)} s after the scan started`);
      const all = readAlerts();
      for (const a of all) assert.deepEqual(alertProblems(a), []);
      assert.ok(all.filter((a) => a.src_ip === ATT_IP).length >= 1);
      const summary = monErr.find((l) => /nadir monitor: \d+ packets/.test(l));
      assert.ok(summary, monErr.join("\n"));
      assert.match(summary!, / 0 kernel drops/, `kernel drops: ${summary}`);
    } finally {
      await stopProc(monitor);
      await stopProc(dump, "SIGINT");
      await stopProc(server);
      sh(["ip", "netns", "del", NS_SRV]);
      sh(["ip", "netns", "del", NS_ATT]);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
