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
import { ipv6Copy } from "../../bench/_ipv6.ts";

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
    const v4 = dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), v6 = ipv6Copy(v4, join(dir, "ftp6.pcap"));
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
