/**
 * Test helpers for data that lives outside the repository. Tests that need
 * ../shared/data call {@link sharedData} and skip (with a printed reason) when
 * it is missing, so a fresh clone without it still passes.
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { blasAvailable, blasInfo } from "../src/nn/blas.ts";

/** Repository root. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** True when `path` exists (file, directory or anything else). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

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

/** Path under ../shared/data (or $NADIR_SHARED_DATA); guard its test with {@link needShared}. */
export function sharedPath(...parts: string[]): string {
  return join(sharedDataDir() ?? join(ROOT, "..", "shared", "data"), ...parts);
}

/**
 * Every external program a test or benchmark spawns, with the Debian package
 * that scripts/setup.sh installs it from. Tests name programs only through
 * {@link needPrograms} or {@link hasCommand}, which accept these names alone,
 * and test/setup_test.ts checks both directions: every name here is in
 * set-up's package list, and every program literal spawned under test/ and
 * bench/ is named here. That is how "it passed on my machine" (a program the
 * developer happened to have) is caught before CI on a brand-new machine.
 */
export const PROGRAMS = {
  argus: "argus-server",
  bash: "bash",
  capinfos: "wireshark-common",
  chromium: "chromium",
  editcap: "wireshark-common",
  git: "git",
  ip: "iproute2",
  mergecap: "wireshark-common",
  mkfifo: "coreutils",
  mount: "mount",
  "nats-server": "nats-server",
  ndpiReader: "libndpi-bin",
  nfpcapd: "nfdump",
  nmap: "nmap",
  openssl: "openssl",
  ping: "iputils-ping",
  python3: "python3",
  sh: "dash",
  "systemd-analyze": "systemd",
  tcpdump: "tcpdump",
  tcpreplay: "tcpreplay",
  time: "time",
  tshark: "tshark",
  unshare: "util-linux",
} as const;

/** A program named in {@link PROGRAMS}. */
export type Program = keyof typeof PROGRAMS;

/**
 * Where a program is: /usr/bin and /usr/sbin first (Debian's places, which a
 * non-login PATH may lack), then PATH. Undefined when it is not installed.
 */
export function programPath(cmd: Program): string | undefined {
  for (const dir of ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]) {
    try {
      const p = join(dir, cmd);
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  try {
    const r = new Deno.Command("sh", { args: ["-c", `command -v '${cmd}'`], stdout: "piped", stderr: "null" })
      .outputSync();
    const out = new TextDecoder().decode(r.stdout).trim();
    return r.success && out ? out : undefined;
  } catch {
    return undefined;
  }
}

/** True when `cmd` (a program set-up installs) is installed. */
export function hasCommand(cmd: Program): boolean {
  return programPath(cmd) !== undefined;
}

/**
 * Why a test cannot run here. `kind` says whether a complete environment
 * should have had what is missing: "shared" (../shared/data), "root", "setup"
 * (something scripts/setup.sh installs) — or "unavailable", for what cannot
 * exist on this platform at all (Suricata, Snort, Deno's offline compile
 * runtime), which may be skipped anywhere.
 */
export interface Unmet {
  kind: "shared" | "root" | "setup" | "unavailable";
  why: string;
}

/** Unmet when any of `programs` is missing, naming each with its Debian package. */
export function needPrograms(...programs: Program[]): Unmet | undefined {
  const missing = programs.filter((p) => !hasCommand(p));
  if (!missing.length) return undefined;
  const pkgs = [...new Set(missing.map((p) => PROGRAMS[p]))].join(" ");
  return {
    kind: "setup",
    why: `${missing.join(", ")} not installed (apt install ${pkgs}; scripts/setup.sh does)`,
  };
}

/** Unmet unless running as root (network namespaces, raw capture). */
export function needRoot(what = "network namespaces and raw capture"): Unmet | undefined {
  if (Deno.build.os !== "linux") return { kind: "unavailable", why: `needs Linux (${what})` };
  return Deno.uid() === 0 ? undefined : { kind: "root", why: `needs root (${what})` };
}

/** Unmet when ../shared/data (or one path under it) is absent. */
export function needShared(what: string, ...parts: string[]): Unmet | undefined {
  const dir = sharedDataDir();
  if (!dir) return { kind: "shared", why: `${what} needs ../shared/data (not found)` };
  try {
    Deno.statSync(join(dir, ...parts));
    return undefined;
  } catch {
    return { kind: "shared", why: `${what} needs ../shared/data/${parts.join("/")} (not found)` };
  }
}

/**
 * Unmet unless network namespaces can be made here: root, iproute2 and a
 * kernel that lets us (probed with a throw-away namespace). `programs` are the
 * other tools the test runs inside them.
 */
export function needNetns(...programs: Program[]): Unmet | undefined {
  const basic = needRoot() ?? needPrograms("ip", ...programs);
  if (basic) return basic;
  const probe = `nadir-probe-${Deno.pid % 100000}`;
  const r = new Deno.Command("ip", { args: ["netns", "add", probe], stdout: "null", stderr: "piped" })
    .outputSync();
  if (!r.success) {
    return { kind: "root", why: `ip netns unavailable: ${new TextDecoder().decode(r.stderr).trim()}` };
  }
  new Deno.Command("ip", { args: ["netns", "del", probe], stdout: "null", stderr: "null" }).outputSync();
  return undefined;
}

/**
 * Unmet unless OpenBLAS loads (the native neural engine, src/nn/blas.ts).
 * scripts/setup.sh installs it (libopenblas0-pthread), so on a complete
 * machine a missing library is a set-up defect, not a skip.
 */
export function needBlas(): Unmet | undefined {
  if (blasAvailable()) return undefined;
  return {
    kind: "setup",
    why: `OpenBLAS did not load (${blasInfo().notes.join("; ")}); install libopenblas0-pthread`,
  };
}

/** Path of the stamp scripts/setup.sh writes when every step succeeded. */
export const SETUP_STAMP: string = join(ROOT, ".tools", "setup-complete");

/**
 * True when this machine should run every test: root, ../shared/data present
 * and set-up completed. Then a skip of any kind but "unavailable" is a defect
 * (a missing install, a broken probe) and fails instead of hiding.
 */
export function completeEnvironment(): boolean {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0 || !sharedDataDir()) return false;
  try {
    return Deno.statSync(SETUP_STAMP).isFile;
  } catch {
    return false;
  }
}

