/**
 * Streaming pcap / pcapng reader. Files are read in chunks (never whole), so
 * captures larger than memory stream through a buffer of a few MiB; each
 * record is decoded in place into a reused {@link DecodedPacket}.
 *
 * Formats: pcap in either byte order with micro- or nanosecond timestamps
 * (and the "modified" Kuznetzov variant), its record length fields in the
 * order the file's version implies (before 2.3, and in DG/UX's 543.0, the
 * original length comes first: swapped back as libpcap does), pcapng with
 * any number of sections (each in its own byte order), interfaces with
 * their own link type, snaplen, if_tsresol and if_tsoffset; Enhanced,
 * Simple and obsolete Packet blocks; every other block is skipped.
 *
 * Damage: by default a damaged record or block is skipped, counted in
 * {@link CaptureStats} and the reader resynchronises on the next plausible
 * record (also when a length runs past the end of the file but valid records
 * follow); `strict: true` throws an {@link InputError} naming the byte offset.
 * Header fields libpcap or Wireshark reject (pcap versions other than 2.0–2.4
 * and 543.0, reserved link-type bits, pcapng section versions other than 1.0
 * and 1.2) and out-of-range sub-second timestamps are read anyway, counted and
 * reported the same way (and fail a strict read).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forEachPacket } from "./reader.ts";
 * let syns = 0;
 * const stats = await forEachPacket("data/pcaps/synscan.pcapng", (p) => {
 *   if (p.protocol === 6 && (p.tcpFlags & 0x12) === 0x02) syns++;
 * });
 * assert.ok(stats.packets > 0 && syns > 0);
 * ```
 *
 * @module
 */
import { InputError } from "../util/errors.ts";
import { ByteArena, DecodedPacket, decodeFrame } from "./decode.ts";
import type { Packet } from "./packet.ts";

/** Counters a read fills in. `warnings` keeps the first few damage reports with their byte offsets. */
export interface CaptureStats {
  /** "pcap", "pcap-ns", "pcap-modified", "pcapng" (empty until the header was read). */
  format: string;
  /** Packets delivered. */
  packets: number;
  /** Captured bytes delivered (sum of capLen). */
  bytes: number;
  /** Records or blocks skipped because they were damaged (implausible lengths, bad trailer, unknown interface). */
  damaged: number;
  /** 1 when the file ends inside a record or block (the partial record is dropped). */
  truncated: number;
  /** pcapng blocks that carry no packets and were skipped (statistics, name resolution, unknown types). */
  skippedBlocks: number;
  /** Bytes skipped while resynchronising after damage. */
  skippedBytes: number;
  /** Zero-length packets (delivered, decoded as non-IP). */
  empty: number;
  /** Packets whose captured length exceeds the interface snaplen (delivered). */
  oversize: number;
  /** Packets whose captured length exceeds the original length (delivered, as found). */
  capOverWire: number;
  /**
   * Header fields libpcap or Wireshark reject, read anyway: a pcap version other than 2.0–2.4 or 543.0,
   * reserved bits set in the pcap link-type field, a pcapng section version other than 1.0 (or 1.2), a
   * section header block shorter than 28 bytes.
   */
  badHeaders: number;
  /**
   * pcap records whose sub-second field is out of range (µs ≥ 10^6, ns ≥ 10^9); delivered, the excess
   * carried into the seconds.
   */
  badTimestamps: number;
  /** pcapng sections seen (1 for pcap). */
  sections: number;
  /** Interfaces described (pcapng IDBs; 1 for pcap). */
  interfaces: number;
  /** Packets per link type. */
  linkTypes: Record<number, number>;
  /** First damage reports ("byte offset N: ..."), at most {@link MAX_WARNINGS}. */
  warnings: string[];
}

/** How many damage reports {@link CaptureStats.warnings} keeps. */
export const MAX_WARNINGS = 20;

/** A fresh, zeroed stats object. */
export function newStats(): CaptureStats {
  return {
    format: "",
    packets: 0,
    bytes: 0,
    damaged: 0,
    truncated: 0,
    skippedBlocks: 0,
    skippedBytes: 0,
    empty: 0,
    oversize: 0,
    capOverWire: 0,
    badHeaders: 0,
    badTimestamps: 0,
    sections: 0,
    interfaces: 0,
    linkTypes: {},
    warnings: [],
  };
}

