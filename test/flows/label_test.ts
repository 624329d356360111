import assert from "node:assert/strict";
import { dataPath } from "../_shared.ts";
import { compileRules, labelFlow, loadRules, parseIp } from "../../src/flows/label.ts";
import { InputError } from "../../src/util/errors.ts";
import { main } from "../../src/cli.ts";
import { command } from "../../src/cli/label.ts";

const flow = {
  srcIp: "192.168.56.1",
  srcPort: 54017,
  dstIp: "192.168.56.101",
  dstPort: 21,
  protocol: 6,
  startUs: 1_389_721_044_820_046,
  endUs: 1_389_721_047_193_055,
};

Deno.test("label: CIDR, ports on the victim side, protocol, windows, either direction, first rule wins", async () => {
  const rules = await loadRules(dataPath("labels", "zeek-ftp-bruteforce.json"));
  assert.deepEqual(labelFlow(rules, flow), {
    label: "attack",
    attack: "FTP-Patator",
    category: "Brute Force",
    rule: 0,
  });
  const rev = { ...flow, srcIp: flow.dstIp, srcPort: 21, dstIp: flow.srcIp, dstPort: 54017 };
  assert.equal(labelFlow(rules, rev).attack, "FTP-Patator", "direction-insensitive");
  assert.equal(labelFlow(rules, { ...flow, dstPort: 22 }).label, "benign", "victim port must match");
  assert.equal(labelFlow(rules, { ...flow, protocol: 17 }).label, "benign");
  assert.equal(labelFlow(rules, { ...flow, startUs: 0, endUs: 1 }).label, "benign", "outside the window");
  const two = compileRules({
    default: "unknown",
    rules: [
      { attack: "A", victim: ["192.168.56.0/24"], protocol: "udp" },
      { attack: "B", attacker: ["192.168.0.0/16"] },
      { attack: "C", attacker: ["192.168.56.1"] },
    ],
  }, "inline");
  assert.equal(labelFlow(two, flow).attack, "B");
  assert.equal(labelFlow(two, { ...flow, srcIp: "10.0.0.1", dstIp: "10.0.0.2" }).label, "unknown");
  const v6 = compileRules({ rules: [{ attack: "X", attacker: ["2001:db8::/32"] }] }, "inline");
  assert.equal(labelFlow(v6, { ...flow, srcIp: "2001:db8:0:1::5", dstIp: "2001:470::1" }).attack, "X");
  assert.equal(labelFlow(v6, { ...flow, srcIp: "2001:db9::5", dstIp: "2001:470::1" }).attack, "");
  assert.deepEqual([...parseIp("::ffff:10.0.0.1")!.bytes.slice(12)], [10, 0, 0, 1]);
});

Deno.test("label: bad rules name the problem", () => {
  assert.throws(
    () => compileRules({ rules: [{ attack: "A", attacker: ["300.1.1.1"] }] }, "r.json"),
    InputError,
  );
  assert.throws(
    () =>
      compileRules({
        rules: [{ attack: "A", windows: [{ start: "2020-01-01 00:00", end: "2020-01-02 00:00" }] }],
      }, "r.json"),
    /no UTC offset/,
  );
  assert.throws(
    () => compileRules({ rules: [{ attack: "A", protocol: "tcpx" }] }, "r.json"),
    /unknown protocol/,
  );
});

Deno.test("label: a misspelt key or a value of the wrong type in a rule is an error naming the rule", () => {
  const bad: [unknown, RegExp][] = [
    // "victims" was ignored: the rule matched every victim.
    [
      { rules: [{ attack: "A", victims: ["10.0.0.1"] }] },
      /\(rule 1\): the rule has an unknown key "victims"/,
    ],
    [{ rules: [], utc_ofset: "-03:00" }, /the rules file has an unknown key "utc_ofset"/],
    [
      { rules: [{ attack: "A", attacker: "10.0.0.1" }] },
      /"attacker" must be a list of addresses .* found "10\.0\.0\.1"/,
    ],
    [{ rules: [{ attack: "A", victim: [5] }] }, /"victim" must be a list of addresses .* found \[5\]/],
    [{ rules: [{ attack: "A", windows: { start: "x", end: "y" } }] }, /"windows" must be a list of/],
    [{ rules: [{ attack: "A", windows: [{ end: "2020-01-01T00:00Z" }] }] }, /"windows" must be a list of/],
    [{ rules: [{ attack: "A", protocol: 6.5 }] }, /unknown protocol "6\.5"/],
    [{ rules: [{ attack: "A", category: 3 }] }, /"category" must be a string, found 3/],
    [{ rules: ["A"] }, /\(rule 1\): expected a rule object, found "A"/],
    [{ rules: [], utc_offset: "3h" }, /"utc_offset" must be like "-03:00"/],
  ];
  for (const [spec, want] of bad) {
    assert.throws(() => compileRules(spec as never, "r.json"), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.match(e.message, /^r\.json/);
      assert.match(e.message, want);
      return true;
    });
  }
});

