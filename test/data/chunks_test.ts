import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { csvChunks } from "../../src/data/chunks.ts";
import { dataPath } from "../_shared.ts";
import { scratchFile } from "../_scratch.ts";

const dec = new TextDecoder();

async function chunksOf(path: string, rows: number, header: boolean) {
  const out: { text: string; firstLine: number; rows: number; fileBytes: number }[] = [];
  for await (const c of csvChunks(path, { rowsPerChunk: rows, header })) {
    out.push({ text: dec.decode(c.bytes), firstLine: c.firstLine, rows: c.rows, fileBytes: c.fileBytes });
  }
  return out;
}

Deno.test("csvChunks: a real gzip CSV comes back whole, header in front of every chunk, lines counted", async () => {
  const path = dataPath("cic-ids2017", "Botnet_736.csv.gz");
  const text = dec.decode(gunzipSync(Deno.readFileSync(path)));
  const lines = text.split("\n").filter((l, i, a) => l !== "" || i < a.length - 1);
  const chunks = await chunksOf(path, 100, true);
  assert.equal(chunks.length, Math.ceil((lines.length - 1) / 100));
  let rebuilt = lines[0] + "\n";
  chunks.forEach((c, k) => {
    assert.ok(c.text.startsWith(lines[0] + "\n"), "header first");
    assert.equal(c.firstLine, 2 + 100 * k);
    rebuilt += c.text.slice(lines[0].length + 1);
  });
  assert.equal(rebuilt, lines.join("\n") + "\n");
  // Progress counts the file's bytes on disk (compressed), so it ends at the file's size, not the text's.
  const fileBytes = chunks.map((c) => c.fileBytes);
  assert.ok(fileBytes.every((b, k) => k === 0 || b >= fileBytes[k - 1]), "never goes back");
  assert.equal(fileBytes[fileBytes.length - 1], Deno.statSync(path).size);
});

Deno.test("csvChunks: a plain CSV of several reads comes back whole; counting only gives the same rows", async () => {
  // The real rows repeated past 3 MiB, so the file takes several 1 MiB reads and rows cross them.
  const text = dec.decode(gunzipSync(Deno.readFileSync(dataPath("cic-ids2017", "Botnet_736.csv.gz"))));
  const [head, ...rest] = text.trimEnd().split("\n");
  let body = "";
  while (body.length < 3.2 * 2 ** 20) body += rest.join("\n") + "\n";
  const path = scratchFile({ suffix: ".csv" });
  Deno.writeTextFileSync(path, head + "\n" + body);
  const chunks = await chunksOf(path, 1000, true);
  assert.equal(chunks.map((c) => c.text.slice(head.length + 1)).join(""), body);
  assert.equal(chunks[chunks.length - 1].fileBytes, Deno.statSync(path).size);
  const counted = [];
  for await (const c of csvChunks(path, { rowsPerChunk: 1000, header: true, bytes: false })) {
    assert.equal(c.bytes.length, 0);
    counted.push([c.firstLine, c.rows]);
  }
  assert.deepEqual(counted, chunks.map((c) => [c.firstLine, c.rows]));
});

Deno.test("csvChunks: quoted newlines stay in their row; a last row without newline is kept; blank file", async () => {
  const path = scratchFile({ suffix: ".csv" });
  Deno.writeTextFileSync(path, 'a,b\n"x\ny",1\n"q""",2\nlast,3');
  const size = Deno.statSync(path).size; // one read takes the whole small file
  assert.deepEqual(await chunksOf(path, 1, true), [
    { text: 'a,b\n"x\ny",1\n', firstLine: 2, rows: 1, fileBytes: size },
    { text: 'a,b\n"q""",2\n', firstLine: 4, rows: 1, fileBytes: size },
    { text: "a,b\nlast,3\n", firstLine: 5, rows: 1, fileBytes: size },
  ]);
  Deno.writeTextFileSync(path, "");
  assert.deepEqual(await chunksOf(path, 10, true), []);
  await assert.rejects(chunksOf("/nonexistent/x.csv", 10, true), /file not found/);
});

Deno.test("csvChunks rowEnds: each row's bytes, quoted newlines and a last row without newline included", async () => {
  const path = scratchFile({ suffix: ".csv" });
  Deno.writeTextFileSync(path, 'a,b\n"x\ny",1\n"q""",2\n3,4\nlast,5');
  const rows: string[] = [];
  const heads: string[] = [];
  for await (const c of csvChunks(path, { rowsPerChunk: 2, header: true, rowEnds: true })) {
    heads.push(dec.decode(c.bytes.subarray(0, c.headerLength)));
    let from = c.headerLength;
    for (const end of c.rowEnds!) (rows.push(dec.decode(c.bytes.subarray(from, end))), from = end);
    assert.equal(c.rowEnds!.length, c.rows);
  }
  assert.deepEqual(rows, ['"x\ny",1\n', '"q""",2\n', "3,4\n", "last,5\n"]);
  assert.deepEqual(heads, ["a,b\n", "a,b\n"]);
  // A buffer that must shift and grow (rows longer than its first size) keeps the ends right.
  const long = "v".repeat(700_000);
  Deno.writeTextFileSync(path, `h\n${long}\n${long}x\n${long}yy\n`);
  const got: number[] = [];
  for await (const c of csvChunks(path, { rowsPerChunk: 2, header: true, rowEnds: true })) {
    let from = c.headerLength;
    for (const end of c.rowEnds!) (got.push(end - from), from = end);
  }
  assert.deepEqual(got, [700_001, 700_002, 700_003]);
});
