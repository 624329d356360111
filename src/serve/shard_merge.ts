/**
 * The order in which a sharded sensor's rules judge its shards' alerts: packet-clock order, as one
 * monitor would judge them.
 *
 * The rules' dedup window and per-host rate (src/serve/rules.ts) depend on which alert of a group comes
 * first. Each shard hands its alerts over in the order of its own packet clock, but the shards run apart:
 * a shard ahead of the others would have its later alerts judged before their earlier ones, and take the
 * tokens and windows a single monitor gives those. So alerts wait here until every shard has said it will
 * hand over none before them, and go to the rules in order.
 *
 * The order: packet clock, then, among alerts of one clock, the meter's pass that ended the flow
 * (`EndPhase` in src/flows/meter.ts: lingers ran out, then the idle scan, then anything else, as one meter
 * runs them when its clock moves) and the time that pass orders flows by (a linger's close, the idle
 * scan's last packet; the flow's last packet for the rest), then the shard.
 *
 * What a shard says ({@link AlertMerge.mark}): its watermark (`Monitor.watermarkUs`: no alert before that
 * clock), every millisecond; and, as it hands over an alert of an ordered pass with everything before it,
 * that alert's place: none of its later alerts comes before it (the meter's passes promise their order).
 * The second lets a burst of one clock (an idle scan ending thousands of flows where a capture's time
 * jumps) go to the rules as it is built, not once the slowest shard is done with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AlertMerge } from "./shard_merge.ts";
 * const judged: string[] = [];
 * const m = new AlertMerge<string>(2, {
 *   judge: (a) => void judged.push(a),
 *   ended: () => {},
 * });
 * m.add(1, { clockUs: 20_000, orderUs: 20_000, flowId: 1, item: "late" });
 * m.add(0, { clockUs: 10_000, orderUs: 10_000, flowId: 2, item: "early" });
 * m.mark(0, 15_000); // shard 0 holds nothing older than 15 ms; shard 1 has said nothing yet
 * assert.deepEqual(judged, []);
 * m.mark(1, 25_000);
 * assert.deepEqual(judged, ["early"]); // "late" waits for shard 0 to reach 20 ms
 * m.mark(0, Infinity); // shard 0 is done
 * assert.deepEqual(judged, ["early", "late"]);
 * ```
 *
 * @module
 */

/** An alert waiting for its turn. */
export interface MergeEntry<T> {
  /** The packet clock (µs) it was triggered at: what the rules judge it at. */
  clockUs: number;
  /** The meter's pass that ended the flow (`EndPhase`; default 2, `OTHER`). */
  phase?: number;
  /** The time that pass orders the flow by (µs). */
  orderUs: number;
  flowId: number;
  item: T;
}

interface Waiting<T> extends MergeEntry<T> {
  phase: number;
  shard: number;
  seq: number;
}

/** Where released alerts go. */
export interface MergeSink<T> {
  /** The next alert in packet-clock order. */
  judge(item: T): void;
  /** A shard forgot flow `flowId`; called only once none of its alerts waits here. */
  ended(flowId: number): void;
  /** How many alerts wait now (after each alert or watermark that came in). */
  waiting?(n: number): void;
}

/** See the module doc. */
export class AlertMerge<T> {
  /** Per shard, the place before which it hands over nothing more: (packet clock, phase, order time). */
  readonly #marks: number[];
  readonly #markPhase: number[];
  readonly #markUs: number[];
  readonly #sink: MergeSink<T>;
  /** Sorted by (clockUs, phase, orderUs, shard, seq); `#head` is the first one not yet released. */
  #queue: Waiting<T>[] = [];
  #head = 0;
  #seq = 0;
  /** Alerts waiting per flow id, and flows whose end waits for them. */
  readonly #perFlow = new Map<number, number>();
  readonly #endedWaiting = new Set<number>();

  constructor(shards: number, sink: MergeSink<T>) {
    this.#marks = new Array(shards).fill(-Infinity);
    this.#markPhase = new Array(shards).fill(-Infinity);
    this.#markUs = new Array(shards).fill(-Infinity);
    this.#sink = sink;
  }