/** One-line summary of the damage a read met, or "" when there was none. */
export function damageSummary(s: CaptureStats): string {
  const parts: string[] = [];
  if (s.damaged) parts.push(`${s.damaged} damaged record(s)/block(s) skipped`);
  if (s.truncated) parts.push("file truncated inside a record (partial record dropped)");
  if (s.skippedBytes) parts.push(`${s.skippedBytes} byte(s) skipped to resynchronise`);
  if (s.oversize) parts.push(`${s.oversize} packet(s) longer than the snaplen`);
  if (s.capOverWire) parts.push(`${s.capOverWire} packet(s) with captured length > original length`);
  if (s.badHeaders) {
    parts.push(`${s.badHeaders} header field(s) that libpcap or Wireshark reject (read anyway)`);
  }
  if (s.badTimestamps) {
    parts.push(`${s.badTimestamps} record(s) with an invalid timestamp (sub-second field out of range)`);
  }
  if (!parts.length) return "";
  const first = s.warnings.length ? `; first: ${s.warnings[0]}` : "";
  return `${parts.join(", ")}${first}`;
}

/** Options for every read function. */
export interface ReadOptions {
  /** Stop at the first damage with an InputError naming the byte offset (default false: skip and count). */
  strict?: boolean;
  /** Read size in bytes (default 256 KiB). */
  chunkSize?: number;
  /** Largest captured packet accepted (default 262,144, raised to the file's snaplen up to 64 MiB). */
  maxPacketBytes?: number;
  /** Largest pcapng block accepted (default 16 MiB); bigger ones count as damaged. Bounds memory. */
  maxBlockBytes?: number;
  /** Stats object to fill (pass one in to read the counters while iterating). */
  stats?: CaptureStats;
  /** Called for each damage report (also kept in stats.warnings). */
  onWarning?: (message: string) => void;
  /** Stops the read between chunks. */
  signal?: AbortSignal;
  /**
   * Read synchronously, and await this between chunks instead (e.g. a macrotask, so messages and timers
   * run). An async read is a round trip through a helper thread per chunk: on a machine whose cores are
   * busy (a sharded monitor's workers) each one waits to be scheduled, which cost the sharded reader ~1 s
   * per 1 M packets in 256 KiB reads. Yet a chunk read is awaited once every {@link ReadOptions.ioEveryMs}:
   * see there.
   */
  betweenChunks?: () => Promise<void>;
  /**
   * The longest stretch of synchronous reads (a regular file; default 5 ms): then one read is awaited.
   * A macrotask alone lets messages and timers run but not the sockets: a turn whose task is always ready
   * again never lets Deno's runtime wait for I/O, which it then polls only every few dozen turns. So an
   * HTTP request to a replaying monitor waited ~27 chunks (measured: 136 ms at 5 ms a chunk, against 5 ms
   * with an awaited read every 5 ms; an awaited read per chunk costs ~85 µs, a macrotask ~18 µs).
   */
  ioEveryMs?: number;
}

/** Callback of {@link forEachPacket}; return `false` to stop reading. */
export type PacketCallback = (p: DecodedPacket) => void | boolean;

const PCAPNG_SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;
/** Bits of the pcap link-type field that must be zero: R (0x08000000) and Reserved3 (0x03FF0000). */
const LT_RESERVED = 0x0bff0000;
/** Reserved3: libpcap reads these bits as part of the link type, so it (and tshark) rejects such a file. */
const LT_RESERVED3 = 0x03ff0000;
const DEFAULT_MAX_PACKET = 262144;
const RESYNC_WINDOW_S = 365 * 86400;

/**
 * Order of the two length fields of a pcap record header, decided by the file's version as libpcap's
 * sf-pcap.c does (`lengths_swapped`). Version 2.3 interchanged caplen and len to match the BPF header, so
 * files older than 2.3, and DG/UX tcpdump's 543.0, hold the original length first: their fields are always
 * swapped back. Some 2.3 writers kept the old order, so a 2.3 record is swapped back only where its
 * "captured" length exceeds its "original" one (the order that cannot be right).
 */
const LENGTHS_IN_ORDER = 0, LENGTHS_SWAPPED = 1, LENGTHS_MAYBE_SWAPPED = 2;
type LengthOrder = typeof LENGTHS_IN_ORDER | typeof LENGTHS_SWAPPED | typeof LENGTHS_MAYBE_SWAPPED;

interface Iface {
  linkType: number;
  snaplen: number;
  /** tsresol byte as in the option (6 = µs default). */
  tsresol: number;
  /** if_tsoffset in seconds. */
  tsOffset: number;
}

/**
 * Incremental parser over a caller-managed buffer. {@link parse} consumes as
 * many whole records as the buffer holds and reports in {@link need} how many
 * bytes (from the returned position) it needs to go on.
 */
