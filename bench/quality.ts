/**
 * Quality check (not a test): each detector trained on the benign rows of
 * KDDTrain+, threshold fitted on held-out benign KDDTrain+ rows (random 10 %,
 * seed 0) — never on test labels — then accuracy, precision, recall, F1 and
 * AUROC on KDDTest+.
 *
 *   deno run -A bench/quality.ts [--only knn,kmeans] [--threshold percentile:0.99] [--param det.k=v ...]
 *
 * Preprocessing (dedupe, one-hot, min-max) is fitted on the benign training
 * part only. Hyperparameters are the registry defaults unless given.
 *
 * @module
 */
import { Rng } from "../src/util/random.ts";
import { type Matrix, matrix, takeRows } from "../src/data/matrix.ts";
import { createDetector, listDetectors } from "../src/detectors/registry.ts";
import { fitThreshold, parseThresholdSpec } from "../src/thresholds/index.ts";
import { rocAuc } from "../src/eval/metrics.ts";
import { nslKdd } from "./_nsl_kdd.ts";

function flagValues(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) if (args[i] === name && i + 1 < args.length) out.push(args[i + 1]);
  return out;
}

/** Entry point. */
export async function main(args: string[]): Promise<void> {
  const only = flagValues(args, "--only")[0]?.split(",") ?? ["knn", "isolation-forest", "kmeans", "kitnet"];
  const spec = parseThresholdSpec(flagValues(args, "--threshold")[0] ?? "percentile:0.99");
  const params: Record<string, Record<string, unknown>> = {};
  for (const p of flagValues(args, "--param")) {
    const m = /^([\w-]+)\.(\w+)=(.*)$/.exec(p);
    if (!m) throw new Error(`--param expects DETECTOR.NAME=VALUE, found "${p}"`);
    (params[m[1]] ??= {})[m[2]] = m[3];
  }
  const data = nslKdd();
  // Benign validation split (random 10 %, seed 0): the only data the threshold sees.
  const rng = new Rng(0);
  const perm = rng.shuffle(Array.from({ length: data.train.rows }, (_, i) => i));
  const nVal = Math.round(data.train.rows * 0.1);
  const val = takeRows(data.train, perm.slice(0, nVal).sort((a, b) => a - b));
  const fit: Matrix = takeRows(data.train, perm.slice(nVal).sort((a, b) => a - b));
  const y = data.testLabels;
  console.log(
    `NSL-KDD: fit on ${fit.rows} benign KDDTrain+ rows, threshold (${spec.strategy} ${
      JSON.stringify(spec.params)
    }) ` +
      `on ${val.rows} held-out benign rows, test on ${data.test.rows} KDDTest+ rows (${
        y.reduce((a, b) => a + b, 0)
      } attacks)`,
  );
  console.log(
    "| detector | accuracy | precision | recall | F1 | AUROC | benign val FPR | train s |\n|---|---|---|---|---|---|---|---|",
  );
  for (const name of only) {
    if (!listDetectors().some((f) => f.name === name)) {
      console.log(`| ${name} | unknown detector | | | | | | |`);
      continue;
    }
    const d = createDetector(name, params[name] ?? {}, 0);
    const t = performance.now();
    await d.fit(fit);
    const trainS = (performance.now() - t) / 1000;
    const vs = await d.score(val);
    const th = fitThreshold(spec.strategy, vs, spec.params);
    const s = await d.score(matrix(data.test.data, data.test.rows, data.test.cols, data.test.names));
    let tp = 0, fp = 0, tn = 0, fn = 0, vfp = 0;
    for (let i = 0; i < s.length; i++) {
      const a = s[i] > th.value;
      if (a && y[i]) tp++;
      else if (a) fp++;
      else if (y[i]) fn++;
      else tn++;
    }
    for (const v of vs) if (v > th.value) vfp++;
    const acc = (tp + tn) / s.length,
      prec = tp / (tp + fp),
      rec = tp / (tp + fn),
      f1 = 2 * prec * rec / (prec + rec);
    const pct = (v: number) => (100 * v).toFixed(2) + " %";
    console.log(
      `| ${name} | ${pct(acc)} | ${pct(prec)} | ${pct(rec)} | ${f1.toFixed(3)} | ${
        rocAuc(y, s).toFixed(4)
      } | ` +
        `${pct(vfp / vs.length)} | ${trainS.toFixed(1)} |`,
    );
    d.dispose?.();
  }
}

if (import.meta.main) await main(Deno.args);
