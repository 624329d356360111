/**
 * Temporary folders that outlive one test: a helper's cached model, a file several tests read. Each is
 * removed when the test module's isolate unloads (`deno test` runs one per module), so a run leaves nothing
 * in the temp folder. A folder one test makes and drops belongs in that test's `try … finally` instead.
 *
 * @module
 */

const made: string[] = [];

globalThis.addEventListener("unload", () => {
  for (const d of made) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch {
      // Already gone (a test removed it).
    }
  }
});

/** A new temporary folder, removed when this test module ends. */
export function scratchDir(prefix: string): string {
  const d = Deno.makeTempDirSync({ prefix });
  made.push(d);
  return d;
}

/** A new temporary file, removed when this test module ends. */
export function scratchFile(opts: Deno.MakeTempOptions = {}): string {
  const f = Deno.makeTempFileSync(opts);
  made.push(f);
  return f;
}
