/**
 * Detectors vs a signature IDS on the *same flows*: joins a detector run's
 * scores.parquet (row ids into the CIC-IDS2017 sample) with the IDS run's
 * per-flow flags, and reports for each detector
 * - recall and FPR at its own (training-only) threshold,
 * - the best recall it reaches at an FPR no higher than the IDS's on those
 *   flows (a threshold-free comparison: it reads test labels, so it is an
 *   evaluation figure, never a deployed threshold),
 * on all the detector's test flows and on the subset inside the IDS's time
 * coverage.
 *
 * @module
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { fromConfusion, recallAtFpr } from "./metrics.ts";
import type { Run } from "./runs.ts";

/** One comparison row. */
export interface IdsCompareRow {
  detector: string;
  subset: "all test flows" | "covered flows";
  flows: number;
  attacks: number;
  ids_recall: number;
  ids_fpr: number;
  det_recall: number;
  det_fpr: number;
  det_recall_at_ids_fpr: number;
  seed: number;
}

function readScores(dir: string): { row: number[]; label: number[]; score: number[]; covered?: number[] } {
  const df = pl.readParquet(join(dir, "scores.parquet"));
  const get = (c: string) => df.getColumn(c).toArray() as number[];
  return {
    row: get("row"),
    label: get("label"),
    score: get("score"),
    covered: df.columns.includes("covered") ? get("covered") : undefined,
  };
}

function rates(y: number[], pred: number[]): { recall: number; fpr: number } {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i]) pred[i] ? tp++ : fn++;
    else pred[i] ? fp++ : tn++;
  }
  const m = fromConfusion({ tp, fp, tn, fn });
  return { recall: m.recall, fpr: m.fpr };
}

/** Compares every cic-ids2017 detector run with the IDS run on the same flows. */
export function compareWithIds(ids: Run, detectors: Run[]): IdsCompareRow[] {
  const s = readScores(ids.dir);
  const flag = new Map<number, number>(), cov = new Map<number, number>();
  s.row.forEach((r, i) => {
    flag.set(r, s.score[i]);
    cov.set(r, s.covered?.[i] ?? 0);
  });
  const out: IdsCompareRow[] = [];
  for (const d of detectors) {
    if (d.protocol !== "cic-ids2017" || d.kind === "signature-ids") continue;
    const ds = readScores(d.dir);
    const first = (d.metrics.main.per_seed ?? [])[0] ?? {};
    const threshold = Number(first.threshold ?? d.metrics.main.threshold);
    for (const subset of ["all test flows", "covered flows"] as const) {
      const idx = ds.row.map((_, i) => i).filter((i) =>
        subset === "all test flows" || cov.get(ds.row[i]) === 1
      );
      const y = idx.map((i) => ds.label[i]);
      if (!y.some((v) => v) || !y.some((v) => !v)) continue;
      const idsPred = idx.map((i) => flag.get(ds.row[i]) ?? 0);
      const detScore = idx.map((i) => ds.score[i]);
      const idsR = rates(y, idsPred);
      const detR = rates(y, detScore.map((v) => (v > threshold ? 1 : 0)));
      out.push({
        detector: d.variant ? `${d.detector} [${d.variant}]` : d.detector,
        subset,
        flows: idx.length,
        attacks: y.reduce((a, b) => a + b, 0),
        ids_recall: idsR.recall,
        ids_fpr: idsR.fpr,
        det_recall: detR.recall,
        det_fpr: detR.fpr,
        det_recall_at_ids_fpr: recallAtFpr(y, detScore, idsR.fpr),
        seed: Number(first.seed ?? 0),
      });
    }
  }
  return out;
}

/** Markdown table of {@link compareWithIds}. */
export function idsCompareTable(rows: IdsCompareRow[], engine = "Snort 3"): string {
  const f = (v: number) => v.toFixed(4);
  return [
    `| Detector | Flows | Attack flows | ${engine} recall | ${engine} FPR | Detector recall | Detector FPR | Detector recall at FPR ≤ ${engine}'s |`,
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.detector} (seed ${r.seed}) | ${r.subset} (${r.flows}) | ${r.attacks} | ${f(r.ids_recall)} | ${
        f(r.ids_fpr)
      } | ${f(r.det_recall)} | ${f(r.det_fpr)} | ${f(r.det_recall_at_ids_fpr)} |`
    ),
  ].join("\n");
}