export class CaptureParser {
  /** Bytes needed at the returned position before {@link parse} can make progress. */
  need = 24;
  /** Set when the callback asked to stop. */
  stopped = false;
  readonly stats: CaptureStats;
  private readonly pkt = new DecodedPacket();
  private kind: 0 | 1 | 2 = 0; // 0 = header not read, 1 = pcap, 2 = pcapng
  private le = true;
  private nano = false;
  private recHdr = 16;
  /** How the pcap record length fields are ordered ({@link LENGTHS_SWAPPED} ...), from the file's version. */
  private lengthOrder: LengthOrder = LENGTHS_IN_ORDER;
  /** Captured and original length of the last record header read by {@link recordLengths}. */
  private recCap = 0;
  private recWire = 0;
  private snaplen = 0;
  private linkType = 1;
  private maxPacket: number;
  private readonly maxBlock: number;
  private ifaces: Iface[] = [];
  private lastSec = 0;
  /**
   * The time of the record before the last: what a resynchronisation compares candidates with. The last
   * record may itself have been read from damaged bytes (a length of 0 makes the packet's bytes the next
   * "header"), and its garbage time once made every real record after it look implausible: a file with one
   * zeroed length lost all but 2 of its 606 packets.
   */
  private prevSec = 0;
  private resyncing = false;
  /** Set by {@link scanNg}: whether it found a plausible block. */
  private scanOk = false;

  constructor(
    private readonly name: string,
    private readonly cb: PacketCallback,
    private readonly opts: ReadOptions = {},
  ) {
    this.stats = opts.stats ?? newStats();
    this.maxPacket = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET;
    this.maxBlock = opts.maxBlockBytes ?? 16 * 1024 * 1024;
  }

  /** Largest record this parser may ask the driver to buffer. */
  get maxRecord(): number {
    return Math.max(this.maxBlock, this.maxPacket + 64) + 64;
  }

  /** A header field libpcap or Wireshark rejects: counted and reported, the read goes on (strict: throws). */
  private badHeader(offset: number, what: string): void {
    this.stats.badHeaders++;
    this.damage(offset, what);
  }

  private damage(offset: number, what: string): void {
    if (this.opts.strict) throw new InputError(what, { file: this.name, offset });
    const msg = `byte offset ${offset}: ${what}`;
    if (this.stats.warnings.length < MAX_WARNINGS) this.stats.warnings.push(msg);
    this.opts.onWarning?.(msg);
  }

  /**
   * Parses records in `buf[start, end)`; `base` is the file offset of `buf[0]`.
   * Returns the position of the first unconsumed byte. At `eof` the rest is
   * consumed (a partial record counts as truncation).
   */
  parse(buf: Uint8Array, dv: DataView, start: number, end: number, base: number, eof: boolean): number {
    if (this.kind === 0) {
      if (end - start < 4) {
        if (eof) {
          if (end - start === 0) {
            throw new InputError("empty file: expected a pcap or pcapng header", { file: this.name });
          }
          throw new InputError(`file too short (${end - start} bytes) for a pcap or pcapng header`, {
            file: this.name,
            offset: base + start,
          });
        }
        this.need = 24;
        return start;
      }
      const m = dv.getUint32(start, false);
      if (m === PCAPNG_SHB) {
        this.kind = 2;
        this.stats.format = "pcapng";
      } else {
        const ml = dv.getUint32(start, true);
        let found = false;
        for (const [le, v] of [[true, ml], [false, m]] as [boolean, number][]) {
          if (v === 0xa1b2c3d4 || v === 0xa1b23c4d || v === 0xa1b2cd34) {
            this.le = le;
            this.nano = v === 0xa1b23c4d;
            this.recHdr = v === 0xa1b2cd34 ? 24 : 16;
            this.stats.format = v === 0xa1b23c4d ? "pcap-ns" : v === 0xa1b2cd34 ? "pcap-modified" : "pcap";
            found = true;
          }
        }
        if (!found) {
          const hex = Array.from(buf.subarray(start, start + 4), (x) => x.toString(16).padStart(2, "0")).join(
            " ",
          );
          throw new InputError(
            `not a capture file: expected pcap magic a1 b2 c3 d4 / d4 c3 b2 a1 (or the ns variants) or pcapng 0a 0d 0d 0a, found ${hex}`,
            { file: this.name, offset: base + start },
          );
        }
        if (end - start < 24) {
          if (eof) {
            throw new InputError(`truncated pcap header: ${end - start} of 24 bytes`, {
              file: this.name,
              offset: base + start,
            });
          }
          this.kind = 0;
          this.need = 24;
          return start;
        }
        this.kind = 1;
        this.snaplen = dv.getUint32(start + 16, this.le);
        const lt = dv.getUint32(start + 20, this.le);
        this.linkType = lt & 0xffff;
        this.checkPcapHeader(dv, start, base, lt);
        if (this.snaplen > this.maxPacket && this.opts.maxPacketBytes === undefined) {
          this.maxPacket = Math.min(this.snaplen, 64 * 1024 * 1024);
        }
        this.stats.sections = 1;
        this.stats.interfaces = 1;
        start += 24;
      }
    }
    return this.kind === 1
      ? this.parsePcap(buf, dv, start, end, base, eof)
      : this.parseNg(buf, dv, start, end, base, eof);
  }

