import { Session } from "node:inspector/promises";
import { main } from "../src/cli.ts";
const s = new Session();
s.connect();
await s.post("Profiler.enable");
await s.post("Profiler.setSamplingInterval", { interval: 200 });
await s.post("Profiler.start");
await main(Deno.args);
const { profile } = await s.post("Profiler.stop") as any;
const self = new Map<string, number>();
const byId = new Map<number, any>();
for (const n of profile.nodes) byId.set(n.id, n);
const dt = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
let total = 0;
for (const [id, t] of dt) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const k = `${cf.functionName || "(anon)"} ${cf.url.split("/").slice(-2).join("/")}:${cf.lineNumber}`;
  self.set(k, (self.get(k) ?? 0) + t);
  total += t;
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 30);
for (const [k, t] of top) console.error((t / 1000).toFixed(0).padStart(6), "ms", (100 * t / total).toFixed(1).padStart(5), "%", k);
console.error("total", (total / 1000).toFixed(0), "ms");
