/**
 * Rule-based labelling of flows, the way CIC-IDS2017 was labelled: an attack
 * is described by its attacker and victim addresses (or CIDRs), optional
 * victim ports, protocol and time windows; a flow matches in either
 * direction. Rules are tried in order, the first match wins; unmatched flows
 * get the default label (benign unless configured).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileRules, labelFlow } from "./label.ts";
 * const rules = compileRules({ rules: [{ name: "ftp", attack: "FTP-Patator", category: "Brute Force",
 *   attacker: ["192.168.56.1"], victim: ["192.168.56.0/24"], ports: [21], protocol: "tcp" }] }, "inline");
 * const r = labelFlow(rules, { srcIp: "192.168.56.101", srcPort: 21, dstIp: "192.168.56.1", dstPort: 5000, protocol: 6, startUs: 0, endUs: 1 });
 * assert.ok(r.attack === "FTP-Patator" && r.label === "attack");
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";

/** One rule as written in the rules file. */
export interface LabelRuleSpec {
  /** Rule name (for the hit summary); defaults to the attack name. */
  name?: string;
  /** Attack name (CIC-IDS2017 style, e.g. "FTP-Patator"). */
  attack: string;
  /** Attack category (e.g. "Brute Force", "DoS", "PortScan"). */
  category?: string;
  /** Label written for matching flows (default "attack"). */
  label?: string;
  /** Attacker addresses or CIDRs (any of them). Omit for "any". */
  attacker?: string[];
  /** Victim addresses or CIDRs. Omit for "any". */
  victim?: string[];
  /** Ports on the victim side (any of them). Omit for any port. */
  ports?: number[];
  /** "tcp", "udp", "icmp" or an IP protocol number. */
  protocol?: string | number;
  /** Time windows (ISO 8601 with offset, or naive with the file's `utc_offset`); the flow must overlap one. */
  windows?: { start: string; end: string }[];
}

/** The rules file. */
export interface LabelRulesFile {
  /** Label for flows no rule matches: "benign" (default) or "unknown". */
  default?: "benign" | "unknown";
  /** Offset applied to times without one, e.g. "-03:00" (CIC-IDS2017 was captured in New Brunswick, ADT). */
  utc_offset?: string;
  rules: LabelRuleSpec[];
}

/**
 * The columns of a nadir flow table (`basic`, `packets`, `context`) that hold {@link FlowKeyFields}, in
 * its order (the times in ms).
 */
export const FLOW_KEY_COLUMNS = [
  "src_ip",
  "src_port",
  "dst_ip",
  "dst_port",
  "protocol",
  "bidirectional_first_seen_ms",
  "bidirectional_last_seen_ms",
] as const;

/** The flow fields a rule looks at. Times in µs since the epoch. */
export interface FlowKeyFields {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  protocol: number;
  startUs: number;
  endUs: number;
}

/** Labelling result for one flow. */
export interface FlowLabel {
  label: string;
  attack: string;
  category: string;
  /** Index of the matching rule, -1 when none. */
  rule: number;
}

