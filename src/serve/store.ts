/**
 * The sensor's shared state that the HTTP API reads: recent alerts (with the
 * feature vector of the flow that raised each one, for feedback), recent drift
 * events, live subscribers (server-sent events), analyst feedback, and the
 * dashboard's rolling statistics.
 *
 * @module
 */
import type { Alert } from "./alert.ts";
import { alertProblems } from "./alert.ts";
import { driftProblems, type DriftRecord } from "./drift.ts";
import type { AlertFilter, SuppressionRule } from "./rules.ts";
import { join } from "node:path";
import { InputError } from "../util/errors.ts";
import { forEachLine } from "../util/lines.ts";

/** An alert plus what the API needs beside it. */
export interface AlertRecord {
  alert: Alert & { feedback?: "false_positive" | "true_positive" };
  /** Feature names/values of the scored flow (kept for benign feedback). */
  featureNames?: readonly string[];
  features?: ArrayLike<number>;
  /**
   * The row as the model scored it (after its preprocessing): what an analyst's verdict teaches the
   * model (src/serve/adaptation.ts). Absent for alerts loaded from a file.
   */
  modelFeatureNames?: readonly string[];
  modelFeatures?: ArrayLike<number>;
}

/** Options for {@link AlertStore}. */
export interface AlertStoreOptions {
  /** Alerts kept in memory for the API. Default 10000. */
  capacity?: number;
  /** Directory holding evidence pcaps (alert.evidence is relative to it). */
  evidenceDir?: string;
  /** JSON-lines file that false-positive feedback (flow features) is appended to. */
  feedbackFile?: string;
  /** Filter whose suppression list feedback extends. */
  filter?: AlertFilter;
  /** Drift events kept in memory for the API (oldest forgotten first). Default 1000. */
  driftCapacity?: number;
}

/** One line of the feedback file, as {@link AlertStore.feedback} writes it. */
export interface FeedbackLine {
  timestamp: string;
  alert_id: string;
  label: "benign" | "attack";
  verdict: "false_positive" | "true_positive";
  note?: string;
  detector: string;
  score: number;
  /** Raw flow features by name (null: not finite). */
  features?: Record<string, number | null>;
  /** The row as the model scored it, in the model's column order (null: not finite). */
  model_features?: (number | null)[];
}

/** Longest suppression feedback may ask for (`suppress_for_s`): 30 days. */
export const MAX_SUPPRESS_FOR_S = 30 * 24 * 3600;

/** A verdict posted by an analyst. */
export interface FeedbackInput {
  label: "false_positive" | "true_positive";
  note?: string;
  scope?: "pair" | "src" | "flow";
  /** Seconds the suppression lasts, > 0 and ≤ {@link MAX_SUPPRESS_FOR_S}; absent = until removed. */
  suppress_for_s?: number;
}

/** A verdict on an alert that already has the other one ({@link AlertStore.feedback}); the API answers 409. */
export class VerdictConflictError extends Error {
  constructor(readonly alertId: string, readonly had: string, readonly wanted: string) {
    super(
      `alert "${alertId}" already has the verdict ${had}, which its model row and any suppression rule were ` +
        `learned from; a second verdict (${wanted}) is refused (if the first was wrong, remove the suppression ` +
        `rule it made from the suppressions file)`,
    );
    this.name = "VerdictConflictError";
  }
}

function isDrift(v: unknown): boolean {
  return (v as { event_type?: unknown } | null)?.event_type === "drift";
}

/**
 * What keeps a parsed line of an alerts file from being a record the store reads back: an alert, or a
 * drift event (`event_type: "drift"`, which the sinks write to the same file). Empty when it is one.
 */
export function alertFileLineProblems(v: unknown): string[] {
  return isDrift(v) ? driftProblems(v) : alertProblems(v);
}

/** One sensor as `GET /sensors` lists it. */
export interface SensorSummary {
  name: string;
  /** Its alerts held (a collector: stored). */
  alerts: number;
  /** Its newest alert's timestamp, when it has one. */
  last_alert?: string;
  /** When its newest health record was stamped (a collector's sensors: clamped to the collector's clock). */
  last_seen?: string;
}

