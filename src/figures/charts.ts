/**
 * The charts nadir's notebooks, reports and slides use, drawn with Observable
 * Plot into SVG strings (no browser). Every function takes plain numbers (no
 * dependency on eval/ or detectors/ types) and returns a {@link Figure}.
 *
 * Large inputs are reduced before Plot sees them (curves thinned to ~1500
 * points, histograms binned here over typed arrays, timelines bucketed) so a
 * chart of millions of scores still renders in well under a second.
 *
 * Legends are drawn here as SVG (Plot's own legends are HTML, which neither
 * resvg nor a plain SVG viewer shows).
 *
 * @example
 * ```ts
 * import { rocChart } from "./charts.ts";
 * const fig = rocChart([{ name: "kmeans", fpr: [0, 0.1, 1], tpr: [0, 0.8, 1], auc: 0.85 }]);
 * console.assert(fig.toSVG().includes("AUC 0.850"));
 * ```
 * @module
 */
import * as Plot from "@observablehq/plot";
import { quantileSorted } from "../util/quantile.ts";
import {
  BASE_FONT_SIZE,
  type DrawFn,
  escapeXml,
  Figure,
  FONT_FAMILY,
  type FrameText,
  plotDocument,
} from "./figure.ts";

/** Categorical palette (Tableau 10): first colour is used for benign traffic. */
export const PALETTE: readonly string[] = [
  "#4e79a7",
  "#f28e2c",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc949",
  "#af7aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ab",
];

/** Colour of series `i` (cycles through {@link PALETTE}). */
export function colorOf(i: number): string {
  return PALETTE[i % PALETTE.length];
}

const LEGEND_HEIGHT = 26;

