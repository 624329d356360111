/**
 * The monitor's JSON configuration file, validated against
 * deploy/nadir.schema.json (the schema is the single source of truth; this
 * module walks the subset of JSON Schema it uses: type, properties, required,
 * additionalProperties, enum, minimum, maximum, minLength, maxLength,
 * pattern, items). Every problem names the field:
 * `nadir.json: field "flows.idle_timeout_s": expected a number ≥ 0.1, found -1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configProblems } from "./config.ts";
 * assert.ok(configProblems({ flows: { idle_timeout_s: -1 } })[0].startsWith('field "flows.idle_timeout_s"'));
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import schema from "../../deploy/nadir.schema.json" with { type: "json" };
import { InputError } from "../util/errors.ts";
import { statIfExists } from "../util/fs.ts";
import { ruleProblems, type SuppressionRule } from "./rules.ts";
import { type DriftConfig, driftConfigProblems } from "./drift.ts";
import type { AdaptConfig } from "./adaptation.ts";

/** The configuration (snake_case as in the file). */
export interface MonitorConfig {
  sensor?: string;
  /** Shards on as many cores (src/serve/shard.ts); "auto": one per core where it can shard; default 1. */
  workers?: number | "auto";
  source?: {
    interface?: string;
    pcap?: string;
    replay?: string;
    bpf?: string;
    snaplen?: number;
    buffer_mib?: number;
    /** How a live capture reaches several workers (src/serve/shard.ts); default "fanout". */
    split?: "fanout" | "ring";
  };
  model?: string;
  detector?: string;
  detector_params?: Record<string, unknown>;
  grace?: number;
  calibration?: number;
  threshold?: string;
  seed?: number;
  alerts?: { file?: string; max_bytes?: number; keep?: number; stdout?: boolean; repair?: boolean };
  evidence?: {
    dir?: string;
    packets_per_flow?: number;
    bytes_per_flow?: number;
    max_bytes?: number;
    disk_max_bytes?: number;
    disk_max_files?: number;
  };
  flows?: {
    idle_timeout_s?: number;
    active_timeout_s?: number;
    rescore_interval_s?: number;
    max_flows?: number;
    batch_size?: number;
    max_batch_delay_ms?: number;
  };
  rules?: {
    /** Seconds of packet time in which an alert with the same key is a duplicate (default 60). */
    dedup_window_s?: number;
    /** Alerts a source host may pass per minute of packet time (token bucket; default 60). */
    per_host_per_minute?: number;
    suppressions_file?: string;
    /** Suppression rules from the config file (the feedback-only fields are not accepted here). */
    allowlist?: Omit<SuppressionRule, "from_alert" | "created">[];
  };
  /** Drift detection on live streams (src/serve/drift.ts); on for the score stream by default. */
  drift?: DriftConfig;
  /** Model updates while the sensor runs (src/serve/adaptation.ts); frozen by default. */
  adapt?: AdaptConfig;
  feedback_file?: string;
  sinks?: {
    webhook?: { url: string; headers?: Record<string, string>; spool?: string; timeout_ms?: number };
    syslog?: { host: string; port: number; transport?: "udp" | "tcp"; facility?: number };
    nats?: {
      host: string;
      port: number;
      subject?: string;
      token_file?: string;
      /** Publish into a JetStream stream (retention while the collector is away; dedup by record id). */
      jetstream?: boolean;
      /** The stream (default NADIR). */
      stream?: string;
      /** Seconds between health records (default 5; 0 = none). */
      health_interval_s?: number;
      /** TLS to the server (always used when the server requires it); `ca_file` when its CA is private. */
      tls?: { ca_file?: string };
    };
  };
  api?: {
    host?: string;
    port?: number;
    token_file?: string;
    cert?: string;
    key?: string;
    max_body_bytes?: number;
  };
}

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: Schema;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + "..." : s;
}

/** Validates `v` against `s`; pushes `field "a.b": problem` strings. */
export function validateSchema(v: unknown, s: Schema, path: string, out: string[]): void {
  const at = path ? `field "${path}"` : "the file";
  if (s.type) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const t = typeOf(v);
    const ok = types.some((x) => x === t || (x === "number" && t === "integer"));
    if (!ok) {
      const want = types.map((
        x,
      ) => (x === "object"
        ? "an object"
        : x === "array"
        ? "an array"
        : x === "integer"
        ? "an integer"
        : `a ${x}`)
      ).join(" or ");
      out.push(`${at}: expected ${want}, found ${show(v)}`);
      return;
    }
  }
  if (s.enum && !s.enum.some((e) => e === v)) {
    out.push(`${at}: expected one of ${s.enum.map(show).join(", ")}, found ${show(v)}`);
  }
  if (typeof v === "number") {
    if (s.minimum !== undefined && v < s.minimum) {
      out.push(`${at}: expected a number ≥ ${s.minimum}, found ${v}`);
    }
    if (s.maximum !== undefined && v > s.maximum) {
      out.push(`${at}: expected a number ≤ ${s.maximum}, found ${v}`);
    }
  }
  if (typeof v === "string") {
    if (s.minLength !== undefined && v.length < s.minLength) {
      out.push(`${at}: expected at least ${s.minLength} character(s)`);
    }
    if (s.maxLength !== undefined && v.length > s.maxLength) {
      out.push(`${at}: expected at most ${s.maxLength} characters`);
    }
    if (s.pattern && !new RegExp(s.pattern).test(v)) {
      out.push(`${at}: expected a value matching /${s.pattern}/, found ${show(v)}`);
    }
  }
  if (Array.isArray(v) && s.items) v.forEach((x, i) => validateSchema(x, s.items!, `${path}[${i}]`, out));
  if (typeOf(v) === "object") {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) {
      if (o[r] === undefined) out.push(`field "${path ? path + "." : ""}${r}": required`);
    }
    for (const [k, x] of Object.entries(o)) {
      const sub = s.properties?.[k];
      const p = path ? `${path}.${k}` : k;
      if (sub) validateSchema(x, sub, p, out);
      else if (s.additionalProperties === false) {
        const known = Object.keys(s.properties ?? {});
        out.push(`field "${p}": unknown (expected one of ${known.join(", ")})`);
      } else if (typeof s.additionalProperties === "object") {
        validateSchema(x, s.additionalProperties, p, out);
      }
    }
  }
}

