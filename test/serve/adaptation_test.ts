/**
 * Model updates in the monitor (issue 15, scopes 2 and 3): a real replay through a flow model under
 * an update policy writes new versions of a model history (each a loadable model directory with its
 * parent and the rows it refits from); analyst verdicts through the API are learned, survive a
 * restart and show in `GET /model`; `POST /model/rollback` swaps the live model back; bad requests
 * and configurations are refused with what was expected.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runMonitor, type RunSummary } from "../../src/serve/run.ts";
import type { MonitorConfig } from "../../src/serve/config.ts";
import { configProblems } from "../../src/serve/config.ts";
import type { MonitorMetrics } from "../../src/serve/metrics.ts";
import { readAdaptState, writeAdaptState } from "../../src/serve/adaptation.ts";
import { headDir, readHistory, rollback } from "../../src/detectors/model_history.ts";
import { loadModel } from "../../src/detectors/model_dir.ts";
import { matrix } from "../../src/data/matrix.ts";
import { InputError } from "../../src/util/errors.ts";
import { dataPath } from "../_shared.ts";
import { benignFlowModel, repeatCapture, whileServing } from "./_helpers.ts";
import { scratchDir } from "../_scratch.ts";

/** http_espn (the model's own benign traffic) eight times over. */
async function benignMix(dir: string): Promise<string> {
  const pcap = join(dir, "benign.pcap");
  await repeatCapture(dataPath("pcaps", "http_espn.pcapng"), pcap, 8);
  return pcap;
}

Deno.test("adaptation: a sliding policy writes versions of the model history, each loadable, with its parent and rows", async () => {
  const dir = scratchDir("nadir-adapt-");
  const home = join(dir, "history");
  const logs: string[] = [];
  let metrics: MonitorMetrics | undefined;
  const r: RunSummary = await runMonitor({
    source: { pcap: await benignMix(dir) },
    model: await benignFlowModel(),
    alerts: { file: join(dir, "eve.jsonl") },
    adapt: { policy: "sliding", history: home, window_flows: 40, min_pool_rows: 30 },
  }, { log: (l) => logs.push(l), onReady: (x) => (metrics = x.metrics) });
  const h = await readHistory(home);
  assert.ok(r.model, "the summary names the model history");
  // The first window only calibrates (the kmeans model kept no rows); every later one refits.
  assert.ok(r.model.updates >= 1, logs.join("\n"));
  assert.equal(h.versions.length, r.model.updates + 1);
  assert.equal(h.head, r.model.version);
  assert.equal(h.versions[0].parent, null);
  for (let i = 1; i < h.versions.length; i++) {
    const v = h.versions[i];
    assert.equal(v.parent, h.versions[i - 1].version);
    assert.equal(v.policy, "sliding");
    assert.ok(typeof v.learned === "number" && v.learned > 0);
    const m = await loadModel(join(home, v.version));
    assert.equal(m.threshold!.value, v.threshold);
    const st = await readAdaptState(join(home, v.version), m.featureNames.length);
    assert.ok(st && st.pool.rows >= 30 && st.calibration.rows > 0);
    assert.equal(st.pool.rows, (v.rows as { pool: number }).pool);
    m.detector.dispose?.();
  }
  assert.equal(metrics!.modelUpdates.get({ policy: "sliding" }), r.model.updates);
  assert.equal(metrics!.modelVersion.get(), Number(h.head.slice(1)));
  assert.ok(metrics!.modelRowsLearned.get({ source: "guard_rails" }) > 0);
  assert.ok(
    logs.some((l) => /model v0001 → v0002 \(sliding window\): learned \d+ flow/.test(l)),
    logs.join("\n"),
  );
  // A second run continues from the head, with its rows.
  const again = await runMonitor({
    source: { pcap: dataPath("pcaps", "http_espn.pcapng") },
    model: home,
    adapt: { policy: "sliding", window_flows: 20, min_pool_rows: 30 },
  }, { log: () => {} });
  assert.equal(
    (await readHistory(home)).versions[again.model!.updates + h.versions.length - 1]?.version,
    again.model!.version,
  );
  assert.ok(again.model!.updates >= 1, "the kept rows let the first window refit");
});

