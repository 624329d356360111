/**
 * Slide-figure axes and keys: log axes labelled enough to be read, zoomed
 * precision–recall axes, and the heat map's colour bar. The checks parse the
 * SVG text, as a reader would read the picture.
 */
import assert from "node:assert/strict";
import { logTicks, positiveExtent, valueAxis } from "../../src/figures/charts/_shared.ts";
import { lossCurve } from "../../src/figures/charts/loss_curve.ts";
import { prChart, precisionDomain } from "../../src/figures/charts/pr.ts";
import { rocChart } from "../../src/figures/charts/roc.ts";
import { colorBar, heatmap } from "../../src/figures/charts/heatmap.ts";

/** The tick labels of Plot's `axis` axis: text and position along the axis (y or x, in pixels), blanks left out. */
function tickLabels(svg: string, axis: "x" | "y"): { text: string; at: number }[] {
  const group = svg.match(new RegExp(`aria-label="${axis}-axis tick label"[^>]*>(.*?)</g>`, "s"));
  assert.ok(group, `no ${axis}-axis tick labels in the SVG`);
  return [...group[1].matchAll(/<text transform="translate\(([-\d.e]+),([-\d.e]+)\)"[^>]*>([^<]*)<\/text>/g)]
    .map((m) => ({ text: m[3], at: Number(axis === "y" ? m[2] : m[1]) }));
}

/** Tick labels as numbers (a typographic minus read as "-"). */
function numbers(labels: { text: string }[]): number[] {
  return labels.map((l) => Number(l.text.replace("−", "-")));
}

Deno.test("axes: a loss curve spanning 0.02–0.6 on a log axis labels 0.3, 0.4, 0.5 and 0.6", () => {
  const svg = lossCurve([
    { name: "lstm", loss: [0.05, 0.027, 0.022, 0.02] },
    { name: "flow-lm", loss: [0.6, 0.5, 0.48], valLoss: [0.55, 0.5, 0.48] },
  ], { logY: true }).toSVG();
  const labels = tickLabels(svg, "y");
  const values = numbers(labels);
  assert.ok(values.every(Number.isFinite), `labels are numbers: ${values}`);
  assert.deepEqual(values.filter((v) => v > 0.2), [0.3, 0.4, 0.5, 0.6]);
  // Every 1–9 mantissa of the 1.5 decades carries a label: 0.02 … 0.09, 0.1 … 0.6.
  assert.equal(values.length, 14);
  // Top and bottom quarters of the axis, in pixels: the labels' span is the axis here (0.02 and 0.6 are its ends).
  const ys = labels.map((l) => l.at), top = Math.min(...ys), bottom = Math.max(...ys), q = (bottom - top) / 4;
  assert.ok(ys.filter((y) => y <= top + q).length >= 2, "labels in the top quarter");
  assert.ok(ys.filter((y) => y >= bottom - q).length >= 2, "labels in the bottom quarter");
});

Deno.test("axes: a loss curve over three decades labels 1, 2 and 5 up to 0.5 (Plot no longer drops the 5s)", () => {
  const ae = Array.from({ length: 30 }, (_, i) => 0.025 * 0.85 ** i + 0.0003);
  const svg = lossCurve([{ name: "ae", loss: ae }, { name: "flow-lm", loss: [0.7, 0.5, 0.48] }], {
    logY: true,
    // A title and a caption leave the chart short enough that Plot's own label count would drop the 5s.
    title: "Training loss",
    caption: "Loss per epoch.",
  }).toSVG();
  const values = numbers(tickLabels(svg, "y"));
  assert.deepEqual(values, [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]);
  // Unlabelled minor ticks are still drawn (one grid line per mantissa).
  const all = svg.match(/aria-label="y-axis tick label"[^>]*>(.*?)<\/g>/s)![1].match(/<text /g)!.length;
  assert.ok(all > 20, `${all} ticks`);
});

