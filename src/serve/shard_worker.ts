/**
 * Worker entry of one shard (src/serve/shard.ts, src/serve/shard_open.ts):
 * a monitor over the packets the main thread's reader puts in this shard's
 * ring (its flows' packets with the sensor's packet clock, and ticks when work
 * on packet time falls due). Alerts are judged by the main monitor's rules
 * and handed over with their evidence, drift events too, and counter and
 * statistics deltas go every 250 ms, all as messages.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { DecodedPacket } from "../capture/decode.ts";
import { InputError, UsageError } from "../util/errors.ts";
import { SuppressionList } from "./rules.ts";
import type { Monitor } from "./monitor.ts";
import { driveLive, openLive, pcapFast } from "./pipeline/source.ts";
import {
  endOfInput,
  HandOver,
  liveShard,
  NamesCache,
  routeTo,
  type ShardCommand,
  type ShardMessage,
  ShardRouter,
} from "./shard.ts";
import { type OpenShard, openShard } from "./shard_open.ts";
import { macrotask, PacketRing, type RingHandlers } from "./shard_ring.ts";

const post = (m: ShardMessage, transfer: Transferable[] = []) => self.postMessage(m, transfer);
/** Alerts, places, ended flows and drift events go in batches, in order. */
const handOver = new HandOver(post);
/** The shard once open: hints and "accepted" messages go to it. */
let open: OpenShard | undefined;
/** The sensor's suppression rules, as last sent (kept for the shard when they come before it opens). */
let suppressions: SuppressionList | undefined;
/** Stops reading the capture file or interface (a shard that reads it itself). */
const stop = new AbortController();
/** Resolves with the packet time to read from once every shard joined the fanout group ("go"). */
let go: (fromUs: number) => void = () => {};
const started = new Promise<number>((r) => go = r);

async function run(c: Extract<ShardCommand, { t: "start" }>): Promise<void> {
  const names = new NamesCache();
  const ring = c.ring && PacketRing.attach(c.ring);
  try {
    const shard = await openShard(c.cfg, c, {
      alert: (r) => {
        const sameNames = names.strip(r);
        handOver.add({ t: "alert", r, sameNames }, r.pcap?.buffer as ArrayBuffer | undefined);
      },
      twin: (r) => handOver.add({ t: "twin", r }),
      ended: (flowId) => handOver.add({ t: "ended", flowId }),
      drift: (d) => handOver.add({ t: "drift", d }),
      report: (stats, counters, gauges, dropped) => post({ t: "report", stats, counters, gauges, dropped }),
      clock: (us, phase, orderUs) => handOver.add({ t: "clock", us, phase, orderUs }),
    });
    open = shard;
    shard.hints.suppressions = suppressions; // sent before this shard was open
    const { monitor } = shard;
    // Split fanout: this shard's own capture joins the group before the shard says it is ready.
    const capture = c.capture && await openLive(c.capture);
    post({ t: "ready" });
    const skip = { packets: 0 };
    let kernelDrops: number | undefined;
    try {
      if (capture) {
        const fromUs = await started;
        ({ kernelDrops } = await driveLive(
          capture,
          liveShard(monitor, fromUs, skip),
          stop.signal,
          shard.metrics,
        ));
      } else if (ring) await readRing(ring, monitor);
      else if (c.file) {
        const source = pcapFast(c.file.path, c.file.chunkSize, macrotask);
        const router = new ShardRouter(c.count, monitor, c.file.load);
        await source.run(routeTo(router, c.index, monitor), stop.signal);
        endOfInput(monitor, router);
      }
      await monitor.finish();
      // Everything is handed over: past every place, so the rules can judge the twins still waiting.
      handOver.add({ t: "clock", us: Infinity, phase: Infinity, orderUs: Infinity });
      handOver.flush();
      await monitor.twinsSettled();
      shard.close();
      handOver.flush();
      post({ t: "done", ...shard.totals(), kernelDrops, skipped: skip.packets });
    } finally {
      capture?.close(); // driveLive closed it unless the run failed first (closing twice is harmless)
      shard.close();
    }
  } catch (e) {
    ring?.abort(); // a reader blocked on this ring must not wait for it
    handOver.flush();
    throw e;
  }
}

/** Feeds `monitor` from the main thread's reader until it closes the ring. */
async function readRing(ring: PacketRing, monitor: Monitor): Promise<void> {
  const handlers: RingHandlers = {
    packet: (p, clockUs) => monitor.packetAt(p, clockUs),
    tick: (tsUs, metered) => monitor.advance(tsUs, metered),
    caughtUp: (tsUs) => monitor.caughtUp(tsUs),
  };
  const pkt = new DecodedPacket();
  for (;;) {
    // Up to 4 k records (a few ms) per turn, then the event loop runs (verdicts, scoring flushes,
    // timers): while waiting for the reader's next batch when the ring ran dry, else at once.
    const n = ring.read(handlers, pkt, 4096);
    if (n < 0) return;
    if (n < 4096) await ring.wait(20);
    else await macrotask();
  }
}

self.onmessage = (e: MessageEvent<ShardCommand>) => {
  const c = e.data;
  if (c.t === "verdicts") {
    if (c.suppressions) {
      suppressions = SuppressionList.copyOf(c.suppressions);
      if (open) open.hints.suppressions = suppressions;
    }
    for (const h of c.hints) open?.hints.add(h);
    for (const id of c.accepted) open?.monitor.markAlerted(id);
    for (const id of c.twinsPassed) open?.monitor.twinVerdict(id, true);
    for (const id of c.twinsDropped) open?.monitor.twinVerdict(id, false);
  } else if (c.t === "stop") (stop.abort(), go(Infinity)); // stopped before "go": read nothing
  else if (c.t === "go") go(c.fromUs);
  else {
    run(c).catch((err: Error) =>
      post({
        t: "error",
        message: err.message,
        stack: err.stack,
        user: err instanceof InputError ? "input" : err instanceof UsageError ? "usage" : undefined,
      })
    );
  }
};
