/**
 * Recall by attack class for many detectors at once, as a grid: one row per
 * detector, one column per class, the recall printed in each cell and shaded.
 *
 * Why not grouped bars: 14 detectors × 15 classes made bars a few pixels tall
 * on a slide, and the eye cannot line up a colour in a legend of 14 with a
 * bar in the ninth group. In a grid a detector is a row to read across and a
 * class a column to read down. Intervals do not fit in a cell: a class whose
 * Wilson 95 % interval is wider than ±10 points gets its recall in italics
 * and a "±" in its cell, so small classes still read as uncertain.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recallGrid } from "./recall_grid.ts";
 * const fig = recallGrid([
 *   { detector: "knn", cls: "DoS (n=7,458)", recall: 0.962, lo: 0.957, hi: 0.966 },
 *   { detector: "knn", cls: "U2R (n=20)", recall: 0.9, lo: 0.7, hi: 0.98 },
 * ]);
 * const svg = fig.toSVG();
 * assert.ok(svg.includes(">96%<") && svg.includes(">90%±<"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import { BASE_FONT_SIZE, type Figure } from "../figure.ts";
import { textWidth, wrapToWidth } from "../text.ts";
import { type ChartOptions, pct } from "./_shared.ts";
import { plotFigure } from "./_plot.ts";

/** One cell: a detector's recall on one class, with its interval. */
export interface RecallCell {
  detector: string;
  cls: string;
  recall: number;
  lo?: number;
  hi?: number;
}

/** Recall as a cell label: whole percent from 1 % up, {@link pct}'s digits below (never "0.0%"). */
function cellText(c: RecallCell): string {
  const p = 100 * c.recall;
  const v = p >= 1 ? `${Math.round(p)}%` : pct(c.recall);
  return wide(c) ? `${v}±` : v;
}

/** Interval wider than ±10 points. */
function wide(c: RecallCell): boolean {
  return c.lo !== undefined && c.hi !== undefined && c.hi - c.lo > 0.2;
}

/**
 * The grid of `cells` (detectors × classes, in first-seen order). Cell text
 * is sized to the cell; column labels wrap onto up to three lines.
 */
export function recallGrid(cells: RecallCell[], opts: ChartOptions = {}): Figure {
  const detectors = [...new Set(cells.map((c) => c.detector))];
  const classes = [...new Set(cells.map((c) => c.cls))];
  const rows = cells.map((c) => ({ ...c, text: cellText(c), italic: wide(c) }));
  const marginTop = 30, marginBottom = 64, marginRight = 10;
  const marginLeft = 16 + detectors.reduce((m, d) => Math.max(m, textWidth(d, BASE_FONT_SIZE)), 0);
  return plotFigure([], (w, h) => {
    const cellW = (w - marginLeft - marginRight) / Math.max(1, classes.length);
    const cellH = (h - marginTop - marginBottom) / Math.max(1, detectors.length);
    // The widest label, "100%±", within 85 % of the cell's width and 60 % of its height.
    const fit = 0.85 * cellW / (textWidth("100%±", 1) || 1);
    const fontSize = Math.max(7, Math.min(BASE_FONT_SIZE, 0.6 * cellH, fit));
    // Column labels: the size at which every word fits the column, then wrapped by measured width.
    const words = classes.flatMap((c) => c.split(/\s+/));
    const labelFont = Math.max(
      7,
      words.reduce((m, wd) => Math.min(m, 0.92 * cellW / (textWidth(wd, 1) || 1)), 12),
    );
    const wrapped = new Map(classes.map((c) => [c, wrapToWidth(c, labelFont, 0.92 * cellW).join("\n")]));
    return {
      marginLeft,
      marginTop,
      marginBottom,
      marginRight,
      x: { domain: classes, label: null, axis: null },
      y: { domain: detectors, label: null, tickSize: 0 },
      color: { type: "linear", domain: [0, 1], scheme: "blues" },
      marks: [
        Plot.cell(rows, { x: "cls", y: "detector", fill: "recall", inset: 1 }),
        // Two marks: Plot takes a font style per mark, not per datum.
        ...[false, true].map((italic) =>
          Plot.text(rows.filter((r) => r.italic === italic), {
            x: "cls",
            y: "detector",
            text: "text",
            fontSize,
            fontStyle: italic ? "italic" : "normal",
            fill: (d: RecallCell) => d.recall > 0.55 ? "white" : "#111",
          })
        ),
        // Class names under the columns, wrapped to the column's width (Plot splits them into lines).
        Plot.axisX({
          anchor: "bottom",
          label: null,
          tickSize: 0,
          fontSize: labelFont,
          tickFormat: (c: string) => wrapped.get(c) ?? c,
        }),
      ],
    };
  }, opts);
}
