/**
 * What one active single-packet flow costs the monitor's flow table on V8's heap (flow record, `basic`
 * state, table entries, talker counters; evidence frames are bounded apart): a seeded SYN flood
 * (test/serve/_flood.ts) fed to a flow-mode monitor with no timeouts, the used heap after full collections
 * compared between the first half and the whole prefix, per flow added. The figure behind
 * `BYTES_PER_FLOW` in src/serve/monitor.ts. Needs `--v8-flags=--expose-gc`; prints one JSON line.
 *
 * `deno run -A --unstable-ffi --v8-flags=--expose-gc bench/_monitor_heap.ts [FLOWS]` (default 200,000)
 *
 * @module
 */
import { join } from "node:path";
import { Monitor } from "../src/serve/monitor.ts";
import { flowScoringFromDir, trainFlowModelFromPcap } from "../src/serve/models.ts";
import { MonitorMetrics } from "../src/serve/metrics.ts";
import { AlertStore, LiveStats } from "../src/serve/store.ts";
import { AlertFilter } from "../src/serve/rules.ts";
import { heapAfterGc, readPrefix } from "./_flow_heap.ts";
import { writeSynFlood } from "../test/serve/_flood.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Flows held and heap bytes after the monitor took the first `limit` packets of `pcap`. */
async function monitorPrefix(
  pcap: string,
  model: string,
  limit: number,
): Promise<{ flows: number; heap: number }> {
  const filter = new AlertFilter({ dedupWindowS: 0, perHostPerMinute: 0 });
  const m = new Monitor({
    metrics: new MonitorMetrics(),
    store: new AlertStore({ filter }),
    stats: new LiveStats(),
    filter,
    sinks: [],
    sensor: "heap",
    scoring: await flowScoringFromDir(model),
    idleTimeoutS: 1e6,
    activeTimeoutS: 1e6,
    maxFlows: 4_000_000,
    evidence: { maxBytes: 0 }, // frames are counted apart (the evidence buffer's own cap)
  });
  await readPrefix(pcap, limit, (p) => m.packet(p));
  return { flows: m.meter.stats.active, heap: heapAfterGc() };
}

/**
 * Writes the seeded SYN flood of `n` flows (test/serve/_flood.ts, seed 19) and trains the kmeans flow
 * model the monitor benches score it with (basic features of data/pcaps/http_espn.pcapng) into `work`.
 */
export async function synFloodAndModel(work: string, n: number): Promise<{ pcap: string; model: string }> {
  const pcap = join(work, "flood.pcap");
  await writeSynFlood(pcap, n, 19);
  const model = join(work, "model");
  await trainFlowModelFromPcap(join(ROOT, "data", "pcaps", "http_espn.pcapng"), model, {
    detector: "kmeans",
    seed: 1,
  });
  return { pcap, model };
}

if (import.meta.main) {
  const flows = Number(Deno.args[0] ?? 200_000);
  if (!(flows >= 1000)) throw new Error(`expected at least 1,000 flows, found ${Deno.args[0]}`);
  const work = Deno.makeTempDirSync({ prefix: "nadir-monitor-heap-" });
  try {
    const { pcap, model } = await synFloodAndModel(work, flows);
    await monitorPrefix(pcap, model, flows / 2); // warm-up: compiled code is there before measuring
    const half = await monitorPrefix(pcap, model, flows / 2);
    const whole = await monitorPrefix(pcap, model, flows);
    console.log(
      JSON.stringify({
        flows: whole.flows,
        bytesPerFlow: (whole.heap - half.heap) / (whole.flows - half.flows),
      }),
    );
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}
