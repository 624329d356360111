/**
 * Malformed input: each case is built from a slice of a real vendored file (or a hand-written
 * fixture for formats with no real file here) with one defect, and must give an InputError naming
 * file, line and column.
 */
import assert from "node:assert/strict";
import { InputError } from "../../src/util/errors.ts";
import { loadKdd99, loadNslKdd } from "../../src/data/kdd.ts";
import { loadCicIds2017 } from "../../src/data/cicids2017.ts";
import { loadUnswNb15 } from "../../src/data/unsw_nb15.ts";
import { loadDataset } from "../../src/data/datasets.ts";
import { dataPath, fixture, nadir, realLines, tempFile } from "./_helpers.ts";

function inputError(fn: () => unknown, pattern: RegExp): InputError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
    assert.match(e.message, pattern);
    return e;
  }
  assert.fail("expected an InputError");
}

Deno.test("wrong column count: a missing field names file and line", () => {
  const lines = realLines("nsl-kdd/KDDTest+.txt.gz", 50);
  lines[36] = lines[36].split(",").slice(0, 40).join(","); // line 37 loses 3 fields
  const path = tempFile("short.txt", lines.join("\n") + "\n");
  const e = inputError(() => loadNslKdd(path), /expected 43 columns, found 40/);
  assert.equal(e.location.file, path);
  assert.equal(e.location.line, 37);
  assert.match(e.message, /short\.txt:37/);
});

Deno.test("wrong column count: an extra field is an error, not silently dropped", () => {
  const lines = realLines("kdd99/corrected.gz", 30);
  lines[9] += ",extra";
  const path = tempFile("extra.gz", lines.join("\n") + "\n");
  const e = inputError(() => loadKdd99(path), /expected 42 columns, found 43/);
  assert.equal(e.location.line, 10);
});

Deno.test("text in a numeric column names line and column", () => {
  const lines = realLines("nsl-kdd/KDDTrain+.txt.gz", 40);
  const f = lines[22].split(",");
  f[4] = "12x"; // src_bytes
  lines[22] = f.join(",");
  const path = tempFile("text.txt.gz", lines.join("\n") + "\n");
  const e = inputError(() => loadNslKdd(path), /expected a number, found "12x"/);
  assert.equal(e.location.line, 23);
  assert.equal(e.location.column, "src_bytes");
  assert.match(e.message, /text\.txt\.gz:23, column "src_bytes"/);
});

Deno.test("an empty value in a numeric column is an error", () => {
  const lines = realLines("nsl-kdd/KDDTest-21.txt.gz", 10);
  const f = lines[4].split(",");
  f[0] = "";
  lines[4] = f.join(",");
  const e = inputError(
    () => loadNslKdd(tempFile("blank.txt", lines.join("\n"))),
    /empty value; expected a number/,
  );
  assert.equal(e.location.line, 5);
  assert.equal(e.location.column, "duration");
});

Deno.test("empty file and header-only file", () => {
  inputError(() => loadNslKdd(tempFile("empty.txt", "")), /empty file/);
  inputError(() => loadKdd99(tempFile("empty.gz", "")), /empty file/);
  const header = Deno.readTextFileSync(fixture("cic-original/MachineLearningCVE-sample.csv")).split("\n")[0];
  inputError(() => loadCicIds2017(tempFile("header-only.csv", header + "\n")), /empty file/);
});

Deno.test("truncated .gz names the file", () => {
  const gz = Deno.readFileSync(dataPath("nsl-kdd/KDDTest-21.txt.gz"));
  const path = tempFile("cut.txt.gz", gz.subarray(0, Math.floor(gz.length / 2)));
  const e = inputError(() => loadNslKdd(path), /truncated gzip data/);
  assert.equal(e.location.file, path);
  const notGz = tempFile("plain.csv.gz", new TextEncoder().encode("not gzip\n"));
  inputError(() => loadCicIds2017(notGz), /expected gzip data/);
});

Deno.test("a truncated last line (download cut mid-row) is reported", () => {
  const lines = realLines("kdd99/kddcup.data_10_percent.gz", 20);
  const text = lines.join("\n").slice(0, -25);
  const e = inputError(() => loadKdd99(tempFile("cutrow.csv", text)), /expected 42 columns, found \d+/);
  assert.equal(e.location.line, 20);
});

Deno.test("unknown dataset name and missing path", () => {
  inputError(
    () => loadDataset("nsl-kdd-tarin"),
    /unknown dataset "nsl-kdd-tarin"; expected one of nsl-kdd-train/,
  );
  inputError(() => loadNslKdd("no/such/file.txt"), /not a file, directory or dataset name/);
  assert.throws(() => loadDataset("unsw-nb15"), /has no vendored copy: give its path/);
});

