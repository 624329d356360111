/**
 * The plumbing between Observable Plot and a `Figure`: run Plot at a
 * size with nadir's font and colours, and put an SVG legend row above the
 * chart (Plot's own legends are HTML, which neither resvg nor a plain SVG
 * viewer shows).
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

/** One entry of a legend row: a swatch (a dashed line when `dash`) and a name. */
export interface LegendItem {
  name: string;
  color: string;
  /** Draw the swatch as a dashed line, for rules and validation curves. */
  dash?: boolean;
}

/** Height of the legend row above a chart, on the logical canvas. */
const LEGEND_HEIGHT = 26;

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

/** An SVG legend row: coloured swatches and names, wrapping is not needed for ≤10 short names. */
function legendSvg(items: LegendItem[], width: number): string {
  let x = 4;
  const parts: string[] = [];
  const charW = BASE_FONT_SIZE * 0.6;
  for (const it of items) {
    const sw = it.dash
      ? `<line x1="${x}" x2="${
        x + 18
      }" y1="13" y2="13" stroke="${it.color}" stroke-width="2.5" stroke-dasharray="5,3"/>`
      : `<rect x="${x}" y="5" width="16" height="16" rx="2" fill="${it.color}"/>`;
    parts.push(sw);
    parts.push(
      `<text x="${x + 22}" y="18" font-size="${BASE_FONT_SIZE}" fill="#222">${escapeXml(it.name)}</text>`,
    );
    x += 22 + it.name.length * charW + 18;
    if (x > width - 40) break;
  }
  return parts.join("");
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
    const inner = draw(w, h - LEGEND_HEIGHT).replace(/^<svg/, `<svg y="${LEGEND_HEIGHT}"`);
    return svgRoot(w, h, `<g>${legendSvg(items, w)}</g>${inner}`);
  };
}

/**
 * The {@link Figure} of one Plot chart under a legend row (none without
 * items): what most charts are. `options` is called at each draw, so the
 * marks are built only when the figure is rendered, at the size the frame
 * leaves for the chart.
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
  options: () => Plot.PlotOptions,
  frame: FrameText,
  fontSize?: number,
): Figure {
  return new Figure(withLegend(items, (w, h) => plotSvg(options(), w, h, fontSize)), frame);
}
