/**
 * The decoder's IPv4 and IPv6 packets are keyed by numbers (hashes into chains, addresses compared as
 * words), other packets by strings. Both keyings must make the same flows: these tests meter real
 * captures twice, once as decoded packets and once as plain-object copies of them, and compare every row.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Packet } from "../../src/capture/packet.ts";
import { forEachPacket } from "../../src/capture/reader.ts";
import { basicFeatures } from "../../src/flows/features/basic.ts";
import { FlowMeter } from "../../src/flows/meter.ts";
import { dataPath } from "../_shared.ts";

/** basic rows of `pcap`, metering the decoder's packets (`plain` false) or plain copies of them. */
async function rows(pcap: string, plain: boolean): Promise<string[]> {
  const out: string[] = [];
  const m = new FlowMeter({
    features: basicFeatures,
    onFlow: (f) => {
      const r: (number | string)[] = [];
      basicFeatures.row(f, f.state as never, r);
      out.push(r.join(","));
    },
  });
  await forEachPacket(pcap, (p) => m.add(plain ? p.toJSON() as Packet : p));
  m.flush();
  return out;
}

/**
 * Rewrites a classic Ethernet pcap's IPv4 frames (20-byte headers) as IPv6, each address becoming
 * 2001:db8::a.b.c.d: the same traffic, now keyed by 128-bit addresses. Derived from a real capture.
 */
function toIpv6(bytes: Uint8Array): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

Deno.test("flow keys: numeric IPv4/IPv6 keying makes the same flows as string keys (real captures)", async () => {
  for (const name of ["ipv6_fragments.pcapng", "stratosphere-test7-malicious.pcap", "http_espn.pcapng"]) {
    const pcap = dataPath("pcaps", name);
    const [numeric, strings] = [await rows(pcap, false), await rows(pcap, true)];
    assert.ok(numeric.length > 0);
    assert.deepEqual(numeric, strings, name);
  }
});

Deno.test("flow keys: the FTP brute force rewritten as IPv6 gives its IPv4 flows, address for address", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-ipv6-" });
  try {
    const v4 = dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), v6 = join(dir, "ftp6.pcap");
    Deno.writeFileSync(v6, toIpv6(Deno.readFileSync(v4)));
    const [a, b, c] = [await rows(v4, false), await rows(v6, false), await rows(v6, true)];
    assert.equal(a.length, 30);
    assert.deepEqual(b, c, "numeric and string IPv6 keys");
    // Each IPv6 row is its IPv4 row with the mapped addresses, version 6 and 20 more bytes a packet.
    const fields = (r: string) => r.split(",");
    const v4ToV6 = (ip: string) => {
      const [w, x, y, z] = ip.split(".").map(Number);
      return `2001:db8::${((w << 8) | x).toString(16)}:${((y << 8) | z).toString(16)}`;
    };
    a.forEach((r, i) => {
      const [p, q] = [fields(r), fields(b[i])];
      assert.equal(q[2], v4ToV6(p[2]), `row ${i} src`);
      assert.equal(q[5], v4ToV6(p[5]), `row ${i} dst`);
      assert.deepEqual(
        [q[4], q[7], q[8], q[9]],
        [p[4], p[7], p[8], "6"],
        `row ${i} ports, protocol, version`,
      );
      assert.equal(Number(q[16]), Number(p[16]) + 20 * Number(p[15]), `row ${i} bytes`);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
