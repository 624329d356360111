/**
 * What happens to an alert between the threshold and the sinks:
 * suppression/allowlist rules, deduplication and per-host rate limiting.
 *
 * - A suppression rule matches on any of src/dest address (exact or CIDR),
 *   dest port, protocol and detector; rules may expire. Allowlist entries are
 *   suppression rules without expiry. An analyst's "false positive" feedback
 *   adds one (see {@link SuppressionList.add}). Identical rules (same match
 *   fields) merge into one whose expiry is the later of the two and whose
 *   `hits` counts how often it was added, and the list holds at most
 *   `maxRules` rules ({@link RuleLimitError} beyond): every rule costs each
 *   alert a check, and 2,126 repeated feedback rules once took the per-alert
 *   latency from 2.7 to 91 ms.
 * - Dedup drops an alert when one with the same (src, dest, dest port, proto,
 *   detector) was emitted within `dedupWindowS` seconds: a long flow re-scored
 *   every few seconds raises one alert, not one per rescoring.
 * - The per-host limit is a token bucket per source address (`perHostPerMinute`
 *   alerts/minute, burst of the same size), so one noisy scanner cannot drown
 *   the sinks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AlertFilter } from "./rules.ts";
 * const f = new AlertFilter({ dedupWindowS: 60, perHostPerMinute: 100 });
 * f.suppressions.add({ src: "10.0.0.0/8", reason: "lab" });
 * const v = f.check({ src_ip: "10.1.2.3", dest_ip: "1.1.1.1", dest_port: 53, proto: "UDP", detector: "x" }, 0);
 * assert.equal(v, "suppressed");
 * f.suppressions.add({ src: "10.0.0.0/8", reason: "lab again" });
 * assert.equal(f.suppressions.rules().length, 1);
 * assert.equal(f.suppressions.rules()[0].hits, 2);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import { protoNumber } from "./alert.ts";
import { readTextIfExists } from "../util/fs.ts";

/** The alert fields the rules look at. */
export interface AlertKey {
  src_ip: string;
  dest_ip: string;
  dest_port: number;
  proto: string;
  detector: string;
}

/** One suppression (or allowlist) rule. Absent fields match anything. */
export interface SuppressionRule {
  /** Source address or CIDR. */
  src?: string;
  /** Destination address or CIDR. */
  dest?: string;
  dest_port?: number;
  proto?: string;
  detector?: string;
  /** Why (shown in the API). */
  reason?: string;
  /** ISO time after which the rule no longer applies. */
  until?: string;
  /** Alert id that created it (feedback). */
  from_alert?: string;
  created?: string;
  /** How many times this rule was added (identical rules merge into one); absent means once. */
  hits?: number;
}

/** Default most rules a {@link SuppressionList} holds. */
export const DEFAULT_MAX_RULES = 1000;

/** The suppressions file could not be written ({@link SuppressionList.add}); the list is as it was. */
export class RuleSaveError extends Error {
  constructor(readonly file: string, cause: unknown) {
    super(
      `cannot save the suppression rules to ${file}: ${(cause as Error)?.message ?? cause}; nothing changed`,
      {
        cause,
      },
    );
    this.name = "RuleSaveError";
  }
}

/** Thrown by {@link SuppressionList.add} when the list is full (the API answers 409). */
export class RuleLimitError extends Error {
  /** @param limit The most rules the list holds. */
  constructor(readonly limit: number) {
    super(
      `expected at most ${limit} suppression rules, and ${limit} are active: remove some from the ` +
        `suppressions file, or let rules with an expiry (suppress_for_s) lapse`,
    );
    this.name = "RuleLimitError";
  }
}

/** The fields that decide what a rule matches: two rules with the same key are the same rule. */
function ruleKey(r: SuppressionRule): string {
  return JSON.stringify([
    r.src ?? null,
    r.dest ?? null,
    r.dest_port ?? null,
    r.proto?.toLowerCase() ?? null,
    r.detector ?? null,
  ]);
}

