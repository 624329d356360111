import assert from "node:assert/strict";
import { alertBursts } from "../bench/monitor.ts";
import { threadCpu } from "../bench/_live_split.ts";

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

Deno.test({
  name: "bench monitor: threadCpu reads each thread's CPU seconds from /proc, the busiest first",
  fn() {
    const before = threadCpu(Deno.pid);
    // Spin this thread for 300 ms of wall time.
    const start = performance.now(), end = start + 300;
    while (performance.now() < end) { /* busy */ }
    const after = threadCpu(Deno.pid);
    const wall = (performance.now() - start) / 1000;
    assert.ok(after.threads.length > 1, "Deno runs more than one thread");
    for (let i = 1; i < after.threads.length; i++) assert.ok(after.threads[i - 1][1] >= after.threads[i][1]);
    assert.ok(Math.abs(after.total - after.threads.reduce((s, t) => s + t[1], 0)) < 1e-9);
    // The thread that runs this test (the main one under `deno run`, a runtime thread under `deno test`).
    const was = new Map(before.threads.map((t) => [t[2], t[1]]));
    const spent = Math.max(...after.threads.map((t) => t[1] - (was.get(t[2]) ?? 0)));
    // Seconds, not clock ticks: more than a few ticks, and no more than the wall time it spun (on a machine
    // busy with other tests it gets only its share of a core: 0.15 s of 0.3 once).
    assert.ok(
      spent >= 0.03 && spent <= wall + 0.02,
      `the spinning thread gained ${spent} s of CPU in ${wall} s`,
    );
  },
});
