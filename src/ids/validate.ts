/**
 * Field checks shared by the Snort and Suricata parsers. Alert files are
 * untrusted input: a port of 99999999 or an address of 999.1.1.1 would
 * otherwise flow into matching and labelling as if it were real. Each check
 * throws a {@link FieldError} naming the field, what was expected and what
 * was found; the parsers turn it into a skipped line (or, strict, an
 * InputError with the field as its column).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkAddress, checkPort, FieldError } from "./validate.ts";
 * assert.equal(checkPort(443, "dest_port"), 443);
 * assert.equal(checkAddress("2001:db8::1", "src_ip"), "2001:db8::1");
 * assert.throws(() => checkAddress("999.1.1.1", "src_ip"), FieldError);
 * ```
 * @module
 */
import { parseIp } from "../flows/label.ts";

/** A bad value in one field of an alert. `message` reads `field "x": expected …, found …`. */
export class FieldError extends Error {
  /** The field (JSON key or alert_fast part) that holds the bad value. */
  readonly field: string;
  /** `expected …, found …` without the field. */
  readonly detail: string;
  constructor(field: string, expected: string, found: string) {
    const detail = `expected ${expected}, found ${found}`;
    super(`field "${field}": ${detail}`);
    this.name = "FieldError";
    this.field = field;
    this.detail = detail;
  }
}

/** A value as it appeared in the input, for messages: strings quoted, long values cut. */
export function shown(v: unknown): string {
  const s = typeof v === "string"
    ? JSON.stringify(v)
    : v === undefined
    ? "nothing"
    : JSON.stringify(v) ?? String(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

/**
 * A TCP/UDP port: an integer 0–65535 (a JSON number or a string of digits).
 * Absent (`undefined`/`null`) reads as 0, as ICMP alerts carry no port.
 */
export function checkPort(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d{1,5}$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new FieldError(field, "a port 0–65535", shown(v));
  return n;
}

/** An IPv4 (dotted quad) or IPv6 address, returned as given. */
export function checkAddress(v: unknown, field: string): string {
  if (typeof v !== "string" || !v) throw new FieldError(field, "an IPv4 or IPv6 address", shown(v));
  // Suricata may append an IPv6 zone ("fe80::1%eth0"); the address is what precedes it.
  const addr = v.includes(":") ? v.replace(/%[\w.-]+$/, "") : v;
  if (!parseIp(addr)) throw new FieldError(field, "an IPv4 or IPv6 address", shown(v));
  return v;
}

/** Whether `s` is a valid IPv4 or IPv6 address. */
export function isAddress(s: string): boolean {
  return parseIp(s.includes(":") ? s.replace(/%[\w.-]+$/, "") : s) !== undefined;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Checks calendar fields (month 1–12, a day that exists in that month and
 * year, hour 0–23, minute 0–59, second 0–60 for a leap second); `Date.UTC`
 * would silently roll 02/30 over to 03/02. Throws a {@link FieldError}.
 */
export function checkCivil(
  field: string,
  raw: string,
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  se: number,
): void {
  const bad = (what: string) => new FieldError(field, what, shown(raw));
  if (mo < 1 || mo > 12) throw bad("a month 01–12");
  const dim = daysIn(y, mo);
  if (d < 1 || d > dim) throw bad(`a day 1–${dim} (month ${mo} of ${y})`);
  if (h > 23) throw bad("an hour 00–23");
  if (mi > 59) throw bad("a minute 00–59");
  if (se > 60) throw bad("a second 00–60");
}
