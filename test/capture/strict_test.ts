/**
 * What the reader used to take silently or lose, made from real captures by overwriting header fields:
 * header versions and link-type bits libpcap rejects, out-of-range sub-second timestamps, and a length that
 * runs past the end of the file with valid records behind it. The default read warns, counts and goes on;
 * `strict` (and `nadir capture info --strict`) fails naming the file, the byte offset and the field.
 * Where tcpdump/tshark are installed, they confirm which headers libpcap and Wireshark reject.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type CaptureStats,
  damageSummary,
  type DecodedPacket,
  forEachPacket,
  parseCaptureBytes,
} from "../../src/capture/reader.ts";
import { InputError } from "../../src/util/errors.ts";
import { nadir, needPrograms, testWhen } from "../_shared.ts";
import { nfstreamPcap, tempDir, vendoredPcaps } from "./_util.ts";

const PCAP = vendoredPcaps().find((f) => f.endsWith("zeek-smtp.pcap"))!;
const PCAP_BIG = vendoredPcaps().find((f) => f.endsWith("zeek-ftp-bruteforce.pcap"))!;
const PCAPNG = vendoredPcaps().find((f) => f.endsWith("synscan.pcapng"))!;

function read(bytes: Uint8Array): { pkts: DecodedPacket[]; stats: CaptureStats } {
  const pkts: DecodedPacket[] = [];
  const stats = parseCaptureBytes(bytes, (p) => {
    pkts.push(p.clone());
  }, { name: "test.cap" });
  return { pkts, stats };
}

function strictError(bytes: Uint8Array): InputError {
  try {
    parseCaptureBytes(bytes, () => {}, { strict: true, name: "test.cap" });
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("strict read did not fail");
}

/** A copy of `b` with `set` applied to a DataView of it. */
function patched(b: Uint8Array, set: (dv: DataView) => void): Uint8Array {
  const out = b.slice();
  set(new DataView(out.buffer));
  return out;
}

/** Byte offsets of each record of a little-endian pcap. */
function pcapRecords(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let p = 24; p + 16 <= b.length; p += 16 + dv.getUint32(p + 8, true)) out.push(p);
  return out;
}

/** Blocks of a little-endian pcapng. */
function pcapngBlocks(b: Uint8Array): { off: number; type: number; len: number }[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = [];
  for (let p = 0; p + 12 <= b.length; p += dv.getUint32(p + 4, true)) {
    out.push({ off: p, type: dv.getUint32(p, true), len: dv.getUint32(p + 4, true) });
  }
  return out;
}

/** Every packet of `clean` read back from `bad` (same frames, same timestamps). */
function assertSamePackets(bad: DecodedPacket[], clean: DecodedPacket[], what: string) {
  assert.equal(bad.length, clean.length, what);
  for (let i = 0; i < clean.length; i++) {
    assert.deepEqual(bad[i].raw, clean[i].raw, `${what} #${i + 1}`);
    assert.equal(bad[i].tsUs, clean[i].tsUs, `${what} #${i + 1}`);
  }
}

const pcapVersion = (major: number, minor: number) => (dv: DataView) => {
  dv.setUint16(4, major, true);
  dv.setUint16(6, minor, true);
};
const pcapLinkType = (v: number) => (dv: DataView) => dv.setUint32(20, v >>> 0, true);
const ngVersion = (major: number, minor: number, at = 0) => (dv: DataView) => {
  dv.setUint16(at + 12, major, true);
  dv.setUint16(at + 14, minor, true);
};

/** Header variants: [name, file, patch, nadir warns, libpcap (tcpdump) and tshark reject the file]. */
const HEADERS: [string, string, (dv: DataView) => void, boolean, boolean][] = [
  ["pcap 1.4", PCAP, pcapVersion(1, 4), true, true],
  ["pcap 2.5", PCAP, pcapVersion(2, 5), true, true],
  ["pcap 3.0", PCAP, pcapVersion(3, 0), true, true],
  ["pcap 2.0", PCAP, pcapVersion(2, 0), false, false],
  ["pcap 2.3", PCAP, pcapVersion(2, 3), false, false],
  ["pcap 543.0 (DG/UX)", PCAP, pcapVersion(543, 0), false, false],
  ["pcap link type 0x00010001 (Reserved3)", PCAP, pcapLinkType(0x00010001), true, true],
  ["pcap link type 0x02000001 (Reserved3)", PCAP, pcapLinkType(0x02000001), true, true],
  ["pcap link type 0x08000001 (R)", PCAP, pcapLinkType(0x08000001), true, false],
  ["pcap link type 0x44000001 (FCS length 4, P set)", PCAP, pcapLinkType(0x44000001), false, false],
  ["pcapng 0.1", PCAPNG, ngVersion(0, 1), true, true],
  ["pcapng 1.1", PCAPNG, ngVersion(1, 1), true, true],
  ["pcapng 2.0", PCAPNG, ngVersion(2, 0), true, true],
  ["pcapng 1.2", PCAPNG, ngVersion(1, 2), false, false],
];

