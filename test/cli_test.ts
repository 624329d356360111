import assert from "node:assert/strict";
import { main } from "../src/cli.ts";
import { COMMANDS } from "../src/cli/registry.ts";
import { helpText } from "../src/cli/command.ts";
import { nadir } from "./_shared.ts";

function quiet<T>(f: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = "", err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  return f().then((value) => ({ value, out, err })).finally(() => {
    console.log = log;
    console.error = error;
  });
}

Deno.test("cli: --help lists every command", async () => {
  const r = await quiet(() => main(["--help"]));
  assert.equal(r.value, 0);
  for (const c of COMMANDS) assert.match(r.out, new RegExp(`^  ${c.name} `, "m"));
});

Deno.test("cli: unknown command is a usage error (exit 2, one line)", async () => {
  const r = await quiet(() => main(["frobnicate"]));
  assert.equal(r.value, 2);
  assert.equal(r.err.trim().split("\n").length, 1);
  assert.match(r.err, /unknown command "frobnicate"/);
});

Deno.test("cli: every command has --help", async () => {
  for (const lazy of COMMANDS) {
    const cmd = await lazy.load();
    assert.equal(cmd.name, lazy.name);
    const r = await quiet(() => main([lazy.name, "--help"]));
    assert.equal(r.value, 0, `${lazy.name} --help`);
    assert.match(r.out, /^Usage: deno task nadir /);
    for (const sub of cmd.subcommands ?? []) {
      const rs = await quiet(() => main([lazy.name, sub.name, "--help"]));
      assert.equal(rs.value, 0, `${lazy.name} ${sub.name} --help`);
      assert.ok(helpText(sub, [lazy.name, sub.name]).includes(sub.summary));
    }
  }
});

Deno.test("cli: unknown flag is a usage error", async () => {
  const r = await quiet(() => main(["data", "--no-such-flag"]));
  assert.equal(r.value, 2);
  assert.match(r.err, /no-such-flag/);
});

Deno.test("cli: --model FILE and a parameter too large for memory end in one line, exit 1, no stack trace", async () => {
  const notDir = await nadir(
    "predict",
    "--model",
    "README.md",
    "--input",
    "nsl-kdd-test",
    "--out",
    "/dev/null",
  );
  assert.equal(notDir.code, 1, notDir.stderr);
  assert.match(notDir.stderr, /^nadir: README\.md: expected a model directory/);
  const out = await Deno.makeTempDir({ prefix: "nadir-oom-" });
  try {
    const big = await nadir(
      "train",
      "--detector",
      "isolation-forest",
      "--dataset",
      "nsl-kdd-train",
      "--out",
      out,
      "--param",
      "nTrees=1e9",
    );
    assert.equal(big.code, 1, big.stderr);
    assert.match(big.stderr, /^nadir: out of memory .* lower it\n$/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("cli: monitor names a bad value by the option that gave it, a config file's by the file", async () => {
  // Before, `--idle-timeout -5` was reported as a field of a config file called "command line" (exit 1).
  const pcap = "data/pcaps/synscan.pcapng";
  const opt = await quiet(() =>
    main(["monitor", "--pcap", pcap, "--detector", "knn", "--idle-timeout", "-5"])
  );
  assert.equal(opt.value, 2);
  assert.equal(opt.err.trim(), "nadir monitor: --idle-timeout: expected a number ≥ 0.1, found -5");

  const drift = await quiet(() =>
    main(["monitor", "--pcap", pcap, "--detector", "knn", "--drift", "adwin", "--drift-param", "delta=-1"])
  );
  assert.equal(drift.value, 2);
  assert.match(drift.err, /^nadir monitor: --drift-param\b.*delta.*-1/);

  const dir = Deno.makeTempDirSync();
  try {
    const cfg = `${dir}/monitor.json`;
    Deno.writeTextFileSync(cfg, JSON.stringify({ flows: { idle_timeout_s: -1 } }));
    const file = await quiet(() => main(["monitor", "--config", cfg, "--pcap", pcap, "--detector", "knn"]));
    assert.equal(file.value, 1);
    assert.equal(
      file.err.trim(),
      `nadir: ${cfg}: field "flows.idle_timeout_s": expected a number ≥ 0.1, found -1`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
