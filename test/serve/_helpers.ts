/**
 * Shared set-up for the serve tests: a flow model trained on a benign vendored
 * capture (cached per process), and bigger captures built by repeating a real
 * one with shifted timestamps.
 *
 * @module
 */
import { join } from "node:path";
import { forEachPacket } from "../../src/capture/reader.ts";
import { createWriter } from "../../src/capture/writer.ts";
import { trainFlowModelFromPcap } from "../../src/serve/models.ts";
import { dataPath } from "../_shared.ts";

let modelDir: Promise<string> | undefined;

/**
 * kmeans on the `basic` features of http_espn.pcapng (benign web browsing), threshold = 99.5th
 * percentile of its own training scores. Deliberately simple: the tests check the pipeline, not
 * detection quality.
 */
export function benignFlowModel(): Promise<string> {
  modelDir ??= (async () => {
    const dir = join(Deno.makeTempDirSync({ prefix: "nadir-model-" }), "kmeans-basic");
    await trainFlowModelFromPcap(dataPath("pcaps", "http_espn.pcapng"), dir, { detector: "kmeans", seed: 1 });
    return dir;
  })();
  return modelDir;
}

/** Writes `times` copies of `src` (pcap format), copy k shifted by k × (capture span + gapS). */
export async function repeatCapture(src: string, out: string, times: number, gapS = 30): Promise<number> {
  const frames: { ts: number; data: Uint8Array; wire: number; link: number }[] = [];
  await forEachPacket(src, (p) => {
    frames.push({ ts: p.tsUs, data: p.raw!.slice(), wire: p.wireLen, link: p.linkType });
  });
  const span = frames[frames.length - 1].ts - frames[0].ts + gapS * 1e6;
  const w = createWriter(out, { format: "pcap", linkType: frames[0].link });
  for (let k = 0; k < times; k++) for (const f of frames) w.writePacket(f.ts + k * span, f.data, f.wire);
  w.close();
  return frames.length * times;
}

/** Concatenates captures (same link type) into one pcap, each shifted to start `gapS` after the previous ends. */
export async function concatCaptures(
  srcs: string[],
  out: string,
  gapS = 5,
): Promise<{ starts: number[]; packets: number }> {
  let w: ReturnType<typeof createWriter> | undefined;
  let nextStart = 0;
  const starts: number[] = [];
  let packets = 0;
  for (const src of srcs) {
    const frames: { ts: number; data: Uint8Array; wire: number; link: number }[] = [];
    await forEachPacket(src, (p) => {
      frames.push({ ts: p.tsUs, data: p.raw!.slice(), wire: p.wireLen, link: p.linkType });
    });
    w ??= createWriter(out, { format: "pcap", linkType: frames[0].link });
    const shift = nextStart === 0 ? 0 : nextStart - frames[0].ts;
    starts.push(frames[0].ts + shift);
    for (const f of frames) w.writePacket(f.ts + shift, f.data, f.wire);
    nextStart = frames[frames.length - 1].ts + shift + gapS * 1e6;
    packets += frames.length;
  }
  w!.close();
  return { starts, packets };
}
