/**
 * Charts of the drift protocol (docs/adaptation.md, notebook 06-adaptation):
 * per-window benign FPR and recall of each update policy, the effect of the
 * analyst's feedback share on the FPR at the frozen recall, and a score stream
 * with its drift detections and segment (capture) boundaries.
 *
 * Every function takes plain numbers, as the charts in ./charts.ts do (no
 * dependency on eval/ types), and returns a {@link Figure}. A policy keeps its
 * colour across the charts ({@link policyColor}); a policy that updates
 * without feedback is drawn dashed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adaptationWindows } from "./adaptation.ts";
 * const w = (fpr: number, recall: number, i: number) => ({ window: i, fpr, recall });
 * const fig = adaptationWindows([
 *   { policy: "frozen", feedback: 0, windows: [w(0.09, 0.8, 0), w(0.1, 0.82, 1)] },
 *   { policy: "sliding", feedback: 0.01, windows: [w(0.09, 0.8, 0), w(0.05, 0.81, 1)] },
 * ], { title: "Per window" });
 * const svg = fig.toSVG();
 * assert.ok(svg.includes(">Benign FPR (%)</text>") && svg.includes(">Recall (%)</text>"));
 * assert.ok(svg.includes(">sliding</text>"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import { Figure } from "./figure.ts";
import { type ChartOptions, colorOf, fmt, valueAxis } from "./charts/_shared.ts";
import { type LegendItem, plotSvg, svgRoot, withLegend } from "./charts/_plot.ts";

/** The update policies in the order their colours are assigned (others follow, in order of appearance). */
export const POLICY_ORDER: readonly string[] = ["frozen", "sliding", "incremental", "on-drift"];

/**
 * A policy's colour, the same in every chart of this module: {@link POLICY_ORDER}'s
 * index into the palette, then `others` (the policies of the chart not in that list).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { policyColor } from "./adaptation.ts";
 * import { PALETTE } from "./charts/_shared.ts";
 * assert.equal(policyColor("sliding"), PALETTE[1]);
 * assert.equal(policyColor("custom", ["custom"]), PALETTE[4]);
 * ```
 */
export function policyColor(policy: string, others: readonly string[] = []): string {
  const i = POLICY_ORDER.indexOf(policy);
  return colorOf(i >= 0 ? i : POLICY_ORDER.length + Math.max(0, others.indexOf(policy)));
}

function policiesOf(names: readonly string[]): { policies: string[]; others: string[] } {
  const seen = [...new Set(names)];
  const others = seen.filter((p) => !POLICY_ORDER.includes(p));
  return { policies: [...POLICY_ORDER.filter((p) => seen.includes(p)), ...others], others };
}

/** Share as "1 %" (up to two decimals, as the README table writes it). */
function shareText(share: number): string {
  return `${+(100 * share).toFixed(2)} %`;
}

/** Panels side by side: `panel(k, width, height)` returns Plot's `<svg>` for panel k. */
function sideBySide(
  n: number,
  panel: (k: number, w: number, h: number) => string,
): (w: number, h: number) => string {
  return (w, h) => {
    const pw = w / n;
    const parts = Array.from(
      { length: n },
      (_, k) => panel(k, pw, h).replace(/^<svg/, `<svg x="${Math.round(k * pw)}" y="0"`),
    );
    return svgRoot(w, h, parts.join(""));
  };
}

/** A bold panel title in the top-left corner of Plot's frame (the y axis has no label of its own). */
function panelTitle(text: string): Plot.Markish {
  return Plot.text([text], {
    frameAnchor: "top-left",
    dy: -18,
    fontSize: 13,
    fontWeight: "bold",
    fill: "#222",
  });
}

/** One policy's replay, window by window. */
export interface WindowSeries {
  policy: string;
  /** Share of alerts the analyst answered (0: none). */
  feedback: number;
  windows: readonly { window: number; fpr: number; recall: number }[];
}

/**
 * Benign FPR and recall per window, one panel each, one line per policy and
 * feedback share. Colour: the policy ({@link policyColor}); an updating policy
 * without feedback is dashed, with feedback solid. Rates are drawn in percent;
 * a window without benign rows (or without attacks) leaves a gap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adaptationWindows } from "./adaptation.ts";
 * const ws = [0, 1, 2].map((i) => ({ window: i, fpr: 0.1 - 0.02 * i, recall: 0.8 }));
 * const svg = adaptationWindows([
 *   { policy: "frozen", feedback: 0, windows: ws },
 *   { policy: "on-drift", feedback: 0, windows: ws },
 *   { policy: "on-drift", feedback: 0.01, windows: ws },
 * ]).toSVG();
 * assert.ok(svg.includes("dashed: no feedback · solid: 1 % feedback"));
 * assert.ok(svg.includes("stroke-dasharray"));
 * ```
 */
