/**
 * Matrix heat maps, such as feature correlations, with a continuous colour
 * bar above the chart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heatmap } from "./heatmap.ts";
 * const fig = heatmap({ rows: ["a", "b"], cols: ["a", "b"], values: [1, 0.2, 0.2, 1] }, { legendLabel: "r" });
 * const svg = fig.toSVG();
 * assert.ok(svg.includes("<linearGradient"));
 * assert.ok(svg.includes(">r</text>") && svg.includes(">−1</text>") && svg.includes(">1</text>"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import { textWidth } from "../text.ts";
import { BASE_FONT_SIZE, escapeXml, Figure } from "../figure.ts";
import { type ChartOptions, fmt } from "./_shared.ts";
import { plotSvg, svgRoot } from "./_plot.ts";

/** A continuous colour scale as the heat map's cells use it. */
export interface ColorScaleSpec {
  domain: [number, number];
  /** A Plot colour scheme name, e.g. "rdbu" or "blues". */
  scheme: string;
  reverse?: boolean;
}

/** Size of the colour bar on the logical canvas; room below it for the tick labels. */
const BAR_WIDTH = 260, BAR_HEIGHT = 14, BAR_TOP = 4, BAR_ROW = 46;
/** Colours sampled along the bar: enough that the gradient between them shows no bands. */
const STOPS = 21;

/** An axis number with a typographic minus ("−1", not "-1"). */
function tickText(v: number): string {
  return fmt(v).replace(/^-/, "−");
}