Deno.test("strict: header versions and link-type bits libpcap rejects are read with a warning; strict fails naming offset and field", () => {
  for (const [name, file, patch, warns] of HEADERS) {
    const clean = Deno.readFileSync(file);
    const bad = patched(clean, patch);
    const { pkts, stats } = read(bad);
    assertSamePackets(pkts, read(clean).pkts, name);
    assert.equal(stats.damaged + stats.truncated, 0, name);
    if (!warns) {
      assert.equal(stats.badHeaders, 0, name);
      assert.deepEqual(stats.warnings, [], name);
      parseCaptureBytes(bad, () => {}, { strict: true });
      continue;
    }
    assert.equal(stats.badHeaders, 1, name);
    assert.match(damageSummary(stats), /1 header field\(s\) that libpcap or Wireshark reject/, name);
    const e = strictError(bad);
    const field = file === PCAPNG
      ? { offset: 12, re: /pcapng section header field version is \d+\.\d+/ }
      : name.includes("link type")
      ? { offset: 20, re: /pcap header field link type is 0x[0-9a-f]{8}: reserved bits/ }
      : { offset: 4, re: /pcap header field version is \d+\.\d+/ };
    assert.equal(e.location.offset, field.offset, name);
    assert.match(e.message, new RegExp(`^test\\.cap, byte offset ${field.offset}: ${field.re.source}`), name);
    assert.match(stats.warnings[0], new RegExp(`^byte offset ${field.offset}: `), name);
  }
  // Specific wording: the version, libpcap's own complaint, and how nadir reads on.
  const v25 = strictError(patched(Deno.readFileSync(PCAP), pcapVersion(2, 5))).message;
  assert.match(v25, /version is 2\.5: libpcap rejects the file \("unsupported pcap savefile version 2\.5"/);
  const v14 = strictError(patched(Deno.readFileSync(PCAP), pcapVersion(1, 4))).message;
  assert.match(v14, /"archaic pcap savefile format"/);
  const lt = strictError(patched(Deno.readFileSync(PCAP), pcapLinkType(0x00010001))).message;
  assert.match(
    lt,
    /reserved bits 0x00010000 are set .*libpcap and tshark reject the file\); link type read as 1/,
  );
});

Deno.test("strict: a later pcapng section with a bad version is reported at its own offset; a short section header too", () => {
  const clean = Deno.readFileSync(PCAPNG);
  const two = new Uint8Array([...clean, ...patched(clean, ngVersion(1, 1))]);
  const { pkts, stats } = read(two);
  assert.equal(stats.sections, 2);
  assert.equal(pkts.length, 2 * read(clean).pkts.length);
  assert.equal(stats.badHeaders, 1);
  assert.equal(strictError(two).location.offset, clean.length + 12);
  // A big-endian section (a real one, from the NFStream subset) with version 1.1: read in its byte order.
  const be = Deno.readFileSync(nfstreamPcap("dhcp_big_endian.pcapng"));
  const beBad = patched(be, (dv) => dv.setUint16(14, 1, false));
  const r = read(beBad);
  assert.equal(r.stats.badHeaders, 1);
  assert.equal(r.pkts.length, read(be).pkts.length);
  assert.equal(read(be).stats.badHeaders, 0);
  assert.match(strictError(beBad).message, /byte offset 12: pcapng section header field version is 1\.1/);
  // A section header block of 24 bytes (below the 28-byte minimum) in front of a real file.
  const shb = patched(new Uint8Array(24), (dv) => {
    dv.setUint32(0, 0x0a0d0d0a, true);
    dv.setUint32(4, 24, true);
    dv.setUint32(8, 0x1a2b3c4d, true);
    dv.setUint32(20, 24, true);
  });
  const short = read(new Uint8Array([...shb, ...clean]));
  assert.equal(short.stats.badHeaders, 1);
  assert.match(
    short.stats.warnings[0],
    /^byte offset 0: section header block of 24 bytes is shorter than its 28-byte/,
  );
  assert.equal(short.pkts.length, read(clean).pkts.length);
});

