/**
 * Flow tables read without a known schema (nadir's own flow CSVs, user files):
 * a short row, text in a numeric column, "Infinity" and a line without end are
 * named by file, line and column — never scored silently. Built from a real
 * capture's flows (data/pcaps/http_espn.pcapng), then damaged on purpose.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkCsvShape } from "../../src/data/csv.ts";
import { numericColumn } from "../../src/data/frame.ts";
import { readGenericTable } from "../../src/data/table.ts";
import { InputError } from "../../src/util/errors.ts";
import { dataPath, exists, nadir } from "../_shared.ts";

const dir = Deno.makeTempDirSync({ prefix: "nadir-generic-" });
const flows = join(dir, "flows.csv");
const model = join(dir, "model");

async function realFlows(): Promise<string[]> {
  if (!exists(flows)) {
    const r = await nadir("flows", dataPath("pcaps", "http_espn.pcapng"), "--out", flows);
    assert.equal(r.code, 0, r.stderr);
  }
  return (await Deno.readTextFile(flows)).trimEnd().split("\n");
}

/** The flows file with line `line` (1-based) replaced by `edit(fields)`. */
async function damaged(name: string, line: number, edit: (f: string[]) => string[]): Promise<string> {
  const lines = await realFlows();
  lines[line - 1] = edit(lines[line - 1].split(",")).join(",");
  const p = join(dir, name);
  await Deno.writeTextFile(p, lines.join("\n") + "\n");
  return p;
}

const column = (lines: string[], name: string) => lines[0].split(",").indexOf(name);

Deno.test("generic table: a short row is an error naming its line (polars alone fills it with nulls)", async () => {
  const p = await damaged("short.csv", 31, (f) => f.slice(0, 20));
  assert.throws(() => readGenericTable(p), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /short\.csv:31: expected \d+ fields \(as the header\), found 20/);
    return true;
  });
});

Deno.test("generic table: a line without end stops at the line limit, not after reading it as text", async () => {
  const p = join(dir, "long.csv");
  await Deno.writeTextFile(p, "a,b\n1," + "9".repeat(3 << 20));
  assert.throws(() => readGenericTable(p), /long\.csv:2: line longer than 1048576 bytes/);
  assert.equal(checkCsvShape(new TextEncoder().encode('a,b\n1,"x\ny"\n'), "q.csv"), 1, "quoted newline");
});

Deno.test("generic table: text in a numeric column names row and column; Infinity reads as a number", async () => {
  const lines = await realFlows();
  const c = column(lines, "bidirectional_packets");
  const txt = await damaged("text.csv", 31, (f) => f.map((v, i) => (i === c ? "abc" : v)));
  // Named as the file is read, with the file: later steps may drop rows and their numbers with them.
  assert.throws(() => readGenericTable(txt), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(
      e.message,
      /text\.csv, data row 30, column "bidirectional_packets": expected a number, found "abc"/,
    );
    return true;
  });
  const inf = readGenericTable(
    await damaged("inf.csv", 31, (f) => f.map((v, i) => (i === c ? "Infinity" : v))),
  );
  const v = numericColumn(inf, "bidirectional_packets");
  assert.equal(v[29], Infinity);
  assert.equal(v[0], Number(lines[1].split(",")[c]));
});

Deno.test("nadir predict: text in a flow column is one line naming file, column and line (exit 1)", async () => {
  await realFlows();
  const t = await nadir("train", "--detector", "knn", "--path", flows, "--assume-benign", "--out", model);
  assert.equal(t.code, 0, t.stderr);
  const lines = await realFlows();
  const c = column(lines, "bidirectional_packets");
  const p = await damaged("text2.csv", 31, (f) => f.map((v, i) => (i === c ? "abc" : v)));
  const r = await nadir("predict", "--model", model, "--input", p, "--out", join(dir, "s.jsonl"));
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^nadir: .*text2\.csv, data row 30, column "bidirectional_packets": expected a number, found "abc"/,
  );
  const short = await damaged("short2.csv", 31, (f) => f.slice(0, 20));
  const s = await nadir("predict", "--model", model, "--input", short, "--out", join(dir, "s.jsonl"));
  assert.equal(s.code, 1);
  assert.match(s.stderr, /short2\.csv:31: expected \d+ fields/);
});

