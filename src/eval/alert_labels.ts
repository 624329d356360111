/**
 * Labels a flow table from IDS alerts with the same matcher the Snort
 * baseline uses (src/eval/match.ts): `nadir label FLOWS --alerts FILE`.
 *
 * Accepted flow layouts: nadir/NFStream flows (`src_ip`, `src_port`,
 * `dst_ip`, `dst_port`, `protocol`, `bidirectional_first_seen_ms`,
 * `bidirectional_last_seen_ms`, UTC ms) and CIC-IDS2017 (`Src IP`, ...,
 * `Timestamp`, `Flow Duration`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { labelFlowsWithAlerts } from "./alert_labels.ts";
 * const flows = pl.DataFrame({ src_ip: ["10.0.0.1"], src_port: [5000], dst_ip: ["10.0.0.2"], dst_port: [21], protocol: [6],
 *   bidirectional_first_seen_ms: [1000], bidirectional_last_seen_ms: [2000] });
 * const alerts = [{ engine: "snort" as const, ts: 1500, proto: "TCP", src: "10.0.0.2", srcPort: 21, dst: "10.0.0.1", dstPort: 5000, rule: "1:1:1", line: 1 }];
 * const out = labelFlowsWithAlerts(flows, alerts).df;
 * assert.equal(out.getColumn("label").get(0), 1);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import type { Alert } from "../ids/types.ts";
import { type FlowTuple, matchAlerts, type MatchOptions } from "./match.ts";
import { cicFlows } from "./ids_baseline.ts";
import { InputError } from "../util/errors.ts";
import { FLOW_KEY_COLUMNS } from "../flows/label.ts";

/** Flow tuples of a nadir/NFStream or CIC-IDS2017 frame. */
export function flowTuples(df: pl.DataFrame, tzOffsetMinutes = 0): FlowTuple[] {
  const cols = new Set(df.columns);
  if (cols.has("Src IP")) return cicFlows(df, tzOffsetMinutes);
  const need = FLOW_KEY_COLUMNS;
  const missing = need.filter((c) => !cols.has(c));
  if (missing.length) {
    throw new InputError(
      `flow table lacks ${
        missing.map((m) => `"${m}"`).join(", ")
      }; expected nadir flows (nadir flows --features basic) or CIC-IDS2017 columns`,
    );
  }
  const [src, sp, dst, dp, pr, fs, ls] = need.map((c) => df.getColumn(c).toArray() as unknown[]);
  const shift = tzOffsetMinutes * 60_000;
  return Array.from({ length: df.height }, (_, i) => ({
    src: String(src[i]),
    srcPort: Number(sp[i]),
    dst: String(dst[i]),
    dstPort: Number(dp[i]),
    proto: Number(pr[i]),
    start: Number(fs[i]) - shift,
    end: Number(ls[i]) - shift,
  }));
}

/**
 * Adds `label` (1 = at least one matched alert), `attack` ("ids-alert" / "normal"),
 * `ids_alerts` (count) and `ids_rules` (matched rule ids, space-separated).
 * Existing columns of those names are replaced.
 */
export function labelFlowsWithAlerts(
  df: pl.DataFrame,
  alerts: Alert[],
  opts: MatchOptions = {},
): { df: pl.DataFrame; flagged: number; alertsMatched: number } {
  const flows = flowTuples(df);
  const m = matchAlerts(flows, alerts, opts);
  const drop = ["label", "attack", "ids_alerts", "ids_rules"].filter((c) => df.columns.includes(c));
  const base = drop.length ? df.drop(drop) : df;
  const out = base.withColumns(
    pl.Series("label", Array.from(m.flagged), pl.Int32),
    pl.Series("attack", Array.from(m.flagged, (f) => (f ? "ids-alert" : "normal")), pl.Utf8),
    pl.Series("ids_alerts", Array.from(m.alertCounts), pl.Int32),
    pl.Series("ids_rules", m.rules.map((r) => r.join(" ")), pl.Utf8),
  );
  return { df: out, flagged: m.flagged.reduce((a, b) => a + b, 0), alertsMatched: m.alertsMatched };
}
