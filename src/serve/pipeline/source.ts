/**
 * Source stage: where the monitor's packets come from — a capture file
 * replayed as fast as it can be read or paced to packet time, or a live
 * interface through libpcap.
 *
 * Every source hands packets to a {@link PacketConsumer} by calling its
 * `packet` method directly: the per-packet path is the sensor's budget, so no
 * wrapper closure sits between the reader and the monitor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseReplay } from "./source.ts";
 *
 * assert.deepEqual(parseReplay(undefined), { kind: "fast" });
 * assert.deepEqual(parseReplay("realtime"), { kind: "scale", factor: 1 });
 * assert.deepEqual(parseReplay("x10"), { kind: "scale", factor: 10 });
 * assert.deepEqual(parseReplay("50000pps"), { kind: "rate", pps: 50000 });
 * assert.throws(() => parseReplay("x0"), /--replay expects fast, realtime, xN/);
 * ```
 * @module
 */
import type { Packet } from "../../capture/packet.ts";
import { damageSummary, forEachPacket } from "../../capture/reader.ts";
import { ByteArena, type DecodedPacket } from "../../capture/decode.ts";
import { UsageError } from "../../util/errors.ts";
import { Progress } from "../../util/progress.ts";
import type { MonitorConfig } from "../config.ts";
import type { MonitorMetrics } from "../metrics.ts";
import { macrotask } from "../shard_ring.ts";

/** A live packet source (libpcap); see `openLiveSource` in src/serve/live_source.ts. */
export interface LiveSource {
  /**
   * Delivers packets until `signal` aborts; the packet object may be reused. `drained`, when given, is
   * called whenever the kernel's buffer was found empty, with a wall-clock time (µs) before which every
   * packet that arrived has been delivered.
   */
  run(cb: (p: Packet) => void, signal: AbortSignal, drained?: (beforeUs: number) => void): Promise<void>;
  /** Kernel counters (libpcap pcap_stats). */
  stats(): { received: number; kernelDrops: number; ifDrops: number };
  close(): void;
  /** The PACKET_FANOUT group the capture joined (the kernel's id for a "new" one); undefined: none. */
  readonly fanoutGroup?: number;
}

/** Opens a live capture; replaced in tests. Loads src/capture/live.ts lazily (it needs --unstable-ffi). */
export type LiveOpener = (
  iface: string,
  o: { snaplen: number; bufferMib: number; bpf?: string; fanoutGroup?: number | "new" },
) => Promise<LiveSource>;

/**
 * A live interface as plain data, so that a worker thread can open it for itself: each of a sharded
 * sensor's threads then captures its own share (a PACKET_FANOUT group, src/serve/shard.ts).
 */
export interface LiveShare {
  iface: string;
  snaplen: number;
  bufferMib: number;
  bpf?: string;
}

/** What receives packets: the Monitor. The packet object may be reused after the call returns. */
export interface PacketConsumer {
  packet(p: Packet): void;
  /** A live source has delivered every packet that arrived before `nowUs` (see Monitor.caughtUp). */
  caughtUp?(nowUs: number): void;
}

/** What a source knows once it stops, for the run summary. */
export interface SourceReport {
  /** Packets the kernel dropped (live capture; 0 for a file). */
  kernelDrops: number;
  /** What was wrong with the capture file (truncated records, ...), when anything was. */
  damage?: string;
}

/** A packet source, read once. */
export interface PacketSource {
  /**
   * Whether packet time is the wall clock. A live source's flows must be expired on the wall clock
   * (a quiet link sends no packet to advance packet time); a file's only on packet time, so a replay
   * is deterministic.
   */
  readonly live: boolean;
  /** Delivers every packet to `consumer` until the source ends or `signal` aborts. */
  run(consumer: PacketConsumer, signal: AbortSignal): Promise<SourceReport>;
  /**
   * A capture file (a regular file) read as fast as it can be, which any thread can read again for
   * itself: a sharded monitor's shards then each read it whole and keep their own packets
   * (src/serve/shard.ts).
   */
  readonly file?: { path: string; chunkSize: number };
  /** A live interface, which each thread of a sharded sensor can capture its own share of. */
  readonly capture?: LiveShare;
}

/**
 * How a capture file is replayed: as fast as it can be read, at a multiple of packet time (`realtime` is
 * 1), or at a fixed number of packets per second (as `tcpreplay --pps`; a load test at a chosen rate).
 */
export type Replay = { kind: "fast" } | { kind: "scale"; factor: number } | { kind: "rate"; pps: number };

/**
 * Parses `--replay`: `fast` (default), `realtime`, `xN` (N times packet time) or `Npps` (N packets per
 * second). Checked before anything is loaded so a typo fails at once.
 */
