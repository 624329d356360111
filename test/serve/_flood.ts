/**
 * A seeded flow flood for the monitor's soak test and `deno task bench monitor --flood`: N single-packet
 * TCP flows, each a SYN from its own source address/port to the same target.
 *
 * Every frame is the first SYN (no ACK) of data/pcaps/synscan.pcapng — a real nmap SYN with its
 * Ethernet, IPv4 and TCP headers and options — with only the source address, source port, IPv4
 * identification and the two checksums rewritten, so the decoder and meter see real header layouts.
 * The file is a derived input (the capture holds ~2 k flows, a flood needs 10⁵–10⁶): it is written
 * to a temp path by the caller and never committed.
 *
 * Flow i gets source 10.(64 + i / 65,000).x.y (a fresh /16 every 65,000 flows, the host part drawn by a
 * seeded PRNG without repeats inside the /16) and port 1024 + (i mod 60,000): no two packets share a
 * 5-tuple. Packets are 5 µs apart (200 k packets/s of packet time), so with the monitor's 15 s idle
 * timeout every flow is still active when the flood ends: the worst case for the flow table.
 *
 * @module
 */
import { forEachPacket } from "../../src/capture/reader.ts";
import { createWriter } from "../../src/capture/writer.ts";
import { Rng } from "../../src/util/random.ts";
import { dataPath, ROOT } from "../_shared.ts";
import { nadirRunArgs } from "../../bench/_record.ts";
import { join } from "node:path";

/**
 * The `deno` arguments that run test/serve/_soak_child.ts as `deno task nadir monitor` runs (same V8
 * flags, so the peak RSS measured is the product's); the soak test and `bench monitor --flood` share it.
 */
export function soakChildArgs(
  pcap: string,
  model: string,
  out: string,
  maxFlows?: number | string,
): string[] {
  return [
    ...nadirRunArgs(),
    join(ROOT, "test", "serve", "_soak_child.ts"),
    pcap,
    model,
    out,
    ...(maxFlows ? [String(maxFlows)] : []),
  ];
}

/** The first pure SYN of synscan.pcapng (Ethernet/IPv4/TCP) and its capture time. */
export async function synTemplate(): Promise<{ frame: Uint8Array; tsUs: number; linkType: number }> {
  let found: { frame: Uint8Array; tsUs: number; linkType: number } | undefined;
  await forEachPacket(dataPath("pcaps", "synscan.pcapng"), (p) => {
    if (!found && p.ipVersion === 4 && p.protocol === 6 && (p.tcpFlags & 0x12) === 0x02 && p.linkType === 1) {
      found = { frame: p.raw!.slice(), tsUs: p.tsUs, linkType: p.linkType };
    }
  });
  if (!found) throw new Error("synscan.pcapng holds no IPv4 SYN on Ethernet");
  return found;
}

function checksum(b: Uint8Array, from: number, to: number, init = 0): number {
  let s = init;
  for (let i = from; i + 1 < to; i += 2) s += (b[i] << 8) | b[i + 1];
  if ((to - from) & 1) s += b[to - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Writes an `n`-flow SYN flood to `path` (pcap); returns the packet count (= flows). */
export async function writeSynFlood(path: string, n: number, seed = 1): Promise<number> {
  const t = await synTemplate();
  const f = t.frame.slice();
  const ip = 14, ihl = (f[ip] & 15) * 4, tcp = ip + ihl;
  const ipLen = (f[ip + 2] << 8) | f[ip + 3];
  const tcpLen = ipLen - ihl;
  const rng = new Rng(seed);
  const w = createWriter(path, { format: "pcap", linkType: t.linkType });
  const perNet = 65_000;
  let hosts = new Uint16Array(0);
  for (let i = 0; i < n; i++) {
    const k = i % perNet;
    if (k === 0) {
      // A fresh shuffled list of host numbers (1 … 65,000) for this /16.
      hosts = Uint16Array.from({ length: perNet }, (_, j) => j + 1);
      for (let j = perNet - 1; j > 0; j--) {
        const r = rng.int(j + 1);
        const x = hosts[j];
        hosts[j] = hosts[r];
        hosts[r] = x;
      }
    }
    const host = hosts[k];
    f[ip + 12] = 10;
    f[ip + 13] = 64 + Math.floor(i / perNet);
    f[ip + 14] = host >>> 8;
    f[ip + 15] = host & 255;
    const port = 1024 + (i % 60_000);
    f[tcp] = port >>> 8;
    f[tcp + 1] = port & 255;
    f[ip + 4] = (i >>> 8) & 255;
    f[ip + 5] = i & 255;
    f[ip + 10] = f[ip + 11] = 0;
    const ipc = checksum(f, ip, ip + ihl);
    f[ip + 10] = ipc >>> 8;
    f[ip + 11] = ipc & 255;
    // TCP checksum over the pseudo-header (addresses, protocol, length) and the segment.
    f[tcp + 16] = f[tcp + 17] = 0;
    let ps = ((f[ip + 12] << 8) | f[ip + 13]) + ((f[ip + 14] << 8) | f[ip + 15]) +
      ((f[ip + 16] << 8) | f[ip + 17]) + ((f[ip + 18] << 8) | f[ip + 19]) + 6 + tcpLen;
    ps = (ps & 0xffff) + (ps >>> 16);
    const tc = checksum(f, tcp, tcp + tcpLen, ps);
    f[tcp + 16] = tc >>> 8;
    f[tcp + 17] = tc & 255;
    w.writePacket(t.tsUs + i * 5, f, f.length);
  }
  w.close();
  return n;
}
