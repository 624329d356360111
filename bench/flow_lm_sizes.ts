/**
 * `deno task bench flow-lm-sizes [--sizes 1x32,2x32,2x64,4x64] [--epochs N] [--quick]`:
 * flow-lm's size/time trade-off on the engine in use, the measurement behind
 * its default size (issue 12: the largest model that trains on 60 k benign
 * flows within 15 minutes on this 2-core machine and scores at least 20 k
 * flows/s).
 *
 * For each size (`LAYERSxWIDTH`, heads = width / 16) flow-lm trains on the
 * benign KDDTrain+ rows (its default 60 k-row cap applies, as in a real fit)
 * for `--epochs` epochs (default 2, validation pass included, no early
 * stop), then scores KDDTest+. Printed per size: seconds per epoch,
 * the projected time of the default epoch budget at 60 k rows (seconds per
 * epoch scaled to the 54 k-row training split)
 * ({@link autoEpochs}: 20 epochs on the native engine), scoring rows/s, and
 * whether each target is met. AUROC after these few epochs is shown for
 * orientation only: it is not the AUROC of a default fit, and nothing here
 * is chosen by it.
 *
 * Wall-clock and CPU seconds are both recorded; the machine may be shared.
 * The run is written to bench/results/flow-lm-sizes-<stamp>.json.
 *
 * @module
 */
import process from "node:process";
import { AUTO_ROW_PASSES, autoEpochs } from "../src/detectors/flow_lm.ts";
import { detectorBackend, detectorParams } from "../src/detectors/registry.ts";
import { createDetector } from "../src/detectors/registry.ts";
import { rocAuc } from "../src/eval/metrics.ts";
import { type Cell, printTable, saveRecord, type Table } from "./_record.ts";
import { nslKdd } from "./_nsl_kdd.ts";

/** Training within this many seconds for the default budget at 60 k rows (issue 12). */
const TRAIN_TARGET_S = 15 * 60;
/** Scoring at least this many flows per second (issue 12). */
const SCORE_TARGET = 20_000;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** `"2x64"` → { layers: 2, width: 64, heads: 4 }. */
export function parseSize(s: string): { layers: number; width: number; heads: number } {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`--sizes: expected LAYERSxWIDTH such as 2x64, found "${s}"`);
  const layers = Number(m[1]), width = Number(m[2]);
  if (width % 16 !== 0) {
    throw new Error(`--sizes: width must be a multiple of 16 (heads of 16), found ${width}`);
  }
  return { layers, width, heads: width / 16 };
}

/** Entry point (see the module docs). */
export async function main(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const sizes = (flag(args, "--sizes") ?? (quick ? "1x16,1x32" : "1x32,2x32,2x64,4x64")).split(",").map(
    parseSize,
  );
  const epochs = Number(flag(args, "--epochs") ?? (quick ? 1 : 2));
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new Error(`--epochs: expected a whole number ≥ 1, found "${flag(args, "--epochs")}"`);
  }
  const data = nslKdd();
  let train = data.train;
  const test = data.test;
  if (quick) {
    const rows = Math.min(train.rows, 3000);
    train = { ...train, data: train.data.slice(0, rows * train.cols), rows };
  }
  const defaults = detectorParams("flow-lm", {});
  const cap = Number(defaults.maxTrainRows);
  const engine = detectorBackend("flow-lm");
  const kind = engine.startsWith("native") ? "native" : "tfjs";
  // The budget a default fit on 60 k rows gets; the validation share comes off before epochs are counted.
  const trainSplit = Math.round(Math.min(cap, 60_000) * (1 - Number(defaults.valFraction)));
  const budget = autoEpochs(0, trainSplit, AUTO_ROW_PASSES[kind]);
  console.log(
    `flow-lm sizes on NSL-KDD: ${train.rows} benign training rows (cap ${cap}), ${test.rows} test rows; ` +
      `${epochs} epoch(s) each; engine ${engine}; default budget ${budget} epochs`,
  );
  const rows: Record<string, Cell>[] = [];
  for (const s of sizes) {
    const d = createDetector("flow-lm", { ...s, epochs, patience: epochs }, 0);
    const c0 = process.cpuUsage();
    let t = performance.now();
    let seen = 0;
    await d.fit(train, { onProgress: (e) => (seen = e.step) });
    const fitWall = (performance.now() - t) / 1000;
    const used = process.cpuUsage(c0), fitCpu = (used.user + used.system) / 1e6;
    t = performance.now();
    const scores = await d.score(test);
    const scoreWall = (performance.now() - t) / 1000;
    d.dispose?.();
    const perEpoch = fitWall / Math.max(1, seen || epochs);
    // Scaled to the 60 k-row split, so a --quick slice still projects a default fit.
    const usedSplit = Math.round(Math.min(cap, train.rows) * (1 - Number(defaults.valFraction)));
    const projected = perEpoch * (trainSplit / usedSplit) * budget;
    const rate = test.rows / scoreWall;
    const auroc = rocAuc(data.testLabels, scores);
    console.error(
      `${s.layers}x${s.width}: ${perEpoch.toFixed(1)} s/epoch, scores ${Math.round(rate)} rows/s, ` +
        `AUROC after ${epochs} epoch(s) ${auroc.toFixed(4)}`,
    );
    rows.push({
      size: `${s.layers} × ${s.width} (${s.heads} heads)`,
      epochSeconds: perEpoch,
      epochCpuSeconds: fitCpu / Math.max(1, seen || epochs),
      projectedMinutes: projected / 60,
      trainOk: projected <= TRAIN_TARGET_S ? "yes" : "no",
      rate,
      scoreOk: rate >= SCORE_TARGET ? "yes" : "no",
      auroc,
    });
  }
  const table: Table = {
    id: "sizes",
    title: `flow-lm size/time trade-off on NSL-KDD (${engine})`,
    columns: [
      { key: "size", label: "layers × width" },
      { key: "epochSeconds", label: "s/epoch", digits: 1 },
      { key: "epochCpuSeconds", label: "CPU s/epoch", digits: 1 },
      { key: "projectedMinutes", label: `default budget (${budget} epochs), min`, digits: 1 },
      { key: "trainOk", label: "≤ 15 min" },
      { key: "rate", label: "score rows/s", int: true },
      { key: "scoreOk", label: "≥ 20 k/s" },
      { key: "auroc", label: `AUROC after ${epochs} epoch(s)`, digits: 4 },
    ],
    rows,
    notes: [
      `Training: ${Math.min(train.rows, cap)} benign KDDTrain+ rows (flow-lm's ${cap}-row cap), ` +
      `${Math.round(Number(defaults.valFraction) * 100)} % held out for validation; heads = width / 16; ` +
      `every other parameter at its default.`,
      `The projection is s/epoch × the default budget for 60 k rows; AUROC after ${epochs} epoch(s) is for ` +
      "orientation, not a default fit's result, and chose nothing.",
    ],
  };
  printTable(table);
  await saveRecord("flow-lm-sizes", {
    engine,
    params: {
      quick,
      epochs,
      sizes: sizes.map((s) => `${s.layers}x${s.width}`),
      budget,
      trainRows: train.rows,
    },
    tables: [table],
  });
}

if (import.meta.main) await main(Deno.args);
