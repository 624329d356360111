/**
 * AUROC of flow-lm next to the autoencoder and kNN on two datasets:
 * - NSL-KDD: train on (a seeded sample of) the normal rows of KDDTrain+,
 *   test on KDDTest+;
 * - the vendored CIC-IDS2017 sample: train on half of the benign flows, test
 *   on the other half plus every attack flow.
 * All detectors use their default hyperparameters (chosen without looking at
 * test data); nothing is tuned on test labels.
 *
 * Usage: `deno run -A bench/llm_quality.ts [--train-rows N] [--seed S] [--detectors a,b,c]
 * [--datasets nsl-kdd,cic] [--params '{"flow-lm":{"epochs":5}}']`
 * (or `main(args)` from bench/main.ts). `--train-rows` bounds the NSL-KDD
 * training sample (default 20,000) so the run fits a shared 2-core machine.
 *
 * @module
 */
import { rocAuc } from "../src/eval/metrics.ts";
import { createDetector, detectorBackend } from "../src/detectors/registry.ts";
import { aggregateSurprisal } from "../src/detectors/flow_lm.ts";
import { backendLine, initTf } from "../src/detectors/tf_backend.ts";
import { cicSplit, nslKddSplit, type Split } from "./_deep.ts";
import { saveRecord } from "./_record.ts";

/** One result. */
export interface QualityRow {
  dataset: string;
  detector: string;
  trainRows: number;
  testRows: number;
  auroc: number;
  trainSeconds: number;
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Runs the comparison and prints a table; returns the rows. */
export async function main(args: string[] = []): Promise<QualityRow[]> {
  await initTf();
  const trainRows = Number(arg(args, "--train-rows") ?? 20000);
  const seed = Number(arg(args, "--seed") ?? 1);
  const detectors = (arg(args, "--detectors") ?? "flow-lm,autoencoder,knn").split(",");
  const which = (arg(args, "--datasets") ?? "nsl-kdd,cic").split(",");
  const overrides = JSON.parse(arg(args, "--params") ?? "{}") as Record<string, Record<string, unknown>>;
  const rows: QualityRow[] = [];
  const splits: (() => Split)[] = [];
  if (which.includes("nsl-kdd")) splits.push(() => nslKddSplit({ trainRows, seed }));
  if (which.includes("cic")) splits.push(() => cicSplit({ seed }));
  for (const make of splits) {
    const split = make();
    console.error(`${split.name}: train ${split.train.rows} × ${split.train.cols}, test ${split.test.rows}`);
    for (const name of detectors) {
      const d = createDetector(name, overrides[name] ?? {}, seed);
      const t0 = performance.now();
      await d.fit(split.train, {
        onProgress: (p) =>
          console.error(
            `  ${name} epoch ${p.step}/${p.total} loss ${p.loss?.toFixed(4)} val ${p.valLoss?.toFixed(4)}`,
          ),
      });
      const trainSeconds = (performance.now() - t0) / 1000;
      const s = await d.score(split.test);
      const row: QualityRow = {
        dataset: split.name,
        detector: name,
        trainRows: split.train.rows,
        testRows: split.test.rows,
        auroc: rocAuc(split.labels, s),
        trainSeconds,
      };
      rows.push(row);
      console.error(`  ${name}: AUROC ${row.auroc.toFixed(4)} (${trainSeconds.toFixed(0)} s)`);
      // Other surprisal aggregates of the same fitted flow-lm, reported as variants (not tuned on these labels).
      const lm = d as unknown as { surprisal?: (x: typeof split.test) => Promise<Float32Array> };
      if (name === "flow-lm" && typeof lm.surprisal === "function") {
        const sur = await lm.surprisal(split.test);
        const T = sur.length / split.test.rows;
        for (const [how, k] of [["max", 1], ["topk", 3], ["topk", 5], ["topk", 10]] as const) {
          const label = how === "max" ? "flow-lm score=max" : `flow-lm score=topk topK=${k}`;
          rows.push({
            ...row,
            detector: label,
            auroc: rocAuc(split.labels, aggregateSurprisal(sur, T, how, k)),
          });
          console.error(`  ${label}: AUROC ${rows[rows.length - 1].auroc.toFixed(4)}`);
        }
      }
      d.dispose?.();
    }
  }
  console.log(
    `backend: ${backendLine()}; seed ${seed}; load average ${
      Deno.loadavg().map((v) => v.toFixed(1)).join(" ")
    }`,
  );
  if (Object.keys(overrides).length) console.log(`non-default hyperparameters: ${JSON.stringify(overrides)}`);
  console.log("| dataset | detector | train rows | test rows | AUROC | train s |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.dataset} | ${r.detector} | ${r.trainRows} | ${r.testRows} | ${r.auroc.toFixed(4)} | ${
        r.trainSeconds.toFixed(0)
      } |`,
    );
  }
  await saveRecord("llm", {
    engine: detectorBackend("flow-lm"),
    params: { trainRows, seed, detectors, datasets: which, overrides, tfBackend: backendLine() },
    tables: [{
      id: "auroc",
      title: "AUROC of flow-lm next to the autoencoder and kNN (default hyperparameters)",
      columns: [
        { key: "dataset", label: "dataset" },
        { key: "detector", label: "detector" },
        { key: "trainRows", label: "train rows", int: true },
        { key: "testRows", label: "test rows", int: true },
        { key: "auroc", label: "AUROC", digits: 4 },
        { key: "trainSeconds", label: "train s", digits: 0 },
      ],
      rows: rows.map((r) => ({ ...r })),
    }],
  });
  return rows;
}

if (import.meta.main) await main(Deno.args);
