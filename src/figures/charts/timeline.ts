/**
 * Scores and alerts over time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timeline } from "./timeline.ts";
 * const fig = timeline({ scores: { t: [0, 1000, 2000], score: [0.1, 0.9, 0.2] }, alerts: [{ t: 1000 }], threshold: 0.5 });
 * assert.ok(fig.toSVG().includes("alerts (1)"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { Figure } from "../figure.ts";
import { type ChartOptions, fmt, PALETTE, valueAxis } from "./_shared.ts";
import { plotFigure } from "./_plot.ts";

/** A timeline of scores with alerts: `t` in epoch milliseconds (or Date). */
export interface TimelineData {
  /** Score per flow/window over time. */
  scores?: { t: ArrayLike<number>; score: ArrayLike<number> };
  /** Alerts raised (shown as red marks on the score or on a separate row). */
  alerts?: { t: number | Date; score?: number; label?: string }[];
  threshold?: number;
}

/** Number of intervals the time axis is bucketed into: about one per pixel column. */
const BUCKETS = 800;

/**
 * Scores over time (bucketed to the max per ~pixel column, so short spikes
 * stay visible), the threshold, and the alerts as red dots. Time is absolute
 * (UTC) unless `relative` is set, then seconds from the first event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timeline } from "./timeline.ts";
 * const t = Array.from({ length: 100 }, (_, i) => i * 1000);
 * const fig = timeline({ scores: { t, score: t.map((x) => x % 7) } }, { relative: true, yLabel: "Flow score" });
 * const svg = fig.toSVG();
 * assert.ok(svg.includes("Seconds from start"));
 * assert.ok(svg.includes("Flow score"));
 * ```
 */
export function timeline(
  data: TimelineData,
  opts: ChartOptions & { logY?: boolean; relative?: boolean; yLabel?: string } = {},
): Figure {
  const ts = data.scores?.t ?? [];
  const ss = data.scores?.score ?? [];
  if (ts.length !== ss.length) throw new RangeError(`timeline: ${ts.length} times but ${ss.length} scores`);
  const alerts = (data.alerts ?? []).map((a) => ({ ...a, t: +a.t }));
  let t0 = Infinity, t1 = -Infinity;
  for (let i = 0; i < ts.length; i++) t0 = Math.min(t0, ts[i]), t1 = Math.max(t1, ts[i]);
  for (const a of alerts) t0 = Math.min(t0, a.t), t1 = Math.max(t1, a.t);
  if (!Number.isFinite(t0)) t0 = 0, t1 = 1;
  const nb = BUCKETS;
  const span = Math.max(t1 - t0, 1e-9);
  const maxs = new Float64Array(nb).fill(NaN);
  for (let i = 0; i < ts.length; i++) {
    const b = Math.min(nb - 1, Math.floor((ts[i] - t0) / span * nb));
    const v = ss[i];
    if (Number.isFinite(v) && !(maxs[b] >= v)) maxs[b] = v;
  }
  const conv = (t: number) => opts.relative ? (t - t0) / 1000 : new Date(t);
  const line: { t: number | Date; v: number }[] = [];
  for (let b = 0; b < nb; b++) {
    if (!Number.isNaN(maxs[b])) line.push({ t: conv(t0 + (b + 0.5) * span / nb), v: maxs[b] });
  }
  const hasScores = line.length > 0;
  const alertRows = alerts.map((a) => ({
    t: conv(a.t),
    v: a.score ?? data.threshold ?? 1,
    label: a.label ?? "alert",
  }));
  const items = [
    ...(hasScores ? [{ name: "max score per interval", color: PALETTE[0] }] : []),
    ...(data.threshold !== undefined
      ? [{ name: `threshold ${fmt(data.threshold)}`, color: "#999", dash: true }]
      : []),
    { name: `alerts (${alerts.length.toLocaleString("en-US")})`, color: "#d62728" },
  ];
  return plotFigure(items, () => ({
    marginLeft: 70,
    marginBottom: 46,
    grid: true,
    x: {
      type: opts.relative ? "linear" : "utc",
      label: opts.relative ? "Seconds from start" : "Time (UTC)",
    },
    y: valueAxis(opts.yLabel ?? "Anomaly score", opts.logY),
    marks: [
      Plot.line(line, { x: "t", y: "v", stroke: PALETTE[0], strokeWidth: 1.4 }),
      ...(data.threshold !== undefined
        ? [Plot.ruleY([data.threshold], { stroke: "#999", strokeDasharray: "6,4", strokeWidth: 2 })]
        : []),
      Plot.dot(alertRows, { x: "t", y: "v", fill: "#d62728", r: 4, fillOpacity: 0.8 }),
    ],
  }), opts);
}
