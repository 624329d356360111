import assert from "node:assert/strict";
import { REPO_ROOT } from "../../src/figures/report.ts";

Deno.test("check:notebooks: every notebook's concatenated code cells type-check", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "check:notebooks"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  assert.ok(r.success, `deno task check:notebooks failed:\n${out}`);
  assert.match(out, /check:notebooks: \d+ notebook\(s\) type-check/);
});
