/**
 * The records the sinks write, one JSON line each, in the style of
 * Suricata's eve.json: every line has `timestamp`, `event_type` and `host`, and
 * the event's own fields beside them. nadir writes two event types: `alert`
 * (an anomalous flow, src/serve/alert.ts) and `drift` (a live stream's
 * distribution changed, src/serve/drift.ts). Consumers tell them apart by
 * `event_type`, as they would Suricata's `alert`, `flow` and `stats` lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eveLine, isAlert } from "./eve.ts";
 * import { makeAlert } from "./alert.ts";
 * const a = makeAlert({ tsUs: 0, flowId: 1, srcIp: "10.0.0.1", srcPort: 1, destIp: "10.0.0.2", destPort: 2,
 *   protocol: 6, detector: "kmeans", score: 2, threshold: 1 });
 * assert.ok(isAlert(a));
 * assert.equal(JSON.parse(eveLine(a)).event_type, "alert");
 * ```
 * @module
 */
import type { Alert } from "./alert.ts";
import type { DriftRecord } from "./drift.ts";

/** A line the sinks write: an alert or a drift event. */
export type EveRecord = Alert | DriftRecord;

/** Whether `r` is an alert (not a drift event). */
export function isAlert(r: EveRecord): r is Alert {
  return r.event_type === "alert";
}

/** Serialises one record as a JSON line (with the trailing newline). */
export function eveLine(r: EveRecord): string {
  return JSON.stringify(r) + "\n";
}
