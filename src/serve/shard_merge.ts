/**
 * The order in which a sharded sensor's rules judge its shards' alerts: packet-clock order, as one
 * monitor would judge them.
 *
 * The rules' dedup window and per-host rate (src/serve/rules.ts) depend on which alert of a group comes
 * first. Each shard hands its alerts over in the order of its own packet clock, but the shards run apart:
 * a shard ahead of the others would have its later alerts judged before their earlier ones, and take the
 * tokens and windows a single monitor gives those. So alerts wait here until every shard's watermark
 * (`Monitor.watermarkUs`: no alert it still hands over is older) has passed them, and go to the rules
 * oldest first. Ties (alerts of one packet, or one idle scan, in two shards) go by the alert's own time,
 * the flow's last packet, as the meter ends and re-scores flows least recently seen first.
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
 * m.add(1, { clockUs: 20_000, tsUs: 20_000, flowId: 1, item: "late" });
 * m.add(0, { clockUs: 10_000, tsUs: 10_000, flowId: 2, item: "early" });
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
  /** The alert's own time (µs): the flow's last packet. Breaks ties between shards. */
  tsUs: number;
  flowId: number;
  item: T;
}

interface Waiting<T> extends MergeEntry<T> {
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
  readonly #marks: number[];
  readonly #sink: MergeSink<T>;
  /** Sorted by (clockUs, tsUs, shard, seq); `#head` is the first one not yet released. */
  #queue: Waiting<T>[] = [];
  #head = 0;
  #seq = 0;
  /** Alerts waiting per flow id, and flows whose end waits for them. */
  readonly #perFlow = new Map<number, number>();
  readonly #endedWaiting = new Set<number>();

  constructor(shards: number, sink: MergeSink<T>) {
    this.#marks = new Array(shards).fill(-Infinity);
    this.#sink = sink;
  }

  /** Alerts waiting for a shard's watermark. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** An alert shard `shard` handed over (each shard's in the order it raised them). */
  add(shard: number, e: MergeEntry<T>): void {
    const w: Waiting<T> = { ...e, shard, seq: this.#seq++ };
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

  /** Shard `shard` will hand over no alert older than `us` (µs; Infinity once it is done). */
  mark(shard: number, us: number): void {
    if (us > this.#marks[shard]) this.#marks[shard] = us;
    this.#release();
  }

  /** Judges every waiting alert in order, whatever the watermarks say (the run is over or failed). */
  flush(): void {
    this.#release(Infinity);
  }

  #lowest(): number {
    let w = Infinity;
    for (const m of this.#marks) if (m < w) w = m;
    return w;
  }

  #release(upTo = this.#lowest()): void {
    const q = this.#queue;
    // At the watermark itself too. A shard may still raise an alert at that very clock (another packet of
    // the same µs, or one its meter clamped to its clock), which then follows those released here: the
    // order within one clock is not one monitor's anyway (see the module doc). Waiting for the clock to move
    // past it held every alert of a capture whose time ran backwards until its next jump forward (the
    // meter holds its clock): 1.5–1.8 s p99 on the bench capture, paced, against 0.28–0.30 s.
    while (this.#head < q.length && q[this.#head].clockUs <= upTo) {
      const w = q[this.#head++];
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
  if (a.clockUs !== b.clockUs) return a.clockUs < b.clockUs;
  if (a.tsUs !== b.tsUs) return a.tsUs < b.tsUs;
  if (a.shard !== b.shard) return a.shard < b.shard;
  return a.seq < b.seq;
}
