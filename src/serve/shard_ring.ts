/**
 * A single-producer, single-consumer ring of packet records in a
 * SharedArrayBuffer: how the reader of a sharded monitor (src/serve/shard.ts)
 * hands each shard its packets without a message per packet.
 *
 * Records are 8-byte aligned and never straddle the end (a wrap marker sends
 * the reader back to 0):
 * - packet: type 1, padding, link type, captured length, time, wire length,
 *   interface, the sensor's packet clock, then the frame bytes after the
 *   padding (0–7 bytes that give them their source's address modulo 8);
 * - tick: type 2 and a time — another shard's packet went by when work due on
 *   packet time (the meter's idle scan, re-scoring) was due in every shard;
 * - wrap: type 3.
 *
 * The writer publishes records in batches (every 512, and at least every
 * millisecond while packets come) and blocks (Atomics.wait, in short slices)
 * while the ring is full; the reader waits asynchronously (Atomics.waitAsync)
 * for the next batch, so a worker's event loop keeps running. Each side wakes
 * the other only when it said it was waiting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PacketRing } from "./shard_ring.ts";
 * import { DecodedPacket } from "../capture/decode.ts";
 *
 * const ring = PacketRing.create(1 << 16);
 * ring.tick(1_000, true);
 * ring.close();
 * const reader = PacketRing.attach(ring.buffer);
 * const seen: number[] = [];
 * const n = reader.read({ packet: () => {}, tick: (ts) => void seen.push(ts) }, new DecodedPacket(), 100);
 * assert.equal(n, 1);
 * assert.deepEqual(seen, [1_000]);
 * assert.equal(reader.read({ packet: () => {}, tick: () => {} }, new DecodedPacket(), 100), -1, "closed and drained");
 * ```
 * @module
 */
import { DecodedPacket, decodeFrame } from "../capture/decode.ts";
import type { Packet } from "../capture/packet.ts";

const HEAD = 0, TAIL = 1, CLOSED = 2, READER_WAITING = 3, WRITER_WAITING = 4, ABORTED = 5;
const CTL_BYTES = 64;
const PACKET = 1, TICK = 2, WRAP = 3;
const PACKET_HEADER = 32, TICK_BYTES = 16;

/** What the reader calls per record. */
export interface RingHandlers {
  /**
   * A packet of this shard (the object is reused: copy what you keep); `clockUs` is the sensor's packet
   * clock at it (the latest time of all shards' packets so far).
   */
  packet(p: DecodedPacket, clockUs: number): void;
  /** Another shard's packet went by at `tsUs`, when work was due; `metered` = a meter would have metered it. */
  tick(tsUs: number, metered: boolean): void;
  /** The live capture had delivered every packet that arrived before `tsUs` when this record was written. */
  caughtUp?(tsUs: number): void;
}

