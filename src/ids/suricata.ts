/**
 * Suricata EVE JSON parser: `alert` and `flow` events, from JSON lines (the
 * normal eve.json) or from a JSON array of events (as some sensors export).
 * Other event types (dns, http, tls, ...) are counted, not errors.
 *
 * Suricata writes ISO-8601 times with a zone offset (`+0200`); a time without
 * one is read with `tzOffsetMinutes` (default 0 = UTC).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEve } from "./suricata.ts";
 * const r = parseEve('{"timestamp":"2021-06-06T15:59:46.457984+0200","event_type":"alert","src_ip":"1.2.3.4","src_port":1,"dest_ip":"5.6.7.8","dest_port":445,"proto":"TCP","alert":{"gid":1,"signature_id":2403388,"rev":1,"signature":"x"}}');
 * assert.equal(r.alerts.items[0].ts, Date.UTC(2021, 5, 6, 13, 59, 46) + 457.984);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import type { Alert, IdsFlow, ParseOptions, ParseResult, Skipped } from "./types.ts";
import { skipLine } from "./skip.ts";
import { checkAddress, checkCivil, checkPort, FieldError, shown } from "./validate.ts";

/** Options for EVE input. */
export interface EveOptions extends ParseOptions {
  /** Offset (local − UTC, minutes) applied to timestamps that carry no zone. Default 0. */
  tzOffsetMinutes?: number;
}

/** What {@link parseEve} returns. */
export interface EveResult {
  alerts: ParseResult<Alert>;
  flows: ParseResult<IdsFlow>;
  /** Count of every event_type seen (including alert and flow). */
  eventTypes: Record<string, number>;
  skipped: Skipped[];
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses an EVE timestamp to UTC ms. Throws a {@link FieldError} (named
 * `field`) for a bad layout, a date that does not exist or a zone offset
 * beyond ±14:00.
 */
export function parseEveTime(s: string, tzOffsetMinutes = 0, field = "timestamp"): number {
  const m = ISO.exec(s.trim());
  if (!m) throw new FieldError(field, "an ISO-8601 timestamp", shown(s));
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  checkCivil(field, s, y, mo, d, h, mi, se);
  const frac = m[7] ? Number("0." + m[7]) * 1000 : 0;
  let off = tzOffsetMinutes;
  if (m[8] === "Z") off = 0;
  else if (m[8]) {
    const z = m[8].replace(":", "");
    const [zh, zm] = [Number(z.slice(1, 3)), Number(z.slice(3, 5))];
    if (zh > 14 || zm > 59 || zh * 60 + zm > 14 * 60) {
      throw new FieldError(field, "a zone offset between -14:00 and +14:00", shown(s));
    }
    off = (z[0] === "-" ? -1 : 1) * (zh * 60 + zm);
  }
  return Date.UTC(y, mo - 1, d, h, mi, se) + frac - off * 60_000;
}

function num(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  const n = Number(v);
  if (typeof v === "boolean" || v === "" || !Number.isFinite(n)) {
    throw new FieldError(field, "a number", shown(v));
  }
  return n;
}

function str(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== "string" || !v) throw new FieldError(field, "a non-empty string", shown(v));
  return v;
}

/** Parses EVE JSON text (JSON lines or a JSON array). */
export function parseEve(text: string, options: EveOptions = {}): EveResult {
  const tz = options.tzOffsetMinutes ?? 0;
  const alerts: ParseResult<Alert> = { items: [], skipped: [], total: 0 };
  const flows: ParseResult<IdsFlow> = { items: [], skipped: [], total: 0 };
  const eventTypes: Record<string, number> = {};
  const skipped: Skipped[] = [];
  const fail = (line: number, e: unknown) => skipLine(options, skipped, line, e);

  let records: [number, unknown][] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[")) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (e) {
      throw new InputError(`not a valid JSON array of EVE events (${(e as Error).message})`, {
        file: options.file,
      });
    }
    if (!Array.isArray(arr)) {
      throw new InputError("expected a JSON array of EVE events", { file: options.file });
    }
    records = arr.map((o, i) => [i + 1, o]);
  } else {
    const ls = text.split(/\r?\n/);
    for (let k = 0; k < ls.length; k++) {
      const raw = ls[k].trim();
      if (!raw) continue;
      try {
        records.push([k + 1, JSON.parse(raw)]);
      } catch (e) {
        fail(k + 1, new Error(`not valid JSON (${(e as Error).message})`));
      }
    }
  }

  for (const [line, rec] of records) {
    try {
      if (typeof rec !== "object" || rec === null || Array.isArray(rec)) {
        throw new Error("expected a JSON object");
      }
      const o = rec as Record<string, unknown>;
      const type = str(o, "event_type");
      eventTypes[type] = (eventTypes[type] ?? 0) + 1;
      if (type !== "alert" && type !== "flow") continue;
      const base = {
        ts: parseEveTime(str(o, "timestamp"), tz),
        proto: String(o.proto ?? "").toUpperCase(),
        src: checkAddress(str(o, "src_ip"), "src_ip"),
        srcPort: checkPort(o.src_port, "src_port"),
        dst: checkAddress(str(o, "dest_ip"), "dest_ip"),
        dstPort: checkPort(o.dest_port, "dest_port"),
        line,
      };
      if (type === "alert") {
        alerts.total++;
        const a = o.alert as Record<string, unknown> | undefined;
        if (!a || typeof a !== "object") throw new Error(`alert event without an "alert" object`);
        alerts.items.push({
          engine: "suricata",
          ...base,
          rule: `${num(a.gid ?? 1, "alert.gid")}:${num(a.signature_id, "alert.signature_id")}:${
            num(a.rev, "alert.rev")
          }`,
          message: typeof a.signature === "string" ? a.signature : undefined,
          classification: typeof a.category === "string" ? a.category : undefined,
          priority: typeof a.severity === "number" ? a.severity : undefined,
        });
      } else {
        flows.total++;
        const f = o.flow as Record<string, unknown> | undefined;
        if (!f || typeof f !== "object") throw new Error(`flow event without a "flow" object`);
        flows.items.push({
          ...base,
          start: parseEveTime(String(f.start ?? o.timestamp), tz, "flow.start"),
          end: parseEveTime(String(f.end ?? f.start ?? o.timestamp), tz, "flow.end"),
          pktsToServer: num(f.pkts_toserver, "flow.pkts_toserver"),
          pktsToClient: num(f.pkts_toclient, "flow.pkts_toclient"),
          bytesToServer: num(f.bytes_toserver, "flow.bytes_toserver"),
          bytesToClient: num(f.bytes_toclient, "flow.bytes_toclient"),
          alerted: f.alerted === true,
          appProto: typeof o.app_proto === "string" ? o.app_proto : undefined,
        });
      }
    } catch (e) {
      fail(line, e);
    }
  }
  alerts.skipped = skipped;
  return { alerts, flows, eventTypes, skipped };
}
