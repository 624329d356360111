/**
 * Encapsulations that tshark decodes and no capture here holds: PPP with a 1-byte (compressed) protocol
 * field, VN-tag (EtherType 0x8926), 802.1BR E-tag (0x893F) and NSH (RFC 8300, 0x894F). tshark over
 * data/pcaps, data/nfstream/pcaps and ../shared/data/pcaps finds none of them (nor PPPoE), so the test
 * captures are derived: real Ethernet frames from data/pcaps with the header inserted after the MAC
 * addresses (or the Ethernet header replaced by PPP framing), as reader_test.ts does for QinQ/MPLS/PPPoE.
 * tshark judges what each derived frame means; nadir must find tshark's innermost IP packet.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type DecodedPacket, readAllPackets } from "../../src/capture/reader.ts";
import { writePcap } from "../../src/capture/writer.ts";
import { testWhen } from "../_shared.ts";
import { innermostMismatches, needWireshark, tempDir, tsharkInnermost, vendoredPcaps } from "./_util.ts";

/** Real frames: every TCP/UDP frame (IPv4 and IPv6) of a capture with both, and its ARP frames (non-IP). */
async function sourceFrames(): Promise<DecodedPacket[]> {
  const src = vendoredPcaps().find((f) => f.endsWith("stratosphere-test7-malicious.pcap"))!;
  const all = await readAllPackets(src);
  const v4 = all.filter((p) => p.ipVersion === 4 && (p.protocol === 6 || p.protocol === 17)).slice(0, 150);
  const v6 = all.filter((p) => p.ipVersion === 6 && p.protocol === 17);
  const arp = all.filter((p) => p.ipVersion === 0).slice(0, 10);
  assert.ok(v6.length >= 40 && arp.length >= 5, "source capture has IPv6 and ARP frames");
  return [...v4, ...v6, ...arp].sort((a, b) => a.fileOffset - b.fileOffset);
}

const bytes = (...parts: (number[] | Uint8Array)[]) => new Uint8Array(parts.flatMap((x) => [...x]));

type Derive = (p: DecodedPacket, i: number) => Uint8Array;

/** One derived encapsulation: how to build a frame from a real one, and which real frames to use. */
interface Variant {
  name: string;
  derive: Derive;
  /** Real frames to derive from (default all). */
  keep?: (p: DecodedPacket) => boolean;
  /** VLAN id the derived IP packets must carry (default 0). */
  vlanId?: number;
}

/**
 * Writes every variant's frames into one capture of `linkType` (one tshark run), reads it back and checks
 * each frame against tshark's innermost packet and against the decode of the real frame it came from.
 * Returns the decoded packets per variant.
 */
async function check(
  dir: string,
  orig: DecodedPacket[],
  variants: Variant[],
  linkType = 1,
): Promise<DecodedPacket[][]> {
  const srcs = variants.map((v) => orig.filter(v.keep ?? (() => true)));
  const frames = variants.flatMap((v, k) => srcs[k].map((p, i) => ({ tsUs: p.tsUs, data: v.derive(p, i) })));
  const f = join(dir, `derived-${linkType}.pcap`);
  writePcap(f, frames, { linkType });
  const pkts = await readAllPackets(f);
  const rows = tsharkInnermost(f);
  assert.equal(pkts.length, frames.length);
  const out: DecodedPacket[][] = [];
  let at = 0;
  for (const [k, v] of variants.entries()) {
    const src = srcs[k], n = src.length;
    const mine = pkts.slice(at, at + n), theirs = rows.slice(at, at + n);
    at += n;
    assert.deepEqual(innermostMismatches(v.name, theirs, mine).slice(0, 5), [], v.name);
    // tshark must find the inner packet of every IP frame too (else the derivation, not nadir, is wrong).
    assert.equal(
      theirs.filter((r) => r.ipVersion).length,
      src.filter((p) => p.ipVersion).length,
      `${v.name}: tshark`,
    );
    for (let i = 0; i < n; i++) {
      const a = src[i], b = mine[i], at = `${v.name} #${i + 1}`;
      assert.equal(b.ipVersion, a.ipVersion, at);
      if (!a.ipVersion) continue;
      assert.equal(b.srcIp, a.srcIp, at);
      assert.equal(b.srcPort, a.srcPort, at);
      assert.equal(b.dstPort, a.dstPort, at);
      assert.equal(b.protocol, a.protocol, at);
      assert.equal(b.payloadLen, a.payloadLen, at);
      assert.equal(b.meterable, a.meterable, at);
      assert.equal(b.vlanId, v.vlanId ?? 0, at);
    }
    out.push(mine);
  }
  return out;
}

