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
import type { Alert, ParseOptions, ParseResult } from "./types.ts";
import { checkAddress, checkCivil, checkPort, FieldError, isAddress, shown } from "./validate.ts";
import { skipLine } from "./skip.ts";

/** Options for Snort output (which lacks a year and a zone). */
export interface SnortOptions extends ParseOptions {
  /** Year of the capture (Snort omits it unless run with -y). Default: the current UTC year. */
  year?: number;
  /** Offset of Snort's local time from UTC in minutes (local − UTC). Default 0. */
  tzOffsetMinutes?: number;
}

const TS = /^(\d{2})\/(\d{2})(?:\/(\d{2}))?-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/**
 * Parses a Snort timestamp to UTC ms. Throws a {@link FieldError} (named
 * `field`) saying what it expected and found: a bad layout, or a date that
 * does not exist (month 13, 02/30, 24:00).
 */
export function parseSnortTime(s: string, year: number, tzOffsetMinutes = 0, field = "timestamp"): number {
  const m = TS.exec(s.trim());
  if (!m) throw new FieldError(field, "a Snort timestamp MM/DD-hh:mm:ss.us", shown(s));
  const y = m[3] !== undefined ? 2000 + Number(m[3]) : year;
  const [mo, d, h, mi, se] = [m[1], m[2], m[4], m[5], m[6]].map(Number);
  checkCivil(field, s, y, mo, d, h, mi, se);
  const frac = m[7] ? Number(m[7].padEnd(6, "0")) / 1000 : 0;
  return Date.UTC(y, mo - 1, d, h, mi, se) + frac - tzOffsetMinutes * 60_000;
}

/**
 * Splits and checks `ip:port` (port optional, 0–65535). IPv4 and IPv6
 * addresses are validated; a bare IPv6 address is split at the last colon
 * when what precedes it is itself an address (Snort writes `fe80::1:443`),
 * `[v6]:port` is accepted too. Throws a {@link FieldError} named `field`.
 */
export function splitAddrPort(ap: string, field = "address"): { addr: string; port: number } {
  const s = ap.trim();
  const withPort = "ip:port with a port 0–65535";
  const port = (p: string | undefined) => {
    if (p === undefined) return 0;
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new FieldError(field, withPort, shown(ap));
    return Number(p);
  };
  if (s.startsWith("[")) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
    if (!m) throw new FieldError(field, "[ipv6]:port", shown(ap));
    return { addr: checkAddress(m[1], field), port: port(m[2]) };
  }
  const colons = s.split(":").length - 1;
  if (colons <= 1) {
    const i = s.indexOf(":");
    const addr = i < 0 ? s : s.slice(0, i);
    return { addr: checkAddress(addr, field), port: port(i < 0 ? undefined : s.slice(i + 1)) };
  }
  const i = s.lastIndexOf(":");
  const head = s.slice(0, i), tail = s.slice(i + 1);
  if (/^\d{1,5}$/.test(tail) && isAddress(head)) return { addr: head, port: port(tail) };
  return { addr: checkAddress(s, field), port: 0 };
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
      skipLine(options, out.skipped, line, e);
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
    const end = (side: "src" | "dst") => {
      const ap = o[`${side}_ap`];
      if (typeof ap === "string") return splitAddrPort(ap, `${side}_ap`);
      if (o[`${side}_addr`] === undefined) {
        throw new Error(`fields "src_ap"/"dst_ap" (or src_addr/dst_addr) missing`);
      }
      return {
        addr: checkAddress(o[`${side}_addr`], `${side}_addr`),
        port: checkPort(o[`${side}_port`], `${side}_port`),
      };
    };
    const src = end("src"), dst = end("dst");
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
    const src = splitAddrPort(m[7], "src");
    const dst = splitAddrPort(m[8], "dst");
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
