/**
 * Capture writers: pcapng (Section Header + Interface Description + Enhanced
 * Packet blocks) and classic pcap (microseconds), both little-endian, written
 * through a small buffer with synchronous file writes so a live capture loop
 * can call them per packet. {@link encodeCapture} builds a capture in memory
 * (alert evidence served over HTTP), {@link writePcap} writes a list of frames.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PcapngWriter } from "./writer.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".pcapng" });
 * const w = PcapngWriter.create(path, { linkType: 1 });
 * w.writePacket(1_700_000_000_000_000, new Uint8Array(60));
 * w.close();
 * assert.ok(Deno.statSync(path).size > 60);
 * Deno.removeSync(path);
 * ```
 *
 * @module
 */
import { InputError } from "../util/errors.ts";

/** One frame to write. */
export interface FrameRecord {
  /** Capture time, µs since the Unix epoch. */
  tsUs: number;
  /** Frame bytes as captured. */
  data: Uint8Array;
  /** Original length on the wire (default data.length). */
  wireLen?: number;
  /** Interface index (pcapng; default 0). */
  ifIndex?: number;
}

/** An interface described in the pcapng file. */
export interface InterfaceSpec {
  linkType: number;
  snaplen?: number;
  name?: string;
  description?: string;
}

/** Writer options. */
export interface WriterOptions {
  /** Link type of interface 0 (default 1, Ethernet). Ignored when `interfaces` is given. */
  linkType?: number;
  /** Snaplen recorded in the header (default 262144). */
  snaplen?: number;
  /** pcapng: several interfaces (packets name theirs with `ifIndex`). */
  interfaces?: InterfaceSpec[];
  /** pcapng: interface name of interface 0 (if_name option). */
  ifName?: string;
  /** pcapng: a section comment (opt_comment). */
  comment?: string;
}

const enc = new TextEncoder();

/** Byte sink with a write buffer; writes to a file or collects in memory. */
class Sink {
  private buf = new Uint8Array(256 * 1024);
  private dv = new DataView(this.buf.buffer);
  private n = 0;
  private chunks: Uint8Array[] | undefined;
  /** Bytes written so far (buffered included). */
  size = 0;

  constructor(private readonly file: Deno.FsFile | undefined) {
    if (!file) this.chunks = [];
  }

  reserve(len: number): DataView {
    if (this.n + len > this.buf.length) {
      this.flush();
      if (len > this.buf.length) {
        this.buf = new Uint8Array(len * 2);
        this.dv = new DataView(this.buf.buffer);
      }
    }
    return this.dv;
  }
  get pos(): number {
    return this.n;
  }
  get bytes(): Uint8Array {
    return this.buf;
  }
  advance(len: number): void {
    this.n += len;
    this.size += len;
  }
  flush(): void {
    if (this.n === 0) return;
    const part = this.buf.subarray(0, this.n);
    if (this.file) {
      let off = 0;
      while (off < part.length) off += this.file.writeSync(part.subarray(off));
    } else this.chunks!.push(part.slice());
    this.n = 0;
  }
  close(): void {
    this.flush();
    this.file?.close();
  }
  collect(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks ?? []) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function openForWrite(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { write: true, create: true, truncate: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new InputError("directory does not exist", { file: path });
    if (e instanceof Deno.errors.PermissionDenied) throw new InputError("permission denied", { file: path });
    throw e;
  }
}

/** Common interface of both writers. */
export interface CaptureWriter {
  writePacket(tsUs: number, data: Uint8Array, wireLen?: number, ifIndex?: number): void;
  /** Bytes written so far. */
  readonly bytesWritten: number;
  /** Packets written so far. */
  readonly packetsWritten: number;
  flush(): void;
  close(): void;
}

/** What both writers share: the buffered sink they write to and its bookkeeping. */
abstract class SinkWriter implements CaptureWriter {
  packetsWritten = 0;

  protected constructor(protected readonly sink: Sink) {}

  abstract writePacket(tsUs: number, data: Uint8Array, wireLen?: number, ifIndex?: number): void;

  get bytesWritten(): number {
    return this.sink.size;
  }
  flush(): void {
    this.sink.flush();
  }
  close(): void {
    this.sink.close();
  }
  /** The bytes of an in-memory writer. */
  toBytes(): Uint8Array {
    return this.sink.collect();
  }
}

/** pcapng writer (SHB + IDBs, then one EPB per packet, µs timestamps). */
export class PcapngWriter extends SinkWriter {
  private readonly nIfaces: number;

