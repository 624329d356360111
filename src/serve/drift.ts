/**
 * Drift detection on the monitor's live streams (issue 15, scope 1): a drift
 * detector from src/adapt/ (ADWIN by default) watches the anomaly score of
 * every scored flow (packet mode: every scored packet) and, when asked, chosen
 * feature columns of the same rows. When one fires, the monitor writes a
 * {@link DriftRecord}, an eve-style line (`event_type: "drift"`) that goes to
 * the alert sinks, the API (`GET /drift`, the live stream) and the metrics
 * (`nadir_drift_events_total{stream,detector}`). docs/monitor.md explains what
 * an event means and how to tune it.
 *
 * Values that are not finite (a NaN score, counted as non-finite elsewhere; a
 * missing feature) are never fed: the detectors refuse them, and a score that
 * failed closed says nothing about the score distribution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DriftWatch, type DriftRecord } from "./drift.ts";
 *
 * const got: DriftRecord[] = [];
 * const w = new DriftWatch(
 *   { detector: "page-hinkley", options: { threshold: 20, delta: 0.5 }, score: true, features: ["bytes"] },
 *   ["packets", "bytes"],
 *   { host: "s1", anomalyDetector: "kmeans", emit: (r) => got.push(r) },
 * );
 * for (let i = 0; i < 200; i++) w.observe(i < 100 ? 1 : NaN, [1, i < 150 ? 100 : 900], i * 1e6, i);
 * assert.equal(got.length, 1); // the NaN scores were not fed; the bytes column jumped at row 150
 * assert.equal(got[0].stream, "feature:bytes");
 * assert.equal(got[0].drift.direction, "up");
 * assert.ok(got[0].flow_id! >= 150 && got[0].drift.after.mean! > 100);
 * ```
 * @module
 */
import { createDriftDetector, DRIFT_DETECTORS, type DriftDetector, type DriftEvent } from "../adapt/mod.ts";
import { InputError } from "../util/errors.ts";
import { isoMicros, newAlertId } from "./alert.ts";

/** The `drift` section of the monitor's configuration (snake_case as in the file). */
export interface DriftConfig {
  /** Default true: the score stream is watched unless this is false. */
  enabled?: boolean;
  /** "adwin" (default), "page-hinkley" or "kswin". */
  detector?: string;
  /** The detector's options, with src/adapt's names (e.g. `{"delta": 0.002, "clock": 32}`). */
  options?: Record<string, unknown>;
  /** Watch the anomaly score stream. Default true. */
  score?: boolean;
  /** Feature columns to watch, by name (the model's numeric input columns), or "all". Default none. */
  features?: "all" | string[];
  /** Drift events the API keeps in memory (`GET /drift`). Default 1000. */
  max_events?: number;
}

/** Count and mean of a stretch of the stream (`mean` null when the stretch is empty). */
export interface DriftWindow {
  n: number;
  mean: number | null;
}

/** One drift event as written to the sinks (one JSON line, beside the alerts). */
export interface DriftRecord {
  /** Unique id, from the same sequence as alert ids. */
  id: string;
  /** Time of the flow (packet) whose value fired: its last packet, UTC ISO 8601 with microseconds. */
  timestamp: string;
  event_type: "drift";
  /** Sensor name. */
  host: string;
  /** "score", or "feature:<column>" for a feature stream. */
  stream: string;
  /** The drift detector: "adwin", "page-hinkley" or "kswin". */
  detector: string;
  /** The anomaly detector whose scores (or inputs) are watched ("kmeans", "kitnet", ...). */
  anomaly_detector: string;
  /** The meter's id of the flow whose value fired (absent when the packet was in no flow). */
  flow_id?: number;
  /** What the drift detector reported (src/adapt/types.ts `DriftEvent`, in snake_case). */
  drift: {
    /** 0-based position, in this stream since the monitor started, of the value that fired. */
    index: number;
    /** Estimated position of the first value of the new regime (≤ index). */
    change_start: number;
    before: DriftWindow;
    after: DriftWindow;
    direction: "up" | "down" | "none";
    /** The statistic that crossed its bound (ADWIN |Δmean|, Page-Hinkley PH_t, KSWIN's D). */
    statistic: number;
    threshold: number;
    /** KSWIN only. */
    p_value?: number;
  };
}

