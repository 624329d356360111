/**
 * Regression tests for issue 19 (an attack-minded review of the alert
 * parsers): large inputs must not overflow the stack, invalid ports,
 * addresses and timestamps must be reported (file:line, field, expected,
 * found), and an alerts file without a single alert must not silently label
 * every flow benign.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli.ts";
import { parseEve, parseSnortFast, parseSnortJson, readAlerts } from "../../src/ids/mod.ts";
import { evaluateIds } from "../../src/eval/ids_baseline.ts";
import { loadDataset } from "../../src/data/datasets.ts";
import { InputError } from "../../src/util/errors.ts";
import { dataPath } from "../_shared.ts";

/** Runs the CLI in-process, capturing stdout and stderr. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const log = console.log, error = console.error, warn = console.warn;
  let out = "", err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = console.warn = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { code: await main(args), out, err };
  } finally {
    console.log = log;
    console.error = error;
    console.warn = warn;
  }
}

const TUESDAY_START = dataPath("alerts", "snort3-cicids2017", "Tuesday_start.json");
const BIG = 200_000;

/**
 * `n` Snort 3 alert_json lines made by replicating the 55 real alerts of the
 * vendored Tuesday_start.json slice, replica k shifted by k seconds. No real
 * file in the project has 200 k alerts (Monday's full day has 15,839).
 * Returns the text and the first/last alert times (UTC ms, year 2017).
 */
function replicateSnort(n: number): { text: string; first: number; last: number } {
  const real = Deno.readTextFileSync(TUESDAY_START).split("\n").filter((l) => l.trim());
  const lines: string[] = [];
  let first = Infinity, last = -Infinity;
  for (let k = 0; lines.length < n; k++) {
    for (const l of real) {
      if (lines.length >= n) break;
      const o = JSON.parse(l);
      const m = /^(\d\d)\/(\d\d)-(\d\d):(\d\d):(\d\d)\.(\d{6})$/.exec(o.timestamp)!;
      const d = new Date(
        Date.UTC(2017, Number(m[1]) - 1, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])),
      );
      d.setUTCSeconds(d.getUTCSeconds() + k);
      const p = (v: number) => String(v).padStart(2, "0");
      o.timestamp = `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}-${p(d.getUTCHours())}:${
        p(d.getUTCMinutes())
      }:${p(d.getUTCSeconds())}.${m[6]}`;
      const ts = d.getTime() + Number(m[6]) / 1000;
      first = Math.min(first, ts);
      last = Math.max(last, ts);
      lines.push(JSON.stringify(o));
    }
  }
  return { text: lines.join("\n") + "\n", first, last };
}

// ── 1. large inputs ──────────────────────────────────────────────────────────