  private plausiblePcap(dv: DataView, q: number): boolean {
    const le = this.le;
    const sec = dv.getUint32(q, le), frac = dv.getUint32(q + 4, le);
    this.recordLengths(dv, q);
    const cap = this.recCap, wire = this.recWire;
    if (cap > this.maxPacket || wire < cap || wire > 0x40000000) return false;
    if (frac >= (this.nano ? 1e9 : 1e6)) return false;
    if (this.lastSec !== 0 && Math.abs(sec - this.lastSec) > RESYNC_WINDOW_S) return false;
    return true;
  }

  /**
   * Reads the captured and original length of the pcap record header at `q` into {@link recCap} and
   * {@link recWire}, swapping them back where the file's version says they are swapped. Both sit at bytes
   * 8 and 12 in either record format: the "modified" format's extra fields (interface index, protocol,
   * packet type) follow them.
   */
  private recordLengths(dv: DataView, q: number): void {
    const a = dv.getUint32(q + 8, this.le), b = dv.getUint32(q + 12, this.le);
    const order = this.lengthOrder;
    if (order === LENGTHS_SWAPPED || (order === LENGTHS_MAYBE_SWAPPED && a > b)) {
      this.recCap = b;
      this.recWire = a;
    } else {
      this.recCap = a;
      this.recWire = b;
    }
  }

  /** True when a plausible record at or after `q` is followed by another plausible one within `end`. */
  private pcapPairFollows(dv: DataView, q: number, end: number): boolean {
    const H = this.recHdr;
    for (; q + H <= end; q++) {
      if (!this.plausiblePcap(dv, q)) continue;
      const next = q + H + this.recCap;
      if (next + H <= end && this.plausiblePcap(dv, next)) return true;
    }
    return false;
  }

  /**
   * Version and link-type checks of the pcap file header at `start` (libpcap's pcap_check_header), and the
   * order of the record length fields that the version implies ({@link LENGTHS_SWAPPED}).
   */
  private checkPcapHeader(dv: DataView, start: number, base: number, lt: number): void {
    const major = dv.getUint16(start + 4, this.le), minor = dv.getUint16(start + 6, this.le);
    this.lengthOrder = (major === 2 && minor < 3) || (major === 543 && minor === 0)
      ? LENGTHS_SWAPPED
      : major === 2 && minor === 3
      ? LENGTHS_MAYBE_SWAPPED
      : LENGTHS_IN_ORDER;
    if (!((major === 2 && minor <= 4) || (major === 543 && minor === 0))) {
      const why = major < 2
        ? "archaic pcap savefile format"
        : `unsupported pcap savefile version ${major}.${minor}`;
      this.badHeader(
        base + start + 4,
        `pcap header field version is ${major}.${minor}: libpcap rejects the file ("${why}"; it reads 2.0–2.4 ` +
          `and 543.0); records read as version 2.4`,
      );
    }
    const reserved = (lt & LT_RESERVED) >>> 0;
    if (reserved !== 0) {
      const hex = (v: number) => "0x" + v.toString(16).padStart(8, "0");
      const rejected = (lt & LT_RESERVED3) !== 0 ? "; libpcap and tshark reject the file" : "";
      this.badHeader(
        base + start + 20,
        `pcap header field link type is ${hex(lt >>> 0)}: reserved bits ${hex(reserved)} are set ` +
          `(they must be zero${rejected}); link type read as ${lt & 0xffff}`,
      );
    }
  }

  /** A pcap record whose sub-second field is out of range (counted; the value is carried into the seconds). */
  private badTimestamp(offset: number, frac: number): void {
    this.stats.badTimestamps++;
    const [field, limit] = this.nano ? ["ts_nsec", "10^9"] : ["ts_usec", "10^6"];
    this.damage(
      offset,
      `record ${this.stats.packets + 1}: timestamp field ${field} is ${frac}, not below ${limit} (invalid; ` +
        `the excess is carried into the seconds)`,
    );
  }

