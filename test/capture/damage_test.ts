/**
 * Damaged captures, made by cutting or overwriting bytes of real captures:
 * the default reader skips and counts (and resynchronises on the next record),
 * `strict` stops with an InputError naming the byte offset.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  damageSummary,
  type DecodedPacket,
  forEachPacket,
  parseCaptureBytes,
  readAllPackets,
} from "../../src/capture/reader.ts";
import { PcapWriter } from "../../src/capture/writer.ts";
import { InputError } from "../../src/util/errors.ts";
import { Rng } from "../../src/util/random.ts";
import { tempDir, vendoredPcaps } from "./_util.ts";

const PCAP = vendoredPcaps().find((f) => f.endsWith("zeek-ftp-bruteforce.pcap"))!;
const PCAPNG = vendoredPcaps().find((f) => f.endsWith("sessionhijacking.pcapng"))!;

/** Byte offsets of each record (pcap) in a clean file. */
function pcapRecordOffsets(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let p = 24; p + 16 <= b.length; p += 16 + dv.getUint32(p + 8, true)) out.push(p);
  return out;
}

/** Byte offsets of each block (pcapng, little-endian) in a clean file, with their types. */
function pcapngBlocks(b: Uint8Array): { off: number; type: number; len: number }[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = [];
  for (let p = 0; p + 12 <= b.length;) {
    const len = dv.getUint32(p + 4, true);
    out.push({ off: p, type: dv.getUint32(p, true), len });
    p += len;
  }
  return out;
}

function collect(bytes: Uint8Array, strict = false) {
  const pkts: DecodedPacket[] = [];
  const stats = parseCaptureBytes(bytes, (p) => {
    pkts.push(p.clone());
  }, { strict, name: "test.pcap" });
  return { pkts, stats };
}

function strictError(bytes: Uint8Array): InputError {
  try {
    collect(bytes, true);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("strict read did not fail");
}

Deno.test("damage: truncated pcap keeps the complete records, counts the cut one; strict names its offset", async () => {
  const b = Deno.readFileSync(PCAP);
  const offs = pcapRecordOffsets(b);
  const k = Math.floor(offs.length / 2);
  const cut = b.slice(0, offs[k] + 20); // inside record k's data
  const { pkts, stats } = collect(cut);
  assert.equal(pkts.length, k);
  assert.equal(stats.truncated, 1);
  assert.match(damageSummary(stats), /truncated/);
  assert.match(stats.warnings[0], new RegExp(`byte offset ${offs[k]}:`));
  const e = strictError(cut);
  assert.equal(e.location.offset, offs[k]);
  assert.match(e.message, /test\.pcap, byte offset \d+: file ends inside a packet/);
  // Same through the file reader (streaming path).
  const { dir, cleanup } = tempDir();
  try {
    const f = join(dir, "cut.pcap");
    Deno.writeFileSync(f, cut);
    const st = await forEachPacket(f, () => {});
    assert.equal(st.packets, k);
    assert.equal(st.truncated, 1);
    await assert.rejects(() => forEachPacket(f, () => {}, { strict: true }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.location.offset, offs[k]);
      assert.equal(err.location.file, f);
      return true;
    });
  } finally {
    cleanup();
  }
});

Deno.test("damage: bad magic, empty file and a cut header are errors naming the file", async () => {
  assert.throws(
    () => collect(new TextEncoder().encode("id,label\n1,benign\n")),
    /not a capture file: expected pcap magic.*found 69 64 2c 6c/,
  );
  assert.throws(() => collect(new Uint8Array(0)), /empty file/);
  assert.throws(() => collect(Deno.readFileSync(PCAP).slice(0, 10)), /truncated pcap header: 10 of 24 bytes/);
  // A pcapng file cut inside its section header block is no more readable: an error too (it had been a
  // warning, exit 0, no packets). Cut after it, the blocks that arrived are read and the cut one counted.
  const ng = Deno.readFileSync(PCAPNG);
  const shb = pcapngBlocks(ng)[0].len;
  assert.throws(
    () => collect(ng.slice(0, 4)),
    /test\.pcap, byte offset 0: truncated pcapng section header block: 4 of 28 bytes/,
  );
  for (const cut of [8, 12, shb - 1]) {
    assert.throws(
      () => collect(ng.slice(0, cut)),
      new RegExp(`truncated pcapng section header block: ${cut} of ${shb} bytes`),
    );
  }
  const after = collect(ng.slice(0, pcapngBlocks(ng)[2].off + 10));
  assert.equal(after.stats.truncated, 1);
  await assert.rejects(() => forEachPacket("/nonexistent/x.pcap", () => {}), /x\.pcap: no such file/);
});

