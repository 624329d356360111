/**
 * Frame decoder: link layer → (tunnels) → IP → transport, filling a
 * {@link DecodedPacket} in place so the hot read loop allocates nothing per
 * packet. Addresses and MACs are formatted lazily (only when a consumer reads
 * `srcIp`, `dstMac`, ...), `raw` is a view made on first access.
 *
 * What counts as "the packet" follows NFStream's engine (nfstream/engine/
 * engine_cc.c, `packet_process`) so flows keyed on these fields agree with
 * NFStream's ground truth:
 * - VLAN: the id of the innermost 802.1Q tag (NFStream overwrites it per tag);
 *   0x88a8/0x9100 S-tags are also walked (NFStream does not know them).
 * - MPLS label stacks and PPPoE session headers are skipped; the IP version
 *   nibble then decides IPv4/IPv6.
 * - VN-tags (0x8926), 802.1BR E-tags (0x893F) and NSH (0x894F, RFC 8300) are
 *   walked to the packet they carry (NSH over Ethernet: the inner frame is
 *   the packet); NFStream knows none of them. VXLAN-GPE (UDP 4790, version 0
 *   with the P bit) is opened by its next protocol (IPv4, IPv6, Ethernet,
 *   NSH, MPLS) the same way; `tunnelId` stays 0 as NFStream has no number for it. PPP protocol fields compressed
 *   to one byte (RFC 1661 PFC) are read, in PPPoE and on PPP links.
 * - IP-in-IP, 6in4, 4in6, 6in6: the innermost IP header is the packet.
 * - GTP-U (UDP 2152, v1 T-PDU), TZSP (UDP 37008, Ethernet encapsulation) and
 *   CAPWAP data (UDP 5247, 802.11 + LLC/SNAP): the inner packet is the packet
 *   and `tunnelId` is NFStream's tunnel type (1 GTP, 2 CAPWAP, 3 TZSP).
 * - `meterable` is false where NFStream's packet_process drops the frame
 *   (shorter than link offset + 28, later IPv4 fragment behind an IPv4
 *   ethertype, IPv4 total length shorter than its header, IPv6 payload beyond
 *   the captured bytes, ...).
 *
 * @module
 */
import type { Packet } from "./packet.ts";

/** LINKTYPE_* numbers this decoder understands. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  PPP: 9,
  RAW_OPENBSD: 12,
  RAW_BSDOS: 14,
  PPP_HDLC: 50,
  RAW: 101,
  C_HDLC: 104,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const DECODED = new Set<number>(Object.values(LINKTYPE));

/**
 * Whether the decoder reads frames of this link type (one of {@link LINKTYPE}); any other gives packets
 * without IP fields, which a meter counts as non-IP.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodesLinkType } from "./decode.ts";
 * assert.equal(decodesLinkType(1), true); // Ethernet
 * assert.equal(decodesLinkType(127), false); // 802.11 radiotap
 * ```
 */
export function decodesLinkType(linkType: number): boolean {
  return DECODED.has(linkType);
}

/** NFStream's tunnel type numbers (engine_cc.c `nfstream_packet_tunnel`). */
export const TUNNEL = { NONE: 0, GTP: 1, CAPWAP: 2, TZSP: 3 } as const;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Formats 4 bytes as dotted-quad IPv4. */
export function formatIpv4(b: Uint8Array, o: number): string {
  return b[o] + "." + b[o + 1] + "." + b[o + 2] + "." + b[o + 3];
}

/**
 * Formats 16 bytes as an IPv6 address the way inet_ntop does (RFC 5952:
 * lower case, longest run of ≥ 2 zero groups as `::`, IPv4-mapped tail).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatIpv6 } from "./decode.ts";
 * const b = new Uint8Array(16); b[15] = 1;
 * assert.equal(formatIpv6(b, 0), "::1");
 * ```
 */
export function formatIpv6(b: Uint8Array, o: number): string {
  return formatIpv6Words(word(b, o), word(b, o + 4), word(b, o + 8), word(b, o + 12));
}

