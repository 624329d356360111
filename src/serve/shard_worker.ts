/**
 * Worker entry of one shard (src/serve/shard.ts): a {@link Monitor} over the
 * packets the main thread's reader puts in this shard's ring (its flows'
 * packets, and ticks for the others' so its packet clock stays the sensor's).
 * It has no sinks, rules or store of its own: alerts are judged by the main
 * monitor's rules and handed over with their evidence, drift events too, and
 * counter and statistics deltas go every 250 ms.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { DecodedPacket } from "../capture/decode.ts";
import { AlertFilter } from "./rules.ts";
import { MonitorMetrics } from "./metrics.ts";
import type { AlertStore } from "./store.ts";
import type { DriftRecord } from "./drift.ts";
import { createMonitor, startTicker } from "./pipeline/meter.ts";
import { resolveScoring } from "./pipeline/scoring.ts";
import { type ShardCommand, type ShardMessage, StatsRelay } from "./shard.ts";
import { macrotask, PacketRing, type RingHandlers } from "./shard_ring.ts";

const post = (m: ShardMessage, transfer: Transferable[] = []) => self.postMessage(m, transfer);
/** Verdicts of the main monitor's rules awaited by this shard, by request number. */
const verdicts = new Map<number, (pass: boolean) => void>();
let nextReq = 0;

async function run(c: Extract<ShardCommand, { t: "start" }>): Promise<void> {
  const { cfg, index, count } = c;
  const ring = PacketRing.attach(c.ring);
  try {
    const { scoring } = await resolveScoring(cfg, undefined);
    const metrics = new MonitorMetrics();
    const stats = new StatsRelay();
    // Only drift events reach the store from a shard: they go to the main thread's.
    const store = { addDrift: (d: DriftRecord) => post({ t: "drift", d }) } as unknown as AlertStore;
    const log = (l: string) => console.error(l);
    const monitor = createMonitor(cfg, {
      scoring,
      metrics,
      stats,
      sinks: [],
      filter: new AlertFilter({}),
      store,
      evidenceDir: c.evidenceDir,
      feedback: [],
    }, {
      log,
      shard: {
        judge: (key, flowId) =>
          new Promise<boolean>((resolve) => {
            const req = nextReq++;
            verdicts.set(req, resolve);
            post({ t: "judge", req, key, flowId });
          }),
        alert: (r) => post({ t: "alert", r }, r.pcap ? [r.pcap.buffer as ArrayBuffer] : []),
        ended: (flowId) => post({ t: "ended", flowId }),
      },
      flowIds: { first: index, step: count },
    });
    const report = () => post({ t: "report", stats: stats.take(), ...StatsRelay.counters(metrics) });
    const reporter = setInterval(report, 250);
    const stopTicker = startTicker(monitor, c.live, log);
    post({ t: "ready", rescoreUs: monitor.rescoreUs });
    const handlers: RingHandlers = {
      packet: (p, clockUs) => monitor.packetAt(p, clockUs),
      tick: (tsUs, metered) => monitor.advance(tsUs, metered),
    };
    const pkt = new DecodedPacket();
    try {
      for (;;) {
        // Up to 4 k records (a few ms) per turn, then the event loop runs (verdicts, scoring flushes,
        // timers): while waiting for the reader's next batch when the ring ran dry, else at once.
        const n = ring.read(handlers, pkt, 4096);
        if (n < 0) break;
        if (n < 4096) await ring.wait(20);
        else await macrotask();
      }
      stopTicker();
      await monitor.finish();
      clearInterval(reporter);
      report();
      post({
        t: "done",
        meter: { ...monitor.meter.stats },
        nonFiniteScores: monitor.nonFiniteScores,
        bufferEvicted: monitor.evidence.evicted,
      });
    } finally {
      stopTicker();
      clearInterval(reporter);
    }
  } catch (e) {
    ring.abort(); // a reader blocked on this ring must not wait for it
    throw e;
  }
}

self.onmessage = (e: MessageEvent<ShardCommand>) => {
  const c = e.data;
  if (c.t === "verdict") {
    verdicts.get(c.req)?.(c.pass);
    verdicts.delete(c.req);
  } else {
    run(c).catch((err: Error) => post({ t: "error", message: err.message, stack: err.stack }));
  }
};
