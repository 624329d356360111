/**
 * A confusion matrix drawn as a heat map, with counts and row percentages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionMatrix } from "./confusion_matrix.ts";
 * const fig = confusionMatrix({ labels: ["benign", "attack"], matrix: [[90, 10], [5, 95]] });
 * assert.ok(fig.toSVG().includes("95.0%"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import { BASE_FONT_SIZE, type Figure } from "../figure.ts";
import type { ChartOptions } from "./_shared.ts";
import { plotFigure } from "./_plot.ts";

/** A confusion matrix: `matrix[i][j]` = count of true class `labels[i]` predicted as `predicted[j]`. */
export interface ConfusionData {
  labels: string[];
  /** Column labels when they differ from the rows (e.g. rows = attack classes, columns = alert/no alert). */
  predicted?: string[];
  matrix: number[][];
}

/**
 * Heat-mapped confusion matrix with counts and row percentages in each cell.
 * The colour is the row share, so a small class reads as clearly as a large one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionMatrix } from "./confusion_matrix.ts";
 * const fig = confusionMatrix({ labels: ["DoS", "Probe"], predicted: ["alert", "no alert"], matrix: [[9, 1], [3, 1]] });
 * assert.ok(fig.toSVG().includes("no alert"));
 * assert.throws(() => confusionMatrix({ labels: ["DoS"], matrix: [[1, 2]] }), RangeError);
 * ```
 */
export function confusionMatrix(cm: ConfusionData, opts: ChartOptions = {}): Figure {
  const cols = cm.predicted ?? cm.labels;
  if (cm.matrix.length !== cm.labels.length || cm.matrix.some((r) => r.length !== cols.length)) {
    throw new RangeError(
      `confusionMatrix: expected a ${cm.labels.length}×${cols.length} matrix, found ${cm.matrix.length}×${
        cm.matrix[0]?.length ?? 0
      }`,
    );
  }
  const cells = cm.matrix.flatMap((r, i) => {
    const total = r.reduce((a, b) => a + b, 0);
    return r.map((v, j) => ({
      t: cm.labels[i],
      p: cols[j],
      v,
      frac: total ? v / total : 0,
      text: `${v.toLocaleString("en-US")}\n${total ? (100 * v / total).toFixed(1) : "0.0"}%`,
    }));
  });
  // No legend: the axis labels name the classes.
  return plotFigure([], () => ({
    marginLeft: Math.min(260, 20 + 8.5 * cm.labels.reduce((m, l) => Math.max(m, l.length), -Infinity)),
    marginBottom: 50,
    x: { domain: cols, label: "Predicted", tickRotate: cols.length > 6 ? -25 : 0 },
    y: { domain: cm.labels, label: "True class" },
    color: { type: "linear", domain: [0, 1], scheme: "blues" },
    marks: [
      Plot.cell(cells, { x: "p", y: "t", fill: "frac", inset: 1 }),
      Plot.text(cells, {
        x: "p",
        y: "t",
        text: "text",
        // White text on the dark cells, dark text on the light ones.
        fill: (d: { frac: number }) => d.frac > 0.55 ? "white" : "#111",
        fontSize: cells.length > 60 ? 10 : BASE_FONT_SIZE,
      }),
    ],
  }), opts);
}
