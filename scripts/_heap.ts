import { Session } from "node:inspector/promises";
import { main } from "../src/cli.ts";
const s = new Session();
s.connect();
await s.post("HeapProfiler.enable");
await s.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
await main(Deno.args);
const { profile } = await s.post("HeapProfiler.stopSampling");
const self = new Map<string, number>();
let total = 0;
const walk = (n: any) => {
  const k = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber + 1}`;
  self.set(k, (self.get(k) ?? 0) + n.selfSize);
  total += n.selfSize;
  for (const c of n.children) walk(c);
};
walk(profile.head);
for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.error(`${(100 * c / total).toFixed(1).padStart(5)}% ${(c/1048576).toFixed(1)}MB ${k}`);