Deno.test("axes: logTicks labels every tick under 1.5 decades, 1/2/5 up to 5, and both end quarters always", () => {
  const rng = (() => {
    let s = 7;
    return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  })();
  for (let k = 0; k < 500; k++) {
    const lo = 10 ** (-6 + 8 * rng()), span = k < 250 ? 1.5 * rng() : 12 * rng();
    const hi = lo * 10 ** span;
    const ticks = logTicks(lo, hi);
    const where = `[${lo}, ${hi}]`;
    assert.ok(ticks.length >= 2, `${where}: ${ticks.length} ticks`);
    assert.ok(ticks.every((t, i) => i === 0 || t.value > ticks[i - 1].value), `${where}: sorted, distinct`);
    assert.ok(
      ticks.every((t) => t.value >= lo * (1 - 1e-9) && t.value <= hi * (1 + 1e-9)),
      `${where}: inside`,
    );
    const shown = ticks.filter((t) => t.label);
    assert.equal(new Set(shown.map((t) => t.label)).size, shown.length, `${where}: distinct labels`);
    const L = Math.log10(lo);
    const pos = (v: number) => (Math.log10(v) - L) / span;
    assert.ok(shown.some((t) => pos(t.value) >= 0.75 - 1e-9), `${where}: a label in the top quarter`);
    assert.ok(shown.some((t) => pos(t.value) <= 0.25 + 1e-9), `${where}: a label in the bottom quarter`);
    if (span < 1.5) assert.equal(shown.length, ticks.length, `${where}: every tick labelled`);
    if (span >= 1.5 && span <= 5) {
      const mantissas = new Set(
        shown.map((t) => Math.round(t.value / 10 ** Math.floor(Math.log10(t.value) + 1e-9))),
      );
      assert.ok(
        [...mantissas].every((m) => m === 1 || m === 2 || m === 5),
        `${where}: 1/2/5 only, ${[...mantissas]}`,
      );
    }
  }
});

Deno.test("axes: valueAxis without an extent is unchanged; positiveExtent skips what a log axis cannot show", () => {
  assert.deepEqual(Object.keys(valueAxis("Score", true)).sort(), ["label", "tickFormat", "type"]);
  assert.equal(valueAxis("Score", true).type, "log");
  assert.deepEqual(valueAxis("Score", false, [1, 2]), { type: "linear", label: "Score" });
  assert.deepEqual(positiveExtent([0, -3, 0.4, Infinity], [2, NaN]), [0.4, 2]);
  // A constant series still gets an axis: half a decade either side.
  const flat = valueAxis("Loss", true, [0.3, 0.3]);
  assert.deepEqual(flat.domain!.map((d) => Number(d.toFixed(6))), [-1.022879, -0.022879]);
});

Deno.test("axes: PR curves that stay in 0.95–1 get a zoomed y axis and lose an off-axis baseline", () => {
  const recall = Array.from({ length: 200 }, (_, i) => i / 199);
  const curves = [1, 2].map((k) => ({
    name: `d${k}`,
    recall,
    precision: recall.map((r) => 1 - 0.0245 * k * r * r),
    ap: 0.98,
  }));
  assert.deepEqual(precisionDomain(curves), { domain: [0.95, 1], zoomed: true });
  const svg = prChart(curves, { baseline: 0.57 }).toSVG();
  assert.ok(svg.includes("Precision (zoomed)"), "the axis label says it is zoomed");
  const ys = numbers(tickLabels(svg, "y"));
  assert.ok(ys.length >= 4 && ys.every((v) => v >= 0.95 && v <= 1), `y labels ${ys}`);
  assert.equal(Math.max(...ys), 1);
  assert.equal(Math.min(...ys), 0.95);
  assert.ok(!svg.includes("no skill"), "no legend entry for a baseline the axis does not show");
  assert.ok(!svg.includes('aria-label="rule"'), "no baseline rule");
});