/** The big-endian 32-bit word at `o`. */
function word(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** {@link formatIpv6} of the address whose four big-endian 32-bit words are `w0`…`w3`. */
export function formatIpv6Words(w0: number, w1: number, w2: number, w3: number): string {
  const t = V6_TEXT, n = writeIpv6Text(t, 0, w0, w1, w2, w3);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(t[i]);
  return s;
}
const V6_TEXT = new Uint8Array(40);

/** Lower-case hex digits as bytes. */
const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");
/** Scratch of {@link writeIpv6Text}: the eight 16-bit groups. */
const GROUPS = new Int32Array(8);

/**
 * Writes the text of an IPv6 address (as {@link formatIpv6}) given its four big-endian 32-bit words, as
 * ASCII bytes at `p` of `out` (at most 39 bytes); returns the end. A CSV or Arrow writer puts a flow's
 * address straight into its buffer this way, with no string made for it.
 */
export function writeIpv6Text(
  out: Uint8Array,
  p: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): number {
  const g = GROUPS;
  g[0] = w0 >>> 16, g[1] = w0 & 0xffff, g[2] = w1 >>> 16, g[3] = w1 & 0xffff;
  g[4] = w2 >>> 16, g[5] = w2 & 0xffff, g[6] = w3 >>> 16, g[7] = w3 & 0xffff;
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1, bestLen = 0;
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms as inet_ntop prints them.
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
    out[p++] = 58, out[p++] = 58;
    if (bestLen === 5) {
      for (let k = 0; k < 4; k++) out[p++] = 102; // "ffff"
      out[p++] = 58;
    }
    return writeIpv4Text(out, p, w3);
  }
  const gapEnd = bestStart + bestLen;
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out[p++] = 58, out[p++] = 58;
      i = gapEnd - 1;
      continue;
    }
    if (i !== 0 && i !== gapEnd) out[p++] = 58;
    const x = g[i];
    if (x >= 0x1000) out[p++] = HEX_DIGITS[x >>> 12];
    if (x >= 0x100) out[p++] = HEX_DIGITS[(x >>> 8) & 15];
    if (x >= 0x10) out[p++] = HEX_DIGITS[(x >>> 4) & 15];
    out[p++] = HEX_DIGITS[x & 15];
  }
  return p;
}

/**
 * Writes an IPv4 address (an unsigned 32-bit number, or its int32 bits) as a dotted quad of ASCII bytes at
 * `p` of `out` (at most 15 bytes); returns the end.
 */
export function writeIpv4Text(out: Uint8Array, p: number, x: number): number {
  for (let shift = 24; shift >= 0; shift -= 8) {
    const v = (x >>> shift) & 255;
    if (v >= 100) {
      const h = (v / 100) | 0, t = ((v / 10) | 0) % 10;
      out[p++] = 48 + h, out[p++] = 48 + t, out[p++] = 48 + v % 10;
    } else if (v >= 10) {
      const t = (v / 10) | 0;
      out[p++] = 48 + t, out[p++] = 48 + v - 10 * t;
    } else out[p++] = 48 + v;
    if (shift !== 0) out[p++] = 46; // "."
  }
  return p;
}

/** Formats 6 bytes as a lower-case colon-separated MAC address. */
export function formatMac(b: Uint8Array, o: number): string {
  return HEX[b[o]] + ":" + HEX[b[o + 1]] + ":" + HEX[b[o + 2]] + ":" + HEX[b[o + 3]] + ":" + HEX[b[o + 4]] +
    ":" +
    HEX[b[o + 5]];
}

const EMPTY = new Uint8Array(0);

/** Bump allocator for copied frame bytes: packets cloned into it share large blocks. */
export class ByteArena {
  buf: Uint8Array;
  private pos = 0;
  constructor(private readonly blockSize = 1 << 20) {
    this.buf = new Uint8Array(blockSize);
  }
  /** Copies `src[off, off + len)` into the current block (a new one when full); returns its offset. */
  put(src: Uint8Array, off: number, len: number): number {
    if (this.pos + len > this.buf.length) {
      this.buf = new Uint8Array(Math.max(this.blockSize, len));
      this.pos = 0;
    }
    const at = this.pos;
    this.buf.set(src.subarray(off, off + len), at);
    this.pos += len;
    return at;
  }
}

/**
 * A packet decoded in place. The reader reuses one instance per stream in its
 * fast path ({@link forEachPacket}); `readPackets` yields independent copies.
 * Getters format addresses on first access and cache them.
 */
export class DecodedPacket implements Packet {
  tsUs = 0;
  wireLen = 0;
  capLen = 0;
  ifIndex = 0;
  linkType = 0;
  vlanId = 0;
  ipVersion: 0 | 4 | 6 = 0;
  protocol = 0;
  srcPort = 0;
  dstPort = 0;
  ipLen = 0;
  ttl = 0;
  transportHeaderLen = 0;
  payloadLen = 0;
  tcpFlags = 0;
  tcpWindow = 0;
  icmpType = -1;
  icmpCode = -1;
  fragment = false;
  laterFragment = false;
  tunnelId = 0;
  meterable = false;
  ipOffset = -1;
  transportOffset = -1;
  srcIp4 = 0;
  dstIp4 = 0;
  /** Byte offset of this record in the capture file (-1 for live/in-memory sources). */
  fileOffset = -1;
  /** Frame bytes live in `_buf[_off, _off + capLen)`. */
  _buf: Uint8Array = EMPTY;
  _off = 0;
  /** Offset (in `_buf`) of the MAC pair (dst then src, 12 bytes), -1 when none; -2 = 802.11 (addr1/addr2/addr3). */
  _macOff = -1;
  private _raw: Uint8Array | undefined = undefined;
  private _srcIp: string | undefined = undefined;
  private _dstIp: string | undefined = undefined;

