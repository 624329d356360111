/**
 * `nadir capture info` and `nadir capture list` as a user runs them (subprocess, exit codes, messages).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_shared.ts";
import { tempDir, vendoredPcaps } from "./_util.ts";

function nadir(...args: string[]): { code: number; out: string; err: string } {
  const r = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-ffi", join(ROOT, "src/cli.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NADIR_PROGRESS: "0", NO_COLOR: "1" },
  }).outputSync();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

Deno.test("cli: capture info counts packets, warns on a truncated file, --strict exits 1 naming the byte offset", () => {
  const f = vendoredPcaps().find((x) => x.endsWith("zeek-smtp.pcap"))!;
  const ok = nadir("capture", "info", f, "--json");
  assert.equal(ok.code, 0, ok.err);
  const info = JSON.parse(ok.out);
  assert.equal(info.packets, 125);
  assert.equal(info.format, "pcap");
  assert.equal(info.ipv4 + info.ipv6 + info.nonIp, 125);
  const { dir, cleanup } = tempDir();
  try {
    const cut = join(dir, "cut.pcap");
    const b = Deno.readFileSync(f);
    Deno.writeFileSync(cut, b.subarray(0, b.length - 10));
    const warn = nadir("capture", "info", cut);
    assert.equal(warn.code, 0);
    assert.match(warn.out, /124 packets/);
    assert.match(warn.err, /warning: .*cut\.pcap: file truncated inside a record/);
    const strict = nadir("capture", "info", cut, "--strict");
    assert.equal(strict.code, 1);
    assert.match(strict.err, /^nadir: .*cut\.pcap, byte offset \d+: file ends inside a packet/m);
    assert.doesNotMatch(strict.err, /at .*\.ts:\d+/); // no stack trace for a user's bad file
    const missing = nadir("capture", "record", "--out", join(dir, "x.pcapng"));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /missing --interface/);
  } finally {
    cleanup();
  }
});

Deno.test("cli: capture list --json lists the loopback interface", () => {
  const r = nadir("capture", "list", "--json");
  assert.equal(r.code, 0, r.err);
  const ifs = JSON.parse(r.out) as { name: string; loopback: boolean; addresses: string[] }[];
  const lo = ifs.find((i) => i.name === "lo");
  assert.ok(lo && lo.loopback, "lo is listed as loopback");
  assert.ok(lo.addresses.includes("127.0.0.1"));
});
