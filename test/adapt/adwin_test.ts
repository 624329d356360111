import assert from "node:assert/strict";
import { ADWIN } from "../../src/adapt/adwin.ts";
import { Rng } from "../../src/util/random.ts";
import { testWhen } from "../_shared.ts";
import { needPython, riverExampleStream } from "./_python.ts";

/** Indices at which `d` fired over `xs`. */
function firings(d: ADWIN, xs: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) if (d.update(xs[i])) out.push(i);
  return out;
}

Deno.test("adwin: window statistics and the exponential histogram, by hand", () => {
  // maxBuckets 2: a row overflows at 3 buckets and its 2 oldest merge into the next row.
  // 1,2,3 → row0 [3] row1 [1+2]; 4,5 → row0 [5] row1 [3, 3+4]; 6,7 → row0 [7] row1 [3, 7, 5+6]
  // → row1 overflows: row1 [11], row2 [1+2+3+4]. Sizes 1 + 2 + 4 = 7 values.
  const a = new ADWIN({ maxBuckets: 2, clock: 1000 });
  for (let x = 1; x <= 7; x++) a.update(x);
  assert.deepEqual(a.bucketCounts, [1, 1, 1]);
  assert.equal(a.width, 7);
  assert.equal(a.total, 28);
  assert.equal(a.estimation, 4);
  assert.ok(Math.abs(a.variance - 4) < 1e-12, `variance ${a.variance}`); // population variance of 1..7
  // Default maxBuckets 5: the 6th value makes row0 overflow once.
  const b = new ADWIN({ clock: 1000 });
  for (let x = 1; x <= 6; x++) b.update(x);
  assert.deepEqual(b.bucketCounts, [4, 1]);
  assert.ok(Math.abs(b.variance - 35 / 12) < 1e-12);
  assert.equal(new ADWIN().estimation, 0);
});

Deno.test("adwin: the first cut that fires and where the window stops shrinking, by hand", () => {
  // 20 zeros then 20 twos; one test, at the 40th value (clock 40); every bucket holds one
  // value (maxBuckets 64); minWindowLength 1. |W| = 40, population variance σ² = 1,
  // δ' = ln(2 ln 40 / 0.002) = 8.213078. Cuts are tried oldest first: for n0 ≤ 18,
  // |Δμ| = 40/(40 − n0) ≤ ε; at n0 = 19, |Δμ| = 40/21 = 1.904762 and
  // ε = √(2 m σ² δ') + (2/3) δ' m with m = 1/19 + 1/21 gives 1.832162: a change.
  const a = new ADWIN({ clock: 40, maxBuckets: 64, minWindowLength: 1, gracePeriod: 0 });
  const xs = Array.from({ length: 40 }, (_, i) => (i < 20 ? 0 : 2));
  assert.deepEqual(firings(a, xs), [39]);
  const e = a.lastDrift!;
  assert.ok(Math.abs(e.statistic - 40 / 21) < 1e-12, `statistic ${e.statistic}`);
  assert.ok(Math.abs(e.threshold - 1.832162) < 1e-6, `threshold ${e.threshold}`);
  // Each firing drops the oldest value and tests again. With 15 zeros and 20 twos left,
  // |W| = 35, σ² = 4·15·20/35² = 0.979592, δ' = ln(2 ln 35 / 0.002) = 8.179746; the best
  // cut, n0 = 15, has |Δμ| = 2 and ε = 1.370 + 0.636 = 2.006 > 2: the window stops at 35.
  assert.equal(a.width, 35);
  assert.deepEqual(e.before, { n: 5, mean: 0 });
  assert.deepEqual(e.after, { n: 35, mean: 40 / 35 });
  assert.equal(e.direction, "up");
  assert.equal(e.changeStart, 5);
  // The same stream with minWindowLength 20 allows the single cut 20 | 20, where
  // m = 1/1 + 1/1 = 2 makes ε > 2 = |Δμ|: no change.
  assert.deepEqual(
    firings(new ADWIN({ clock: 40, maxBuckets: 64, minWindowLength: 20, gracePeriod: 0 }), xs),
    [],
  );
});

