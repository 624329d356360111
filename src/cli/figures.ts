/**
 * `nadir figures`: the slide set, rendered from the committed runs in
 * results/ and the vendored data, as SVG + PNG (1600×900, titled, captioned,
 * provenance-stamped) into reports/figures/. File names match the ones the
 * notebooks save (`bench-*`, `eda-*`), so either way the latest chart wins.
 *
 * @module
 */
import { join } from "node:path";
import type { Command } from "./command.ts";
import { str } from "./command.ts";
import { InputError } from "../util/errors.ts";

/** What {@link renderSlideFigures} wrote. */
export interface SlideFigures {
  out: string;
  files: string[];
}

/** Renders the slide figures; `results` is the runs root, `out` the folder. */
export async function renderSlideFigures(
  opts: { out: string; results: string; log?: (l: string) => void },
): Promise<SlideFigures> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const pl = (await import("nodejs-polars")).default;
  const { loadRuns } = await import("../eval/runs.ts");
  const { latestRuns, compareRows } = await import("../eval/compare.ts");
  const { averagePrecision, prCurve, rocAuc, rocCurve } = await import("../eval/metrics.ts");
  const F = await import("../figures/mod.ts");
  const { loadDataset } = await import("../data/datasets.ts");
  const { DATA_DIR, VENDORED } = await import("../data/source.ts");

  const files: string[] = [];
  const save = async (
    fig: InstanceType<typeof F.Figure>,
    name: string,
    caption: string,
    prov: Awaited<ReturnType<typeof F.provenance>>,
  ) => {
    const r = await F.saveFigure(fig, opts.out, name, { caption, provenance: prov });
    files.push(r.svg, r.png);
    log(`figures: ${r.png}`);
  };

  let runs: Awaited<ReturnType<typeof loadRuns>> = [];
  try {
    runs = await loadRuns(opts.results, { latestOnly: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const detectorRuns = runs.filter((r) => r.kind === "detector");
  // Experiment id without the protocol prefix ("knn", "knn-log"): unique where detector names repeat.
  const label = (r: (typeof runs)[number]) =>
    r.id.startsWith(`${r.protocol}-`) ? r.id.slice(r.protocol.length + 1) : r.id;
  const idsRuns = runs.filter((r) => r.kind === "signature-ids");
  if (runs.length) {
    const prov = await F.provenance({
      dataFiles: runs.map((r) => join(r.dir, "metrics.json")),
      source: `${runs.length} runs in results/`,
    });
    for (const p of [...new Set(detectorRuns.map((r) => r.protocol))]) {
      const roc: { name: string; fpr: number[]; tpr: number[]; auc: number }[] = [];
      const pr: { name: string; recall: number[]; precision: number[]; ap: number }[] = [];
      let prevalence = 0;
      const bars: { label: string; group: string; value: number; lo: number; hi: number }[] = [];
      for (const r of detectorRuns.filter((x) => x.protocol === p)) {
        const df = pl.readParquet(join(r.dir, "scores.parquet"));
        const y = df.getColumn("label").cast(pl.Int32).toTypedArray() as Int32Array;
        const s = df.getColumn("score").cast(pl.Float64).toTypedArray() as Float64Array;
        const rc = rocCurve(y, s), pc = prCurve(y, s);
        roc.push({ name: label(r), fpr: rc.fpr, tpr: rc.tpr, auc: rocAuc(y, s) });
        pr.push({ name: label(r), recall: pc.recall, precision: pc.precision, ap: averagePrecision(y, s) });
        prevalence = y.reduce((a, b) => a + b, 0) / y.length;
      }
      for (const r of [...detectorRuns, ...idsRuns].filter((x) => x.protocol === p)) {
        for (const [cat, m] of Object.entries(r.metrics.main.per_category ?? {})) {
          const v = m as { n: number; recall: number; ci95: [number, number] };
          if (cat !== "normal") {
            bars.push({
              label: `${cat} (n=${v.n.toLocaleString("en-US")})`,
              group: r.kind === "detector" ? label(r) : r.detector,
              value: v.recall,
              lo: v.ci95[0],
              hi: v.ci95[1],
            });
          }
        }
      }
      const points = idsRuns.filter((r) => r.protocol === p).map((r) => ({
        name: r.detector,
        fpr: Number(r.metrics.main.fpr),
        tpr: Number(r.metrics.main.recall),
      }));
      await save(
        F.rocChart(roc, {
          logX: true,
          points,
          title: `ROC · ${p}`,
          subtitle: "threshold-free; recomputed from the runs' saved test scores",
        }),
        `bench-${p}-roc`,
        "True-positive rate against false-positive rate (log) for every detector; a diamond marks a signature IDS's single " +
          "operating point on the same flows. Higher and further left is better.",
        prov,
      );
      await save(
        F.prChart(pr, { baseline: prevalence, title: `Precision–recall · ${p}` }),
        `bench-${p}-pr`,
        (() => {
          // The chart leaves the chance line out when it zooms past it; the caption must not promise it then.
          const axis = F.precisionDomain(pr);
          return axis.domain[0] <= prevalence
            ? "Precision against recall; the dashed line is the share of attacks in the test set (a random detector)."
            : `Precision against recall; the y axis is zoomed to ${
              axis.domain[0]
            }–1, above the share of attacks ` +
              `in the test set (${F.pct(prevalence)}, a random detector's precision).`;
        })(),
        prov,
      );
      if (bars.length) {
        await save(
          F.recallGrid(
            bars.map((b) => ({ detector: b.group, cls: b.label, recall: b.value, lo: b.lo, hi: b.hi })),
            {
              title: `Recall by attack class · ${p}`,
              subtitle: "at each run's threshold; ± and italics: Wilson 95 % interval wider than ±10 points",
            },
          ),
          `bench-${p}-recall-by-class`,
          "Share of each attack class's test flows that alert, per detector (rows) and class (columns). " +
            "Classes marked ± are too small to tell detectors apart on.",
          prov,
        );
      }
    }
    const rows = compareRows(latestRuns(detectorRuns), { published: false })
      .filter((r) =>
        r.test_set === detectorRuns.find((d) => d.protocol === r.protocol)?.metrics.main.test_set
      );
    // One comparison per protocol: all protocols on one slide were 150 bars in 480 px, unreadable.
    for (const p of [...new Set(rows.map((r) => r.protocol))]) {
      await save(
        F.comparisonChart(
          rows.filter((r) => r.protocol === p).map((r) => ({
            label: r.detector,
            values: { F1: r.f1 ?? 0, "F1 (oracle)": r.f1_oracle ?? 0, "ROC AUC": r.roc_auc ?? 0 },
          })),
          {
            title: `Detectors compared · ${p}`,
            subtitle: "F1 at the benign-fit threshold, F1 with the test-ratio (oracle) threshold, ROC AUC",
            domain: [0, 1],
            xLabel: "score",
          },
        ),
        `bench-${p}-comparison`,
        "The gap between F1 and F1 (oracle) is the price of choosing the threshold without test labels.",
        prov,
      );
    }
  } else log(`figures: no runs under ${opts.results}; skipping the benchmark figures`);

  for (const name of ["nsl-kdd-train", "cic-ids2017"]) {
    const { df } = loadDataset(name, { warn: () => {} });
    const counts = df.getColumn("category").valueCounts().sort("count", true);
    const cats = counts.getColumn("category").toArray() as string[];
    const n = counts.getColumn("count").toArray() as number[];
    const prov = await F.provenance({ dataFiles: [`${DATA_DIR}${VENDORED[name].path}`], source: name });
    await save(
      F.barChart(cats.map((c, i) => ({ label: c, value: n[i] / df.height })), {
        percent: true,
        xLabel: "Share of rows",
        title: `Class balance · ${name}`,
        subtitle: `${df.height.toLocaleString("en-US")} rows`,
      }),
      `eda-${name}-class-balance`,
      "Share of rows per traffic category. Unsupervised detectors train on the normal rows only; rare categories get " +
        "wide confidence intervals on any recall measured on them.",
      prov,
    );
  }
  return { out: opts.out, files };
}

export const command: Command = {
  name: "figures",
  summary: "Render the slide figures (SVG + PNG, 1600x900)",
  options: {
    out: {
      type: "string",
      arg: "DIR",
      description: "Output folder",
      default: "reports/figures",
      writes: "dir",
    },
    results: { type: "string", arg: "DIR", description: "Runs root to read", default: "results" },
  },
  details:
    `Renders ROC (log FPR, with the Snort/Suricata operating point), precision-recall and per-class recall
(Wilson 95 % whiskers) per protocol from the latest run of each experiment, the cross-protocol comparison,
and the class balance of the vendored datasets. Each notebook also saves its own charts to reports/figures/
when run through nadir report.`,
  async run(args) {
    const out = str(args, "out") ?? "reports/figures";
    const results = str(args, "results") ?? "results";
    try {
      await Deno.mkdir(out, { recursive: true });
    } catch (e) {
      throw new InputError(`cannot create output folder: ${(e as Error).message}`, { file: out });
    }
    const r = await renderSlideFigures({ out, results });
    console.log(`${r.files.length / 2} figures (SVG + PNG, 1600×900) in ${r.out}`);
  },
};
