/**
 * Packet capture: read pcap/pcapng files, decode frames, write captures, and
 * capture live traffic through libpcap. See docs/capture.md.
 *
 * `live.ts` needs Deno's FFI (`--unstable-ffi`); it is exported separately
 * (`./live.ts`) so importing this module never loads libpcap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { DATA_DIR } from "nadir/data";
 * import { encodeCapture, parseCaptureBytes, readAllPackets } from "nadir/capture";
 *
 * const packets = await readAllPackets(join(DATA_DIR, "pcaps/http_dvwa_sqlinjection.pcapng"));
 * assert.ok(packets.length > 0);
 * assert.equal(packets[0].ipVersion, 4);
 * // Round trip through an in-memory pcap: the frame comes back with its timestamp.
 * const bytes = encodeCapture([{ tsUs: 1_000_000, data: new Uint8Array(60) }], { format: "pcap" });
 * const seen: number[] = [];
 * const stats = parseCaptureBytes(bytes, (p) => {
 *   seen.push(p.tsUs);
 * });
 * assert.deepEqual([stats.format, stats.packets, seen], ["pcap", 1, [1_000_000]]);
 * ```
 * @module
 */
export type { Packet } from "./packet.ts";
export {
  ByteArena,
  DecodedPacket,
  decodeFrame,
  formatIpv4,
  formatIpv6,
  formatMac,
  LINKTYPE,
  TUNNEL,
} from "./decode.ts";
export {
  CaptureParser,
  type CaptureStats,
  damageSummary,
  forEachPacket,
  MAX_WARNINGS,
  newStats,
  type PacketCallback,
  parseCaptureBytes,
  readAllPackets,
  readBatches,
  type ReadOptions,
  readPackets,
} from "./reader.ts";
export {
  type CaptureWriter,
  createWriter,
  encodeCapture,
  formatFor,
  type FrameRecord,
  type InterfaceSpec,
  PcapngWriter,
  PcapWriter,
  writePcap,
  type WriterOptions,
} from "./writer.ts";
