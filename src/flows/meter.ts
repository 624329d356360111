/**
 * Bidirectional flow meter. Default semantics follow NFStream's metering
 * engine (idle timeout 120 s, active timeout 1800 s, time in milliseconds,
 * direction from the first packet, key = bidirectional 5-tuple + VLAN +
 * tunnel id, non-first IPv4 fragments ignored, ICMP keyed with ports 0,
 * non-IP packets counted but not metered, bytes = frame length on the wire).
 *
 * Timeouts are checked on packet time, so processing a capture file is
 * deterministic; {@link FlowMeter.expire} and {@link FlowMeter.flush} serve
 * live capture. Optional TCP termination (off by default, as in NFStream)
 * ends a flow on RST or after FINs from both sides, keeping late packets of
 * the closed connection in the same flow for a short linger instead of
 * emitting "TCP appendix" flows. A flow-table cap evicts the least recently
 * updated flow (counted).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FlowMeter } from "./meter.ts";
 * const flows: number[] = [];
 * const m = new FlowMeter({ onFlow: (f) => flows.push(f.packets) });
 * const p = { tsUs: 0, wireLen: 60, capLen: 60, ifIndex: 0, linkType: 1, vlanId: 0, ipVersion: 4 as const,
 *   srcIp: "10.0.0.1", dstIp: "10.0.0.2", protocol: 17, srcPort: 1234, dstPort: 53, ipLen: 46, ttl: 64,
 *   transportHeaderLen: 8, payloadLen: 18, tcpFlags: 0, tcpWindow: 0, icmpType: -1, icmpCode: -1,
 *   fragment: false, laterFragment: false, tunnelId: 0 };
 * m.add(p);
 * m.add({ ...p, tsUs: 1000, srcIp: "10.0.0.2", dstIp: "10.0.0.1", srcPort: 53, dstPort: 1234 });
 * m.flush();
 * assert.equal(flows[0], 2);
 * ```
 * @module
 */
import type { Packet } from "../capture/packet.ts";
import { DecodedPacket, formatIpv6Words } from "../capture/decode.ts";
import type { RowWriter } from "./features/types.ts";

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Dotted quad of an unsigned 32-bit IPv4 address. */
export function formatIp4(x: number): string {
  return (x >>> 24) + "." + ((x >>> 16) & 255) + "." + ((x >>> 8) & 255) + "." + (x & 255);
}

/** Lower-case colon hex of a MAC given as two 24-bit halves. */
export function formatMac48(hi: number, lo: number): string {
  return HEX2[hi >>> 16] + ":" + HEX2[(hi >>> 8) & 255] + ":" + HEX2[hi & 255] + ":" + HEX2[lo >>> 16] + ":" +
    HEX2[(lo >>> 8) & 255] + ":" + HEX2[lo & 255];
}

/** Why a flow ended. 0 and 1 are NFStream's codes. */
export const Expiration = {
  /** No packet for `idleTimeout`. */
  IDLE: 0,
  /** Flow older than `activeTimeout`. */
  ACTIVE: 1,
  /** TCP connection closed (RST, or FIN from both sides) with `tcpTermination`. */
  TCP_END: 2,
  /** Evicted because the flow table reached `maxFlows`. */
  EVICTED: 3,
  /** Still active at the end of the input ({@link FlowMeter.flush}). */
  FLUSH: 4,
} as const;

/**
 * The ordered passes in which the meter ends flows at a packet-clock time, in the order it runs them when
 * the clock moves ({@link FlowMeter.endPhase}):
 *
 * - `LINGER`: closed TCP connections whose linger ran out, in the order they closed (their close times,
 *   {@link FlowMeter.endOrderUs}, never decrease), before anything else at that clock; no later packet at
 *   the same clock ends another this way (a linger ends after the clock it started at).
 * - `SCAN`: the idle scan, least recently seen first (their last packets' times never decrease); every flow
 *   it leaves was seen later than all it ended, and none is idle until the clock moves again.
 * - `OTHER`: anything else (a packet's own flow, evictions), in no promised order.
 * - `FLUSH`: the end of the input ({@link FlowMeter.flush}), after everything else at the last clock, least
 *   recently seen first (their last packets' times never decrease).
 *
 * A sharded sensor's rules rely on these promises to judge one shard's alerts while another is still busy
 * with a burst at the same clock (src/serve/shard_merge.ts).
 */
export const EndPhase = { LINGER: 0, SCAN: 1, OTHER: 2, FLUSH: 3 } as const;
/** See {@link EndPhase}. */
export type EndPhase = typeof EndPhase[keyof typeof EndPhase];

/** TCP flag bits as in {@link Packet.tcpFlags}. */
export const TCP = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128, NS: 256 } as const;

/**
 * Per-flow feature state. A feature set creates one per flow and updates it
 * with every packet; the meter never looks inside.
 */
export interface FlowFeatureSet<S = unknown> {
  /** Name (`basic`, `cic`, ...). */
  readonly name: string;
  /**
   * Called for the first packet of a flow (direction 0). `prev` is the flow of the same key that this
   * packet's arrival just ended by a timeout (a long connection cut in pieces), if any.
   */
  init(flow: Flow, pkt: Packet, prev?: Flow): S;
  /** Called for every later packet, after the flow's counters were updated. `dir`: 0 src→dst, 1 dst→src. */
  update(state: S, flow: Flow, pkt: Packet, dir: 0 | 1): void;
}

