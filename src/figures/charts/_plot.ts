/**
 * The plumbing between Observable Plot and a `Figure`: run Plot at a
 * size with nadir's font and colours, and put an SVG legend row above the
 * chart that wraps onto as many rows as the names need (Plot's own legends
 * are HTML, which neither resvg nor a plain SVG viewer shows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as Plot from "@observablehq/plot";
 * import { plotSvg, withLegend } from "./_plot.ts";
 * const draw = withLegend([{ name: "series", color: "#4e79a7" }], (w, h) =>
 *   plotSvg({ marks: [Plot.dot([[1, 2]])] }, w, h));
 * const svg = draw(600, 400);
 * assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400"'));
 * assert.ok(svg.includes(">series</text>"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import {
  BASE_FONT_SIZE,
  type DrawFn,
  escapeXml,
  Figure,
  FONT_FAMILY,
  type FrameText,
  plotDocument,
} from "../figure.ts";
import { colorOf } from "./_shared.ts";
import { textWidth } from "../text.ts";

/** One entry of a legend row: a swatch (a dashed line when `dash`) and a name. */
export interface LegendItem {
  name: string;
  color: string;
  /** Draw the swatch as a dashed line, for rules and validation curves. */
  dash?: boolean;
}

/** Height of one legend row above a chart, on the logical canvas. */
const LEGEND_ROW = 24;
/** Swatch width plus the gap before its name, and the gap after an entry. */
const SWATCH = 22, ENTRY_GAP = 18;

/**
 * An `<svg>` root of the given size in nadir's font around `content`, the
 * container for charts made of several Plot `<svg>`s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { svgRoot } from "./_plot.ts";
 * assert.equal(
 *   svgRoot(4, 3, "<g/>"),
 *   '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3" viewBox="0 0 4 3" font-family="DejaVu Sans, sans-serif"><g/></svg>',
 * );
 * ```
 */
export function svgRoot(width: number, height: number, content: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="${FONT_FAMILY}, sans-serif">${content}</svg>`;
}

/**
 * Runs Plot at the given size and returns its `<svg>` with nadir's font and
 * text colour. Throws when Plot wraps the chart in a `<figure>` (it does so for
 * title, caption or legend options: nadir draws those itself).
 */
export function plotSvg(
  options: Plot.PlotOptions,
  width: number,
  height: number,
  fontSize = BASE_FONT_SIZE,
): string {
  const el = Plot.plot({
    // Plot's 20 px top margin puts the y-axis label (drawn at the top-left corner) 3 px into the top
    // tick label's box; 30 clears it at nadir's font size (checked by test/figures/slides_test.ts).
    marginTop: 30,
    ...options,
    width: Math.round(width),
    height: Math.round(height),
    document: plotDocument(),
  } as Plot.PlotOptions) as unknown as { outerHTML: string; tagName: string };
  const svg = el.outerHTML;
  if (!svg.startsWith("<svg")) {
    throw new Error(
      `Plot returned <${el.tagName.toLowerCase()}> instead of <svg>: do not pass title/caption/legend to Plot`,
    );
  }
  return svg
    .replace(/^<svg([^>]*?) font-size="[^"]*"/, `<svg$1 font-size="${fontSize}"`)
    .replace(/^<svg([^>]*?) font-family="[^"]*"/, `<svg$1 font-family="${FONT_FAMILY}, sans-serif"`)
    .replace(/^<svg([^>]*?) fill="currentColor"/, `<svg$1 fill="#222"`)
    .replace(/currentColor/g, "#222");
}

/**
 * The legend above a chart: swatches and names in rows that wrap at `width`
 * (measured in the font, ./text.ts), every entry kept — a slide legend that
 * drops or clips a series misleads. A name wider than a row is shortened
 * with "…" only then, and keeps its full text in a `<title>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { legendLayout } from "./_plot.ts";
 * const items = Array.from({ length: 12 }, (_, i) => ({ name: `detector-${i} (AUC 0.99)`, color: "#000" }));
 * const { svg, height } = legendLayout(items, 600);
 * assert.equal(svg.match(/<text /g)?.length, 12);
 * assert.ok(height > 24, "wrapped onto several rows");
 * ```
 */
export function legendLayout(items: LegendItem[], width: number): { svg: string; height: number } {
  const parts: string[] = ['<g class="nadir-legend">'];
  const fs = BASE_FONT_SIZE, maxName = width - 8 - SWATCH;
  let x = 4, row = 0;
  for (const it of items) {
    let name = it.name;
    if (textWidth(name, fs) > maxName) {
      while (name.length > 1 && textWidth(name + "…", fs) > maxName) name = name.slice(0, -1);
      name += "…";
    }
    const w = SWATCH + textWidth(name, fs);
    if (x > 4 && x + w > width - 4) [x, row] = [4, row + 1];
    const y = row * LEGEND_ROW;
    parts.push(
      it.dash
        ? `<line x1="${x}" x2="${x + 18}" y1="${y + 13}" y2="${
          y + 13
        }" stroke="${it.color}" stroke-width="2.5" ` +
          `stroke-dasharray="5,3"/>`
        : `<rect x="${x}" y="${y + 5}" width="16" height="16" rx="2" fill="${it.color}"/>`,
      `<text x="${x + SWATCH}" y="${y + 18}" font-size="${fs}" fill="#222">${escapeXml(name)}` +
        (name === it.name ? "" : `<title>${escapeXml(it.name)}</title>`) + "</text>",
    );
    x += w + ENTRY_GAP;
  }
  parts.push("</g>");
  return { svg: parts.join(""), height: (row + 1) * LEGEND_ROW + 2 };
}

/**
 * Legend items for series drawn in palette order: the `i`-th name gets
 * {@link colorOf}`(i)`, as Plot's colour scale from `paletteScale(names)` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seriesItems } from "./_plot.ts";
 * assert.deepEqual(seriesItems(["benign"]), [{ name: "benign", color: "#4e79a7" }]);
 * ```
 */
export function seriesItems(names: readonly string[]): LegendItem[] {
  return names.map((name, i) => ({ name, color: colorOf(i) }));
}

/**
 * Combines a legend row and a chart into one `Figure` draw function;
 * without items the chart gets the whole size.
 */
export function withLegend(items: LegendItem[], draw: DrawFn): DrawFn {
  return (w, h) => {
    if (items.length === 0) return draw(w, h);
    const legend = legendLayout(items, w);
    const inner = draw(w, h - legend.height).replace(/^<svg/, `<svg y="${legend.height}"`);
    return svgRoot(w, h, legend.svg + inner);
  };
}

/**
 * The {@link Figure} of one Plot chart under a legend row (none without
 * items): what most charts are. `options` is called at each draw, so the
 * marks are built only when the figure is rendered, with the size the frame
 * leaves for the chart (charts that size their text to the room use it, as
 * `fontSize` may).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as Plot from "@observablehq/plot";
 * import { plotFigure } from "./_plot.ts";
 * const fig = plotFigure([{ name: "flows", color: "#4e79a7" }], () => ({ marks: [Plot.dot([[1, 2]])] }), {
 *   title: "Toy",
 * });
 * assert.ok(fig.toSVG().includes(">flows</text>"));
 * ```
 */
export function plotFigure(
  items: LegendItem[],
  options: (width: number, height: number) => Plot.PlotOptions,
  frame: FrameText,
  fontSize?: number | ((width: number, height: number) => number),
): Figure {
  return new Figure(
    withLegend(
      items,
      (w, h) => plotSvg(options(w, h), w, h, typeof fontSize === "function" ? fontSize(w, h) : fontSize),
    ),
    frame,
  );
}
