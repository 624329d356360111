/**
 * The contract between the `Monitor` and its scoring modes.
 *
 * The Monitor owns what every mode needs in the same way — the flow meter and
 * its table of active flows, the packet/byte counters, evidence, and the alert
 * path (filter → alert → sinks, store, dashboard). A mode owns only how packets
 * and flows become scores and when a score is judged: a batch-trained flow
 * model scores rows of metered flows in batches
 * (`flow_mode.ts`), a streaming detector scores every packet and
 * calibrates its own threshold (`packet_mode.ts`). Keeping the split at
 * one interface means a third mode needs no change to the alert path, and the
 * per-packet cost of the indirection is one method call.
 *
 * @module
 */
import type { Packet } from "../../capture/packet.ts";
import type { Matrix } from "../../data/matrix.ts";
import type { EndPhase, Flow, FlowFeatureSet } from "../../flows/meter.ts";
import type { Alert } from "../alert.ts";
import type { MonitorMetrics } from "../metrics.ts";
import type { LiveStats } from "../store.ts";
import type { FeatureStats } from "./feature_stats.ts";

/**
 * Builds an alert's explanation text; may be async, the alert is then written when it resolves.
 * Same shape as `MonitorOptions.explain`.
 */
export type Explainer = (
  a: Alert,
  names: readonly string[],
  values: number[],
) => string | undefined | Promise<string | undefined>;

/**
 * Where a scored row stands in the order a sharded sensor's rules judge alerts in (src/serve/shard_merge.ts):
 * by packet clock, then the meter's pass that ended the flow (`EndPhase`), then `us`, the time that pass
 * orders flows by (a linger's close, the idle scan's last packet; the flow's last packet otherwise).
 */
export interface RowOrder {
  phase: EndPhase;
  us: number;
  /**
   * Every row queued before this one was judged, and the row came from an ordered pass (not `OTHER`): none
   * of this monitor's later alerts comes before it.
   */
  first: boolean;
}

/** A flow's counters at one moment (when its row was taken for scoring). */
export interface FlowCounters {
  packets: number;
  bytes: number;
  lastUs: number;
}

/**
 * What the Monitor lends a mode. The mode keeps no copy of shared state: it reads the flow table
 * and alerted set live and hands every anomalous score back through {@link ModeHost.raise}, so
 * filtering, evidence and delivery stay identical across modes.
 */
export interface ModeHost {
  /** Flows the meter holds now (a mode re-scores long flows from them); see FlowMeter.flows. */
  activeFlows(): Iterable<Flow>;
  /** Flows that already raised an alert: at most one alert per flow. */
  readonly alerted: ReadonlySet<number>;
  readonly metrics: MonitorMetrics;
  readonly stats: LiveStats;
  /**
   * Wall time (performance.now()) at which the current packet entered the pipeline, read lazily
   * and once per packet: a clock read per packet is a measurable share of the per-packet budget.
   */
  wallNow(): number;
  /** The sensor's packet clock (the meter's): when a row is queued, what its alert will be judged at. */
  clockUs(): number;
  /**
   * A row queued at packet clock `clockUs` may still raise an alert: held until {@link ModeHost.release}d
   * (after it was judged), so a shard's watermark stays below it (see `Monitor.watermarkUs`).
   */
  hold(clockUs: number): void;
  release(clockUs: number): void;
  /** Filters, builds and delivers an alert for `f` (see the Monitor's module doc). */
  raise(
    f: Flow,
    score: number,
    tsUs: number,
    /** The sensor's packet clock when the alert was triggered (what the rules judge it at). */
    clockUs: number,
    state: "ended" | "active",
    triggerWall: number,
    names: readonly string[],
    vals: ArrayLike<number>,
    triggerCpu?: number,
    /** The row as the model scored it (after its transform), kept with the alert for feedback. */
    modelRow?: { names?: readonly string[]; values: ArrayLike<number> },
    /** The flow's counters when its row was taken (default: as they are now). */
    at?: FlowCounters,
    /** Where the alert stands in the rules' order among those of its packet clock ({@link RowOrder}). */
    order?: RowOrder,
  ): void;
  /**
   * Every batch a flow model scored, in the model's columns (after its transform), with its scores;
   * the update policy learns from these (src/serve/adaptation.ts). Absent when the model is frozen.
   */
  scored?(x: Matrix, scores: ArrayLike<number>): void;
  /**
   * Counts (metrics, run summary) and logs a NaN/±Infinity score from a ready detector. The mode then
   * still raises the flow (fail closed): a non-finite score is never taken as benign.
   */
  nonFinite(score: number): void;
  /**
   * One scored row (flow mode) or packet (packet mode), before it is judged: its score, finite or
   * not, and its feature values in {@link ScoringMode.baseline}'s order. Feeds the drift detectors
   * (src/serve/drift.ts), which skip non-finite values; a no-op when drift detection is off.
   */
  observe(score: number, vals: ArrayLike<number>, tsUs: number, flowId: number): void;
  /** Drops the shared per-flow state (alerted mark, evidence) of a flow that ended. */
  forget(f: Flow): void;
  /** Registers asynchronous scoring that `Monitor.finish` must wait for. */
  track(work: Promise<void>): void;
}

/**
 * A scoring strategy. The Monitor calls {@link ScoringMode.packet} after metering every packet, {@link ScoringMode.tick}
 * on the wall clock, {@link ScoringMode.flowEnded} when the meter ends a flow, and {@link ScoringMode.finish} once at
 * shutdown after every flow has ended.
 */
export interface ScoringMode {
  /** Features the meter computes per flow; `undefined` when the mode needs only the flow record. */
  readonly featureSet?: FlowFeatureSet;
  /** Benign traffic seen so far, in this mode's feature order, that alerts rank top features against. */
  readonly baseline: FeatureStats;
  /** Score above which a flow alerts; NaN while the mode is still calibrating. */
  readonly threshold: number;
  /** The explainer the mode offers when the Monitor is given none (a model's benign profile). */
  readonly explain?: Explainer;
  /**
   * One packet; `flow` is the flow the meter put it in (undefined when it was not metered), `clockUs` the
   * meter's packet clock after it (its time, or a later packet's when it came out of order).
   */
  packet(p: Packet, flow: Flow | undefined, clockUs: number): void;
  /** Packet time between re-scorings of active flows (0: none); a sharded sensor's reader replays it. */
  readonly rescoreUs?: number;
  /**
   * Packet time moved to `tsUs` on a packet another shard meters (src/serve/shard.ts): work due on the
   * packet clock (re-scoring) runs at the same packet as in a single monitor.
   */
  advance?(tsUs: number): void;
  /**
   * Periodic work: `nowUs` is the current time (live: the wall clock, replay: the last packet's
   * time), `wall` the performance.now() of this tick.
   */
  tick(nowUs: number, wall: number): void;
  /** The meter ended `f`; the mode scores it or calls {@link ModeHost.forget}. */
  /**
   * `phase` and `orderUs`: the meter's pass that ended it and the time that pass orders it by
   * (`FlowMeter.endPhase`, `FlowMeter.endOrderUs`; default: no ordered pass).
   */
  flowEnded(f: Flow, phase?: EndPhase, orderUs?: number): void;
  /** Starts scoring whatever is still waiting; asynchronous work goes through {@link ModeHost.track}. */
  finish(): void;
}
