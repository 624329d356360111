import assert from "node:assert/strict";
import { join } from "node:path";
import { corpusFiles, flowCorpus } from "../../src/flows/corpus.ts";
import { meterFile } from "../../src/flows/pipeline.ts";
import { CsvSink } from "../../src/flows/writer.ts";
import { InputError } from "../../src/util/errors.ts";
import { dataPath } from "../_shared.ts";

const SMTP = dataPath("pcaps", "zeek-smtp.pcap");
const SSH = dataPath("pcaps", "zeek-ssh-ssh.pcap");

Deno.test("flowCorpus: captures give the rows nadir flows gives, model columns only, in input order", async () => {
  const c = await flowCorpus([SMTP, SSH], { features: "cic", silent: true });
  const expected: number[][] = [];
  let names: string[] = [];
  for (const f of [SMTP, SSH]) {
    await meterFile(f, {
      features: "cic",
      onRow: (row, cols) => {
        if (!names.length) names = cols.filter((c) => !c.meta && c.type !== "str").map((c) => c.name);
        const at = cols.map((c) => c.name);
        expected.push(names.map((n) => Number(row[at.indexOf(n)])));
      },
    });
  }
  assert.deepEqual(c.matrix.names, names);
  assert.ok(!names.includes("Src IP") && names.includes("Flow Duration"));
  assert.deepEqual(c.files.map((f) => [f.kind, f.flows]), [["capture", c.files[0].flows], [
    "capture",
    expected.length - c.files[0].flows,
  ]]);
  assert.equal(c.matrix.rows, expected.length);
  assert.deepEqual(Array.from(c.matrix.data), expected.flat());
});

Deno.test("corpusFiles: a folder gives its captures, recursively and sorted; bad inputs name the path", async () => {
  const files = await corpusFiles([dataPath("pcaps")]);
  assert.ok(files.length >= 20);
  assert.deepEqual(files, [...files].sort());
  assert.ok(files.every((f) => /\.(pcap|pcapng)$/.test(f)));
  await assert.rejects(() => corpusFiles(["/nonexistent/x.pcap"]), (e) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /\/nonexistent\/x\.pcap: no such file or folder/);
    return true;
  });
  const empty = await Deno.makeTempDir({ prefix: "nadir-corpus-" });
  try {
    await Deno.writeTextFile(join(empty, "notes.csv"), "a,b\n1,2\n");
    await assert.rejects(
      () => corpusFiles([empty]),
      /expected captures \(\.pcap, \.pcapng, \.cap\) in the folder/,
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("flowCorpus: a flow table written by the meter adds the same rows; one lacking columns is named", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-corpus-" });
  try {
    const csv = join(tmp, "smtp.csv");
    const sink = new CsvSink(csv);
    await meterFile(SMTP, { features: "cic", onColumns: (c) => sink.header(c), onRow: (r) => sink.row(r) });
    await sink.close();
    const fromPcap = await flowCorpus([SMTP], { features: "cic", silent: true });
    const fromCsv = await flowCorpus([csv], { features: "cic", silent: true });
    assert.equal(fromCsv.files[0].kind, "flows");
    assert.equal(fromCsv.matrix.rows, fromPcap.matrix.rows);
    for (let i = 0; i < fromPcap.matrix.data.length; i++) {
      const a = fromPcap.matrix.data[i], b = fromCsv.matrix.data[i];
      assert.ok(
        Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a)) || (Number.isNaN(a) && Number.isNaN(b)),
        `${i}`,
      );
    }
    const bad = join(tmp, "other.csv");
    await Deno.writeTextFile(bad, "Flow Duration,x\n1,2\n");
    await assert.rejects(() => flowCorpus([bad], { features: "cic", silent: true }), (e) => {
      assert.ok(e instanceof InputError);
      assert.match(
        e.message,
        /other\.csv: expected the feature set's \d+ columns in the flow table; missing/,
      );
      return true;
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
