/**
 * Helpers for the capture tests: run Wireshark's command-line tools, list the
 * vendored captures, make temp dirs.
 *
 * @module
 */
import { join } from "node:path";
import { dataPath, needPrograms, type Unmet } from "../_shared.ts";

/** Vendored real captures (data/pcaps) — always present in a clone. */
export function vendoredPcaps(): string[] {
  const dir = dataPath("pcaps");
  return [...Deno.readDirSync(dir)].filter((e) => /\.pcap(ng)?$/.test(e.name)).map((e) => join(dir, e.name))
    .sort();
}

/** A capture from the vendored NFStream subset (data/nfstream/pcaps); it is in every clone, so absence throws. */
export function nfstreamPcap(name: string): string {
  const p = dataPath("nfstream", "pcaps", name);
  try {
    Deno.statSync(p);
  } catch {
    throw new Error(`data/nfstream/pcaps/${name} is not vendored (see data/SOURCES.md)`);
  }
  return p;
}

/** Runs a command; throws with its stderr when it fails. */
export function run(cmd: string, args: string[]): string {
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${new TextDecoder().decode(r.stderr)}`);
  }
  return new TextDecoder().decode(r.stdout);
}

/** tshark, editcap and mergecap (Debian tshark + wireshark-common), the reference the capture tests compare to. */
export function needWireshark(): Unmet | undefined {
  return needPrograms("tshark", "editcap", "mergecap", "capinfos");
}

/** tshark -T fields rows (one array of raw field strings per frame). */
export function tsharkFields(file: string, fields: string[], extra: string[] = []): string[][] {
  const args = ["-r", file, "-T", "fields", "-E", "separator=\t", ...extra];
  for (const f of fields) args.push("-e", f);
  const out = run("tshark", args);
  return out.split("\n").filter((l) => l.length > 0).map((l) => l.split("\t"));
}

/** µs since the epoch from tshark's frame.time_epoch ("sec.nnnnnnnnn"), truncated like libpcap. */
export function epochToUs(s: string): number {
  const [sec, frac = ""] = s.split(".");
  return Number(sec) * 1e6 + Math.floor(Number((frac + "000000000").slice(0, 9)) / 1000);
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-capture-test-" });
  return { dir, cleanup: () => Deno.removeSync(dir, { recursive: true }) };
}