  private constructor(sink: Sink, opts: WriterOptions) {
    super(sink);
    const ifaces = opts.interfaces?.length
      ? opts.interfaces
      : [{ linkType: opts.linkType ?? 1, snaplen: opts.snaplen, name: opts.ifName }];
    this.nIfaces = ifaces.length;
    this.writeShb(opts.comment);
    for (const i of ifaces) this.writeIdb(i, opts.snaplen);
  }

  /** Creates (truncates) `path` and writes the headers. */
  static create(path: string, opts: WriterOptions = {}): PcapngWriter {
    return new PcapngWriter(new Sink(openForWrite(path)), opts);
  }

  /** A writer that collects the file in memory; get it with {@link toBytes}. */
  static inMemory(opts: WriterOptions = {}): PcapngWriter {
    return new PcapngWriter(new Sink(undefined), opts);
  }

  private static optLen(value: Uint8Array | undefined): number {
    return value ? 4 + ((value.length + 3) & ~3) : 0;
  }

  private static putOpt(dv: DataView, bytes: Uint8Array, o: number, code: number, value: Uint8Array): number {
    dv.setUint16(o, code, true);
    dv.setUint16(o + 2, value.length, true);
    bytes.set(value, o + 4);
    const padded = (value.length + 3) & ~3;
    bytes.fill(0, o + 4 + value.length, o + 4 + padded);
    return o + 4 + padded;
  }

  private writeShb(comment?: string): void {
    const appl = enc.encode("nadir");
    const c = comment ? enc.encode(comment) : undefined;
    const len = 24 + PcapngWriter.optLen(appl) + PcapngWriter.optLen(c) + 4 + 4;
    const dv = this.sink.reserve(len);
    const b = this.sink.bytes;
    const o = this.sink.pos;
    dv.setUint32(o, 0x0a0d0d0a, true);
    dv.setUint32(o + 4, len, true);
    dv.setUint32(o + 8, 0x1a2b3c4d, true);
    dv.setUint16(o + 12, 1, true);
    dv.setUint16(o + 14, 0, true);
    dv.setInt32(o + 16, -1, true); // section length unknown
    dv.setInt32(o + 20, -1, true);
    let p = o + 24;
    if (c) p = PcapngWriter.putOpt(dv, b, p, 1, c);
    p = PcapngWriter.putOpt(dv, b, p, 4, appl);
    dv.setUint32(p, 0, true); // opt_endofopt
    p += 4;
    dv.setUint32(p, len, true);
    this.sink.advance(len);
  }

  private writeIdb(i: InterfaceSpec, snaplen?: number): void {
    const name = i.name ? enc.encode(i.name) : undefined;
    const desc = i.description ? enc.encode(i.description) : undefined;
    const tsresol = new Uint8Array([6]);
    const len = 20 + PcapngWriter.optLen(name) + PcapngWriter.optLen(desc) + PcapngWriter.optLen(tsresol) + 4;
    const dv = this.sink.reserve(len);
    const b = this.sink.bytes;
    const o = this.sink.pos;
    dv.setUint32(o, 1, true);
    dv.setUint32(o + 4, len, true);
    dv.setUint16(o + 8, i.linkType, true);
    dv.setUint16(o + 10, 0, true);
    dv.setUint32(o + 12, i.snaplen ?? snaplen ?? 262144, true);
    let p = o + 16;
    if (name) p = PcapngWriter.putOpt(dv, b, p, 2, name);
    if (desc) p = PcapngWriter.putOpt(dv, b, p, 3, desc);
    p = PcapngWriter.putOpt(dv, b, p, 9, tsresol);
    dv.setUint32(p, 0, true);
    p += 4;
    dv.setUint32(p, len, true);
    this.sink.advance(len);
  }

