/**
 * Packets to flows: a flow meter with NFStream's semantics ({@link FlowMeter}),
 * per-flow feature sets (`basic`, CIC-IDS2017's `cic`, KDD's header `kdd`, `packets`, `context`,
 * Kitsune's AfterImage), {@link meterFile} from a capture file to rows, row
 * sinks (CSV, Parquet) and rule-based labelling of flows. docs/features.md,
 * docs/capture.md and docs/labelling.md describe each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { DATA_DIR } from "nadir/data";
 * import { FEATURE_SET_NAMES, featureSet, meterFile } from "nadir/flows";
 *
 * assert.deepEqual(FEATURE_SET_NAMES, ["basic", "cic", "kdd", "packets", "context", "hosts"]);
 * const rows: (number | string)[][] = [];
 * let names: string[] = [];
 * const s = await meterFile(join(DATA_DIR, "pcaps/http_dvwa_sqlinjection.pcapng"), {
 *   features: "cic",
 *   onColumns: (cols) => names = cols.map((c) => c.name),
 *   onRow: (row) => rows.push([...row]),
 * });
 * assert.equal(s.flows, rows.length);
 * assert.equal(names.length, featureSet("cic").columns.length);
 * assert.ok(s.meter.packets > 0 && s.damage === "");
 * ```
 * @module
 */
export * from "./meter.ts";
export * from "./pipeline.ts";
export * from "./features/mod.ts";
export * from "./features/types.ts";
export { basicFeatures, type BasicState } from "./features/basic.ts";
export {
  CIC_ACTIVITY_TIMEOUT_US,
  CIC_COLUMNS,
  cicFeatures,
  type CicState,
  cicTimestamp,
} from "./features/cic.ts";
export {
  kddFeatures,
  kddFlag,
  type KddOptions,
  kddService,
  type KddState,
  type TcpSeen,
} from "./features/kdd.ts";
export {
  AfterImage,
  AFTERIMAGE_LAMBDAS,
  afterImageNames,
  type AfterImagePacket,
} from "./features/afterimage.ts";
export * from "./label.ts";
export * from "./writer.ts";
