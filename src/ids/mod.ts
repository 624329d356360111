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
import type { Alert, Skipped } from "./types.ts";

export * from "./types.ts";
export { parseSnortFast, parseSnortJson, parseSnortTime, splitAddrPort } from "./snort.ts";
export { parseEve, parseEveTime } from "./suricata.ts";

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
}

/** Alerts read from a file plus what was skipped. */
export interface AlertFile {
  path: string;
  format: AlertFormat;
  alerts: Alert[];
  skipped: Skipped[];
  total: number;
}

/** Reads Snort (alert_json, alert_fast) or Suricata (eve.json) alerts from a file. */
export async function readAlerts(path: string, options: ReadAlertsOptions = {}): Promise<AlertFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new InputError(`cannot read alert file (${(e as Error).message})`, { file: path });
  }
  const format = options.format ?? detectFormat(text);
  const opts = { ...options, file: options.file ?? path };
  if (format === "eve") {
    const r = parseEve(text, opts);
    return { path, format, alerts: r.alerts.items, skipped: r.skipped, total: r.alerts.total };
  }
  const r = format === "snort-json" ? parseSnortJson(text, opts) : parseSnortFast(text, opts);
  return { path, format, alerts: r.items, skipped: r.skipped, total: r.total };
}
