/**
 * Rewrites a classic little-endian Ethernet pcap's IPv4 frames (20-byte headers) as IPv6: each gets a
 * 40-byte IPv6 header (payload length, next header and hop limit from its IPv4 header) and each address
 * becomes 2001:db8::a.b.c.d. The same traffic, keyed by 128-bit addresses; other frames are copied as
 * they are. Used by `bench flows` (its IPv6 file) and test/flows/ipv6_key_test.ts.
 *
 * @module
 */
import { existsSync } from "../src/util/fs.ts";

/** The capture `bytes` rewritten (see the module doc). */
export function toIpv6(bytes: Uint8Array): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = bytes.length >= 24 ? dv.getUint32(0, true) : 0;
  if ((magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) || dv.getUint32(20, true) !== 1) {
    throw new Error(
      `toIpv6: expected a little-endian classic pcap of Ethernet frames, found magic ${magic.toString(16)}`,
    );
  }
  const parts: Uint8Array[] = [bytes.subarray(0, 24)];
  for (let off = 24; off + 16 <= bytes.length;) {
    const incl = dv.getUint32(off + 8, true), orig = dv.getUint32(off + 12, true);
    const hdr = bytes.slice(off, off + 16), rec = bytes.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (!(incl >= 34 && rec[12] === 0x08 && rec[13] === 0 && rec[14] === 0x45)) {
      parts.push(hdr, rec);
      continue;
    }
    const f = new Uint8Array(incl + 20), payload = ((rec[16] << 8) | rec[17]) - 20;
    f.set(rec.subarray(0, 12));
    f.set([0x86, 0xdd, 0x60, 0, 0, 0, payload >> 8, payload & 255, rec[23], rec[22]], 12);
    const prefix = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0];
    f.set(prefix, 22), f.set(rec.subarray(26, 30), 34), f.set(prefix, 38), f.set(rec.subarray(30, 34), 50);
    f.set(rec.subarray(34), 54);
    const h = new DataView(hdr.buffer);
    h.setUint32(8, incl + 20, true), h.setUint32(12, orig + 20, true);
    parts.push(hdr, f);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/**
 * `src` rewritten by {@link toIpv6} into `dst` (default: beside it, `-ipv6.pcap`), kept when it is already
 * there (a bench's cached copy); returns `dst`.
 */
export function ipv6Copy(src: string, dst = src.replace(/\.pcap$/, "-ipv6.pcap")): string {
  if (!existsSync(dst)) Deno.writeFileSync(dst, toIpv6(Deno.readFileSync(src)));
  return dst;
}
