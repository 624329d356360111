/**
 * Where the detectors' AUROC on the CIC-IDS2017 sample comes from (issue 14, a diagnosis that reads test
 * labels and chooses nothing): the bench's split (bench/_deep.ts `cicSplit`: half the benign flows train,
 * the other half and every attack test), each score's AUROC over all attacks, over the attacks with some
 * field outside the benign training range (a min-max-scaled value outside [0, 1]), and over the others,
 * each against every benign test flow. Also the bare indicator "some field is out of range".
 *
 * `deno run -A --unstable-ffi bench/_cic_out_of_range.ts [SEEDS]` (default 1,2,3)
 *
 * @module
 */
import { rocAuc } from "../src/eval/metrics.ts";
import { createDetector } from "../src/detectors/registry.ts";
import { aggregateSurprisal, type FlowLmScores } from "../src/detectors/flow_lm.ts";
import { initTf } from "../src/detectors/tf_backend.ts";
import { cicSplit } from "./_deep.ts";

await initTf();
const sub = (y: Int32Array, s: ArrayLike<number>, keep: (i: number) => boolean) => {
  const yy: number[] = [], ss: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i] === 0 || keep(i)) yy.push(y[i]), ss.push(s[i]);
  return rocAuc(Int32Array.from(yy), Float64Array.from(ss));
};
for (const seed of (Deno.args[0] ?? "1,2,3").split(",").map(Number)) {
  const sp = cicSplit({ seed });
  const X = sp.test, y = sp.labels;
  const oor = new Uint8Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < X.cols; j++) {
      const v = X.data[i * X.cols + j];
      if (v < -1e-9 || v > 1 + 1e-9) {
        oor[i] = 1;
        break;
      }
    }
  }
  let na = 0, nao = 0, nb = 0, nbo = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i]) {
      na++;
      nao += oor[i];
    } else {
      nb++;
      nbo += oor[i];
    }
  }
  console.log(`seed ${seed}: attacks ${na} (${nao} out of range), benign ${nb} (${nbo} out of range)`);
  const scores: Record<string, ArrayLike<number>> = {};
  const d = createDetector("flow-lm", {}, seed);
  await d.fit(sp.train);
  const lm = d as unknown as FlowLmScores;
  const sur = await lm.surprisal(X);
  const T = sur.length / X.rows;
  scores["lm mean"] = aggregateSurprisal(sur, T, "mean", 5, lm.fieldStats);
  scores["lm ztopk"] = aggregateSurprisal(sur, T, "ztopk", 5, lm.fieldStats);
  scores["lm knn"] = lm.neighbourScore(X);
  for (const name of ["knn", "autoencoder"]) {
    const o = createDetector(name, {}, seed);
    await o.fit(sp.train);
    scores[name] = await o.score(X);
  }
  scores["oor indicator"] = Float64Array.from(oor);
  // Every out-of-range flow first, then the z top-5 order (ztopk is finite and far below 1e6).
  const z = scores["lm ztopk"];
  scores["oor, then ztopk"] = Float64Array.from(oor, (o, i) => o * 1e6 + z[i]);
  for (const [k, s] of Object.entries(scores)) {
    console.log(
      `  ${k.padEnd(14)} all ${rocAuc(y, s).toFixed(4)}  oor-attacks ${
        sub(y, s, (i) => oor[i] === 1).toFixed(4)
      }  in-range-attacks ${sub(y, s, (i) => oor[i] === 0).toFixed(4)}`,
    );
  }
}