Deno.test("ids parse: 200 k alerts (real Snort 3 alerts replicated) summarise without a stack overflow", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-big-alerts-" });
  try {
    const big = replicateSnort(BIG);
    const file = join(dir, "big.json");
    await Deno.writeTextFile(file, big.text);
    // Before the fix: RangeError: Maximum call stack size exceeded (Math.min(...ts) over every alert time).
    const r = await cli(["ids", "parse", file, "--year", "2017"]);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    assert.equal(s.alerts, BIG);
    assert.equal(s.skipped, 0);
    assert.equal(s.first, new Date(big.first).toISOString());
    assert.equal(s.last, new Date(big.last).toISOString());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ids eval: 200 k alerts (real Snort 3 alerts replicated) matched to the CIC-IDS2017 sample", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-big-alerts-" });
  try {
    const file = join(dir, "Tuesday_big.json");
    await Deno.writeTextFile(file, replicateSnort(BIG).text);
    const df = loadDataset("cic-ids2017", { warn: () => {} }).df;
    // Before the fix: RangeError from alerts.push(...r.alerts) with one file of 200 k alerts.
    const r = await evaluateIds(df, { files: [file], engine: "snort3", year: 2017 });
    assert.equal(r.alerts.total, BIG);
    assert.equal(r.alerts.perFile["Tuesday_big.json"], BIG);
    assert.equal(r.coverage.flowsTotal, df.height);
    assert.equal(r.flags.flagged.length, df.height);
    // The same alerts once: the flows a 200 k replica flags include those the 55 originals flag.
    const once = await evaluateIds(df, { files: [TUESDAY_START], engine: "snort3", year: 2017 });
    for (let i = 0; i < df.height; i++) {
      if (once.flags.flagged[i]) assert.equal(r.flags.flagged[i], 1, `flow ${i}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ── 2. validation of ports, addresses and timestamps ─────────────────────────

/** The first real alert of Tuesday_start.json with some fields changed (hand-made invalid values). */
function mutateReal(change: Record<string, unknown>, drop: string[] = []): string {
  const o = JSON.parse(Deno.readTextFileSync(TUESDAY_START).split("\n")[0]);
  for (const d of drop) delete o[d];
  return JSON.stringify({ ...o, ...change });
}

Deno.test("snort alert_json: invalid ports, addresses and timestamps are skipped naming line, field, expected and found", () => {
  const real = Deno.readTextFileSync(TUESDAY_START).split("\n")[1];
  const text = [
    real,
    mutateReal({ src_ap: "999.1.1.1:80" }),
    mutateReal({ src_addr: "23.15.4.19", src_port: 99999999 }, ["src_ap"]),
    mutateReal({ dst_ap: "192.168.10.5:65536" }),
    mutateReal({ dst_ap: "2001:db8:::1:443" }),
    mutateReal({ timestamp: "02/30-11:55:09.604773" }),
    mutateReal({ timestamp: "07/04-24:00:00.000000" }),
    mutateReal({ src_addr: "23.15.4.19", src_port: -1 }, ["src_ap"]),
    mutateReal({ src_ap: "[2001:db8::1]:443", dst_ap: "2001:db8::2:80" }), // valid IPv6
    mutateReal({ src_ap: "192.168.10.5:0", dst_ap: "10.0.0.1:65535" }), // valid edge ports
  ].join("\n");
  const r = parseSnortJson(text, { year: 2017, file: "t.json" });
  assert.equal(r.total, 10);
  assert.deepEqual(r.items.map((a) => a.line), [1, 9, 10]);
  assert.deepEqual(r.items[1].src, "2001:db8::1");
  assert.deepEqual([r.items[1].dst, r.items[1].dstPort], ["2001:db8::2", 80]);
  assert.deepEqual(r.skipped.map((s) => [s.line, s.field]), [
    [2, "src_ap"],
    [3, "src_port"],
    [4, "dst_ap"],
    [5, "dst_ap"],
    [6, "timestamp"],
    [7, "timestamp"],
    [8, "src_port"],
  ]);
  for (const s of r.skipped) assert.match(s.reason, /expected .+, found /, JSON.stringify(s));
  assert.match(r.skipped[0].reason, /IPv4 or IPv6 address.*found "999\.1\.1\.1"/);
  assert.match(r.skipped[1].reason, /port 0–65535.*found 99999999/);
  assert.match(r.skipped[4].reason, /day 1–28.*found "02\/30/);
  assert.throws(() => parseSnortJson(text, { year: 2017, strict: true, file: "t.json" }), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(
      e.message,
      /^t\.json:2, column "src_ap": expected an IPv4 or IPv6 address, found "999\.1\.1\.1"/,
    );
    return true;
  });
});

Deno.test("snort alert_fast: an invalid address or port is skipped with its field", () => {
  // Lines of the hand-written fixture (test/ids/fixtures/alert_fast.txt) with bad values put in by hand.
  const fixture = Deno.readTextFileSync(new URL("./fixtures/alert_fast.txt", import.meta.url)).split("\n");
  const good = fixture.find((l) => l.includes("{TCP}"))!;
  const m = / (\S+) -> (\S+)\s*$/.exec(good)!;
  const text = [
    good,
    good.replace(` ${m[1]} -> `, " 999.1.1.1:80 -> "),
    good.replace(` -> ${m[2]}`, " -> 10.0.0.1:99999999"),
  ].join("\n");
  const r = parseSnortFast(text, { year: 2017 });
  assert.equal(r.items.length, 1);
  assert.deepEqual(r.skipped.map((s) => [s.line, s.field]), [[2, "src"], [3, "dst"]]);
  assert.match(r.skipped[1].reason, /expected .*port.*, found "10\.0\.0\.1:99999999"/);
});

Deno.test("suricata eve: invalid ports, addresses and timestamps are skipped naming the field", () => {
  // The first real alert of the vendored honeypot sample, with hand-made invalid values.
  const [real] = JSON.parse(
    Deno.readTextFileSync(dataPath("alerts", "suricata", "honeypot-2018-alerts-only.json")),
  );
  const ev = (change: Record<string, unknown>) => JSON.stringify({ ...real, ...change });
  const text = [
    ev({}),
    ev({ src_port: 99999999 }),
    ev({ dest_ip: "999.1.1.1" }),
    ev({ dest_port: 1.5 }),
    ev({ timestamp: "2019-13-02T03:50:11.315110" }),
    ev({ timestamp: "2019-01-02T03:50:11.315110+2500" }),
    ev({ src_ip: "fe80::1", dest_ip: "2001:db8::42" }), // valid IPv6
  ].join("\n");
  const r = parseEve(text, { file: "e.json" });
  assert.deepEqual(r.alerts.items.map((a) => a.line), [1, 7]);
  assert.deepEqual(r.skipped.map((s) => [s.line, s.field]), [
    [2, "src_port"],
    [3, "dest_ip"],
    [4, "dest_port"],
    [5, "timestamp"],
    [6, "timestamp"],
  ]);
  assert.match(r.skipped[0].reason, /expected a port 0–65535, found 99999999/);
  assert.throws(() => parseEve(text, { strict: true, file: "e.json" }), /e\.json:2, column "src_port"/);
});

Deno.test("ids parse: invalid lines are reported with file:line and counted as skipped; --strict fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-bad-alerts-" });
  try {
    const real = Deno.readTextFileSync(TUESDAY_START).split("\n");
    const file = join(dir, "bad.json");
    await Deno.writeTextFile(
      file,
      [real[1], mutateReal({ src_ap: "999.1.1.1:80" }), mutateReal({ dst_ap: "5.6.7.8:99999999" }), real[2]]
        .join(
          "\n",
        ),
    );
    const r = await cli(["ids", "parse", file, "--year", "2017"]);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    assert.equal(s.alerts, 2);
    assert.equal(s.skipped, 2);
    assert.deepEqual(s.first_skipped.map((k: { line: number; field: string }) => [k.line, k.field]), [
      [2, "src_ap"],
      [3, "dst_ap"],
    ]);
    assert.ok(
      r.err.includes(`${file}:2, column "src_ap": expected an IPv4 or IPv6 address, found "999.1.1.1"`),
      r.err,
    );
    const strict = await cli(["ids", "parse", file, "--year", "2017", "--strict"]);
    assert.equal(strict.code, 1);
    assert.match(
      strict.err,
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:2, column "src_ap"`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ── 3. alert files without alerts ────────────────────────────────────────────

Deno.test("readAlerts: a file with no alerts is an error naming the file and what it holds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-empty-alerts-" });
  try {
    const empty = join(dir, "empty.json");
    await Deno.writeTextFile(empty, "");
    await assert.rejects(() => readAlerts(empty), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.ok(
        e.message.startsWith(
          `no alerts in ${empty}: expected Snort alert_json/alert_fast or Suricata eve.json lines, found an empty file;`,
        ),
        e.message,
      );
      return true;
    });
    const blank = join(dir, "blank.json");
    await Deno.writeTextFile(blank, "\n  \n\n");
    await assert.rejects(() => readAlerts(blank), /found only blank lines/);
    // The real Stratosphere eve.json slice without its alert events: a valid EVE file with no alert.
    const eve = Deno.readTextFileSync(dataPath("alerts", "suricata", "stratosphere-test6-eve-head300.json"))
      .split("\n").filter((l) => l.trim() && !l.includes('"event_type":"alert"'));
    const noAlerts = join(dir, "flows-only.json");
    await Deno.writeTextFile(noAlerts, eve.join("\n") + "\n");
    await assert.rejects(
      () => readAlerts(noAlerts),
      /found 143 events, none of type "alert" \(dns 134, flow 8, tls 1\)/,
    );
    const garbage = join(dir, "garbage.json");
    await Deno.writeTextFile(garbage, '{"timestamp":"yesterday"}\n{"timestamp":"today"}\n');
    await assert.rejects(() => readAlerts(garbage), /found 2 lines, none a valid alert \(line 1: /);
    // An explicit opt-in keeps the old behaviour.
    assert.equal((await readAlerts(empty, { allowEmpty: true })).alerts.length, 0);
    assert.equal((await readAlerts(noAlerts, { allowEmpty: true })).alerts.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nadir label --alerts EMPTY exits 1 naming the file; --allow-empty-alerts labels all benign", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-empty-alerts-" });
  try {
    // First 50 real FTP-Patator flows of the vendored CIC-IDS2017 sample.
    const gz = await Deno.readFile(dataPath("cic-ids2017", "FTP-Patator_2500.csv.gz"));
    const csv = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")))
      .text();
    const flows = join(dir, "ftp.csv");
    await Deno.writeTextFile(flows, csv.split("\n").slice(0, 51).join("\n") + "\n");
    const empty = join(dir, "empty.json");
    await Deno.writeTextFile(empty, "");
    const r = await cli(["label", flows, "--alerts", empty, "--out", join(dir, "out.csv")]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      new RegExp(`no alerts in ${empty.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: expected`),
    );
    const ok = await cli([
      "label",
      flows,
      "--alerts",
      empty,
      "--allow-empty-alerts",
      "--out",
      join(dir, "out.csv"),
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(JSON.parse(ok.out).labels, { attack: 0, benign: 50 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nadir ids eval with a directory of empty alert files exits 1 before writing a result", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-empty-alerts-" });
  try {
    const alerts = join(dir, "alerts");
    await Deno.mkdir(alerts);
    await Deno.writeTextFile(join(alerts, "Tuesday_start.json"), "");
    const out = join(dir, "results");
    const r = await cli(["ids", "eval", "--alerts", alerts, "--out", out]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no alerts in .*Tuesday_start\.json: expected Snort alert_json/);
    assert.equal(
      [...Deno.readDirSync(dir)].map((e) => e.name).includes("results"),
      false,
      "no result folder",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