Deno.test("CIC-IDS2017: unknown header column and text in a numeric column (hand-written fixture)", () => {
  const text = Deno.readTextFileSync(fixture("cic-original/MachineLearningCVE-sample.csv"));
  const lines = text.split("\n");
  const bad = tempFile(
    "hdr.csv",
    lines[0].replace(" Flow IAT Max", " Flow IAT Maximum") + "\n" + lines.slice(1).join("\n"),
  );
  const e = inputError(() => loadCicIds2017(bad), /unknown CIC-IDS2017 column "Flow IAT Maximum"/);
  assert.equal(e.location.line, 1);
  const f = lines[3].split(",");
  f[1] = "fast";
  lines[3] = f.join(",");
  const e2 = inputError(
    () => loadCicIds2017(tempFile("num.csv", lines.join("\n"))),
    /expected a number, found "fast"/,
  );
  assert.equal(e2.location.line, 4);
  assert.equal(e2.location.column, "Flow Duration");
});

Deno.test("UNSW-NB15: wrong column count and a non-number in a blank-is-zero column (hand-written fixture)", () => {
  const lines = Deno.readTextFileSync(fixture("unsw/UNSW-NB15_1.csv")).split("\n");
  const short = [...lines];
  short[1] = short[1].split(",").slice(0, 48).join(",");
  const e = inputError(
    () => loadUnswNb15(tempFile("UNSW-NB15_2.csv", short.join("\n"))),
    /expected 49 columns, found 48/,
  );
  assert.equal(e.location.line, 2);
  const f = lines[2].split(",");
  f[39] = "many"; // ct_ftp_cmd
  lines[2] = f.join(",");
  const e2 = inputError(
    () => loadUnswNb15(tempFile("UNSW-NB15_3.csv", lines.join("\n"))),
    /expected a number or blank, found "many"/,
  );
  assert.equal(e2.location.line, 3);
  assert.equal(e2.location.column, "ct_ftp_cmd");
});

Deno.test("CLI: bad input exits 1 with one line naming file and line, no stack trace", async () => {
  const lines = realLines("nsl-kdd/KDDTest-21.txt.gz", 12);
  lines[7] = lines[7].replace(/,tcp,/, ",tcp,,");
  const path = tempFile("cli.txt", lines.join("\n"));
  const r = await nadir("data", "info", "nsl-kdd", "--path", path);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^nadir: .*cli\.txt:8: expected 43 columns, found 44\n$/);
  const u = await nadir("data", "info", "kdd-cup");
  assert.equal(u.code, 1);
  assert.match(u.stderr, /unknown dataset "kdd-cup"/);
  assert.doesNotMatch(u.stderr + r.stderr, /\bat .*\.ts:\d+/);
});

Deno.test("invalid UTF-8 in a KDD file names the line", () => {
  const lines = realLines("nsl-kdd/KDDTest-21.txt.gz", 10);
  const enc = new TextEncoder();
  // Line 7: a Windows-1252 byte (0x96) before the attack name, every field count still right.
  const f = lines[6].split(",");
  const bad = new Uint8Array([
    ...enc.encode(f.slice(0, 41).join(",") + ","),
    0x96,
    ...enc.encode(f.slice(41).join(",")),
  ]);
  const parts = lines.map((l, i) => (i === 6 ? bad : enc.encode(l)));
  const bytes = new Uint8Array(parts.reduce((s, p) => s + p.length + 1, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    bytes[o + p.length] = 0x0a;
    o += p.length + 1;
  }
  const e = inputError(() => loadNslKdd(tempFile("latin1.txt", bytes)), /invalid UTF-8 byte/);
  assert.equal(e.location.line, 7);
});

Deno.test("loadTable: a missing file is 'file not found', a bare unknown name lists the datasets", async () => {
  const { loadTable } = await import("../../src/data/table.ts");
  await assert.rejects(() => loadTable("missing.csv"), /^InputError: missing\.csv: file not found$/);
  await assert.rejects(() => loadTable("no/such/flows"), /no\/such\/flows: file not found/);
  await assert.rejects(
    () => loadTable("kdd-cup"),
    /unknown dataset "kdd-cup"; expected one of nsl-kdd-train/,
  );
});

Deno.test("a transform applied to a frame of another feature set says so and what the frame has", async () => {
  const { loadTable } = await import("../../src/data/table.ts");
  const { fitTransform } = await import("../../src/data/preprocess.ts");
  const nsl = await loadTable("nsl-kdd-test-21");
  const cic = await loadTable(dataPath("cic-ids2017", "BENIGN_2500.csv.gz"));
  const t = fitTransform(nsl.head(200)).transform;
  const e = inputError(
    () => t.apply(cic),
    /frame lacks \d+ of the transform's \d+ input columns: "duration".*; the frame has none of them \(its columns: .*"Flow ID".*\): the model was fitted on another dataset or feature set .*--features basic, cic or kdd/,
  );
  assert.ok(e instanceof InputError);
  // One column short is a damaged file, not another feature set: no hint.
  assert.throws(() => t.apply(nsl.drop("src_bytes")), (err: Error) => !/has none of them/.test(err.message));
});