/** Parsed IPv4/IPv6 address as 16 bytes (IPv4 mapped into ::ffff:0:0/96). */
export function parseIp(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  if (s.includes(":")) {
    let str = s;
    const pct = str.indexOf("%");
    if (pct >= 0) str = str.slice(0, pct);
    let tail: number[] = [];
    const lastColon = str.lastIndexOf(":");
    if (str.slice(lastColon + 1).includes(".")) {
      const v4 = parseIp(str.slice(lastColon + 1));
      if (!v4) return undefined;
      tail = [v4[12] << 8 | v4[13], v4[14] << 8 | v4[15]];
      str = str.slice(0, lastColon + 1) + "0:0";
    }
    const halves = str.split("::");
    if (halves.length > 2) return undefined;
    const parse = (
      h: string,
    ) => (h === "" ? [] : h.split(":").map((x) => (/^[0-9a-fA-F]{1,4}$/.test(x) ? parseInt(x, 16) : NaN)));
    const a = parse(halves[0]);
    const b = halves.length === 2 ? parse(halves[1]) : [];
    if ([...a, ...b].some(Number.isNaN)) return undefined;
    let groups: number[];
    if (halves.length === 2) {
      if (a.length + b.length > 7) return undefined;
      groups = [...a, ...new Array(8 - a.length - b.length).fill(0), ...b];
    } else {
      if (a.length !== 8) return undefined;
      groups = a;
    }
    if (tail.length) groups.splice(6, 2, ...tail);
    groups.forEach((g, i) => {
      out[2 * i] = g >> 8;
      out[2 * i + 1] = g & 0xff;
    });
    return out;
  }
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  out[10] = 0xff;
  out[11] = 0xff;
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[12 + i] = n;
  }
  return out;
}

/** A compiled address or CIDR matcher. */
export class Cidr {
  readonly #net: Uint8Array;
  readonly #bits: number;
  constructor(readonly text: string) {
    const [addr, len] = text.split("/");
    const net = parseIp(addr);
    if (!net) throw new InputError(`expected an IP address or CIDR, found "${text}"`);
    const isV4 = !addr.includes(":");
    let bits = isV4 ? 32 : 128;
    if (len !== undefined) {
      if (!/^\d+$/.test(len) || Number(len) > bits) {
        throw new InputError(`expected a prefix length 0-${bits} in "${text}"`);
      }
      bits = Number(len);
    }
    this.#bits = isV4 ? 96 + bits : bits;
    this.#net = net;
  }
  /** True when `ip` lies inside this network. */
  contains(ip: string | Uint8Array): boolean {
    const a = typeof ip === "string" ? parseIp(ip) : ip;
    if (!a) return false;
    let bits = this.#bits;
    for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((a[i] & mask) !== (this.#net[i] & mask)) return false;
    }
    return true;
  }
}

interface CompiledRule {
  rule: SuppressionRule;
  src?: Cidr;
  dest?: Cidr;
  /** The rule's protocol as a number ("tcp", "TCP" and "6" alike). */
  proto?: number;
  untilMs: number;
}

/** Checks one rule's fields; returns `field: problem` strings. */
export function ruleProblems(r: unknown, where = "rule"): string[] {
  const out: string[] = [];
  if (typeof r !== "object" || r === null || Array.isArray(r)) return [`${where}: expected an object`];
  const o = r as Record<string, unknown>;
  const known = [
    "src",
    "dest",
    "dest_port",
    "proto",
    "detector",
    "reason",
    "until",
    "from_alert",
    "created",
    "hits",
  ];
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) out.push(`${where}.${k}: unknown field (expected one of ${known.join(", ")})`);
  }
  for (const k of ["src", "dest"]) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== "string") out.push(`${where}.${k}: expected an address or CIDR string`);
    else {
      try {
        new Cidr(o[k] as string);
      } catch (e) {
        out.push(`${where}.${k}: ${(e as Error).message}`);
      }
    }
  }
  if (
    o.dest_port !== undefined &&
    !(Number.isInteger(o.dest_port) && (o.dest_port as number) >= 0 && (o.dest_port as number) <= 65535)
  ) {
    out.push(`${where}.dest_port: expected an integer 0-65535, found ${JSON.stringify(o.dest_port)}`);
  }
  for (const k of ["proto", "detector", "reason", "from_alert", "created"]) {
    if (o[k] !== undefined && typeof o[k] !== "string") out.push(`${where}.${k}: expected a string`);
  }
  // "TCPX" had been accepted and then matched nothing, ever.
  if (typeof o.proto === "string" && !(protoNumber(o.proto) <= 255)) {
    out.push(
      `${where}.proto: expected a protocol name (TCP, UDP, ICMP, …) or number 0-255, found "${o.proto}"`,
    );
  }
  if (o.until !== undefined && (typeof o.until !== "string" || Number.isNaN(Date.parse(o.until)))) {
    out.push(`${where}.until: expected an ISO 8601 time, found ${JSON.stringify(o.until)}`);
  }
  if (o.hits !== undefined && !(Number.isSafeInteger(o.hits) && (o.hits as number) >= 1)) {
    out.push(`${where}.hits: expected an integer ≥ 1, found ${JSON.stringify(o.hits)}`);
  }
  return out;
}