/** FNV-1a of `s` in base 36: a short id that is the same for the same gradient in every render. */
function hashId(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/**
 * A horizontal colour bar in SVG: a `<linearGradient>` sampled (21 stops) from
 * the same Plot colour scale the cells are filled with, ticks and labels at
 * both ends of the domain and its midpoint, and `label` to its right. Plot's
 * own colour legend is HTML, which resvg does not draw. The gradient's id is
 * derived from its colours, so two bars on one page that share an id also
 * share their colours. Returns the `<g>` and the height it takes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colorBar } from "./heatmap.ts";
 * const { svg, height } = colorBar({ domain: [-1, 1], scheme: "rdbu", reverse: true }, "Pearson r");
 * assert.equal(svg.match(/<stop /g)?.length, 21);
 * assert.ok(svg.includes('<stop offset="0%" stop-color="rgb(5, 48, 97)"/>'), "blue at −1");
 * assert.ok(svg.includes('<stop offset="100%" stop-color="rgb(103, 0, 31)"/>'), "red at +1");
 * assert.deepEqual([...svg.matchAll(/text-anchor="middle"[^>]*>([^<]*)</g)].map((m) => m[1]), ["−1", "0", "1"]);
 * assert.ok(svg.includes(">Pearson r</text>") && height > 30);
 * ```
 */
export function colorBar(
  scale: ColorScaleSpec,
  label: string,
  x = 4,
  fontSize = BASE_FONT_SIZE,
): { svg: string; height: number } {
  const [d0, d1] = scale.domain;
  const color = Plot.scale({
    color: {
      type: "linear",
      domain: [d0, d1],
      scheme: scale.scheme as Plot.ColorScheme,
      reverse: scale.reverse,
    },
  });
  const stops = Array.from({ length: STOPS }, (_, i) => {
    const t = i / (STOPS - 1);
    return `<stop offset="${Math.round(t * 1000) / 10}%" stop-color="${color.apply(d0 + t * (d1 - d0))}"/>`;
  });
  const id = `nadir-cbar-${hashId(stops.join(""))}`;
  const ticks = [0, 0.5, 1].map((t) => {
    const tx = x + t * BAR_WIDTH, y = BAR_TOP + BAR_HEIGHT;
    return `<line x1="${tx}" x2="${tx}" y1="${y}" y2="${y + 4}" stroke="#222"/>` +
      `<text x="${tx}" y="${y + 6 + fontSize}" font-size="${fontSize}" fill="#222" text-anchor="middle">` +
      `${tickText(d0 + t * (d1 - d0))}</text>`;
  });
  const svg = `<g class="nadir-colorbar"><defs><linearGradient id="${id}" x1="0" x2="1" y1="0" y2="0">` +
    stops.join("") + "</linearGradient></defs>" +
    `<rect x="${x}" y="${BAR_TOP}" width="${BAR_WIDTH}" height="${BAR_HEIGHT}" fill="url(#${id})" ` +
    `stroke="#999" stroke-width="0.5"/>` + ticks.join("") +
    `<text x="${x + BAR_WIDTH + 12}" y="${BAR_TOP + BAR_HEIGHT / 2}" dy="0.35em" font-size="${fontSize}" ` +
    `fill="#222">${escapeXml(label)}</text></g>`;
  return { svg, height: BAR_ROW };
}

/**
 * A matrix heat map (e.g. feature correlations), values row-major. The colour
 * scale runs over `domain` (default [-1, 1]) in `scheme` (default "rdbu",
 * reversed so negative is blue), shown by a colour bar above the chart
 * ({@link colorBar}) named `legendLabel` (default "value"). Labels shrink
 * with the number of rows and columns so that neighbours never overlap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heatmap } from "./heatmap.ts";
 * const fig = heatmap({ rows: ["x"], cols: ["p", "q"], values: [0.1, 0.9] }, { domain: [0, 1], scheme: "blues" });
 * const svg = fig.toSVG();
 * assert.ok(svg.includes(">value</text>") && svg.includes(">0.5</text>"));
 * assert.throws(() => heatmap({ rows: ["x"], cols: ["p"], values: [1, 2] }), RangeError);
 * ```
 */
export function heatmap(
  m: { rows: readonly string[]; cols: readonly string[]; values: ArrayLike<number> },
  opts: ChartOptions & { domain?: [number, number]; scheme?: string; legendLabel?: string } = {},
): Figure {
  if (m.values.length !== m.rows.length * m.cols.length) {
    throw new RangeError(`heatmap: ${m.values.length} values for ${m.rows.length}×${m.cols.length} cells`);
  }
  const cells: { r: string; c: string; v: number }[] = [];
  for (let i = 0; i < m.rows.length; i++) {
    for (let j = 0; j < m.cols.length; j++) {
      cells.push({ r: m.rows[i], c: m.cols[j], v: m.values[i * m.cols.length + j] });
    }
  }
  const scale: ColorScaleSpec = {
    domain: opts.domain ?? [-1, 1],
    scheme: opts.scheme ?? "rdbu",
    reverse: true,
  };
  // Label size from the room a row (and, for the rotated column labels, a column) gets: at most 80 % of the
  // pitch, so neighbouring labels never overlap (38 KDD features at 14 units overlapped in a 480-unit chart).
  const longest = (labels: readonly string[], size: number) =>
    labels.reduce((w, l) => Math.max(w, textWidth(l, size)), 0);
  const layout = (w: number, h: number) => {
    const marginTop = 30, marginRight = 20;
    let size = BASE_FONT_SIZE;
    for (let k = 0; k < 4; k++) {
      const marginLeft = Math.min(0.35 * w, 12 + longest(m.rows, size));
      const marginBottom = Math.min(0.4 * h, 16 + Math.sin(Math.PI / 3) * longest(m.cols, size));
      const rowPitch = (h - marginTop - marginBottom) / Math.max(1, m.rows.length);
      const colPitch = (w - marginLeft - marginRight) / Math.max(1, m.cols.length);
      size = Math.max(5, Math.min(BASE_FONT_SIZE, 0.8 * rowPitch, 0.8 * Math.sin(Math.PI / 3) * colPitch));
    }
    const marginLeft = Math.min(0.35 * w, 12 + longest(m.rows, size));
    const marginBottom = Math.min(0.4 * h, 16 + Math.sin(Math.PI / 3) * longest(m.cols, size));
    return { size, marginTop, marginRight, marginLeft, marginBottom };
  };
  const options = (l: ReturnType<typeof layout>): Plot.PlotOptions => ({
    marginLeft: l.marginLeft,
    marginTop: l.marginTop,
    marginRight: l.marginRight,
    marginBottom: l.marginBottom,
    x: { domain: m.cols as string[], tickRotate: -60, label: null },
    y: { domain: m.rows as string[], label: null },
    color: { type: "linear", domain: scale.domain, scheme: scale.scheme as Plot.ColorScheme, reverse: true },
    marks: [Plot.cell(cells, { x: "c", y: "r", fill: "v" })],
  });
  return new Figure((w, h) => {
    const probe = colorBar(scale, opts.legendLabel ?? "value", 0);
    const l = layout(w, h - probe.height);
    // The bar starts where the cells do, so it reads as the chart's key rather than a stray legend.
    const bar = colorBar(scale, opts.legendLabel ?? "value", l.marginLeft);
    const chart = plotSvg(options(l), w, h - bar.height, l.size).replace(/^<svg/, `<svg y="${bar.height}"`);
    return svgRoot(w, h, bar.svg + chart);
  }, opts);
}