export function adaptationWindows(series: WindowSeries[], opts: ChartOptions = {}): Figure {
  const { policies, others } = policiesOf(series.map((s) => s.policy));
  const dashed = (s: WindowSeries) => s.feedback === 0 && s.policy !== "frozen";
  const shares = [
    ...new Set(series.filter((s) => !dashed(s) && s.policy !== "frozen").map((s) => s.feedback)),
  ];
  const items: LegendItem[] = policies.map((p) => ({ name: p, color: policyColor(p, others) }));
  if (series.some(dashed)) {
    items.push({
      name: shares.length === 1
        ? `dashed: no feedback · solid: ${shareText(shares[0])} feedback`
        : "no feedback (dashed)",
      color: "#666",
      dash: true,
    });
  }
  const metrics = [{ key: "fpr", title: "Benign FPR" }, { key: "recall", title: "Recall" }] as const;
  const maxWindow = series.reduce((m, s) => s.windows.reduce((mm, w) => Math.max(mm, w.window), m), 0);
  return new Figure(
    withLegend(
      items,
      sideBySide(metrics.length, (k, w, h) => {
        const m = metrics[k];
        const rows = series.flatMap((s, i) =>
          s.windows.map((w) => ({
            window: w.window,
            v: w[m.key],
            z: i,
            color: policyColor(s.policy, others),
          }))
        );
        const line = (keep: (s: WindowSeries) => boolean, dash?: string) =>
          Plot.line(rows.filter((r) => keep(series[r.z])), {
            x: "window",
            y: "v",
            z: "z",
            stroke: "color",
            strokeWidth: 2.2,
            ...(dash ? { strokeDasharray: dash } : {}),
          });
        return plotSvg(
          {
            marginLeft: 56,
            marginRight: 16,
            marginBottom: 46,
            grid: true,
            x: {
              label: "Window",
              ticks: maxWindow <= 12 ? Array.from({ length: maxWindow + 1 }, (_, i) => i) : 8,
              tickFormat: "d",
            },
            y: { label: null, percent: true, tickFormat: (v: number) => `${fmt(v)} %`, ticks: 6 },
            marks: [
              line((s) => !dashed(s)),
              line(dashed, "6,4"),
              Plot.dot(rows.filter((r) => Number.isFinite(r.v)), {
                x: "window",
                y: "v",
                fill: "color",
                r: rows.length > 400 ? 0 : 2.5,
              }),
              panelTitle(`${m.title} (%)`),
            ],
          },
          w,
          h,
        );
      }),
    ),
    opts,
  );
}

/** One stream's run under one policy and feedback share: its FPR at the frozen model's recall. */
export interface FeedbackPoint {
  /** The stream (a config such as "nsl-kdd-knn"): one panel each, in order of appearance. */
  stream: string;
  policy: string;
  /** Share of alerts answered, 0–1. */
  share: number;
  /** FPR at the frozen recall, 0–1. */
  fpr: number;
}

/**
 * FPR at the frozen model's recall against the feedback share, one panel per
 * stream (each with its own y range), one line per updating policy; the frozen
 * model's own FPR, where given in `frozen` (by stream), is a dashed rule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feedbackEffect } from "./adaptation.ts";
 * const svg = feedbackEffect([
 *   { stream: "nsl-kdd-knn", policy: "sliding", share: 0, fpr: 0.09 },
 *   { stream: "nsl-kdd-knn", policy: "sliding", share: 0.01, fpr: 0.05 },
 * ], { frozen: { "nsl-kdd-knn": 0.089 } }).toSVG();
 * assert.ok(svg.includes(">nsl-kdd-knn</text>"));
 * assert.ok(svg.includes("frozen model&#39;s FPR (dashed)"));
 * ```
 */
export function feedbackEffect(
  points: FeedbackPoint[],
  opts: ChartOptions & { frozen?: Record<string, number> } = {},
): Figure {
  const streams = [...new Set(points.map((p) => p.stream))];
  const { policies, others } = policiesOf(points.map((p) => p.policy));
  const items: LegendItem[] = policies.map((p) => ({ name: p, color: policyColor(p, others) }));
  const frozen = opts.frozen ?? {};
  if (streams.some((s) => Number.isFinite(frozen[s]))) {
    items.push({ name: "frozen model's FPR (dashed)", color: policyColor("frozen"), dash: true });
  }
  return new Figure(
    withLegend(
      items,
      sideBySide(streams.length, (k, w, h) => {
        const stream = streams[k];
        const rows = points.filter((p) => p.stream === stream && Number.isFinite(p.fpr))
          .map((p) => ({
            x: 100 * p.share,
            y: p.fpr,
            policy: p.policy,
            color: policyColor(p.policy, others),
          }))
          .sort((a, b) => a.x - b.x);
        const xs = [...new Set(rows.map((r) => r.x))].sort((a, b) => a - b);
        const ref = frozen[stream];
        // A y range around every value and the rule, padded: a stream where all runs tie (one value) still
        // gets a readable axis instead of a single clipped tick.
        const ys = [...rows.map((r) => r.y), ...(Number.isFinite(ref) ? [ref] : [])];
        const lo = ys.reduce((m, v) => Math.min(m, v), Infinity),
          hi = ys.reduce((m, v) => Math.max(m, v), -Infinity);
        const pad = Math.max((hi - lo) * 0.08, 0.005);
        return plotSvg(
          {
            marginLeft: 64,
            marginRight: 16,
            marginBottom: 46,
            grid: true,
            x: {
              label: "Feedback (% of alerts)",
              ticks: xs,
              tickFormat: (v: number) => `${fmt(v)}`,
              inset: 12,
            },
            y: {
              label: null,
              percent: true,
              tickFormat: (v: number) => `${fmt(v)} %`,
              ticks: 5,
              // In percent: `percent` scales the values by 100 before the domain applies.
              ...(ys.length ? { domain: [100 * Math.max(0, lo - pad), 100 * Math.min(1, hi + pad)] } : {}),
            },
            marks: [
              ...(Number.isFinite(ref)
                ? [
                  Plot.ruleY([ref], {
                    stroke: policyColor("frozen"),
                    strokeDasharray: "6,4",
                    strokeWidth: 2,
                  }),
                ]
                : []),
              Plot.line(rows, { x: "x", y: "y", z: "policy", stroke: "color", strokeWidth: 2.2 }),
              Plot.dot(rows, { x: "x", y: "y", fill: "color", r: 4 }),
              panelTitle(stream),
            ],
          },
          w,
          h,
        );
      }),
    ),
    opts,
  );
}