/** Options for {@link SuppressionList}. */
export interface SuppressionListOptions {
  /** Most rules held; adding one more throws {@link RuleLimitError}. Default {@link DEFAULT_MAX_RULES}. */
  maxRules?: number;
}

/** Suppression/allowlist rules, optionally persisted to a JSON file. */
export class SuppressionList {
  #rules: CompiledRule[] = [];
  readonly #byKey = new Map<string, CompiledRule>();
  readonly maxRules: number;
  /** Called after {@link add} changed the list (a sharded sensor then sends the rules to its shards). */
  onChange?: () => void;
  constructor(readonly file?: string, opts: SuppressionListOptions = {}) {
    this.maxRules = opts.maxRules ?? DEFAULT_MAX_RULES;
    if (file) this.#load(file);
  }

  /** A list holding a copy of `rules` as they are (a shard's copy of its sensor's list: no file). */
  static copyOf(rules: readonly SuppressionRule[]): SuppressionList {
    const l = new SuppressionList(undefined, { maxRules: Infinity });
    for (const r of rules) l.#compile(structuredClone(r));
    return l;
  }

  /** Rules held (expired ones included until pruned). */
  get size(): number {
    return this.#rules.length;
  }

  #load(file: string): void {
    const text = readTextIfExists(file);
    if (text === undefined) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new InputError(`invalid JSON: ${(e as Error).message}`, { file });
    }
    if (!Array.isArray(parsed)) throw new InputError("expected a JSON array of suppression rules", { file });
    parsed.forEach((r, i) => {
      const p = ruleProblems(r, `[${i}]`);
      if (p.length) throw new InputError(p.join("; "), { file });
      // A file written before rules merged may repeat one rule many times: load it once.
      if (!this.#merge(r as SuppressionRule)) this.#compile(r as SuppressionRule);
    });
  }

  #compile(rule: SuppressionRule): CompiledRule {
    const c: CompiledRule = {
      rule,
      src: rule.src ? new Cidr(rule.src) : undefined,
      dest: rule.dest ? new Cidr(rule.dest) : undefined,
      untilMs: rule.until ? Date.parse(rule.until) : Infinity,
      ...(rule.proto !== undefined ? { proto: protoNumber(rule.proto) } : {}),
    };
    this.#rules.push(c);
    this.#byKey.set(ruleKey(rule), c);
    return c;
  }

  /**
   * Folds `rule` into the identical rule already held, if any: the later expiry wins (none = never
   * expires), hits add up. Returns the merged rule, or undefined when there is none to merge into.
   */
  #merge(rule: SuppressionRule): SuppressionRule | undefined {
    const c = this.#byKey.get(ruleKey(rule));
    if (!c) return undefined;
    const untilMs = rule.until ? Date.parse(rule.until) : Infinity;
    if (untilMs > c.untilMs) {
      c.untilMs = untilMs;
      if (untilMs === Infinity) delete c.rule.until;
      else c.rule.until = rule.until;
    }
    c.rule.hits = (c.rule.hits ?? 1) + (rule.hits ?? 1);
    return c.rule;
  }

  /** Forgets rules whose expiry has passed. */
  #prune(nowMs: number): void {
    const keep = this.#rules.filter((r) => r.untilMs >= nowMs);
    if (keep.length === this.#rules.length) return;
    this.#rules = keep;
    this.#byKey.clear();
    for (const r of keep) this.#byKey.set(ruleKey(r.rule), r);
  }

  /**
   * Adds a rule (validated) and persists the list when backed by a file. An identical rule (same
   * src, dest, dest_port, proto, detector) is not added again: the one held takes the later expiry
   * and counts the hit. Returns the rule as held.
   *
   * @throws {InputError} when the rule is invalid.
   * @throws {RuleLimitError} when it is new and the list already holds `maxRules` unexpired rules.
   * @throws {RuleSaveError} when the backing file cannot be written.
   * Either way nothing has changed.
   */
  add(rule: SuppressionRule, nowMs = Date.now()): SuppressionRule {
    const p = ruleProblems(rule);
    if (p.length) throw new InputError(p.join("; "));
    // Undone when the file cannot be written: the rule had taken effect while the request failed (500).
    const before = this.rules().map((r) => ({ ...r }));
    let held = this.#merge(rule);
    if (!held) {
      if (this.#rules.length >= this.maxRules) this.#prune(nowMs);
      if (this.#rules.length >= this.maxRules) throw new RuleLimitError(this.maxRules);
      held = this.#compile({ ...rule, created: rule.created ?? new Date(nowMs).toISOString() }).rule;
    }
    try {
      this.save();
    } catch (e) {
      this.#rules = [];
      this.#byKey.clear();
      for (const r of before) this.#compile(r);
      throw new RuleSaveError(this.file!, e);
    }
    this.onChange?.();
    return held;
  }

  /** Writes the rules to the backing file (atomic rename). */
  save(): void {
    if (!this.file) return;
    const tmp = this.file + ".tmp";
    Deno.writeTextFileSync(tmp, JSON.stringify(this.rules(), null, 2) + "\n");
    Deno.renameSync(tmp, this.file);
  }

  /** Current rules (expired ones included until pruned). */
  rules(): SuppressionRule[] {
    return this.#rules.map((r) => r.rule);
  }

  /** The first rule matching `a` at wall time `nowMs`, if any. */
  match(a: AlertKey, nowMs = Date.now()): SuppressionRule | undefined {
    let ipS: Uint8Array | undefined, ipD: Uint8Array | undefined;
    for (const r of this.#rules) {
      if (r.untilMs < nowMs) continue;
      const q = r.rule;
      if (q.dest_port !== undefined && q.dest_port !== a.dest_port) continue;
      if (r.proto !== undefined && r.proto !== protoNumber(a.proto)) continue;
      if (q.detector !== undefined && q.detector !== a.detector) continue;
      if (r.src && !r.src.contains(ipS ??= parseIp(a.src_ip) ?? new Uint8Array(16).fill(0xff))) continue;
      if (r.dest && !r.dest.contains(ipD ??= parseIp(a.dest_ip) ?? new Uint8Array(16).fill(0xff))) continue;
      return q;
    }
    return undefined;
  }
}

/** Options for {@link AlertFilter}. */
export interface AlertFilterOptions {
  /** Seconds during which a repeat of the same alert key is dropped (0 = off). Default 60. */
  dedupWindowS?: number;
  /** Alerts per minute per source host (0 = unlimited). Default 60. */
  perHostPerMinute?: number;
  /** Suppression rules (shared with the API). */
  suppressions?: SuppressionList;
  /** Cap on remembered keys/hosts (oldest forgotten first). Default 100k. */
  maxKeys?: number;
}

/** Verdict of {@link AlertFilter.check}. */
export type FilterVerdict = "pass" | "suppressed" | "duplicate" | "rate_limited";

/** The dedup key of an alert: the same alert again within the window is a duplicate. */
export function alertKeyString(a: AlertKey): string {
  return `${a.src_ip}|${a.dest_ip}|${a.dest_port}|${a.proto}|${a.detector}`;
}

/**
 * What {@link AlertFilter.hint} says will not pass for a while: alerts with this key after `keyFrom` and
 * before `keyUntil` (`keyVerdict` is why), alerts from this source host before `hostUntil`. The
 * times are on the sensor's packet clock (ms), as the rules' dedup window and rate limit run; a
 * suppression's hint alone is on the wall clock (epoch ms), as the analysts' rules are.
 */
export interface FilterHint {
  key: string;
  keyVerdict?: FilterVerdict;
  keyFrom?: number;
  keyUntil?: number;
  host: string;
  hostUntil?: number;
}

/** Most hints a {@link HintBook} holds. */
const HINTS_MAX = 100_000;

/**
 * The {@link FilterHint}s a shard of a sharded sensor holds: which alerts the main monitor's rules would
 * drop now, checked in the rules' order (suppression and dedup by key, then the host's rate).
 */
export class HintBook {
  /**
   * The sensor's suppression rules, checked first as the rules check them: without them an alert a rule
   * suppresses, from a host over its rate, was dropped here as rate-limited (the counts differed from one
   * monitor's). A copy, sent when the sensor's list changes; rules are only added or expire.
   */
  suppressions?: SuppressionList;
  readonly #keys = new Map<string, { verdict: FilterVerdict; from: number; until: number }>();
  readonly #hosts = new Map<string, number>();

  #prunedAt = 0;
  /** The latest packet clock a verdict was asked at (what expires the packet-clock hints). */
  #clockMs = -Infinity;

  add(h: FilterHint): void {
    if (h.keyUntil !== undefined && h.keyVerdict) {
      this.#keys.delete(h.key); // re-inserted last: the maps stay in order of arrival
      this.#keys.set(h.key, { verdict: h.keyVerdict, from: h.keyFrom ?? -Infinity, until: h.keyUntil });
    }
    if (h.hostUntil !== undefined) (this.#hosts.delete(h.host), this.#hosts.set(h.host, h.hostUntil));
    // Expired hints go when the books grow (at most once a second); past the cap the oldest go too — a
    // hint forgotten only costs building an alert the rules then drop.
    if (this.#keys.size + this.#hosts.size > HINTS_MAX) {
      const now = Date.now();
      if (now - this.#prunedAt >= 1000) (this.#prunedAt = now, this.#prune(this.#clockMs, now));
      for (const m of [this.#keys, this.#hosts] as Map<string, unknown>[]) {
        for (const k of m.keys()) {
          if (m.size <= HINTS_MAX / 2) break;
          m.delete(k);
        }
      }
    }
  }

  /**
   * The verdict the rules would give `a` at packet clock `nowMs` (wall clock `wallMs`) as far as the hints
   * tell; undefined = ask them.
   */
  verdict(a: AlertKey, nowMs = Date.now(), wallMs = nowMs): FilterVerdict | undefined {
    if (nowMs > this.#clockMs) this.#clockMs = nowMs;
    if (this.suppressions?.size && this.suppressions.match(a, wallMs)) return "suppressed";
    const k = this.#keys.get(alertKeyString(a));
    if (k && (k.verdict === "suppressed" ? wallMs < k.until : k.from < nowMs && nowMs < k.until)) {
      return k.verdict;
    }
    const h = this.#hosts.get(a.src_ip);
    if (h !== undefined && nowMs < h) return "rate_limited";
    return undefined;
  }

  #prune(nowMs: number, wallMs: number): void {
    for (const [k, v] of this.#keys) {
      if (v.until <= (v.verdict === "suppressed" ? wallMs : nowMs)) this.#keys.delete(k);
    }
    for (const [k, v] of this.#hosts) if (v <= nowMs) this.#hosts.delete(k);
  }
}

/** Suppression + dedup + per-host rate limit, in that order. */
export class AlertFilter {
  readonly suppressions: SuppressionList;
  readonly #dedupMs: number;
  readonly #perMin: number;
  readonly #maxKeys: number;
  readonly #lastSeen = new Map<string, number>();
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(opts: AlertFilterOptions = {}) {
    this.suppressions = opts.suppressions ?? new SuppressionList();
    this.#dedupMs = (opts.dedupWindowS ?? 60) * 1000;
    this.#perMin = opts.perHostPerMinute ?? 60;
    this.#maxKeys = opts.maxKeys ?? 100_000;
  }

  /**
   * Decides about one alert at `nowMs` on the sensor's packet clock (the newest packet's time when the
   * alert was triggered; for a live sensor about the wall clock), with suppression rules' expiry read on
   * the wall clock `wallMs`; a "pass" updates dedup and rate state. The dedup window and the rate limit
   * run on packet time, as Suricata's thresholds do: a capture replayed at any speed gets the alerts it
   * would get live (on the wall clock a 60 s window spanned all of a fast replay). An alert older than one
   * judged before it (possible only across a sharded sensor's threads) is a duplicate within the window
   * either side, and gives its host no tokens back.
   */
  check(a: AlertKey, nowMs = Date.now(), wallMs = nowMs): FilterVerdict {
    if (this.suppressions.match(a, wallMs)) return "suppressed";
    const key = alertKeyString(a);
    let last: number | undefined;
    if (this.#dedupMs > 0) {
      last = this.#lastSeen.get(key);
      if (last !== undefined && Math.abs(nowMs - last) < this.#dedupMs) return "duplicate";
    }
    if (this.#perMin > 0) {
      let b = this.#buckets.get(a.src_ip);
      if (!b) {
        b = { tokens: this.#perMin, atMs: nowMs };
        this.#remember(this.#buckets, a.src_ip, b);
      }
      if (nowMs > b.atMs) {
        b.tokens = Math.min(this.#perMin, b.tokens + ((nowMs - b.atMs) / 60_000) * this.#perMin);
        b.atMs = nowMs;
      }
      if (b.tokens < 1) return "rate_limited";
      b.tokens -= 1;
    }
    if (this.#dedupMs > 0) {
      this.#remember(this.#lastSeen, key, last === undefined ? nowMs : Math.max(last, nowMs));
    }
    return "pass";
  }

  /**
   * After {@link AlertFilter.check} said `verdict` for `a` (at wall clock `wallMs`):
   * which alerts with the same key, or from the same source host, cannot pass — what the state says now,
   * exact for the dedup window (either side of the latest pass) and the rate limit (tokens only come back
   * with time); a suppression rule holds for a second of wall time (rules change while the sensor runs).
   * A sharded sensor's shards drop such alerts without asking.
   */
  hint(a: AlertKey, verdict: FilterVerdict, wallMs = Date.now()): FilterHint | undefined {
    const h: FilterHint = { key: alertKeyString(a), host: a.src_ip };
    if (verdict === "suppressed") (h.keyVerdict = "suppressed", h.keyUntil = wallMs + 1000);
    else if (verdict !== "pass") return undefined;
    else {
      const last = this.#dedupMs > 0 ? this.#lastSeen.get(h.key) : undefined;
      if (last !== undefined) {
        h.keyVerdict = "duplicate";
        h.keyFrom = last - this.#dedupMs;
        h.keyUntil = last + this.#dedupMs;
      }
      const b = this.#perMin > 0 ? this.#buckets.get(a.src_ip) : undefined;
      if (b && b.tokens < 1) h.hostUntil = b.atMs + ((1 - b.tokens) / this.#perMin) * 60_000;
    }
    return h.keyUntil === undefined && h.hostUntil === undefined ? undefined : h;
  }

  #remember<V>(m: Map<string, V>, k: string, v: V): void {
    m.delete(k);
    m.set(k, v);
    if (m.size > this.#maxKeys) m.delete(m.keys().next().value as string);
  }
}
