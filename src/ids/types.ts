/**
 * Signature-IDS records in one engine-neutral shape, so the matcher and the
 * flow labeller never care whether an alert came from Snort or Suricata.
 *
 * @module
 */

/** One IDS alert. Times are UTC milliseconds since the epoch (with a fractional part for µs). */
export interface Alert {
  engine: "snort" | "suricata";
  /** Alert time, UTC ms since epoch. */
  ts: number;
  /** Upper-case protocol name: TCP, UDP, ICMP, IPV6-ICMP, ... */
  proto: string;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** Rule id as `gid:sid:rev`. */
  rule: string;
  /** Rule message when the output carries it. */
  message?: string;
  /** Classification / category when present. */
  classification?: string;
  priority?: number;
  /** 1-based line (JSON lines, alert_fast) or 1-based element index (JSON array) in the input. */
  line: number;
}

/** A Suricata `flow` event. */
export interface IdsFlow {
  ts: number;
  start: number;
  end: number;
  proto: string;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  pktsToServer: number;
  pktsToClient: number;
  bytesToServer: number;
  bytesToClient: number;
  alerted: boolean;
  appProto?: string;
  line: number;
}

/** A line (or element) that was skipped, and why. */
export interface Skipped {
  line: number;
  /** The field holding the bad value, when one field was at fault (`src_ap`, `dest_port`, `timestamp`). */
  field?: string;
  /** What was wrong: `field "src_port": expected a port 0–65535, found 99999999`, `not valid JSON (...)`. */
  reason: string;
}

/** Result of a tolerant parse: what was read plus every skipped line with its reason. */
export interface ParseResult<T> {
  items: T[];
  skipped: Skipped[];
  /** Lines/elements looked at (blank lines excluded). */
  total: number;
}

/** Options shared by the parsers. */
export interface ParseOptions {
  /** File name used in error messages. */
  file?: string;
  /** Throw an InputError on the first malformed line instead of counting it as skipped. */
  strict?: boolean;
}
