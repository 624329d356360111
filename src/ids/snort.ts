/**
 * Snort 3 `alert_json` and Snort 2/3 `alert_fast` parsers.
 *
 * Snort writes timestamps as `MM/DD-hh:mm:ss.uuuuuu` (or `MM/DD/YY-...` with
 * `-y`) in the *local time of the machine that ran it*, without a year or zone:
 * pass `year` and `tzOffsetMinutes` (local − UTC; e.g. −180 for UTC−3) to place
 * alerts on the UTC time line. Addresses come as `ip:port` (`src_ap`/`dst_ap`),
 * split at the last colon so IPv6 addresses survive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSnortJson } from "./snort.ts";
 * const r = parseSnortJson('{ "timestamp" : "07/07-19:40:44.228212", "proto" : "TCP", "src_ap" : "1.2.3.4:80", "dst_ap" : "5.6.7.8:1234", "rule" : "1:399:9" }', { year: 2017 });
 * assert.ok(r.items[0].srcPort === 80 && r.skipped.length === 0);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import type { Alert, ParseOptions, ParseResult } from "./types.ts";

/** Options for Snort output (which lacks a year and a zone). */
export interface SnortOptions extends ParseOptions {
  /** Year of the capture (Snort omits it unless run with -y). Default: the current UTC year. */
  year?: number;
  /** Offset of Snort's local time from UTC in minutes (local − UTC). Default 0. */
  tzOffsetMinutes?: number;
}

const TS = /^(\d{2})\/(\d{2})(?:\/(\d{2}))?-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Parses a Snort timestamp to UTC ms. Throws a plain Error naming what it found. */
export function parseSnortTime(s: string, year: number, tzOffsetMinutes = 0): number {
  const m = TS.exec(s.trim());
  if (!m) throw new Error(`expected a Snort timestamp MM/DD-hh:mm:ss.us, found "${s}"`);
  const y = m[3] !== undefined ? 2000 + Number(m[3]) : year;
  const [mo, d, h, mi, se] = [m[1], m[2], m[4], m[5], m[6]].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    throw new Error(`timestamp "${s}" is out of range`);
  }
  const frac = m[7] ? Number(m[7].padEnd(6, "0")) / 1000 : 0;
  return Date.UTC(y, mo - 1, d, h, mi, se) + frac - tzOffsetMinutes * 60_000;
}

/** Splits `ip:port` (port optional; IPv6 split at the last colon when the tail is numeric). */
export function splitAddrPort(ap: string): { addr: string; port: number } {
  const s = ap.trim();
  if (s.startsWith("[")) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
    if (!m) throw new Error(`expected [ipv6]:port, found "${ap}"`);
    return { addr: m[1], port: m[2] ? Number(m[2]) : 0 };
  }
  const i = s.lastIndexOf(":");
  const colons = s.split(":").length - 1;
  if (i < 0 || (colons > 1 && !/^\d{1,5}$/.test(s.slice(i + 1)))) return { addr: s, port: 0 };
  const port = s.slice(i + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new Error(`expected ip:port, found "${ap}"`);
  if (i === 0) throw new Error(`expected ip:port, found "${ap}"`);
  return { addr: s.slice(0, i), port: Number(port) };
}

function fail(opts: ParseOptions, line: number, reason: string, result: ParseResult<unknown>): void {
  if (opts.strict) throw new InputError(reason, { file: opts.file, line });
  result.skipped.push({ line, reason });
}

function lines(text: string): string[] {
  return text.split(/\r?\n/);
}

/**
 * What both Snort formats share: one alert per non-blank line, each counted in
 * `total`; a line `parse` throws on is skipped with the error's message (or,
 * when strict, fails the whole parse naming the file and line).
 */