/** A score stream in order: the rows' scores, the consecutive segments they come from, and events. */
export interface StreamScores {
  /** Score per row, in stream order. */
  score: ArrayLike<number>;
  /** Consecutive segments (captures) covering the rows in order: name and row count. */
  segments: readonly { name: string; rows: number }[];
  /** Alert threshold (a dashed horizontal rule). */
  threshold?: number;
  /** Rows at which a drift detector fired (dashed vertical rules). */
  events?: readonly number[];
  /** What the events are, for the legend (default "drift detected"). */
  eventName?: string;
}

/**
 * Each row's score over its stream position, coloured by segment, with thin
 * grey rules at segment boundaries, dashed rules where drift was detected and
 * the threshold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scoreStream } from "./adaptation.ts";
 * const score = Array.from({ length: 60 }, (_, i) => (i < 30 ? 0.2 : 3) + (i % 5) / 10);
 * const svg = scoreStream({
 *   score,
 *   segments: [{ name: "web (benign)", rows: 30 }, { name: "scan (attack)", rows: 30 }],
 *   threshold: 1,
 *   events: [34],
 *   eventName: "ADWIN drift",
 * }).toSVG();
 * assert.ok(svg.includes(">scan (attack)</text>"));
 * assert.ok(svg.includes(">ADWIN drift (1)</text>"));
 * ```
 */
export function scoreStream(
  data: StreamScores,
  opts: ChartOptions & { logY?: boolean; yLabel?: string } = {},
): Figure {
  const total = data.segments.reduce((n, s) => n + s.rows, 0);
  if (total !== data.score.length) {
    throw new RangeError(
      `scoreStream: the segments hold ${total} rows but there are ${data.score.length} scores`,
    );
  }
  const rows: { i: number; v: number; color: string }[] = [];
  const starts: number[] = [];
  let at = 0;
  data.segments.forEach((s, k) => {
    if (k > 0) starts.push(at);
    for (let i = at; i < at + s.rows; i++) rows.push({ i, v: data.score[i], color: colorOf(k) });
    at += s.rows;
  });
  const events = data.events ?? [];
  const items: LegendItem[] = data.segments.map((s, k) => ({ name: s.name, color: colorOf(k) }));
  if (data.threshold !== undefined) {
    items.push({ name: `threshold ${fmt(data.threshold)}`, color: "#999", dash: true });
  }
  if (data.events) {
    items.push({
      name: `${data.eventName ?? "drift detected"} (${events.length})`,
      color: "#222",
      dash: true,
    });
  }
  const finite = rows.filter((r) => Number.isFinite(r.v));
  let lo = Infinity, hi = -Infinity;
  for (const r of finite) if (r.v > 0) lo = Math.min(lo, r.v), hi = Math.max(hi, r.v);
  return new Figure(
    withLegend(items, (w, h) =>
      plotSvg(
        {
          marginLeft: 64,
          marginRight: 16,
          marginBottom: 46,
          grid: true,
          x: { label: "Stream position (row)", domain: [0, Math.max(1, total - 1)] },
          y: valueAxis(opts.yLabel ?? "Anomaly score", opts.logY, lo <= hi ? [lo, hi] : undefined),
          marks: [
            Plot.ruleX(starts, { stroke: "#bbb", strokeWidth: 1 }),
            Plot.dot(finite, { x: "i", y: "v", fill: "color", r: 2.2, fillOpacity: 0.75 }),
            ...(data.threshold !== undefined
              ? [Plot.ruleY([data.threshold], { stroke: "#999", strokeDasharray: "6,4", strokeWidth: 2 })]
              : []),
            Plot.ruleX(events, { stroke: "#222", strokeDasharray: "5,3", strokeWidth: 1.6 }),
          ],
        },
        w,
        h,
      )),
    opts,
  );
}