  /** Raw frame bytes (a view: copy to keep past the callback in the fast path). */
  get raw(): Uint8Array {
    return this._raw ??= this._buf.subarray(this._off, this._off + this.capLen);
  }
  get srcIp(): string {
    return this._srcIp ??= this.ipText(12, 8);
  }
  get dstIp(): string {
    return this._dstIp ??= this.ipText(16, 24);
  }
  /** An address as text, given its offset in an IPv4 and in an IPv6 header ("" without IP). */
  private ipText(v4Offset: number, v6Offset: number): string {
    const o = this._off + this.ipOffset;
    return this.ipVersion === 4
      ? formatIpv4(this._buf, o + v4Offset)
      : this.ipVersion === 6
      ? formatIpv6(this._buf, o + v6Offset)
      : "";
  }
  get srcMac(): string | undefined {
    const o = this.srcMacOffset();
    return o < 0 ? undefined : formatMac(this._buf, o);
  }
  get dstMac(): string | undefined {
    const o = this.dstMacOffset();
    return o < 0 ? undefined : formatMac(this._buf, o);
  }
  /** Offset in `_buf` of the 6 source MAC bytes, -1 when the frame has none (lets a consumer skip formatting). */
  srcMacOffset(): number {
    const m = this._macOff;
    return m === -1 ? -1 : this._off + (m >= 0 ? m + 6 : -m - 2 + 10);
  }
  /** Offset in `_buf` of the 6 destination MAC bytes, -1 when the frame has none. */
  dstMacOffset(): number {
    const m = this._macOff;
    return m === -1 ? -1 : this._off + (m >= 0 ? m : -m - 2 + 16);
  }

  /**
   * A self-contained copy (own bytes, independent of the reader's buffer).
   * With an `arena`, the frame bytes are copied into a shared block instead of
   * a fresh buffer per packet (much cheaper for many small packets).
   */
  clone(arena?: ByteArena): DecodedPacket {
    const c = new DecodedPacket();
    c.tsUs = this.tsUs;
    c.wireLen = this.wireLen;
    c.capLen = this.capLen;
    c.ifIndex = this.ifIndex;
    c.linkType = this.linkType;
    c.vlanId = this.vlanId;
    c.ipVersion = this.ipVersion;
    c.protocol = this.protocol;
    c.srcPort = this.srcPort;
    c.dstPort = this.dstPort;
    c.ipLen = this.ipLen;
    c.ttl = this.ttl;
    c.transportHeaderLen = this.transportHeaderLen;
    c.payloadLen = this.payloadLen;
    c.tcpFlags = this.tcpFlags;
    c.tcpWindow = this.tcpWindow;
    c.icmpType = this.icmpType;
    c.icmpCode = this.icmpCode;
    c.fragment = this.fragment;
    c.laterFragment = this.laterFragment;
    c.tunnelId = this.tunnelId;
    c.meterable = this.meterable;
    c.ipOffset = this.ipOffset;
    c.transportOffset = this.transportOffset;
    c.srcIp4 = this.srcIp4;
    c.dstIp4 = this.dstIp4;
    c.fileOffset = this.fileOffset;
    c._macOff = this._macOff;
    if (arena) {
      c._off = arena.put(this._buf, this._off, this.capLen);
      c._buf = arena.buf;
    } else {
      c._buf = this._buf.slice(this._off, this._off + this.capLen);
      c._off = 0;
    }
    c._srcIp = this._srcIp;
    c._dstIp = this._dstIp;
    return c;
  }

  /** Plain-object form (for JSON, tests and structured clone). */
  toJSON(): Packet {
    return {
      tsUs: this.tsUs,
      wireLen: this.wireLen,
      capLen: this.capLen,
      ifIndex: this.ifIndex,
      linkType: this.linkType,
      srcMac: this.srcMac,
      dstMac: this.dstMac,
      vlanId: this.vlanId,
      ipVersion: this.ipVersion,
      srcIp: this.srcIp,
      dstIp: this.dstIp,
      protocol: this.protocol,
      srcPort: this.srcPort,
      dstPort: this.dstPort,
      ipLen: this.ipLen,
      ttl: this.ttl,
      transportHeaderLen: this.transportHeaderLen,
      payloadLen: this.payloadLen,
      tcpFlags: this.tcpFlags,
      tcpWindow: this.tcpWindow,
      icmpType: this.icmpType,
      icmpCode: this.icmpCode,
      fragment: this.fragment,
      laterFragment: this.laterFragment,
      tunnelId: this.tunnelId,
      meterable: this.meterable,
    };
  }

