import assert from "node:assert/strict";
import {
  fitThreshold,
  fixedThreshold,
  isAnomalous,
  listThresholdStrategies,
  parseThresholdSpec,
  thresholdFromJSON,
} from "../../src/thresholds/index.ts";
import { fitGpd } from "../../src/thresholds/pot.ts";
import { Rng } from "../../src/util/random.ts";

const oneTo100 = Array.from({ length: 100 }, (_, i) => i + 1);

Deno.test("percentile: linear interpolation as numpy's default", () => {
  assert.equal(fitThreshold("percentile", [5, 1, 4, 2, 3], { q: 0.5 }).value, 3);
  assert.ok(Math.abs(fitThreshold("percentile", oneTo100, { q: 0.99 }).value - 99.01) < 1e-9);
  assert.equal(fitThreshold("percentile", oneTo100).params.q, 0.99);
});

Deno.test("fpr: at most `rate` of the benign scores lie above the cut", () => {
  const t = fitThreshold("fpr", oneTo100, { rate: 0.05 });
  assert.equal(t.value, 95);
  assert.equal(oneTo100.filter((s) => isAnomalous(t, s)).length, 5);
  assert.equal(fitThreshold("fpr", oneTo100, { rate: 0.001 }).value, 100);
  // Ties: never more than rate above.
  const ties = [1, 1, 1, 1, 2, 2, 2, 2, 2, 2];
  const tt = fitThreshold("fpr", ties, { rate: 0.3 });
  assert.ok(ties.filter((s) => s > tt.value).length <= 3);
});

Deno.test("pot: exponential tail extrapolates to -ln(q)", () => {
  const rng = new Rng(3);
  const s = Array.from({ length: 20000 }, () => -Math.log(1 - rng.next()));
  const t = fitThreshold("pot", s, { q: 1e-4 });
  assert.ok(Math.abs(t.value - Math.log(1e4)) < 1.2, `pot cut ${t.value}, expected about ${Math.log(1e4)}`);
  assert.ok(t.value > Math.max(...s) * 0.8);
});

Deno.test("pot: GPD fit recovers a heavy tail", () => {
  const rng = new Rng(5);
  const gamma = 0.3, sigma = 2;
  const y = Float64Array.from(
    { length: 5000 },
    () => (sigma / gamma) * (Math.pow(1 - rng.next(), -gamma) - 1),
  );
  const f = fitGpd(y);
  assert.ok(Math.abs(f.gamma - gamma) < 0.08, `gamma ${f.gamma}`);
  assert.ok(Math.abs(f.sigma - sigma) / sigma < 0.1, `sigma ${f.sigma}`);
  // A bounded tail (gamma < 0) too.
  const yb = Float64Array.from({ length: 5000 }, () => (1 / -0.2) * (Math.pow(1 - rng.next(), 0.2) - 1));
  assert.ok(fitGpd(yb).gamma < -0.1);
});

Deno.test("thresholds: NaN scores are skipped, bad input is a clear error", () => {
  assert.equal(fitThreshold("percentile", [NaN, 1, 2, 3, NaN], { q: 1 }).value, 3);
  assert.throws(() => fitThreshold("percentile", [NaN]), /at least 1 finite benign score/);
  assert.throws(() => fitThreshold("percentile", [1, Infinity]), /score 2 is Infinity/);
  assert.throws(
    () => fitThreshold("percentile", [1], { q: 2 }),
    /parameter q expects a number in \[0, 1\], found 2/,
  );
  assert.throws(() => fitThreshold("percentile", [1], { rate: 0.1 }), /no parameter rate/);
  assert.throws(
    () => fitThreshold("nope", [1]),
    /unknown threshold strategy "nope"; known: percentile, fpr, pot/,
  );
  assert.throws(() => fitThreshold("pot", [1, 2, 3]), /pot needs at least 10 benign scores above/);
});

Deno.test("thresholds: CLI specs and JSON round trip", () => {
  assert.deepEqual(parseThresholdSpec("percentile:0.95"), { strategy: "percentile", params: { q: 0.95 } });
  assert.deepEqual(parseThresholdSpec("fpr:0.01"), { strategy: "fpr", params: { rate: 0.01 } });
  assert.deepEqual(parseThresholdSpec("pot:1e-4"), { strategy: "pot", params: { q: 1e-4 } });
  assert.deepEqual(parseThresholdSpec("pot"), { strategy: "pot", params: {} });
  assert.throws(() => parseThresholdSpec("fpr:abc"), /expected a number after "fpr:"/);
  for (const s of listThresholdStrategies()) {
    const rng = new Rng(1);
    const t = s.fit(Array.from({ length: 2000 }, () => rng.normal()));
    const back = thresholdFromJSON(JSON.parse(JSON.stringify(t)));
    assert.deepEqual(back, t);
  }
  assert.equal(fixedThreshold(2).value, 2);
  assert.throws(
    () => thresholdFromJSON({ strategy: "percentile", params: {}, value: "x" }),
    /threshold.value should be a number/,
  );
});
