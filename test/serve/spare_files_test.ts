import assert from "node:assert/strict";
import { join } from "node:path";
import { SPARE_DIR, SpareFiles } from "../../src/serve/spare_files.ts";
import { EvidenceDisk, EvidenceWriter } from "../../src/serve/evidence.ts";

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("spare files: a write goes through a spare, whole, and the pool refills from timer turns", async () => {
  const dir = Deno.makeTempDirSync();
  const spares = new SpareFiles(dir, { size: 8 });
  assert.equal(spares.ready, 0);
  assert.equal(
    spares.writeAs(join(dir, "x.pcap"), new Uint8Array([1])),
    false,
    "none ready: the caller writes",
  );
  spares.start();
  for (let i = 0; i < 100 && spares.ready < 8; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(spares.ready, 8);
  for (let i = 0; i < 5; i++) {
    assert.equal(spares.writeAs(join(dir, `a${i}.pcap`), new Uint8Array([i, i, i])), true);
  }
  assert.equal(spares.ready, 3);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(Deno.readFileSync(join(dir, `a${i}.pcap`)), new Uint8Array([i, i, i]));
  }
  for (let i = 0; i < 100 && spares.ready < 8; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(spares.ready, 8, "refilled after the writes");
  assert.equal(names(join(dir, SPARE_DIR)).length, 8);
  spares.close();
  assert.deepEqual(names(dir), ["a0.pcap", "a1.pcap", "a2.pcap", "a3.pcap", "a4.pcap"]);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("spare files: spares a killed run left are used again, and their old bytes never show", () => {
  const dir = Deno.makeTempDirSync();
  Deno.mkdirSync(join(dir, SPARE_DIR));
  // A run killed between writing a spare and renaming it leaves the spare full.
  Deno.writeFileSync(join(dir, SPARE_DIR, "123-0"), new Uint8Array(1000).fill(7));
  const spares = new SpareFiles(dir, { size: 4 });
  assert.equal(spares.ready, 1);
  assert.equal(spares.writeAs(join(dir, "b.pcap"), new Uint8Array([9, 9])), true);
  assert.deepEqual(Deno.readFileSync(join(dir, "b.pcap")), new Uint8Array([9, 9]));
  spares.close();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("spare files: a spare removed from outside or a missing target directory falls back to the caller", () => {
  const dir = Deno.makeTempDirSync();
  // One spare held open, one by path: both kinds must fall back the same way.
  const spares = new SpareFiles(dir, { size: 2, open: 1 });
  assert.equal(spares.fill(), 2);
  assert.equal(spares.open, 1);
  for (const n of names(join(dir, SPARE_DIR))) Deno.removeSync(join(dir, SPARE_DIR, n));
  assert.equal(spares.writeAs(join(dir, "c.pcap"), new Uint8Array([1])), false);
  assert.equal(spares.writeAs(join(dir, "c.pcap"), new Uint8Array([1])), false);
  assert.equal(spares.ready, 0);
  assert.equal(spares.open, 0, "the open spare was closed");
  assert.deepEqual(names(dir), [SPARE_DIR], "nothing written under the target's name");
  assert.equal(spares.fill(), 2);
  // The caller's own write then fails and counts the loss (EvidenceWriter), as without spares.
  assert.equal(spares.writeAs(join(dir, "no-such-dir", "d.pcap"), new Uint8Array([1])), false);
  assert.equal(names(join(dir, SPARE_DIR)).length, 1, "the failed write's spare is removed, the other kept");
  assert.throws(() => new SpareFiles(dir, { size: -1 }), /size must be an integer ≥ 0, found -1/);
  spares.close();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("spare files: open spares stay within their budget and are closed with the pool", () => {
  const dir = Deno.makeTempDirSync();
  const spares = new SpareFiles(dir, { size: 6, open: 4 });
  assert.equal(spares.fill(), 6);
  assert.equal(spares.open, 4);
  // The last created are written first (a stack): two by path, then four open ones.
  for (let i = 0; i < 6; i++) {
    const bytes = new Uint8Array(3000 + i).fill(i);
    assert.equal(spares.writeAs(join(dir, `f${i}.pcap`), bytes), true);
    assert.deepEqual(Deno.readFileSync(join(dir, `f${i}.pcap`)), bytes);
  }
  assert.equal(spares.open, 0);
  assert.equal(spares.fill(3), 3);
  assert.equal(spares.open, 3);
  spares.close();
  assert.equal(spares.open, 0);
  assert.equal(names(dir).length, 6, "only the written files are left");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("spare files: the evidence writer uses them until stopped; the disk budget does not count them", async () => {
  const dir = Deno.makeTempDirSync();
  const w = new EvidenceWriter(dir);
  const stop = w.keepSpares({ size: 4 });
  for (let i = 0; i < 100 && names(join(dir, SPARE_DIR)).length < 4; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(names(join(dir, SPARE_DIR)).length, 4);
  for (let i = 0; i < 3; i++) assert.equal(w.write(`e${i}.pcap`, new Uint8Array(24 + i)), true);
  assert.deepEqual(w.stats(), { written: 3, lost: 0 });
  const disk = new EvidenceDisk(dir);
  assert.equal(disk.files, 3);
  assert.equal(disk.bytes, 24 + 25 + 26);
  stop();
  assert.deepEqual(names(dir), ["e0.pcap", "e1.pcap", "e2.pcap"]);
  assert.equal(w.write("e3.pcap", new Uint8Array(24)), true, "after stop, written directly");
  Deno.removeSync(dir, { recursive: true });
});
