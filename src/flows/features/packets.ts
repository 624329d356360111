/**
 * A flow's first packets as columns (the `packets` feature set: `basic` plus
 * these). Aggregates over a whole flow hide the shape of its opening: a SYN
 * scan probe is one 60-byte packet and a reset, an FTP login attempt a short
 * exchange of small packets at a steady pace. The first `n` packets (default
 * 8) each give two columns:
 *
 * - `pkt<i>_bytes`: the frame length, positive from the flow's initiator,
 *   negative from the responder, 0 when the flow had fewer packets;
 * - `pkt<i>_iat_ms`: milliseconds since the flow's previous packet (0 for the
 *   first packet and when absent).
 *
 * NFStream calls this the SPLT (sequence of packet lengths and times). As
 * columns it is an ordinary row for every detector, and a token sequence for
 * flow-lm (one field per column, in packet order).
 *
 * The wrapper keeps its per-flow record beside the base set's state (keyed by
 * the flow), so the base set's state handling is untouched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureSet } from "./mod.ts";
 * const fs = featureSet("packets");
 * assert.ok(fs.columns.some((c) => c.name === "pkt1_bytes"));
 * assert.equal(fs.columns.length, featureSet("basic").columns.length + 16);
 * ```
 * @module
 */
import type { Flow } from "../meter.ts";
import type { Packet } from "../../capture/packet.ts";
import type { Column, FeatureSet } from "./types.ts";

/** Packets recorded per flow by default. */
export const FIRST_PACKETS = 8;

interface Opening {
  /** Signed frame lengths (+ initiator, − responder). */
  bytes: Int32Array;
  iat: Float64Array;
  count: number;
  lastUs: number;
}

/** `base` plus the first `n` packets of each flow (see the module docs); named `name`. */
export function withFirstPackets<S>(base: FeatureSet<S>, name: string, n = FIRST_PACKETS): FeatureSet<S> {
  const open = new WeakMap<Flow, Opening>();
  const extra: Column[] = [];
  for (let i = 1; i <= n; i++) {
    extra.push({ name: `pkt${i}_bytes`, type: "int" }, { name: `pkt${i}_iat_ms`, type: "float" });
  }
  const record = (o: Opening, p: Packet, dir: 0 | 1) => {
    if (o.count < n) {
      o.bytes[o.count] = dir === 0 ? p.wireLen : -p.wireLen;
      o.iat[o.count] = o.count === 0 ? 0 : (p.tsUs - o.lastUs) / 1000;
      o.count++;
    }
    o.lastUs = p.tsUs;
  };
  const extraRow = (f: Flow, out: (number | string)[], at: number) => {
    const o = open.get(f);
    for (let i = 0; i < n; i++) {
      out[at + 2 * i] = o && i < o.count ? o.bytes[i] : 0;
      out[at + 2 * i + 1] = o && i < o.count ? o.iat[i] : 0;
    }
  };
  const baseLen = base.columns.length;
  return {
    name,
    columns: [...base.columns, ...extra],
    meterDefaults: base.meterDefaults,
    init(flow: Flow, p: Packet, prev?: Flow): S {
      const o: Opening = { bytes: new Int32Array(n), iat: new Float64Array(n), count: 0, lastUs: 0 };
      record(o, p, 0);
      open.set(flow, o);
      return base.init(flow, p, prev);
    },
    update(state: S, flow: Flow, p: Packet, dir: 0 | 1): void {
      base.update(state, flow, p, dir);
      const o = open.get(flow);
      if (o) record(o, p, dir);
    },
    row(f: Flow, state: S, out: (number | string)[]): void {
      base.row(f, state, out);
      extraRow(f, out, baseLen);
    },
  };
}