  /** Appends one Enhanced Packet Block. */
  writePacket(tsUs: number, data: Uint8Array, wireLen: number = data.length, ifIndex = 0): void {
    if (ifIndex < 0 || ifIndex >= this.nIfaces) {
      throw new RangeError(`interface ${ifIndex} not described (the file has ${this.nIfaces})`);
    }
    const cap = data.length;
    const len = 32 + ((cap + 3) & ~3);
    const dv = this.sink.reserve(len);
    const o = this.sink.pos;
    const ts = Math.max(0, Math.floor(tsUs));
    dv.setUint32(o, 6, true);
    dv.setUint32(o + 4, len, true);
    dv.setUint32(o + 8, ifIndex, true);
    dv.setUint32(o + 12, Math.floor(ts / 4294967296), true);
    dv.setUint32(o + 16, ts % 4294967296, true);
    dv.setUint32(o + 20, cap, true);
    dv.setUint32(o + 24, Math.max(wireLen, cap), true);
    const b = this.sink.bytes;
    b.set(data, o + 28);
    b.fill(0, o + 28 + cap, o + len - 4);
    dv.setUint32(o + len - 4, len, true);
    this.sink.advance(len);
    this.packetsWritten++;
  }
}

/** Classic pcap writer (little-endian, microseconds). */
export class PcapWriter extends SinkWriter {
  private readonly snaplen: number;

  private constructor(sink: Sink, opts: WriterOptions) {
    super(sink);
    this.snaplen = opts.snaplen ?? 262144;
    const dv = sink.reserve(24);
    const o = sink.pos;
    dv.setUint32(o, 0xa1b2c3d4, true);
    dv.setUint16(o + 4, 2, true);
    dv.setUint16(o + 6, 4, true);
    dv.setInt32(o + 8, 0, true);
    dv.setUint32(o + 12, 0, true);
    dv.setUint32(o + 16, this.snaplen, true);
    dv.setUint32(o + 20, opts.interfaces?.[0]?.linkType ?? opts.linkType ?? 1, true);
    sink.advance(24);
  }

  static create(path: string, opts: WriterOptions = {}): PcapWriter {
    return new PcapWriter(new Sink(openForWrite(path)), opts);
  }
  static inMemory(opts: WriterOptions = {}): PcapWriter {
    return new PcapWriter(new Sink(undefined), opts);
  }

  /** Appends one record; `ifIndex` is ignored (pcap has one interface). */
  writePacket(tsUs: number, data: Uint8Array, wireLen: number = data.length, _ifIndex = 0): void {
    const cap = Math.min(data.length, this.snaplen);
    const dv = this.sink.reserve(16 + cap);
    const o = this.sink.pos;
    const ts = Math.max(0, Math.floor(tsUs));
    dv.setUint32(o, Math.floor(ts / 1e6), true);
    dv.setUint32(o + 4, ts % 1e6, true);
    dv.setUint32(o + 8, cap, true);
    dv.setUint32(o + 12, Math.max(wireLen, cap), true);
    this.sink.bytes.set(cap === data.length ? data : data.subarray(0, cap), o + 16);
    this.sink.advance(16 + cap);
    this.packetsWritten++;
  }
}

/** "pcap" or "pcapng" from an explicit choice or the file name (default pcapng). */
export function formatFor(path: string, format?: "pcap" | "pcapng"): "pcap" | "pcapng" {
  if (format) return format;
  return /\.pcap$/i.test(path) ? "pcap" : "pcapng";
}

/** Opens a writer for `path` (format from `format` or the extension: `.pcap` → pcap, else pcapng). */
export function createWriter(
  path: string,
  opts: WriterOptions & { format?: "pcap" | "pcapng" } = {},
): CaptureWriter {
  return formatFor(path, opts.format) === "pcap"
    ? PcapWriter.create(path, opts)
    : PcapngWriter.create(path, opts);
}

/**
 * Writes `frames` to `path` (pcap or pcapng by extension or `opts.format`)
 * and returns the number written. Used for alert evidence: the first packets
 * of a flow, saved as a capture anyone can open in Wireshark.
 */
export function writePcap(
  path: string,
  frames: Iterable<FrameRecord>,
  opts: WriterOptions & { format?: "pcap" | "pcapng" } = {},
): number {
  const w = createWriter(path, opts);
  try {
    for (const f of frames) w.writePacket(f.tsUs, f.data, f.wireLen, f.ifIndex);
  } finally {
    w.close();
  }
  return w.packetsWritten;
}

/** Builds a capture in memory (e.g. to serve as a download) from `frames`. */
export function encodeCapture(
  frames: Iterable<FrameRecord>,
  opts: WriterOptions & { format?: "pcap" | "pcapng" } = {},
): Uint8Array {
  const w = opts.format === "pcap" ? PcapWriter.inMemory(opts) : PcapngWriter.inMemory(opts);
  for (const f of frames) w.writePacket(f.tsUs, f.data, f.wireLen, f.ifIndex);
  return w.toBytes();
}