/**
 * A flow record as the meter keeps it. Times are microseconds since the epoch.
 *
 * One record lives for every active flow, so its size is the meter's memory per flow (a flood of 1 M
 * single-packet flows holds 1 M of them). Every slot of a V8 object costs 8 bytes here and a double
 * stored in a field costs a 16-byte box besides, so the record keeps only what cannot be derived:
 * totals are the sums of the two directions, the ports follow from the key's endpoints, small codes
 * share one integer, as do the two ports, the MACs take three integers for their 96 bits, the first
 * time is two integers (seconds, microseconds), and every later time is an offset from it (an integer
 * that fits in a slot while a flow lasts less than 35 min, the active timeout's default being 30).
 * What few flows have (address strings, a tunnel id) lives in a side object. Its getters read as the
 * fields they replace.
 */
export class Flow {
  /** Sequence number in order of creation, from 0. */
  id = 0;
  /**
   * Canonical endpoints of the key: lower address/port first. The IPv4 addresses are kept as signed
   * 32-bit integers (the same bits), which V8 stores without a box; an IPv6 flow from the decoder keeps a
   * 32-bit hash of each address here (the addresses are in its {@link Ip6Extras}); 0 for string keys.
   * The two ports share `_kp` (first endpoint's in the high 16 bits).
   */
  ka = 0;
  kb = 0;
  _kp = 0;
  bucketNext: Flow | null = null;
  /**
   * protocol (bits 0–7), IP version / 2 (8–9), decoded source MAC (10), decoded destination MAC (11),
   * swapped (12), TCP close bits (13–15), expiration id + 1 (16–18), VLAN id (19–30).
   */
  _bits = 0;
  /**
   * What few flows need: address strings (packets not from the decoder), a decoded IPv6 flow's addresses
   * ({@link Ip6Extras}), a tunnel id; undefined for the decoder's untunnelled IPv4 flows, whose addresses
   * come from `ka`/`kb` and MACs from `_m*`.
   */
  _x: FlowExtras | undefined = undefined;
  /**
   * The decoder's MACs, 96 bits in three 32-bit integers: the source's first four bytes, the
   * destination's, and the two last bytes of each (source high). Bits 10/11 of `_bits` say which exist.
   */
  _mS = 0;
  _mD = 0;
  _mLo = 0;
  /** The first packet's time as whole seconds and microseconds: two integers need no box, a double would. */
  _t0s = 0;
  _t0u = 0;
  /** Offsets from `firstUs` (µs) of the last src→dst packet, the first and last dst→src ones, the close (-1: open). */
  _s2dLast = 0;
  _d2sFirst = 0;
  _d2sLast = 0;
  _closed = -1;
  s2dPackets = 0;
  s2dBytes = 0;
  d2sPackets = 0;
  d2sBytes = 0;
  /** Feature-set state. */
  state: unknown = undefined;
  // LRU list links (least recently updated first).
  prev: Flow | null = null;
  next: Flow | null = null;

  /** Table key: the string key of a string-keyed flow (packets not from the decoder), else its hash. */
  get key(): number | string {
    return this._x?.key ?? flowHash(this);
  }
  /** IP protocol number. */
  get protocol(): number {
    return this._bits & 255;
  }
  /** 802.1Q VLAN id (0: none). */
  get vlanId(): number {
    return (this._bits >>> 19) & 4095;
  }
  /** 4, 6, or 0 for a packet without IP. */
  get ipVersion(): number {
    return ((this._bits >>> 8) & 3) << 1;
  }
  /** Tunnel id of the first packet (0: none). */
  get tunnelId(): number {
    return this._x?.tunnelId ?? 0;
  }
  /** The ports of the key's two endpoints. */
  get kap(): number {
    return this._kp >>> 16;
  }
  get kbp(): number {
    return this._kp & 0xffff;
  }
  /** Whether the first packet's source is the key's second endpoint (direction test). */
  get swapped(): boolean {
    return (this._bits & 4096) !== 0;
  }
  /** TCP close tracking (only with `tcpTermination`): bit 1 FIN src→dst, bit 2 FIN dst→src, bit 4 RST. */
  get tcpClose(): number {
    return (this._bits >>> 13) & 7;
  }
  set tcpClose(v: number) {
    this._bits = (this._bits & ~(7 << 13)) | ((v & 7) << 13);
  }
  /** One of {@link Expiration}; -1 while active. */
  get expirationId(): number {
    return ((this._bits >>> 16) & 7) - 1;
  }
  set expirationId(v: number) {
    this._bits = (this._bits & ~(7 << 16)) | (((v + 1) & 7) << 16);
  }
  /** Source / destination port of the first packet (0 without ports). */
  get srcPort(): number {
    return (this._bits & 4096) !== 0 ? this._kp & 0xffff : this._kp >>> 16;
  }
  get dstPort(): number {
    return (this._bits & 4096) !== 0 ? this._kp >>> 16 : this._kp & 0xffff;
  }
  /** Packets and bytes, both directions. */
  get packets(): number {
    return this.s2dPackets + this.d2sPackets;
  }
  get bytes(): number {
    return this.s2dBytes + this.d2sBytes;
  }
  /** Time of the first packet (µs). */
  get firstUs(): number {
    return this._t0s * 1e6 + this._t0u;
  }
  /** Time of the last packet (µs): the clock only moves forward, so the later of the two directions'. */
  get lastUs(): number {
    return this.firstUs + (this._d2sLast > this._s2dLast ? this._d2sLast : this._s2dLast);
  }
  get s2dFirstUs(): number {
    return this.firstUs;
  }
  get s2dLastUs(): number {
    return this.firstUs + this._s2dLast;
  }
  /** First / last dst→src packet (µs), 0 while there is none. */
  get d2sFirstUs(): number {
    return this.d2sPackets === 0 ? 0 : this.firstUs + this._d2sFirst;
  }
  get d2sLastUs(): number {
    return this.d2sPackets === 0 ? 0 : this.firstUs + this._d2sLast;
  }
  /** Time the connection closed (µs), 0 while open. */
  get closedUs(): number {
    return this._closed < 0 ? 0 : this.firstUs + this._closed;
  }

