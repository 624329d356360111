/**
 * Alert evidence: the first packets of every live flow, held in a bounded
 * buffer (at most `perFlowPackets` packets and `perFlowBytes` bytes per flow,
 * `maxBytes` in all — the oldest flows are forgotten first when the global cap
 * is hit). When a flow alerts, its packets are written as a classic pcap file
 * next to the alert; when it ends quietly they are dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EvidenceBuffer } from "./evidence.ts";
 * const ev = new EvidenceBuffer({ perFlowPackets: 2 });
 * ev.add(1, 1_000_000, 60, new Uint8Array(60), 1);
 * assert.equal(ev.pcap(1)!.length, 24 + 16 + 60); // file header, record header, frame
 * assert.equal(ev.pcap(2), undefined); // a flow that kept no frame
 * ev.drop(1);
 * assert.equal(ev.size, 0);
 * ```
 * {@link EvidenceDisk} keeps the written pcaps within a disk budget.
 *
 * @module
 */
import { join } from "node:path";
import type { EveRecord } from "./eve.ts";
import type { AlertSink, SinkStats } from "./sinks/sink.ts";
import { SpareFiles, type SpareFilesOptions } from "./spare_files.ts";
import { forEachLine } from "../util/lines.ts";

/**
 * Heap bytes a flow's evidence costs beyond its frames: the map entry and the flow's record, and per frame
 * a record, view and buffer of its own (as frames were held when this was measured). Measured with
 * Deno.memoryUsage() over 100 k single-packet flows of the SYN flood (test/serve/_flood.ts): 528
 * bytes a flow for a 58-byte frame (docs/monitor.md). {@link EvidenceBuffer} counts these against its
 * cap: counting frame bytes alone let a flood of one-frame flows hold 8× the cap (~500 MB at 1 M
 * flows under a 64 MiB cap).
 */
export const EVIDENCE_FLOW_OVERHEAD = 200;
/**
 * See {@link EVIDENCE_FLOW_OVERHEAD}: the per-frame part. Measured when every frame had its own
 * ArrayBuffer, view and record; frames now share their flow's chunks and keep five numbers in one array
 * (views and records are made only for an alert), so this overstates the cost and the cap errs on the
 * safe side.
 */
export const EVIDENCE_PACKET_OVERHEAD = 270;

/** Limits for {@link EvidenceBuffer}. */
/** The evidence buffer's default memory cap (`evidence.max_bytes`): 64 MiB a sensor. */
export const EVIDENCE_BUFFER_BYTES = 64 * 1024 * 1024;

export interface EvidenceOptions {
  /** Packets kept per flow. Default 32. */
  perFlowPackets?: number;
  /** Bytes kept per flow (frames are cut to fit, as a snaplen would). Default 64 KiB. */
  perFlowBytes?: number;
  /**
   * Memory kept in all: frame bytes plus {@link EVIDENCE_FLOW_OVERHEAD} a flow and
   * {@link EVIDENCE_PACKET_OVERHEAD} a frame. Default 64 MiB (~125 k one-frame flows of a SYN flood).
   * Free chunks kept for reuse count against it too: they fill the room the held flows leave, and are let go
   * first when the held flows need it.
   */
  maxBytes?: number;
}

/**
 * A flow's frames as the buffer holds them: their bytes packed into the flow's chunks, and five numbers a
 * frame (time, wire length, chunk, offset, captured length) in one array. A chunk is taken when a frame
 * does not fit the last one, twice the flow's bytes so far (the first just the first frame), rounded up to
 * a power of two, so 32 frames take about 6 chunks instead of 32. No view or record is made per frame: made
 * per frame, they were most of the buffer's cost on a shard (docs/monitor.md); an alert's pcap is copied
 * straight from the chunks ({@link EvidenceBuffer.pcap}).
 *
 * Chunks of flows that end without an alert (most of them) are used again: allocating each one (a zeroed
 * ArrayBuffer the garbage collector tracks) was ~80 % of the cost of storing a frame, 0.63 against
 * 0.11 µs a frame with the chunks reused (500 k frames of 60–1,460 bytes, 32 a flow).
 */
