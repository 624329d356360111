/**
 * Worker entry of one shard (src/serve/shard.ts): a {@link Monitor} over the
 * packets of the capture whose flow hashes to this shard. It has no sinks,
 * rules or store of its own: alerts and drift events go to the main thread,
 * with counter and statistics deltas every 250 ms.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { AlertFilter } from "./rules.ts";
import { MonitorMetrics } from "./metrics.ts";
import type { AlertStore } from "./store.ts";
import type { DriftRecord } from "./drift.ts";
import { createMonitor, startTicker } from "./pipeline/meter.ts";
import { resolveScoring } from "./pipeline/scoring.ts";
import { packetSource, parseReplay, pcapFast } from "./pipeline/source.ts";
import { type ShardCommand, type ShardMessage, shardOf, StatsRelay } from "./shard.ts";

const post = (m: ShardMessage, transfer: Transferable[] = []) => self.postMessage(m, transfer);
const stop = new AbortController();
/** Verdicts of the main monitor's rules awaited by this shard, by request number. */
const verdicts = new Map<number, (pass: boolean) => void>();
let nextReq = 0;

async function run(c: Extract<ShardCommand, { t: "start" }>): Promise<void> {
  const { cfg, index, count } = c;
  const { scoring } = await resolveScoring(cfg, undefined);
  const metrics = new MonitorMetrics();
  const stats = new StatsRelay();
  // Only drift events reach the store from a shard in handoff mode: they go to the main thread's.
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
  const replay = parseReplay(cfg.source?.replay);
  // 1 MiB reads (the single monitor's are 256 KiB): every shard reads the whole file, and fewer, larger
  // reads cut that shared cost (~20 % of a shard's time on the bench capture); a chunk is ~3 ms of work.
  const src = cfg.source?.pcap && replay.kind === "fast"
    ? pcapFast(cfg.source.pcap, 1024 * 1024)
    : packetSource(cfg.source ?? {}, { replay, metrics, log });
  const stopTicker = startTicker(monitor, src.live, log);
  try {
    const r = await src.run({
      packet(p) {
        if (shardOf(p, count) === index) monitor.packet(p);
        else monitor.advance(p);
      },
    }, stop.signal);
    stopTicker();
    await monitor.finish();
    clearInterval(reporter);
    report();
    post({
      t: "done",
      meter: { ...monitor.meter.stats },
      report: r,
      nonFiniteScores: monitor.nonFiniteScores,
      bufferEvicted: monitor.evidence.evicted,
    });
  } finally {
    stopTicker();
    clearInterval(reporter);
  }
}

self.onmessage = (e: MessageEvent<ShardCommand>) => {
  const c = e.data;
  if (c.t === "verdict") {
    verdicts.get(c.req)?.(c.pass);
    verdicts.delete(c.req);
  } else if (c.t === "stop") stop.abort();
  else {
    run(c).catch((err: Error) => post({ t: "error", message: err.message, stack: err.stack }));
  }
};