export function parseReplay(r: string | undefined): Replay {
  if (!r || r === "fast") return { kind: "fast" };
  if (r === "realtime") return { kind: "scale", factor: 1 };
  const m = /^x([0-9]+(?:\.[0-9]+)?)$/.exec(r);
  if (m && Number(m[1]) > 0) return { kind: "scale", factor: Number(m[1]) };
  const p = /^([0-9]+(?:\.[0-9]+)?)pps$/.exec(r);
  if (p && Number(p[1]) > 0) return { kind: "rate", pps: Number(p[1]) };
  throw new UsageError(
    `--replay expects fast, realtime, xN (e.g. x10) or Npps (e.g. 50000pps), found "${r}"`,
  );
}

/** Options for {@link packetSource}. */
export interface PacketSourceOptions {
  /** From {@link parseReplay}; only used for a pcap. */
  replay: Replay;
  /** Live capture opener; default src/serve/live_source.ts (libpcap). */
  liveOpener?: LiveOpener;
  /** Receives the kernel and interface drop counters of a live capture. */
  metrics: MonitorMetrics;
  log: (line: string) => void;
}

/** The source the config names: its interface when it has one, else its pcap. */
export function packetSource(
  src: NonNullable<MonitorConfig["source"]>,
  o: PacketSourceOptions,
): PacketSource {
  if (src.interface !== undefined) {
    return liveCapture({
      iface: src.interface,
      snaplen: src.snaplen ?? 2048,
      bufferMib: src.buffer_mib ?? 64,
      bpf: src.bpf,
      opener: o.liveOpener,
      metrics: o.metrics,
      log: o.log,
    });
  }
  if (o.replay.kind !== "fast") return pcapPaced(src.pcap!, o.replay);
  // A regular file is read synchronously in 256 KiB chunks with a macrotask between them (see
  // ReadOptions.betweenChunks and ioEveryMs), a pipe with an awaited read per chunk (a synchronous read
  // would hold the event loop while the writer is slow). Measured on 4 M packets, one worker: 2.15–2.37 s
  // wall against 2.93–3.22 s with an awaited read per chunk. With two workers both cores are busy and an
  // async read per chunk waits to be scheduled each time. The event loop runs between chunks, and a
  // worker's alert waits for it (the rules' verdict): 1 MiB chunks held that round trip 12 ms (median) to
  // 75 ms (p99), 256 KiB ones 14 to 43 ms at the same packets/s (64 KiB: 4 to 28 ms, but 9 % fewer
  // packets/s).
  return pcapFast(src.pcap!, 256 * 1024, isRegularFile(src.pcap!) ? macrotask : undefined);
}

/**
 * A capture file read as fast as possible. Small reads (256 KiB): microtasks (batch flushes, async
 * explanations) run between chunks, so an alert never waits for a multi-MiB chunk to be parsed.
 */
export function pcapFast(
  path: string,
  chunkSize = 256 * 1024,
  betweenChunks?: () => Promise<void>,
): PacketSource {
  return {
    live: false,
    // Only a regular file reads the same for every reader: readers of a pipe would split its bytes.
    file: isRegularFile(path) ? { path, chunkSize } : undefined,
    async run(consumer, signal) {
      const cs = await forEachPacket(path, (p) => {
        if (signal.aborted) return false;
        consumer.packet(p);
      }, { signal, chunkSize, betweenChunks });
      return { kernelDrops: 0, damage: damageSummary(cs) || undefined };
    },
  };
}

function isRegularFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false; // the read names the error
  }
}

/**
 * A capture file replayed at `factor` times packet time (1 = as captured): packet k is due (its time −
 * the first packet's time) / factor after the first was delivered; or at `pps` packets per second: packet
 * k is due k / pps s after the first. Waits shorter than 2 ms are skipped, as timers cannot honour them
 * anyway.
 */
export function pcapPaced(path: string, replay: Exclude<Replay, { kind: "fast" }>): PacketSource {
  const msPerPacket = replay.kind === "rate" ? 1000 / replay.pps : 0;
  const speed = replay.kind === "scale" ? replay.factor : 1;
  return {
    live: false,
    async run(consumer, signal) {
      let first = NaN;
      let wall0 = 0;
      let k = 0;
      // Read synchronously, 256 KiB at a time: a packet already due (or due within 2 ms) goes to the
      // consumer at once, straight from the read buffer; from the first one due later, the rest of the
      // chunk is copied aside and delivered between chunks, each after its wait. An await per packet cost
      // more than the monitor's own work at a few hundred thousand packets/s (the replay fell behind its
      // rate), and the event loop runs between chunks even when the replay is behind.
      // The clock is read again only for a packet not yet due at the last reading: one read a packet was
      // 0.46 s of the main thread's 5.8 s in a paced 4 M-packet replay (op_now, a CPU profile, 2026-12-06).
      let held: { p: DecodedPacket; due: number }[] = [];
      const arena = new ByteArena();
      let now = -Infinity;
      const cs = await forEachPacket(path, (p) => {
        if (signal.aborted) return false;
        if (Number.isNaN(first)) {
          first = p.tsUs;
          wall0 = now = performance.now();
        }
        const due = wall0 + (msPerPacket ? k++ * msPerPacket : (p.tsUs - first) / 1000 / speed);
        if (!held.length && due - now > 2) now = performance.now();
        if (held.length || due - now > 2) held.push({ p: p.clone(arena), due });
        else consumer.packet(p);
      }, {
        signal,
        chunkSize: 256 * 1024,
        betweenChunks: async () => {
          const waiting = held;
          held = [];
          for (const { p, due } of waiting) {
            const wait = due - performance.now();
            if (wait > 2) await sleepAbortable(wait, signal);
            if (signal.aborted) break;
            consumer.packet(p);
          }
          await macrotask();
        },
      });
      return { kernelDrops: 0, damage: damageSummary(cs) || undefined };
    },
  };
}