  /** Clears every decoded field and points the packet at a new frame. */
  reset(buf: Uint8Array, off: number, capLen: number): void {
    this._buf = buf;
    this._off = off;
    this.capLen = capLen;
    this._raw = undefined;
    this._srcIp = undefined;
    this._dstIp = undefined;
    this._macOff = -1;
    this.vlanId = 0;
    this.ipVersion = 0;
    this.protocol = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.ipLen = 0;
    this.ttl = 0;
    this.transportHeaderLen = 0;
    this.payloadLen = 0;
    this.tcpFlags = 0;
    this.tcpWindow = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.fragment = false;
    this.laterFragment = false;
    this.tunnelId = 0;
    this.meterable = false;
    this.ipOffset = -1;
    this.transportOffset = -1;
    this.srcIp4 = 0;
    this.dstIp4 = 0;
  }
}

const ETH_IP = 0x0800, ETH_IP6 = 0x86dd;

/**
 * Decodes the frame `buf[off, off + capLen)` of link type `linkType` into `p`
 * (after {@link DecodedPacket.reset}). Never throws: garbage leaves the packet
 * non-IP (`ipVersion 0`) or not meterable.
 */
export function decodeFrame(
  p: DecodedPacket,
  buf: Uint8Array,
  off: number,
  capLen: number,
  linkType: number,
): void {
  p.reset(buf, off, capLen);
  p.linkType = linkType;
  const end = off + capLen;
  decodeLink(p, buf, off, end, off, linkType, 0);
}

/** Link layer at `lo` (the start of the link header, relative to the buffer). */
function decodeLink(
  p: DecodedPacket,
  b: Uint8Array,
  base: number,
  end: number,
  lo: number,
  linkType: number,
  depth: number,
): void {
  // NFStream: frames shorter than link offset + 28 (min IP + UDP) are dropped.
  const tooShort = end - lo < 28;
  let type = 0; // ethertype as NFStream tracks it (0 = none: raw links)
  let o: number;
  switch (linkType) {
    case 1: { // Ethernet
      if (end - lo < 14) return;
      p._macOff = lo - base;
      type = (b[lo + 12] << 8) | b[lo + 13];
      o = lo + 14;
      if (type <= 1500) { // 802.3 length + LLC
        if (o + 8 > end) return;
        if (b[o] === 0xaa || b[o + 1] === 0xaa) {
          // SNAP carries an ethertype; NFStream reads it without ntohs, so it never equals ETH_P_IP
          // (no later-fragment drop) and the IP version nibble decides below. Keep that quirk.
          type = (b[o + 7] << 8) | b[o + 6];
          o += 8;
        } else if (b[o] === 0x42 || b[o + 1] === 0x42) return; // spanning tree
        else type = 1; // other LLC: NFStream still tries the version nibble right after the MAC header
      } else if (type < 1536) return;
      break;
    }
    case 113: // Linux cooked v1: 16-byte header, protocol at 14
      if (end - lo < 16) return;
      type = (b[lo + 14] << 8) | b[lo + 15];
      o = lo + 16;
      break;
    case 276: // Linux cooked v2: 20-byte header, protocol at 0
      if (end - lo < 20) return;
      type = (b[lo] << 8) | b[lo + 1];
      o = lo + 20;
      break;
    case 0:
    case 108: { // BSD loopback: 4-byte address family, host (NULL) or network (LOOP) order
      if (end - lo < 4) return;
      let fam = ((b[lo] << 24) | (b[lo + 1] << 16) | (b[lo + 2] << 8) | b[lo + 3]) >>> 0;
      if (fam > 0xffff) fam = ((b[lo + 3] << 24) | (b[lo + 2] << 16) | (b[lo + 1] << 8) | b[lo]) >>> 0;
      type = fam === 2 ? ETH_IP : ETH_IP6;
      o = lo + 4;
      break;
    }
    case 9:
    case 50:
    case 104: { // PPP, PPP in HDLC framing, Cisco HDLC
      if (end - lo < 4) return;
      if (b[lo] === 0x0f || b[lo] === 0x8f) { // Cisco HDLC: address, control, 2-byte ethertype
        type = (b[lo + 2] << 8) | b[lo + 3];
        o = lo + 4;
      } else {
        // PPP: optional address/control (ff 03), then the protocol field, one byte when its first byte is
        // odd (protocol-field compression, RFC 1661 6.5: 0x21 IPv4, 0x57 IPv6). Cisco HDLC has no PFC.
        const q = linkType === 50 || (b[lo] === 0xff && b[lo + 1] === 0x03) ? lo + 2 : lo;
        if (linkType !== 104 && (b[q] & 1) === 1) {
          type = b[q];
          o = q + 1;
        } else {
          type = (b[q] << 8) | b[q + 1];
          o = q + 2;
        }
      }
      // PPP IPv4 (0x0021 or compressed 0x21) stays 0x21, not ETH_P_IP, as in NFStream.
      break;
    }
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      o = lo;
      break;
    default:
      return;
  }
  decodeEtherChain(p, b, base, end, o, type, depth, tooShort);
}

