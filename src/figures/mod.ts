/**
 * nadir's figures: Observable Plot charts rendered to SVG/PNG without a
 * browser, displayed inline in Jupyter (Deno kernel) and saved for slides.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocChart, saveFigure } from "nadir/figures";
 * const fig = rocChart([{ name: "kmeans", fpr: [0, 0.1, 1], tpr: [0, 0.7, 1] }], { title: "ROC" });
 * assert.match(fig.toSVG(), /^<svg/);
 * const dir = await Deno.makeTempDir();
 * const saved = await saveFigure(fig, dir, "roc", { caption: "Toy curve." });
 * assert.ok((await Deno.stat(saved.png)).size > 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export * from "./figure.ts";
export * from "./charts.ts";
export * from "./save.ts";
export * from "./provenance.ts";
export * from "./display.ts";
// Custom charts in a notebook cell: any Observable Plot options, framed like nadir's own charts.
export { type LegendItem, plotFigure, plotSvg, seriesItems, withLegend } from "./charts/_plot.ts";
