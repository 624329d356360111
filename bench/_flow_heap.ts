/**
 * What an active flow holds on V8's heap, apart from the heap's headroom: meters the first `packets` packets
 * of a capture with no timeouts (every flow stays active), collects garbage fully, and divides the heap's
 * growth by the flows held. Run at two prefixes, the difference of the two leaves out what does not grow with
 * the flows (the reader's buffers, compiled code). Needs `--v8-flags=--expose-gc`; prints one JSON line.
 *
 * `deno run -A --v8-flags=--expose-gc bench/_flow_heap.ts FILE PACKETS [basic|none]`
 *
 * @module
 */
import { forEachPacket } from "../src/capture/reader.ts";
import type { Packet } from "../src/capture/packet.ts";
import { FlowMeter } from "../src/flows/meter.ts";
import { basicFeatures } from "../src/flows/features/basic.ts";

/** Heap bytes after full collections (the process runs with --expose-gc). */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("measuring the heap needs --v8-flags=--expose-gc");
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
}

/** Hands the first `limit` packets of `file` to `onPacket`. */
export async function readPrefix(file: string, limit: number, onPacket: (p: Packet) => void): Promise<void> {
  let n = 0;
  const stop = new Error("prefix read");
  try {
    await forEachPacket(file, (p) => {
      if (n++ >= limit) throw stop;
      onPacket(p);
    });
  } catch (e) {
    if (e !== stop) throw e;
  }
}

/** Flows held and heap bytes after metering the first `limit` packets of `file`. */
async function meterPrefix(
  file: string,
  limit: number,
  basic: boolean,
): Promise<{ flows: number; heap: number }> {
  const meter = new FlowMeter({
    onFlow: () => {},
    features: basic ? basicFeatures : undefined,
    idleTimeout: 1e9,
    activeTimeout: 1e9,
  });
  await readPrefix(file, limit, (p) => meter.add(p));
  const heap = heapAfterGc();
  if (meter.stats.active === 0) throw new Error(`${file}: no flow in the first ${limit} packets`);
  return { flows: meter.stats.active, heap };
}

if (import.meta.main) {
  const [file, packets, features = "basic"] = Deno.args;
  const limit = Number(packets);
  if (!file || !(limit >= 2)) throw new Error("usage: _flow_heap.ts FILE PACKETS [basic|none]");
  const basic = features === "basic";
  // Each prefix in a fresh meter; both after a warm-up read, so compiled code is already there.
  await meterPrefix(file, Math.floor(limit / 2), basic);
  const half = await meterPrefix(file, Math.floor(limit / 2), basic);
  const whole = await meterPrefix(file, limit, basic);
  if (whole.flows <= half.flows) {
    throw new Error(
      `${file}: the second half of the first ${limit} packets opened no flow; nothing to measure`,
    );
  }
  console.log(JSON.stringify({
    flows: whole.flows,
    bytesPerFlow: (whole.heap - half.heap) / (whole.flows - half.flows),
  }));
}