/** Runs Plot at the given size and returns its `<svg>` with nadir's font. */
function plotSvg(
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
function legendSvg(items: { name: string; color: string; dash?: boolean }[], width: number): string {
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

/** Combines a legend row and a Plot chart into one `<svg>` of the given size. */
function withLegend(
  items: { name: string; color: string; dash?: boolean }[],
  draw: (w: number, h: number) => string,
): DrawFn {
  return (w, h) => {
    if (items.length === 0) return draw(w, h);
    const inner = draw(w, h - LEGEND_HEIGHT).replace(/^<svg/, `<svg y="${LEGEND_HEIGHT}"`);
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ` +
      `font-family="${FONT_FAMILY}, sans-serif"><g>${legendSvg(items, w)}</g>${inner}</svg>`;
  };
}

/** Keeps at most `max` points of a curve (evenly by index, always the first and last). */
export function thinCurve(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  max = 1500,
): { x: number; y: number }[] {
  const n = Math.min(xs.length, ys.length);
  if (xs.length !== ys.length) {
    throw new RangeError(`curve has ${xs.length} x values but ${ys.length} y values`);
  }
  const out: { x: number; y: number }[] = [];
  if (n === 0) return out;
  const step = Math.max(1, (n - 1) / (max - 1));
  let last = -1;
  for (let k = 0; k < max; k++) {
    const i = Math.min(n - 1, Math.round(k * step));
    if (i === last) continue;
    out.push({ x: xs[i], y: ys[i] });
    last = i;
    if (i === n - 1) break;
  }
  if (last !== n - 1) out.push({ x: xs[n - 1], y: ys[n - 1] });
  return out;
}

/** One ROC curve. */
export interface RocCurve {
  name: string;
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
  /** Area under the curve, shown in the legend. */
  auc?: number;
}

/** Options shared by all charts: the frame texts. */
export type ChartOptions = FrameText;

/**
 * ROC curves of several detectors on one chart, with the chance diagonal.
 * `logX` plots the false-positive rate on a log axis from 1e-4 (the part
 * operators care about).
 */
export function rocChart(
  curves: RocCurve[],
  opts: ChartOptions & { logX?: boolean; points?: { name: string; fpr: number; tpr: number }[] } = {},
): Figure {
  const names = curves.map((c) => c.auc === undefined ? c.name : `${c.name} (AUC ${c.auc.toFixed(3)})`);
  const data = curves.flatMap((c, i) => thinCurve(c.fpr, c.tpr).map((p) => ({ ...p, s: names[i] })));
  const floor = 1e-4;
  const pts = (opts.points ?? []).map((p) => ({ ...p, x: opts.logX ? Math.max(p.fpr, floor) : p.fpr }));
  const items = names.map((n, i) => ({ name: n, color: colorOf(i) }));
  const ptItems = pts.map((p, i) => ({
    name: `${p.name} (operating point)`,
    color: colorOf(names.length + i),
  }));
  return new Figure(
    withLegend([...items, ...ptItems], (w, h) =>
      plotSvg(
        {
          marginLeft: 60,
          marginBottom: 46,
          grid: true,
          x: opts.logX
            ? {
              type: "log",
              domain: [floor, 1],
              label: "False-positive rate (log)",
              tickFormat: logTick,
            }
            : { domain: [0, 1], label: "False-positive rate" },
          y: { domain: [0, 1], label: "True-positive rate (recall)" },
          color: { domain: [...names, ...pts.map((p) => p.name)], range: PALETTE.slice() as string[] },
          marks: [
            opts.logX
              // Chance (tpr = fpr) is a curve on a log x axis: draw it through log-spaced points.
              ? Plot.line(Array.from({ length: 41 }, (_, i) => [10 ** (-4 + i / 10), 10 ** (-4 + i / 10)]), {
                stroke: "#999",
                strokeDasharray: "4,4",
              })
              : Plot.line([[0, 0], [1, 1]], { stroke: "#999", strokeDasharray: "4,4" }),
            Plot.line(
              opts.logX ? data.map((d) => ({ ...d, x: Math.max(d.x, floor) })) : data,
              { x: "x", y: "y", stroke: "s", z: "s", strokeWidth: 2.5, curve: "step-after" },
            ),
            Plot.dot(pts, { x: "x", y: "tpr", fill: "name", r: 7, stroke: "white", symbol: "diamond" }),
          ],
        },
        w,
        h,
      )),
    opts,
  );
}

/** One precision–recall curve. */
export interface PrCurve {
  name: string;
  recall: ArrayLike<number>;
  precision: ArrayLike<number>;
  /** Average precision, shown in the legend. */
  ap?: number;
}

/** Precision–recall curves; `baseline` draws the no-skill line at the attack prevalence. */
export function prChart(curves: PrCurve[], opts: ChartOptions & { baseline?: number } = {}): Figure {
  const names = curves.map((c) => c.ap === undefined ? c.name : `${c.name} (AP ${c.ap.toFixed(3)})`);
  const data = curves.flatMap((c, i) => thinCurve(c.recall, c.precision).map((p) => ({ ...p, s: names[i] })));
  const items = names.map((n, i) => ({ name: n, color: colorOf(i) }));
  if (opts.baseline !== undefined) {
    items.push({ name: `no skill (${opts.baseline.toFixed(3)})`, color: "#999" });
  }
  return new Figure(
    withLegend(items.map((it) => ({ ...it, dash: it.color === "#999" })), (w, h) =>
      plotSvg(
        {
          marginLeft: 60,
          marginBottom: 46,
          grid: true,
          x: { domain: [0, 1], label: "Recall" },
          y: { domain: [0, 1], label: "Precision" },
          color: { domain: names, range: PALETTE.slice() as string[] },
          marks: [
            ...(opts.baseline !== undefined
              ? [Plot.ruleY([opts.baseline], { stroke: "#999", strokeDasharray: "4,4" })]
              : []),
            Plot.line(data, { x: "x", y: "y", stroke: "s", z: "s", strokeWidth: 2.5 }),
          ],
        },
        w,
        h,
      )),
    opts,
  );
}

/** Scores of one class (e.g. "benign", "DoS"). */
export interface ScoreGroup {
  name: string;
  scores: ArrayLike<number>;
}

/** Splits `scores` by `labels` (same length) into {@link ScoreGroup}s, benign-like names first. */
export function groupScores(
  scores: ArrayLike<number>,
  labels: ArrayLike<string | number | boolean>,
): ScoreGroup[] {
  if (scores.length !== labels.length) {
    throw new RangeError(`groupScores: ${scores.length} scores but ${labels.length} labels`);
  }
  const by = new Map<string, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const k = String(labels[i]);
    let a = by.get(k);
    if (!a) by.set(k, a = []);
    a.push(scores[i]);
  }
  const benign = /^(benign|normal|0|false)\.?$/i;
  return [...by.entries()]
    .sort(([a], [b]) => (benign.test(a) ? 0 : 1) - (benign.test(b) ? 0 : 1) || a.localeCompare(b))
    .map(([name, s]) => ({ name, scores: Float64Array.from(s) }));
}

/** A sorted sample (≤ 200k values) of the finite values of all groups, for picking a range. */
function sortedSample(groups: ArrayLike<number>[], logX: boolean): Float64Array {
  const total = groups.reduce((n, g) => n + g.length, 0);
  const step = Math.max(1, Math.floor(total / 200_000));
  const out: number[] = [];
  let k = 0;
  for (const g of groups) {
    for (let i = 0; i < g.length; i++, k++) {
      if (k % step) continue;
      const v = g[i];
      if (Number.isFinite(v) && (!logX || v > 0)) out.push(v);
    }
  }
  return Float64Array.from(out).sort();
}

/** Per-class histogram bins, each class normalised to sum 1. Values outside the range go to the edge bins. */
export function binGroups(
  groups: { name: string; values: ArrayLike<number> }[],
  opts: { bins?: number; range?: [number, number]; logX?: boolean; clipQuantile?: number } = {},
): { bins: { x1: number; x2: number; frac: number; count: number; s: string }[]; range: [number, number] } {
  const nb = opts.bins ?? 60;
  const logX = opts.logX ?? false;
  let [lo, hi] = opts.range ?? [NaN, NaN];
  if (!opts.range) {
    const s = sortedSample(groups.map((g) => g.values), logX);
    const q = opts.clipQuantile ?? 0.001;
    lo = quantileSorted(s, q);
    hi = quantileSorted(s, 1 - q);
    if (!Number.isFinite(lo)) [lo, hi] = logX ? [1, 10] : [0, 1];
  }
  if (!(hi > lo)) hi = lo === 0 ? 1 : lo + Math.abs(lo) * 0.01 + (logX ? lo : 1);
  const f = logX ? Math.log10 : (v: number) => v;
  const flo = f(lo), fhi = f(hi);
  const width = (fhi - flo) / nb;
  const edge = (k: number) => logX ? 10 ** (flo + k * width) : flo + k * width;
  const bins: { x1: number; x2: number; frac: number; count: number; s: string }[] = [];
  for (const g of groups) {
    const counts = new Float64Array(nb);
    let n = 0;
    for (let i = 0; i < g.values.length; i++) {
      const v = g.values[i];
      if (Number.isNaN(v) || (logX && v <= 0 && v !== -Infinity)) {
        if (logX && v <= 0) counts[0]++, n++;
        continue;
      }
      let b = Math.floor((f(v) - flo) / width);
      if (!(b >= 0)) b = 0;
      if (b >= nb) b = nb - 1;
      counts[b]++;
      n++;
    }
    for (let b = 0; b < nb; b++) {
      bins.push({ x1: edge(b), x2: edge(b + 1), frac: n ? counts[b] / n : 0, count: counts[b], s: g.name });
    }
  }
  return { bins, range: [lo, hi] };
}

/**
 * Score distributions by class (each class normalised to sum 1, so a rare
 * attack class is as visible as benign traffic), with the detector's
 * threshold as a vertical rule. `logX` for heavy-tailed scores such as
 * reconstruction errors; `logY` (default true) so small tails show.
 */
export function scoreHistogram(
  groups: ScoreGroup[],
  opts: ChartOptions & {
    threshold?: number;
    bins?: number;
    logX?: boolean;
    logY?: boolean;
    range?: [number, number];
    xLabel?: string;
  } = {},
): Figure {
  const { bins } = binGroups(groups.map((g) => ({ name: g.name, values: g.scores })), opts);
  const logY = opts.logY ?? true;
  const floor = 1e-5;
  const rows = bins.filter((b) => !logY || b.frac > 0).map((b) => ({ ...b, frac: Math.max(b.frac, floor) }));
  const names = groups.map((g) => `${g.name} (n=${g.scores.length.toLocaleString("en-US")})`);
  const nameOf = new Map(groups.map((g, i) => [g.name, names[i]]));
  for (const r of rows) r.s = nameOf.get(r.s)!;
  const items = names.map((n, i) => ({ name: n, color: colorOf(i) }));
  if (opts.threshold !== undefined) {
    items.push({ name: `threshold ${fmt(opts.threshold)}`, color: "#d62728" });
  }
  return new Figure(
    withLegend(items.map((it) => ({ ...it, dash: it.color === "#d62728" })), (w, h) =>
      plotSvg(
        {
          marginLeft: 64,
          marginBottom: 46,
          grid: true,
          x: {
            type: opts.logX ? "log" : "linear",
            label: opts.xLabel ?? "Anomaly score",
            ...(opts.logX ? { ticks: 8, tickFormat: logTick } : {}),
          },
          y: logY
            ? {
              type: "log",
              label: "Share of class (log)",
              ticks: 6,
              tickFormat: (v: number) => `${fmt(v * 100)}%`,
            }
            : { label: "Share of class", tickFormat: (v: number) => `${fmt(v * 100)}%` },
          color: { domain: names, range: PALETTE.slice() as string[] },
          marks: [
            Plot.rectY(rows, {
              x1: "x1",
              x2: "x2",
              y1: logY ? floor : 0,
              y2: "frac",
              fill: "s",
              fillOpacity: 0.35,
              stroke: "s",
              strokeOpacity: 0.9,
              strokeWidth: 0.8,
            }),
            ...(opts.threshold !== undefined
              ? [
                Plot.ruleX([opts.threshold], { stroke: "#d62728", strokeWidth: 2.5, strokeDasharray: "6,4" }),
              ]
              : []),
          ],
        },
        w,
        h,
      )),
    opts,
  );
}

/** A confusion matrix: `matrix[i][j]` = count of true class `labels[i]` predicted as `predicted[j]`. */
export interface ConfusionData {
  labels: string[];
  /** Column labels when they differ from the rows (e.g. rows = attack classes, columns = alert/no alert). */
  predicted?: string[];
  matrix: number[][];
}

/** Heat-mapped confusion matrix with counts and row percentages in each cell. */
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
  return new Figure(
    (w, h) =>
      plotSvg(
        {
          marginLeft: Math.min(260, 20 + 8.5 * Math.max(...cm.labels.map((l) => l.length))),
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
              fill: (d: { frac: number }) => d.frac > 0.55 ? "white" : "#111",
              fontSize: cells.length > 60 ? 10 : BASE_FONT_SIZE,
            }),
          ],
        },
        w,
        h,
      ),
    opts,
  );
}

/** Training history of one model. */
export interface LossHistory {
  name: string;
  loss: ArrayLike<number>;
  valLoss?: ArrayLike<number>;
}

/** Training (solid) and validation (dashed) loss per epoch. */
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
  const maxEpoch = Math.max(1, ...data.map((d) => d.epoch));
  const items = names.map((n, i) => ({ name: n, color: colorOf(i) }));
  if (histories.some((h) => h.valLoss)) items.push({ name: "validation (dashed)", color: "#666" });
  return new Figure(
    withLegend(items.map((it) => ({ ...it, dash: it.color === "#666" })), (w, h) =>
      plotSvg(
        {
          marginLeft: 70,
          marginBottom: 46,
          grid: true,
          x: {
            label: "Epoch",
            // Integer ticks only: with 2-3 epochs Plot's default ticks are fractional.
            ticks: maxEpoch <= 12 ? Array.from({ length: maxEpoch }, (_, i) => i + 1) : 10,
            tickFormat: "d",
          },
          y: {
            type: opts.logY ? "log" : "linear",
            label: opts.logY ? "Loss (log)" : "Loss",
            ...(opts.logY ? { tickFormat: logTick } : {}),
          },
          color: { domain: names, range: PALETTE.slice() as string[] },
          marks: [
            Plot.line(data.filter((d) => d.kind === "train"), {
              x: "epoch",
              y: "loss",
              z: "s",
              stroke: "s",
              strokeWidth: 2.5,
            }),
            Plot.line(data.filter((d) => d.kind === "validation"), {
              x: "epoch",
              y: "loss",
              z: "s",
              stroke: "s",
              strokeWidth: 2.5,
              strokeDasharray: "6,4",
            }),
            Plot.dot(data, { x: "epoch", y: "loss", fill: "s", r: data.length > 200 ? 0 : 3 }),
          ],
        },
        w,
        h,
      )),
    opts,
  );
}

/** One bar: `label` on the category axis, optional `group` (colour, grouped bars) and interval. */
export interface Bar {
  label: string;
  value: number;
  group?: string;
  /** Lower end of an interval (e.g. Wilson 95 % lower bound). */
  lo?: number;
  hi?: number;
}

/**
 * Horizontal bars (categories on y), grouped and coloured by `group` when
 * given, with interval whiskers from `lo`/`hi`. Use it for per-class recall
 * with confidence intervals and for detector comparisons (`comparisonChart`).
 */
export function barChart(
  bars: Bar[],
  opts: ChartOptions & {
    xLabel?: string;
    domain?: [number, number];
    percent?: boolean;
    valueLabels?: boolean;
  } = {},
): Figure {
  const labels = [...new Set(bars.map((b) => b.label))];
  const groups = [...new Set(bars.map((b) => b.group ?? ""))];
  const grouped = groups.length > 1 || groups[0] !== "";
  const items = grouped ? groups.map((g, i) => ({ name: g, color: colorOf(i) })) : [];
  const rows = bars.map((b) => ({
    ...b,
    g: b.group ?? "",
    txt: opts.percent ? `${(100 * b.value).toFixed(1)}%` : fmt(b.value),
  }));
  const marginLeft = Math.min(300, 24 + 8.4 * Math.max(...labels.map((l) => l.length), 4));
  return new Figure(
    withLegend(items, (w, h) =>
      plotSvg(
        {
          marginLeft: grouped ? marginLeft : marginLeft,
          marginRight: 60,
          marginBottom: 46,
          x: {
            grid: true,
            label: opts.xLabel ?? "Value",
            domain: opts.domain,
            tickFormat: opts.percent ? ((v: number) => `${Math.round(v * 100)}%`) : undefined,
          },
          ...(grouped
            ? {
              fy: { domain: labels, label: null },
              y: { domain: groups, axis: null },
            }
            : { y: { domain: labels, label: null } }),
          color: { domain: groups, range: PALETTE.slice() as string[] },
          marks: [
            Plot.barX(rows, {
              x: "value",
              y: grouped ? "g" : "label",
              fy: grouped ? "label" : undefined,
              fill: grouped ? "g" : PALETTE[0],
            }),
            Plot.ruleY(rows.filter((r) => r.lo !== undefined && r.hi !== undefined), {
              x1: "lo",
              x2: "hi",
              y: grouped ? "g" : "label",
              fy: grouped ? "label" : undefined,
              stroke: "#222",
              strokeWidth: 1.6,
            }),
            Plot.tickX(rows.filter((r) => r.lo !== undefined), {
              x: "lo",
              y: grouped ? "g" : "label",
              fy: grouped ? "label" : undefined,
              stroke: "#222",
              strokeWidth: 1.6,
              inset: grouped ? 1 : 12,
            }),
            Plot.tickX(rows.filter((r) => r.hi !== undefined), {
              x: "hi",
              y: grouped ? "g" : "label",
              fy: grouped ? "label" : undefined,
              stroke: "#222",
              strokeWidth: 1.6,
              inset: grouped ? 1 : 12,
            }),
            ...(opts.valueLabels ?? !grouped
              ? [Plot.text(rows, {
                x: (r: Bar) => r.hi ?? r.value,
                y: grouped ? "g" : "label",
                fy: grouped ? "label" : undefined,
                text: "txt",
                dx: 6,
                textAnchor: "start",
                fill: "#222",
              })]
              : []),
          ],
          ...(grouped ? { marginLeft } : {}),
        },
        w,
        h,
      )),
    opts,
  );
}

/** Grouped comparison: rows × series values, e.g. detectors × {precision, recall, F1}. */
export function comparisonChart(
  rows: { label: string; values: Record<string, number> }[],
  opts: ChartOptions & { xLabel?: string; domain?: [number, number]; percent?: boolean } = {},
): Figure {
  return barChart(
    rows.flatMap((r) => Object.entries(r.values).map(([group, value]) => ({ label: r.label, group, value }))),
    { valueLabels: true, ...opts },
  );
}

/** A timeline of scores with alerts: `t` in epoch milliseconds (or Date). */
export interface TimelineData {
  /** Score per flow/window over time. */
  scores?: { t: ArrayLike<number>; score: ArrayLike<number> };
  /** Alerts raised (shown as red marks on the score or on a separate row). */
  alerts?: { t: number | Date; score?: number; label?: string }[];
  threshold?: number;
}

/**
 * Scores over time (bucketed to the max per ~pixel column, so short spikes
 * stay visible), the threshold, and the alerts as red dots. Time is absolute
 * (UTC) unless `relative` is set, then seconds from the first event.
 */
export function timeline(
  data: TimelineData,
  opts: ChartOptions & { logY?: boolean; relative?: boolean; yLabel?: string } = {},
): Figure {
  const ts = data.scores?.t ?? [];
  const ss = data.scores?.score ?? [];
  if (ts.length !== ss.length) throw new RangeError(`timeline: ${ts.length} times but ${ss.length} scores`);
  const alerts = (data.alerts ?? []).map((a) => ({ ...a, t: +a.t }));
  let t0 = Infinity, t1 = -Infinity;
  for (let i = 0; i < ts.length; i++) t0 = Math.min(t0, ts[i]), t1 = Math.max(t1, ts[i]);
  for (const a of alerts) t0 = Math.min(t0, a.t), t1 = Math.max(t1, a.t);
  if (!Number.isFinite(t0)) t0 = 0, t1 = 1;
  const nb = 800;
  const span = Math.max(t1 - t0, 1e-9);
  const maxs = new Float64Array(nb).fill(NaN);
  for (let i = 0; i < ts.length; i++) {
    const b = Math.min(nb - 1, Math.floor((ts[i] - t0) / span * nb));
    const v = ss[i];
    if (Number.isFinite(v) && !(maxs[b] >= v)) maxs[b] = v;
  }
  const conv = (t: number) => opts.relative ? (t - t0) / 1000 : new Date(t);
  const line: { t: number | Date; v: number }[] = [];
  for (let b = 0; b < nb; b++) {
    if (!Number.isNaN(maxs[b])) line.push({ t: conv(t0 + (b + 0.5) * span / nb), v: maxs[b] });
  }
  const hasScores = line.length > 0;
  const alertRows = alerts.map((a) => ({
    t: conv(a.t),
    v: a.score ?? data.threshold ?? 1,
    label: a.label ?? "alert",
  }));
  const items = [
    ...(hasScores ? [{ name: "max score per interval", color: PALETTE[0] }] : []),
    ...(data.threshold !== undefined
      ? [{ name: `threshold ${fmt(data.threshold)}`, color: "#999", dash: true }]
      : []),
    { name: `alerts (${alerts.length.toLocaleString("en-US")})`, color: "#d62728" },
  ];
  return new Figure(
    withLegend(items, (w, h) =>
      plotSvg(
        {
          marginLeft: 70,
          marginBottom: 46,
          grid: true,
          x: {
            type: opts.relative ? "linear" : "utc",
            label: opts.relative ? "Seconds from start" : "Time (UTC)",
          },
          y: {
            type: opts.logY ? "log" : "linear",
            label: opts.yLabel ?? "Anomaly score",
            ...(opts.logY ? { tickFormat: logTick } : {}),
          },
          marks: [
            Plot.line(line, { x: "t", y: "v", stroke: PALETTE[0], strokeWidth: 1.4 }),
            ...(data.threshold !== undefined
              ? [Plot.ruleY([data.threshold], { stroke: "#999", strokeDasharray: "6,4", strokeWidth: 2 })]
              : []),
            Plot.dot(alertRows, { x: "t", y: "v", fill: "#d62728", r: 4, fillOpacity: 0.8 }),
          ],
        },
        w,
        h,
      )),
    opts,
  );
}

/** A matrix heat map (e.g. feature correlations), values row-major. */
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
  return new Figure(
    withLegend(
      [{ name: `${opts.legendLabel ?? "value"}: ${domain[0]}`, color: "#2166ac" }, {
        name: `${domain[1]}`,
        color: "#b2182b",
      }],
      (w, h) =>
        plotSvg(
          {
            marginLeft: Math.min(220, 16 + (small ? 6 : 8) * Math.max(...m.rows.map((l) => l.length))),
            marginBottom: Math.min(200, 16 + (small ? 6 : 8) * Math.max(...m.cols.map((l) => l.length))),
            x: { domain: m.cols as string[], tickRotate: -60, label: null },
            y: { domain: m.rows as string[], label: null },
            color: {
              type: "linear",
              domain,
              scheme: (opts.scheme ?? "rdbu") as Plot.ColorScheme,
              reverse: true,
            },
            marks: [Plot.cell(cells, { x: "c", y: "r", fill: "v" })],
          },
          w,
          h,
          small ? 9 : BASE_FONT_SIZE,
        ),
    ),
    opts,
  );
}

/**
 * Small multiples: one histogram per feature, classes overlaid (each
 * normalised), for "feature distributions by class". Each panel gets its own
 * x range (1st–99th percentile, or log10 when `logX` lists the feature).
 */
export function distributionGrid(
  panels: { name: string; groups: { name: string; values: ArrayLike<number> }[]; logX?: boolean | "auto" }[],
  opts: ChartOptions & { cols?: number; bins?: number } = {},
): Figure {
  const classNames = [...new Set(panels.flatMap((p) => p.groups.map((g) => g.name)))];
  const items = classNames.map((n, i) => ({ name: n, color: colorOf(i) }));
  const cols = opts.cols ?? Math.min(4, panels.length);
  return new Figure(
    withLegend(items, (w, h) => {
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
            color: { domain: classNames, range: PALETTE.slice() as string[] },
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
      return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${FONT_FAMILY}, sans-serif">${
        parts.join("")
      }</svg>`;
    }),
    opts,
  );
}

/**
 * True when a log axis reads better: every finite value is ≥ 0, and the
 * positive values span more than three decades between their 5th and 99th
 * percentiles (byte and packet counters). Zeros then fall into the first bin.
 */
export function heavyTailed(groups: ArrayLike<number>[]): boolean {
  for (const g of groups) for (let i = 0; i < g.length; i++) if (g[i] < 0) return false;
  const s = sortedSample(groups, true);
  if (s.length < 10) return false;
  return quantileSorted(s, 0.99) / quantileSorted(s, 0.05) > 1000;
}

/** Log-axis tick labels: only mantissas 1, 2 and 5 are labelled, so dense decades stay readable. */
export function logTick(v: number): string {
  if (!(v > 0)) return "";
  const m = Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
  return m === 1 || m === 2 || m === 5 ? fmt(v) : "";
}

/** Short number format for labels (3 significant digits, exponent when tiny/huge). */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2).replace(/\.?0+e/, "e");
  return Number(v.toPrecision(3)).toString();
}
