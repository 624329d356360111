/**
 * Progress bars for long work. On a terminal the bar redraws in place on
 * stderr; in a Jupyter kernel (`deno jupyter`) it is one display that updates
 * in place under the cell (at most every second); elsewhere (CI logs) it
 * prints a line at most every `logEveryMs` so logs stay short. Set
 * `NADIR_PROGRESS=0` to silence it.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const p = new Progress({ label: "rows", total: 3, silent: true });
 * for (let i = 0; i < 3; i++) p.tick(1, { loss: 0.1 });
 * p.done();
 * ```
 * @module
 */

/** Options for {@link Progress}. */
export interface ProgressOptions {
  /** What is being counted ("packets", "epoch"). */
  label: string;
  /** Expected total; omit when unknown (shows a count and rate only). */
  total?: number;
  /** Unit shown after counts (e.g. "B" for bytes). */
  unit?: string;
  /** Never print (tests, library callers that want quiet). */
  silent?: boolean;
  /** Minimum interval between log lines when stderr is not a terminal. */
  logEveryMs?: number;
}

const enc = new TextEncoder();

function isTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** The kernel's display function inside `deno jupyter`; undefined elsewhere (where touching Deno.jupyter throws). */
export type JupyterDisplay = (
  obj: unknown,
  opts: { raw?: boolean; update?: boolean; display_id?: string },
) => Promise<void>;

/**
 * The kernel's `Deno.jupyter.display` (bound), or undefined outside `deno jupyter` — where Deno 2.9 throws
 * on merely reading `Deno.jupyter`, so every caller goes through this guard.
 */
export function jupyterDisplay(): JupyterDisplay | undefined {
  try {
    const j = (Deno as unknown as { jupyter?: { display?: JupyterDisplay } }).jupyter;
    return typeof j?.display === "function" ? j.display.bind(j) : undefined;
  } catch {
    return undefined;
  }
}

let displays = 0;

/**
 * A count or metric for a progress line: large values with k/M/G, others with 4 significant digits
 * (a loss of 0.0042 prints as 0.0042, never 0.00), tiny ones in exponent form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatValue } from "./progress.ts";
 * assert.equal(formatValue(0.0042), "0.0042");
 * assert.equal(formatValue(0.33333), "0.3333");
 * assert.equal(formatValue(12), "12");
 * assert.equal(formatValue(22544), "22.5k");
 * assert.equal(formatValue(2e-5), "2.000e-5");
 * ```
 */
export function formatValue(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "k";
  if (Number.isInteger(n)) return String(n);
  if (a < 1e-3) return n.toExponential(3);
  return String(Number(n.toPrecision(4)));
}

/**
 * A rate for a progress line: per second when at least one unit a second, else seconds per unit
 * (an epoch every 20 s prints as "20.0 s/epoch", not "0.05/s").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRate } from "./progress.ts";
 * assert.equal(formatRate(31200, " rows"), "31.2k rows/s");
 * assert.equal(formatRate(0.05, " epochs"), "20.0 s/epoch");
 * assert.equal(formatRate(0.5, ""), "2.0 s/step");
 * assert.equal(formatRate(0, ""), "");
 * ```
 */
export function formatRate(perSecond: number, unit: string): string {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) return "";
  if (perSecond >= 1) return `${formatValue(perSecond)}${unit}/s`;
  const one = unit.trim().replace(/s$/, "") || "step";
  return `${(1 / perSecond).toFixed(1)} s/${one}`;
}

const fmt = formatValue;

/** A progress bar. */
export class Progress {
  readonly #opts: Required<Omit<ProgressOptions, "total">> & { total?: number };
  readonly #tty: boolean;
  readonly #jupyter: JupyterDisplay | undefined;
  readonly #displayId = `nadir-progress-${Deno.pid}-${++displays}`;
  #shown = false;
  readonly #start = performance.now();
  #last = 0;
  #count = 0;
  #extra: Record<string, number | string> = {};

  constructor(opts: ProgressOptions) {
    const envSilent = (() => {
      try {
        return Deno.env.get("NADIR_PROGRESS") === "0";
      } catch {
        return false;
      }
    })();
    this.#opts = { unit: "", logEveryMs: 5000, silent: false, ...opts };
    if (envSilent) this.#opts.silent = true;
    this.#tty = isTerminal();
    this.#jupyter = jupyterDisplay();
  }

  /** Items counted so far. */
  get count(): number {
    return this.#count;
  }

  /** Adds `n` items; `extra` values (loss, ...) show after the bar. */
  tick(n = 1, extra?: Record<string, number | string>): void {
    this.#count += n;
    if (extra) this.#extra = extra;
    if (this.#opts.silent) return;
    const now = performance.now();
    const every = this.#tty ? 100 : this.#jupyter ? 1000 : this.#opts.logEveryMs;
    if (now - this.#last < every) return;
    this.#last = now;
    this.#draw(false);
  }

  /** Sets the absolute count (for byte offsets and the like). */
  update(count: number, extra?: Record<string, number | string>): void {
    this.tick(count - this.#count, extra);
  }

  /** Prints the final line. */
  done(): void {
    if (!this.#opts.silent) this.#draw(true);
  }

  #draw(final: boolean): void {
    const { label, total, unit } = this.#opts;
    const secs = (performance.now() - this.#start) / 1000;
    const rate = secs > 0 ? this.#count / secs : 0;
    const extra = Object.entries(this.#extra)
      .map(([k, v]) => `${k}=${typeof v === "number" ? fmt(v) : v}`)
      .join(" ");
    let line: string;
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, this.#count / total);
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = rate > 0 ? (total - this.#count) / rate : 0;
      line = `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ` +
        `${fmt(this.#count)}/${fmt(total)}${unit} ${formatRate(rate, unit)}` +
        (final ? ` ${secs.toFixed(1)}s` : ` eta ${eta.toFixed(0)}s`);
    } else {
      line = `${label} ${fmt(this.#count)}${unit} ${formatRate(rate, unit)} ${secs.toFixed(1)}s`;
    }
    if (extra) line += " " + extra;
    if (this.#jupyter) {
      // One display per bar, replaced in place; a failed display is ignored (progress is best effort).
      this.#jupyter({ "text/plain": line }, { raw: true, display_id: this.#displayId, update: this.#shown })
        .catch(() => {});
      this.#shown = true;
      return;
    }
    const out = this.#tty ? `\r\x1b[2K${line}${final ? "\n" : ""}` : line + "\n";
    try {
      Deno.stderr.writeSync(enc.encode(out));
    } catch {
      // stderr closed: progress is best effort
    }
  }
}
