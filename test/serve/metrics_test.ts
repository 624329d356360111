import assert from "node:assert/strict";
import { MetricsRegistry } from "../../src/serve/metrics.ts";

Deno.test("metrics: label sets are keyed in name order and escaped as Prometheus' text format requires", () => {
  const m = new MetricsRegistry();
  const c = m.counter("alerts_total", "Alerts");
  c.inc(1, { severity: "3" });
  c.inc(2, { severity: "3" });
  // Two labels given in either order are one series, written with the names sorted.
  c.inc(1, { reason: "duplicate", sink: "file" });
  c.inc(4, { sink: "file", reason: "duplicate" });
  // A backslash, a newline and a double quote are escaped; nothing else is.
  c.inc(1, { path: 'C:\\x\n"y"' });
  c.inc(1, { path: "plain/ü" });
  const text = m.render();
  assert.match(text, /^nadir_alerts_total\{severity="3"\} 3$/m);
  assert.match(text, /^nadir_alerts_total\{reason="duplicate",sink="file"\} 5$/m);
  assert.ok(text.includes('nadir_alerts_total{path="C:\\\\x\\n\\"y\\""} 1'), text);
  assert.ok(text.includes('nadir_alerts_total{path="plain/ü"} 1'), text);
  assert.equal(c.get({ sink: "file", reason: "duplicate" }), 5);
  assert.equal(c.get(), 0);
});
