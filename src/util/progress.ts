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
type JupyterDisplay = (
  obj: unknown,
  opts: { raw?: boolean; update?: boolean; display_id?: string },
) => Promise<void>;

function jupyterDisplay(): JupyterDisplay | undefined {
  try {
    const j = (Deno as unknown as { jupyter?: { display?: JupyterDisplay } }).jupyter;
    return typeof j?.display === "function" ? j.display.bind(j) : undefined;
  } catch {
    return undefined;
  }
}

let displays = 0;

function fmt(n: number): string {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + "G";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

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
      .map(([k, v]) =>
        `${k}=${typeof v === "number" ? (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(3) : fmt(v)) : v}`
      )
      .join(" ");
    let line: string;
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, this.#count / total);
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = rate > 0 ? (total - this.#count) / rate : 0;
      line = `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ` +
        `${fmt(this.#count)}/${fmt(total)}${unit} ${fmt(rate)}${unit}/s` +
        (final ? ` ${secs.toFixed(1)}s` : ` eta ${eta.toFixed(0)}s`);
    } else {
      line = `${label} ${fmt(this.#count)}${unit} ${fmt(rate)}${unit}/s ${secs.toFixed(1)}s`;
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