interface Net {
  v: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

interface CompiledRule {
  name: string;
  label: string;
  attack: string;
  category: string;
  attacker: Net[] | null;
  victim: Net[] | null;
  ports: Set<number> | null;
  protocol: number | null;
  windows: [number, number][] | null;
}

/** Compiled rules. */
export interface LabelRules {
  defaultLabel: string;
  rules: CompiledRule[];
  names: string[];
}

/** Parses an IPv4/IPv6 address into bytes, or undefined. */
export function parseIp(s: string): { v: 4 | 6; bytes: Uint8Array } | undefined {
  if (s.includes(":")) {
    let str = s;
    let tail: number[] = [];
    const lastColon = str.lastIndexOf(":");
    if (str.slice(lastColon + 1).includes(".")) {
      const v4 = parseIp(str.slice(lastColon + 1));
      if (!v4 || v4.v !== 4) return undefined;
      tail = [(v4.bytes[0] << 8) | v4.bytes[1], (v4.bytes[2] << 8) | v4.bytes[3]];
      str = str.slice(0, lastColon) + ":0:0";
    }
    const halves = str.split("::");
    if (halves.length > 2) return undefined;
    const part = (
      h: string,
    ) => (h === "" ? [] : h.split(":").map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
    const a = part(halves[0]), b = halves.length === 2 ? part(halves[1]) : [];
    const fill = 8 - a.length - b.length;
    if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
    const groups = [...a, ...new Array(halves.length === 2 ? fill : 0).fill(0), ...b];
    if (tail.length) groups.splice(6, 2, ...tail);
    if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined;
    const bytes = new Uint8Array(16);
    groups.forEach((g, i) => (bytes[2 * i] = g >> 8, bytes[2 * i + 1] = g & 255));
    return { v: 6, bytes };
  }
  const p = s.split(".");
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return undefined;
  return { v: 4, bytes: Uint8Array.from(p.map(Number)) };
}

function parseNet(s: string, where: string): Net {
  const [addr, pre] = s.split("/");
  const ip = parseIp(addr.trim());
  if (!ip) throw new InputError(`expected an IP address or CIDR, found "${s}"`, { file: where });
  const max = ip.v === 4 ? 32 : 128;
  const prefix = pre === undefined ? max : Number(pre);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new InputError(`CIDR prefix must be 0..${max}, found "${s}"`, { file: where });
  }
  return { ...ip, prefix };
}

function inNet(ip: { v: 4 | 6; bytes: Uint8Array } | undefined, nets: Net[]): boolean {
  if (!ip) return false;
  for (const n of nets) {
    if (n.v !== ip.v) continue;
    let bits = n.prefix, i = 0, ok = true;
    while (bits >= 8) {
      if (ip.bytes[i] !== n.bytes[i]) {
        ok = false;
        break;
      }
      bits -= 8;
      i++;
    }
    if (ok && bits > 0) {
      const mask = (0xff << (8 - bits)) & 0xff;
      ok = (ip.bytes[i] & mask) === (n.bytes[i] & mask);
    }
    if (ok) return true;
  }
  return false;
}

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

/** Protocol name or number → number. */
export function protocolNumber(p: string | number): number | undefined {
  if (typeof p === "number") return Number.isInteger(p) && p >= 0 && p <= 255 ? p : undefined;
  const s = p.trim().toLowerCase();
  if (s in PROTOCOLS) return PROTOCOLS[s];
  const n = Number(s);
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : undefined;
}

function parseTime(s: string, offset: string | undefined, where: string): number {
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(s.trim());
  if (!hasZone && !offset) {
    throw new InputError(`time "${s}" has no UTC offset; add one (e.g. "Z", "-03:00") or set "utc_offset"`, {
      file: where,
    });
  }
  const ms = Date.parse(hasZone ? s.trim() : s.trim().replace(" ", "T") + offset);
  if (Number.isNaN(ms)) throw new InputError(`expected an ISO 8601 time, found "${s}"`, { file: where });
  return ms * 1000;
}

const FILE_KEYS = ["default", "utc_offset", "rules"];
const RULE_KEYS = [
  "name",
  "attack",
  "category",
  "label",
  "attacker",
  "victim",
  "ports",
  "protocol",
  "windows",
];

/** A key the format does not have (a misspelt "victims" left a rule without its victim constraint). */
function unknownKey(o: object, known: readonly string[], what: string, where: string): void {
  const bad = Object.keys(o).find((k) => !known.includes(k));
  if (bad !== undefined) {
    throw new InputError(`${what} has an unknown key "${bad}"; expected ${known.join(", ")}`, {
      file: where,
    });
  }
}

/** `v`, which must be a list of strings (addresses, CIDRs) when present. */
function stringList(v: unknown, key: string, where: string): string[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new InputError(
      `"${key}" must be a list of addresses or CIDRs (strings), found ${JSON.stringify(v)}`,
      {
        file: where,
      },
    );
  }
  return v;
}

