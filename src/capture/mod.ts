/**
 * Packet capture: read pcap/pcapng files, decode frames, write captures, and
 * capture live traffic through libpcap. See docs/capture.md.
 *
 * `live.ts` needs Deno's FFI (`--unstable-ffi`); it is exported separately
 * (`./live.ts`) so importing this module never loads libpcap.
 *
 * @module
 */
export type { Packet } from "./packet.ts";
export { ByteArena, DecodedPacket, decodeFrame, formatIpv4, formatIpv6, LINKTYPE, TUNNEL } from "./decode.ts";
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
  type FrameRecord,
  type InterfaceSpec,
  PcapngWriter,
  PcapWriter,
  writePcap,
  type WriterOptions,
} from "./writer.ts";
