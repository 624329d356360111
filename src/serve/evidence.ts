/**
 * Alert evidence: the first packets of every live flow, held in a bounded
 * buffer (at most `perFlowPackets` packets and `perFlowBytes` bytes per flow,
 * `maxBytes` in all — the oldest flows are forgotten first when the global cap
 * is hit). When a flow alerts, its packets are written as a classic pcap file
 * next to the alert; when it ends quietly they are dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EvidenceBuffer, pcapBytes } from "./evidence.ts";
 * const ev = new EvidenceBuffer({ perFlowPackets: 2 });
 * ev.add(1, 1_000_000, 60, new Uint8Array(60), 1);
 * assert.equal(pcapBytes(ev.get(1)!).length, 24 + 16 + 60);
 * ```
 * @module
 */

/** One stored frame. */
export interface EvidencePacket {
  tsUs: number;
  wireLen: number;
  data: Uint8Array;
}

/** A flow's stored frames. */
export interface FlowEvidence {
  linkType: number;
  packets: EvidencePacket[];
  bytes: number;
}

/** Limits for {@link EvidenceBuffer}. */
export interface EvidenceOptions {
  /** Packets kept per flow. Default 32. */
  perFlowPackets?: number;
  /** Bytes kept per flow (frames are cut to fit, as a snaplen would). Default 64 KiB. */
  perFlowBytes?: number;
  /** Bytes kept in all. Default 64 MiB. */
  maxBytes?: number;
}

/** See the module doc. */
export class EvidenceBuffer {
  readonly #flows = new Map<number, FlowEvidence>();
  readonly #perFlowPackets: number;
  readonly #perFlowBytes: number;
  readonly #maxBytes: number;
  #bytes = 0;
  /** Flows forgotten because of the global cap. */
  evicted = 0;

  constructor(opts: EvidenceOptions = {}) {
    this.#perFlowPackets = opts.perFlowPackets ?? 32;
    this.#perFlowBytes = opts.perFlowBytes ?? 64 * 1024;
    this.#maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Flows held now. */
  get size(): number {
    return this.#flows.size;
  }

  /** True when flow `id` still has room (check before touching the frame: getting it may allocate). */
  wants(id: number): boolean {
    const f = this.#flows.get(id);
    return f === undefined || (f.packets.length < this.#perFlowPackets && f.bytes < this.#perFlowBytes);
  }

  /** Stores a copy of `frame` for flow `id` if the flow still has room. */
  add(id: number, tsUs: number, wireLen: number, frame: Uint8Array, linkType: number): void {
    let f = this.#flows.get(id);
    if (!f) {
      f = { linkType, packets: [], bytes: 0 };
      this.#flows.set(id, f);
    } else if (f.packets.length >= this.#perFlowPackets) return;
    const room = this.#perFlowBytes - f.bytes;
    if (room <= 0) return;
    const data = frame.slice(0, Math.min(frame.length, room));
    f.packets.push({ tsUs, wireLen, data });
    f.bytes += data.length;
    this.#bytes += data.length;
    while (this.#bytes > this.#maxBytes && this.#flows.size > 1) {
      const [oldId, old] = this.#flows.entries().next().value as [number, FlowEvidence];
      if (oldId === id) break;
      this.#flows.delete(oldId);
      this.#bytes -= old.bytes;
      this.evicted++;
    }
  }

  /** The stored frames of flow `id`. */
  get(id: number): FlowEvidence | undefined {
    return this.#flows.get(id);
  }

  /** Forgets flow `id` (flow ended without alert, or evidence written). */
  drop(id: number): void {
    const f = this.#flows.get(id);
    if (!f) return;
    this.#bytes -= f.bytes;
    this.#flows.delete(id);
  }
}

/**
 * Serialises a flow's frames as a classic little-endian pcap (magic
 * a1b2c3d4, µs timestamps, version 2.4), sized exactly: this runs once per
 * alert on the capture thread, where src/capture/writer.ts's buffered writer
 * (256 KiB buffer per file) costs more than the frames themselves.
 */
export function pcapBytes(ev: FlowEvidence): Uint8Array {
  const total = 24 + ev.packets.reduce((s, p) => s + 16 + p.data.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, ev.linkType, true);
  let off = 24;
  for (const p of ev.packets) {
    const sec = Math.floor(p.tsUs / 1e6);
    dv.setUint32(off, sec >>> 0, true);
    dv.setUint32(off + 4, Math.round(p.tsUs - sec * 1e6) >>> 0, true);
    dv.setUint32(off + 8, p.data.length, true);
    dv.setUint32(off + 12, Math.max(p.wireLen, p.data.length), true);
    out.set(p.data, off + 16);
    off += 16 + p.data.length;
  }
  return out;
}
