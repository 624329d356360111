/**
 * `deno task notebook`: the Jupyter server it starts offers the project's
 * Deno kernel as the default — and as the only one — for new notebooks.
 * Starts the real server (Debian's notebook package) on a free loopback port
 * with the task's own command line, asks its REST API, stops it.
 */
import assert from "node:assert/strict";
import { notebookToolsMissing, REPO_ROOT } from "../../src/figures/report.ts";
import { testWhen, type Unmet } from "../_shared.ts";

const missing = notebookToolsMissing();
const jupyter: Unmet | undefined = missing
  ? { kind: "setup", why: `needs Jupyter and the Deno kernel: ${missing}` }
  : undefined;

/** The `notebook` task's command, split into env assignments and argv. */
function taskCommand(): { env: Record<string, string>; argv: string[] } {
  const cmd = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/deno.json`)).tasks.notebook as string;
  const env: Record<string, string> = {};
  const argv: string[] = [];
  for (const w of cmd.split(/\s+/)) {
    const m = /^([A-Z_]+)=(.*)$/.exec(w);
    if (m && argv.length === 0) env[m[1]] = m[2];
    else argv.push(w);
  }
  return { env, argv };
}

testWhen([jupyter], {
  name: "deno task notebook: new notebooks get the Deno kernel (the default and the only kernel offered)",
  sanitizeResources: false,
  async fn() {
    const { env, argv } = taskCommand();
    const port = 20000 + (Deno.pid % 20000);
    const dir = await Deno.makeTempDir({ prefix: "nadir-nbserver-" });
    const child = new Deno.Command(argv[0], {
      args: [
        ...argv.slice(1, -1),
        "--no-browser",
        `--port=${port}`,
        "--ip=127.0.0.1",
        "--NotebookApp.token=",
        // The server refuses root without this (CI runs as root; a researcher's desktop does not).
        ...(Deno.uid() === 0 ? ["--allow-root"] : []),
        dir,
      ],
      cwd: REPO_ROOT,
      env: { ...env, JUPYTER_RUNTIME_DIR: dir, HOME: dir },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      let specs: { default: string; kernelspecs: Record<string, unknown> } | undefined;
      for (let i = 0; i < 100 && !specs; i++) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/api/kernelspecs`);
          specs = await r.json();
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.ok(specs, "the notebook server answered within 20 s");
      assert.equal(specs.default, "deno");
      assert.deepEqual(Object.keys(specs.kernelspecs), ["deno"]);
    } finally {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited: its status below */ }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
