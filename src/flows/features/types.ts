/**
 * The contract of a flow feature set: per-flow state updated by the meter,
 * then turned into one output row with fixed columns.
 *
 * @module
 */
import type { Flow, FlowFeatureSet, MeterOptions } from "../meter.ts";

/** Column value kinds, for writers (CSV/Parquet/Arrow) and matrix builders. */
export type ColumnType = "int" | "float" | "str";

/** One output column. */
export interface Column {
  name: string;
  type: ColumnType;
  /** True for identifiers/metadata (addresses, ids, timestamps) that must not be fed to a model. */
  meta?: boolean;
}

/**
 * Receives one row's values in column order, without an intermediate array (the CSV sink formats them
 * straight into its output buffer). {@link FeatureSet.writeRow} calls `num`/`str` once per column, then `end`.
 */
export interface RowWriter {
  num(v: number): void;
  /**
   * Appends `v[0..n)` as `n` number fields. A feature set that fills a Float64Array hands its values over
   * unboxed: a double passed to `num` at a call site V8 does not inline is boxed first, a heap allocation.
   */
  nums(v: Float64Array, n: number): void;
  str(v: string): void;
  /** Appends an IPv4 address (dotted quad) given as an unsigned 32-bit number: no string is made for it. */
  ip4(x: number): void;
  /** Appends an IPv6 address given as its four big-endian 32-bit words (RFC 5952 text, as inet_ntop). */
  ip6(w0: number, w1: number, w2: number, w3: number): void;
  /** Appends a MAC address (lower-case colon hex) given as two 24-bit halves (see {@link Flow}). */
  mac48(hi: number, lo: number): void;
  end(): void;
}

/** A named feature set. */
export interface FeatureSet<S = unknown> extends FlowFeatureSet<S> {
  readonly columns: readonly Column[];
  /** Writes the row of an ended flow into `out` (length = columns.length). */
  row(flow: Flow, state: S, out: (number | string)[]): void;
  /** Optional fast path: the same values as {@link row}, handed to a writer one by one. */
  writeRow?(flow: Flow, state: S, w: RowWriter): void;
  /** Meter settings this feature set is defined with (e.g. CIC: TCP termination, 120 s flow timeout). */
  readonly meterDefaults?: Partial<Omit<MeterOptions, "onFlow" | "features">>;
  /**
   * Whether a flow's row depends on other flows: {@link row} records the flow in windows that later rows
   * read (kdd's 2 s and 100-connection windows, the host context). So a flow's row is taken once, when it
   * ends (a monitor re-scoring an active flow would count it again), and every flow of the sensor must
   * pass through one instance (shards that each see part of them would count less).
   */
  readonly crossFlow?: boolean;
}

/** Welford running statistics (count, mean, M2, min, max). */
export class RunningStats {
  n = 0;
  mean = 0;
  m2 = 0;
  min = 0;
  max = 0;
  sum = 0;

  add(x: number): void {
    const n = ++this.n;
    this.sum += x;
    if (n === 1) {
      this.mean = this.min = this.max = x;
      this.m2 = 0;
      return;
    }
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    const d = x - this.mean;
    this.mean += d / n;
    this.m2 += d * (x - this.mean);
  }

  /** Sample standard deviation (n − 1), 0 below 2 values. */
  get std(): number {
    return this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 0;
  }

  /** Sample variance (n − 1), 0 below 2 values. */
  get variance(): number {
    return this.n > 1 ? this.m2 / (this.n - 1) : 0;
  }
}