  /**
   * Source address of the first packet (IPv4 dotted quad, IPv6 as inet_ntop). The decoder's IPv4 and IPv6 flows
   * format it at each read (rows read it once): a cached string would cost every flow a slot.
   */
  get srcIp(): string {
    const x = this._x;
    if (x instanceof Ip6Extras) return x.text(this.swapped);
    return x?.srcIp ?? formatIp4(this.swapped ? this.kb : this.ka);
  }
  get dstIp(): string {
    const x = this._x;
    if (x instanceof Ip6Extras) return x.text(!this.swapped);
    return x?.dstIp ?? formatIp4(this.swapped ? this.ka : this.kb);
  }
  /** Source / destination MAC of the first packet (lower-case colon hex), undefined when the link has none. */
  get srcMac(): string | undefined {
    const hi = srcMacHi(this);
    return hi >= 0 ? formatMac48(hi, srcMacLo(this)) : this._x?.srcMac;
  }
  get dstMac(): string | undefined {
    const hi = dstMacHi(this);
    return hi >= 0 ? formatMac48(hi, dstMacLo(this)) : this._x?.dstMac;
  }

  /** First seen in ms, truncated as NFStream does (sec*1000 + usec/1000). */
  get firstMs(): number {
    return Math.floor(this.firstUs / 1000);
  }
  get lastMs(): number {
    return Math.floor(this.lastUs / 1000);
  }
}

/**
 * What only some flows need, kept apart so that the rest do not pay a slot for it (see {@link Flow}): the
 * addresses of a flow whose packets gave them as strings and its string key, a tunnel id. The MACs are
 * kept here only for a packet not from the decoder; the decoder's are in the record.
 */
export class FlowExtras {
  constructor(
    /** Undefined for an IPv4 flow from the decoder (its addresses are the record's `ka`/`kb`). */
    readonly srcIp: string | undefined,
    readonly dstIp: string | undefined,
    readonly srcMac: string | undefined,
    readonly dstMac: string | undefined,
    /** The table key of a string-keyed flow; undefined when the flow is in the numeric hash table. */
    readonly key: string | undefined,
    readonly tunnelId: number,
  ) {}
}

/**
 * The extras of an IPv6 flow in the numeric table: its two addresses as 4 words each, in the key's order
 * (lower first). Their text is made when a row asks for it, not kept.
 */
export class Ip6Extras extends FlowExtras {
  a0: number;
  a1: number;
  a2: number;
  a3: number;
  b0: number;
  b1: number;
  b2: number;
  b3: number;
  constructor(w: Int32Array, tunnelId: number) {
    super(undefined, undefined, undefined, undefined, undefined, tunnelId);
    this.a0 = w[0], this.a1 = w[1], this.a2 = w[2], this.a3 = w[3];
    this.b0 = w[4], this.b1 = w[5], this.b2 = w[6], this.b3 = w[7];
  }
  /** Whether `w` (8 words, the key's order) holds this flow's addresses. */
  same(w: Int32Array): boolean {
    return this.a0 === w[0] && this.a1 === w[1] && this.a2 === w[2] && this.a3 === w[3] && this.b0 === w[4] &&
      this.b1 === w[5] && this.b2 === w[6] && this.b3 === w[7];
  }
  /** The key's first (`second` false) or second endpoint as inet_ntop text. */
  text(second: boolean): string {
    return second
      ? formatIpv6Words(this.b0, this.b1, this.b2, this.b3)
      : formatIpv6Words(this.a0, this.a1, this.a2, this.a3);
  }
  /** Hands the key's first (`second` false) or second endpoint to a row writer, as {@link text} prints it. */
  writeTo(w: RowWriter, second: boolean): void {
    if (second) w.ip6(this.b0, this.b1, this.b2, this.b3);
    else w.ip6(this.a0, this.a1, this.a2, this.a3);
  }
}

/** Bits of {@link Flow._bits}: the record holds the decoder's source / destination MAC. */
const SRC_MAC = 1 << 10;
const DST_MAC = 1 << 11;

/** The first three bytes of a flow's decoded source / destination MAC as one integer; -1 when it has none. */
export function srcMacHi(f: Flow): number {
  return (f._bits & SRC_MAC) !== 0 ? f._mS >>> 8 : -1;
}
export function dstMacHi(f: Flow): number {
  return (f._bits & DST_MAC) !== 0 ? f._mD >>> 8 : -1;
}
/** The last three bytes of a flow's decoded source / destination MAC as one integer. */
export function srcMacLo(f: Flow): number {
  return ((f._mS & 255) << 16) | (f._mLo >>> 16);
}
export function dstMacLo(f: Flow): number {
  return ((f._mD & 255) << 16) | (f._mLo & 0xffff);
}

