/**
 * Live capture through libpcap (`Deno.dlopen`, needs `--unstable-ffi`).
 *
 * The handle is non-blocking: a blocking read never returns on an idle
 * interface, which would freeze the event loop (and Ctrl-C). {@link LiveSource}
 * drains whatever the kernel buffered with `pcap_next_ex`, then sleeps
 * `pollMs` and tries again, so `stop()`, timers and signals keep working.
 * Kernel drop counts come from `pcap_stats`.
 *
 * Capturing needs root or CAP_NET_RAW (+ CAP_NET_ADMIN for promiscuous mode).
 *
 * @example
 * ```ts ignore
 * import { LiveSource } from "./live.ts";
 * const src = LiveSource.open({ interface: "eth0", filter: "tcp port 443" });
 * setTimeout(() => src.stop(), 5000);
 * const n = { pkts: 0 };
 * await src.forEach(() => { n.pkts++; });
 * console.log(n.pkts, src.stats());
 * src.close();
 * ```
 *
 * @module
 */
import { InputError } from "../util/errors.ts";
import { DecodedPacket, decodeFrame, formatIpv6 } from "./decode.ts";

const SYMBOLS = {
  pcap_findalldevs: { parameters: ["buffer", "buffer"], result: "i32" },
  pcap_freealldevs: { parameters: ["pointer"], result: "void" },
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_next_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_fileno: { parameters: ["pointer"], result: "i32" },
  pcap_set_datalink: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_close: { parameters: ["pointer"], result: "void" },
  pcap_lib_version: { parameters: [], result: "pointer" },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let lib: Lib | undefined;

/**
 * libc memcpy with the source as a plain address (a number): copying a packet
 * then needs no pointer objects, the cheapest way found to move a frame out of
 * libpcap's ring per packet (about 2× faster than UnsafePointer.create +
 * UnsafePointerView.copyInto).
 */
const LIBC = {
  memcpy: { parameters: ["buffer", "usize", "usize"], result: "void" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;
let libc: Deno.DynamicLibrary<typeof LIBC>["symbols"] | null | undefined;
function libcSymbols(): Deno.DynamicLibrary<typeof LIBC>["symbols"] | null {
  if (libc === undefined) {
    try {
      libc = Deno.dlopen("libc.so.6", LIBC).symbols;
    } catch {
      libc = null;
    }
  }
  return libc;
}
function memcpyFn(): ((dst: Uint8Array, src: number, n: number) => void) | null {
  const libc = libcSymbols();
  // usize parameters accept numbers at runtime (addresses stay below 2^53); the typings only say bigint.
  const f = libc?.memcpy as unknown as ((dst: Uint8Array, src: number, n: number) => void) | undefined;
  return f ?? null;
}

/** Opens libpcap once (libpcap.so.0.8 on Debian, then other sonames). */
export function libpcap(): Lib {
  if (lib) return lib;
  const names = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so", "libpcap.dylib"];
  const errors: string[] = [];
  for (const n of names) {
    try {
      lib = Deno.dlopen(n, SYMBOLS).symbols;
      return lib;
    } catch (e) {
      if (e instanceof TypeError && /unstable|ffi/i.test(String(e))) {
        throw new Error("live capture needs Deno's FFI: run with --unstable-ffi (deno task nadir does)");
      }
      errors.push(`${n}: ${(e as Error).message}`);
    }
  }
  throw new Error(`libpcap not found (Debian package libpcap0.8): ${errors.join("; ")}`);
}

function cstr(p: Deno.PointerValue): string {
  return p === null ? "" : Deno.UnsafePointerView.getCString(p);
}

function cbuf(s: string): Uint8Array {
  const b = new TextEncoder().encode(s + "\0");
  return b;
}

/** libpcap's version string. */
export function libpcapVersion(): string {
  return cstr(libpcap().pcap_lib_version());
}

/** An interface as libpcap lists it. */
export interface InterfaceInfo {
  name: string;
  description: string;
  addresses: string[];
  loopback: boolean;
  up: boolean;
  running: boolean;
  wireless: boolean;
}

function readPtr(view: Deno.UnsafePointerView, off: number): Deno.PointerValue {
  const v = view.getBigUint64(off);
  return v === 0n ? null : Deno.UnsafePointer.create(v);
}

function sockaddrString(p: Deno.PointerValue): string | undefined {
  if (p === null) return undefined;
  const v = new Deno.UnsafePointerView(p);
  const fam = v.getUint16(0);
  if (fam === 2) return [v.getUint8(4), v.getUint8(5), v.getUint8(6), v.getUint8(7)].join(".");
  if (fam === 10) {
    const b = new Uint8Array(16);
    v.copyInto(b, 8);
    return formatIpv6(b, 0);
  }
  return undefined;
}

/** Lists capture interfaces (pcap_findalldevs). */
export function listInterfaces(): InterfaceInfo[] {
  const L = libpcap();
  const out = new BigUint64Array(1);
  const err = new Uint8Array(256);
  if (L.pcap_findalldevs(new Uint8Array(out.buffer), err) !== 0) {
    throw new Error(`pcap_findalldevs: ${new TextDecoder().decode(err.subarray(0, err.indexOf(0)))}`);
  }
  const list: InterfaceInfo[] = [];
  const head = out[0] === 0n ? null : Deno.UnsafePointer.create(out[0]);
  let cur = head;
  for (let guard = 0; cur !== null && guard < 10000; guard++) {
    const v = new Deno.UnsafePointerView(cur);
    const flags = v.getUint32(32);
    const addresses: string[] = [];
    let a = readPtr(v, 24);
    for (let g = 0; a !== null && g < 1000; g++) {
      const av = new Deno.UnsafePointerView(a);
      const s = sockaddrString(readPtr(av, 8));
      if (s) addresses.push(s);
      a = readPtr(av, 0);
    }
    list.push({
      name: cstr(readPtr(v, 8)),
      description: cstr(readPtr(v, 16)),
      addresses,
      loopback: (flags & 1) !== 0,
      up: (flags & 2) !== 0,
      running: (flags & 4) !== 0,
      wireless: (flags & 8) !== 0,
    });
    cur = readPtr(v, 0);
  }
  if (head !== null) L.pcap_freealldevs(head);
  return list;
}

/** Options of {@link LiveSource.open}. */
export interface LiveOptions {
  /** Interface name (`any` captures on all, link type Linux SLL). */
  interface: string;
  /** Bytes kept per packet (default 262144). */
  snaplen?: number;
  /** Promiscuous mode (default true). */
  promisc?: boolean;
  /** BPF filter expression (tcpdump syntax). */
  filter?: string;
  /** Kernel buffer size in MiB (default libpcap's, 2 MiB). */
  bufferMb?: number;
  /** Sleep between polls of an idle interface, ms (default 5). */
  pollMs?: number;
  /** Packets handled per poll before yielding to the event loop (default 4096). */
  batch?: number;
  /** Link type to ask for (pcap_set_datalink), e.g. 276 for Linux SLL2 on `any`. */
  linkType?: number;
  /**
   * Deliver each packet at once (pcap_set_immediate_mode). Off by default: on Linux immediate mode
   * switches libpcap to TPACKET_V2, whose ring has one snaplen-sized slot per packet (a 64 MiB buffer
   * holds only ~256 packets at snaplen 262144) and drops under load; TPACKET_V3 packs packets into
   * blocks handed over when full or after `timeoutMs`.
   */
  immediate?: boolean;
  /** Block timeout in ms: the longest a captured packet waits before it is handed over (default 10). */
  timeoutMs?: number;
  /**
   * Join Linux PACKET_FANOUT group `fanoutGroup` (0–65535), or `"new"` to found a group with an id no
   * other group in this network namespace has ({@link LiveSource.fanoutGroup} then says which). Every handle of
   * a group gets a share of the interface's packets, split by the kernel's symmetric flow hash, so both
   * directions of a flow reach the same handle. IP fragments are reassembled before the hash
   * (PACKET_FANOUT_FLAG_DEFRAG): a first fragment is hashed without its ports, so it could otherwise reach
   * another handle than its flow's other packets. A handle then sees the whole datagram.
   */
  fanoutGroup?: number | "new";
}

/** Slack beyond the block timeout before a drained buffer vouches for a packet's arrival (kernel timer jitter). */
const DRAIN_MARGIN_US = 50_000;

/** Linux `<linux/if_packet.h>`: SOL_PACKET, PACKET_FANOUT, PACKET_FANOUT_HASH with its flags. */
const SOL_PACKET = 263, PACKET_FANOUT = 18, FANOUT_DEFRAG = 0x8000, FANOUT_UNIQUEID = 0x2000;

/**
 * Puts libpcap's socket in fanout group `group` ("new": a new group, id chosen by the kernel) after
 * activation, as the kernel needs the socket bound to its interface. Returns the group's id. Throws with
 * the kernel's errno when it refuses (not Linux, a group of another kind, another interface).
 */
function joinFanout(h: Deno.PointerValue, name: string, group: number | "new"): number {
  if (group !== "new" && (!Number.isInteger(group) || group < 0 || group > 0xffff)) {
    throw new InputError(`fanout group must be "new" or an integer from 0 to 65535, found ${group}`);
  }
  const fd = libpcap().pcap_fileno(h);
  const c = libcSymbols();
  if (fd < 0 || !c) throw new InputError(`cannot join a fanout group on "${name}": no socket or no libc`);
  const flags = FANOUT_DEFRAG | (group === "new" ? FANOUT_UNIQUEID : 0);
  const arg = new Uint32Array([((group === "new" ? 0 : group) | (flags << 16)) >>> 0, 4]);
  const bytes = new Uint8Array(arg.buffer);
  if (c.setsockopt(fd, SOL_PACKET, PACKET_FANOUT, bytes.subarray(0, 4), 4) !== 0) {
    const errno = new Deno.UnsafePointerView(c.__errno_location()!).getInt32();
    const why: Record<number, string> = {
      1: "EPERM",
      22: "EINVAL: a group of this id exists on another interface or of another kind",
      92: "ENOPROTOOPT: this kernel has no PACKET_FANOUT",
    };
    throw new InputError(
      `cannot join PACKET_FANOUT group ${group} on "${name}": errno ${errno}` +
        (why[errno] ? ` (${why[errno]})` : ""),
    );
  }
  if (group !== "new") return group;
  // The kernel's answer: the id in the low 16 bits, the mode and flags above.
  if (c.getsockopt(fd, SOL_PACKET, PACKET_FANOUT, bytes.subarray(0, 4), bytes.subarray(4, 8)) !== 0) {
    throw new InputError(`cannot read the PACKET_FANOUT group the kernel chose on "${name}"`);
  }
  return arg[0] & 0xffff;
}

/** A buffer of libpcap's that pcap_next_ex points into, viewed in place once its address repeats. */
interface Seen {
  /** The address viewed (-1: none yet), and the last address handed back. */
  at: number;
  last: number;
  view: DataView | undefined;
  bytes: Uint8Array;
}

/** Counters of a live source. */
export interface LiveStats {
  /** Packets delivered to the consumer. */
  packets: number;
  /** Captured bytes delivered. */
  bytes: number;
  /** pcap_stats ps_recv: packets the kernel handed to the filter. */
  kernelReceived: number;
  /** pcap_stats ps_drop: dropped because the buffer was full (the consumer was too slow). */
  kernelDropped: number;
  /** pcap_stats ps_ifdrop: dropped by the interface/driver. */
  ifDropped: number;
}

const PCAP_ERRORS: Record<number, string> = {
  [-1]: "generic error",
  [-3]: "no such device or not up",
  [-4]: "already activated",
  [-5]: "no such device",
  [-6]: "radio frequency monitor mode not supported",
  [-7]: "not activated",
  [-8]: "permission denied",
  [-9]: "interface is not up",
  [-11]: "permission denied for promiscuous mode",
};

/** A live libpcap capture yielding decoded packets. */
export class LiveSource implements AsyncIterable<DecodedPacket> {
  /** LINKTYPE of the interface. */
  readonly linkType: number;
  readonly interface: string;
  /** Warning libpcap gave at activation (e.g. promiscuous mode not supported), or "". */
  readonly warning: string;
  private handle: Deno.PointerValue;
  private stopped = false;
  private closed = false;
  private readonly pkt = new DecodedPacket();
  private readonly hdrPtr = new BigUint64Array(1);
  private readonly dataPtr = new BigUint64Array(1);
  private readonly hdrOut = new Uint8Array(this.hdrPtr.buffer);
  private readonly dataOut = new Uint8Array(this.dataPtr.buffer);
  private readonly hdrWords = new Uint32Array(this.hdrPtr.buffer);
  private readonly dataWords = new Uint32Array(this.dataPtr.buffer);
  private readonly memcpy = memcpyFn();
  private buf: Uint8Array;
  /** Bytes libpcap may hand over per packet: the length of a view of its packet buffer. */
  private readonly snaplen: number;
  /**
   * pcap_next_ex hands back pointers into buffers libpcap reuses on every call: the pcap_t's packet
   * header, and on Linux's memory-mapped ring the "oneshot" buffer it copies each packet into (the ring's
   * block goes back to the kernel on the next read). Once an address comes back a second time in a row,
   * it is viewed in place (`Deno.UnsafePointerView.getArrayBuffer`) and read there: no copy and no FFI
   * call beyond pcap_next_ex itself. An address not seen before is copied out, as any would be.
   */
  private readonly hdrSeen: Seen = { at: -1, last: -1, view: undefined, bytes: new Uint8Array(0) };
  private readonly dataSeen: Seen = { at: -1, last: -1, view: undefined, bytes: new Uint8Array(0) };
  /** struct pcap_pkthdr on 64-bit Linux: timeval (2 × 8 bytes), caplen, len. */
  private readonly hdrBuf = new Uint8Array(24);
  private readonly hdrView = new DataView(this.hdrBuf.buffer);
  private readonly counters = { packets: 0, bytes: 0 };
  private wake: (() => void) | undefined;

  private constructor(
    handle: Deno.PointerValue,
    private readonly opts: LiveOptions,
    warning: string,
    /** The PACKET_FANOUT group this capture joined (see {@link LiveOptions.fanoutGroup}); undefined: none. */
    readonly fanoutGroup: number | undefined,
  ) {
    this.handle = handle;
    this.interface = opts.interface;
    this.linkType = libpcap().pcap_datalink(handle);
    this.warning = warning;
    this.snaplen = opts.snaplen ?? 262144;
    this.buf = new Uint8Array(Math.max(this.snaplen, 65536));
  }

  /**
   * Opens and activates a capture. Throws InputError with a clear message for
   * a missing interface, missing permission or a bad filter.
   */
  static open(opts: LiveOptions): LiveSource {
    const L = libpcap();
    const err = new Uint8Array(256);
    const errText = () => new TextDecoder().decode(err.subarray(0, Math.max(0, err.indexOf(0))));
    const name = opts.interface;
    const h = L.pcap_create(cbuf(name), err);
    if (h === null) throw new InputError(`cannot open interface "${name}": ${errText()}`);
    let ok = false;
    try {
      L.pcap_set_snaplen(h, opts.snaplen ?? 262144);
      L.pcap_set_promisc(h, opts.promisc === false ? 0 : 1);
      L.pcap_set_timeout(h, opts.timeoutMs ?? 10);
      if (opts.immediate) L.pcap_set_immediate_mode(h, 1);
      if (opts.bufferMb) L.pcap_set_buffer_size(h, Math.round(opts.bufferMb * 1024 * 1024));
      const rc = L.pcap_activate(h);
      let warning = "";
      if (rc < 0) {
        const detail = cstr(L.pcap_geterr(h)) || PCAP_ERRORS[rc] || `error ${rc}`;
        if (rc === -5 || rc === -3) {
          throw new InputError(`no such interface "${name}" (${detail}); see \`nadir capture list\``);
        }
        if (rc === -8 || rc === -11) {
          throw new InputError(
            `no permission to capture on "${name}" (${detail}): run as root or grant the capability, ` +
              `e.g. sudo setcap cap_net_raw,cap_net_admin=eip "$(command -v deno)"`,
          );
        }
        if (rc === -9) throw new InputError(`interface "${name}" is not up (${detail})`);
        throw new InputError(`cannot activate capture on "${name}": ${detail}`);
      }
      if (rc > 0) warning = cstr(L.pcap_geterr(h)) || cstr(L.pcap_statustostr(rc));
      if (opts.linkType !== undefined && L.pcap_set_datalink(h, opts.linkType) !== 0) {
        throw new InputError(
          `interface "${name}" cannot deliver link type ${opts.linkType}: ${cstr(L.pcap_geterr(h))}`,
        );
      }
      const group = opts.fanoutGroup === undefined ? undefined : joinFanout(h, name, opts.fanoutGroup);
      if (L.pcap_setnonblock(h, 1, err) !== 0) throw new Error(`pcap_setnonblock: ${errText()}`);
      if (opts.filter) {
        const prog = new Uint8Array(16);
        if (L.pcap_compile(h, prog, cbuf(opts.filter), 1, 0xffffffff) !== 0) {
          throw new InputError(`bad BPF filter "${opts.filter}": ${cstr(L.pcap_geterr(h))}`);
        }
        const rcf = L.pcap_setfilter(h, prog);
        L.pcap_freecode(prog);
        if (rcf !== 0) {
          throw new InputError(`cannot set BPF filter "${opts.filter}": ${cstr(L.pcap_geterr(h))}`);
        }
      }
      ok = true;
      return new LiveSource(h, opts, warning, group);
    } finally {
      if (!ok) L.pcap_close(h);
    }
  }

  /** Asks the capture loop to end (after the current batch). */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** True once stop() was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Delivered counts plus the kernel's pcap_stats counters. */
  stats(): LiveStats {
    const s: LiveStats = { ...this.counters, kernelReceived: 0, kernelDropped: 0, ifDropped: 0 };
    if (this.closed) return { ...s, ...this.lastKernel };
    const b = new Uint32Array(4);
    if (libpcap().pcap_stats(this.handle, new Uint8Array(b.buffer)) === 0) {
      s.kernelReceived = b[0];
      s.kernelDropped = b[1];
      s.ifDropped = b[2];
      this.lastKernel = { kernelReceived: b[0], kernelDropped: b[1], ifDropped: b[2] };
    }
    return s;
  }
  private lastKernel = { kernelReceived: 0, kernelDropped: 0, ifDropped: 0 };

  /**
   * Reads one packet if the kernel has one: decodes it into the reused
   * packet and returns it, or returns undefined when nothing is waiting.
   */
  private next(): DecodedPacket | undefined {
    const L = libpcap();
    const rc = L.pcap_next_ex(this.handle, this.hdrOut, this.dataOut);
    if (rc === 1) {
      // The out-pointers are read as two 32-bit halves (no BigInt).
      const hdrAddr = this.hdrWords[0] + this.hdrWords[1] * 4294967296;
      const dataAddr = this.dataWords[0] + this.dataWords[1] * 4294967296;
      let hv: DataView = this.hdrView;
      if (hdrAddr === this.hdrSeen.at) hv = this.hdrSeen.view!;
      else if (!this.seenAgain(this.hdrSeen, hdrAddr, 24)) this.copy(this.hdrBuf, hdrAddr, 24);
      else hv = this.hdrSeen.view!;
      const sec = hv.getUint32(0, true) + hv.getInt32(4, true) * 4294967296;
      const usec = hv.getUint32(8, true);
      const cap = hv.getUint32(16, true);
      const wire = hv.getUint32(20, true);
      let buf: Uint8Array;
      if (dataAddr === this.dataSeen.at && cap <= this.dataSeen.bytes.length) buf = this.dataSeen.bytes;
      else if (cap <= this.snaplen && this.seenAgain(this.dataSeen, dataAddr, this.snaplen)) {
        buf = this.dataSeen.bytes;
      } else {
        if (cap > this.buf.length) this.buf = new Uint8Array(cap);
        if (cap > 0) this.copy(this.buf, dataAddr, cap);
        buf = this.buf;
      }
      const p = this.pkt;
      decodeFrame(p, buf, 0, cap, this.linkType);
      p.tsUs = sec * 1e6 + usec;
      p.wireLen = wire;
      p.ifIndex = 0;
      p.fileOffset = -1;
      this.counters.packets++;
      this.counters.bytes += cap;
      return p;
    }
    if (rc === 0) return undefined;
    if (rc === -2) {
      this.stopped = true;
      return undefined;
    }
    throw new Error(`pcap_next_ex on "${this.interface}": ${cstr(L.pcap_geterr(this.handle))}`);
  }

  /** Whether `addr` came back twice in a row: then `seen` views `bytes` bytes there from now on. */
  private seenAgain(seen: Seen, addr: number, bytes: number): boolean {
    if (addr !== seen.last) {
      seen.last = addr;
      return false;
    }
    const ab = Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(BigInt(addr))!, bytes);
    seen.at = addr;
    seen.view = new DataView(ab);
    seen.bytes = new Uint8Array(ab);
    return true;
  }

  /** Copies `n` bytes at address `addr` into `dst` (libc memcpy by address, else a pointer view). */
  private copy(dst: Uint8Array, addr: number, n: number): void {
    const mc = this.memcpy;
    if (mc) mc(dst, addr, n);
    else Deno.UnsafePointerView.copyInto(Deno.UnsafePointer.create(BigInt(addr))!, dst.subarray(0, n));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /**
   * Calls `cb` for each packet until stop() (or `cb` returns false). The
   * packet object is reused: copy what you keep (`p.clone()`). `drained` is
   * called each time a poll finds the kernel's buffer empty, with a wall-clock
   * time (µs) before which every packet that arrived has been delivered: the
   * poll's start, less the block timeout (the newest packets wait in an open
   * block until it is handed over).
   */
  async forEach(
    cb: (p: DecodedPacket) => void | boolean,
    drained?: (beforeUs: number) => void,
  ): Promise<LiveStats> {
    const batch = this.opts.batch ?? 4096;
    const poll = this.opts.pollMs ?? 5;
    let consumerStopped = false;
    const heldUs = 1000 * (this.opts.timeoutMs ?? 10) + DRAIN_MARGIN_US;
    while (!this.stopped && !this.closed) {
      // Read before the poll: a thread preempted after finding the buffer empty must not claim the time
      // it was away.
      const startUs = drained ? Date.now() * 1000 : 0;
      let n = 0;
      for (; n < batch && !this.stopped; n++) {
        const p = this.next();
        if (!p) break;
        if (cb(p) === false) {
          this.stopped = consumerStopped = true;
          break;
        }
      }
      if (this.stopped) break;
      if (n < batch) {
        drained?.(startUs - heldUs);
        // Traffic is flowing: come back within a millisecond, as a block may fill meanwhile (a 2 MiB
        // buffer holds ~13 ms at 390 k packets/s); an idle link waits the whole poll.
        await this.sleep(n > 0 ? Math.min(1, poll) : poll);
      } else await new Promise((r) => setTimeout(r, 0));
    }
    // stop() (Ctrl-C, a timer): hand over what the kernel already captured instead of dropping it.
    if (!consumerStopped && !this.closed) {
      for (let i = 0; i < 1_000_000; i++) {
        const p = this.next();
        if (!p || cb(p) === false) break;
      }
    }
    return this.stats();
  }

  /** Async iteration; each packet is an independent copy. Ends on stop(). */
  async *[Symbol.asyncIterator](): AsyncGenerator<DecodedPacket> {
    const poll = this.opts.pollMs ?? 5;
    while (!this.stopped && !this.closed) {
      const p = this.next();
      if (p) yield p.clone();
      else if (!this.stopped) await this.sleep(poll);
    }
  }

  /** Stops and releases the handle (stats stay readable). */
  close(): void {
    if (this.closed) return;
    this.stats();
    this.stopped = true;
    this.closed = true;
    libpcap().pcap_close(this.handle);
    this.handle = null;
  }
}
