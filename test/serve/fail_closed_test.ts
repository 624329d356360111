import assert from "node:assert/strict";
import { Monitor } from "../../src/serve/monitor.ts";
import { MonitorMetrics } from "../../src/serve/metrics.ts";
import { AlertFilter } from "../../src/serve/rules.ts";
import { AlertStore, LiveStats } from "../../src/serve/store.ts";
import type { Alert } from "../../src/serve/alert.ts";
import type { Detector, StreamingDetector } from "../../src/detectors/types.ts";
import { readAllPackets } from "../../src/capture/reader.ts";
import { basicFeatures } from "../../src/flows/features/basic.ts";
import { dataPath } from "../_shared.ts";

function parts() {
  const filter = new AlertFilter({ dedupWindowS: 0, perHostPerMinute: 0 });
  return {
    metrics: new MonitorMetrics(),
    store: new AlertStore({ filter }),
    stats: new LiveStats(),
    filter,
    sinks: [],
    sensor: "test",
  };
}

// Real packets: the SYN scan (one flow per probed port).
const packets = await readAllPackets(dataPath("pcaps", "synscan.pcapng"));

// Before issue 19, a NaN score compared false against the threshold and passed as benign.
Deno.test("fail closed, packet mode: a ready detector's NaN/Infinity scores are flagged and counted", async () => {
  let i = 0;
  // A detector that breaks after 50 scores: NaN, then +Infinity, alternating.
  const detector = {
    learnOne() {},
    scoreOne: () => (++i <= 50 ? 1 : i % 2 ? NaN : Infinity),
  } as unknown as StreamingDetector;
  const alerts: Alert[] = [];
  const p = parts();
  const m = new Monitor({
    ...p,
    scoring: {
      kind: "packet",
      name: "broken",
      detector,
      grace: 10,
      threshold: 5,
      fitThreshold: () => 5,
      featurizer: { names: ["wire_len"], update: (pk, out) => void (out[0] = pk.wireLen) },
    },
    onAlert: (a) => alerts.push(a),
  });
  for (const pk of packets.slice(0, 400)) m.packet(pk);
  await m.finish();
  assert.ok(m.nonFiniteScores > 300, `${m.nonFiniteScores} non-finite scores counted`);
  assert.equal(p.metrics.nonFiniteScores.get(), m.nonFiniteScores);
  assert.match(p.metrics.registry.render(), /^nadir_non_finite_scores_total \d+$/m);
  assert.ok(alerts.length > 0, "non-finite scores raise alerts");
  for (const a of alerts) {
    assert.equal(a.extra?.reason, "non_finite_score");
    assert.ok(Number.isFinite(a.score), "the alert's score stays a JSON number");
    assert.ok(["NaN", "Infinity"].includes(String(a.extra?.raw_score)));
  }
});

Deno.test("fail closed, flow mode: a model's NaN/Infinity scores flag the flow", async () => {
  const detector = {
    name: "broken",
    score: (x: { rows: number }) =>
      Float64Array.from({ length: x.rows }, (_, r) => (r % 2 ? NaN : -Infinity)),
  } as unknown as Detector;
  const alerts: Alert[] = [];
  const p = parts();
  const m = new Monitor({
    ...p,
    scoring: {
      kind: "flow",
      name: "broken",
      detector,
      featureSet: basicFeatures,
      featureNames: ["bidirectional_packets", "bidirectional_bytes"],
      threshold: 1e9,
    },
    onAlert: (a) => alerts.push(a),
  });
  for (const pk of packets) m.packet(pk);
  await m.finish();
  const flows = m.meter.stats.created;
  assert.ok(flows > 1000);
  assert.equal(alerts.length, flows, "every flow is flagged, none passes as benign");
  assert.ok(m.nonFiniteScores >= flows, "every scoring counted (re-scored long flows too)");
  assert.ok(alerts.every((a) => a.extra?.reason === "non_finite_score"));
});