/** Resolved drift settings for the Monitor (see {@link driftOptionsFromConfig}). */
export interface DriftOptions {
  detector: string;
  options?: Record<string, unknown>;
  score: boolean;
  features: "all" | readonly string[];
  /** Drift events kept in memory for the API. Default 1000. */
  maxEvents?: number;
}

/**
 * What the config's `drift` section asks for, with the defaults filled in; undefined when drift
 * detection is off (`enabled: false`, or neither the score nor any feature watched).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { driftOptionsFromConfig } from "./drift.ts";
 * assert.deepEqual(driftOptionsFromConfig(undefined), { detector: "adwin", options: undefined, score: true, features: [], maxEvents: undefined });
 * assert.equal(driftOptionsFromConfig({ enabled: false }), undefined);
 * assert.equal(driftOptionsFromConfig({ score: false }), undefined);
 * ```
 */
export function driftOptionsFromConfig(c: DriftConfig | undefined): DriftOptions | undefined {
  if (c?.enabled === false) return undefined;
  const score = c?.score ?? true;
  const features = c?.features ?? [];
  if (!score && Array.isArray(features) && features.length === 0) return undefined;
  return { detector: c?.detector ?? "adwin", options: c?.options, score, features, maxEvents: c?.max_events };
}

/**
 * Problems with a `drift` section beyond its schema (deploy/nadir.schema.json): `features` as a
 * string must be "all", and the detector must accept its options (src/adapt checks names, types
 * and ranges). Each names its field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { driftConfigProblems } from "./drift.ts";
 * assert.deepEqual(driftConfigProblems({ detector: "adwin", options: { delta: 2 } }), [
 *   'field "drift.options": ADWIN option delta expects a number in (0, 1), found 2',
 * ]);
 * assert.deepEqual(driftConfigProblems({ features: "some" as "all" }), [
 *   'field "drift.features": expected "all" or an array of feature names, found "some"',
 * ]);
 * ```
 */
export function driftConfigProblems(c: DriftConfig): string[] {
  const out: string[] = [];
  if (typeof c.features === "string" && c.features !== "all") {
    out.push(
      `field "drift.features": expected "all" or an array of feature names, found ${
        JSON.stringify(c.features)
      }`,
    );
  }
  const name = c.detector ?? "adwin";
  if (!(DRIFT_DETECTORS as readonly string[]).includes(name)) {
    out.push(
      `field "drift.detector": expected one of ${DRIFT_DETECTORS.join(", ")}, found ${JSON.stringify(name)}`,
    );
  } else {
    try {
      createDriftDetector(name, c.options as never);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      out.push(`field "drift.options": ${e.message}`);
    }
  }
  return out;
}

/** Where a {@link DriftWatch} sends what it detects, and what it stamps on each record. */
export interface DriftSink {
  host: string;
  anomalyDetector: string;
  emit: (r: DriftRecord) => void;
}

interface Stream {
  name: string;
  /** Column in the observed row; -1 for the score. */
  col: number;
  det: DriftDetector;
}

/**
 * One drift detector per watched stream (the score, each chosen feature column). The monitor calls
 * {@link DriftWatch.observe} for every scored row; the cost is one detector update per watched
 * stream (ADWIN ≈ 0.2 µs, docs/monitor.md).
 */
export class DriftWatch {
  readonly #streams: Stream[];
  readonly #score: Stream | undefined;
  readonly #features: Stream[];
  readonly #sink: DriftSink;
  /** Drift events emitted so far. */
  events = 0;

