/**
 * The docs' speed tables are generated from bench records (scripts/bench_tables.ts):
 * the generator renders a record correctly, and every generated block in
 * docs/ is exactly what it would write from the committed records, so a hand
 * edit of a table (or a record left uncommitted) fails here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type BenchRecord, makeRecord, recordStamp, writeRecord } from "../bench/_record.ts";
import {
  blockNames,
  markdownFiles,
  newestRecords,
  parseRecordName,
  readRecord,
  recordFiles,
  renderDoc,
} from "../scripts/bench_tables.ts";
import { ROOT } from "./_shared.ts";

/**
 * A hand-written fixture of our own record format (not a measurement): two
 * records of one bench, so the test also sees that the newer one is used.
 */
function fixture(date: string, trainS: number, params: Record<string, unknown> = { epochs: 5 }): BenchRecord {
  const rec = makeRecord("demo", {
    engine: "native (OpenBLAS 9.9, 3 threads)",
    params,
    tables: [
      {
        id: "ratios",
        title: "Demo ratios",
        columns: [
          { key: "detector", label: "detector" },
          { key: "fit", label: "train s" },
          { key: "ratio", label: "train vs torch", suffix: "×" },
          { key: "rate", label: "score rows/s", int: true },
        ],
        rows: [
          { detector: "autoencoder", fit: trainS, ratio: 2.3456, rate: 123456.7 },
          { detector: "kitnet", fit: 0.5, ratio: null, rate: NaN },
        ],
        notes: ["Ratio = peer seconds / nadir seconds."],
      },
      {
        id: "other",
        title: "Second table",
        columns: [{ key: "k", label: "key" }, { key: "v", label: "value", digits: 1 }],
        rows: [{ k: "a", v: 1.25 }],
      },
    ],
    notes: ["PyTorch peer skipped: demo"],
  }, new Date(date));
  return { ...rec, commit: "abc1234", dirty: false };
}

Deno.test("bench tables: a record renders into its marked blocks; the newest record wins", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-bench-tables-" });
  try {
    const older = await writeRecord(fixture("2026-01-01T00:00:00.000Z", 9.99), dir);
    const newer = await writeRecord(fixture("2026-01-02T03:04:05.678Z", 1.234), dir);
    // Partial runs after it (--quick, --only, params.partial) are recorded but not quoted.
    const quick = await writeRecord(fixture("2026-01-03T00:00:00.000Z", 7.77, { quick: true }), dir);
    const subset = await writeRecord(fixture("2026-01-04T00:00:00.000Z", 8.88, { only: ["knn"] }), dir);
    const partial = await writeRecord(fixture("2026-01-05T00:00:00.000Z", 6.66, { partial: true }), dir);
    assert.equal(newer, join(dir, "demo-20260102T030405Z.json"));
    assert.deepEqual(parseRecordName(newer), { bench: "demo", stamp: "20260102T030405Z" });
    assert.deepEqual(recordFiles(dir), [older, newer, quick, subset, partial]);
    const newest = newestRecords([...recordFiles(dir), join(dir, "notes.json")]);
    assert.deepEqual([...newest], [["demo", newer]]);
    assert.deepEqual([...newestRecords(recordFiles(dir), () => true)], [["demo", partial]]);
    // NaN was written as null, so a record read back renders it as missing.
    assert.equal(readRecord(newer).tables[0].rows[1].rate, null);

    const doc = [
      "# Title",
      "",
      "<!-- bench:demo -->",
      "stale hand-typed text",
      "<!-- /bench:demo -->",
      "",
      "between",
      "",
      "<!-- bench:demo/other -->",
      "<!-- /bench:demo/other -->",
      "",
    ].join("\n");
    assert.deepEqual(blockNames(doc), ["demo", "demo/other"]);
    const out = await renderDoc(doc, newest, dir);
    assert.ok(out.startsWith("# Title\n\n<!-- bench:demo -->\n"));
    assert.ok(out.includes("<!-- /bench:demo -->\n\nbetween\n\n<!-- bench:demo/other -->\n"));
    assert.ok(!out.includes("stale hand-typed text"));
    const [whole, only] = out.split("between");
    // Provenance: the record file, date, commit, machine and engine.
    assert.match(whole, /\[demo-20260102T030405Z\.json\]\(demo-20260102T030405Z\.json\)/);
    assert.match(whole, /Measured 2026-01-02 03:04 UTC, commit `abc1234`/);
    assert.match(whole, /Neural engine: native \(OpenBLAS 9\.9, 3 threads\)/);
    // Figures formatted by their columns, from the newer record only.
    assert.match(whole, /\| autoencoder \|\s+1\.23 \|\s+2\.35× \|\s+123,457 \|/);
    assert.match(whole, /\| kitnet\s+\|\s+0\.50 \|\s+- \|\s+- \|/);
    assert.ok(!whole.includes("9.99"));
    assert.ok(whole.includes("Ratio = peer seconds / nadir seconds."));
    assert.ok(whole.includes("- PyTorch peer skipped: demo"));
    assert.ok(whole.includes("**Second table**"));
    // A table-scoped block holds that table alone.
    assert.ok(only.includes("**Second table**") && only.includes("| a   |   1.3 |"));
    assert.ok(!only.includes("Demo ratios"));
    // Regenerating is a fixed point.
    assert.equal(await renderDoc(out, newest, dir), out);
    await assert.rejects(
      () => renderDoc("<!-- bench:nope -->\n<!-- /bench:nope -->\n", newest, dir),
      /no record/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("bench tables: record stamps are UTC and sort by time", () => {
  assert.equal(recordStamp(new Date("2026-11-23T10:15:00.123Z")), "20261123T101500Z");
  assert.ok(recordStamp(new Date("2026-11-23T10:15:00Z")) < recordStamp(new Date("2026-11-23T10:15:01Z")));
});

/** Record files git tracks (what CI sees); every file when git cannot tell. */
function committedRecords(): string[] {
  const dir = join(ROOT, "bench", "results");
  try {
    const r = new Deno.Command("git", {
      args: ["ls-files", "-z", "--", "bench/results"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (r.success) {
      return new TextDecoder().decode(r.stdout).split("\0").filter((p) => parseRecordName(p)).map((p) =>
        join(ROOT, p)
      );
    }
  } catch { /* no git */ }
  return recordFiles(dir);
}

Deno.test("bench tables: every generated block in docs/ matches the committed bench records", async () => {
  const records = newestRecords(committedRecords());
  const stale: string[] = [];
  let blocks = 0;
  const benches = new Set<string>();
  for (const file of markdownFiles(join(ROOT, "docs"))) {
    const doc = Deno.readTextFileSync(file);
    const names = blockNames(doc);
    if (!names.length) continue;
    blocks += names.length;
    for (const n of names) benches.add(n.split("/")[0]);
    if (await renderDoc(doc, records, join(file, "..")) !== doc) stale.push(`${file} (${names.join(", ")})`);
  }
  assert.ok(blocks > 0, "docs/ has generated bench blocks (<!-- bench:detectors -->)");
  // Every bench behind `deno task bench` has its figures generated into docs/, none typed by hand.
  for (const bench of ["flows", "detectors", "monitor", "capture", "llm"]) {
    assert.ok(benches.has(bench), `docs/ has a <!-- bench:${bench} --> block`);
  }
  assert.deepEqual(stale, [], "run `deno task bench:tables` (and commit the bench/results records it used)");
});