Deno.test("adaptation: verdicts through the API are learned and survive a restart; rollback swaps the live model back", async () => {
  const dir = scratchDir("nadir-adapt-api-");
  const home = join(dir, "history");
  const cfg: MonitorConfig = {
    // Malicious traffic the benign model alerts on, so there are alerts to judge.
    source: { pcap: dataPath("pcaps", "stratosphere-test7-malicious.pcap") },
    model: await benignFlowModel(),
    alerts: { file: join(dir, "eve.jsonl") },
    rules: { dedup_window_s: 0, per_host_per_minute: 0 },
    adapt: { policy: "sliding", history: home, window_flows: 1_000_000, min_pool_rows: 20 },
    api: { port: 0 },
  };
  const serve = whileServing;
  const post = (url: string, body: unknown) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  let fpId = "", tpId = "";
  await serve(cfg, async (base, store) => {
    const st0 = await (await fetch(`${base}/model`)).json();
    assert.equal(st0.policy, "sliding");
    assert.equal(st0.version, "v0001");
    assert.ok(st0.rows.window > 0, "the replay's scored flows wait in the window");
    const { alerts } = store.list({ limit: 10 });
    assert.ok(alerts.length >= 2, `${alerts.length} alerts`);
    [fpId, tpId] = [alerts[0].id, alerts[1].id];
    assert.ok(store.get(fpId)!.modelFeatures, "an alert keeps the row the model scored");
    assert.equal((await post(`${base}/alerts/${fpId}/feedback`, { label: "false_positive" })).status, 200);
    assert.equal((await post(`${base}/alerts/${tpId}/feedback`, { label: "true_positive" })).status, 200);
    const st1 = await (await fetch(`${base}/model`)).json();
    assert.equal(st1.rows.pending_false_positives, 1);
    assert.equal(st1.rows.attacks, 1);
  });
  // Restart, replaying benign traffic: the verdicts come back with the alerts, and both are known to
  // the model again.
  await serve({ ...cfg, source: { pcap: await benignMix(dir) } }, async (base, store) => {
    assert.equal(store.get(fpId)?.alert.feedback, "false_positive");
    assert.equal(store.get(tpId)?.alert.feedback, "true_positive");
    const st = await (await fetch(`${base}/model`)).json();
    assert.equal(st.rows.pending_false_positives, 1, JSON.stringify(st.rows));
    assert.equal(st.rows.attacks, 1);
    // Learn now. The model kept no rows: every other benign-looking flow calibrates (the cut), the rest
    // and the analyst's false positive are learned, and v0002 is written.
    const u1 = await post(`${base}/model/update`, {});
    assert.equal(u1.status, 200, await u1.clone().text());
    const after = (await u1.json()).model;
    assert.equal(after.version, "v0002");
    // What the update did, said: a 200 had not told a new version from rows only pooled.
    assert.equal(after.update.refit, true);
    assert.equal(after.update.version, "v0002");
    assert.ok(after.update.learned > 0);
    assert.ok(after.cut !== null && after.rows.calibration > 0);
    assert.deepEqual(after.versions[1].feedback, { fp: 1, tp: 0 });
    assert.equal(after.rows.pending_false_positives, 0);
    assert.ok(after.rows.pool > 1);
    const u3 = await post(`${base}/model/update`, {});
    assert.equal(u3.status, 409);
    assert.match((await u3.json()).error, /no scored flows since the last update/);
    // Rollback: bad bodies are 400, an unknown version 409, {} goes to the parent.
    assert.equal((await post(`${base}/model/rollback`, { to: "latest" })).status, 400);
    assert.equal((await post(`${base}/model/rollback`, { to: "v0001", force: true })).status, 400);
    const unknown = await post(`${base}/model/rollback`, { to: "v0042" });
    assert.equal(unknown.status, 409);
    const why = (await unknown.json()).error;
    assert.match(why, /v0042/);
    assert.ok(!why.includes(home), `no path of the sensor's disk in the answer: ${why}`);
    const rb = await post(`${base}/model/rollback`, {});
    assert.equal(rb.status, 200, await rb.clone().text());
    const back = (await rb.json()).model;
    assert.equal(back.version, "v0001");
    assert.equal(back.rollbacks, 1);
    assert.equal(back.rows.attacks, 1, "confirmed attacks stay known across a rollback");
    // v0001 has no parent: refused, and the answer names no file of the sensor's disk (it had named the
    // history's lineage.json by its full path).
    const none = await post(`${base}/model/rollback`, {});
    assert.equal(none.status, 409);
    const said = (await none.json()).error;
    assert.match(said, /v0001/);
    assert.ok(!said.includes(home), said);
    assert.equal(await headDir(home), join(home, "v0001"));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /nadir_model_rollbacks_total 1/);
    assert.match(metrics, /nadir_model_version 1/);
    // A rollback on disk (`nadir model rollback HOME --to v0002`) while the sensor runs: it follows.
    await rollback(home, { to: "v0002", reason: "cli" });
    let now = "";
    for (let i = 0; i < 50 && now !== "v0002"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = (await (await fetch(`${base}/model`)).json()).version;
    }
    assert.equal(now, "v0002", "the monitor follows the history's head");
  });
  const h = await readHistory(home);
  assert.deepEqual(h.log.map((e) => e.action), ["init", "update", "rollback", "rollback"]);
});