testWhen(
  [needPrograms("tcpdump", "tshark")],
  "strict: tcpdump (libpcap) and tshark reject exactly the headers nadir says they reject",
  () => {
    const { dir, cleanup } = tempDir();
    try {
      for (const [name, file, patch, warns, rejected] of HEADERS) {
        const f = join(dir, file.endsWith("ng") ? "h.pcapng" : "h.pcap");
        Deno.writeFileSync(f, patched(Deno.readFileSync(file), patch));
        const tcpdump = new Deno.Command("tcpdump", { args: ["-nr", f], stdout: "null", stderr: "piped" })
          .outputSync();
        const tshark = new Deno.Command("tshark", { args: ["-r", f], stdout: "null", stderr: "piped" })
          .outputSync();
        assert.equal(
          !tcpdump.success,
          rejected,
          `${name}: tcpdump ${new TextDecoder().decode(tcpdump.stderr)}`,
        );
        // tshark reads pcap versions above 2.4 (libpcap does not); it agrees on the rest.
        if (name !== "pcap 2.5" && name !== "pcap 3.0") {
          assert.equal(!tshark.success, rejected, `${name}: tshark`);
        }
        if (rejected) assert.ok(warns, name);
      }
    } finally {
      cleanup();
    }
  },
);

Deno.test("strict: sub-second timestamp fields out of range (µs ≥ 10^6, ns ≥ 10^9) are counted and named; strict fails", () => {
  const clean = Deno.readFileSync(PCAP);
  const recs = pcapRecords(clean);
  const good = read(clean).pkts;
  // Microseconds: 10^6 exactly and 2^32 - 1 in two records.
  const bad = patched(clean, (dv) => {
    dv.setUint32(recs[10] + 4, 1_000_000, true);
    dv.setUint32(recs[50] + 4, 0xffffffff, true);
  });
  const { pkts, stats } = read(bad);
  assert.equal(pkts.length, good.length);
  assert.equal(stats.badTimestamps, 2);
  assert.equal(stats.damaged, 0);
  assert.match(
    stats.warnings[0],
    new RegExp(`^byte offset ${recs[10]}: record 11: timestamp field ts_usec is 1000000, not below 10\\^6`),
  );
  assert.match(stats.warnings[1], new RegExp(`^byte offset ${recs[50]}: record 51: .*ts_usec is 4294967295`));
  assert.match(damageSummary(stats), /2 record\(s\) with an invalid timestamp/);
  // Delivered with the excess carried into the seconds (what sec * 10^6 + usec gives every libpcap consumer).
  const sec = new DataView(clean.buffer).getUint32(recs[10], true);
  assert.equal(pkts[10].tsUs, (sec + 1) * 1e6);
  const e = strictError(bad);
  assert.equal(e.location.offset, recs[10]);
  assert.match(e.message, /^test\.cap, byte offset \d+: record 11: timestamp field ts_usec is 1000000/);
  // A real capture with one: the NFStream subset's fuzz-2021-06-07-c6c72a0a56.pcap (nDPI's fuzzing corpus).
  const real = read(Deno.readFileSync(nfstreamPcap("fuzz-2021-06-07-c6c72a0a56.pcap")));
  assert.equal(real.stats.badTimestamps, 1);
  assert.match(
    real.stats.warnings[0],
    /^byte offset 24: record 1: timestamp field ts_usec is 4293562680, not below/,
  );
  // 999,999 is valid.
  assert.equal(
    read(patched(clean, (dv) => dv.setUint32(recs[10] + 4, 999_999, true))).stats.badTimestamps,
    0,
  );

  // Nanoseconds: the same capture as a ns pcap (magic a1b23c4d, fractions × 1000).
  const ns = patched(clean, (dv) => {
    dv.setUint32(0, 0xa1b23c4d, true);
    for (const r of recs) dv.setUint32(r + 4, dv.getUint32(r + 4, true) * 1000, true);
  });
  const nsRead = read(ns);
  assert.equal(nsRead.stats.format, "pcap-ns");
  assert.equal(nsRead.stats.badTimestamps, 0);
  assertSamePackets(nsRead.pkts, good, "ns");
  const nsBad = patched(ns, (dv) => dv.setUint32(recs[7] + 4, 1_000_000_000, true));
  const r = read(nsBad);
  assert.equal(r.stats.badTimestamps, 1);
  assert.match(r.stats.warnings[0], /record 8: timestamp field ts_nsec is 1000000000, not below 10\^9/);
  assert.equal(strictError(nsBad).location.offset, recs[7]);
  // 999,999,999 ns is valid.
  assert.equal(
    read(patched(ns, (dv) => dv.setUint32(recs[7] + 4, 999_999_999, true))).stats.badTimestamps,
    0,
  );
});

