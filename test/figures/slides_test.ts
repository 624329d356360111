import assert from "node:assert/strict";
import { join } from "node:path";
import { renderSlideFigures } from "../../src/cli/figures.ts";
import { pngSize } from "../../src/figures/mod.ts";
import { legendEntries, outside, overlaps, textBoxes } from "../../src/figures/geometry.ts";
import { rocChart } from "../../src/figures/charts.ts";
import { ROOT } from "../_shared.ts";

/**
 * What a slide must not show: two texts over each other, text cut by the
 * canvas edge, a legend whose entries share a swatch colour, or a swatch whose
 * colour is drawn nowhere in the chart. Returns the problems, one line each.
 */
function slideProblems(name: string, svg: string): string[] {
  const vb = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg);
  if (!vb) return [`${name}: no viewBox`];
  const boxes = textBoxes(svg);
  const problems = overlaps(boxes).map(([a, b]) => `${name}: "${a.text}" overlaps "${b.text}"`);
  for (const b of outside(boxes, Number(vb[1]), Number(vb[2]))) {
    problems.push(`${name}: "${b.text}" leaves the canvas`);
  }
  const legend = legendEntries(svg);
  const colours = legend.map((e) => e.color.toLowerCase());
  const chart = svg.replace(/<g class="nadir-legend">[\s\S]*?<\/g>/g, "").toLowerCase();
  legend.forEach((e, i) => {
    if (e.dash) {
      // A line-style key (e.g. "validation (dashed)"): some dashed line must be drawn.
      if (!/stroke-dasharray/.test(chart)) {
        problems.push(`${name}: legend "${e.name}" promises a dashed line; none is drawn`);
      }
      return;
    }
    if (colours.indexOf(colours[i]) !== i) {
      problems.push(`${name}: legend "${e.name}" shares its colour ${e.color}`);
    }
    if (!chart.includes(`"${colours[i]}"`)) {
      problems.push(`${name}: legend "${e.name}" (${e.color}) is drawn nowhere`);
    }
  });
  return problems;
}

Deno.test({
  name: "nadir figures: slide set from the committed results/ and vendored data, every PNG 1600×900",
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "nadir-slides-" });
    try {
      const r = await renderSlideFigures({ out, results: join(ROOT, "results"), log: () => {} });
      const pngs = r.files.filter((f) => f.endsWith(".png"));
      assert.ok(pngs.some((f) => f.endsWith("eda-nsl-kdd-train-class-balance.png")));
      assert.equal(r.files.filter((f) => f.endsWith(".svg")).length, pngs.length);
      for (const p of pngs) {
        assert.deepEqual(pngSize(await Deno.readFile(p)), { width: 1600, height: 900 }, p);
      }
      const svg = await Deno.readTextFile(join(out, "eda-cic-ids2017-class-balance.svg"));
      assert.match(svg, /Class balance · cic-ids2017/);
      assert.match(svg, /data sha256 [0-9a-f]{16}/);
      // Slide geometry: no overlapping or clipped text, legends that tell every series apart.
      const problems: string[] = [];
      for (const f of r.files.filter((f) => f.endsWith(".svg"))) {
        problems.push(...slideProblems(f.replace(/^.*\//, ""), await Deno.readTextFile(f)));
      }
      assert.deepEqual(problems, []);
      // One commit across the set.
      const shas = new Set<string>();
      for (const f of r.files.filter((f) => f.endsWith(".svg"))) {
        shas.add(/git ([0-9a-f]+(?:\+dirty)?)/.exec(await Deno.readTextFile(f))?.[1] ?? "none");
      }
      assert.equal(shas.size, 1, [...shas].join(", "));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("nadir figures: an empty results root still renders the data figures", async () => {
  const out = await Deno.makeTempDir({ prefix: "nadir-slides-" });
  const empty = await Deno.makeTempDir({ prefix: "nadir-results-" });
  try {
    const r = await renderSlideFigures({ out, results: empty, log: () => {} });
    assert.deepEqual(r.files.map((f) => f.replace(/^.*\//, "")).sort(), [
      "eda-cic-ids2017-class-balance.png",
      "eda-cic-ids2017-class-balance.svg",
      "eda-nsl-kdd-train-class-balance.png",
      "eda-nsl-kdd-train-class-balance.svg",
    ]);
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("slides: a legend keeps every series of a crowded chart, in order, wrapped inside the canvas", () => {
  const names = Array.from({ length: 16 }, (_, i) => `detector-with-a-long-name-${i}`);
  const fig = rocChart(
    names.map((name, i) => ({ name, fpr: [0, 0.5, 1], tpr: [0, 0.4 + i / 40, 1], auc: 0.5 })),
  );
  const svg = fig.toSVG();
  assert.deepEqual(legendEntries(svg).map((e) => e.name), names.map((n) => `${n} (AUC 0.500)`));
  assert.deepEqual(slideProblems("crowded roc", svg), []);
});

Deno.test("slides: the problem finder reports overlaps, clipping and repeated or missing swatch colours", () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 50" font-size="10">' +
    '<g class="nadir-legend"><rect fill="#111111"/><text x="0" y="10">a</text><rect fill="#111111"/>' +
    '<text x="50" y="10">b</text></g><text x="80" y="30">far too long a label</text>' +
    '<text x="2" y="40">xx</text><text x="4" y="40">yy</text></svg>';
  const p = slideProblems("toy", svg);
  assert.ok(p.some((l) => /"xx" overlaps "yy"/.test(l)), p.join("\n"));
  assert.ok(p.some((l) => /"far too long a label" leaves the canvas/.test(l)));
  assert.ok(p.some((l) => /legend "b" shares its colour/.test(l)));
  assert.ok(p.some((l) => /legend "a" \(#111111\) is drawn nowhere/.test(l)));
});

Deno.test("slides: the committed figure set (reports/figures) has no overlapping or clipped text and one commit", async () => {
  const dir = join(ROOT, "reports", "figures");
  const svgs = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".svg")).sort();
  assert.ok(svgs.length >= 20, `expected the full set, found ${svgs.length}`);
  const problems: string[] = [];
  const shas = new Map<string, string[]>();
  for (const name of svgs) {
    const svg = await Deno.readTextFile(join(dir, name));
    problems.push(...slideProblems(name, svg));
    const sha = /git ([0-9a-f]+(?:\+dirty)?)/.exec(svg)?.[1] ?? "none";
    shas.set(sha, [...(shas.get(sha) ?? []), name]);
  }
  assert.deepEqual(problems, []);
  assert.equal(shas.size, 1, [...shas].map(([s, n]) => `${s}: ${n.join(", ")}`).join("\n"));
});
