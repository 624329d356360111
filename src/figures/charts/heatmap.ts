/**
 * Matrix heat maps, such as feature correlations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heatmap } from "./heatmap.ts";
 * const fig = heatmap({ rows: ["a", "b"], cols: ["a", "b"], values: [1, 0.2, 0.2, 1] }, { legendLabel: "r" });
 * assert.ok(fig.toSVG().includes("r: -1"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import { BASE_FONT_SIZE, type Figure } from "../figure.ts";
import type { ChartOptions } from "./_shared.ts";
import { plotFigure } from "./_plot.ts";

/**
 * A matrix heat map (e.g. feature correlations), values row-major. The colour
 * scale runs over `domain` (default [-1, 1]) in `scheme` (default "rdbu",
 * reversed so negative is blue); more than 30 columns get smaller labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heatmap } from "./heatmap.ts";
 * const fig = heatmap({ rows: ["x"], cols: ["p", "q"], values: [0.1, 0.9] }, { domain: [0, 1], scheme: "blues" });
 * assert.ok(fig.toSVG().includes("value: 0"));
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
  const domain = opts.domain ?? [-1, 1];
  const small = m.cols.length > 30;
  // The legend names the two ends of the colour scale.
  const items = [
    { name: `${opts.legendLabel ?? "value"}: ${domain[0]}`, color: "#2166ac" },
    { name: `${domain[1]}`, color: "#b2182b" },
  ];
  return plotFigure(
    items,
    () => ({
      marginLeft: Math.min(
        220,
        16 + (small ? 6 : 8) * m.rows.reduce((w, l) => Math.max(w, l.length), -Infinity),
      ),
      marginBottom: Math.min(
        200,
        16 + (small ? 6 : 8) * m.cols.reduce((w, l) => Math.max(w, l.length), -Infinity),
      ),
      x: { domain: m.cols as string[], tickRotate: -60, label: null },
      y: { domain: m.rows as string[], label: null },
      color: {
        type: "linear",
        domain,
        scheme: (opts.scheme ?? "rdbu") as Plot.ColorScheme,
        reverse: true,
      },
      marks: [Plot.cell(cells, { x: "c", y: "r", fill: "v" })],
    }),
    opts,
    small ? 9 : BASE_FONT_SIZE,
  );
}