/** The first unmet requirement, or undefined when all hold. */
function firstUnmet(needs: readonly (Unmet | undefined)[]): Unmet | undefined {
  return needs.find((n): n is Unmet => n !== undefined);
}

/**
 * Turns unmet requirements into Deno's `ignore` (so the summary's "ignored"
 * count is true) and prints the reason once. In a complete environment an
 * avoidable skip becomes a failure naming what was missing.
 */
function skipOrFail(name: string, needs: readonly (Unmet | undefined)[]): { ignore: boolean; fail?: string } {
  const unmet = firstUnmet(needs);
  if (!unmet) return { ignore: false };
  if (unmet.kind !== "unavailable" && completeEnvironment()) {
    return { ignore: false, fail: `expected to run on this fully set-up machine, but ${unmet.why}` };
  }
  console.warn(`skip: ${name}: ${unmet.why}`);
  return { ignore: true };
}

/**
 * `Deno.test` that runs only when every requirement holds; otherwise it is
 * reported as ignored, with the reason printed — never an early `return`
 * that the summary would count as a pass.
 */
export function testWhen(needs: readonly (Unmet | undefined)[], def: Deno.TestDefinition): void;
export function testWhen(
  needs: readonly (Unmet | undefined)[],
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
): void;
export function testWhen(
  needs: readonly (Unmet | undefined)[],
  defOrName: Deno.TestDefinition | string,
  fn?: (t: Deno.TestContext) => void | Promise<void>,
): void {
  const def = typeof defOrName === "string" ? { name: defOrName, fn: fn! } : defOrName;
  const { ignore, fail } = skipOrFail(def.name, needs);
  if (fail) {
    Deno.test({
      ...def,
      fn: () => {
        throw new Error(fail);
      },
    });
  } else Deno.test({ ...def, ignore: ignore || def.ignore });
}

/** {@link testWhen} for a step inside a test. */
export function stepWhen(
  t: Deno.TestContext,
  needs: readonly (Unmet | undefined)[],
  def: Deno.TestStepDefinition,
): Promise<boolean> {
  const { ignore, fail } = skipOrFail(`${t.name} > ${def.name}`, needs);
  if (fail) {
    return t.step({
      ...def,
      fn: () => {
        throw new Error(fail);
      },
    });
  }
  return t.step({ ...def, ignore: ignore || def.ignore });
}

/** The `deno` arguments that run `nadir ARGS` from this checkout (spawn with `Deno.execPath()`). */
export function nadirArgs(...args: string[]): string[] {
  return ["run", "-A", "--unstable-ffi", join(ROOT, "src", "cli.ts"), ...args];
}

/** Runs the nadir CLI in a subprocess (no progress bars, no colour); returns exit code, stdout and stderr. */
export function nadir(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return nadirIn(undefined, ...args);
}

/** {@link nadir} with `cwd` as the working directory (relative paths in `args` resolve there). */
export async function nadirIn(
  cwd: string | undefined,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: nadirArgs(...args),
    cwd,
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

/** Runs git in `cwd` with a test identity and no signing (throw-away repositories); returns stdout, trimmed. */
export function git(cwd: string, ...args: string[]): string {
  const r = new Deno.Command("git", {
    args: [
      "-c",
      "user.name=nadir test",
      "-c",
      "user.email=test@nadir.invalid",
      "-c",
      "commit.gpgsign=false",
      ...args,
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).trim();
}

/** A TCP port free on 127.0.0.1 right now (for a server a test starts). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = l.addr.port;
  l.close();
  return p;
}

/**
 * A self-signed EC certificate and key for 127.0.0.1 (CN `cn`), valid one day, written to `dir` with
 * openssl (callers declare it with needPrograms("openssl")).
 */
export function selfSignedCert(dir: string, cn = "localhost"): { cert: string; key: string } {
  const cert = join(dir, "cert.pem"), key = join(dir, "key.pem");
  const g = new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!g.success) {
    throw new Error(`openssl could not make a certificate: ${new TextDecoder().decode(g.stderr)}`);
  }
  return { cert, key };
}

/** Starts nats-server with `args` on a free port and waits until it accepts connections. */
export async function startNats(args: string[]): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = freePort();
  const proc = new Deno.Command(programPath("nats-server")!, {
    args: ["-a", "127.0.0.1", "-p", String(port), ...args],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.status;
  };
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { port, stop };
    } catch (e) {
      if (i > 40) {
        await stop();
        throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * The vendored CIC-IDS2017 sample (DDoS_2500, 2,500 rows) as its text lines, with cell `col` of line index
 * `at` (0 = the header) set to `value`: a real file with one bad cell.
 */
export function cicLinesWith(at: number, col: number, value: string): string[] {
  const gz = Deno.readFileSync(dataPath("cic-ids2017", "DDoS_2500.csv.gz"));
  const lines = new TextDecoder().decode(gunzipSync(gz)).split("\n");
  const cells = lines[at].split(",");
  cells[col] = value;
  lines[at] = cells.join(",");
  return lines;
}
