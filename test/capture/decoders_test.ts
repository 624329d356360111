/**
 * Encapsulations that tshark decodes and no capture here holds: PPP with a 1-byte (compressed) protocol
 * field, VN-tag (EtherType 0x8926), 802.1BR E-tag (0x893F), NSH (RFC 8300, 0x894F) and VXLAN-GPE (UDP 4790,
 * carrying IPv4, IPv6, Ethernet, NSH or MPLS). tshark over data/pcaps, data/nfstream/pcaps,
 * ../shared/data/pcaps and ../shared/data/nfstream/pcaps finds none of them (nor PPPoE, VXLAN or any UDP
 * 4790 traffic), so the test captures are derived: real Ethernet frames from data/pcaps with the header
 * inserted after the MAC addresses (or the Ethernet header replaced by PPP framing), as reader_test.ts does
 * for QinQ/MPLS/PPPoE.
 * tshark judges what each derived frame means; nadir must find tshark's innermost IP packet.
 *
 * Hand-built fixtures (headers written here, around real frames):
 * - PPP/PPPoE framing with a 1-byte protocol, VN-tag, E-tag, NSH: the tag or header bytes below.
 * - VXLAN-GPE: the outer Ethernet + IPv4/IPv6 + UDP + VXLAN-GPE headers (and NSH inside) of
 *   {@link vxlanGpeFrame}; only the innermost frame is real.
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
  udpTunnelPorts: number[] = [],
): Promise<DecodedPacket[][]> {
  const srcs = variants.map((v) => orig.filter(v.keep ?? (() => true)));
  const frames = variants.flatMap((v, k) => srcs[k].map((p, i) => ({ tsUs: p.tsUs, data: v.derive(p, i) })));
  const f = join(dir, `derived-${linkType}.pcap`);
  writePcap(f, frames, { linkType });
  const pkts = await readAllPackets(f);
  const rows = tsharkInnermost(f, udpTunnelPorts);
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

/**
 * An NSH header behind its EtherType (0x89 0x4f first): base header (version 0, TTL 63, length in 4-byte
 * words, MD type, next protocol) and service path header (SPI 42, SI 255). Slice off the first 2 bytes where
 * NSH is not announced by an EtherType (NSH in NSH, in VXLAN-GPE).
 */
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
/** NSH MD type 1: 6 words, the last 4 fixed-length context headers. */
const md1 = (next: number) => [...nsh(6, 1, next), ...new Array(16).fill(0x5a)];
/** NSH MD type 2 with one 5-byte TLV (class 0x0101, type 7), padded to 8: 2 + 3 words. */
const md2 = (next: number) => [...nsh(5, 2, next), 0x01, 0x01, 0x07, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];

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

/** IANA's UDP port for VXLAN-GPE. */
const VXLAN_GPE = 4790;

/**
 * A hand-built VXLAN-GPE frame around `inner`: outer Ethernet (made-up MACs), IPv4 192.0.2.1 → 192.0.2.2 or
 * IPv6 2001:db8::1 → 2001:db8::2, UDP `srcPort` → `dstPort` (checksum 0), then the 8-byte VXLAN-GPE header:
 * flags (R R Ver I P B O; default 0x0c: version 0, I and P set), 2 reserved bytes, next protocol, VNI 4242 and
 * a reserved byte.
 */