/**
 * Where the monitor keeps its state when the config does not say: the evidence pcaps and the analysts'
 * verdicts beside the alerts file (none without one). What the monitor opens and what the config check
 * stats.
 */
export function statePaths(
  c: MonitorConfig,
): { baseDir?: string; evidenceDir?: string; feedbackFile?: string } {
  const baseDir = c.alerts?.file ? dirname(c.alerts.file) : undefined;
  return {
    baseDir,
    evidenceDir: c.evidence?.dir ?? (baseDir ? join(baseDir, "evidence") : undefined),
    feedbackFile: c.feedback_file ?? (baseDir ? join(baseDir, "feedback.jsonl") : undefined),
  };
}

/**
 * What is wrong with the paths a valid config names, on this machine: a file where a directory goes or the
 * other way round, a token, CA or TLS file that is not there. Each had ended in a stack trace when the
 * monitor first used it (an evidence directory that is a file: "AlreadyExists … mkdir").
 */
export function configPathProblems(c: MonitorConfig): string[] {
  const out: string[] = [];
  const { evidenceDir, feedbackFile } = statePaths(c);
  const notDir = (field: string, p: string | undefined) => {
    if (p !== undefined && statIfExists(p)?.isDirectory) {
      out.push(`field "${field}": ${p} is a directory; expected a file`);
    }
  };
  const dirOrAbsent = (field: string, p: string | undefined) => {
    const st = p === undefined ? undefined : statIfExists(p);
    if (st && !st.isDirectory) out.push(`field "${field}": ${p} is a file; expected a directory`);
  };
  const file = (field: string, p: string | undefined) => {
    if (p === undefined) return;
    const st = statIfExists(p);
    if (!st) out.push(`field "${field}": ${p} does not exist`);
    else if (!st.isFile) out.push(`field "${field}": ${p} is not a file`);
  };
  notDir("alerts.file", c.alerts?.file);
  dirOrAbsent("evidence.dir", evidenceDir);
  notDir("rules.suppressions_file", c.rules?.suppressions_file);
  notDir("feedback_file", feedbackFile);
  notDir("sinks.webhook.spool", c.sinks?.webhook?.spool);
  file("sinks.nats.token_file", c.sinks?.nats?.token_file);
  file("sinks.nats.tls.ca_file", c.sinks?.nats?.tls?.ca_file);
  file("api.token_file", c.api?.token_file);
  file("api.cert", c.api?.cert);
  file("api.key", c.api?.key);
  return out;
}

/** Problems with a parsed configuration (empty when valid). Checks the schema, then cross-field rules. */
export function configProblems(v: unknown): string[] {
  const out: string[] = [];
  validateSchema(v, schema as Schema, "", out);
  if (out.length) return out;
  const c = v as MonitorConfig;
  if (c.source && c.source.interface && c.source.pcap) {
    out.push(`field "source": give either interface or pcap, not both`);
  }
  if (c.model && c.detector) out.push(`field "model": give either model or detector, not both`);
  if ((c.api?.cert === undefined) !== (c.api?.key === undefined)) {
    out.push(`field "api.cert": cert and key go together`);
  }
  for (const p of c.drift ? driftConfigProblems(c.drift) : []) out.push(p);
  // Checked here, with the config's file and the rule's place: at start they had said only "rule.src: …".
  (c.rules?.allowlist ?? []).forEach((r, i) => {
    for (const p of ruleProblems({ ...r }, `rules.allowlist[${i}]`)) {
      out.push(`field "${p.replace(/: /, '": ')}`);
    }
  });
  return out;
}

/** Reads and validates a configuration file; throws an {@link InputError} listing every problem. */
export function loadConfig(path: string): MonitorConfig {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new InputError(e instanceof Deno.errors.NotFound ? "config file not found" : (e as Error).message, {
      file: path,
    });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, { file: path });
  }
  const p = configProblems(v);
  if (p.length) throw new InputError(p.join("; "), { file: path });
  return v as MonitorConfig;
}