const isIp = (p: DecodedPacket) => p.ipVersion !== 0;

testWhen(
  [needWireshark()],
  "decoders: PPP with a 1-byte protocol field (PPPoE sessions, LINKTYPE_PPP, PPP in HDLC framing) as tshark",
  async () => {
    const orig = await sourceFrames();
    const { dir, cleanup } = tempDir();
    try {
      // PPPoE session whose PPP protocol is compressed to one byte (0x21 IPv4, 0x57 IPv6).
      await check(dir, orig, [{
        name: "pppoe-pfc",
        derive: (p) => {
          const r = p.raw;
          if (!p.ipVersion) return r;
          const ip = r.subarray(14), plen = ip.length + 1;
          const session = [0x88, 0x64, 0x11, 0x00, 0x12, 0x34, plen >> 8, plen & 0xff];
          return bytes(r.subarray(0, 12), session, [p.ipVersion === 4 ? 0x21 : 0x57], ip);
        },
      }]);
      const proto = (p: DecodedPacket) => (p.ipVersion === 4 ? 0x21 : 0x57);
      // LINKTYPE_PPP (9): with and without address/control (ff 03), 1- and 2-byte protocol fields, in turn.
      await check(dir, orig, [{
        name: "ppp-pfc",
        keep: isIp,
        derive: (p, i) => {
          const framing = [[0xff, 0x03, proto(p)], [proto(p)], [0xff, 0x03, 0x00, proto(p)], [
            0x00,
            proto(p),
          ]];
          return bytes(framing[i % 4], p.raw.subarray(14));
        },
      }], 9);
      // LINKTYPE_PPP_HDLC (50): ff 03 and a compressed protocol.
      await check(dir, orig, [{
        name: "ppp-hdlc-pfc",
        keep: isIp,
        derive: (p) => bytes([0xff, 0x03, proto(p)], p.raw.subarray(14)),
      }], 50);
    } finally {
      cleanup();
    }
  },
);

testWhen(
  [needWireshark()],
  "decoders: VN-tag (0x8926) and 802.1BR E-tag (0x893F), alone and before an 802.1Q tag, as tshark",
  async () => {
    const orig = await sourceFrames();
    const { dir, cleanup } = tempDir();
    try {
      const vntag = [0x89, 0x26, 0x80, 0x05, 0x20, 0x07]; // 0x8926, then d/p/dst vif, l/r/ver/src vif
      const etag = [0x89, 0x3f, 0x30, 0x0a, 0x10, 0x2b, 0x00, 0x00]; // 0x893F, then the 6-byte E-TCI
      const dot1q = [0x81, 0x00, 0x00, 0x2a]; // VLAN 42
      const insert = (tag: number[]) => (p: DecodedPacket) =>
        bytes(p.raw.subarray(0, 12), tag, p.raw.subarray(12));
      await check(dir, orig, [
        { name: "vntag", derive: insert(vntag) },
        { name: "etag", derive: insert(etag) },
        { name: "vntag-vlan", derive: insert([...vntag, ...dot1q]), vlanId: 42 },
        { name: "etag-vlan", derive: insert([...etag, ...dot1q]), vlanId: 42 },
        { name: "vlan-etag", derive: insert([...dot1q, ...etag]), vlanId: 42 },
      ]);
    } finally {
      cleanup();
    }
  },
);

