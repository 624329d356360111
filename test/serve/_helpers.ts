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
import { runMonitor } from "../../src/serve/run.ts";
import type { MonitorConfig } from "../../src/serve/config.ts";
import type { AlertStore } from "../../src/serve/store.ts";
import { dataPath, nadirArgs } from "../_shared.ts";
import { scratchDir } from "../_scratch.ts";

let modelDir: Promise<string> | undefined;

/**
 * kmeans on the `basic` features of http_espn.pcapng (benign web browsing), threshold = 99.5th
 * percentile of its own training scores. Deliberately simple: the tests check the pipeline, not
 * detection quality.
 */
export function benignFlowModel(): Promise<string> {
  modelDir ??= (async () => {
    const dir = join(scratchDir("nadir-model-"), "kmeans-basic");
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

/**
 * Runs `nadir monitor` on stratosphere-test7-malicious.pcap (175 alerts with rate limits off) inside a
 * private mount namespace where `mnt` is a 64 KiB tmpfs, so whatever is written under it hits "No space
 * left on device" after a few dozen alerts. `args` go after `--pcap … --model …`; `after` is shell run
 * once the monitor exits (copy what it wrote out of the tmpfs, which vanishes with the namespace).
 * Needs root, unshare, mount and sh (callers declare them with testWhen). Exit 99 = the mount failed.
 */
export async function monitorOnFullDisk(
  mnt: string,
  args: string,
  after: string,
): Promise<{ code: number; stderr: string }> {
  const model = await benignFlowModel();
  const deno = [Deno.execPath(), ...nadirArgs()].join(" ");
  const pcap = dataPath("pcaps", "stratosphere-test7-malicious.pcap");
  const script = `mount -t tmpfs -o size=64k tmpfs ${mnt} || exit 99
${deno} monitor --pcap ${pcap} --model ${model} ${args}
rc=$?
${after}
exit $rc`;
  const r = await new Deno.Command("unshare", {
    args: ["-m", "--propagation", "private", "sh", "-c", script],
    stdout: "piped",
    stderr: "piped",
    env: { NADIR_PROGRESS: "0", NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(r.stderr);
  if (r.code === 99) throw new Error(`could not mount a tmpfs on ${mnt}:\n${stderr}`);
  return { code: r.code, stderr };
}

/**
 * Runs a monitor replay with its API on a free port (`cfg.api.port` 0) and keeps serving after the
 * replay ends; calls `f` with the API's base URL and the store once the replay is done, then stops
 * the monitor.
 */
export async function whileServing(
  cfg: MonitorConfig,
  f: (base: string, store: AlertStore) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const ready = Promise.withResolvers<void>();
  let base = "", store: AlertStore | undefined;
  const run = runMonitor(cfg, {
    signal: stop.signal,
    stay: true,
    log: (l) => l.includes("serving the API") && ready.resolve(),
    onReady: (x) => (store = x.store),
    onListen: (a) => (base = `http://127.0.0.1:${a.port}`),
  });
  await Promise.race([ready.promise, run]);
  try {
    await f(base, store!);
  } finally {
    stop.abort();
    await run;
  }
}
