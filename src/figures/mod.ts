/**
 * nadir's figures: Observable Plot charts rendered to SVG/PNG without a
 * browser, displayed inline in Jupyter (Deno kernel) and saved for slides.
 *
 * @example
 * ```ts
 * import { rocChart, saveFigure } from "./mod.ts";
 * const fig = rocChart([{ name: "kmeans", fpr: [0, 0.1, 1], tpr: [0, 0.7, 1] }], { title: "ROC" });
 * const dir = await Deno.makeTempDir();
 * await saveFigure(fig, dir, "roc", { caption: "Toy curve." });
 * ```
 * @module
 */
export * from "./figure.ts";
export * from "./charts.ts";
export * from "./save.ts";
export * from "./provenance.ts";
export * from "./display.ts";