interface HeldEvidence {
  linkType: number;
  /** Per frame: tsUs, wireLen, chunk index, offset in that chunk, captured length. */
  meta: number[];
  chunks: Uint8Array[];
  /** Frames held. */
  n: number;
  /** Captured bytes held. */
  bytes: number;
  /** Bytes of the last chunk in use. */
  used: number;
  /** Bytes of every chunk allocated for the flow (what it holds in memory, counted against the cap). */
  capacity: number;
}

const META = 5;
/** Chunks are 2^6 (a SYN's frame fits) to 2^16 bytes; a larger one (a frame over 64 KiB) is not reused. */
const MIN_CLASS = 6, MAX_CLASS = 16;

/** See the module doc. */
export class EvidenceBuffer {
  readonly #flows = new Map<number, HeldEvidence>();
  readonly #perFlowPackets: number;
  readonly #perFlowBytes: number;
  readonly #maxBytes: number;
  #bytes = 0;
  /** Free chunks by size class (log2 of their length), and their bytes. */
  readonly #free: Uint8Array[][] = [];
  #freeBytes = 0;
  #oldest: MapIterator<[number, HeldEvidence]> | undefined;
  /** Flows forgotten because of the global cap. */
  evicted = 0;

  constructor(opts: EvidenceOptions = {}) {
    this.#perFlowPackets = opts.perFlowPackets ?? 32;
    this.#perFlowBytes = opts.perFlowBytes ?? 64 * 1024;
    this.#maxBytes = opts.maxBytes ?? EVIDENCE_BUFFER_BYTES;
  }

  /** Memory held now (frame bytes plus bookkeeping, as counted against `maxBytes`). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes of free chunks kept for reuse: with {@link bytes}, at most `maxBytes`. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Flows held now. */
  get size(): number {
    return this.#flows.size;
  }