testWhen(
  [needWireshark()],
  "decoders: NSH (0x894F, RFC 8300) with MD type 1 and 2 to IPv4, IPv6, MPLS and Ethernet, as tshark",
  async () => {
    const orig = await sourceFrames();
    const { dir, cleanup } = tempDir();
    try {
      // Base header: version 0, TTL 63, length in 4-byte words; MD type; next protocol. Service path: SPI 42, SI 255.
      const nsh = (words: number, md: number, next: number) => [
        0x89,
        0x4f,
        0x0f,
        0xc0 | words,
        md,
        next,
        0x00,
        0x00,
        0x2a,
        0xff,
      ];
      const md1 = (next: number) => [...nsh(6, 1, next), ...new Array(16).fill(0x5a)];
      // MD type 2 with one 5-byte TLV (class 0x0101, type 7), padded to 8: 2 + 3 words.
      const md2 = (next: number) => [...nsh(5, 2, next), 0x01, 0x01, 0x07, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];
      const nextOf = (p: DecodedPacket) => (p.ipVersion === 4 ? 1 : 2);
      const mac = (p: DecodedPacket) => p.raw.subarray(0, 12);
      const outer = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2]; // other MACs around an inner frame
      const [, , , eth] = await check(dir, orig, [
        { name: "nsh-md1", keep: isIp, derive: (p) => bytes(mac(p), md1(nextOf(p)), p.raw.subarray(14)) },
        { name: "nsh-md2", keep: isIp, derive: (p) => bytes(mac(p), md2(nextOf(p)), p.raw.subarray(14)) },
        // NSH → MPLS (one label, bottom of stack) → IP.
        {
          name: "nsh-mpls",
          keep: isIp,
          derive: (p) => bytes(mac(p), md1(5), [0x00, 0x01, 0x01, 0x40], p.raw.subarray(14)),
        },
        // NSH → the whole original Ethernet frame: the inner MACs are the packet's.
        { name: "nsh-ethernet", derive: (p) => bytes(outer, md1(3), p.raw) },
        // NSH → NSH → IP, and NSH → Ethernet with an 802.1Q tag inside.
        {
          name: "nsh-nsh",
          keep: isIp,
          derive: (p) => bytes(mac(p), md1(4), md1(nextOf(p)).slice(2), p.raw.subarray(14)),
        },
        {
          name: "nsh-ethernet-vlan",
          vlanId: 7,
          derive: (p) =>
            bytes(outer, md1(3), p.raw.subarray(0, 12), [0x81, 0x00, 0x00, 0x07], p.raw.subarray(12)),
        },
      ]);
      for (let i = 0; i < orig.length; i++) {
        if (orig[i].ipVersion) assert.equal(eth[i].srcMac, orig[i].srcMac);
      }
    } finally {
      cleanup();
    }
  },
);

Deno.test("decoders: truncated VN-tag, E-tag, NSH and PPPoE headers leave the packet non-IP, never throw", async () => {
  const orig = (await sourceFrames()).filter(isIp).slice(0, 20);
  const { decodeFrame, DecodedPacket } = await import("../../src/capture/decode.ts");
  const headers = [
    [0x89, 0x26, 0x80, 0x05, 0x20, 0x07, 0x08, 0x00],
    [0x89, 0x3f, 0x30, 0x0a, 0x10, 0x2b, 0x00, 0x00, 0x08, 0x00],
    [0x89, 0x4f, 0x0f, 0xc6, 0x01, 0x01, 0, 0, 0x2a, 0xff, ...new Array(16).fill(0)],
    [0x89, 0x4f, 0x0f, 0xff, 0x02, 0x03, 0, 0, 0x2a, 0xff], // length 63 words: runs past the frame
    [0x88, 0x64, 0x11, 0x00, 0x12, 0x34, 0x00, 0x10, 0x21],
  ];
  const p = new DecodedPacket();
  for (const o of orig) {
    for (const h of headers) {
      const full = bytes(o.raw.subarray(0, 12), h);
      for (let cut = 12; cut <= full.length; cut++) {
        decodeFrame(p, full, 0, cut, 1);
        assert.equal(p.ipVersion, 0, `${h[0].toString(16)}${h[1].toString(16)} cut at ${cut}`);
      }
    }
  }
});