Deno.test("damage: absurd caplen in one pcap record: that record is skipped, the reader resynchronises", () => {
  const b = Deno.readFileSync(PCAP);
  const clean = collect(b).pkts;
  const offs = pcapRecordOffsets(b);
  const k = 100;
  const bad = b.slice();
  new DataView(bad.buffer).setUint32(offs[k] + 8, 0x7ffffff0, true);
  const { pkts, stats } = collect(bad);
  assert.equal(stats.damaged, 1);
  assert.equal(pkts.length, clean.length - 1);
  // Everything after the damaged record is recovered intact.
  for (let i = k; i < pkts.length; i++) assert.deepEqual(pkts[i].raw, clean[i + 1].raw);
  assert.ok(stats.skippedBytes >= 16);
  assert.equal(strictError(bad).location.offset, offs[k]);
  assert.match(strictError(bad).message, /record length 2147483632 exceeds the maximum/);
});

Deno.test("damage: a pcap record's caplen zeroed: the records after it are recovered, not lost to its bytes' garbage time", () => {
  // With caplen 0 the record's packet bytes are read as the next record header. Before, the time read from
  // them became the reference the resynchronisation compared every later record with: all but 2 of the
  // 606 packets were skipped as implausible, with exit 0.
  const b = Deno.readFileSync(PCAP);
  const clean = collect(b).pkts;
  const offs = pcapRecordOffsets(b);
  for (const k of [0, 1, 250]) {
    const bad = b.slice();
    new DataView(bad.buffer).setUint32(offs[k] + 8, 0, true);
    const { pkts, stats } = collect(bad);
    assert.equal(stats.damaged, 1, `record ${k}`);
    // Every record after the damaged one arrives intact (its bytes may have given one garbage packet).
    const tail = clean.slice(k + 1).map((q) => q.raw);
    assert.deepEqual(pkts.slice(-tail.length).map((q) => q.raw), tail, `record ${k}: the records after it`);
    assert.ok(pkts.length <= clean.length + 1, `record ${k}: ${pkts.length} packets`);
    assert.match(strictError(bad).message, /record length \d+ exceeds the maximum/);
  }
});

Deno.test("damage: caplen above a small snaplen is delivered and counted (not dropped)", () => {
  const b = Deno.readFileSync(PCAP).slice();
  new DataView(b.buffer).setUint32(16, 64, true); // header snaplen 64, records are longer
  const { pkts, stats } = collect(b);
  assert.equal(pkts.length, collect(Deno.readFileSync(PCAP)).pkts.length);
  assert.ok(stats.oversize > 0);
  assert.match(damageSummary(stats), /longer than the snaplen/);
});