  private parsePcap(
    buf: Uint8Array,
    dv: DataView,
    start: number,
    end: number,
    base: number,
    eof: boolean,
  ): number {
    const le = this.le, H = this.recHdr, st = this.stats, pkt = this.pkt, lt = this.linkType;
    const nano = this.nano, snap = this.snaplen, fracMax = nano ? 1e9 : 1e6;
    let p = start;
    for (;;) {
      if (this.resyncing) {
        // Look for a record header that is plausible and followed by another plausible one (or EOF).
        let q = p;
        let ok = false;
        for (; q + H <= end; q++) {
          if (!this.plausiblePcap(dv, q)) continue;
          const next = q + H + this.recCap;
          if (next === end && eof) {
            ok = true;
            break;
          }
          if (next + H <= end) {
            if (this.plausiblePcap(dv, next)) {
              ok = true;
              break;
            }
            continue;
          }
          break; // need more data to confirm
        }
        st.skippedBytes += q - p;
        p = q;
        if (!ok) {
          if (eof) {
            st.skippedBytes += end - p;
            return end;
          }
          this.need = H + this.maxPacket + H;
          return p;
        }
        this.resyncing = false;
      }
      if (end - p < H) {
        if (eof) {
          if (end > p) {
            this.truncated(base + p, `file ends inside a record header (${end - p} of ${H} bytes)`);
          }
          return end;
        }
        this.need = H;
        return p;
      }
      this.recordLengths(dv, p);
      const cap = this.recCap, wire = this.recWire;
      if (cap > this.maxPacket) {
        st.damaged++;
        this.damage(base + p, `record length ${cap} exceeds the maximum ${this.maxPacket} (snaplen ${snap})`);
        this.resyncing = true;
        this.lastSec = this.prevSec;
        p += 1;
        continue;
      }
      if (end - p < H + cap) {
        if (eof) {
          // Cut file, or a damaged length with records behind it (which must not be lost): resynchronise
          // when a pair of plausible records follows.
          if (this.pcapPairFollows(dv, p + 1, end)) {
            const left = end - p - H;
            st.damaged++;
            this.damage(
              base + p,
              `record length ${cap} runs past the end of the file (${left} bytes left), ` +
                "valid records follow",
            );
            this.resyncing = true;
            this.lastSec = this.prevSec;
            p += 1;
            continue;
          }
          this.truncated(base + p, `file ends inside a packet (${end - p - H} of ${cap} bytes)`);
          return end;
        }
        this.need = H + cap;
        return p;
      }
      const sec = dv.getUint32(p, le), frac = dv.getUint32(p + 4, le);
      if (frac >= fracMax) this.badTimestamp(base + p, frac);
      this.prevSec = this.lastSec;
      this.lastSec = sec;
      const off = p + H;
      decodeFrame(pkt, buf, off, cap, lt);
      pkt.tsUs = sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac);
      pkt.wireLen = wire;
      pkt.ifIndex = 0;
      pkt.fileOffset = base + p;
      if (cap === 0) st.empty++;
      if (snap > 0 && cap > snap) st.oversize++;
      if (cap > wire) st.capOverWire++;
      st.packets++;
      st.bytes += cap;
      st.linkTypes[lt] = (st.linkTypes[lt] ?? 0) + 1;
      p = off + cap;
      if (this.cb(pkt) === false) {
        this.stopped = true;
        return p;
      }
    }
  }

  /**
   * A pcapng file cut inside its first block, the section header: no packet can be read, so it is an error,
   * as a cut pcap file header is (it had been a warning and exit 0 with no packets).
   */
  private cutSectionHeader(have: number, want: number): never {
    throw new InputError(`truncated pcapng section header block: ${have} of ${want} bytes`, {
      file: this.name,
      offset: 0,
    });
  }

  private truncated(offset: number, what: string): void {
    this.stats.truncated++;
    this.damage(offset, what);
  }

  /**
   * First plausible block at or after `q` (known type, sane length, trailer equal to the length); sets
   * {@link scanOk}. Without `eof`, stops (scanOk false) at a candidate whose trailer is not buffered yet.
   */
  private scanNg(dv: DataView, q: number, end: number, eof: boolean): number {
    this.scanOk = false;
    for (; q + 12 <= end; q++) {
      const t = dv.getUint32(q, this.le);
      const tb = dv.getUint32(q, false);
      if (!CaptureParser.knownBlock(t) && tb !== PCAPNG_SHB) continue;
      let le = this.le;
      if (tb === PCAPNG_SHB) {
        const bom = dv.getUint32(q + 8, true);
        if (bom === BOM) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else continue;
      }
      const len = dv.getUint32(q + 4, le);
      if (len < 12 || len % 4 !== 0 || len > this.maxBlock) continue;
      if (q + len > end) {
        if (eof) continue;
        return q; // need more to check the trailer
      }
      if (dv.getUint32(q + len - 4, le) !== len) continue;
      this.scanOk = true;
      return q;
    }
    return q;
  }

  private static knownBlock(t: number): boolean {
    return t === PCAPNG_SHB || (t >= 1 && t <= 11) || t === 0xbad || t === 0x40000bad;
  }

  private parseNg(
    buf: Uint8Array,
    dv: DataView,
    start: number,
    end: number,
    base: number,
    eof: boolean,
  ): number {
    const st = this.stats;
    let p = start;
    for (;;) {
      if (this.resyncing) {
        const q = this.scanNg(dv, p, end, eof);
        st.skippedBytes += q - p;
        p = q;
        if (!this.scanOk) {
          if (eof) {
            st.skippedBytes += end - p;
            return end;
          }
          this.need = Math.max(12, this.maxBlock);
          return p;
        }
        this.resyncing = false;
      }
      if (end - p < 12) {
        if (eof) {
          if (end > p && base + p === 0) this.cutSectionHeader(end - p, 28);
          if (end > p) this.truncated(base + p, `file ends inside a block header (${end - p} bytes)`);
          return end;
        }
        this.need = 12;
        return p;
      }
      let type = dv.getUint32(p, this.le);
      if (dv.getUint32(p, false) === PCAPNG_SHB) {
        type = PCAPNG_SHB;
        const bom = dv.getUint32(p + 8, true);
        if (bom === BOM) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else {
          st.damaged++;
          this.damage(base + p, `section header with a bad byte-order magic`);
          this.resyncing = true;
          p += 1;
          continue;
        }
      }
      const le = this.le;
      const len = dv.getUint32(p + 4, le);
      if (len < 12 || len % 4 !== 0 || len > this.maxBlock) {
        st.damaged++;
        this.damage(
          base + p,
          `block length ${len} is invalid (expected a multiple of 4 between 12 and ${this.maxBlock})`,
        );
        this.resyncing = true;
        p += 1;
        continue;
      }
      if (end - p < len) {
        if (eof) {
          // Cut file, or a damaged length with blocks behind it (which must not be lost): resynchronise when
          // a plausible block follows, as after any other damage.
          this.scanNg(dv, p + 1, end, true);
          if (this.scanOk) {
            const left = end - p;
            st.damaged++;
            this.damage(
              base + p,
              `block length ${len} runs past the end of the file (${left} bytes left), ` +
                "valid blocks follow",
            );
            this.resyncing = true;
            p += 1;
            continue;
          }
          if (base + p === 0) this.cutSectionHeader(end - p, len);
          this.truncated(base + p, `file ends inside a block (${end - p} of ${len} bytes)`);
          return end;
        }
        this.need = len;
        return p;
      }
      if (dv.getUint32(p + len - 4, le) !== len) {
        st.damaged++;
        this.damage(
          base + p,
          `block trailer length ${dv.getUint32(p + len - 4, le)} differs from header length ${len}`,
        );
        this.resyncing = true;
        p += 1;
        continue;
      }
      const q = p;
      p += len;
      if (type === 6 || type === 2) {
        if (len < 32) {
          st.damaged++;
          this.damage(base + q, `packet block of ${len} bytes is shorter than its 32-byte minimum`);
          continue;
        }
        const ifid = type === 6 ? dv.getUint32(q + 8, le) : dv.getUint16(q + 8, le);
        const hi = dv.getUint32(q + 12, le), lo = dv.getUint32(q + 16, le);
        const cap = dv.getUint32(q + 20, le), wire = dv.getUint32(q + 24, le);
        const iface = this.ifaces[ifid];
        if (iface === undefined) {
          st.damaged++;
          this.damage(
            base + q,
            `packet for interface ${ifid}, but the section describes ${this.ifaces.length}`,
          );
          continue;
        }
        if (28 + cap + 4 > len) {
          st.damaged++;
          this.damage(base + q, `captured length ${cap} does not fit in a block of ${len} bytes`);
          continue;
        }
        if (this.emit(buf, q + 28, cap, wire, hi, lo, ifid, iface, base + q)) return p;
      } else if (type === 3) {
        const iface = this.ifaces[0];
        if (iface === undefined || len < 16) {
          st.damaged++;
          this.damage(base + q, `simple packet block without an interface`);
          continue;
        }
        const wire = dv.getUint32(q + 8, le);
        let cap = Math.min(wire, len - 16);
        if (iface.snaplen > 0) cap = Math.min(cap, iface.snaplen);
        if (this.emitSimple(buf, q + 12, cap, wire, iface, base + q)) return p;
      } else if (type === 1) {
        if (len < 20) {
          st.damaged++;
          this.damage(base + q, `interface block of ${len} bytes is shorter than its 20-byte minimum`);
          continue;
        }
        const iface: Iface = {
          linkType: dv.getUint16(q + 8, le),
          snaplen: dv.getUint32(q + 12, le),
          tsresol: 6,
          tsOffset: 0,
        };
        let o = q + 16;
        const oend = q + len - 4;
        while (o + 4 <= oend) {
          const code = dv.getUint16(o, le), olen = dv.getUint16(o + 2, le);
          if (code === 0) break;
          if (o + 4 + olen > oend) break;
          if (code === 9 && olen >= 1) iface.tsresol = buf[o + 4];
          else if (code === 14 && olen >= 8) {
            iface.tsOffset = Number(dv.getBigInt64(o + 4, le));
          }
          o += 4 + ((olen + 3) & ~3);
        }
        const exp = iface.tsresol & 0x7f;
        if ((iface.tsresol & 0x80) === 0 && exp > 18) {
          st.damaged++;
          this.damage(base + q, `if_tsresol 10^-${exp} is out of range; using microseconds`);
          iface.tsresol = 6;
        }
        this.ifaces.push(iface);
        st.interfaces++;
        if (iface.snaplen > this.maxPacket && this.opts.maxPacketBytes === undefined) {
          this.maxPacket = Math.min(iface.snaplen, 64 * 1024 * 1024, this.maxBlock);
        }
      } else if (type === PCAPNG_SHB) {
        this.ifaces = [];
        st.sections++;
        if (len < 28) {
          this.badHeader(
            base + q,
            `section header block of ${len} bytes is shorter than its 28-byte minimum`,
          );
        } else {
          const major = dv.getUint16(q + 12, le), minor = dv.getUint16(q + 14, le);
          // libpcap reads 1.0 and 1.2 (a minor version some writers used), Wireshark too; nothing else.
          if (major !== 1 || (minor !== 0 && minor !== 2)) {
            this.badHeader(
              base + q + 12,
              `pcapng section header field version is ${major}.${minor}: libpcap and tshark read only 1.0 ` +
                `(and 1.2) and reject the section; read as 1.0`,
            );
          }
        }
      } else {
        st.skippedBlocks++;
      }
    }
  }

  /** Timestamp in µs (truncated) from a pcapng 64-bit count in the interface's resolution. */
  private static tsUs(hi: number, lo: number, iface: Iface): number {
    const r = iface.tsresol;
    let us: number;
    if (r === 6) us = hi * 4294967296 + lo;
    else if (r === 9) us = hi * 4294967 + Math.floor((hi * 296 + lo) / 1000);
    else if (r & 0x80) us = Math.floor(((hi * 4294967296 + lo) * 1e6) / Math.pow(2, r & 0x7f));
    else if (r < 6) us = (hi * 4294967296 + lo) * Math.pow(10, 6 - r);
    else us = Math.floor((hi * 4294967296 + lo) / Math.pow(10, r - 6));
    return iface.tsOffset ? us + iface.tsOffset * 1e6 : us;
  }

  private emit(
    buf: Uint8Array,
    off: number,
    cap: number,
    wire: number,
    hi: number,
    lo: number,
    ifid: number,
    iface: Iface,
    fileOffset: number,
  ): boolean {
    const pkt = this.pkt, st = this.stats;
    decodeFrame(pkt, buf, off, cap, iface.linkType);
    pkt.tsUs = CaptureParser.tsUs(hi, lo, iface);
    pkt.wireLen = wire;
    pkt.ifIndex = ifid;
    pkt.fileOffset = fileOffset;
    if (cap === 0) st.empty++;
    if (iface.snaplen > 0 && cap > iface.snaplen) st.oversize++;
    if (cap > wire) st.capOverWire++;
    st.packets++;
    st.bytes += cap;
    st.linkTypes[iface.linkType] = (st.linkTypes[iface.linkType] ?? 0) + 1;
    if (this.cb(pkt) === false) {
      this.stopped = true;
      return true;
    }
    return false;
  }

  private emitSimple(
    buf: Uint8Array,
    off: number,
    cap: number,
    wire: number,
    iface: Iface,
    fo: number,
  ): boolean {
    // Simple packet blocks carry no timestamp: 0, as Wireshark shows them.
    return this.emit(buf, off, cap, wire, 0, 0, 0, iface, fo);
  }
}