Deno.test("strict: a pcapng block length running past the end of the file does not lose the blocks behind it", async () => {
  const clean = Deno.readFileSync(PCAPNG);
  const good = read(clean).pkts;
  assert.equal(good.length, 2011);
  const epbs = pcapngBlocks(clean).filter((b) => b.type === 6);
  const { dir, cleanup } = tempDir();
  try {
    // A middle EPB (and the first one) with a length below the 16 MiB block limit but beyond the file.
    for (const [k, len] of [[1005, 0x100000], [1005, 0xfffff0], [0, 0x200000]]) {
      const blk = epbs[k];
      const bad = patched(clean, (dv) => dv.setUint32(blk.off + 4, len, true));
      const { pkts, stats } = read(bad);
      const what = `EPB ${k} length ${len}`;
      assert.equal(pkts.length, 2010, what);
      assertSamePackets(pkts, [...good.slice(0, k), ...good.slice(k + 1)], what);
      assert.equal(stats.damaged, 1, what);
      assert.equal(stats.truncated, 0, what);
      assert.ok(stats.skippedBytes >= blk.len - 1 && stats.skippedBytes < blk.len + 4, what);
      assert.match(
        stats.warnings[0],
        new RegExp(`^byte offset ${blk.off}: block length ${len} runs past the end`),
      );
      const e = strictError(bad);
      assert.equal(e.location.offset, blk.off, what);
      // The streaming reader (64 KiB buffer, grown to the claimed length) recovers the same packets.
      const f = join(dir, "bad.pcapng");
      Deno.writeFileSync(f, bad);
      let n = 0;
      const st = await forEachPacket(f, () => {
        n++;
      }, { chunkSize: 64 * 1024 });
      assert.equal(n, 2010, `${what}: streaming`);
      assert.equal(st.damaged, 1);
    }
    // The last block with such a length: nothing follows, so the file is truncated there (as before).
    const last = epbs[epbs.length - 1];
    const cut = read(patched(clean, (dv) => dv.setUint32(last.off + 4, 0x100000, true)));
    assert.equal(cut.pkts.length, 2010);
    assert.equal(cut.stats.truncated, 1);
    assert.equal(cut.stats.damaged, 0);
    // A file really cut inside a block is still truncation.
    const trunc = read(clean.slice(0, epbs[1500].off + 40));
    assert.equal(trunc.pkts.length, 1500);
    assert.equal(trunc.stats.truncated, 1);
    assert.equal(trunc.stats.damaged, 0);
  } finally {
    cleanup();
  }
});

Deno.test("strict: a pcap record length running past the end of the file does not lose the records behind it", () => {
  const clean = Deno.readFileSync(PCAP_BIG);
  const good = read(clean).pkts;
  const recs = pcapRecords(clean);
  const k = 300;
  // 200,000 is below the 262,144 maximum, but more than the 55 KB file holds.
  const bad = patched(clean, (dv) => dv.setUint32(recs[k] + 8, 200_000, true));
  const { pkts, stats } = read(bad);
  assertSamePackets(pkts, [...good.slice(0, k), ...good.slice(k + 1)], "pcap");
  assert.equal(stats.damaged, 1);
  assert.equal(stats.truncated, 0);
  assert.match(
    stats.warnings[0],
    new RegExp(`^byte offset ${recs[k]}: record length 200000 runs past the end`),
  );
  assert.equal(strictError(bad).location.offset, recs[k]);
  // Really cut: truncation.
  const trunc = read(clean.slice(0, recs[k] + 30));
  assert.equal(trunc.pkts.length, k);
  assert.equal(trunc.stats.truncated, 1);
  assert.equal(trunc.stats.damaged, 0);
});

Deno.test("strict: nadir capture info warns about a bad header and timestamp; --strict exits 1 naming file, offset and field", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const f = join(dir, "v25.pcap");
    const recs = pcapRecords(Deno.readFileSync(PCAP));
    Deno.writeFileSync(
      f,
      patched(Deno.readFileSync(PCAP), (dv) => {
        pcapVersion(2, 5)(dv);
        dv.setUint32(recs[3] + 4, 2_000_000, true);
      }),
    );
    const warn = await nadir("capture", "info", f, "--json");
    assert.equal(warn.code, 0, warn.stderr);
    const info = JSON.parse(warn.stdout);
    assert.equal(info.packets, 125);
    assert.equal(info.badHeaders, 1);
    assert.equal(info.badTimestamps, 1);
    assert.match(
      warn.stderr,
      /warning: .*v25\.pcap: .*1 header field\(s\) .*1 record\(s\) with an invalid timestamp/,
    );
    assert.match(warn.stderr, /first: byte offset 4: pcap header field version is 2\.5/);
    const strict = await nadir("capture", "info", f, "--strict");
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /^nadir: .*v25\.pcap, byte offset 4: pcap header field version is 2\.5/m);
    assert.doesNotMatch(strict.stderr, /at .*\.ts:\d+/);
  } finally {
    cleanup();
  }
});