/** Next-protocol values NSH (RFC 8300) and VXLAN-GPE share: the same IANA numbering in both headers. */
const NEXT_IPV4 = 1, NEXT_IPV6 = 2, NEXT_ETHERNET = 3, NEXT_NSH = 4, NEXT_MPLS = 5;

/**
 * The ethertype that continues the chain after an NSH or VXLAN-GPE header with next protocol `next`;
 * 0 for Ethernet (the caller decodes a whole inner frame) and -1 for anything else (not decoded).
 */
function nextProtocolType(next: number): number {
  switch (next) {
    case NEXT_IPV4:
      return ETH_IP;
    case NEXT_IPV6:
      return ETH_IP6;
    case NEXT_ETHERNET:
      return 0;
    case NEXT_NSH:
      return 0x894f;
    case NEXT_MPLS:
      return 0x8847;
    default:
      return -1;
  }
}

/**
 * The ethertype chain from `o` with ethertype `type`: VLAN tags, MPLS labels, PPPoE session, VN-tag, E-tag,
 * NSH, then IP. Entered after a link header, and after a VXLAN-GPE header with the type its next protocol
 * names. `tooShort`: NFStream would drop the frame (shorter than link header + 28 bytes).
 */
function decodeEtherChain(
  p: DecodedPacket,
  b: Uint8Array,
  base: number,
  end: number,
  o: number,
  type: number,
  depth: number,
  tooShort: boolean,
): void {
  for (let guard = 0; guard < 16; guard++) {
    if (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      if (o + 4 > end) return;
      p.vlanId = ((b[o] << 8) | b[o + 1]) & 0xfff;
      type = (b[o + 2] << 8) | b[o + 3];
      o += 4;
    } else if (type === 0x8847 || type === 0x8848) {
      let bos = 0;
      do {
        if (o + 4 > end) return;
        bos = b[o + 2] & 1;
        o += 4;
      } while (!bos);
      type = ETH_IP;
    } else if (type === 0x8864) {
      // PPPoE session header (6 bytes), then the PPP protocol: 2 bytes, or 1 when compressed (odd first byte).
      if (o + 7 > end) return;
      o += (b[o + 6] & 1) === 1 ? 7 : 8;
      type = ETH_IP;
    } else if (type === 0x8926) { // VN-tag: 4 bytes, then the ethertype
      if (o + 6 > end) return;
      type = (b[o + 4] << 8) | b[o + 5];
      o += 6;
    } else if (type === 0x893f) { // 802.1BR E-tag: 6-byte E-TCI, then the ethertype
      if (o + 8 > end) return;
      type = (b[o + 6] << 8) | b[o + 7];
      o += 8;
    } else if (type === 0x894f) { // NSH (RFC 8300): base + service path header + context headers
      if (o + 8 > end) return;
      const md = b[o + 2] & 0x0f, next = b[o + 3];
      // Length in 4-byte words: MD type 1 is always 6 (as Wireshark reads it), others at least the 2 words of
      // base and service path header.
      const len = md === 1 ? 24 : Math.max(8, (b[o + 1] & 0x3f) * 4);
      o += len;
      if (o > end) return;
      type = nextProtocolType(next);
      if (type === 0) { // Ethernet: the inner frame is the packet (its MACs and VLAN tags)
        if (depth < 4) decodeLink(p, b, base, end, o, LINKTYPE.ETHERNET, depth + 1);
        return;
      }
      if (type < 0) return;
    } else break;
  }
  // NFStream does not look at the ethertype to decide IP: any frame whose byte after the link header has
  // version nibble 4 or 6 is parsed as IP (e.g. Cisco FabricPath 0x8903 frames become flows in its ground
  // truth). Known non-IP ethertypes are excluded here; the rest follow NFStream.
  if (type === 0x0806 || type === 0x8035 || type === 0x88cc || type === 0x888e) return;
  decodeIp(p, b, base, end, o, type, depth, tooShort);
}