function vxlanGpeFrame(
  next: number,
  inner: number[] | Uint8Array,
  opts: { v6?: boolean; flags?: number; srcPort?: number; dstPort?: number } = {},
): Uint8Array {
  const { v6 = false, flags = 0x0c, srcPort = VXLAN_GPE, dstPort = VXLAN_GPE } = opts;
  const gpe = [flags, 0, 0, next, 0x00, 0x10, 0x92, 0x00];
  const udpLen = 8 + gpe.length + inner.length;
  const udp = [srcPort >> 8, srcPort & 0xff, dstPort >> 8, dstPort & 0xff, udpLen >> 8, udpLen & 0xff, 0, 0];
  const ip = v6
    ? [
      0x60,
      0,
      0,
      0,
      udpLen >> 8,
      udpLen & 0xff,
      17,
      64,
      ...[0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1],
      ...[0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 2],
    ]
    : [
      0x45,
      0,
      (20 + udpLen) >> 8,
      (20 + udpLen) & 0xff,
      0,
      1,
      0,
      0,
      64,
      17,
      0,
      0,
      192,
      0,
      2,
      1,
      192,
      0,
      2,
      2,
    ];
  const eth = [0x02, 0, 0, 0, 0, 0x0a, 0x02, 0, 0, 0, 0, 0x0b, ...(v6 ? [0x86, 0xdd] : [0x08, 0x00])];
  return bytes(eth, ip, udp, gpe, inner);
}

testWhen(
  [needWireshark()],
  "decoders: VXLAN-GPE (UDP 4790) to IPv4, IPv6, Ethernet, MPLS and NSH (to IP and Ethernet), as tshark " +
    "(hand-built: no capture here has VXLAN-GPE or NSH)",
  async () => {
    // Hand-built fixture: the VXLAN-GPE, NSH and outer headers are written by vxlanGpeFrame around real frames
    // of data/pcaps; no real capture with VXLAN-GPE or NSH exists here (see the module comment).
    // Outer source port 4790 too: tshark is told to read every other UDP port as data, which would otherwise
    // claim the datagram by an ephemeral source port before 4790 is tried.
    const orig = await sourceFrames();
    const { dir, cleanup } = tempDir();
    try {
      const nextOf = (p: DecodedPacket) => (p.ipVersion === 4 ? 1 : 2);
      const ip = (p: DecodedPacket) => p.raw.subarray(14);
      const [, , eth, , , nshEth] = await check(
        dir,
        orig,
        [
          { name: "gpe-ip", keep: isIp, derive: (p) => vxlanGpeFrame(nextOf(p), ip(p)) },
          {
            name: "gpe-ip-over-ipv6",
            keep: isIp,
            derive: (p) => vxlanGpeFrame(nextOf(p), ip(p), { v6: true }),
          },
          // Ethernet: the inner frame, MACs included, is the packet.
          { name: "gpe-ethernet", keep: isIp, derive: (p) => vxlanGpeFrame(3, p.raw) },
          // MPLS (one label, bottom of stack) → IP.
          {
            name: "gpe-mpls",
            keep: isIp,
            derive: (p) => vxlanGpeFrame(5, bytes([0x00, 0x01, 0x01, 0x40], ip(p))),
          },
          // NSH MD type 1 and 2 → IP, and NSH → Ethernet (with an 802.1Q tag inside).
          {
            name: "gpe-nsh-md1",
            keep: isIp,
            derive: (p) => vxlanGpeFrame(4, bytes(md1(nextOf(p)).slice(2), ip(p))),
          },
          {
            name: "gpe-nsh-ethernet",
            keep: isIp,
            derive: (p) => vxlanGpeFrame(4, bytes(md1(3).slice(2), p.raw)),
          },
          {
            name: "gpe-nsh-md2-v6",
            keep: isIp,
            derive: (p) => vxlanGpeFrame(4, bytes(md2(nextOf(p)).slice(2), ip(p)), { v6: true }),
          },
          {
            name: "gpe-nsh-ethernet-vlan",
            keep: isIp,
            vlanId: 7,
            derive: (p) =>
              vxlanGpeFrame(
                4,
                bytes(md1(3).slice(2), p.raw.subarray(0, 12), [0x81, 0x00, 0x00, 0x07], p.raw.subarray(12)),
              ),
          },
        ],
        1,
        [VXLAN_GPE],
      );
      const ipFrames = orig.filter(isIp);
      for (let i = 0; i < ipFrames.length; i++) {
        assert.equal(eth[i].srcMac, ipFrames[i].srcMac, `gpe-ethernet #${i + 1}`);
        assert.equal(nshEth[i].srcMac, ipFrames[i].srcMac, `gpe-nsh-ethernet #${i + 1}`);
        assert.equal(eth[i].tunnelId, 0);
      }
      // A VXLAN-GPE datagram whose payload holds no IP packet (ARP in Ethernet): tshark's innermost IP header
      // is the outer one, and nadir keeps the outer UDP datagram as the packet.
      const arp = orig.filter((p) => !isIp(p));
      const f = join(dir, "gpe-arp.pcap");
      writePcap(f, arp.map((p) => ({ tsUs: p.tsUs, data: vxlanGpeFrame(3, p.raw) })));
      const pkts = await readAllPackets(f);
      // MACs aside: tshark's last eth.src is the ARP frame's, while the packet nadir keeps is the outer datagram.
      const rows = tsharkInnermost(f, [VXLAN_GPE]).map((r) => ({ ...r, srcMac: "" }));
      assert.equal(rows.length, arp.length);
      assert.ok(
        rows.every((r) => r.protocols.endsWith(":udp:eth:ethertype:arp")),
        "tshark opens every frame",
      );
      assert.deepEqual(innermostMismatches("gpe-arp", rows, pkts), []);
      for (const p of pkts) {
        assert.deepEqual([p.srcIp, p.dstIp, p.dstPort, p.meterable], [
          "192.0.2.1",
          "192.0.2.2",
          VXLAN_GPE,
          true,
        ]);
      }
    } finally {
      cleanup();
    }
  },
);

