/**
 * Test helpers for data that lives outside the repository. Tests that need
 * ../shared/data call {@link sharedData} and skip (with a printed reason) when
 * it is missing, so a fresh clone without it still passes.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** Path of a vendored file under data/. */
export function dataPath(...parts: string[]): string {
  return join(ROOT, "data", ...parts);
}

/** ../shared/data (or $NADIR_SHARED_DATA) when present, else undefined. */
export function sharedDataDir(): string | undefined {
  const candidates = [Deno.env.get("NADIR_SHARED_DATA"), join(ROOT, "..", "shared", "data")];
  for (const c of candidates) {
    if (!c) continue;
    try {
      if (Deno.statSync(c).isDirectory) return c;
    } catch { /* absent */ }
  }
  return undefined;
}

/** Path under the shared data dir, or undefined (and a printed skip reason) when it is absent. */
export function sharedData(what: string, ...parts: string[]): string | undefined {
  const dir = sharedDataDir();
  if (!dir) {
    console.warn(`skip: ${what} needs ../shared/data (not found)`);
    return undefined;
  }
  return join(dir, ...parts);
}

/** True when `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  try {
    const r = new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null", stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}

/** Runs the nadir CLI in a subprocess (no progress bars, no colour); returns exit code, stdout and stderr. */
export async function nadir(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-ffi", join(ROOT, "src/cli.ts"), ...args],
    env: { NADIR_PROGRESS: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Debian's Chromium, driven by playwright-core in the browser tests. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Flags for headless Chromium here: no sandbox (tests run as root), and no background networking,
 * component updates, sync or QUIC — on this offline machine those connections are refused, many at a time.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** True when {@link CHROMIUM} exists. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}
