import assert from "node:assert/strict";
import { matrixFromRows } from "../../src/data/matrix.ts";
import {
  correlationMatrix,
  correlationPrune,
  discretize,
  loadFeatureSet,
  lowVariance,
  mutualInformation,
  permutationImportance,
  saveFeatureSet,
} from "../../src/data/select.ts";
import { Rng } from "../../src/util/random.ts";

function synthetic(n = 4000) {
  const rng = new Rng(7);
  const y: number[] = [];
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const label = rng.next() < 0.3 ? 1 : 0;
    const signal = label * 3 + rng.normal();
    rows.push([signal, 2 * signal + 1, rng.normal(), 7, i === 5 ? 8 : 7]);
    y.push(label);
  }
  return { m: matrixFromRows(rows, ["signal", "signal_x2", "noise", "const", "almost_const"]), y };
}

Deno.test("select: lowVariance drops constant and near-constant features", () => {
  const { m } = synthetic();
  const r = lowVariance(m);
  assert.deepEqual(
    r.drop.map((d) => d.feature),
    ["const"],
    "1 differing row in 4,000 (mode 99.975 %) is kept by default",
  );
  assert.deepEqual(r.keep, ["signal", "signal_x2", "noise", "almost_const"]);
  const strict = lowVariance(m, { maxModeFraction: 0.999 });
  assert.deepEqual(strict.drop.map((d) => d.feature), ["const", "almost_const"]);
  assert.equal(strict.stats.find((s) => s.feature === "almost_const")!.distinct, 2);
});

Deno.test("select: correlationMatrix matches hand-computed Pearson r", () => {
  const m = matrixFromRows([[1, 2, 1], [2, 4, 0], [3, 6, 1], [4, 8, 0]], ["a", "b", "c"]);
  const c = correlationMatrix(m);
  const close = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-12, `${x} ≠ ${y}`);
  close(c[0 * 3 + 1], 1);
  // a − mean = (−1.5, −0.5, 0.5, 1.5), c − mean = (0.5, −0.5, 0.5, −0.5): Σ = −1, |a| = √5, |c| = 1 → r = −1/√5.
  close(c[0 * 3 + 2], -1 / Math.sqrt(5));
  close(c[2 * 3 + 0], -1 / Math.sqrt(5));
  assert.equal(c[4], 1);
  const withConst = correlationMatrix(matrixFromRows([[1, 5], [2, 5]], ["x", "k"]));
  assert.deepEqual(Array.from(withConst), [1, 0, 0, 1]);
});

Deno.test("select: correlationPrune keeps the first of a correlated pair in the given order", () => {
  const { m } = synthetic();
  const r = correlationPrune(m, { threshold: 0.95 });
  assert.deepEqual(r.drop.map((d) => [d.feature, d.because]), [["signal_x2", "signal"]]);
  const r2 = correlationPrune(m, {
    threshold: 0.95,
    order: ["signal_x2", "signal", "noise", "const", "almost_const"],
  });
  assert.deepEqual(r2.keep.slice(0, 2), ["signal_x2", "noise"]);
  assert.throws(() => correlationPrune(m, { order: ["nope"] }), /unknown feature "nope"/);
});

Deno.test("select: discretize uses distinct values when few, equal-frequency bins otherwise", () => {
  assert.deepEqual(Array.from(discretize(Float64Array.from([3, 1, 3, 2]), 10).codes), [2, 0, 2, 1]);
  const many = Float64Array.from({ length: 1000 }, (_, i) => i);
  const { codes } = discretize(many, 4);
  const counts = [0, 0, 0, 0];
  for (const c of codes) counts[c]++;
  assert.deepEqual(counts, [250, 250, 250, 250]);
  const nan = discretize(Float64Array.from([1, NaN, 2]), 4);
  assert.equal(nan.codes[1], nan.k - 1, "non-finite values get their own bin");
});

Deno.test("select: mutualInformation ranks the informative feature first; exact values on a toy", () => {
  const { m, y } = synthetic();
  const mi = mutualInformation(m, y);
  assert.equal(mi[0].feature.startsWith("signal"), true);
  const noise = mi.find((x) => x.feature === "noise")!;
  assert.ok(noise.mi < 0.01, `noise MI ${noise.mi}`);
  assert.equal(mi.find((x) => x.feature === "const")!.mi, 0);
  const toy = mutualInformation(matrixFromRows([[0], [1], [0], [1]], ["x"]), ["a", "b", "a", "b"]);
  assert.equal(toy[0].mi, 1);
  assert.equal(toy[0].normalized, 1);
  assert.throws(() => mutualInformation(m, [0, 1]), /4000 rows but 2 labels/);
});

Deno.test("select: permutationImportance finds the feature a detector uses", async () => {
  const { m, y } = synthetic(1000);
  // A "detector" that scores by the signal column only.
  const score = (x: typeof m) => Float64Array.from({ length: x.rows }, (_, i) => x.data[i * x.cols]);
  const auc = (l: ArrayLike<number>, s: ArrayLike<number>) => {
    let pos = 0, neg = 0, wins = 0;
    for (let i = 0; i < l.length; i++) {
      for (let j = 0; j < l.length; j++) {
        if (l[i] === 1 && l[j] === 0) wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
    for (let i = 0; i < l.length; i++) l[i] ? pos++ : neg++;
    return wins / (pos * neg);
  };
  const r = await permutationImportance(m, y, score, auc, {
    repeats: 2,
    seed: 1,
    features: ["signal", "noise"],
  });
  assert.equal(r.importances[0].feature, "signal");
  assert.ok(r.importances[0].drop > 0.3, `drop ${r.importances[0].drop}`);
  assert.equal(r.importances[1].drop, 0);
  assert.ok(r.baseline > 0.9);
});

Deno.test("select: feature sets round-trip and bad files name the problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-fs-" });
  try {
    const p = await saveFeatureSet({
      name: "nsl-kdd-mi-top10",
      dataset: "nsl-kdd",
      features: ["a", "b"],
      method: "test",
    }, dir);
    const fs = await loadFeatureSet("nsl-kdd-mi-top10", dir);
    assert.deepEqual(fs.features, ["a", "b"]);
    assert.equal((await loadFeatureSet(p)).name, "nsl-kdd-mi-top10");
    await assert.rejects(
      () => saveFeatureSet({ name: "Bad Name", dataset: "x", features: ["a"], method: "" }, dir),
      /must match/,
    );
    await Deno.writeTextFile(`${dir}/broken.json`, `{"name": "x", "features": [1]}`);
    await assert.rejects(() => loadFeatureSet("broken", dir), /broken\.json: expected \{ name/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