testWhen([needPython()], "adwin: River's documented example, on the same Python-generated stream", () => {
  // https://riverml.xyz/dev/api/drift/ADWIN/ (river/drift/adwin.py docstring):
  //   rng = random.Random(12345); adwin = drift.ADWIN()
  //   data_stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
  //   → "Change detected at index 1023, input value: 4" (and nothing else)
  const xs = riverExampleStream();
  assert.equal(xs.length, 2000);
  const a = new ADWIN();
  assert.deepEqual(firings(a, xs), [1023]);
  assert.equal(xs[1023], 4);
  const e = a.lastDrift!;
  assert.equal(e.after.n + e.before.n, 1024); // the window held the whole stream so far
  assert.ok(e.before.mean < 0.6 && e.after.mean > 4, JSON.stringify(e));
});

Deno.test("adwin: tests only every `clock` values and not within the grace period", () => {
  const xs = Array.from({ length: 200 }, (_, i) => (i < 100 ? 0 : 10));
  const f = firings(new ADWIN({ clock: 32 }), xs);
  assert.deepEqual(f, [127]); // ticks 32, 64, 96, 128: the first test after the change is at the 128th value
  // clock 1: the first cut may leave W1 only minWindowLength = 5 new values, i.e. at index 104.
  assert.deepEqual(firings(new ADWIN({ clock: 1 }), xs).slice(0, 1), [104]);
  // gracePeriod: no test while the window holds ≤ gracePeriod values; the 151st value is index 150.
  assert.deepEqual(firings(new ADWIN({ clock: 1, gracePeriod: 150 }), xs).slice(0, 1), [150]);
});

Deno.test("adwin: at most 2 false alarms in 20 × 10 000 stationary values (seeded)", () => {
  let alarms = 0;
  for (let seed = 0; seed < 20; seed++) {
    const rng = new Rng(seed);
    const a = new ADWIN();
    for (let i = 0; i < 10_000; i++) if (a.update(seed % 2 ? rng.normal(5, 2) : rng.int(2))) alarms++;
  }
  assert.ok(alarms <= 2, `${alarms} false alarms`);
});

Deno.test("adwin: a mean shift is found within 2 clock ticks (2σ) or 300 values (0.5σ)", () => {
  for (let seed = 0; seed < 20; seed++) {
    for (const [shift, bound] of [[2, 64], [0.5, 300]]) {
      const rng = new Rng(1000 + seed);
      const xs = Array.from({ length: 3000 }, (_, i) => rng.normal(i < 2000 ? 0 : shift));
      const f = firings(new ADWIN(), xs);
      assert.ok(f.length > 0 && f[0] >= 2000 && f[0] < 2000 + bound, `seed ${seed}, shift ${shift}: ${f}`);
    }
  }
});

Deno.test("adwin: the update after a drift empties the window; reset() restores a new detector", () => {
  const xs = Array.from({ length: 400 }, (_, i) => (i < 200 ? 0 : 10) + (i % 3));
  const a = new ADWIN();
  const f = firings(a, xs);
  assert.ok(f.length >= 1);
  const b = new ADWIN();
  for (let i = 0; i <= f[0]; i++) b.update(xs[i]);
  assert.ok(b.driftDetected && b.width > 1);
  b.update(5);
  assert.equal(b.width, 1);
  assert.equal(b.estimation, 5);
  assert.equal(b.seen, f[0] + 2);
  a.reset();
  assert.equal(a.seen, 0);
  assert.equal(a.detections, 0);
  assert.equal(a.lastDrift, undefined);
  assert.deepEqual(firings(a, xs), f);
});

Deno.test("adwin: bad options and non-finite values are clear errors that leave the state alone", () => {
  assert.throws(() => new ADWIN({ delta: 0 }), /ADWIN option delta expects a number in \(0, 1\), found 0/);
  assert.throws(() => new ADWIN({ clock: 1.5 }), /ADWIN option clock expects an integer ≥ 1, found 1\.5/);
  assert.throws(() => new ADWIN({ gracePeriod: -1 }), /gracePeriod expects an integer ≥ 0, found -1/);
  assert.throws(
    () => new ADWIN({ minWindowLength: "5" as unknown as number }),
    /minWindowLength expects an integer ≥ 1, found "5" \(a string\)/,
  );
  assert.throws(
    () => new ADWIN({ window: 5 } as never),
    /ADWIN has no option "window"; known: delta, clock, maxBuckets, minWindowLength, gracePeriod/,
  );
  const a = new ADWIN();
  a.update(1);
  a.update(2);
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(
      () => a.update(bad),
      new RegExp(`ADWIN.update: the value at index 2 is ${bad}, expected a finite number`),
    );
  }
  assert.equal(a.width, 2);
  assert.equal(a.total, 3);
  assert.equal(a.seen, 2);
});
