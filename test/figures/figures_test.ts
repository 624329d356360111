import assert from "node:assert/strict";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import {
  barChart,
  binGroups,
  comparisonChart,
  confusionMatrix,
  distributionGrid,
  type Figure,
  FONT_FAMILY,
  groupScores,
  heatmap,
  lossCurve,
  md,
  mimeBundle,
  pngSize,
  prChart,
  provenance,
  rocChart,
  saveFigure,
  scoreHistogram,
  standaloneSvg,
  table,
  thinCurve,
  timeline,
} from "../../src/figures/mod.ts";

/** Strict XML well-formedness: balanced tags, quoted attributes, known entities. Returns the root tag. */
function assertWellFormed(xml: string): string {
  const stack: string[] = [];
  let root = "";
  const re =
    /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    if (m[0] === "<") {
      throw new Error(`stray "<" or malformed tag at ${m.index}: ${xml.slice(m.index, m.index + 60)}`);
    }
    if (m[0].startsWith("&")) throw new Error(`bare "&" at ${m.index}: ${xml.slice(m.index, m.index + 30)}`);
    if (m[0].startsWith("<!--")) continue;
    const [, close, name, , self] = m;
    if (!root) root = name;
    else if (stack.length === 0) throw new Error(`content after the root element: <${name}> at ${m.index}`);
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}> at ${m.index}`);
    } else if (!self) stack.push(name);
  }
  assert.deepEqual(stack, [], `unclosed elements: ${stack.join(", ")}`);
  return root;
}

const rng = (() => {
  let s = 42;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
})();
const benign = Float64Array.from({ length: 20_000 }, () => Math.exp(rng() * 2));
const attack = Float64Array.from({ length: 800 }, () => Math.exp(1 + rng() * 4));
const fpr = Array.from({ length: 3000 }, (_, i) => i / 2999);

const charts: [string, () => Figure][] = [
  ["roc", () => rocChart([{ name: "ae", fpr, tpr: fpr.map((x) => x ** 0.3), auc: 0.9 }], { logX: true })],
  [
    "pr",
    () =>
      prChart([{ name: "ae", recall: fpr, precision: fpr.map((x) => 1 - x / 2), ap: 0.75 }], {
        baseline: 0.1,
      }),
  ],
  [
    "hist",
    () =>
      scoreHistogram([{ name: "benign", scores: benign }, { name: "DoS", scores: attack }], {
        threshold: 6,
        logX: true,
      }),
  ],
  [
    "cm",
    () =>
      confusionMatrix({
        labels: ["benign", "DoS"],
        predicted: ["no alert", "alert"],
        matrix: [[90, 10], [5, 95]],
      }),
  ],
  ["loss", () => lossCurve([{ name: "ae", loss: [1, 0.5, 0.25], valLoss: [1.2, 0.6, 0.4] }], { logY: true })],
  [
    "bar",
    () =>
      barChart([{ label: "DoS", value: 0.9, lo: 0.85, hi: 0.93 }, { label: "R2L <&>", value: 0.2 }], {
        percent: true,
      }),
  ],
  ["cmp", () => comparisonChart([{ label: "ae", values: { precision: 0.9, recall: 0.8 } }])],
  [
    "timeline",
    () =>
      timeline({
        scores: { t: [0, 1000, 2000, 3000], score: [1, 2, 9, 1] },
        threshold: 5,
        alerts: [{ t: 2000, score: 9 }],
      }, { relative: true }),
  ],
  ["heatmap", () => heatmap({ rows: ["a", "b"], cols: ["a", "b"], values: [1, -0.5, -0.5, 1] })],
  [
    "grid",
    () =>
      distributionGrid([{
        name: "bytes",
        logX: true,
        groups: [{ name: "benign", values: benign }, { name: "attack", values: attack }],
      }, { name: "dur", groups: [{ name: "benign", values: benign }] }]),
  ],
];

for (const [name, make] of charts) {
  Deno.test(`figures: ${name} renders a well-formed, titled 1600×900 SVG`, () => {
    const fig = make().with({
      title: `Title of ${name} & co`,
      caption: "A caption that says what to see.",
      provenance: { gitSha: "abc1234", dataSha: "deadbeef", version: "9.9.9", date: "2026-01-01 00:00 UTC" },
    });
    const svg = fig.toSVG();
    assert.equal(assertWellFormed(svg), "svg");
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="1600" height="900"/);
    assert.ok(svg.includes("Title of " + name + " &amp; co"), "title is escaped and present");
    assert.ok(
      svg.includes("data sha256 deadbeef") && svg.includes("git abc1234") && svg.includes("nadir 9.9.9"),
    );
    assert.ok(!svg.includes("currentColor"), "no currentColor (renders black/white-theme independent)");
    const bundle = (fig as unknown as Record<symbol, () => Record<string, string>>)
      [Symbol.for("Jupyter.display")]();
    assert.ok(bundle["image/svg+xml"].startsWith("<svg"));
    assert.ok(
      bundle["text/html"].includes("<svg"),
      "text/html carries the SVG (Debian nbconvert blanks image/svg+xml)",
    );
  });
}

Deno.test("figures: PNG is 1600×900 and the title is drawn with a real font", () => {
  const fig = lossCurve([{ name: "ae", loss: [3, 2, 1] }]).with({ title: "WWWWWWWWWWWWWWWWWWWW" });
  const png = fig.toPNG();
  assert.deepEqual(pngSize(png), { width: 1600, height: 900 });
  // Decode the same SVG to pixels and count dark pixels in the title band: without fonts it stays white.
  const img = new Resvg(fig.toSVG(), {
    font: { loadSystemFonts: true, defaultFontFamily: FONT_FAMILY },
    fitTo: { mode: "width", value: 1600 },
  }).render();
  const px = img.pixels;
  let dark = 0;
  for (let y = 30; y < 70; y++) {
    for (let x = 30; x < 700; x++) {
      const i = (y * img.width + x) * 4;
      if (px[i] < 100 && px[i + 3] > 200) dark++;
    }
  }
  assert.ok(dark > 2000, `expected the title's glyphs in the top band, found ${dark} dark pixels`);
  const noTitle = new Resvg(lossCurve([{ name: "ae", loss: [3, 2, 1] }]).toSVG(), {
    fitTo: { mode: "width", value: 1600 },
  }).render();
  const px2 = noTitle.pixels; // a getter that copies: read it once
  let dark2 = 0;
  for (let y = 30; y < 70; y++) {
    for (let x = 30; x < 700; x++) if (px2[(y * 1600 + x) * 4] < 100) dark2++;
  }
  assert.ok(dark2 < dark / 4, "the dark-pixel probe distinguishes a titled figure");
});