  /** True when flow `id` still has room (check before touching the frame: getting it may allocate). */
  wants(id: number): boolean {
    const f = this.#flows.get(id);
    return f === undefined || (f.n < this.#perFlowPackets && f.bytes < this.#perFlowBytes);
  }

  /** Stores a copy of `frame` for flow `id` if the flow still has room. */
  add(id: number, tsUs: number, wireLen: number, frame: Uint8Array, linkType: number): void {
    let f = this.#flows.get(id);
    if (!f) {
      f = { linkType, meta: [], chunks: [], n: 0, bytes: 0, used: 0, capacity: 0 };
      this.#flows.set(id, f);
      this.#bytes += EVIDENCE_FLOW_OVERHEAD;
    } else if (f.n >= this.#perFlowPackets) return;
    const room = this.#perFlowBytes - f.bytes;
    if (room <= 0) return;
    const len = Math.min(frame.length, room);
    // The copy lands at the frame's own address modulo 8: a frame read from shared memory (a shard's
    // ring, src/serve/shard_ring.ts) is copied word by word only then, byte by byte ~4× slower otherwise.
    // A chunk's buffer starts 8-aligned, so this costs at most 7 bytes a frame.
    const shift = frame.byteOffset & 7;
    let ci = f.chunks.length - 1;
    let at = ci < 0 ? 0 : f.used + ((shift - f.used) & 7);
    if (ci < 0 || f.chunks[ci].length - at < len) {
      const size = this.#take(Math.max(len + shift, Math.min(room, 2 * f.bytes)), f);
      ci++;
      at = shift;
      f.capacity += size;
      this.#bytes += size;
    }
    f.chunks[ci].set(len === frame.length ? frame : frame.subarray(0, len), at);
    f.meta.push(tsUs, wireLen, ci, at, len);
    f.used = at + len;
    f.n++;
    f.bytes += len;
    this.#bytes += EVIDENCE_PACKET_OVERHEAD;
    if (this.#bytes + this.#freeBytes > this.#maxBytes) this.#shed();
    while (this.#bytes > this.#maxBytes && this.#flows.size > 1) {
      // One iterator kept across calls: a fresh `entries().next()` walks past every deleted entry at
      // the front of the map first, O(n) per eviction once the cap is reached (a flood evicts per flow).
      let next = this.#oldest?.next();
      if (next === undefined || next.done) next = (this.#oldest = this.#flows.entries()).next();
      const [oldId, old] = next.value as [number, HeldEvidence];
      if (oldId === id) {
        this.#oldest = undefined; // not evicted: start from the front next time
        break;
      }
      this.#flows.delete(oldId);
      this.#bytes -= held(old);
      this.#recycle(old);
      this.evicted++;
    }
  }

  /** Adds a chunk of at least `want` bytes to `f` (a free one if there is one); returns its length. */
  #take(want: number, f: HeldEvidence): number {
    const cls = Math.max(MIN_CLASS, 32 - Math.clz32(want - 1));
    let chunk: Uint8Array | undefined;
    if (cls > MAX_CLASS) chunk = new Uint8Array(want);
    else {
      chunk = this.#free[cls]?.pop();
      if (chunk) this.#freeBytes -= chunk.length;
      else chunk = new Uint8Array(1 << cls);
    }
    f.chunks.push(chunk);
    return chunk.length;
  }

  /** Keeps the chunks of a flow forgotten for reuse, up to the pool's bytes. */
  #recycle(f: HeldEvidence): void {
    for (const c of f.chunks) {
      const cls = 31 - Math.clz32(c.length);
      if (cls > MAX_CLASS || this.#bytes + this.#freeBytes + c.length > this.#maxBytes) continue;
      (this.#free[cls] ??= []).push(c);
      this.#freeBytes += c.length;
    }
  }

  /** Lets free chunks go, the largest first, until held and free bytes fit the cap again (or none is left). */
  #shed(): void {
    for (let cls = MAX_CLASS; cls >= MIN_CLASS && this.#bytes + this.#freeBytes > this.#maxBytes; cls--) {
      const free = this.#free[cls];
      while (free?.length && this.#bytes + this.#freeBytes > this.#maxBytes) {
        this.#freeBytes -= free.pop()!.length;
      }
    }
  }

  /**
   * Flow `id`'s frames (the first `frames` of them) as a classic little-endian pcap (magic a1b2c3d4, µs
   * timestamps, version 2.4), sized
   * exactly and copied straight from the chunks, so it stays whole when they are used again; undefined when
   * the flow holds none. It runs once per alert on the capture thread, where src/capture/writer.ts's
   * buffered writer (256 KiB a file) cost more than the frames, and a record and a view a frame first were
   * a fifth of the cost.
   */
  pcap(id: number, frames = Infinity): Uint8Array | undefined {
    const f = this.#flows.get(id);
    if (f === undefined) return undefined;
    const n = Math.min(f.n, frames);
    if (n === 0) return undefined;
    const m = f.meta;
    let bytes = f.bytes;
    for (let i = n, o = n * META; i < f.n; i++, o += META) bytes -= m[o + 4];
    const out = new Uint8Array(PCAP_HEADER + PCAP_RECORD * n + bytes);
    const dv = new DataView(out.buffer);
    pcapHeader(dv, f.linkType);
    let at = PCAP_HEADER;
    for (let i = 0, o = 0; i < n; i++, o += META) {
      const off = m[o + 3], len = m[o + 4];
      pcapRecord(dv, at, m[o], len, m[o + 1]);
      out.set(f.chunks[m[o + 2]].subarray(off, off + len), at + PCAP_RECORD);
      at += PCAP_RECORD + len;
    }
    return out;
  }

  /** Forgets flow `id` (flow ended without alert, or evidence written). */
  drop(id: number): void {
    const f = this.#flows.get(id);
    if (!f) return;
    this.#bytes -= held(f);
    this.#flows.delete(id);
    this.#recycle(f);
  }
}

/** What a flow's evidence counts against the buffer's cap. */
function held(f: HeldEvidence): number {
  return f.capacity + EVIDENCE_FLOW_OVERHEAD + f.n * EVIDENCE_PACKET_OVERHEAD;
}

const PCAP_HEADER = 24, PCAP_RECORD = 16;

/** A classic little-endian pcap's file header (magic a1b2c3d4, µs timestamps, version 2.4). */
function pcapHeader(dv: DataView, linkType: number): void {
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, linkType, true);
}

/** A record header at `at`: the time, `capLen` bytes captured of a `wireLen`-byte frame. */
function pcapRecord(dv: DataView, at: number, tsUs: number, capLen: number, wireLen: number): void {
  const sec = Math.floor(tsUs / 1e6);
  dv.setUint32(at, sec >>> 0, true);
  dv.setUint32(at + 4, Math.round(tsUs - sec * 1e6) >>> 0, true);
  dv.setUint32(at + 8, capLen, true);
  dv.setUint32(at + 12, Math.max(wireLen, capLen), true);
}

/** Callbacks of {@link EvidenceWriter} (the monitor wires them to the sink metrics and its log). */
export interface EvidenceWriterEvents {
  onWritten?: () => void;
  onLost?: (e: Error) => void;
  /** Receives the first failure of each kind (errno code), e.g. the first ENOSPC. */
  log?: (line: string) => void;
}

/**
 * Writes each alert's evidence pcap, and accounts for it as a sink does: a
 * write that fails (disk full, directory gone) removes whatever part of the
 * file it left — an empty or cut pcap named by an alert is worse than none —
 * counts the loss, and logs the first failure of each kind only (a full disk
 * fails every alert after it: one line per alert flooded the log). The run
 * summary reports it as the `evidence` sink, so lost pcaps make the CLI exit 3
 * like lost alert lines. Alerts whose flow had no frames left in the
 * {@link EvidenceBuffer} (forgotten under its cap) are counted as `missing`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EvidenceWriter } from "./evidence.ts";
 * const dir = Deno.makeTempDirSync();
 * const log: string[] = [];
 * const w = new EvidenceWriter(dir, { log: (l) => log.push(l) });
 * assert.equal(w.write("a.pcap", new Uint8Array(24)), true);
 * Deno.removeSync(dir, { recursive: true }); // the directory is gone: every later write fails
 * assert.equal(w.write("b.pcap", new Uint8Array(24)), false);
 * assert.equal(w.write("c.pcap", new Uint8Array(24)), false);
 * assert.deepEqual(w.stats(), { written: 1, lost: 2, lastError: "No such file or directory (os error 2)" });
 * assert.equal(log.length, 1, "one line per kind of error");
 * ```
 */
export class EvidenceWriter {
  written = 0;
  lost = 0;
  /** Alerts with no evidence frames left to write. */
  missing = 0;
  lastError?: string;
  readonly #logged = new Set<string>();
  #spares?: SpareFiles;
  /** The pcap written last: the disk budget takes its size from here instead of a stat() (EvidenceJanitor). */
  lastWritten?: { name: string; size: number };

  constructor(readonly dir: string, readonly events: EvidenceWriterEvents = {}) {}

  /**
   * Writes each pcap through a file created ahead of time ({@link SpareFiles}, kept full from timer
   * turns) until the returned function is called, which removes the spares left. The monitor's run
   * does this: a burst of alerts then pays a write and a rename per pcap, not a file creation.
   */
  keepSpares(opts?: SpareFilesOptions): () => void {
    this.#spares?.close();
    const spares = this.#spares = new SpareFiles(this.dir, opts);
    spares.start();
    return () => {
      spares.close();
      if (this.#spares === spares) this.#spares = undefined;
    };
  }

  /** Writes `bytes` as file `name` of the directory; false (counted, partial file removed) on failure. */
  write(name: string, bytes: Uint8Array): boolean {
    const path = join(this.dir, name);
    try {
      if (!this.#spares?.writeAs(path, bytes)) Deno.writeFileSync(path, bytes);
      this.lastWritten = { name, size: bytes.length };
      this.written++;
      this.events.onWritten?.();
      return true;
    } catch (e) {
      try {
        Deno.removeSync(path);
      } catch { /* never created */ }
      const err = e as Error & { code?: string };
      // Deno's message ends with the operation and path ("…: writefile '/x/y.pcap'"): per-file detail.
      const msg = err.message.replace(/: \w+ '[^']*'$/, "");
      this.lost++;
      this.lastError = msg;
      this.events.onLost?.(err);
      const kind = err.code ?? err.name;
      if (!this.#logged.has(kind) && this.#logged.size < 16) {
        this.#logged.add(kind);
        this.events.log?.(
          `nadir monitor: cannot write evidence ${path}: ${msg} (further evidence errors like it are only counted)`,
        );
      }
      return false;
    }
  }

  /** Counts as the sink stage reports them ({@link SinkStats}). */
  stats(): SinkStats {
    return {
      written: this.written,
      lost: this.lost,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}

/** Limits for {@link EvidenceDisk}. */
export interface EvidenceDiskOptions {
  /** Bytes of evidence pcaps kept on disk. Default 1 GiB. */
  maxBytes?: number;
  /** Evidence pcaps kept on disk. Default 100 000. */
  maxFiles?: number;
}

interface DiskEntry {
  name: string;
  /** Undefined until the file is seen on disk (sized by the next {@link EvidenceDisk.settle}). */
  size?: number;
  gone?: boolean;
  /** Settles that did not find the file yet. */
  misses?: number;
}

/** Alerts between two {@link EvidenceDisk.settle} calls from {@link EvidenceDisk.add}. */
const SETTLE_EVERY = 256;

/**
 * The disk budget of the evidence directory: at most `maxBytes` and
 * `maxFiles` pcaps, the oldest removed first. A flood of alerting flows
 * otherwise leaves a pcap per alert forever (1.5 M files, 5.8 GB in the
 * review's flood). Files an earlier run left count too (oldest by mtime).
 *
 * Each name is sized when its alert goes out (one stat()); a name whose file
 * is not there yet is retried in batches ({@link settle}, every 256 alerts and
 * at flush) and forgotten after two misses — O(1) stat() calls a name. Sizing
 * every unsized name on every alert made a burst of n alerts cost O(n²) stat()
 * calls (issue 19). A name whose file is removed before it appeared is removed
 * again when it does (checked at the next two settles).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { EvidenceDisk } from "./evidence.ts";
 * const dir = Deno.makeTempDirSync();
 * const disk = new EvidenceDisk(dir, { maxFiles: 2 });
 * for (const n of ["a.pcap", "b.pcap", "c.pcap"]) {
 *   Deno.writeFileSync(join(dir, n), new Uint8Array(40));
 *   disk.add(n);
 * }
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["b.pcap", "c.pcap"]);
 * assert.equal(disk.files, 2);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class EvidenceDisk {
  readonly #entries: DiskEntry[] = [];
  #head = 0;
  readonly #byName = new Map<string, DiskEntry>();
  /** Entries not yet seen on disk. */
  #unsized: DiskEntry[] = [];
  /** Removed before their file was written: remove when they appear (value: settles tried). */
  #doomed = new Map<string, number>();
  #sinceSettle = 0;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  #bytes = 0;
  /** Files removed to stay within the budget or because their alerts rotated away. */
  removed = 0;

  constructor(readonly dir: string, opts: EvidenceDiskOptions = {}) {
    this.#maxBytes = opts.maxBytes ?? 1024 ** 3;
    this.#maxFiles = opts.maxFiles ?? 100_000;
    Deno.mkdirSync(dir, { recursive: true });
    const found: { name: string; size: number; mtime: number }[] = [];
    for (const e of Deno.readDirSync(dir)) {
      if (!e.isFile || !e.name.endsWith(".pcap")) continue;
      try {
        const st = Deno.statSync(join(dir, e.name));
        found.push({ name: e.name, size: st.size, mtime: st.mtime?.getTime() ?? 0 });
      } catch { /* removed meanwhile */ }
    }
    found.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : 1));
    for (const f of found) this.#track({ name: f.name, size: f.size });
    this.#enforce();
  }

  /** Bytes of tracked pcaps on disk. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Tracked pcaps (on disk, or named and about to be written). */
  get files(): number {
    return this.#byName.size;
  }

  #track(e: DiskEntry): void {
    const old = this.#byName.get(e.name);
    if (old) this.#forget(old);
    this.#entries.push(e);
    this.#byName.set(e.name, e);
    if (e.size === undefined) this.#unsized.push(e);
    else this.#bytes += e.size;
  }

  #forget(e: DiskEntry): void {
    if (e.gone) return;
    e.gone = true;
    this.#byName.delete(e.name);
    if (e.size !== undefined) this.#bytes -= e.size;
  }

  /**
   * Records the pcap of a new alert (file `name` in the directory), then enforces the budget. `size`, when
   * the caller wrote the file and knows it, saves the stat().
   */
  add(name: string, size?: number): void {
    if (!isPlainName(name)) return;
    // One stat() of this name only (the monitor wrote the file before the alert reached the sinks);
    // names not on disk yet wait for the next settle.
    if (size === undefined) {
      try {
        size = Deno.statSync(join(this.dir, name)).size;
      } catch { /* not written (yet) */ }
    }
    this.#track({ name, size });
    if (++this.#sinceSettle >= SETTLE_EVERY) this.settle();
    else this.#enforce();
  }

  /**
   * Sizes the pcaps named since the last call, removes late ones already doomed, and enforces the
   * budget. A name whose file is missing twice is forgotten (its write failed: nothing to keep).
   */
  settle(): void {
    this.#sinceSettle = 0;
    if (this.#unsized.length) {
      const still: DiskEntry[] = [];
      for (const e of this.#unsized) {
        if (e.gone) continue;
        try {
          e.size = Deno.statSync(join(this.dir, e.name)).size;
          this.#bytes += e.size;
        } catch {
          if ((e.misses = (e.misses ?? 0) + 1) < 2) still.push(e);
          else this.#forget(e);
        }
      }
      this.#unsized = still;
    }
    for (const [name, tries] of this.#doomed) {
      if (this.#unlink(name) || tries >= 1) this.#doomed.delete(name);
      else this.#doomed.set(name, tries + 1);
    }
    this.#enforce();
  }

  /** Removes the pcaps `names` (their alerts are gone), tracked or not. */
  remove(names: Iterable<string>): void {
    for (const name of names) {
      if (!isPlainName(name)) continue;
      const e = this.#byName.get(name);
      const unsized = e !== undefined && e.size === undefined;
      if (e) this.#forget(e);
      if (this.#unlink(name)) this.removed++;
      // Its alert rotated out before the end of the burst that writes the pcap: remove it when it comes.
      else if (unsized && this.#doomed.size < 100_000) this.#doomed.set(name, 0);
    }
    this.#compact();
  }

  /** Removes the pcaps the alerts in JSON-lines file `path` refer to (called before the file is deleted). */
  removeFor(path: string): void {
    // A regular expression, not JSON.parse: this runs on the capture thread at rotation, over up to
    // max_bytes of alerts; evidence names are `<alert id>.pcap` and need no unescaping. Line by line
    // (src/util/lines.ts): a file past V8's string limit would otherwise fail to read and leave its pcaps.
    const names: string[] = [];
    try {
      forEachLine(path, (line) => {
        for (const m of line.matchAll(/"evidence":"([A-Za-z0-9._-]+\.pcap)"/g)) names.push(m[1]);
      });
    } catch {
      return;
    }
    this.remove(names);
  }

  #enforce(): void {
    while (
      this.#head < this.#entries.length && (this.files > this.#maxFiles || this.#bytes > this.#maxBytes)
    ) {
      const e = this.#entries[this.#head++];
      if (e.gone) continue;
      const unsized = e.size === undefined;
      this.#forget(e);
      if (this.#unlink(e.name)) this.removed++;
      else if (unsized && this.#doomed.size < 100_000) this.#doomed.set(e.name, 0);
    }
    this.#compact();
  }

  #unlink(name: string): boolean {
    try {
      Deno.removeSync(join(this.dir, name));
      return true;
    } catch {
      return false;
    }
  }

  /** Drops the consumed head of the entry list once it is most of the array (amortised O(1)). */
  #compact(): void {
    while (this.#head < this.#entries.length && this.#entries[this.#head].gone) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** A bare file name: what the monitor writes (never a path that could leave the directory). */
function isPlainName(name: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(name) && name !== "." && name !== "..";
}

/**
 * The evidence budget as a sink at the end of the monitor's sink list: it
 * sees every alert that names a pcap and keeps the directory within its
 * {@link EvidenceDisk} budget. With the monitor's {@link EvidenceWriter} it
 * reports the pcaps written and lost as the `evidence` sink of the run summary.
 */
export class EvidenceJanitor implements AlertSink {
  readonly name = "evidence";
  constructor(readonly disk: EvidenceDisk, readonly writer?: EvidenceWriter) {}
  stats(): SinkStats {
    return this.writer?.stats() ?? { written: 0, lost: 0 };
  }
  send(r: EveRecord): void {
    if (r.event_type !== "alert" || !r.evidence) return;
    // The monitor's writer wrote this pcap just before the alert came here: its size saves a stat() an
    // alert (11 µs of the ~0.1 ms the main thread spends on an alert, docs/monitor.md).
    const w = this.writer?.lastWritten;
    this.disk.add(r.evidence, w?.name === r.evidence ? w.size : undefined);
  }
  flush(): Promise<void> {
    this.disk.settle();
    return Promise.resolve();
  }
  close(): Promise<void> {
    return this.flush();
  }
}