Deno.test("label: a flow row with a bad address, port or a missing field is an error naming its line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const flows = `${dir}/ftp.csv`, rules = dataPath("labels", "zeek-ftp-bruteforce.json");
    assert.equal(await main(["flows", dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), "--out", flows]), 0);
    const lines = (await Deno.readTextFile(flows)).trimEnd().split("\n");
    const col = (name: string) => lines[0].split(",").indexOf(name);
    const edited = async (name: string, edit: (f: string[]) => string[]) => {
      const copy = [...lines];
      copy[6] = edit(copy[6].split(",")).join(",");
      await Deno.writeTextFile(`${dir}/${name}`, copy.join("\n") + "\n");
      return `${dir}/${name}`;
    };
    const errors: string[] = [];
    const run = async (file: string) => {
      try {
        await command.run!({ options: { rules, out: `${dir}/o.csv` }, positionals: [file] });
      } catch (e) {
        assert.ok(e instanceof InputError, String(e));
        errors.push((e as Error).message);
        return;
      }
      errors.push("(no error)");
    };
    // Before, each of these was labelled (benign: no rule matched it) and the run exited 0.
    await run(await edited("ip.csv", (f) => f.map((v, i) => (i === col("src_ip") ? "999.1.1.1" : v))));
    await run(await edited("port.csv", (f) => f.map((v, i) => (i === col("dst_port") ? "abc" : v))));
    await run(await edited("short.csv", (f) => f.slice(0, -1)));
    await run(await edited("nocol.csv", (f) => f));
    assert.match(errors[0], /ip\.csv:7: expected an IPv4 or IPv6 source address, found "999\.1\.1\.1"/);
    assert.match(
      errors[1],
      /port\.csv:7: expected a destination port 0–65535, found text that is not a number/,
    );
    assert.match(errors[2], /short\.csv:7: expected \d+ fields \(as the header\), found \d+/);
    assert.equal(errors[3], "(no error)", "the untouched table labels");
    const noSrc = lines.map((l) => l.split(",").filter((_, i) => i !== col("src_ip")).join(","));
    await Deno.writeTextFile(`${dir}/nosrc.csv`, noSrc.join("\n") + "\n");
    await run(`${dir}/nosrc.csv`);
    assert.match(errors[4], /nosrc\.csv: a basic flow table needs column\(s\) "src_ip", not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label: nadir flows | nadir label on the FTP brute force (worked example of docs/labelling.md)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const flows = `${dir}/ftp.csv`, out = `${dir}/ftp-labelled.csv`;
    assert.equal(await main(["flows", dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), "--out", flows]), 0);
    assert.equal(
      await main(["label", flows, "--rules", dataPath("labels", "zeek-ftp-bruteforce.json"), "--out", out]),
      0,
    );
    const lines = (await Deno.readTextFile(out)).trim().split("\n");
    const head = lines[0].split(",");
    const li = head.indexOf("label"), ai = head.indexOf("attack");
    assert.ok(li > 0 && ai > 0);
    assert.equal(lines.length - 1, 30);
    assert.ok(
      lines.slice(1).every((l) => l.split(",")[li] === "attack" && l.split(",")[ai] === "FTP-Patator"),
    );
    assert.equal(await main(["label", flows]), 2, "no --rules is a usage error");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label: reads Arrow flow tables and writes Parquet", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ar = `${dir}/scan.arrow`, pq = `${dir}/scan-labelled.parquet`;
    assert.equal(
      await main(["flows", dataPath("pcaps", "synscan.pcapng"), "--features", "cic", "--out", ar]),
      0,
    );
    assert.equal(await main(["label", ar, "--rules", dataPath("labels", "synscan.json"), "--out", pq]), 0);
    const pl = (await import("nodejs-polars")).default;
    const { Buffer } = await import("node:buffer");
    const df = pl.readParquet(Buffer.from(await Deno.readFile(pq)));
    assert.equal(df.height, 1994);
    assert.equal(df.getColumn("attack").toArray().filter((a) => a === "PortScan").length, 1994);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
