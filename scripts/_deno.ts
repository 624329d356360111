/**
 * Runs this Deno (the same binary and version as the caller) on arguments,
 * with colours off so output can be parsed: the scripts' one way to call
 * `deno doc` and `deno check`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runDeno } from "./_deno.ts";
 * const r = await runDeno(["--version"], ".");
 * assert.ok(r.ok && r.stdout.startsWith("deno "));
 * ```
 * @module
 */

/** Output of a finished `deno` run. */
export interface DenoRun {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `deno <args>` in `cwd` and waits for it. */
export async function runDeno(args: string[], cwd: string): Promise<DenoRun> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { ok: r.success, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}
