/**
 * Signature-IDS outputs (Snort, Suricata) as engine-neutral {@link Alert}s.
 * {@link readAlerts} detects the format from the file's content.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectFormat } from "./mod.ts";
 * assert.equal(detectFormat('{"event_type":"alert"}'), "eve");
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import { parseSnortFast, parseSnortJson, type SnortOptions } from "./snort.ts";
import { parseEve } from "./suricata.ts";
import { skippedMessage } from "./skip.ts";
import type { Alert, Skipped } from "./types.ts";

export * from "./types.ts";
export { parseSnortFast, parseSnortJson, parseSnortTime, splitAddrPort } from "./snort.ts";
export { parseEve, parseEveTime } from "./suricata.ts";
export { skippedMessage } from "./skip.ts";
export { checkAddress, checkPort, FieldError } from "./validate.ts";

/** Alert file formats nadir reads. */
export type AlertFormat = "eve" | "snort-json" | "snort-fast";

/** Guesses the format from the first non-blank line. */
export function detectFormat(text: string): AlertFormat {
  const head = text.trimStart();
  if (head.startsWith("[")) return "eve";
  if (head.startsWith("{")) {
    const first = head.split(/\r?\n/, 1)[0];
    return /"event_type"\s*:/.test(first) || /"event_type"/.test(head.slice(0, 2000)) ? "eve" : "snort-json";
  }
  return "snort-fast";
}

/** Options for {@link readAlerts}. */
export interface ReadAlertsOptions extends SnortOptions {
  format?: AlertFormat;
  /**
   * Accept a file with no alert at all (empty, only blank lines, only
   * malformed lines, an eve.json without alert events). Default false: such a
   * file is an InputError, because labelling or scoring with it would call
   * every flow benign without a word (the user passes `--allow-empty-alerts`).
   */
  allowEmpty?: boolean;
}

/** Alerts read from a file plus what was skipped. */
export interface AlertFile {
  path: string;
  format: AlertFormat;
  alerts: Alert[];
  skipped: Skipped[];
  total: number;
}

/**
 * Reads Snort (alert_json, alert_fast) or Suricata (eve.json) alerts from a
 * file. A file that yields no alert is an InputError saying what it held,
 * unless `allowEmpty`.
 */
export async function readAlerts(path: string, options: ReadAlertsOptions = {}): Promise<AlertFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new InputError(`cannot read alert file (${(e as Error).message})`, { file: path });
  }
  const format = options.format ?? detectFormat(text);
  const opts = { ...options, file: options.file ?? path };
  let out: AlertFile;
  let events: Record<string, number> | undefined;
  if (format === "eve") {
    const r = parseEve(text, opts);
    out = { path, format, alerts: r.alerts.items, skipped: r.skipped, total: r.alerts.total };
    events = r.eventTypes;
  } else {
    const r = format === "snort-json" ? parseSnortJson(text, opts) : parseSnortFast(text, opts);
    out = { path, format, alerts: r.items, skipped: r.skipped, total: r.total };
  }
  if (!out.alerts.length && !options.allowEmpty) {
    throw new InputError(
      `no alerts in ${path}: expected Snort alert_json/alert_fast or Suricata eve.json lines, found ${
        emptyFound(text, out, events)
      }; pass --allow-empty-alerts if the IDS really raised none`,
    );
  }
  return out;
}

/** What an alert file without alerts held, for the error message. */
function emptyFound(text: string, f: AlertFile, events: Record<string, number> | undefined): string {
  if (!text.length) return "an empty file";
  if (!text.trim()) return "only blank lines";
  const first = f.skipped[0] ? ` (line ${f.skipped[0].line}: ${f.skipped[0].reason})` : "";
  const nEvents = events ? Object.values(events).reduce((a, b) => a + b, 0) : 0;
  if (events && nEvents > f.total) {
    const kinds = Object.entries(events).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} ${n}`);
    return f.total
      ? `${nEvents} events; all ${f.total} alert events malformed${first}`
      : `${nEvents} events, none of type "alert" (${kinds.join(", ")})${first ? `; malformed${first}` : ""}`;
  }
  const n = f.format === "eve" ? Math.max(f.total, f.skipped.length) : f.total;
  return `${n} lines, none a valid alert${first}`;
}

/** A short JSON-able summary of an alert file (what `nadir ids parse` prints). */
export interface AlertSummary {
  file: string;
  format: AlertFormat;
  alerts: number;
  skipped: number;
  /** The first five skipped lines (line, field, reason). */
  first_skipped: Skipped[];
  /** ISO time of the earliest and latest alert; null without alerts. */
  first: string | null;
  last: string | null;
  /** The ten most frequent rules and their alert counts. */
  top_rules: Record<string, number>;
}

/**
 * Summarises an alert file. Times are scanned in a loop: `Math.min(...ts)`
 * overflows the stack from ~120 k alerts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSnortJson, summarizeAlerts } from "./mod.ts";
 * const r = parseSnortJson('{"timestamp":"07/04-11:55:09.6","src_ap":"1.2.3.4:80","dst_ap":"5.6.7.8:1","rule":"1:2:3"}', { year: 2017 });
 * const s = summarizeAlerts({ path: "a.json", format: "snort-json", alerts: r.items, skipped: r.skipped, total: r.total });
 * assert.equal(s.first, "2017-07-04T11:55:09.600Z");
 * assert.deepEqual(s.top_rules, { "1:2:3": 1 });
 * ```
 */
export function summarizeAlerts(f: AlertFile): AlertSummary {
  const rules: Record<string, number> = {};
  let lo = Infinity, hi = -Infinity;
  for (const a of f.alerts) {
    rules[a.rule] = (rules[a.rule] ?? 0) + 1;
    if (a.ts < lo) lo = a.ts;
    if (a.ts > hi) hi = a.ts;
  }
  const top = Object.entries(rules).sort((a, b) => b[1] - a[1]).slice(0, 10);
  return {
    file: f.path,
    format: f.format,
    alerts: f.alerts.length,
    skipped: f.skipped.length,
    first_skipped: f.skipped.slice(0, 5),
    first: f.alerts.length ? new Date(lo).toISOString() : null,
    last: f.alerts.length ? new Date(hi).toISOString() : null,
    top_rules: Object.fromEntries(top),
  };
}

/**
 * One line per skipped line of an alert file (`file:line, column "f":
 * expected …, found …`), at most `max`, then how many more: so a reader of
 * stderr sees every dropped alert was dropped for a reason.
 */
export function skippedLines(f: AlertFile, max = 5): string[] {
  const out = f.skipped.slice(0, max).map((s) => `skipped ${skippedMessage(f.path, s)}`);
  if (f.skipped.length > max) out.push(`... and ${f.skipped.length - max} more skipped lines in ${f.path}`);
  return out;
}