/**
 * The hash of a numeric flow key (its bucket is `hash & mask`; an IPv6 key's `ka`/`kb` are its addresses'
 * hashes). The record recomputes it from its own fields
 * when it leaves the table rather than keeping it: 8 bytes a flow.
 */
function keyHash(ka: number, kb: number, kp: number, proto: number, vlan: number, tunnel: number): number {
  let h = Math.imul(ka ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(kb + 0x632be5ab, 0xc2b2ae35);
  h = Math.imul(h ^ kp, 0x27d4eb2f) ^
    Math.imul(proto + (vlan << 8) + (tunnel << 20), 0x165667b1);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/** Sign of the unsigned 128-bit comparison of words [i, i+4) and [j, j+4) of `w`. */
function compare128(w: Int32Array, i: number, j: number): number {
  for (let k = 0; k < 4; k++) {
    const x = w[i + k] >>> 0, y = w[j + k] >>> 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** A 32-bit hash of the 4 words at `i` (an IPv6 address): what an IPv6 record keeps in `ka` / `kb`. */
function hash128(w: Int32Array, i: number): number {
  let h = Math.imul(w[i] ^ 0x27d4eb2f, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w[i + 1], 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ w[i + 2], 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w[i + 3], 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** {@link keyHash} of a flow in the numeric table. */
function flowHash(f: Flow): number {
  return keyHash(f.ka, f.kb, f._kp, f._bits & 255, (f._bits >>> 19) & 4095, f._x?.tunnelId ?? 0);
}

/**
 * `ts` as an offset from the flow's first packet. A difference of doubles stays a double in V8, and a field
 * that once held a double boxes every value it holds (16 bytes a flow a field), so an offset that fits is
 * made an integer; a longer one (over 35 min) stays a double, exact, at the cost of the boxes.
 */
function offsetUs(ts: number, f: Flow): number {
  const off = ts - (f._t0s * 1e6 + f._t0u);
  return off < 2147483648 ? off | 0 : off;
}

/** Options for {@link FlowMeter}. */
export interface MeterOptions {
  /** Seconds without a packet after which a flow ends (NFStream: 120). */
  idleTimeout?: number;
  /** Seconds after its first packet after which a flow ends (NFStream: 1800). */
  activeTimeout?: number;
  /** End TCP flows on RST or FIN from both sides (default false, as NFStream). */
  tcpTermination?: boolean;
  /** With `tcpTermination`: seconds a closed connection keeps absorbing its late packets (default 2). */
  tcpLinger?: number;
  /** Flow-table cap; the least recently updated flow is evicted beyond it (default 4,000,000). */
  maxFlows?: number;
  /**
   * Count each packet's bytes modulo 65536 like NFStream, whose engine keeps the frame length in a uint16
   * (only matters for frames longer than 64 KiB: GRO/TSO captures, damaged records). Default false.
   */
  nfstreamBytes16?: boolean;
  /** Receives every ended flow. */
  onFlow: (flow: Flow) => void;
  /**
   * The class of the flow records (default {@link Flow}): a consumer that keeps a little state of its own
   * per flow subclasses it, rather than every flow of every meter carrying that state (the monitor's
   * top-talker counters: 32 bytes a flow, against ~280 in a side table).
   */
  flowClass?: new () => Flow;
  /** Per-flow features. */
  features?: FlowFeatureSet;
  /**
   * Flow ids: the first and the step between two (default 0 and 1). Meters that share one id space (the
   * shards of a sensor, src/serve/shard.ts) take first = shard index, step = shard count.
   */
  ids?: { first: number; step: number };
}

/** Meter counters. */
export interface MeterStats {
  /** Packets offered to {@link FlowMeter.add}. */
  packets: number;
  /** Packets that went into a flow. */
  metered: number;
  /** Non-IP packets (not metered). */
  nonIp: number;
  /** IP packets not metered, as NFStream: later IPv4 fragments, frames the decoder marks `meterable: false`. */
  ignored: number;
  /** Flows now in the table. */
  active: number;
  /** Flows created. */
  created: number;
  /** Flows ended (any reason, incl. evictions). */
  ended: number;
  /** Flows evicted because the table was full. */
  evicted: number;
  /** Largest table size seen. */
  peakActive: number;
}

const KEY_SEP = "|";

/** The bits of {@link Flow._bits} that a table lookup compares: protocol, IP version and VLAN id. */
const KEY_BITS = 255 | (3 << 8) | (4095 << 19);
/** The bits of {@link Flow._bits} that are not 0 once a flow has ended (its expiration id + 1). */
const ENDED = 7 << 16;

/** Set by {@link flowKey}: whether the packet's source is the key's second endpoint. */
let swapped = false;

/**
 * The bidirectional flow key (same for both directions). IPv4 packets from
 * the decoder carry numeric addresses, which keeps address formatting out of
 * the per-packet path.
 */
export function flowKey(p: Packet): string {
  if (p.ipVersion === 4 && p.srcIp4 !== undefined && p.dstIp4 !== undefined) {
    // 9 UTF-16 code units, no number formatting: (addr hi, addr lo, port) × 2, protocol, VLAN, tunnel.
    const a = p.srcIp4 >>> 0, b = p.dstIp4 >>> 0;
    swapped = !(a < b || (a === b && p.srcPort <= p.dstPort));
    const x = swapped ? b : a, y = swapped ? a : b;
    const xp = swapped ? p.dstPort : p.srcPort, yp = swapped ? p.srcPort : p.dstPort;
    return String.fromCharCode(
      x >>> 16,
      x & 0xffff,
      xp,
      y >>> 16,
      y & 0xffff,
      yp,
      p.protocol,
      p.vlanId,
      p.tunnelId & 0xffff,
    );
  }
  const tail = KEY_SEP + p.protocol + KEY_SEP + p.vlanId + KEY_SEP + p.tunnelId;
  const a = p.srcIp, b = p.dstIp;
  swapped = !(a < b || (a === b && p.srcPort <= p.dstPort));
  return swapped
    ? b + KEY_SEP + p.dstPort + KEY_SEP + a + KEY_SEP + p.srcPort + tail
    : a + KEY_SEP + p.srcPort + KEY_SEP + b + KEY_SEP + p.dstPort + tail;
}

/**
 * Why a packet is not metered: 0 it is, 1 not IP, 2 a frame NFStream's engine drops (the decoder marked
 * it: too short, a later IPv4 fragment, broken IPv6; or a later fragment from a source without marks).
 */
export function unmetered(p: Packet): 0 | 1 | 2 {
  if (p.ipVersion === 0) return 1;
  if (p.meterable === false) return 2;
  if (p.laterFragment && (p.ipVersion === 6 || p.meterable === undefined)) return 2;
  return 0;
}

/**
 * Packet time between the meter's idle scans: a scan runs at a metered packet whose time (the clock) is at
 * least this far past the previous scan's. A sharded sensor's reader replays this schedule to tell each
 * shard when to scan (src/serve/shard.ts).
 */
export const IDLE_SCAN_US = 1e6;

/** Streaming bidirectional flow meter; O(1) per packet. */
export class FlowMeter {
  /** String-keyed flows (packets not from the decoder, without numeric addresses). */
  readonly #table = new Map<string, Flow>();
  /**
   * The decoder's IPv4 and IPv6 flows: an open hash table of chains (`Flow.bucketNext`) indexed by the key hash; a plain array load
   * per packet instead of a Map lookup. Doubled (rehashed) when the chains average more than one flow.
   */
  #buckets: (Flow | null)[] = new Array<Flow | null>(4096).fill(null);
  #mask = 4095;
  #numeric = 0;
  /** Scratch of the IPv6 lookup: the two addresses, 4 words each (in the key's order once swapped). */
  readonly #v6 = new Int32Array(8);
  #count = 0;
  readonly #idleMs: number;
  readonly #activeMs: number;
  readonly #tcpEnd: boolean;
  readonly #lingerUs: number;
  readonly #max: number;
  readonly #onFlow: (f: Flow) => void;
  readonly #features: FlowFeatureSet | undefined;
  readonly #wrap16: boolean;
  readonly #flowClass: new () => Flow;
  #head: Flow | null = null; // least recently updated
  #tail: Flow | null = null;
  #closing: Flow[] = [];
  #closingHead = 0;
  #tickUs = -Infinity;
  #lastScanUs = -Infinity;
  #nextId = 0;
  readonly #idStep: number;
  readonly stats: MeterStats = {
    packets: 0,
    metered: 0,
    nonIp: 0,
    ignored: 0,
    active: 0,
    created: 0,
    ended: 0,
    evicted: 0,
    peakActive: 0,
  };

  constructor(opts: MeterOptions) {
    const idle = opts.idleTimeout ?? 120;
    const active = opts.activeTimeout ?? 1800;
    if (!(idle > 0) || !(active > 0)) {
      throw new RangeError(`timeouts must be > 0 seconds, found idle ${idle}, active ${active}`);
    }
    this.#idleMs = Math.round(idle * 1000);
    this.#activeMs = Math.round(active * 1000);
    this.#tcpEnd = opts.tcpTermination ?? false;
    this.#lingerUs = (opts.tcpLinger ?? 2) * 1e6;
    this.#max = opts.maxFlows ?? 4_000_000;
    if (!(this.#max >= 1)) throw new RangeError(`maxFlows must be >= 1, found ${this.#max}`);
    this.#onFlow = opts.onFlow;
    this.#features = opts.features;
    this.#wrap16 = opts.nfstreamBytes16 ?? false;
    this.#flowClass = opts.flowClass ?? Flow;
    this.#nextId = opts.ids?.first ?? 0;
    this.#idStep = opts.ids?.step ?? 1;
    if (
      !(Number.isInteger(this.#nextId) && this.#nextId >= 0 && Number.isInteger(this.#idStep) &&
        this.#idStep >= 1)
    ) {
      throw new RangeError(
        `ids expects integers first >= 0 and step >= 1, found ${JSON.stringify(opts.ids)}`,
      );
    }
  }

  /**
   * How long (µs) a closed TCP connection lingers before it ends, or -1 without TCP termination: a
   * connection closed at clock t ends at the first packet, of any flow, at t + lingerUs or later.
   */
  get lingerUs(): number {
    return this.#tcpEnd ? this.#lingerUs : -1;
  }

  /** Idle timeout (µs): a flow without a packet for this long has ended. */
  get idleUs(): number {
    return this.#idleMs * 1000;
  }

  /** Current packet-time clock (µs), the largest timestamp seen. */
  get nowUs(): number {
    return this.#tickUs;
  }

  /** Moves the packet clock to `tsUs` (never back) and returns the packet's time on it. */
  #clock(tsUs: number): number {
    // NFStream forces time order: a packet older than the clock takes the clock's time.
    let ts = tsUs;
    if (ts > this.#tickUs) this.#tickUs = ts;
    else ts = this.#tickUs;
    if (this.#closingHead < this.#closing.length) this.#drainClosing(ts);
    return ts;
  }

  /** Periodic idle scan from the LRU head (once a second of packet time) keeps memory bounded. */
  #scan(ts: number): void {
    if (ts - this.#lastScanUs >= IDLE_SCAN_US) {
      this.#lastScanUs = ts;
      this.#scanIdle(ts);
    }
  }

  /**
   * A packet that another meter of the same traffic meters (the shards of a sensor, src/serve/shard.ts)
   * went by at `tsUs`; `metered` = {@link unmetered} says 0 for it. The clock, linger and idle scan move
   * exactly as {@link FlowMeter.add} would move them, so this meter's flows end at the same packet as in a
   * single meter. Nothing is counted.
   */
  pass(tsUs: number, metered: boolean): void {
    const ts = this.#clock(tsUs);
    if (metered) this.#scan(ts);
  }

  /** Meters one packet. */
  add(p: Packet): void {
    const st = this.stats;
    st.packets++;
    const ts = this.#clock(p.tsUs);
    const skip = unmetered(p);
    if (skip !== 0) {
      if (skip === 1) st.nonIp++;
      else st.ignored++;
      return;
    }
    this.#scan(ts);
    st.metered++;
    let key: number | string = 0;
    let sw: boolean;
    let f: Flow | undefined;
    let ka = 0, kb = 0;
    const sp = p.srcPort, dp = p.dstPort;
    if (((sp | dp) & ~0xffff) !== 0) {
      throw new RangeError(
        `flow meter: expected ports 0–65535, found ${sp} → ${dp} (packet at ${p.tsUs} µs)`,
      );
    }
    // The decoder's IPv4 and IPv6 packets: a numeric hash into a chained bucket, no string built per packet.
    // IPv6 addresses are read as 4 words each; the record keeps a 32-bit hash of each in ka/kb and both
    // addresses whole in its extras, compared once the rest of the key matches.
    let ver = 0;
    const w = this.#v6;
    if (p.ipVersion === 4 && p.srcIp4 !== undefined && p.dstIp4 !== undefined) {
      const a = p.srcIp4 >>> 0, b = p.dstIp4 >>> 0;
      sw = !(a < b || (a === b && sp <= dp));
      if (sw) ka = b | 0, kb = a | 0;
      else ka = a | 0, kb = b | 0;
      ver = 2;
    } else if (p.ipVersion === 6 && p instanceof DecodedPacket && p.ipOffset >= 0) {
      const buf = p._buf, o = p._off + p.ipOffset + 8;
      for (let i = 0; i < 8; i++) {
        const q = o + 4 * i;
        w[i] = (buf[q] << 24) | (buf[q + 1] << 16) | (buf[q + 2] << 8) | buf[q + 3];
      }
      const cmp = compare128(w, 0, 4);
      sw = !(cmp < 0 || (cmp === 0 && sp <= dp));
      const ha = hash128(w, 0), hb = hash128(w, 4);
      if (sw) {
        ka = hb, kb = ha;
        for (let i = 0; i < 4; i++) {
          const t = w[i];
          w[i] = w[i + 4];
          w[i + 4] = t;
        }
      } else ka = ha, kb = hb;
      ver = 3;
    } else {
      key = flowKey(p);
      sw = swapped;
    }
    const kp = sw ? (dp << 16) | sp : (sp << 16) | dp;
    if (ver !== 0) {
      const tun = p.tunnelId;
      key = keyHash(ka, kb, kp, p.protocol & 255, p.vlanId & 4095, tun);
      const pv = (p.protocol & 255) | (ver << 8) | ((p.vlanId & 4095) << 19);
      let c: Flow | null = this.#buckets[key & this.#mask];
      while (
        c !== null &&
        !(c.ka === ka && c.kb === kb && c._kp === kp && (c._bits & KEY_BITS) === pv &&
          (c._x === undefined ? 0 : c._x.tunnelId) === tun && (ver === 2 || (c._x as Ip6Extras).same(w)))
      ) c = c.bucketNext;
      f = c ?? undefined;
    } else f = this.#table.get(key as string);
    let prev: Flow | undefined;
    if (f !== undefined) {
      const nowMs = Math.floor(ts / 1000);
      // The getters' arithmetic spelt out: this is the per-packet path, where V8 stops inlining calls.
      const firstUs = f._t0s * 1e6 + f._t0u, lastOff = f._d2sLast > f._s2dLast ? f._d2sLast : f._s2dLast;
      if (nowMs - Math.floor((firstUs + lastOff) / 1000) >= this.#idleMs) {
        this.#end(f, Expiration.IDLE);
        prev = f;
        f = undefined;
      } else if (nowMs - Math.floor(firstUs / 1000) >= this.#activeMs) {
        this.#end(f, Expiration.ACTIVE);
        prev = f;
        f = undefined;
      } else if (f._closed >= 0 && (p.tcpFlags & (TCP.SYN | TCP.ACK)) === TCP.SYN) {
        // A new connection reuses the 5-tuple of one that closed.
        this.#end(f, Expiration.TCP_END);
        f = undefined;
      }
    }
    if (f === undefined) {
      this.#create(key, p, ts, prev, sw, ka, kb, kp);
      return;
    }
    // Direction as NFStream: anything not matching the first packet's endpoints is dst→src
    // (both endpoints equal: always src→dst).
    const dir: 0 | 1 = sw === ((f._bits & 4096) !== 0) ? 0 : 1;
    const size = this.#wrap16 ? p.wireLen & 0xffff : p.wireLen;
    const off = offsetUs(ts, f);
    if (dir === 0) {
      f.s2dPackets++;
      f.s2dBytes += size;
      f._s2dLast = off;
    } else {
      if (f.d2sPackets === 0) f._d2sFirst = off;
      f.d2sPackets++;
      f.d2sBytes += size;
      f._d2sLast = off;
    }
    this.#touch(f);
    if (this.#features !== undefined) this.#features.update(f.state, f, p, dir);
    if (this.#tcpEnd && p.protocol === 6 && f._closed < 0) this.#trackTcp(f, p, dir, ts);
  }

  /**
   * The flows in the table, least recently updated first. Nothing may add packets or end flows while it
   * is iterated: the order is the table's own list, not a copy (a copy, or a Map of the flows by id,
   * would cost every flow of a sensor's table memory of its own).
   */
  *flows(): IterableIterator<Flow> {
    for (let f = this.#head; f !== null; f = f.next) yield f;
  }

  /** Ends flows that are idle or too old at time `nowUs` (live capture: call with the wall clock). */
  expire(nowUs: number): void {
    if (nowUs > this.#tickUs) this.#tickUs = nowUs;
    this.#drainClosing(nowUs);
    const nowMs = Math.floor(nowUs / 1000);
    let f = this.#head;
    while (f !== null) {
      const next = f.next;
      if (nowMs - f.lastMs >= this.#idleMs) this.#end(f, Expiration.IDLE);
      else if (nowMs - f.firstMs >= this.#activeMs) this.#end(f, Expiration.ACTIVE);
      f = next;
    }
  }

  /** Ends every flow still in the table (end of a capture file). */
  flush(): void {
    // Every flow ends, so the table is emptied at once instead of unlinking each flow from its hash chain
    // (a random memory access a flow: ~0.6 s of a 4.6 s profile of a flood of 1 M one-packet flows).
    let f = this.#head;
    this.#head = this.#tail = null;
    this.#buckets.fill(null);
    this.#table.clear();
    this.#numeric = 0;
    this.#endPhase = EndPhase.FLUSH;
    try {
      while (f !== null) {
        const next = f.next;
        f.prev = f.next = f.bucketNext = null;
        this.#endOrderUs = f.lastUs;
        this.#ended(f, f._closed >= 0 ? Expiration.TCP_END : Expiration.FLUSH);
        f = next;
      }
    } finally {
      this.#endPhase = EndPhase.OTHER;
    }
    this.#closing = [];
    this.#closingHead = 0;
  }

  #create(
    key: number | string,
    p: Packet,
    ts: number,
    prev: Flow | undefined,
    sw: boolean,
    ka: number,
    kb: number,
    kp: number,
  ): void {
    const st = this.stats;
    if (this.#count >= this.#max && this.#head !== null) {
      st.evicted++;
      this.#end(this.#head, Expiration.EVICTED);
    }
    const f = new this.#flowClass();
    f.id = this.#nextId;
    this.#nextId += this.#idStep;
    let bits = (p.protocol & 255) | (((p.ipVersion >>> 1) & 3) << 8) | (sw ? 4096 : 0) |
      ((p.vlanId & 4095) << 19);
    f.ka = ka;
    f.kb = kb;
    f._kp = kp;
    // Strings are made only when a row needs them: IPv4 addresses come from the numeric key, MACs from the bytes.
    const tun = p.tunnelId, strKey = typeof key === "number" ? undefined : key;
    if (p instanceof DecodedPacket) {
      // The MACs are the record's, for a string-keyed flow too. A numeric IPv6 flow keeps its addresses
      // as the lookup's words (the key's order), no text.
      if (strKey === undefined && p.ipVersion === 6) f._x = new Ip6Extras(this.#v6, tun);
      else if (strKey !== undefined) {
        f._x = new FlowExtras(p.srcIp, p.dstIp, undefined, undefined, strKey, tun);
      } else if (tun !== 0) f._x = new FlowExtras(undefined, undefined, undefined, undefined, undefined, tun);
      const b = p._buf, so = p.srcMacOffset(), d = p.dstMacOffset();
      if (so >= 0) {
        bits |= SRC_MAC;
        f._mS = (b[so] << 24) | (b[so + 1] << 16) | (b[so + 2] << 8) | b[so + 3];
        f._mLo = (b[so + 4] << 24) | (b[so + 5] << 16);
      }
      if (d >= 0) {
        bits |= DST_MAC;
        f._mD = (b[d] << 24) | (b[d + 1] << 16) | (b[d + 2] << 8) | b[d + 3];
        f._mLo |= (b[d + 4] << 8) | b[d + 5];
      }
    } else f._x = new FlowExtras(p.srcIp, p.dstIp, p.srcMac, p.dstMac, strKey, tun);
    f._bits = bits;
    // Whole seconds and the rest, made int32 where they fit (an arithmetic result stays a double in V8, and
    // a field that once held a double boxes every value it holds): exact for any `ts`.
    const t0s = Math.floor(ts / 1e6), t0u = ts - t0s * 1e6;
    f._t0s = t0s < 2147483648 && t0s >= -2147483648 ? t0s | 0 : t0s;
    f._t0u = t0u === (t0u | 0) ? t0u | 0 : t0u;
    f.s2dPackets = 1;
    f.s2dBytes = this.#wrap16 ? p.wireLen & 0xffff : p.wireLen;
    if (typeof key === "number") {
      if (++this.#numeric > this.#buckets.length) this.#grow(); // before f is linked: #grow walks the table's flows
      const i = key & this.#mask;
      f.bucketNext = this.#buckets[i];
      this.#buckets[i] = f;
    } else this.#table.set(key, f);
    this.#count++;
    // append at the LRU tail
    f.prev = this.#tail;
    if (this.#tail !== null) this.#tail.next = f;
    else this.#head = f;
    this.#tail = f;
    st.created++;
    st.active = this.#count;
    if (st.active > st.peakActive) st.peakActive = st.active;
    if (this.#features !== undefined) f.state = this.#features.init(f, p, prev);
    if (this.#tcpEnd && p.protocol === 6) this.#trackTcp(f, p, 0, ts);
  }

  #grow(): void {
    const size = this.#buckets.length * 2;
    const b = new Array<Flow | null>(size).fill(null);
    const mask = size - 1;
    for (let f = this.#head; f !== null; f = f.next) {
      if (f._x?.key !== undefined) continue;
      const i = flowHash(f) & mask;
      f.bucketNext = b[i];
      b[i] = f;
    }
    this.#buckets = b;
    this.#mask = mask;
  }

  #touch(f: Flow): void {
    if (f === this.#tail) return;
    // unlink
    if (f.prev !== null) f.prev.next = f.next;
    else this.#head = f.next;
    f.next!.prev = f.prev;
    // append
    f.prev = this.#tail;
    f.next = null;
    this.#tail!.next = f;
    this.#tail = f;
  }

  #trackTcp(f: Flow, p: Packet, dir: 0 | 1, ts: number): void {
    const fl = p.tcpFlags;
    if (fl & TCP.RST) f.tcpClose |= 4;
    if (fl & TCP.FIN) f.tcpClose |= dir === 0 ? 1 : 2;
    if ((f.tcpClose & 4) !== 0 || (f.tcpClose & 3) === 3) {
      f._closed = offsetUs(ts, f);
      this.#closing.push(f);
    }
  }

  #drainClosing(nowUs: number): void {
    const q = this.#closing;
    // With no linger a connection closed at the current clock ends at the next packet of that clock, after
    // others ended at it: not in the order EndPhase.LINGER promises.
    const phase = this.#lingerUs > 0 ? EndPhase.LINGER : EndPhase.OTHER;
    while (this.#closingHead < q.length) {
      const f = q[this.#closingHead];
      if ((f._bits & ENDED) !== 0) {
        this.#closingHead++;
        continue;
      }
      const closedUs = f._t0s * 1e6 + f._t0u + f._closed;
      if (nowUs - closedUs < this.#lingerUs) break;
      this.#closingHead++;
      this.#endIn(phase, closedUs, f, Expiration.TCP_END);
    }
    if (this.#closingHead > 1024 && this.#closingHead * 2 > q.length) {
      this.#closing = q.slice(this.#closingHead);
      this.#closingHead = 0;
    }
  }

  #scanIdle(ts: number): void {
    const nowMs = Math.floor(ts / 1000);
    let f = this.#head;
    while (f !== null && nowMs - f.lastMs >= this.#idleMs) {
      const next = f.next;
      this.#endIn(EndPhase.SCAN, f.lastUs, f, Expiration.IDLE);
      f = next;
    }
  }

  /**
   * Ends `f` in pass `phase`, which orders it by `orderUs` ({@link EndPhase}): what `onFlow` reads while it
   * runs. Set per flow ended, not per pass: the linger is drained at every packet while connections linger,
   * mostly ending none.
   */
  #endIn(phase: EndPhase, orderUs: number, f: Flow, why: number): void {
    this.#endPhase = phase;
    this.#endOrderUs = orderUs;
    try {
      this.#end(f, why);
    } finally {
      this.#endPhase = EndPhase.OTHER;
    }
  }

  #endPhase: EndPhase = EndPhase.OTHER;
  #endOrderUs = 0;

  /**
   * Which of its ordered passes the meter is ending flows in, read by `onFlow` ({@link EndPhase}), and
   * the time the pass orders the flow being ended by ({@link FlowMeter.endOrderUs}).
   */
  get endPhase(): EndPhase {
    return this.#endPhase;
  }

  /** See {@link EndPhase}; meaningful only while {@link FlowMeter.endPhase} is not `OTHER`. */
  get endOrderUs(): number {
    return this.#endOrderUs;
  }

  #end(f: Flow, why: number): void {
    const stringKey = f._x?.key;
    if (stringKey === undefined) {
      const i = flowHash(f) & this.#mask;
      const head = this.#buckets[i];
      this.#numeric--;
      if (head === f) this.#buckets[i] = f.bucketNext;
      else {
        let c = head;
        while (c !== null && c.bucketNext !== f) c = c.bucketNext;
        if (c !== null) c.bucketNext = f.bucketNext;
      }
      f.bucketNext = null;
    } else this.#table.delete(stringKey);
    if (f.prev !== null) f.prev.next = f.next;
    else this.#head = f.next;
    if (f.next !== null) f.next.prev = f.prev;
    else this.#tail = f.prev;
    f.prev = f.next = null;
    this.#ended(f, why);
  }

  /** Counts and hands over `f`, already out of the table. */
  #ended(f: Flow, why: number): void {
    f.expirationId = why;
    this.#count--;
    this.stats.ended++;
    this.stats.active = this.#count;
    this.#onFlow(f);
  }
}
