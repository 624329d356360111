import assert from "node:assert/strict";
import {
  averagePrecision,
  bootstrapCi95,
  classify,
  confusion,
  evaluate,
  f1Oracle,
  fromConfusion,
  perCategory,
  prCurve,
  recallAtFpr,
  rocAuc,
  rocCurve,
  wilson,
} from "../../src/eval/metrics.ts";

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

Deno.test("confusion and threshold metrics: hand-computed case", () => {
  // labels 1 1 1 0 0 0 0 ; predictions 1 1 0 1 0 0 0 → tp 2 fn 1 fp 1 tn 3
  const c = confusion([1, 1, 1, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0]);
  assert.deepEqual(c, { tp: 2, fp: 1, tn: 3, fn: 1 });
  const m = fromConfusion(c);
  close(m.accuracy, 5 / 7);
  close(m.precision, 2 / 3);
  close(m.recall, 2 / 3);
  close(m.f1, 2 / 3);
  close(m.fpr, 1 / 4);
  // score > threshold is flagged; equal is not
  const k = classify([0, 1, 1], [0.5, 0.5, 0.6], 0.5);
  assert.deepEqual([k.tp, k.fp, k.fn], [1, 0, 1]);
  // nothing flagged: precision and f1 are 0, not NaN
  const z = fromConfusion({ tp: 0, fp: 0, tn: 3, fn: 2 });
  assert.equal(z.precision, 0);
  assert.equal(z.f1, 0);
});

Deno.test("roc_auc and average precision: no ties", () => {
  const y = [0, 0, 1, 1], s = [0.1, 0.4, 0.35, 0.8];
  close(rocAuc(y, s), 0.75); // 3 of 4 (attack, benign) pairs ordered right
  close(averagePrecision(y, s), 0.5 * 1 + 0.5 * (2 / 3)); // sklearn: 0.8333
  const r = rocCurve(y, s);
  assert.deepEqual(r.fpr, [0, 0, 0.5, 0.5, 1]);
  assert.deepEqual(r.tpr, [0, 0.5, 0.5, 1, 1]);
});

Deno.test("roc_auc and average precision: ties count half and form one step", () => {
  const y = [0, 1, 0, 1], s = [0.5, 0.5, 0.2, 0.9];
  close(rocAuc(y, s), (0.5 + 1 + 1 + 1) / 4);
  close(averagePrecision(y, s), 0.5 * 1 + 0.5 * (2 / 3));
  const pr = prCurve(y, s);
  assert.deepEqual(pr.recall, [0.5, 1, 1]);
  close(pr.precision[1], 2 / 3);
  // all scores equal → AUC 0.5, AP = prevalence
  close(rocAuc([0, 1, 1, 0], [3, 3, 3, 3]), 0.5);
  close(averagePrecision([0, 1, 1, 0], [3, 3, 3, 3]), 0.5);
  // perfectly inverted → 0
  close(rocAuc([1, 1, 0], [0, 1, 2]), 0);
});

Deno.test("recall_at_fpr picks the best cut within the FPR budget", () => {
  const y = [0, 0, 0, 0, 1, 1], s = [1, 2, 3, 4, 3.5, 5];
  close(recallAtFpr(y, s, 0), 0.5);
  close(recallAtFpr(y, s, 0.25), 1);
  close(recallAtFpr(y, s, 0.2), 0.5);
});

Deno.test("f1_oracle flags the k highest scores, k = number of attacks", () => {
  const o = f1Oracle([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
  assert.equal(o.threshold, 0.4);
  assert.deepEqual([o.tp, o.fp], [1, 1]);
  close(o.f1, 0.5);
  const e = evaluate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.3);
  close(e.f1, 0.8); // flags .4 .35 .8 → tp 2 fp 1: P 2/3 R 1
  close(e.f1_oracle, 0.5);
});

Deno.test("wilson interval matches the textbook value", () => {
  const [lo, hi] = wilson(5, 10);
  close(lo, 0.2366, 1e-4);
  close(hi, 0.7634, 1e-4);
  const [l0, h0] = wilson(0, 20);
  assert.equal(l0, 0);
  close(h0, 0.1611, 1e-4);
});

Deno.test("per-category recall with intervals", () => {
  const pc = perCategory(["dos", "dos", "probe", "normal"], [1, 0, 1, 1]);
  assert.deepEqual(Object.keys(pc), ["dos", "normal", "probe"]);
  assert.equal(pc.dos.recall, 0.5);
  assert.equal(pc.dos.n, 2);
  assert.equal(pc.normal.detected, 1);
  assert.ok(pc.probe.ci95[0] > 0 && pc.probe.ci95[1] === 1);
});

Deno.test("bootstrap ci95 is seeded and brackets the estimate", () => {
  const y: number[] = [], s: number[] = [];
  for (let i = 0; i < 400; i++) {
    y.push(i % 4 === 0 ? 1 : 0);
    s.push((i % 4 === 0 ? 0.6 : 0.4) + ((i * 7919) % 101) / 200);
  }
  const a = bootstrapCi95(y, s, rocAuc, { seed: 3, rounds: 100 });
  const b = bootstrapCi95(y, s, rocAuc, { seed: 3, rounds: 100 });
  assert.deepEqual(a, b);
  const auc = rocAuc(y, s);
  assert.ok(a[0] <= auc && auc <= a[1] && a[1] - a[0] < 0.2, `${a} vs ${auc}`);
});

Deno.test("bad input gives clear errors", () => {
  assert.throws(() => rocAuc([0, 0], [1, 2]), /needs both classes/);
  assert.throws(() => rocAuc([0, 1], [1]), /as many scores as labels/);
  assert.throws(() => rocAuc([0, 2], [1, 2]), /must be 0 or 1/);
  assert.throws(() => rocAuc([0, 1], [NaN, 2]), /NaN/);
});
