import assert from "node:assert/strict";
import { join } from "node:path";
import { writeSynFlood } from "../serve/_flood.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Heap bytes per active flow that bench/_flow_heap.ts measures on `pcap` (its own process: --expose-gc). */
async function heapPerFlow(pcap: string, packets: number, features: string): Promise<number> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      join(ROOT, "bench", "_flow_heap.ts"),
      pcap,
      String(packets),
      features,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  assert.ok(r.success, `bench/_flow_heap.ts failed: ${err.slice(-1000)}`);
  return JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").pop()!).bytesPerFlow;
}

// The flow record was slimmed from 464 to 222 heap bytes a one-packet flow (docs/features.md, "Memory per
// flow"); a field added to Flow costs 8 bytes a flow, a double in a field 24. The bound leaves room for a
// field or two and V8's variation, and fails at the layouts before (248 and 464 bytes).
Deno.test("memory: a one-packet flow holds at most 240 heap bytes (record and basic state), 200 k flows", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-flow-heap-" });
  try {
    const pcap = join(dir, "flood.pcap");
    await writeSynFlood(pcap, 200_000, 7);
    const bytes = await heapPerFlow(pcap, 200_000, "basic");
    assert.ok(bytes > 100 && bytes <= 240, `${bytes.toFixed(0)} heap bytes a flow`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