  /**
   * `featureNames`: the columns of the rows given to {@link observe}, in order. Throws an InputError
   * naming `drift.features` for a name that is not one of them.
   */
  constructor(o: DriftOptions, featureNames: readonly string[], sink: DriftSink) {
    this.#sink = sink;
    const make = () => createDriftDetector(o.detector, o.options as never);
    const cols: number[] = [];
    if (o.features === "all") featureNames.forEach((_, j) => cols.push(j));
    else {
      for (const n of o.features) {
        const j = featureNames.indexOf(n);
        if (j < 0) {
          const known = featureNames.length > 12
            ? `${featureNames.slice(0, 12).join(", ")}, … (${featureNames.length} in all)`
            : featureNames.join(", ");
          throw new InputError(
            `field "drift.features": expected names of the model's numeric features (${known}), found "${n}"`,
          );
        }
        if (!cols.includes(j)) cols.push(j);
      }
    }
    this.#score = o.score ? { name: "score", col: -1, det: make() } : undefined;
    this.#features = cols.map((j) => ({ name: `feature:${featureNames[j]}`, col: j, det: make() }));
    this.#streams = this.#score ? [this.#score, ...this.#features] : this.#features;
  }

  /** Names of the watched streams ("score", "feature:<name>", ...). */
  get streams(): string[] {
    return this.#streams.map((s) => s.name);
  }

  /** Values fed to the detector of `stream` so far (0 for a stream not watched). */
  seen(stream: string): number {
    return this.#streams.find((s) => s.name === stream)?.det.seen ?? 0;
  }

  /**
   * Feeds one scored row: its score (skipped when not finite) and its watched feature values
   * (each skipped when not finite). `tsUs` and `flowId` stamp any event this row fires.
   */
  observe(score: number, vals: ArrayLike<number>, tsUs: number, flowId: number): void {
    const s = this.#score;
    if (s !== undefined && Number.isFinite(score) && s.det.update(score)) this.#fire(s, tsUs, flowId);
    const fs = this.#features;
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i];
      const v = vals[f.col];
      if (Number.isFinite(v) && f.det.update(v)) this.#fire(f, tsUs, flowId);
    }
  }

  #fire(s: Stream, tsUs: number, flowId: number): void {
    const e = s.det.lastDrift;
    if (!e) return;
    this.events++;
    this.#sink.emit(driftRecord(e, {
      stream: s.name,
      tsUs,
      flowId,
      host: this.#sink.host,
      anomalyDetector: this.#sink.anomalyDetector,
    }));
  }
}

/** Builds the record for one detector event (NaN means of empty stretches become null). */
export function driftRecord(
  e: DriftEvent,
  i: { stream: string; tsUs: number; flowId: number; host: string; anomalyDetector: string },
): DriftRecord {
  const win = (w: { n: number; mean: number }): DriftWindow => ({
    n: w.n,
    mean: Number.isFinite(w.mean) ? w.mean : null,
  });
  return {
    id: newAlertId(),
    timestamp: isoMicros(i.tsUs),
    event_type: "drift",
    host: i.host,
    stream: i.stream,
    detector: e.detector,
    anomaly_detector: i.anomalyDetector,
    ...(i.flowId >= 0 ? { flow_id: i.flowId } : {}),
    drift: {
      index: e.index,
      change_start: e.changeStart,
      before: win(e.before),
      after: win(e.after),
      direction: e.direction,
      statistic: e.statistic,
      threshold: e.threshold,
      ...(e.pValue !== undefined ? { p_value: e.pValue } : {}),
    },
  };
}

/** Checks that a parsed JSON value is a drift record (the fields the API and dashboard read). */
export function driftProblems(v: unknown): string[] {
  if (typeof v !== "object" || v === null) return ["expected an object"];
  const o = v as Record<string, unknown>;
  const out: string[] = [];
  for (const k of ["id", "timestamp", "host", "stream", "detector"]) {
    if (typeof o[k] !== "string") out.push(`${k}: expected a string, found ${typeof o[k]}`);
  }
  if (o.event_type !== "drift") out.push(`event_type: expected "drift"`);
  const d = o.drift as Record<string, unknown> | undefined;
  if (typeof d !== "object" || d === null) out.push("drift: expected an object");
  else if (typeof d.index !== "number") out.push(`drift.index: expected a number, found ${typeof d.index}`);
  return out;
}
