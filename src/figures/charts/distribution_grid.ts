/**
 * Small multiples of feature distributions by class.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { distributionGrid } from "./distribution_grid.ts";
 * const fig = distributionGrid([{ name: "duration", groups: [{ name: "benign", values: [1, 2, 3] }] }]);
 * assert.ok(fig.toSVG().includes(">duration</text>"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import { Figure } from "../figure.ts";
import { type ChartOptions, heavyTailed, paletteScale } from "./_shared.ts";
import { plotSvg, seriesItems, svgRoot, withLegend } from "./_plot.ts";
import { binGroups } from "./reduce.ts";

/**
 * Small multiples: one histogram per feature, classes overlaid (each
 * normalised), for "feature distributions by class". Each panel gets its own
 * x range (1st–99th percentile, or log10 when `logX` lists the feature;
 * `"auto"` decides by {@link heavyTailed}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { distributionGrid } from "./distribution_grid.ts";
 * const bytes = Array.from({ length: 200 }, (_, i) => Math.round(10 ** (i / 40)));
 * const fig = distributionGrid([
 *   { name: "src_bytes", groups: [{ name: "benign", values: bytes }], logX: "auto" },
 *   { name: "duration", groups: [{ name: "benign", values: [0, 1, 2] }, { name: "DoS", values: [3] }] },
 * ], { cols: 2, bins: 10 });
 * const svg = fig.toSVG();
 * assert.ok(svg.includes(">src_bytes (log x)</text>"));
 * assert.ok(svg.includes(">DoS</text>"));
 * ```
 */
export function distributionGrid(
  panels: { name: string; groups: { name: string; values: ArrayLike<number> }[]; logX?: boolean | "auto" }[],
  opts: ChartOptions & { cols?: number; bins?: number } = {},
): Figure {
  const classNames = [...new Set(panels.flatMap((p) => p.groups.map((g) => g.name)))];
  const cols = opts.cols ?? Math.min(4, panels.length);
  return new Figure(
    withLegend(seriesItems(classNames), (w, h) => {
      const rowsN = Math.ceil(panels.length / cols);
      const pw = w / cols, ph = h / Math.max(rowsN, 1);
      const parts: string[] = [];
      panels.forEach((p, k) => {
        const logX = p.logX === "auto" ? heavyTailed(p.groups.map((g) => g.values)) : p.logX ?? false;
        const { bins } = binGroups(p.groups, { bins: opts.bins ?? 30, logX, clipQuantile: 0.01 });
        const svg = plotSvg(
          {
            marginLeft: 46,
            marginTop: 24,
            marginBottom: 28,
            marginRight: 12,
            x: { type: logX ? "log" : "linear", label: null, ticks: 4 },
            y: { label: null, ticks: 3, tickFormat: ".0%" },
            color: paletteScale(classNames),
            marks: [
              Plot.rectY(bins, {
                x1: "x1",
                x2: "x2",
                y1: 0,
                y2: "frac",
                fill: "s",
                fillOpacity: 0.4,
                stroke: "s",
                strokeWidth: 0.6,
              }),
              Plot.text([p.name + (logX ? " (log x)" : "")], {
                frameAnchor: "top-left",
                dy: -18,
                fontSize: 12,
                fontWeight: "bold",
                fill: "#222",
              }),
            ],
          },
          pw,
          ph,
          11,
        ).replace(/^<svg/, `<svg x="${(k % cols) * pw}" y="${Math.floor(k / cols) * ph}"`);
        parts.push(svg);
      });
      return svgRoot(w, h, parts.join(""));
    }),
    opts,
  );
}