  /** Alerts waiting for a shard's watermark. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** An alert shard `shard` handed over (each shard's in the order it raised them). */
  add(shard: number, e: MergeEntry<T>): void {
    const w: Waiting<T> = { ...e, phase: e.phase ?? 2, shard, seq: this.#seq++ };
    const q = this.#queue;
    // Binary search from the head: alerts mostly arrive near the end of the order.
    let lo = this.#head, hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(q[mid], w)) lo = mid + 1;
      else hi = mid;
    }
    q.splice(lo, 0, w);
    this.#perFlow.set(e.flowId, (this.#perFlow.get(e.flowId) ?? 0) + 1);
    this.#release();
  }

  /** Shard `shard` forgot a flow it handed alerts for: passed on once its waiting alerts are judged. */
  ended(flowId: number): void {
    if (this.#perFlow.has(flowId)) this.#endedWaiting.add(flowId);
    else this.#sink.ended(flowId);
  }

  /**
   * Shard `shard` will hand over no alert triggered before packet clock `us` (µs; Infinity once it is
   * done), nor, at `us`, one before (`phase`, `orderUs`) in the order of the module doc. A watermark (no
   * phase) lets every alert at `us` go: see the note in #releaseUpTo. A place never goes back.
   */
  mark(shard: number, us: number, phase = Infinity, orderUs = Infinity): void {
    if (
      comparePlaces(us, phase, orderUs, this.#marks[shard], this.#markPhase[shard], this.#markUs[shard]) > 0
    ) {
      this.#marks[shard] = us;
      this.#markPhase[shard] = phase;
      this.#markUs[shard] = orderUs;
    }
    this.#release();
  }

  /** Judges every waiting alert in order, whatever the watermarks say (the run is over or failed). */
  flush(): void {
    this.#releaseWhile(() => true);
  }

  #release(): void {
    this.#releaseWhile((w) => this.#due(w));
  }

  /**
   * Whether no alert still to come goes before `w`. Ties (one place) go by shard, then arrival: a shard
   * after `w`'s, or `w`'s own (its later alerts arrive later), may still hand one over at `w`'s place;
   * a shard before it must be past that place. Requiring every shard to be past it held a burst whose
   * alerts share a place (a capture whose time ran backwards: the meter holds its clock, and every flow
   * it then ends has the same last packet time) until the slowest shard's watermark: 95–130 ms of the
   * paced bench's p99 (docs/monitor.md).
   */
  #due(w: Waiting<T>): boolean {
    for (let i = 0; i < this.#marks.length; i++) {
      const c = comparePlaces(
        this.#marks[i],
        this.#markPhase[i],
        this.#markUs[i],
        w.clockUs,
        w.phase,
        w.orderUs,
      );
      if (c < 0 || (c === 0 && i < w.shard)) return false;
    }
    return true;
  }

  #releaseWhile(due: (w: Waiting<T>) => boolean): void {
    const q = this.#queue;
    // A watermark (no phase) lets the alerts at its clock go too. A shard may still raise an alert at that very
    // clock (another packet of the same µs, or one its meter clamped to its clock), which then follows those
    // released here: the order within one clock is not one monitor's anyway (see the module doc). Waiting for
    // the clock to move past it held every alert of a capture whose time ran backwards until its next jump
    // forward (the meter holds its clock): 1.5–1.8 s p99 on the bench capture, paced, against 0.28–0.30 s.
    while (this.#head < q.length) {
      const w = q[this.#head];
      if (!due(w)) break;
      this.#head++;
      const left = this.#perFlow.get(w.flowId)! - 1;
      if (left > 0) this.#perFlow.set(w.flowId, left);
      else this.#perFlow.delete(w.flowId);
      this.#sink.judge(w.item);
      if (left === 0 && this.#endedWaiting.delete(w.flowId)) this.#sink.ended(w.flowId);
    }
    if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    this.#sink.waiting?.(this.waiting);
  }
}

function before<T>(a: Waiting<T>, b: Waiting<T>): boolean {
  const c = comparePlaces(a.clockUs, a.phase, a.orderUs, b.clockUs, b.phase, b.orderUs);
  if (c !== 0) return c < 0;
  if (a.shard !== b.shard) return a.shard < b.shard;
  return a.seq < b.seq;
}

/** Compares two places (packet clock, phase, order time): negative when the first comes first. */
export function comparePlaces(
  u1: number,
  p1: number,
  t1: number,
  u2: number,
  p2: number,
  t2: number,
): number {
  if (u1 !== u2) return u1 < u2 ? -1 : 1;
  if (p1 !== p2) return p1 < p2 ? -1 : 1;
  if (t1 !== t2) return t1 < t2 ? -1 : 1;
  return 0;
}