/**
 * Reads chunks of `file` through `parser` until EOF, a stop, or an abort; yields after each parsed chunk.
 * Each chunk is read when the parser needs it, on this thread, and small enough to stay in this core's
 * cache until it is parsed. Reading the next chunk on a helper thread while this one was parsed cost more:
 * measured with `nadir flows` on a 472 MB capture (1 M packets, in the page cache), 0.62 s of CPU in 4 MiB
 * chunks read ahead against 0.56 s in 256 KiB ones read in place, the same wall time: the bytes the
 * other thread copied were cold when parsed (the parser's first read of each record header took ~9 % of
 * its time). A regular file is read synchronously, but for one awaited read every `opts.ioEveryMs` so that
 * timers and I/O still run; a pipe or device with an awaited read per chunk, since its read waits for
 * the writer (or, with `opts.betweenChunks`, synchronously too, as the caller asked).
 */
async function* drive(file: Deno.FsFile, parser: CaptureParser, opts: ReadOptions): AsyncGenerator<void> {
  const sync = opts.betweenChunks !== undefined || (await file.stat()).isFile;
  let size = Math.max(64 * 1024, opts.chunkSize ?? 256 * 1024);
  let buf = new Uint8Array(size);
  let dv = new DataView(buf.buffer);
  let start = 0, end = 0, base = 0, eof = false;
  const ioEveryMs = opts.ioEveryMs ?? 5;
  let lastAwait = performance.now();
  for (;;) {
    if (opts.signal?.aborted) return;
    if (!eof) {
      if (start > 0) {
        buf.copyWithin(0, start, end);
        base += start;
        end -= start;
        start = 0;
      }
      const need = Math.min(parser.need, parser.maxRecord);
      if (need > buf.length) {
        size = Math.max(need, buf.length * 2);
        const nb = new Uint8Array(size);
        nb.set(buf.subarray(0, end));
        buf = nb;
        dv = new DataView(buf.buffer);
      }
      while (end < buf.length) {
        let n: number | null;
        if (sync && performance.now() - lastAwait < ioEveryMs) {
          n = file.readSync(buf.subarray(end));
        } else {
          n = await file.read(buf.subarray(end));
          lastAwait = performance.now();
        }
        if (n === null) {
          eof = true;
          break;
        }
        end += n;
      }
    }
    start = parser.parse(buf, dv, start, end, base, eof);
    if (opts.betweenChunks) await opts.betweenChunks();
    yield;
    if (parser.stopped || eof) return;
  }
}