/**
 * `source` (a replay of the capture file `path`) with a progress bar over the file's bytes on stderr
 * (src/util/progress.ts: redrawn on a terminal, a line now and then in a log), updated every 65,536
 * packets; files under 16 MiB show none. Everything else about the source is unchanged, its
 * {@link PacketSource.file} included.
 */
export function withProgress(source: PacketSource, path: string, o: { silent?: boolean } = {}): PacketSource {
  return {
    live: source.live,
    file: source.file,
    async run(consumer, signal) {
      let size = 0;
      try {
        size = (await Deno.stat(path)).size;
      } catch { /* the read names the error */ }
      const bar = new Progress({
        label: "bytes",
        total: size,
        unit: "B",
        silent: o.silent || size < 16 << 20,
      });
      let n = 0;
      try {
        return await source.run({
          packet(p) {
            if ((++n & 0xffff) === 0) {
              const at = (p as Partial<DecodedPacket>).fileOffset ?? -1;
              if (at >= 0) bar.update(at);
            }
            consumer.packet(p);
          },
        }, signal);
      } finally {
        if (!signal.aborted) bar.update(size);
        bar.done();
      }
    },
  };
}

/** Options for {@link liveCapture}. */
export interface LiveCaptureOptions extends LiveShare {
  opener?: LiveOpener;
  metrics: MonitorMetrics;
  log: (line: string) => void;
}

/**
 * A live interface. The capture is opened when the source runs (not before), so opening failures
 * surface where the run's shutdown still happens. Drop counters are copied to the metrics every
 * second while capturing, and once more after it stops so the summary has the final count.
 */
export function liveCapture(o: LiveCaptureOptions): PacketSource {
  const { iface, snaplen, bufferMib, bpf } = o;
  return {
    live: true,
    // A stand-in opener (tests) cannot be opened again by another thread: such a source is read here.
    ...(o.opener ? {} : { capture: { iface, snaplen, bufferMib, bpf } }),
    async run(consumer, signal) {
      const source = await openLive(o);
      o.log(`nadir monitor: capturing on ${o.iface}${o.bpf ? ` (filter ${o.bpf})` : ""}`);
      return driveLive(source, consumer, signal, o.metrics);
    },
  };
}

/** Opens `o.iface` with `o.opener` (default libpcap), in PACKET_FANOUT group `fanoutGroup` when given. */
export async function openLive(
  o: LiveShare & { opener?: LiveOpener; fanoutGroup?: number | "new" },
): Promise<LiveSource> {
  const opener = o.opener ?? (await defaultLiveOpener());
  const { snaplen, bufferMib, bpf, fanoutGroup } = o;
  return opener(o.iface, { snaplen, bufferMib, bpf, fanoutGroup });
}

/**
 * Delivers `source`'s packets to `consumer` until `signal` aborts, then closes it. Its drop counters go
 * to `metrics` every second and once more at the end.
 */
export async function driveLive(
  source: LiveSource,
  consumer: PacketConsumer,
  signal: AbortSignal,
  metrics: MonitorMetrics,
): Promise<SourceReport> {
  let kernelDrops = 0;
  const syncDrops = () => {
    const s = source.stats();
    kernelDrops = s.kernelDrops;
    metrics.kernelDrops.setTotal(s.kernelDrops);
    metrics.ifDrops.setTotal(s.ifDrops);
  };
  const dropTicker = setInterval(syncDrops, 1000);
  const caughtUp = consumer.caughtUp?.bind(consumer);
  try {
    await source.run((p) => consumer.packet(p), signal, caughtUp);
  } finally {
    clearInterval(dropTicker);
    syncDrops();
    source.close();
  }
  return { kernelDrops };
}

/** Resolves after `ms`, or as soon as `signal` aborts (a paced replay must stop at once on SIGINT). */
export function sleepAbortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      r();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

async function defaultLiveOpener(): Promise<LiveOpener> {
  const mod = await import("../live_source.ts");
  return mod.openLiveSource;
}
