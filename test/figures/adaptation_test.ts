/**
 * The drift protocol's charts (src/figures/adaptation.ts) on the committed
 * results/*-adapt runs: what notebook 06-adaptation draws, held to the slide
 * checks of test/figures/slides_test.ts (no overlapping or clipped text, a
 * legend whose every colour is drawn and unique).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  adaptationWindows,
  feedbackEffect,
  type FeedbackPoint,
  policyColor,
  scoreStream,
  type WindowSeries,
} from "../../src/figures/adaptation.ts";
import { legendEntries, outside, overlaps, textBoxes } from "../../src/figures/geometry.ts";
import { PALETTE } from "../../src/figures/charts.ts";
import { ROOT } from "../_shared.ts";

/** Overlapping or clipped text, repeated or undrawn legend colours (as slides_test.ts checks them). */
function slideProblems(svg: string): string[] {
  const vb = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg)!;
  const boxes = textBoxes(svg);
  const out = overlaps(boxes).map(([a, b]) => `"${a.text}" overlaps "${b.text}"`);
  for (const b of outside(boxes, Number(vb[1]), Number(vb[2]))) out.push(`"${b.text}" leaves the canvas`);
  const legend = legendEntries(svg);
  const chart = svg.replace(/<g class="nadir-legend">[\s\S]*?<\/g>/g, "").toLowerCase();
  const colours = legend.map((e) => e.color.toLowerCase());
  legend.forEach((e, i) => {
    if (e.dash) {
      if (!chart.includes("stroke-dasharray")) out.push(`legend "${e.name}" promises a dashed line`);
      return;
    }
    if (colours.indexOf(colours[i]) !== i) out.push(`legend "${e.name}" shares its colour`);
    if (!chart.includes(`"${colours[i]}"`)) out.push(`legend "${e.name}" (${e.color}) is drawn nowhere`);
  });
  return out;
}

type Run = WindowSeries & { feedbackShare: number; fprAtRecall?: { fpr: number }; total: { fpr: number } };
const runsOf = (file: string): { config: string; runs: Run[] } =>
  JSON.parse(Deno.readTextFileSync(join(ROOT, "results", file)));

Deno.test("adaptation charts: per-window FPR and recall of NSL-KDD seed 0, every policy, slide-clean", () => {
  const rec = runsOf("nsl-kdd-knn-adapt/seed0.json");
  const series = rec.runs.map((r) => ({ policy: r.policy, feedback: r.feedbackShare, windows: r.windows }));
  const svg = adaptationWindows(series, { title: "Per window · nsl-kdd", caption: "A caption." }).toSVG();
  assert.deepEqual(slideProblems(svg), []);
  for (const p of ["frozen", "sliding", "incremental", "on-drift"]) {
    assert.ok(svg.includes(`>${p}</text>`), p);
  }
  assert.ok(svg.includes("dashed: no feedback · solid: 1 % feedback"));
  // Two panels, each one line per run: 7 runs → 14 paths, the 3 updating runs without feedback dashed in both.
  assert.equal((svg.match(/stroke-dasharray="6,4"/g) ?? []).length, 2, "one dashed line group per panel");
});

Deno.test("adaptation charts: FPR at the frozen recall against feedback, one panel per stream, slide-clean", () => {
  const points: FeedbackPoint[] = [];
  const frozen: Record<string, number> = {};
  for (
    const f of [
      "nsl-kdd-knn-adapt/seed0.json",
      "cic-ids2017-knn-adapt/seed0.json",
      "captures-knn-adapt/seed0.json",
    ]
  ) {
    const rec = runsOf(f);
    for (const r of rec.runs) {
      if (r.policy === "frozen") frozen[rec.config] = r.total.fpr;
      else {points.push({
          stream: rec.config,
          policy: r.policy,
          share: r.feedbackShare,
          fpr: r.fprAtRecall!.fpr,
        });}
    }
  }
  const svg = feedbackEffect(points, { frozen, title: "Feedback" }).toSVG();
  assert.deepEqual(slideProblems(svg), []);
  for (const s of ["nsl-kdd-knn", "cic-ids2017-knn", "captures-knn"]) {
    assert.ok(svg.includes(`>${s}</text>`), s);
  }
  // The capture stream's runs all tie at one FPR: its panel still gets several labelled ticks.
  assert.ok((svg.match(/>91(\.\d)? %<\/text>/g) ?? []).length >= 2, "a padded axis around the tie");
  assert.equal((svg.match(/<circle/g) ?? []).length, points.length, "one dot per run");
});

Deno.test("adaptation charts: score stream with segments, threshold and drift events; segments must cover the scores", () => {
  const score = Array.from({ length: 300 }, (_, i) => (i < 100 ? 0.3 : i < 290 ? 4.4 : 2) + (i % 7) / 20);
  const data = {
    score,
    segments: [
      { name: "zeek-smtp (benign)", rows: 100 },
      { name: "synscan (attack)", rows: 190 },
      { name: "stratosphere-test12-icmp-portscan (attack)", rows: 10 },
    ],
    threshold: 1.15,
    events: [104, 291],
    eventName: "ADWIN drift",
  };
  const svg = scoreStream(data, { title: "Stream", subtitle: "frozen kNN", caption: "Why." }).toSVG();
  assert.deepEqual(slideProblems(svg), []);
  assert.ok(svg.includes(">ADWIN drift (2)</text>") && svg.includes(">threshold 1.15</text>"));
  assert.equal((svg.match(/<circle/g) ?? []).length, 300);
  assert.ok(slideProblems(scoreStream(data, { logY: true }).toSVG()).length === 0, "log y axis");
  assert.throws(
    () => scoreStream({ ...data, segments: [{ name: "a", rows: 5 }] }),
    /the segments hold 5 rows but there are 300 scores/,
  );
});

Deno.test("adaptation charts: a policy keeps its colour whichever policies a chart shows", () => {
  assert.equal(policyColor("frozen"), PALETTE[0]);
  assert.equal(policyColor("on-drift"), PALETTE[3]);
  const a = adaptationWindows([{
    policy: "on-drift",
    feedback: 0.01,
    windows: [{ window: 0, fpr: 0.1, recall: 0.5 }],
  }])
    .toSVG();
  assert.ok(a.includes(`fill="${PALETTE[3]}"`));
});