function decodeIp(
  p: DecodedPacket,
  b: Uint8Array,
  base: number,
  end: number,
  o: number,
  type: number,
  depth: number,
  tooShort: boolean,
): void {
  let meterable = !tooShort;
  for (let hop = 0; hop < 8; hop++) {
    if (o + 20 > end) return;
    const v = b[o] >> 4;
    if (v === 4) {
      // A header length below 20 is garbage, but NFStream meters such frames anyway (it only needs 20
      // captured bytes), so they are decoded the same way, with the transport at ihl * 4.
      const ihl = (b[o] & 15) * 4;
      const totLen = (b[o + 2] << 8) | b[o + 3];
      const frag = (b[o + 6] << 8) | b[o + 7];
      const proto = b[o + 9];
      if (o + ihl > end) return;
      if ((proto === 4 || proto === 41) && ihl > 0 && hop < 7) { // IP-in-IP / 6in4
        o += ihl;
        continue;
      }
      const later = (frag & 0x1fff) !== 0;
      if (later && type === ETH_IP) meterable = false;
      if (totLen < ihl) meterable = false; // incl. TSO frames with total length 0: NFStream drops them
      p.ipVersion = 4;
      p.ipOffset = o - base;
      p.ipLen = totLen;
      p.ttl = b[o + 8];
      p.protocol = proto;
      p.fragment = (frag & 0x3fff) !== 0;
      p.laterFragment = later;
      p.srcIp4 = ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
      p.dstIp4 = ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
      const l4 = o + ihl;
      // NFStream's l4_packet_len comes from the header, not the capture; a zero total length (TSO) falls
      // back to the captured bytes so the ports are still decoded.
      const l4Len = totLen === 0 ? end - l4 : totLen - ihl;
      if (later) {
        p.meterable = meterable;
        p.payloadLen = Math.max(0, l4Len);
        return;
      }
      decodeTransport(p, b, base, end, l4, l4Len, proto, depth, meterable);
      return;
    }
    if (v === 6) {
      if (o + 40 > end) return;
      const plen = (b[o + 4] << 8) | b[o + 5];
      let nxt = b[o + 6];
      if (o + 40 + plen > end) meterable = false; // NFStream: caplen < ip_offset + 40 + plen → drop
      let l4 = o + 40;
      let l4Len = plen;
      let frag = false, later = false;
      // Extension headers: hop-by-hop 0, routing 43, fragment 44, dest opts 60, AH 51, mobility 135, HIP 139, shim6 140.
      for (let g = 0; g < 16; g++) {
        if (nxt === 59) break;
        if (nxt === 44) {
          if (l4 + 8 > end || l4Len < 8) {
            meterable = false;
            break;
          }
          frag = true;
          const fo = ((b[l4 + 2] << 8) | b[l4 + 3]) & 0xfff8;
          if (fo !== 0) later = true;
          nxt = b[l4];
          l4 += 8;
          l4Len -= 8;
        } else if (
          nxt === 0 || nxt === 43 || nxt === 60 || nxt === 135 || nxt === 139 || nxt === 140 || nxt === 51
        ) {
          if (l4 + 2 > end) {
            meterable = false;
            break;
          }
          const len = nxt === 51 ? (b[l4 + 1] + 2) * 4 : (b[l4 + 1] + 1) * 8;
          if (len > l4Len || l4 + len > end) {
            meterable = false;
            break;
          }
          nxt = b[l4];
          l4 += len;
          l4Len -= len;
        } else break;
      }
      if ((nxt === 4 || nxt === 41) && !later && hop < 7) { // 4in6 / 6in6
        o = l4;
        type = nxt === 4 ? ETH_IP : ETH_IP6;
        continue;
      }
      p.ipVersion = 6;
      p.ipOffset = o - base;
      p.ipLen = plen + 40;
      p.ttl = b[o + 7];
      p.protocol = nxt;
      p.fragment = frag;
      p.laterFragment = later;
      if (later) {
        // NFStream's code would read ports from the fragment's payload, yet its ground truth holds no
        // flows for later IPv6 fragments (dns_fragmented.pcap): they are not metered.
        p.meterable = false;
        p.payloadLen = Math.max(0, l4Len);
        return;
      }
      decodeTransport(p, b, base, end, l4, l4Len, nxt, depth, meterable);
      return;
    }
    return; // not IP
  }
}

