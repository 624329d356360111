import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { csvChunks } from "../../src/data/chunks.ts";
import { dataPath } from "../_shared.ts";

const dec = new TextDecoder();

async function chunksOf(path: string, rows: number, header: boolean) {
  const out: { text: string; firstLine: number; rows: number }[] = [];
  for await (const c of csvChunks(path, { rowsPerChunk: rows, header })) {
    out.push({ text: dec.decode(c.bytes), firstLine: c.firstLine, rows: c.rows });
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
});

Deno.test("csvChunks: quoted newlines stay in their row; a last row without newline is kept; blank file", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".csv" });
  Deno.writeTextFileSync(path, 'a,b\n"x\ny",1\n"q""",2\nlast,3');
  assert.deepEqual(await chunksOf(path, 1, true), [
    { text: 'a,b\n"x\ny",1\n', firstLine: 2, rows: 1 },
    { text: 'a,b\n"q""",2\n', firstLine: 4, rows: 1 },
    { text: "a,b\nlast,3\n", firstLine: 5, rows: 1 },
  ]);
  Deno.writeTextFileSync(path, "");
  assert.deepEqual(await chunksOf(path, 10, true), []);
  await assert.rejects(chunksOf("/nonexistent/x.csv", 10, true), /file not found/);
});