/** See the module doc. One side writes, the other reads. */
export class PacketRing {
  readonly buffer: SharedArrayBuffer;
  readonly #ctl: Int32Array;
  readonly #data: Uint8Array;
  readonly #dv: DataView;
  readonly #cap: number;
  // Writer: the tail it owns, records since the last publish.
  #tail = 0;
  #unpublished = 0;
  #publishedAt = 0;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#ctl = new Int32Array(buffer, 0, CTL_BYTES / 4);
    this.#data = new Uint8Array(buffer, CTL_BYTES);
    this.#dv = new DataView(buffer, CTL_BYTES);
    this.#cap = this.#data.length;
    this.#tail = Atomics.load(this.#ctl, TAIL);
  }

  /** A new ring of `capacity` bytes (a multiple of 8, at least 64 KiB). */
  static create(capacity: number): PacketRing {
    if (!(capacity >= 65536 && capacity % 8 === 0)) {
      throw new RangeError(`ring capacity must be a multiple of 8 and ≥ 65536 bytes, found ${capacity}`);
    }
    return new PacketRing(new SharedArrayBuffer(CTL_BYTES + capacity));
  }

  /** The other side of a ring made by {@link PacketRing.create} (posted to a worker). */
  static attach(buffer: SharedArrayBuffer): PacketRing {
    return new PacketRing(buffer);
  }

  // --- writer ---

  /** Room for `len` bytes at the tail (wrapping when needed); blocks while the reader catches up. */
  #reserve(len: number): number {
    const ctl = this.#ctl, cap = this.#cap;
    if (len > cap / 2) throw new RangeError(`a ${len}-byte record does not fit a ${cap}-byte ring`);
    for (;;) {
      if (Atomics.load(ctl, ABORTED) === 1) throw new Error("the shard reading this ring stopped");
      const head = Atomics.load(ctl, HEAD);
      const tail = this.#tail;
      // Bytes free before the reader's position (one 8-byte slot kept empty: head === tail means empty).
      const free = head > tail ? head - tail - 8 : cap - tail + head - 8;
      const toEnd = cap - tail;
      if (len <= toEnd && len <= free) return tail;
      if (len > toEnd && toEnd + len <= free) {
        this.#dv.setUint8(tail, WRAP);
        this.#tail = 0;
        continue;
      }
      // Full: publish what is written (the reader may be waiting for it) and wait for room.
      this.#publish();
      Atomics.store(ctl, WRITER_WAITING, 1);
      if (Atomics.load(ctl, HEAD) === head) Atomics.wait(ctl, HEAD, head, 20);
      Atomics.store(ctl, WRITER_WAITING, 0);
    }
  }

  #advance(at: number, len: number): void {
    this.#tail = at + len;
    if (this.#tail === this.#cap) this.#tail = 0;
    // Published in batches (each publish is two atomic operations and maybe a wake-up), and at least
    // every millisecond so a slow link does not hold packets back from a waiting reader.
    const n = ++this.#unpublished;
    if (n >= 512 || ((n & 15) === 0 && performance.now() - this.#publishedAt > 1)) this.#publish();
  }

  /** Makes the written records visible to the reader now (it wakes if it waits). */
  flush(): void {
    this.#publish();
  }

  #publish(): void {
    this.#unpublished = 0;
    this.#publishedAt = performance.now();
    Atomics.store(this.#ctl, TAIL, this.#tail);
    if (Atomics.load(this.#ctl, READER_WAITING) === 1) Atomics.notify(this.#ctl, TAIL);
  }

  /** Appends a packet of the reader's shard, with the sensor's packet clock. */
  packet(p: Packet, clockUs: number): void {
    const raw = p.raw;
    const capLen = raw ? raw.length : 0;
    // V8 copies into (and out of) shared memory word by word only where source and target sit at the same
    // address modulo 8, and byte by byte, ~4× slower, elsewhere (measured: 220 against 55 ns for a
    // 760-byte frame). A frame starts wherever its record did in the capture file, so the ring shifts it
    // to its source's alignment; whoever copies it out aligns to it again (src/serve/evidence.ts).
    const pad = raw ? raw.byteOffset & 7 : 0;
    const len = (PACKET_HEADER + pad + capLen + 7) & ~7;
    const at = this.#reserve(len);
    const dv = this.#dv;
    dv.setUint8(at, PACKET);
    dv.setUint8(at + 1, pad);
    dv.setUint16(at + 2, p.linkType, true);
    dv.setUint32(at + 4, capLen, true);
    dv.setFloat64(at + 8, p.tsUs, true);
    dv.setUint32(at + 16, p.wireLen, true);
    dv.setUint32(at + 20, p.ifIndex, true);
    dv.setFloat64(at + 24, clockUs, true);
    if (raw) this.#data.set(raw, at + PACKET_HEADER + pad);
    this.#advance(at, len);
  }

  /** Appends a tick: another shard's packet at `tsUs`. */
  tick(tsUs: number, metered: boolean): void {
    this.#tick(tsUs, metered ? 1 : 0);
  }

  /**
   * Appends a caught-up mark: the live capture had delivered, up to here in the ring, every packet that
   * arrived before `tsUs` (see Monitor.caughtUp).
   */
  caughtUp(tsUs: number): void {
    this.#tick(tsUs, 2);
  }

  #tick(tsUs: number, kind: number): void {
    const at = this.#reserve(TICK_BYTES);
    this.#dv.setUint8(at, TICK);
    this.#dv.setUint8(at + 1, kind);
    this.#dv.setFloat64(at + 8, tsUs, true);
    this.#advance(at, TICK_BYTES);
  }

  /** No more records: the reader drains the ring, then {@link PacketRing.read} returns -1. */
  close(): void {
    this.#publish();
    Atomics.store(this.#ctl, CLOSED, 1);
    Atomics.notify(this.#ctl, TAIL);
  }

  /** Either side gives up (a shard failed): a blocked writer throws, the reader stops. */
  abort(): void {
    Atomics.store(this.#ctl, ABORTED, 1);
    Atomics.notify(this.#ctl, HEAD);
    Atomics.notify(this.#ctl, TAIL);
  }

  // --- reader ---

  /**
   * Reads up to `max` records into `handlers` (decoding packets into `pkt`). Returns how many it read:
   * 0 when the ring is empty for now, -1 when it is closed and drained.
   */
  read(handlers: RingHandlers, pkt: DecodedPacket, max: number): number {
    const ctl = this.#ctl, dv = this.#dv, data = this.#data;
    if (Atomics.load(ctl, ABORTED) === 1) return -1;
    // Read CLOSED before TAIL: a close after this load still leaves every record before it visible.
    const closed = Atomics.load(ctl, CLOSED) === 1;
    const tail = Atomics.load(ctl, TAIL);
    let head = Atomics.load(ctl, HEAD);
    const start = head;
    let n = 0;
    while (head !== tail && n < max) {
      const type = dv.getUint8(head);
      if (type === WRAP) {
        head = 0;
        continue;
      }
      if (type === TICK) {
        const kind = dv.getUint8(head + 1), ts = dv.getFloat64(head + 8, true);
        if (kind === 2) handlers.caughtUp?.(ts);
        else handlers.tick(ts, kind === 1);
        head += TICK_BYTES;
      } else {
        const capLen = dv.getUint32(head + 4, true), pad = dv.getUint8(head + 1);
        decodeFrame(pkt, data, head + PACKET_HEADER + pad, capLen, dv.getUint16(head + 2, true));
        pkt.tsUs = dv.getFloat64(head + 8, true);
        pkt.wireLen = dv.getUint32(head + 16, true);
        pkt.ifIndex = dv.getUint32(head + 20, true);
        handlers.packet(pkt, dv.getFloat64(head + 24, true));
        head += (PACKET_HEADER + pad + capLen + 7) & ~7;
      }
      if (head === this.#cap) head = 0;
      n++;
    }
    if (head !== start) {
      Atomics.store(ctl, HEAD, head);
      if (Atomics.load(ctl, WRITER_WAITING) === 1) Atomics.notify(ctl, HEAD);
    }
    if (n > 0) return n;
    return closed && head === tail ? -1 : 0;
  }

  /** Resolves when records may have arrived (or after `timeoutMs`), without blocking the event loop. */
  async wait(timeoutMs: number): Promise<void> {
    const ctl = this.#ctl;
    const tail = Atomics.load(ctl, TAIL);
    Atomics.store(ctl, READER_WAITING, 1);
    try {
      if (Atomics.load(ctl, HEAD) !== tail || Atomics.load(ctl, CLOSED) === 1) return;
      const w = Atomics.waitAsync(ctl, TAIL, tail, timeoutMs);
      if (w.async) await w.value;
    } finally {
      Atomics.store(ctl, READER_WAITING, 0);
    }
  }
}

/** The channel {@link macrotask} posts through, while in use, and who waits on it. */
let channel: MessageChannel | undefined;
let channelIdle: ReturnType<typeof setTimeout> | undefined;
let lastUse = 0;
const waiting: (() => void)[] = [];

/**
 * Resolves after the event loop has run once more (queued messages and due timers first): a yield
 * between batches of synchronous work that, unlike `setTimeout(0)`, is not clamped to 4 ms when repeated.
 * One channel serves every call (a new MessageChannel each time cost 20 µs a call, one 4–9 µs); it is
 * closed once unused for 100 ms, as an open port keeps the process alive. The idle timer is armed once
 * and re-armed only when it fires early: re-arming it on every call (clear + set + unref) was 2/3 of
 * the call's cost (9.5 against 2.8 µs), paid 7,000 times a 4 M-packet sharded replay.
 */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => {
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => waiting.shift()?.();
    }
    lastUse = performance.now();
    if (channelIdle === undefined) closeWhenIdle(100);
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });
}

/** Closes the channel in `ms` unless used again (the timer alone keeps no process alive). */
function closeWhenIdle(ms: number): void {
  channelIdle = setTimeout(closeIdleChannel, ms);
  Deno.unrefTimer(Number(channelIdle));
}

function closeIdleChannel(): void {
  channelIdle = undefined;
  // Used since the timer was set, or a message still on its way (the thread was busy): keep it a while.
  const quiet = performance.now() - lastUse;
  if (waiting.length || quiet < 100) return closeWhenIdle(Math.max(1, 100 - quiet));
  channel?.port1.close();
  channel?.port2.close();
  channel = undefined;
}

export { DecodedPacket };
