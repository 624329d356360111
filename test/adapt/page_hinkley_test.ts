import assert from "node:assert/strict";
import { PageHinkley } from "../../src/adapt/page_hinkley.ts";
import { Rng } from "../../src/util/random.ts";
import { testWhen } from "../_shared.ts";
import { needPython, riverExampleStream } from "./_python.ts";

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} ≠ ${b}`);

function firings(d: PageHinkley, xs: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) if (d.update(xs[i])) out.push(i);
  return out;
}

Deno.test("page-hinkley: the cumulative statistics step by step, by hand (α = 1)", () => {
  // δ = 0.5, λ = 1, no forgetting, tests from the first value. U_t = U_{t−1} + x_t − x̄_t − δ,
  // L_t = L_{t−1} + x_t − x̄_t + δ; PH_up = U_t − min U, PH_down = max L − L_t.
  const ph = new PageHinkley({ minInstances: 1, delta: 0.5, threshold: 1, alpha: 1 });
  // x = 0: x̄ = 0, U = −0.5 (the minimum), L = 0.5 (the maximum).
  assert.equal(ph.update(0), false);
  assert.deepEqual([ph.mean, ph.statisticUp, ph.statisticDown], [0, 0, 0]);
  // x = 0: x̄ = 0, U = −1 (new minimum), L = 1 (new maximum).
  assert.equal(ph.update(0), false);
  assert.deepEqual([ph.statisticUp, ph.statisticDown], [0, 0]);
  // x = 4: x̄ = 4/3, x − x̄ = 8/3, U = −1 + 8/3 − 0.5 = 7/6, PH_up = 7/6 + 1 = 13/6 > 1: drift;
  // L = 1 + 8/3 + 0.5 = 25/6 is its own maximum, PH_down = 0.
  assert.equal(ph.update(4), true);
  close(ph.mean, 4 / 3, "mean");
  close(ph.statisticUp, 13 / 6, "PH_up");
  assert.equal(ph.statisticDown, 0);
  const e = ph.lastDrift!;
  close(e.statistic, 13 / 6, "event statistic");
  assert.equal(e.threshold, 1);
  assert.equal(e.direction, "up");
  // U was lowest after the 2nd value: the new regime starts at index 2.
  assert.deepEqual([e.index, e.changeStart, e.before, e.after], [2, 2, { n: 2, mean: 0 }, { n: 1, mean: 4 }]);
  // The next update starts afresh (River's reset after a detection).
  assert.equal(ph.update(4), false);
  assert.deepEqual([ph.n, ph.mean, ph.seen, ph.detections], [1, 4, 4, 1]);
});

Deno.test("page-hinkley: forgetting factor and the downward test, by hand (α = 0.9)", () => {
  // x = 4, 4, 0 with δ = 0.5, λ = 1:
  //   1: x̄ = 4,   U = −0.5,                       L = 0.5
  //   2: x̄ = 4,   U = 0.9·(−0.5) − 0.5 = −0.95,    L = 0.9·0.5 + 0.5 = 0.95 (max)
  //   3: x̄ = 8/3, U = 0.9·(−0.95) − 8/3 − 0.5,     L = 0.9·0.95 − 8/3 + 0.5 = −1.311667
  // PH_down = 0.95 − (−1.311667) = 2.261667 > 1; U keeps falling, so PH_up stays 0.
  const opts = { minInstances: 1, delta: 0.5, threshold: 1, alpha: 0.9 };
  const down = new PageHinkley({ ...opts, mode: "down" });
  assert.deepEqual(firings(down, [4, 4, 0]), [2]);
  close(down.statisticDown, 0.95 - (0.9 * 0.95 - 8 / 3 + 0.5), "PH_down");
  assert.equal(down.statisticUp, 0);
  assert.equal(down.lastDrift!.direction, "down");
  assert.deepEqual(down.lastDrift!.before, { n: 2, mean: 4 });
  assert.deepEqual(firings(new PageHinkley({ ...opts, mode: "up" }), [4, 4, 0]), []);
  assert.deepEqual(firings(new PageHinkley({ ...opts, mode: "both" }), [4, 4, 0]), [2]);
});

Deno.test("page-hinkley: no test before minInstances values", () => {
  // The stream of the first test fires at its 3rd value; with minInstances 4 it waits for the
  // 4th: x = 4, x̄ = 2, U = 7/6 + 2 − 0.5 = 8/3, PH_up = 8/3 + 1 = 11/3 > 1.
  const ph = new PageHinkley({ minInstances: 4, delta: 0.5, threshold: 1, alpha: 1 });
  assert.deepEqual(firings(ph, [0, 0, 4, 4]), [3]);
  close(ph.lastDrift!.statistic, 11 / 3, "PH_up");
});

testWhen(
  [needPython()],
  "page-hinkley: River's documented example, on the same Python-generated stream",
  () => {
    // https://riverml.xyz/dev/api/drift/PageHinkley/ (river/drift/page_hinkley.py docstring):
    //   rng = random.Random(12345); ph = drift.PageHinkley()
    //   data_stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    //   → "Change detected at index 1006, input value: 5" (and nothing else)
    const xs = riverExampleStream();
    const ph = new PageHinkley();
    assert.deepEqual(firings(ph, xs), [1006]);
    assert.equal(xs[1006], 5);
    assert.equal(ph.lastDrift!.direction, "up");
  },
);

Deno.test("page-hinkley: bounded false alarms on stationary streams (seeded)", () => {
  // With River's defaults (δ = 0.005, λ = 50) the statistic of a unit-variance stream is close
  // to a random walk (α = 0.9999 forgets slowly): about one false alarm per 2 000 values (110 in
  // these 200 000). δ = 0.5 (half the smallest shift worth reporting, in σ) removes them.
  for (const [delta, most] of [[0.005, 150], [0.5, 2]]) {
    let alarms = 0;
    for (let seed = 0; seed < 20; seed++) {
      const rng = new Rng(seed);
      const ph = new PageHinkley({ delta });
      for (let i = 0; i < 10_000; i++) if (ph.update(rng.normal())) alarms++;
    }
    assert.ok(alarms <= most, `δ = ${delta}: ${alarms} false alarms, expected ≤ ${most}`);
  }
});

Deno.test("page-hinkley: a 2σ mean shift is found within 50 values, up and down", () => {
  for (let seed = 0; seed < 20; seed++) {
    for (const shift of [2, -2]) {
      for (const delta of [0.005, 0.5]) {
        const rng = new Rng(500 + seed);
        const xs = Array.from({ length: 800 }, (_, i) => rng.normal(i < 500 ? 0 : shift));
        const ph = new PageHinkley({ delta });
        const f = firings(ph, xs);
        const what = `seed ${seed}, shift ${shift}, δ ${delta}: ${f}`;
        assert.ok(f.length > 0 && f[0] >= 500 && f[0] < 550, what);
        assert.equal(ph.lastDrift!.direction, shift > 0 ? "up" : "down");
        // Hinkley's change-point estimate is sharp when δ is not small against the noise
        // (with δ = 0.005 the wandering statistic's extreme can lie hundreds of values early).
        if (delta === 0.5) assert.ok(Math.abs(ph.lastDrift!.changeStart - 500) <= 12, what);
      }
    }
  }
});

Deno.test("page-hinkley: reset() restores a new detector; bad options and values are clear errors", () => {
  const rng = new Rng(3);
  const xs = Array.from({ length: 3000 }, (_, i) => rng.normal(i < 1500 ? 0 : 1));
  const ph = new PageHinkley();
  const f = firings(ph, xs);
  assert.ok(f.length >= 1);
  ph.reset();
  assert.deepEqual([ph.seen, ph.detections, ph.n, ph.lastDrift], [0, 0, 0, undefined]);
  assert.deepEqual(firings(ph, xs), f);

  assert.throws(
    () => new PageHinkley({ alpha: 0 }),
    /PageHinkley option alpha expects a number in \(0, 1\], found 0/,
  );
  assert.throws(() => new PageHinkley({ threshold: 0 }), /threshold expects a number > 0, found 0/);
  assert.throws(() => new PageHinkley({ delta: -1 }), /delta expects a number ≥ 0, found -1/);
  assert.throws(() => new PageHinkley({ minInstances: 0 }), /minInstances expects an integer ≥ 1, found 0/);
  assert.throws(
    () => new PageHinkley({ mode: "left" as "up" }),
    /PageHinkley option mode expects one of "both", "up", "down", found "left"/,
  );
  assert.throws(() => new PageHinkley({ lambda: 5 } as never), /PageHinkley has no option "lambda"/);
  const p = new PageHinkley();
  p.update(1);
  assert.throws(
    () => p.update(NaN),
    /PageHinkley.update: the value at index 1 is NaN, expected a finite number/,
  );
  assert.deepEqual([p.seen, p.n, p.mean], [1, 1, 1]);
});
