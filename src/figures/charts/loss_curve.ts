/**
 * Training curves: loss per epoch of one or more models.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossCurve } from "./loss_curve.ts";
 * const fig = lossCurve([{ name: "autoencoder", loss: [1, 0.5, 0.3] }], { title: "Training loss" });
 * assert.ok(fig.toSVG().startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { Figure } from "../figure.ts";
import { type ChartOptions, paletteScale, positiveExtent, valueAxis } from "./_shared.ts";
import { plotFigure, seriesItems } from "./_plot.ts";

/** Training history of one model. */
export interface LossHistory {
  name: string;
  loss: ArrayLike<number>;
  valLoss?: ArrayLike<number>;
}

/**
 * Training (solid) and validation (dashed) loss per epoch. With `logY` the
 * loss axis is logarithmic and labelled from the data's extent: every tick
 * when the losses span under 1.5 decades, 1/2/5 beyond, and always a label
 * near the top and the bottom.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossCurve } from "./loss_curve.ts";
 * const fig = lossCurve([{ name: "ae", loss: [0.6, 0.1, 0.05], valLoss: [0.5, 0.2, 0.06] }], { logY: true });
 * const svg = fig.toSVG();
 * assert.ok(svg.includes("validation (dashed)"));
 * assert.ok(svg.includes("Loss (log)"));
 * // 0.05 to 0.6 is under 1.5 decades: 0.3, 0.4 and 0.6 are labelled, not just 0.1, 0.2 and 0.5.
 * assert.ok([">0.3</text>", ">0.4</text>", ">0.6</text>"].every((s) => svg.includes(s)));
 * ```
 */
export function lossCurve(histories: LossHistory[], opts: ChartOptions & { logY?: boolean } = {}): Figure {
  const data: { epoch: number; loss: number; s: string; kind: string }[] = [];
  for (const h of histories) {
    for (let i = 0; i < h.loss.length; i++) {
      data.push({ epoch: i + 1, loss: h.loss[i], s: h.name, kind: "train" });
    }
    if (h.valLoss) {
      for (let i = 0; i < h.valLoss.length; i++) {
        data.push({ epoch: i + 1, loss: h.valLoss[i], s: h.name, kind: "validation" });
      }
    }
  }
  const names = histories.map((h) => h.name);
  const maxEpoch = data.reduce((m, d) => Math.max(m, d.epoch), 1);
  const extent = positiveExtent(data.map((d) => d.loss));
  const items = seriesItems(names);
  if (histories.some((h) => h.valLoss)) {
    items.push({ name: "validation (dashed)", color: "#666", dash: true });
  }
  const line = { x: "epoch", y: "loss", z: "s", stroke: "s", strokeWidth: 2.5 };
  return plotFigure(items, () => ({
    marginLeft: 70,
    marginBottom: 46,
    grid: true,
    x: {
      label: "Epoch",
      // Integer ticks only: with 2-3 epochs Plot's default ticks are fractional.
      ticks: maxEpoch <= 12 ? Array.from({ length: maxEpoch }, (_, i) => i + 1) : 10,
      tickFormat: "d",
    },
    // The data extent lets a log axis label enough ticks to be read (every one under 1.5 decades).
    y: valueAxis(opts.logY ? "Loss (log)" : "Loss", opts.logY, extent),
    color: paletteScale(names),
    marks: [
      Plot.line(data.filter((d) => d.kind === "train"), line),
      Plot.line(data.filter((d) => d.kind === "validation"), { ...line, strokeDasharray: "6,4" }),
      // Dots mark the epochs while there are few; on long runs they would hide the line.
      Plot.dot(data, { x: "epoch", y: "loss", fill: "s", r: data.length > 200 ? 0 : 3 }),
    ],
  }), opts);
}