/**
 * Calls `cb` for every packet of a pcap/pcapng file, in file order. The
 * packet object (and its `raw` view) is reused: copy what you keep, or call
 * `p.clone()`. This is the fast path (no per-packet allocation).
 * Resolves to the read's {@link CaptureStats}.
 */
export async function forEachPacket(
  path: string,
  cb: PacketCallback,
  opts: ReadOptions = {},
): Promise<CaptureStats> {
  const file = await openCapture(path);
  try {
    const parser = new CaptureParser(path, cb, opts);
    for await (const _ of drive(file, parser, opts)) { /* chunk done */ }
    return parser.stats;
  } finally {
    file.close();
  }
}

/**
 * Async iteration over the packets of a pcap/pcapng file. Each yielded
 * packet is an independent copy (safe to keep). Pass `opts.stats` to read the
 * counters afterwards.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newStats, readPackets } from "./reader.ts";
 * const stats = newStats();
 * let n = 0;
 * for await (const p of readPackets("data/pcaps/zeek-smtp.pcap", { stats })) if (p.dstPort === 25) n++;
 * assert.ok(n > 0 && stats.packets > 0);
 * ```
 */
export async function* readPackets(
  path: string,
  opts: ReadOptions = {},
): AsyncGenerator<DecodedPacket, CaptureStats> {
  const batches = readBatches(path, opts);
  try {
    for (let r = await batches.next();; r = await batches.next()) {
      if (r.done) return r.value;
      for (const p of r.value) yield p;
    }
  } finally {
    // The consumer may stop early: let the batch reader close the file.
    await batches.return(undefined as unknown as CaptureStats);
  }
}

