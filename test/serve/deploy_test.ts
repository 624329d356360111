/**
 * Deployment artefacts: the systemd unit verifies with systemd-analyze and keeps
 * its sandboxing; the Dockerfile keeps its contract; `deno compile` builds a
 * working single binary when the Deno runtime (denort) is available offline.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { nadirRunArgs } from "../../bench/_record.ts";
import { needPrograms, ROOT, testWhen, type Unmet } from "../_shared.ts";

/** The `--v8-flags=…` argument of deno.json's `nadir` task, which every other launcher must repeat. */
function taskV8Flags(): string {
  const flags = nadirRunArgs().find((a) => a.startsWith("--v8-flags="));
  assert.ok(flags, "deno.json's nadir task has no --v8-flags");
  return flags;
}

Deno.test("the V8 flags the nadir task runs with (heap growth, young generation) are the compiled binary's too", () => {
  const sh = Deno.readTextFileSync(join(ROOT, "deploy", "compile.sh"));
  assert.ok(
    sh.includes(`deno compile --allow-all --unstable-ffi --no-check ${taskV8Flags()} `),
    taskV8Flags(),
  );
});

const unit = () => Deno.readTextFileSync(join(ROOT, "deploy", "nadir.service"));

Deno.test("systemd unit: sandboxing and capability settings", () => {
  const u = unit();
  const has = (line: string) => assert.ok(new RegExp(`^${line}$`, "m").test(u), `missing ${line}`);
  has("AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN");
  has("CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN");
  has("NoNewPrivileges=yes");
  has("ProtectSystem=strict");
  has("ProtectHome=yes");
  has("DynamicUser=yes");
  has("StateDirectory=nadir");
  has("KillSignal=SIGTERM");
  has("ExecStart=/usr/local/bin/nadir monitor --config /etc/nadir/nadir.json");
  assert.doesNotMatch(u, /^User=root$/m);
});

testWhen([needPrograms("systemd-analyze")], "systemd unit: systemd-analyze verify accepts it", () => {
  const dir = Deno.makeTempDirSync();
  const bin = join(dir, "nadir");
  Deno.writeTextFileSync(bin, "#!/bin/sh\nexit 0\n");
  Deno.chmodSync(bin, 0o755);
  const path = join(dir, "nadir.service");
  Deno.writeTextFileSync(path, unit().replaceAll("/usr/local/bin/nadir", bin));
  const r = new Deno.Command("systemd-analyze", { args: ["verify", path], stdout: "piped", stderr: "piped" })
    .outputSync();
  const out = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
  // Lines about other units on this machine are not ours; only nadir.service problems count.
  const ours = out.split("\n").filter((l) => l.includes("nadir.service") && !/Documentation/.test(l));
  assert.deepEqual(ours, [], out);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("Dockerfile: non-root, capabilities on the runtime, libpcap, monitor entry point", () => {
  const d = Deno.readTextFileSync(join(ROOT, "deploy", "Dockerfile"));
  assert.match(d, /^FROM denoland\/deno:debian-2\.9\.\d+$/m);
  assert.match(d, /libpcap0\.8/);
  assert.match(d, /setcap cap_net_raw,cap_net_admin\+eip/);
  assert.match(d, /^USER deno$/m);
  assert.match(
    d,
    new RegExp(
      `^ENTRYPOINT \\["deno", "run", "--allow-all", "--unstable-ffi", "${
        taskV8Flags().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      }", "/opt/nadir/src/cli\\.ts"\\]$`,
      "m",
    ),
  );
  for (const m of d.matchAll(/^COPY (\S+)/gm)) {
    if (m[1].startsWith("--")) continue;
    for (const p of d.split("\n").find((l) => l.startsWith(`COPY ${m[1]}`))!.split(/\s+/).slice(1, -1)) {
      Deno.statSync(join(ROOT, p)); // every copied path exists
    }
  }
});

function denortAvailable(): string | undefined {
  const env = Deno.env.get("DENORT_BIN");
  if (env) {
    try {
      if (Deno.statSync(env).isFile) return env;
    } catch { /* not there */ }
  }
  const home = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");
  const v = Deno.version.deno;
  for (const p of [join(home, "dl", "release", `v${v}`), join(home, "dl")]) {
    try {
      for (const e of Deno.readDirSync(p)) if (e.name.startsWith("denort")) return join(p, e.name);
    } catch { /* absent */ }
  }
  return undefined;
}

/** `deno compile` embeds denort, which only dl.deno.land serves (no npm or Debian package carries it). */
function needDenort(): Unmet | undefined {
  if (denortAvailable()) return undefined;
  return {
    kind: "unavailable",
    why: "deno compile needs the Deno runtime (denort) from dl.deno.land, unreachable here (set DENORT_BIN)",
  };
}

testWhen([needDenort()], {
  name: "deno compile: single binary runs --version and serves /health",
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync();
    const out = join(dir, "nadir");
    const c = new Deno.Command("bash", {
      args: [join(ROOT, "deploy", "compile.sh"), out],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.ok(c.success, new TextDecoder().decode(c.stderr));
    const v = new Deno.Command(out, { args: ["--version"], stdout: "piped" }).outputSync();
    assert.match(new TextDecoder().decode(v.stdout), /^nadir \d+\.\d+\.\d+/);
    const srv = new Deno.Command(out, { args: ["serve", "--port", "0"], stderr: "piped" }).spawn();
    const reader = srv.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/http:\/\/[^ ]+:\d+\//.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const url = /(http:\/\/[^ ]+:\d+)\//.exec(text)![1];
    const h = await fetch(url + "/health");
    assert.equal((await h.json()).status, "ok");
    const dash = await fetch(url + "/static/plot.js");
    assert.equal(dash.status, 200, "dashboard bundles embedded");
    await dash.body?.cancel();
    srv.kill("SIGTERM");
    await reader.cancel();
    await srv.status;
    Deno.removeSync(dir, { recursive: true });
  },
});