function decodeTransport(
  p: DecodedPacket,
  b: Uint8Array,
  base: number,
  end: number,
  l4: number,
  l4Len: number,
  proto: number,
  depth: number,
  meterable: boolean,
): void {
  p.transportOffset = l4 - base;
  p.meterable = meterable;
  if (l4Len < 0) l4Len = 0;
  if (proto === 6) {
    if (l4Len >= 20 && l4 + 20 <= end) {
      p.srcPort = (b[l4] << 8) | b[l4 + 1];
      p.dstPort = (b[l4 + 2] << 8) | b[l4 + 3];
      const doff = (b[l4 + 12] >> 4) * 4;
      p.transportHeaderLen = doff;
      p.tcpFlags = b[l4 + 13] | ((b[l4 + 12] & 1) << 8);
      p.tcpWindow = (b[l4 + 14] << 8) | b[l4 + 15];
      p.payloadLen = Math.max(0, l4Len - doff);
    } else p.payloadLen = l4Len;
    return;
  }
  if (proto === 17) {
    if (l4Len >= 8 && l4 + 8 <= end) {
      const sp = (b[l4] << 8) | b[l4 + 1];
      const dp = (b[l4 + 2] << 8) | b[l4 + 3];
      p.srcPort = sp;
      p.dstPort = dp;
      p.transportHeaderLen = 8;
      p.payloadLen = l4Len - 8;
      if (depth < 2) decodeUdpTunnel(p, b, base, end, l4 + 8, sp, dp, depth, meterable);
    } else p.payloadLen = l4Len;
    return;
  }
  if (proto === 1 || proto === 58) {
    if (l4 + 2 <= end) {
      p.icmpType = b[l4];
      p.icmpCode = b[l4 + 1];
    }
    p.transportHeaderLen = 8;
    p.payloadLen = Math.max(0, l4Len - 8);
    return;
  }
  p.payloadLen = l4Len;
}

/**
 * GTP-U, TZSP and CAPWAP data over UDP, decoded as NFStream does; VXLAN-GPE (which NFStream does not
 * open) in {@link decodeVxlanGpe}.
 */
function decodeUdpTunnel(
  p: DecodedPacket,
  b: Uint8Array,
  base: number,
  end: number,
  u: number,
  sp: number,
  dp: number,
  depth: number,
  meterable: boolean,
): void {
  if ((sp === 2152 || dp === 2152) && u + 8 < end) {
    const flags = b[u];
    if ((flags >> 5) === 1 && b[u + 1] === 0xff) { // GTPv1 T-PDU
      let o = u + 8;
      if (flags & 0x07) o += 4;
      if (flags & 0x04) {
        for (;;) {
          if (o >= end) return;
          const ext = b[o] << 2;
          o += ext;
          if (o >= end || ext === 0) return;
          if (b[o - 1] === 0) break;
        }
      }
      if (o >= end) return;
      const v = b[o] >> 4;
      if (v !== 4 && v !== 6) {
        p.meterable = false;
        return;
      }
      const saved = snapshot(p);
      p.vlanId = saved.vlan;
      clearL3(p);
      p.tunnelId = 1;
      decodeIpTunnelInner(p, b, base, end, o, depth, meterable, saved);
    }
    return;
  }
  if (sp === 37008 || dp === 37008) {
    if (u + 4 > end) return;
    p.tunnelId = 3;
    if (b[u] === 1 && b[u + 1] === 0 && ((b[u + 2] << 8) | b[u + 3]) === 1) {
      let o = u + 4;
      while (o < end) {
        const tag = b[o];
        if (tag === 1) {
          o += 1;
          break;
        }
        if (tag === 0) o += 1;
        else {
          if (o + 1 >= end) return;
          o += 2 + b[o + 1];
        }
      }
      if (o >= end) return;
      const saved = snapshot(p);
      clearL3(p);
      p.tunnelId = 3;
      decodeLink(p, b, base, end, o, 1, depth + 1);
      if (p.ipVersion === 0) { // NFStream drops a TZSP frame whose payload is not IP
        restore(p, saved);
        p.meterable = false;
      } else if (p._macOff === -1) p._macOff = saved.mac;
    }
    return;
  }
  if (dp === VXLAN_GPE_PORT) {
    decodeVxlanGpe(p, b, base, end, u, depth, meterable);
    return;
  }
  if (sp === 5247 || dp === 5247) {
    let o = u;
    if (o + 1 >= end) return;
    if ((b[o] & 0x0f) !== 0) return;
    o += (b[o + 1] & 0xf8) >> 1;
    if (o + 32 >= end) return;
    const wifi = o;
    o += 24;
    const type = (b[o + 6] << 8) | b[o + 7];
    o += 8;
    const saved = snapshot(p);
    // NFStream jumps back to its IP check with the LLC type; when that is not IPv4 it keeps the outer
    // header's protocol (UDP), so an inner "IPv4" header (version nibble 4 behind a non-IP LLC type) goes
    // through its UDP-tunnel length check again: without room for ihl + 8 bytes the frame is dropped
    // (capwap.pcap frame 418: ihl 56 with 61 bytes left). A frame that passes is metered as NFStream does.
    const innerV4 = o + 20 <= end && (b[o] >> 4) === 4;
    if (type !== ETH_IP && innerV4 && o + (b[o] & 15) * 4 + 8 > end) {
      p.meterable = false;
      return;
    }
    clearL3(p);
    p.tunnelId = 2;
    p._macOff = -(wifi - base) - 2; // 802.11: addr2 = transmitter (src), addr3 = destination
    decodeIp(p, b, base, end, o, type, depth + 1, !meterable);
    if (p.ipVersion === 0) { // NFStream drops a CAPWAP frame whose payload is not IP
      restore(p, saved);
      p.meterable = false;
    }
  }
}

