/**
 * Child process of the soak test and `deno task bench monitor --flood N`: runs the monitor on a flood
 * pcap (test/serve/_flood.ts) with a threshold below every score, so every flow alerts, and prints one
 * JSON line: the run summary, the alerts the file sink wrote (`nadir_sink_written_total{sink="file"}`),
 * the evidence pcaps written and lost, wall/CPU seconds and peak RSS (VmHWM) of this process. A
 * separate process so the peak RSS is the monitor's alone.
 *
 * `written` is the sink's own count, not lines found on disk afterwards: rotation removes the oldest
 * files (a 1.5 M flood rotates most of its alerts away), and reading the files back would add their
 * size to the very peak RSS being measured.
 *
 * Usage: deno run -A --unstable-ffi test/serve/_soak_child.ts FLOOD.pcap MODEL_DIR OUT_DIR [MAX_FLOWS]
 *
 * @module
 */
import process from "node:process";
import { join } from "node:path";
import { runMonitor } from "../../src/serve/run.ts";
import type { MonitorMetrics } from "../../src/serve/metrics.ts";

const [pcap, model, out, maxFlows] = Deno.args;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let metrics: MonitorMetrics | undefined;
const r = await runMonitor(
  {
    source: { pcap },
    model,
    // Every flow alerts: the worst case for the alert path.
    threshold: "fixed:-1e300",
    alerts: { file: join(out, "alerts.jsonl") },
    // Rules off: every raised alert is written (dedup/rate limits would hide the alert path's cost).
    rules: { dedup_window_s: 0, per_host_per_minute: 0 },
    ...(maxFlows ? { flows: { max_flows: Number(maxFlows) } } : {}),
  },
  { log: () => {}, onReady: (m) => void (metrics = m.metrics) },
);
const hwm = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({
  ...r,
  written: metrics!.sinkWritten.get({ sink: "file" }),
  evidenceWritten: metrics!.sinkWritten.get({ sink: "evidence" }),
  evidenceLost: metrics!.sinkLost.get({ sink: "evidence" }),
  wall: (performance.now() - t0) / 1000,
  cpu: (cpu.user + cpu.system) / 1e6,
  peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN,
}));