Deno.test("damage: pcapng absurd block length, bad trailer and unknown interface: skip one block each, keep the rest", () => {
  const b = Deno.readFileSync(PCAPNG);
  const clean = collect(b).pkts;
  const blocks = pcapngBlocks(b);
  const epbs = blocks.filter((x) => x.type === 6);
  assert.equal(epbs.length, clean.length);
  const cases: [string, (dv: DataView, blk: { off: number; len: number }) => void, RegExp][] = [
    [
      "absurd length",
      (dv, blk) => dv.setUint32(blk.off + 4, 0xfffffff0, true),
      /block length 4294967280 is invalid/,
    ],
    ["odd length", (dv, blk) => dv.setUint32(blk.off + 4, blk.len + 2, true), /block length \d+ is invalid/],
    [
      "trailer",
      (dv, blk) => dv.setUint32(blk.off + blk.len - 4, 12345, true),
      /trailer length 12345 differs/,
    ],
    [
      "interface",
      (dv, blk) => dv.setUint32(blk.off + 8, 7, true),
      /packet for interface 7, but the section describes 1/,
    ],
    ["caplen", (dv, blk) => dv.setUint32(blk.off + 20, blk.len, true), /captured length \d+ does not fit/],
  ];
  for (const [what, mutate, msg] of cases) {
    const bad = b.slice();
    const k = 40;
    mutate(new DataView(bad.buffer), epbs[k]);
    const { pkts, stats } = collect(bad);
    assert.equal(stats.damaged, 1, what);
    assert.equal(pkts.length, clean.length - 1, what);
    for (let i = k; i < pkts.length; i++) assert.deepEqual(pkts[i].raw, clean[i + 1].raw, what);
    const e = strictError(bad);
    assert.equal(e.location.offset, epbs[k].off, what);
    assert.match(e.message, msg, what);
  }
});

Deno.test("damage: unknown pcapng blocks are skipped and counted; zero-length packets are delivered and counted", () => {
  const b = Deno.readFileSync(PCAPNG);
  const blocks = pcapngBlocks(b);
  const clean = collect(b).pkts;
  // Insert a custom block (type 0x40000BAD, 16 bytes + 4 body) after the IDB.
  const idbEnd = blocks.find((x) => x.type === 1)!;
  const cut = idbEnd.off + idbEnd.len;
  const custom = new Uint8Array(20);
  const dv = new DataView(custom.buffer);
  dv.setUint32(0, 0x40000bad, true);
  dv.setUint32(4, 20, true);
  dv.setUint32(8, 32473, true);
  dv.setUint32(16, 20, true);
  const withCustom = new Uint8Array([...b.subarray(0, cut), ...custom, ...b.subarray(cut)]);
  const r = collect(withCustom);
  assert.equal(r.pkts.length, clean.length);
  assert.ok(r.stats.skippedBlocks >= 1);
  assert.equal(r.stats.damaged, 0);
  // Zero-length frames between real ones (written by our pcap writer).
  const w = PcapWriter.inMemory({ linkType: 1 });
  for (const [i, p] of clean.slice(0, 20).entries()) {
    w.writePacket(p.tsUs, p.raw, p.wireLen);
    if (i % 5 === 0) w.writePacket(p.tsUs, new Uint8Array(0), 0);
  }
  const z = collect(w.toBytes());
  assert.equal(z.stats.empty, 4);
  assert.equal(z.pkts.length, 24);
  assert.ok(z.pkts.filter((p) => p.capLen === 0).every((p) => p.ipVersion === 0 && p.meterable === false));
});

Deno.test("damage: garbage inside valid frames never throws and keeps every record", async () => {
  const rng = new Rng(7);
  for (const f of [PCAP, PCAPNG]) {
    const clean = await readAllPackets(f);
    const b = Deno.readFileSync(f).slice();
    // Overwrite the bytes of every frame (headers intact) with random garbage.
    let n = 0;
    parseCaptureBytes(b, (p) => {
      const start = p.fileOffset + (f.endsWith("ng") ? 28 : 16);
      for (let i = 0; i < p.capLen; i++) b[start + i] = Math.floor(rng.next() * 256);
      n++;
    });
    const { pkts, stats } = collect(b);
    assert.equal(pkts.length, clean.length);
    assert.equal(n, clean.length);
    assert.equal(stats.damaged, 0);
    // Decoded fields stay in range.
    for (const p of pkts) {
      assert.ok(p.srcPort >= 0 && p.srcPort < 65536 && p.ipLen >= 0 && p.ipLen < 65576);
      if (p.ipVersion) assert.ok(p.ipOffset >= 0 && p.ipOffset < p.capLen);
      void p.srcIp, p.dstIp, p.srcMac, p.dstMac;
    }
  }
});
