/**
 * Horizontal bar charts, plain or grouped, with interval whiskers: per-class
 * recall with confidence intervals, detector comparisons.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { barChart } from "./bar.ts";
 * const fig = barChart([{ label: "DoS", value: 0.91, lo: 0.89, hi: 0.93 }], { percent: true, domain: [0, 1] });
 * assert.ok(fig.toSVG().includes("91.0%"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { Figure } from "../figure.ts";
import { type ChartOptions, fmt, PALETTE, paletteScale, pct } from "./_shared.ts";
import { BASE_FONT_SIZE } from "../figure.ts";
import { textWidth } from "../text.ts";
import { plotFigure, seriesItems } from "./_plot.ts";

/** One bar: `label` on the category axis, optional `group` (colour, grouped bars) and interval. */
export interface Bar {
  label: string;
  value: number;
  group?: string;
  /** Lower end of an interval (e.g. Wilson 95 % lower bound). */
  lo?: number;
  hi?: number;
}

/**
 * Horizontal bars (categories on y), grouped and coloured by `group` when
 * given, with interval whiskers from `lo`/`hi`. Use it for per-class recall
 * with confidence intervals and for detector comparisons (`comparisonChart`).
 * Value labels are drawn by default on plain bars only (`valueLabels`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { barChart } from "./bar.ts";
 * const fig = barChart([
 *   { label: "DoS", group: "kmeans", value: 0.8 },
 *   { label: "DoS", group: "autoencoder", value: 0.9 },
 * ], { xLabel: "Recall" });
 * const svg = fig.toSVG();
 * assert.ok(svg.includes(">autoencoder</text>"));
 * assert.ok(!svg.includes(">0.9</text>"));
 * ```
 */
export function barChart(
  bars: Bar[],
  opts: ChartOptions & {
    xLabel?: string;
    domain?: [number, number];
    percent?: boolean;
    valueLabels?: boolean;
  } = {},
): Figure {
  const labels = [...new Set(bars.map((b) => b.label))];
  const groups = [...new Set(bars.map((b) => b.group ?? ""))];
  const grouped = groups.length > 1 || groups[0] !== "";
  const items = grouped ? seriesItems(groups) : [];
  const rows = bars.map((b) => ({
    ...b,
    g: b.group ?? "",
    txt: opts.percent ? pct(b.value) : fmt(b.value),
  }));
  const marginTop = 30, marginBottom = 46;
  // Text sized to the room: a category label gets at most 80 % of its row, a value label 80 % of its bar, so
  // neighbours never overlap (test/figures/slides_test.ts checks the boxes). Too dense for legible labels
  // (under 8 units, ≈ 11 px on a 1600 px slide): value labels are left out rather than stacked.
  const rowPitch = (h: number) => (h - marginTop - marginBottom) / Math.max(1, labels.length);
  const labelFont = (h: number) => Math.max(8, Math.min(BASE_FONT_SIZE, 0.8 * rowPitch(h)));
  const valueFont = (h: number) =>
    Math.min(BASE_FONT_SIZE, 0.8 * 0.9 * rowPitch(h) / (grouped ? groups.length : 1));
  const longest = (h: number) => labels.reduce((m, l) => Math.max(m, textWidth(l, labelFont(h))), 0);
  const at = { y: grouped ? "g" : "label", fy: grouped ? "label" : undefined };
  const whisker = { stroke: "#222", strokeWidth: 1.6 };
  const cap = { ...whisker, inset: grouped ? 1 : 12 };
  const showValues = opts.valueLabels ?? !grouped;
  return plotFigure(
    items,
    (w, h) => ({
      marginLeft: Math.min(0.4 * w, 16 + longest(h)),
      marginRight: 60,
      marginTop,
      marginBottom,
      x: {
        grid: true,
        label: opts.xLabel ?? null,
        domain: opts.domain,
        tickFormat: opts.percent ? ((v: number) => `${Math.round(v * 100)}%`) : undefined,
      },
      ...(grouped
        ? {
          fy: { domain: labels, label: null },
          y: { domain: groups, axis: null },
        }
        : { y: { domain: labels, label: null } }),
      color: paletteScale(groups),
      marks: [
        Plot.barX(rows, { x: "value", ...at, fill: grouped ? "g" : PALETTE[0] }),
        Plot.ruleY(rows.filter((r) => r.lo !== undefined && r.hi !== undefined), {
          x1: "lo",
          x2: "hi",
          ...at,
          ...whisker,
        }),
        Plot.tickX(rows.filter((r) => r.lo !== undefined), { x: "lo", ...at, ...cap }),
        Plot.tickX(rows.filter((r) => r.hi !== undefined), { x: "hi", ...at, ...cap }),
        ...(showValues && valueFont(h) >= 8
          ? [Plot.text(rows, {
            x: (r: Bar) => r.hi ?? r.value,
            ...at,
            text: "txt",
            dx: 6,
            textAnchor: "start",
            fill: "#222",
            fontSize: valueFont(h),
          })]
          : []),
      ],
    }),
    opts,
    (_w, h) => labelFont(h),
  );
}