Deno.test("nadir train and preprocess: text in a numeric flow column is an error, not a category per number", async () => {
  // CSV type inference made the column text, and a text column of an unknown table was one-hot encoded:
  // train exited 0 with 57 features instead of 33 (bidirectional_bytes=1477, =1478, …, =abc).
  const lines = await realFlows();
  const c = column(lines, "bidirectional_bytes");
  for (const bad of ["abc", "0x1F"]) {
    const p = await damaged(`bad-${bad}.csv`, 31, (f) => f.map((v, i) => (i === c ? bad : v)));
    const t = await nadir(
      "train",
      "--detector",
      "knn",
      "--path",
      p,
      "--assume-benign",
      "--out",
      join(dir, "m2"),
    );
    assert.equal(t.code, 1, t.stderr);
    const found = new RegExp(
      `data row 30, column "bidirectional_bytes": expected a number, found "${bad}"`,
    );
    assert.match(t.stderr, found);
    const pp = await nadir("preprocess", p, join(dir, "pp.csv"));
    assert.equal(pp.code, 1, pp.stderr);
    assert.match(pp.stderr, found);
  }
  // Infinity is a number: the NaN policy decides (its default, "error", refuses it).
  const inf = await damaged("bad-inf.csv", 31, (f) => f.map((v, i) => (i === c ? "Infinity" : v)));
  const pi = await nadir("preprocess", inf, join(dir, "pp.csv"));
  assert.equal(pi.code, 1, pi.stderr);
  assert.match(pi.stderr, /"bidirectional_bytes": non-finite value Infinity/);
});

Deno.test("generic table: a column named twice and a quote left open are errors saying so", async () => {
  const lines = await realFlows();
  const dup = join(dir, "dup.csv");
  const header = lines[0].split(",");
  header[column(lines, "bidirectional_packets")] = "bidirectional_bytes";
  await Deno.writeTextFile(dup, [header.join(","), ...lines.slice(1)].join("\n") + "\n");
  assert.throws(
    () => readGenericTable(dup),
    /dup\.csv:1: column "bidirectional_bytes" appears twice in the header \(columns \d+ and \d+\)/,
  );
  const q = await damaged("quote.csv", 11, (f) => f.map((v, i) => (i === 3 ? '"' + v : v)));
  assert.throws(
    () => readGenericTable(q),
    /quote\.csv:11: unterminated quoted field: the quote opened on this line, at character \d+, is not closed/,
  );
  const crlf = new TextEncoder().encode('a,b\r\n1,"x\r\ny"\r\n2,"3\r\n4,5\r\n');
  assert.throws(
    () => checkCsvShape(crlf, "c.csv"),
    /c\.csv:4: unterminated quoted field: the quote opened on this line, at character 3, is not closed within the 2 line\(s\) after it/,
  );
});

Deno.test("a packet capture given where a table goes says so and names the step that makes one", async () => {
  // Read as CSV it had failed on its bytes: "line 3: empty line", or an unknown CIC-IDS2017 column of binary.
  for (const f of ["zeek-smtp.pcap", "sessionhijacking.pcapng"]) {
    const p = dataPath("pcaps", f);
    const kind = f.endsWith(".pcapng") ? "pcapng" : "pcap";
    const said = new RegExp(
      `${f.replace(".", "\\.")}: a ${kind} packet capture, not a table of flows: make one first`,
    );
    assert.throws(() => readGenericTable(p), said);
    const r = await nadir("data", "info", "cic-ids2017", "--path", p);
    assert.equal(r.code, 1);
    assert.match(r.stderr, said);
  }
});

Deno.test("CIC-IDS2017: an empty file says so; a note from a piece read in chunks names the user's file", async () => {
  const empty = join(dir, "cic-empty.csv");
  Deno.writeFileSync(empty, new Uint8Array(0));
  const e = await nadir("data", "info", "cic-ids2017", "--path", empty);
  assert.equal(e.code, 1);
  // It had said: unknown CIC-IDS2017 column "".
  assert.match(e.stderr, /cic-empty\.csv: empty file: expected a CIC-IDS2017 header line and rows/);
  const gz = Deno.openSync(dataPath("cic-ids2017", "Heartbleed_11.csv.gz")).readable;
  const text = await new Response(gz.pipeThrough(new DecompressionStream("gzip"))).text();
  const lines = text.trimEnd().split("\n");
  const blank = ",".repeat(lines[0].split(",").length - 1);
  const withBlank = join(dir, "cic-blank.csv");
  Deno.writeTextFileSync(withBlank, [...lines.slice(0, 8), blank, ...lines.slice(8)].join("\n") + "\n");
  const r = await nadir("data", "info", "cic-ids2017", "--path", withBlank, "--batch-rows", "5");
  assert.equal(r.code, 0, r.stderr);
  // It had named a scratch file (/dev/shm/nadir-chunk-…/chunk.csv).
  assert.match(
    r.stderr,
    /cic-blank\.csv \(the piece from line \d+\): skipped 1 rows whose every field is empty/,
  );
  assert.ok(!r.stderr.includes("nadir-chunk"), r.stderr);
  // A quote left open: said as such (it had been "expected 91 columns, found 11").
  const quoted = join(dir, "cic-quote.csv");
  Deno.writeTextFileSync(
    quoted,
    [...lines.slice(0, 5), lines[5].replace(",", ',"'), ...lines.slice(6)].join("\n") + "\n",
  );
  const q = await nadir("data", "info", "cic-ids2017", "--path", quoted);
  assert.equal(q.code, 1);
  assert.match(
    q.stderr,
    /cic-quote\.csv:6: unterminated quoted field: the quote at character \d+ is not closed before the end of the file/,
  );
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