/** Validates and compiles a rules object (`where` names it in errors). */
export function compileRules(spec: LabelRulesFile, where: string): LabelRules {
  if (!spec || typeof spec !== "object" || Array.isArray(spec) || !Array.isArray(spec.rules)) {
    throw new InputError(`expected an object with a "rules" array`, { file: where });
  }
  unknownKey(spec, FILE_KEYS, "the rules file", where);
  if (
    spec.utc_offset !== undefined &&
    (typeof spec.utc_offset !== "string" || !/^[+-]\d{2}:?\d{2}$|^Z$/i.test(spec.utc_offset))
  ) {
    throw new InputError(
      `"utc_offset" must be like "-03:00" or "Z", found ${JSON.stringify(spec.utc_offset)}`,
      {
        file: where,
      },
    );
  }
  const def = spec.default ?? "benign";
  if (def !== "benign" && def !== "unknown") {
    throw new InputError(`"default" must be "benign" or "unknown", found "${def}"`, { file: where });
  }
  const rules = spec.rules.map((r, i): CompiledRule => {
    const at = `${where} (rule ${i + 1})`;
    if (!r || typeof r !== "object" || Array.isArray(r)) {
      throw new InputError(`expected a rule object, found ${JSON.stringify(r)}`, { file: at });
    }
    unknownKey(r, RULE_KEYS, "the rule", at);
    if (typeof r.attack !== "string" || !r.attack) {
      throw new InputError(`each rule needs an "attack" name`, { file: at });
    }
    for (const k of ["name", "category", "label"] as const) {
      if (r[k] !== undefined && typeof r[k] !== "string") {
        throw new InputError(`"${k}" must be a string, found ${JSON.stringify(r[k])}`, { file: at });
      }
    }
    const attacker = stringList(r.attacker, "attacker", at), victim = stringList(r.victim, "victim", at);
    let protocol: number | null = null;
    if (r.protocol !== undefined) {
      const p = typeof r.protocol === "string" || typeof r.protocol === "number"
        ? protocolNumber(r.protocol)
        : undefined;
      if (p === undefined) {
        throw new InputError(`unknown protocol "${r.protocol}" (tcp, udp, icmp or a number)`, { file: at });
      }
      protocol = p;
    }
    if (
      r.ports && (!Array.isArray(r.ports) || r.ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535))
    ) {
      throw new InputError(`"ports" must be a list of integers 0..65535`, { file: at });
    }
    if (
      r.windows !== undefined &&
      (!Array.isArray(r.windows) ||
        r.windows.some((w) =>
          !w || typeof w !== "object" || typeof w.start !== "string" || typeof w.end !== "string"
        ))
    ) {
      throw new InputError(
        `"windows" must be a list of {"start": time, "end": time}, found ${JSON.stringify(r.windows)}`,
        { file: at },
      );
    }
    const windows = r.windows?.map((w) => {
      const s = parseTime(w.start, spec.utc_offset, at), e = parseTime(w.end, spec.utc_offset, at);
      if (e < s) throw new InputError(`window ends (${w.end}) before it starts (${w.start})`, { file: at });
      return [s, e] as [number, number];
    }) ?? null;
    return {
      name: r.name ?? r.attack,
      label: r.label ?? "attack",
      attack: r.attack,
      category: r.category ?? "",
      attacker: attacker && attacker.map((a) => parseNet(a, at)),
      victim: victim && victim.map((a) => parseNet(a, at)),
      ports: r.ports ? new Set(r.ports) : null,
      protocol,
      windows,
    };
  });
  return { defaultLabel: def, rules, names: rules.map((r) => r.name) };
}

/** Reads and compiles a rules file. */
export async function loadRules(path: string): Promise<LabelRules> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new InputError("no such file", { file: path });
    throw e;
  }
  let spec: LabelRulesFile;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new InputError(`not valid JSON: ${(e as Error).message}`, { file: path });
  }
  return compileRules(spec, path);
}

function sideMatches(
  r: CompiledRule,
  att: ReturnType<typeof parseIp>,
  vic: ReturnType<typeof parseIp>,
  vicPort: number,
): boolean {
  if (r.attacker && !inNet(att, r.attacker)) return false;
  if (r.victim && !inNet(vic, r.victim)) return false;
  if (r.ports && !r.ports.has(vicPort)) return false;
  return true;
}

/** Labels one flow (first matching rule wins). */
export function labelFlow(rules: LabelRules, f: FlowKeyFields): FlowLabel {
  const src = parseIp(f.srcIp), dst = parseIp(f.dstIp);
  for (let i = 0; i < rules.rules.length; i++) {
    const r = rules.rules[i];
    if (r.protocol !== null && r.protocol !== f.protocol) continue;
    if (r.windows && !r.windows.some(([s, e]) => f.endUs >= s && f.startUs <= e)) continue;
    if (sideMatches(r, src, dst, f.dstPort) || sideMatches(r, dst, src, f.srcPort)) {
      return { label: r.label, attack: r.attack, category: r.category, rule: i };
    }
  }
  return { label: rules.defaultLabel, attack: "", category: "", rule: -1 };
}
