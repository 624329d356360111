import assert from "node:assert/strict";
import { alertBursts } from "../bench/monitor.ts";

Deno.test("bench monitor: alertBursts finds the run of alerts the p99 alert was written in", () => {
  // 100 alerts 0.5 ms apart from t = 10 (latencies growing along the run), then 5 lone ones.
  const arrivals: number[] = [], lats: number[] = [];
  for (let i = 0; i < 100; i++) {
    arrivals.push(10 + 0.5 * i);
    lats.push(1 + 0.5 * i);
  }
  for (let i = 0; i < 5; i++) {
    arrivals.push(200 + 50 * i);
    lats.push(2);
  }
  const b = alertBursts(arrivals, lats)!;
  assert.equal(b.alerts, 100);
  assert.equal(b.spanMs, 49.5);
  assert.equal(b.inLargeRuns, 100 / 105);
  // Arrival order need not be the input order.
  assert.deepEqual(alertBursts([...arrivals].reverse(), [...lats].reverse()), b);
  // A lone slow alert is a run of one.
  assert.deepEqual(alertBursts([0, 10, 20], [1, 90, 1]), { alerts: 1, spanMs: 0, inLargeRuns: 0 });
  assert.equal(alertBursts([], []), null);
});
