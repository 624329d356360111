import assert from "node:assert/strict";
import { capStratified, getProtocol, PROTOCOLS, splitRows, subsample } from "../../src/eval/protocols.ts";

Deno.test("splitRows: sizes, disjointness and determinism", () => {
  const isNormal = Uint8Array.from({ length: 1000 }, (_, i) => (i % 5 === 0 ? 0 : 1)); // 800 normal, 200 other
  const a = splitRows(isNormal, { trainFraction: 0.5, validationFraction: 0.1, seed: 7 });
  assert.equal(a.train.length + a.validation.length, 400);
  assert.equal(a.validation.length, 40);
  assert.equal(a.test.length, 400 + 200);
  const all = new Set([...a.train, ...a.validation, ...a.test]);
  assert.equal(all.size, 1000, "train, validation and test are disjoint and cover every row");
  for (const r of [...a.train, ...a.validation]) assert.equal(isNormal[r], 1);
  const b = splitRows(isNormal, { trainFraction: 0.5, validationFraction: 0.1, seed: 7 });
  assert.deepEqual(a, b);
  const c = splitRows(isNormal, { trainFraction: 0.5, validationFraction: 0.1, seed: 8 });
  assert.notDeepEqual(a.train, c.train);
  const d = splitRows(isNormal, { trainFraction: 0.5, validationFraction: 0.1, seed: 7, withOthers: false });
  assert.equal(d.test.length, 400);
});

Deno.test("subsample and capStratified keep row ids and class ratio", () => {
  const rows = Uint32Array.from({ length: 100 }, (_, i) => 1000 + i);
  const s = subsample(rows, 10, 1);
  assert.equal(s.length, 10);
  assert.ok(s.every((r) => r >= 1000 && r < 1100));
  const y = Uint8Array.from(rows, (_, i) => (i < 25 ? 1 : 0));
  const cap = capStratified(rows, y, 40, 3);
  assert.equal(cap.length, 40);
  assert.equal(cap.filter((r) => r < 1025).length, 10);
  assert.ok(cap.every((r) => r >= 1000 && r < 1100));
});

Deno.test("every protocol is named, cited and documented", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/protocols.md", import.meta.url));
  for (const p of Object.values(PROTOCOLS)) {
    assert.ok(p.citation.length > 10, p.name);
    assert.ok(doc.includes(`\`${p.name}\``), `docs/protocols.md documents ${p.name}`);
  }
  assert.throws(() => getProtocol("kdd"), /known protocols: kddcup-dagmm/);
});

Deno.test("kddcup-dagmm and kddcup-rev split the vendored KDD'99 10 % as published", async () => {
  const dag = await getProtocol("kddcup-dagmm").load({ seed: 0 });
  const t = dag.tests[0];
  const pos = t.y.reduce((a, b) => a + b, 0);
  assert.equal(pos, 97278, "every 'normal' row is a test anomaly");
  assert.equal(dag.train.rows.length + dag.validation.rows.length, Math.round(396743 * 0.5));
  assert.equal(t.rows.length, 494021 - dag.train.rows.length - dag.validation.rows.length);
  const rev = await getProtocol("kddcup-rev").load({ seed: 0 });
  const rt = rev.tests[0];
  assert.equal(rt.y.reduce((a, b) => a + b, 0), Math.round(97278 * 0.25));
  assert.equal(rev.train.rows.length + rev.validation.rows.length, 48639);
  const again = await getProtocol("kddcup-rev").load({ seed: 0 });
  assert.deepEqual(again.tests[0].rows, rt.rows);
});

Deno.test("nsl-kdd and cic-ids2017 splits", async () => {
  const n = await getProtocol("nsl-kdd").load({ seed: 1 });
  assert.equal(n.train.rows.length + n.validation.rows.length, 67343);
  assert.deepEqual(n.tests.map((t) => [t.name, t.rows.length]), [["KDDTest+", 22544], ["KDDTest-21", 11850]]);
  assert.equal(n.tests[0].y.reduce((a, b) => a + b, 0), 22544 - 9711);
  const c = await getProtocol("cic-ids2017").load({ seed: 1 });
  assert.equal(c.train.rows.length + c.validation.rows.length, 1250);
  assert.equal(c.validation.rows.length, 250);
  assert.equal(c.tests[0].rows.length, 25127 - 1250);
  assert.ok(c.tests[0].category.includes("FTP-Patator") || c.tests[0].category.some((x) => /ftp/i.test(x)));
  await assert.rejects(
    async () => await getProtocol("unsw-nb15").load({ seed: 0 }),
    /needs the official files/,
  );
});