/**
 * Async iteration in batches: one array of independent packets per chunk read
 * (about 1 MiB of capture). Much cheaper per packet than {@link readPackets}
 * when the consumer is itself asynchronous.
 */
export async function* readBatches(
  path: string,
  opts: ReadOptions = {},
): AsyncGenerator<DecodedPacket[], CaptureStats> {
  const file = await openCapture(path);
  let pending: DecodedPacket[] = [];
  const arena = new ByteArena();
  const parser = new CaptureParser(path, (p) => {
    pending.push(p.clone(arena));
  }, opts);
  try {
    for await (const _ of drive(file, parser, { ...opts, chunkSize: opts.chunkSize ?? 1024 * 1024 })) {
      if (pending.length) {
        const out = pending;
        pending = [];
        yield out;
      }
    }
    return parser.stats;
  } finally {
    file.close();
  }
}

/**
 * Parses a whole capture held in memory (tests, fuzzing, small buffers).
 * Same callback contract as {@link forEachPacket}.
 */
export function parseCaptureBytes(
  bytes: Uint8Array,
  cb: PacketCallback,
  opts: ReadOptions & { name?: string } = {},
): CaptureStats {
  const parser = new CaptureParser(opts.name ?? "<memory>", cb, opts);
  parser.parse(
    bytes,
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    0,
    bytes.length,
    0,
    true,
  );
  return parser.stats;
}

/** Reads every packet into memory as independent copies (small files only). */
export async function readAllPackets(path: string, opts: ReadOptions = {}): Promise<DecodedPacket[]> {
  const out: DecodedPacket[] = [];
  const arena = new ByteArena();
  await forEachPacket(path, (p) => {
    out.push(p.clone(arena));
  }, opts);
  return out;
}

async function openCapture(path: string): Promise<Deno.FsFile> {
  try {
    const f = await Deno.open(path, { read: true });
    const st = await f.stat();
    if (st.isDirectory) {
      f.close();
      throw new InputError("is a directory, expected a pcap or pcapng file", { file: path });
    }
    return f;
  } catch (e) {
    if (e instanceof InputError) throw e;
    if (e instanceof Deno.errors.NotFound) throw new InputError("no such file", { file: path });
    if (e instanceof Deno.errors.PermissionDenied) throw new InputError("permission denied", { file: path });
    throw e;
  }
}

export type { Packet };
export { DecodedPacket };