Deno.test("figures: saveFigure writes SVG + PNG with provenance, rejects bad names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-fig-" });
  try {
    const data = join(dir, "data.bin");
    await Deno.writeFile(data, new TextEncoder().encode("hello"));
    const prov = await provenance({ dataFiles: [data], source: "unit test" });
    assert.equal(prov.dataSha, "2cf24dba5fb0a30e"); // sha256("hello")
    const out = await saveFigure(barChart([{ label: "a", value: 1 }]), join(dir, "sub"), "bars-1", {
      title: "Bars",
      caption: "caption",
      provenance: prov,
    });
    const svg = await Deno.readTextFile(out.svg);
    assertWellFormed(svg);
    assert.ok(svg.includes("unit test") && svg.includes("2cf24dba5fb0a30e"));
    assert.deepEqual(pngSize(await Deno.readFile(out.png)), { width: 1600, height: 900 });
    await assert.rejects(
      () => saveFigure(barChart([{ label: "a", value: 1 }]), dir, "../evil"),
      /figure name/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("figures: pngSize rejects non-PNG bytes", () => {
  assert.throws(() => pngSize(new TextEncoder().encode("<svg></svg> not a png at all")), /not a PNG/);
});

Deno.test("figures: standaloneSvg adds xmlns and drops Plot's <style>", () => {
  const s = standaloneSvg('<svg width="1"><style>:where(.x){a:b}</style><g/></svg>');
  assert.equal(s, '<svg xmlns="http://www.w3.org/2000/svg" width="1"><g/></svg>');
});

Deno.test("figures: thinCurve keeps endpoints and caps the point count", () => {
  const xs = Array.from({ length: 100_001 }, (_, i) => i);
  const t = thinCurve(xs, xs, 500);
  assert.ok(t.length <= 501);
  assert.deepEqual(t[0], { x: 0, y: 0 });
  assert.deepEqual(t.at(-1), { x: 100_000, y: 100_000 });
  assert.deepEqual(thinCurve([1, 2], [3, 4]), [{ x: 1, y: 3 }, { x: 2, y: 4 }]);
  assert.throws(() => thinCurve([1, 2], [3]), /2 x values but 1 y values/);
});

Deno.test("figures: binGroups normalises each class and keeps out-of-range values in edge bins", () => {
  const { bins } = binGroups([{ name: "a", values: [0, 1, 2, 3, 100] }, { name: "b", values: [-50, 1] }], {
    bins: 4,
    range: [0, 4],
  });
  for (const s of ["a", "b"]) {
    const sum = bins.filter((b) => b.s === s).reduce((t, b) => t + b.frac, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12, `${s} sums to ${sum}`);
  }
  assert.equal(bins.filter((b) => b.s === "a")[3].count, 2, "100 lands in the last bin");
  assert.equal(bins.filter((b) => b.s === "b")[0].count, 1, "-50 lands in the first bin");
});

Deno.test("figures: groupScores splits by label, benign first", () => {
  const g = groupScores([1, 2, 3, 4], ["dos", "normal", "dos", "probe"]);
  assert.deepEqual(g.map((x) => x.name), ["normal", "dos", "probe"]);
  assert.deepEqual(Array.from(g[1].scores), [1, 3]);
  assert.throws(() => groupScores([1], []), /1 scores but 0 labels/);
});

Deno.test("figures: confusionMatrix checks its shape", () => {
  assert.throws(
    () => confusionMatrix({ labels: ["a", "b"], matrix: [[1, 2]] }),
    /expected a 2×2 matrix, found 1×2/,
  );
});

Deno.test("figures: table and md display as escaped HTML with a text fallback", () => {
  const t = table([{ name: "<b>", n: 1234567, f: 0.123456 }], { caption: "cap" });
  const b = mimeBundle(t)!;
  assert.ok(
    b["text/html"].includes("&lt;b&gt;") && b["text/html"].includes("1,234,567") &&
      b["text/html"].includes("0.1235"),
  );
  assert.ok(b["text/plain"].split("\n")[0].startsWith("name"));
  assert.ok(
    mimeBundle(md("**x** and `y`\n\n- a\n- b"))!["text/html"].includes("<li>b</li>"),
  );
});
