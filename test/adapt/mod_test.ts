import assert from "node:assert/strict";
import { createDriftDetector, DRIFT_DETECTORS, type DriftDetector } from "../../src/adapt/mod.ts";
import { Rng } from "../../src/util/random.ts";

Deno.test("adapt: every detector by name keeps the DriftDetector contract", () => {
  for (const name of DRIFT_DETECTORS) {
    const d: DriftDetector = createDriftDetector(name);
    assert.equal(d.name, name);
    const rng = new Rng(4);
    const xs = Array.from({ length: 1500 }, (_, i) => rng.normal(i < 1000 ? 0 : 3));
    const fired: number[] = [];
    xs.forEach((x, i) => {
      if (d.update(x)) fired.push(i);
      assert.equal(d.driftDetected, fired.at(-1) === i);
    });
    assert.ok(fired.some((i) => i >= 1000 && i < 1100), `${name}: ${fired}`);
    assert.equal(d.detections, fired.length);
    assert.equal(d.seen, xs.length);
    // The event is plain JSON, its stretches are non-empty and the change precedes the alarm.
    const e = d.lastDrift!;
    assert.deepEqual(JSON.parse(JSON.stringify(e)), e);
    assert.equal(e.detector, name);
    assert.equal(e.index, fired.at(-1));
    assert.ok(e.before.n > 0 && e.after.n > 0 && e.changeStart <= e.index, JSON.stringify(e));
    assert.ok(e.statistic > e.threshold, JSON.stringify(e));
    // A non-finite value is refused without touching the state.
    assert.throws(() => d.update(NaN), /expected a finite number/);
    assert.equal(d.seen, xs.length);
    d.reset();
    assert.deepEqual([d.seen, d.detections, d.driftDetected, d.lastDrift], [0, 0, false, undefined]);
  }
});

Deno.test("adapt: unknown detector names and options are clear errors", () => {
  assert.throws(
    () => createDriftDetector("ddm"),
    /unknown drift detector "ddm"; known: adwin, page-hinkley, kswin/,
  );
  assert.throws(
    () => createDriftDetector("kswin", { alpha: 2 }),
    /KSWIN option alpha expects a number in \(0, 1\), found 2/,
  );
  assert.throws(
    () => createDriftDetector("adwin", [] as never),
    /ADWIN options: expected an object, found an array/,
  );
});