function parseAlertLines(
  text: string,
  options: SnortOptions,
  parse: (raw: string, line: number, year: number, tz: number) => Alert,
): ParseResult<Alert> {
  const year = options.year ?? new Date().getUTCFullYear();
  const tz = options.tzOffsetMinutes ?? 0;
  const out: ParseResult<Alert> = { items: [], skipped: [], total: 0 };
  const ls = lines(text);
  for (let k = 0; k < ls.length; k++) {
    const raw = ls[k].trim();
    if (!raw) continue;
    out.total++;
    const line = k + 1;
    let alert: Alert;
    try {
      alert = parse(raw, line, year, tz);
    } catch (e) {
      fail(options, line, (e as Error).message, out);
      continue;
    }
    out.items.push(alert);
  }
  return out;
}

/** Parses Snort 3 `alert_json` (one JSON object per line). */
export function parseSnortJson(text: string, options: SnortOptions = {}): ParseResult<Alert> {
  return parseAlertLines(text, options, (raw, line, year, tz) => {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(raw);
    } catch (e) {
      throw new Error(`not valid JSON (${(e as Error).message})`);
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) throw new Error("expected a JSON object");
    if (typeof o.timestamp !== "string") throw new Error(`field "timestamp" missing`);
    const src = typeof o.src_ap === "string"
      ? splitAddrPort(o.src_ap)
      : { addr: String(o.src_addr ?? ""), port: Number(o.src_port ?? 0) };
    const dst = typeof o.dst_ap === "string"
      ? splitAddrPort(o.dst_ap)
      : { addr: String(o.dst_addr ?? ""), port: Number(o.dst_port ?? 0) };
    if (!src.addr || !dst.addr) throw new Error(`fields "src_ap"/"dst_ap" (or src_addr/dst_addr) missing`);
    const rule = typeof o.rule === "string"
      ? o.rule
      : o.sid !== undefined
      ? `${o.gid ?? 1}:${o.sid}:${o.rev ?? 0}`
      : undefined;
    if (!rule) throw new Error(`field "rule" missing`);
    return {
      engine: "snort",
      ts: parseSnortTime(o.timestamp, year, tz),
      proto: String(o.proto ?? "").toUpperCase(),
      src: src.addr,
      srcPort: src.port,
      dst: dst.addr,
      dstPort: dst.port,
      rule,
      message: typeof o.msg === "string" ? o.msg : undefined,
      classification: typeof o.class === "string" ? o.class : undefined,
      priority: typeof o.priority === "number" ? o.priority : undefined,
      line,
    };
  });
}

// 07/07-19:40:44.228212 [**] [1:399:9] "msg" [**] [Classification: x] [Priority: 3] {ICMP} 1.2.3.4 -> 5.6.7.8
// Snort 2 leaves the message unquoted and puts two spaces after the timestamp.
const FAST =
  /^(\S+)\s+\[\*\*\]\s+\[(\d+:\d+:\d+)\]\s+(.*?)\s+\[\*\*\](?:\s+\[Classification:\s*([^\]]*)\])?(?:\s+\[Priority:\s*(\d+)\])?(?:\s+\[[^\]]*\])*\s+\{([^}]+)\}\s+(\S+)\s+->\s+(\S+)\s*$/;

/** Parses Snort 2 or Snort 3 `alert_fast` text. */
export function parseSnortFast(text: string, options: SnortOptions = {}): ParseResult<Alert> {
  return parseAlertLines(text, options, (raw, line, year, tz) => {
    const m = FAST.exec(raw);
    if (!m) {
      throw new Error(
        `expected an alert_fast line "MM/DD-hh:mm:ss.us [**] [gid:sid:rev] msg [**] ... {PROTO} src -> dst", found "${
          raw.slice(0, 80)
        }"`,
      );
    }
    const src = splitAddrPort(m[7]);
    const dst = splitAddrPort(m[8]);
    let msg = m[3].trim();
    if (msg.startsWith('"') && msg.endsWith('"') && msg.length >= 2) msg = msg.slice(1, -1);
    return {
      engine: "snort",
      ts: parseSnortTime(m[1], year, tz),
      proto: m[6].trim().toUpperCase(),
      src: src.addr,
      srcPort: src.port,
      dst: dst.addr,
      dstPort: dst.port,
      rule: m[2],
      message: msg,
      classification: m[4]?.trim(),
      priority: m[5] !== undefined ? Number(m[5]) : undefined,
      line,
    };
  });
}
