import assert from "node:assert/strict";
import { kolmogorovSf, ks2Samp, ks2SampExactSf, KS_EXACT_MAX_N, ksStatistic } from "../../src/adapt/ks.ts";
import { Rng } from "../../src/util/random.ts";
import { testWhen } from "../_shared.ts";
import { needScipy, pythonJson } from "./_python.ts";

Deno.test("ks: exact p-values of tiny samples, counted by hand", () => {
  // n = m = 2: C(4, 2) = 6 orderings. D = 1 only for aabb and bbaa; every ordering reaches
  // D ≥ 1/2 (its first value already gives |F_a − F_b| = 1/2).
  assert.ok(Math.abs(ks2SampExactSf(2, 2, 2) - 2 / 6) < 1e-15);
  assert.equal(ks2SampExactSf(2, 2, 1), 1);
  // n = m = 3: 20 orderings; the 8 that stay within |i − j| ≤ 1 (each pair of steps is ab or
  // ba) have D = 1/3, the other 12 reach D ≥ 2/3, and 2 of those reach D = 1.
  assert.ok(Math.abs(ks2SampExactSf(3, 3, 2) - 12 / 20) < 1e-15);
  assert.ok(Math.abs(ks2SampExactSf(3, 3, 3) - 2 / 20) < 1e-15);
  // n = 1, m = 2 (lcm 2): orderings abb, bab, bba have D = 1, 1/2, 1.
  assert.ok(Math.abs(ks2SampExactSf(1, 2, 2) - 2 / 3) < 1e-15);
  assert.equal(ks2SampExactSf(1, 2, 1), 1);
  assert.equal(ks2SampExactSf(1, 2, 3), 0); // beyond D = 1
});

Deno.test("ks: the statistic with ties, by hand", () => {
  // a = {0, 0, 1}, b = {0, 1, 1, 2}: at 0, F_a = 2/3, F_b = 1/4 (gap 5/12); at 1, 1 vs 3/4; at 2, 1 vs 1.
  assert.deepEqual(ksStatistic([1, 0, 0], [2, 1, 0, 1]), { h: 5, statistic: 5 / 12 });
  // Identical samples: D = 0 and p = 1.
  assert.deepEqual(ks2Samp([3, 3, 1], [1, 3, 3]), { statistic: 0, pValue: 1, method: "exact" });
});

testWhen([needScipy()], "ks: statistic and exact p-value equal scipy's ks_2samp(method='exact')", () => {
  // Random samples (continuous, and with many ties as KSWIN sees on 0/1 streams), equal and
  // unequal sizes, similar and very different distributions (p-values down to ~1e-17).
  const rng = new Rng(11);
  const cases: { a: number[]; b: number[] }[] = [];
  for (const [n, m] of [[30, 30], [30, 30], [5, 7], [17, 40], [100, 73], [60, 60], [1, 9], [250, 250]]) {
    for (const kind of ["normal", "shifted", "ties"]) {
      const draw = (shift: number) =>
        kind === "ties" ? rng.int(3) + (rng.next() < shift / 4 ? 1 : 0) : rng.normal(shift);
      cases.push({
        a: Array.from({ length: n }, () => draw(0)),
        b: Array.from({ length: m }, () => draw(kind === "normal" ? 0 : 1.5)),
      });
    }
  }
  const ref = pythonJson<[number, number][]>(
    "import json, sys\nfrom scipy import stats\n" +
      "cases = json.loads(sys.argv[1])\n" +
      "out = []\n" +
      "for c in cases:\n" +
      "    r = stats.ks_2samp(c['a'], c['b'], method='exact')\n" +
      "    out.append([float(r.statistic), float(r.pvalue)])\n" +
      "print(json.dumps(out))",
    JSON.stringify(cases),
  );
  let smallest = 1;
  cases.forEach((c, i) => {
    const ours = ks2Samp(c.a, c.b);
    const [d, p] = ref[i];
    const what =
      `case ${i} (n ${c.a.length}, m ${c.b.length}): ours D ${ours.statistic} p ${ours.pValue}, scipy D ${d} p ${p}`;
    assert.equal(ours.method, "exact");
    assert.ok(Math.abs(ours.statistic - d) < 1e-14, what);
    assert.ok(Math.abs(ours.pValue - p) <= 1e-9 * p + 1e-15, what);
    smallest = Math.min(smallest, p);
  });
  assert.ok(smallest < 1e-12, `the cases reach small p-values (${smallest})`);
});

testWhen([needScipy()], "ks: the limiting Kolmogorov distribution equals scipy's kstwobign.sf", () => {
  const xs = [0.05, 0.3, 0.5, 0.8, 0.99, 1, 1.01, 1.2, 1.36, 1.63, 2, 3, 4.5, 6];
  const ref = pythonJson<number[]>(
    "import json, sys\nfrom scipy import stats\n" +
      "print(json.dumps([float(stats.kstwobign.sf(x)) for x in json.loads(sys.argv[1])]))",
    JSON.stringify(xs),
  );
  xs.forEach((x, i) => {
    const ours = kolmogorovSf(x);
    assert.ok(Math.abs(ours - ref[i]) <= 1e-12 * ref[i] + 1e-15, `x ${x}: ours ${ours}, scipy ${ref[i]}`);
  });
});

Deno.test("ks: auto switches to the asymptotic distribution above 10 000 values, as scipy", () => {
  const rng = new Rng(2);
  const small = ks2Samp(
    Array.from({ length: 50 }, () => rng.normal()),
    Array.from({ length: 60 }, () => rng.normal()),
  );
  assert.equal(small.method, "exact");
  const n = KS_EXACT_MAX_N + 1;
  const a = Float64Array.from({ length: n }, () => rng.normal());
  const b = Float64Array.from({ length: 200 }, () => rng.normal(0.5));
  const big = ks2Samp(a, b);
  assert.equal(big.method, "asymptotic");
  const en = (n * 200) / (n + 200);
  assert.equal(big.pValue, kolmogorovSf(Math.sqrt(en) * big.statistic));
  assert.ok(big.pValue < 1e-4);
  // For moderate sizes the two agree roughly (the limit is reached from above).
  const x = Array.from({ length: 400 }, () => rng.normal()),
    y = Array.from({ length: 400 }, () => rng.normal(0.2));
  const ex = ks2Samp(x, y, "exact"), as = ks2Samp(x, y, "asymptotic");
  assert.ok(Math.abs(ex.pValue - as.pValue) < 0.02, `exact ${ex.pValue}, asymptotic ${as.pValue}`);
});

Deno.test("ks: empty samples, non-finite values and oversized exact requests are clear errors", () => {
  assert.throws(() => ks2Samp([1], []), /ks2Samp: sample b is empty, expected at least 1 value/);
  assert.throws(
    () => ks2Samp([1, NaN], [1]),
    /ks2Samp: value 1 of sample a is NaN, expected a finite number/,
  );
  assert.throws(() => ks2SampExactSf(20_000, 20_000, 5), /exact p-value needs n·m ≤ 1e8/);
  assert.throws(
    () => ks2Samp([1], [2], "bogus" as "exact"),
    /method expects "auto", "exact" or "asymptotic"/,
  );
});
