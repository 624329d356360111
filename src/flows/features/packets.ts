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

/**
 * A flow's state: the base set's, and its first packets as the row holds them (size, gap, size, gap, …: a
 * plain array, which V8 allocates with a pointer bump, where each typed array costs a backing store). Kept
 * in the flow's own state rather than in a WeakMap keyed by the flow. Against that map and two typed arrays
 * (an Int32Array, which also wrapped frame lengths past 2^31), the `packets` set on the 200 k-flow bench
 * capture took 2.03–2.20 s of CPU at 277 MiB instead of 3.06–3.10 s at 420 MiB (3 interleaved pairs,
 * 2026-12-06).
 */
class WithOpening<S> {
  count = 0;
  lastUs = 0;
  constructor(public s: S, readonly vals: number[]) {}
}

/** `base` plus the first `n` packets of each flow (see the module docs); named `name`. */
export function withFirstPackets<S>(
  base: FeatureSet<S>,
  name: string,
  n = FIRST_PACKETS,
): FeatureSet<WithOpening<S>> {
  const extra: Column[] = [];
  for (let i = 1; i <= n; i++) {
    extra.push({ name: `pkt${i}_bytes`, type: "int" }, { name: `pkt${i}_iat_ms`, type: "float" });
  }
  const zeros: number[] = new Array(2 * n).fill(0);
  const record = (o: WithOpening<S>, p: Packet, dir: 0 | 1) => {
    const k = o.count;
    if (k < n) {
      o.vals[2 * k] = dir === 0 ? p.wireLen : -p.wireLen;
      o.vals[2 * k + 1] = k === 0 ? 0 : (p.tsUs - o.lastUs) / 1000;
      o.count = k + 1;
    }
    o.lastUs = p.tsUs;
  };
  const baseLen = base.columns.length;
  return {
    name,
    columns: [...base.columns, ...extra],
    meterDefaults: base.meterDefaults,
    init(flow: Flow, p: Packet, prev?: Flow): WithOpening<S> {
      // The base set sees the previous flow's state as it made it (cic carries a connection's start over).
      const w = prev?.state;
      let inner: S;
      if (!(w instanceof WithOpening)) inner = base.init(flow, p, prev);
      else {
        prev!.state = w.s;
        try {
          inner = base.init(flow, p, prev);
        } finally {
          prev!.state = w;
        }
      }
      const o = new WithOpening(inner, zeros.slice());
      record(o, p, 0);
      return o;
    },
    update(state: WithOpening<S>, flow: Flow, p: Packet, dir: 0 | 1): void {
      base.update(state.s, flow, p, dir);
      // A base may replace the flow's state (basic makes its array at the second packet): keep it here.
      if (flow.state !== state) {
        state.s = flow.state as S;
        flow.state = state;
      }
      record(state, p, dir);
    },
    row(f: Flow, state: WithOpening<S>, out: (number | string)[]): void {
      base.row(f, state.s, out);
      const v = state.vals;
      for (let i = 0; i < 2 * n; i++) out[baseLen + i] = v[i];
    },
  };
}