Deno.test("adaptation: a frozen plain model has no /model; adaptive policies need a history and a saved model", async () => {
  const dir = scratchDir("nadir-adapt-cfg-");
  const model = await benignFlowModel();
  const pcap = dataPath("pcaps", "http_espn.pcapng");
  await assert.rejects(
    () => runMonitor({ source: { pcap }, model, adapt: { policy: "sliding" } }, { log: () => {} }),
    /adapt\.policy sliding writes every update as a new model version: give adapt\.history/,
  );
  await assert.rejects(
    () =>
      runMonitor({ source: { pcap }, detector: "kitnet", adapt: { policy: "incremental" } }, {
        log: () => {},
      }),
    /adapt\.policy needs a saved flow model \(--model\)/,
  );
  await assert.rejects(
    () =>
      runMonitor({ source: { pcap }, model, adapt: { policy: "greedy", history: join(dir, "h") } }, {
        log: () => {},
      }),
    /adapt\.policy: update policy: expected one of frozen, sliding, incremental, on-drift, found "greedy"/,
  );
  assert.deepEqual(configProblems({ adapt: { policy: "sliding", window_flows: 0 } }), [
    'field "adapt.window_flows": expected a number ≥ 10, found 0',
  ]);
  const r = await runMonitor({ source: { pcap }, model }, { log: () => {} });
  assert.equal(r.model, undefined);
});

Deno.test("adaptation: damaged kept rows are an error naming the file", async () => {
  const dir = scratchDir("nadir-adapt-state-");
  const m = (n: number) => matrix(Float64Array.from({ length: 2 * n }, (_, i) => i), n, 2);
  await writeAdaptState(dir, { pool: m(3), calibration: m(2), attacks: m(0) });
  const st = await readAdaptState(dir, 2);
  assert.deepEqual([...st!.pool.data], [...m(3).data]);
  assert.equal(await readAdaptState(scratchDir("nadir-test-"), 2), undefined);
  await assert.rejects(() => readAdaptState(dir, 3), (e: Error) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /state\.json.*expected format 1 and 3 columns/s);
    return true;
  });
  const f = join(dir, "adapt", "pool.f64");
  const bytes = Deno.readFileSync(f);
  bytes[0] ^= 1;
  Deno.writeFileSync(f, bytes);
  await assert.rejects(() => readAdaptState(dir, 2), /pool\.f64.*sha256 differs/s);
  Deno.writeFileSync(f, bytes.subarray(8));
  await assert.rejects(() => readAdaptState(dir, 2), /expected 3 rows × 2 float64 = 48 bytes, found 40/);
});