Deno.test("axes: a baseline inside the zoomed band is kept; a curve that falls keeps the 0–1 axis", () => {
  const curves = [{ name: "a", recall: [0, 0.5, 1], precision: [1, 0.8, 0.62] }];
  assert.deepEqual(precisionDomain(curves), { domain: [0.6, 1], zoomed: true });
  const kept = prChart(curves, { baseline: 0.61 }).toSVG();
  assert.ok(kept.includes("no skill (0.610)") && kept.includes('aria-label="rule"'));
  const wide = [...curves, { name: "b", recall: [0, 1], precision: [0.2, 0.9] }];
  assert.deepEqual(precisionDomain(wide), { domain: [0, 1], zoomed: false });
  const svg = prChart(wide, { baseline: 0.1 }).toSVG();
  assert.ok(svg.includes(">Precision</text>") || svg.includes("Precision</text>"));
  assert.ok(!svg.includes("zoomed"));
  assert.deepEqual([Math.min(...numbers(tickLabels(svg, "y"))), Math.max(...numbers(tickLabels(svg, "y")))], [
    0,
    1,
  ]);
  assert.ok(svg.includes("no skill (0.100)"));
  // Precision never above 1, even when rounding up would pass it.
  assert.deepEqual(precisionDomain([{ name: "c", recall: [0, 1], precision: [0.999, 0.991] }]).domain, [
    0.99,
    1,
  ]);
});

Deno.test("axes: the ROC log x axis labels 1, 2 and 5 of each decade from 1e-4", () => {
  const fpr = Array.from({ length: 300 }, (_, i) => i / 299);
  const svg = rocChart([{ name: "ae", fpr, tpr: fpr.map((x) => x ** 0.3) }], { logX: true }).toSVG();
  assert.deepEqual(
    tickLabels(svg, "x").map((l) => l.text),
    ["1e-4", "2e-4", "5e-4", "0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"],
  );
});

Deno.test("axes: the correlation heat map has a colour bar sampled from the cells' scale, labelled −1, 0, 1", () => {
  const svg = heatmap({ rows: ["a", "b"], cols: ["a", "b"], values: [1, -1, -1, 1] }, {
    legendLabel: "Pearson r",
  })
    .toSVG();
  const gradient = svg.match(/<linearGradient id="([^"]+)"[^>]*>(.*?)<\/linearGradient>/s);
  assert.ok(gradient, "a <linearGradient>");
  assert.ok(svg.includes(`fill="url(#${gradient[1]})"`), "the bar is filled with it");
  const stops = [...gradient[2].matchAll(/<stop offset="([\d.]+)%" stop-color="([^"]+)"\/>/g)];
  assert.equal(stops.length, 21);
  assert.deepEqual([stops[0][1], stops[10][1], stops[20][1]], ["0", "50", "100"]);
  // The ends of the bar are the colours of the cells at −1 and +1.
  const cells = svg.match(/aria-label="cell"[^>]*>(.*?)<\/g>/s)![1];
  const fills = [...cells.matchAll(/fill="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(fills, [stops[20][2], stops[0][2], stops[0][2], stops[20][2]]);
  assert.notEqual(stops[0][2], stops[20][2]);
  const bar = svg.match(/<g class="nadir-colorbar">.*?<\/g>/s)![0];
  assert.deepEqual([...bar.matchAll(/text-anchor="middle"[^>]*>([^<]*)</g)].map((m) => m[1]), [
    "−1",
    "0",
    "1",
  ]);
  assert.ok(bar.includes(">Pearson r</text>"));
  assert.ok(!svg.includes("Pearson r: -1"), "the two-swatch legend is gone");
});

Deno.test("axes: colorBar follows the domain and scheme it is given", () => {
  const { svg } = colorBar({ domain: [0, 200], scheme: "blues" }, "flows & bytes");
  assert.deepEqual([...svg.matchAll(/text-anchor="middle"[^>]*>([^<]*)</g)].map((m) => m[1]), [
    "0",
    "100",
    "200",
  ]);
  assert.ok(svg.includes(">flows &amp; bytes</text>"), "the label is escaped");
  const colors = [...svg.matchAll(/stop-color="([^"]+)"/g)].map((m) => m[1]);
  assert.notEqual(colors[0], colors[20]);
  // Same scale, same id: two bars on one page never disagree about what the id means.
  assert.equal(
    colorBar({ domain: [0, 200], scheme: "blues" }, "x").svg.match(/id="([^"]+)"/)![1],
    svg.match(/id="([^"]+)"/)![1],
  );
});