Deno.test("decoders: VXLAN-GPE with another version, without the P bit, an unknown next protocol, only a source port 4790 or cut short stays the outer UDP datagram", async () => {
  // Hand-built headers around real frames (see vxlanGpeFrame); the draft has receivers drop unknown versions
  // and requires the P bit, and the destination port names the protocol (the source port is entropy).
  const { decodeFrame, DecodedPacket } = await import("../../src/capture/decode.ts");
  const orig = (await sourceFrames()).filter((p) => p.ipVersion === 4).slice(0, 20);
  const p = new DecodedPacket();
  const outer = (what: string) => {
    assert.equal(p.ipVersion, 4, what);
    assert.equal(p.srcIp, "192.0.2.1", what);
    assert.equal(p.protocol, 17, what);
  };
  for (const o of orig) {
    const inner = o.raw.subarray(14);
    const cases: [string, Uint8Array][] = [
      ["version 1", vxlanGpeFrame(1, inner, { flags: 0x1c })],
      ["P bit clear", vxlanGpeFrame(1, inner, { flags: 0x08 })],
      ["next protocol 0", vxlanGpeFrame(0, inner)],
      ["next protocol 0x80", vxlanGpeFrame(0x80, inner)],
      ["source port 4790 only", vxlanGpeFrame(1, inner, { dstPort: 50000 })],
    ];
    for (const [what, f] of cases) {
      decodeFrame(p, f, 0, f.length, 1);
      outer(what);
    }
    // The same frame to port 4790 with a valid header is opened (the cases above differ only in that).
    const ok = vxlanGpeFrame(1, inner, { srcPort: 50000 });
    decodeFrame(p, ok, 0, ok.length, 1);
    assert.equal(p.srcIp, o.srcIp);
    assert.equal(p.srcPort, o.srcPort);
    // Cut anywhere: never throws; the packet is the outer datagram or nothing, never a partial inner one.
    const nshIn = vxlanGpeFrame(4, bytes(md1(3).slice(2), o.raw));
    for (let cut = 0; cut < 14 + 20 + 8 + 8 + 24 + 14 + 20; cut++) {
      decodeFrame(p, nshIn, 0, cut, 1);
      assert.ok(p.ipVersion === 0 || p.srcIp === "192.0.2.1", `cut at ${cut}: ${p.srcIp}`);
    }
  }
});