/** IANA's UDP port for VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe). */
const VXLAN_GPE_PORT = 4790;

/**
 * VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe-13) at `u`, the UDP payload of a datagram to port 4790. Its 8-byte
 * header is flags (R R Ver Ver I P B O), 2 reserved bytes, the next protocol (IPv4, IPv6, Ethernet, NSH,
 * MPLS, numbered as in NSH), the 24-bit VNI and a reserved byte. The draft makes receivers drop a version
 * they do not know and requires the P bit, so only version 0 with P set is opened (tshark opens any);
 * otherwise, and when the payload holds no IP packet, the outer UDP datagram stays the packet, metered as
 * before. The inner IP packet becomes the packet, like NSH on its ethertype: with next protocol Ethernet
 * (directly or behind NSH) its MACs and VLAN tags too. `tunnelId` stays 0: NFStream has no number for
 * VXLAN-GPE, and 1–3 mean its own tunnels.
 */
function decodeVxlanGpe(
  p: DecodedPacket,
  b: Uint8Array,
  base: number,
  end: number,
  u: number,
  depth: number,
  meterable: boolean,
): void {
  if (u + 8 > end) return;
  const flags = b[u];
  if ((flags & 0x30) !== 0 || (flags & 0x04) === 0) return; // version 0, P bit set
  const type = nextProtocolType(b[u + 3]);
  if (type < 0) return;
  const saved = snapshot(p);
  clearL3(p);
  if (type === 0) decodeLink(p, b, base, end, u + 8, LINKTYPE.ETHERNET, depth + 1);
  else decodeEtherChain(p, b, base, end, u + 8, type, depth + 1, !meterable);
  if (p.ipVersion === 0) restore(p, saved);
  else if (!meterable) p.meterable = false; // a frame NFStream drops as a whole stays dropped
}

interface Snap {
  ipVersion: 0 | 4 | 6;
  ipOffset: number;
  transportOffset: number;
  ipLen: number;
  ttl: number;
  protocol: number;
  srcPort: number;
  dstPort: number;
  thl: number;
  payloadLen: number;
  frag: boolean;
  src4: number;
  dst4: number;
  meterable: boolean;
  mac: number;
  vlan: number;
  tunnel: number;
}

function snapshot(p: DecodedPacket): Snap {
  return {
    ipVersion: p.ipVersion,
    ipOffset: p.ipOffset,
    transportOffset: p.transportOffset,
    ipLen: p.ipLen,
    ttl: p.ttl,
    protocol: p.protocol,
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    thl: p.transportHeaderLen,
    payloadLen: p.payloadLen,
    frag: p.fragment,
    src4: p.srcIp4,
    dst4: p.dstIp4,
    meterable: p.meterable,
    mac: p._macOff,
    vlan: p.vlanId,
    tunnel: p.tunnelId,
  };
}

function restore(p: DecodedPacket, s: Snap): void {
  p.ipVersion = s.ipVersion;
  p.ipOffset = s.ipOffset;
  p.transportOffset = s.transportOffset;
  p.ipLen = s.ipLen;
  p.ttl = s.ttl;
  p.protocol = s.protocol;
  p.srcPort = s.srcPort;
  p.dstPort = s.dstPort;
  p.transportHeaderLen = s.thl;
  p.payloadLen = s.payloadLen;
  p.fragment = s.frag;
  p.laterFragment = false;
  p.srcIp4 = s.src4;
  p.dstIp4 = s.dst4;
  p.meterable = s.meterable;
  p._macOff = s.mac;
  p.vlanId = s.vlan;
  p.tunnelId = s.tunnel;
  p.icmpType = -1;
  p.icmpCode = -1;
  p.tcpFlags = 0;
  p.tcpWindow = 0;
}

function clearL3(p: DecodedPacket): void {
  p.ipVersion = 0;
  p.ipOffset = -1;
  p.transportOffset = -1;
  p.srcPort = 0;
  p.dstPort = 0;
  p.transportHeaderLen = 0;
  p.payloadLen = 0;
  p.meterable = false;
  p.fragment = false;
  p.laterFragment = false;
}

function decodeIpTunnelInner(
  p: DecodedPacket,
  b: Uint8Array,
  base: number,
  end: number,
  o: number,
  depth: number,
  meterable: boolean,
  saved: Snap,
): void {
  // NFStream parses the GTP inner packet directly (no ethertype, so no fragment drop).
  decodeIp(p, b, base, end, o, 0, depth + 1, !meterable);
  if (p.ipVersion === 0) { // NFStream drops a GTP-U T-PDU whose payload is not IP
    restore(p, saved);
    p.meterable = false;
  }
}
