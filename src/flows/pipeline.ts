/**
 * Capture file → flow rows: reads a pcap/pcapng with src/capture, meters it
 * and hands each ended flow's row to a sink. Memory is bounded by the flow
 * table (the capture is streamed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meterFile } from "./pipeline.ts";
 * const rows: unknown[] = [];
 * const s = await meterFile("data/pcaps/zeek-smtp.pcap", { features: "basic", onRow: (r) => rows.push([...r]) });
 * assert.ok(s.flows === rows.length && s.flows > 0);
 * ```
 * @module
 */
import { type CaptureStats, damageSummary, forEachPacket } from "../capture/reader.ts";
import { Progress } from "../util/progress.ts";
import { featureSet, type FeatureSetName } from "./features/mod.ts";
import type { Column, RowWriter } from "./features/types.ts";
import { FlowMeter, type MeterOptions, type MeterStats } from "./meter.ts";

/** Options for {@link meterFile}. */
export interface MeterFileOptions extends Partial<Omit<MeterOptions, "onFlow" | "features">> {
  features?: FeatureSetName;
  /** Receives each row (the array is reused: copy to keep). */
  onRow: (row: (number | string)[], columns: readonly Column[]) => void;
  /**
   * Fast path: when the feature set can write rows value by value ({@link FeatureSet.writeRow}), rows go to
   * this writer instead of `onRow` (no row array).
   */
  writer?: RowWriter;
  /** Called once with the columns before the first row. */
  onColumns?: (columns: readonly Column[]) => void;
  /** Stop at the first damaged record with an error naming its byte offset. */
  strict?: boolean;
  /** Show a progress bar on stderr (default: when the file is over 16 MiB). */
  progress?: boolean;
}

/** What {@link meterFile} returns. */
export interface MeterFileSummary {
  file: string;
  features: string;
  flows: number;
  meter: MeterStats;
  capture: CaptureStats;
  /** One-line damage summary ("" when none). */
  damage: string;
  seconds: number;
  packetsPerSecond: number;
}

/** Meters a capture file into flow rows. */
export async function meterFile(path: string, opts: MeterFileOptions): Promise<MeterFileSummary> {
  const name = opts.features ?? "basic";
  const fs = featureSet(name);
  const columns = fs.columns;
  opts.onColumns?.(columns);
  const row: (number | string)[] = new Array(columns.length);
  const writer = opts.writer;
  const direct = writer !== undefined && fs.writeRow !== undefined ? fs : undefined;
  let flows = 0;
  const meter = new FlowMeter({
    ...fs.meterDefaults,
    ...Object.fromEntries(
      Object.entries(opts).filter(([k, v]) =>
        v !== undefined &&
        ["idleTimeout", "activeTimeout", "tcpTermination", "tcpLinger", "maxFlows", "nfstreamBytes16"]
          .includes(k)
      ),
    ),
    features: fs,
    onFlow: direct
      ? (f) => {
        direct.writeRow!(f, f.state, writer!);
        flows++;
      }
      : (f) => {
        fs.row(f, f.state, row);
        flows++;
        opts.onRow(row, columns);
      },
  });
  let size = 0;
  try {
    size = (await Deno.stat(path)).size;
  } catch { /* reader reports it */ }
  const bar = new Progress({
    label: "bytes",
    total: size,
    unit: "B",
    silent: !(opts.progress ?? size > 16 << 20),
  });
  const t0 = performance.now();
  let n = 0;
  const capture = await forEachPacket(path, (p) => {
    meter.add(p);
    if ((++n & 0xffff) === 0 && p.fileOffset >= 0) bar.update(p.fileOffset, { flows: meter.stats.active });
  }, { strict: opts.strict });
  meter.flush();
  bar.update(size);
  bar.done();
  const seconds = (performance.now() - t0) / 1000;
  return {
    file: path,
    features: name,
    flows,
    meter: { ...meter.stats },
    capture,
    damage: damageSummary(capture),
    seconds,
    packetsPerSecond: seconds > 0 ? capture.packets / seconds : 0,
  };
}
