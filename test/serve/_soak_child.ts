/**
 * Child process of the soak test and `deno task bench monitor --flood N`: runs the monitor on a flood
 * pcap (test/serve/_flood.ts) with a threshold below every score, so every flow alerts, and prints one
 * JSON line: the run summary, alert lines written, wall/CPU seconds and peak RSS (VmHWM) of this
 * process. A separate process so the peak RSS is the monitor's alone.
 *
 * Usage: deno run -A --unstable-ffi test/serve/_soak_child.ts FLOOD.pcap MODEL_DIR OUT_DIR [MAX_FLOWS]
 *
 * @module
 */
import process from "node:process";
import { join } from "node:path";
import { runMonitor } from "../../src/serve/run.ts";

const [pcap, model, out, maxFlows] = Deno.args;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const alerts = join(out, "alerts.jsonl");
const r = await runMonitor(
  {
    source: { pcap },
    model,
    // Every flow alerts: the worst case for the alert path.
    threshold: "fixed:-1e300",
    alerts: { file: alerts },
    // Rules off: every raised alert is written (dedup/rate limits would hide the alert path's cost).
    rules: { dedup_window_s: 0, per_host_per_minute: 0 },
    ...(maxFlows ? { flows: { max_flows: Number(maxFlows) } } : {}),
  },
  { log: () => {} },
);
const cpu = process.cpuUsage(cpu0);
let written = 0;
// Rotated files (alerts.jsonl.1 …) hold written alerts too.
for (const e of Deno.readDirSync(out)) {
  if (!e.name.startsWith("alerts.jsonl")) continue;
  const b = Deno.readFileSync(join(out, e.name));
  for (let i = 0; i < b.length; i++) if (b[i] === 10) written++;
}
const hwm = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
console.log(JSON.stringify({
  ...r,
  written,
  wall: (performance.now() - t0) / 1000,
  cpu: (cpu.user + cpu.system) / 1e6,
  peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN,
}));