/** See the module doc. */
export class AlertStore {
  readonly #byId = new Map<string, AlertRecord>();
  readonly #order: string[] = [];
  readonly #subs = new Set<(a: Alert) => void>();
  readonly #drift: DriftRecord[] = [];
  readonly #driftIds = new Set<string>();
  readonly #driftSubs = new Set<(d: DriftRecord) => void>();
  readonly capacity: number;
  readonly driftCapacity: number;
  readonly evidenceDir?: string;
  readonly feedbackFile?: string;
  readonly filter?: AlertFilter;
  /** Alerts ever added (this process). */
  total = 0;
  /** Drift events ever added (this process). */
  driftTotal = 0;
  /** Called after every verdict is recorded (the update policy learns from it). */
  onVerdict?: (rec: AlertRecord, label: FeedbackInput["label"]) => void;

  constructor(opts: AlertStoreOptions = {}) {
    this.capacity = opts.capacity ?? 10_000;
    this.driftCapacity = opts.driftCapacity ?? 1000;
    this.evidenceDir = opts.evidenceDir;
    this.feedbackFile = opts.feedbackFile;
    this.filter = opts.filter;
  }

  /** Adds an alert and notifies stream subscribers. */
  add(rec: AlertRecord): void {
    this.#byId.set(rec.alert.id, rec);
    this.#order.push(rec.alert.id);
    this.total++;
    while (this.#order.length > this.capacity) this.#byId.delete(this.#order.shift()!);
    for (const s of this.#subs) {
      try {
        s(rec.alert);
      } catch { /* a broken subscriber must not stop the monitor */ }
    }
  }

  /** Adds a drift event (ignored when its id is already held) and notifies drift subscribers. */
  addDrift(d: DriftRecord): void {
    if (this.#driftIds.has(d.id)) return;
    this.#drift.push(d);
    this.#driftIds.add(d.id);
    this.driftTotal++;
    // Bounded by driftCapacity (1000 by default): the shift is cheap at that size and events are rare.
    while (this.#drift.length > this.driftCapacity) this.#driftIds.delete(this.#drift.shift()!.id);
    for (const s of this.#driftSubs) {
      try {
        s(d);
      } catch { /* a broken subscriber must not stop the monitor */ }
    }
  }

  /** Drift events held, newest first; `stream` keeps one stream ("score", "feature:<name>"). */
  listDrift(o: { limit?: number; stream?: string } = {}): { events: DriftRecord[]; total: number } {
    const limit = o.limit ?? 100;
    const out: DriftRecord[] = [];
    for (let i = this.#drift.length - 1; i >= 0 && out.length < limit; i--) {
      const d = this.#drift[i];
      if (o.stream === undefined || d.stream === o.stream) out.push(d);
    }
    return { events: out, total: this.#drift.length };
  }

  /** Registers a live subscriber to drift events; returns the unsubscribe function. */
  subscribeDrift(fn: (d: DriftRecord) => void): () => void {
    this.#driftSubs.add(fn);
    return () => this.#driftSubs.delete(fn);
  }

  /**
   * One parsed line of an alerts file: an alert, or a drift event (`event_type: "drift"`, which
   * the sinks write to the same file). Returns the problems that make it neither.
   */
  #addLine(v: unknown): string[] {
    const p = alertFileLineProblems(v);
    if (p.length) return p;
    if (isDrift(v)) this.addDrift(v as DriftRecord);
    else if (!this.#byId.has((v as Alert).id)) this.add({ alert: v as Alert });
    return p;
  }

  /**
   * Loads the last `capacity` alerts (and `driftCapacity` drift events) of an alerts JSON-lines file
   * (restart, or `serve --alerts`).
   */
  loadFile(path: string): number {
    let n = 0;
    forEachJsonLine(path, (v) => {
      const before = this.total;
      const p = this.#addLine(v);
      n += this.total - before;
      return p.length ? p.join("; ") : undefined;
    });
    return n;
  }

  /**
   * Follows an alerts file another process (a monitor) appends to: loads what is there, then polls for
   * new complete lines every `everyMs` until `signal` aborts. A file that shrinks (rotated) is read
   * again from the start; malformed lines are reported once through `onError` and skipped.
   */
  async follow(
    path: string,
    signal: AbortSignal,
    everyMs = 1000,
    onError?: (msg: string) => void,
  ): Promise<void> {
    let offset = 0;
    let partial = "";
    let lineNo = 0;
    const dec = new TextDecoder();
    while (!signal.aborted) {
      try {
        const st = await Deno.stat(path);
        if (st.size < offset) {
          offset = 0;
          partial = "";
          lineNo = 0;
        }
        if (st.size > offset) {
          const f = await Deno.open(path, { read: true });
          try {
            await f.seek(offset, Deno.SeekMode.Start);
            const buf = new Uint8Array(st.size - offset);
            let got = 0;
            while (got < buf.length) {
              const n = await f.read(buf.subarray(got));
              if (n === null) break;
              got += n;
            }
            offset += got;
            const text = partial + dec.decode(buf.subarray(0, got));
            const lines = text.split("\n");
            partial = lines.pop() ?? "";
            for (const l of lines) {
              lineNo++;
              if (!l.trim()) continue;
              try {
                const p = this.#addLine(JSON.parse(l));
                if (p.length) throw new Error(p.join("; "));
              } catch (e) {
                onError?.(`${path}:${lineNo}: skipped: ${(e as Error).message}`);
              }
            }
          } finally {
            f.close();
          }
        }
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) onError?.(`${path}: ${(e as Error).message}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, everyMs);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          r();
        }, { once: true });
      });
    }
  }

  get(id: string): AlertRecord | undefined {
    return this.#byId.get(id);
  }

  /** Newest first; `before` is a cursor (an alert id). */
  list(
    o: { limit?: number; before?: string; severity?: number; srcIp?: string; sensor?: string } = {},
  ): { alerts: Alert[]; next: string | null; total: number } {
    const limit = o.limit ?? 100;
    let i = this.#order.length - 1;
    if (o.before !== undefined) {
      const at = this.#order.lastIndexOf(o.before);
      i = at < 0 ? -1 : at - 1;
    }
    const out: Alert[] = [];
    for (; i >= 0 && out.length < limit; i--) {
      const a = this.#byId.get(this.#order[i])!.alert;
      if (o.severity !== undefined && a.severity > o.severity) continue;
      if (o.srcIp !== undefined && a.src_ip !== o.srcIp) continue;
      if (o.sensor !== undefined && a.host !== o.sensor) continue;
      out.push(a);
    }
    const more = i >= 0 && out.length === limit;
    return { alerts: out, next: more ? out[out.length - 1].id : null, total: this.#order.length };
  }

  /** The sensors of the alerts held, by name: a collector holds many, a monitor its own. */
  sensors(): SensorSummary[] {
    const by = new Map<string, SensorSummary>();
    for (const id of this.#order) {
      const a = this.#byId.get(id)!.alert;
      const s = by.get(a.host) ?? by.set(a.host, { name: a.host, alerts: 0 }).get(a.host)!;
      s.alerts++;
      if (s.last_alert === undefined || a.timestamp > s.last_alert) s.last_alert = a.timestamp;
    }
    return [...by.values()].sort((x, y) => x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
  }

  /** Registers a live subscriber; returns the unsubscribe function. */
  subscribe(fn: (a: Alert) => void): () => void {
    this.#subs.add(fn);
    return () => this.#subs.delete(fn);
  }

  /** Path of an alert's evidence pcap, when it has one. */
  evidencePath(id: string): string | undefined {
    const r = this.#byId.get(id);
    if (!r?.alert.evidence || !this.evidenceDir) return undefined;
    // The name is generated by us, but never let it walk out of the directory.
    if (!/^[A-Za-z0-9_.-]+\.pcap$/.test(r.alert.evidence)) return undefined;
    return join(this.evidenceDir, r.alert.evidence);
  }

  /**
   * Records an analyst verdict; a false positive adds a suppression and benign feedback. All or
   * nothing: everything that can be refused (the alert, `suppress_for_s`, the rule limit) is checked
   * before the alert's label changes.
   *
   * @throws {InputError} for an unknown alert or a `suppress_for_s` out of range.
   * @throws {RuleLimitError} (from rules.ts) when the suppression list is full.
   */
  feedback(id: string, f: FeedbackInput): { suppression?: SuppressionRule; unchanged?: true } {
    const r = this.#byId.get(id);
    if (!r) throw new InputError(`no alert with id "${id}"`);
    // One verdict an alert. The same one again (a retried request) changes nothing; before, each repeat
    // was learned again (200 posts of one false positive made 80 % of the next refit's pool one flow).
    // The other one would leave the first learned, and its suppression rule in force: refused.
    const had = r.alert.feedback;
    if (had === f.label) return { unchanged: true };
    if (had !== undefined) throw new VerdictConflictError(id, had, f.label);
    const t = f.suppress_for_s;
    if (t !== undefined && !(Number.isFinite(t) && t > 0 && t <= MAX_SUPPRESS_FOR_S)) {
      throw new InputError(`suppress_for_s: expected seconds > 0 and ≤ ${MAX_SUPPRESS_FOR_S}, found ${t}`);
    }
    const a = r.alert;
    const out: { suppression?: SuppressionRule } = {};
    if (f.label === "false_positive") {
      const scope = f.scope ?? "pair";
      const rule: SuppressionRule = {
        src: a.src_ip,
        detector: a.detector,
        reason: f.note ?? "false positive (analyst)",
        from_alert: a.id,
      };
      if (scope !== "src") Object.assign(rule, { dest: a.dest_ip, dest_port: a.dest_port, proto: a.proto });
      if (t !== undefined) rule.until = new Date(Date.now() + t * 1000).toISOString();
      // add() throws before changing anything (invalid rule, list full), so the label is set after it.
      out.suppression = this.filter ? this.filter.suppressions.add(rule) : rule;
    }
    a.feedback = f.label;
    if (this.feedbackFile) {
      const row: Record<string, unknown> = {
        timestamp: new Date().toISOString(),
        alert_id: a.id,
        label: f.label === "false_positive" ? "benign" : "attack",
        verdict: f.label,
        note: f.note,
        flow: {
          src_ip: a.src_ip,
          src_port: a.src_port,
          dest_ip: a.dest_ip,
          dest_port: a.dest_port,
          proto: a.proto,
          start: a.flow.start,
          end: a.flow.end,
        },
        detector: a.detector,
        score: a.score,
      };
      if (r.modelFeatures) {
        row.model_features = Array.from(r.modelFeatures, (v) => (Number.isFinite(v) ? v : null));
      }
      if (r.featureNames && r.features) {
        const feats: Record<string, number | null> = {};
        r.featureNames.forEach((
          n,
          i,
        ) => (feats[n] = Number.isFinite(r.features![i]) ? r.features![i] : null));
        row.features = feats;
      }
      Deno.writeTextFileSync(this.feedbackFile, JSON.stringify(row) + "\n", { append: true, create: true });
    }
    this.onVerdict?.(r, f.label);
    return out;
  }

  /**
   * Reads the feedback file (restart): every verdict is set again on the alert it names when that alert
   * is held, and all lines are returned, oldest first, for the update policy to learn from. A torn last
   * line is skipped; any other bad line is an InputError naming the file and line.
   */
  loadFeedback(path = this.feedbackFile): FeedbackLine[] {
    const out: FeedbackLine[] = [];
    if (!path) return out;
    forEachJsonLine(path, (v) => {
      const bad = feedbackLineProblem(v);
      if (bad) return bad;
      const line = v as FeedbackLine;
      const held = this.#byId.get(line.alert_id);
      // An alert's first verdict stands (feedback() refuses another; files from before may repeat one).
      if (held && held.alert.feedback === undefined) held.alert.feedback = line.verdict;
      out.push(line);
    });
    return out;
  }
}

/**
 * Calls `f` with each parsed line of a JSON-lines file the sensor appends to (nothing when the file
 * does not exist). A torn last line (a crash mid-write) is skipped; any other line that is not JSON,
 * or that `f` returns a problem for, is an InputError naming the file and line.
 */
function forEachJsonLine(path: string, f: (v: unknown) => string | undefined): void {
  // Read in chunks (src/util/lines.ts): an alerts file that is never rotated outgrows one string.
  // A line that is not JSON is an error only once a non-blank line follows it: the last one may be torn.
  let torn: InputError | undefined;
  forEachLine(path, (l, line) => {
    if (!l.trim()) return;
    if (torn) throw torn;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      torn = new InputError("invalid JSON line", { file: path, line });
      return;
    }
    const problem = f(v);
    if (problem) throw new InputError(problem, { file: path, line });
  });
}

function feedbackLineProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "expected a JSON object";
  const o = v as Record<string, unknown>;
  if (typeof o.alert_id !== "string") {
    return `field "alert_id": expected a string, found ${JSON.stringify(o.alert_id)}`;
  }
  if (o.verdict !== "false_positive" && o.verdict !== "true_positive") {
    return `field "verdict": expected "false_positive" or "true_positive", found ${
      JSON.stringify(o.verdict)
    }`;
  }
  if (typeof o.timestamp !== "string" || Number.isNaN(Date.parse(o.timestamp))) {
    return `field "timestamp": expected an ISO 8601 time, found ${JSON.stringify(o.timestamp)}`;
  }
  const m = o.model_features;
  if (m !== undefined && !(Array.isArray(m) && m.every((x) => x === null || typeof x === "number"))) {
    return `field "model_features": expected an array of numbers (null for non-finite)`;
  }
  return undefined;
}

/** Rolling numbers for the dashboard (per-second rates, top talkers, recent scores). */
export class LiveStats {
  /** Per-second buckets, newest last. */
  readonly #secs: { t: number; packets: number; flows: number; alerts: number }[] = [];
  readonly #talkers = new Map<string, { bytes: number; packets: number; alerts: number }>();
  readonly #scores: number[] = [];
  #scoreIdx = 0;
  threshold: number | null = null;
  detector: string | null = null;
  source: string | null = null;
  running = false;

  constructor(readonly windowS = 300, readonly scoreSample = 2000, readonly maxTalkers = 10_000) {}

  #bucket(nowMs: number) {
    const t = Math.floor(nowMs / 1000) * 1000;
    let b = this.#secs[this.#secs.length - 1];
    if (!b || b.t !== t) {
      b = { t, packets: 0, flows: 0, alerts: 0 };
      this.#secs.push(b);
      while (this.#secs.length > this.windowS) this.#secs.shift();
    }
    return b;
  }

  packets(n: number, nowMs = Date.now()): void {
    this.#bucket(nowMs).packets += n;
  }
  flows(n: number, nowMs = Date.now()): void {
    this.#bucket(nowMs).flows += n;
  }
  alert(srcIp: string, nowMs = Date.now()): void {
    this.#bucket(nowMs).alerts++;
    this.#talker(srcIp).alerts++;
  }
  /** Adds traffic for a source host. */
  talker(ip: string, bytes: number, packets: number): void {
    const t = this.#talker(ip);
    t.bytes += bytes;
    t.packets += packets;
  }
  #talker(ip: string) {
    let t = this.#talkers.get(ip);
    if (!t) {
      if (this.#talkers.size >= this.maxTalkers) {
        // Forget the smallest half rather than refusing new hosts.
        const sorted = [...this.#talkers].sort((a, b) => a[1].bytes - b[1].bytes);
        for (const [k] of sorted.slice(0, sorted.length >> 1)) this.#talkers.delete(k);
      }
      t = { bytes: 0, packets: 0, alerts: 0 };
      this.#talkers.set(ip, t);
    }
    return t;
  }
  score(s: number): void {
    if (!Number.isFinite(s)) return;
    if (this.#scores.length < this.scoreSample) this.#scores.push(s);
    else this.#scores[this.#scoreIdx++ % this.scoreSample] = s;
  }

  /** The JSON the dashboard polls (GET /stats). */
  snapshot(totals: Record<string, number>): Record<string, unknown> {
    const top = [...this.#talkers].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 10)
      .map(([ip, v]) => ({ ip, ...v }));
    return {
      now: Date.now(),
      totals,
      rates: this.#secs.slice(),
      top_talkers: top,
      scores: this.#scores.slice(),
      threshold: this.threshold,
      detector: this.detector,
      source: this.source,
      running: this.running,
    };
  }
}
