/**
 * End-to-end: the dashboard in headless Debian chromium (playwright-core) while
 * the monitor replays a real capture; checks that alerts render live, charts
 * draw, and an attacker-controlled string is shown as text, never markup.
 * Saves test/artifacts/dashboard.png.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runMonitor } from "../../src/serve/run.ts";
import { makeAlert } from "../../src/serve/alert.ts";
import type { AlertStore } from "../../src/serve/store.ts";
import { CHROMIUM, CHROMIUM_ARGS, dataPath, needPrograms, ROOT, testWhen } from "../_shared.ts";
import { benignFlowModel, whileServing } from "./_helpers.ts";

const HOSTILE = `<img src=x onerror="window.__xss=1">`;
const TOKEN = "dashboard-test-token-0123456789";

testWhen([needPrograms("chromium")], {
  name: "dashboard renders live alerts in chromium and escapes hostile strings",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { chromium } = await import("playwright-core");
    const model = await benignFlowModel();
    const out = Deno.makeTempDirSync({ prefix: "nadir-dash-" });
    const tokenFile = join(out, "token");
    Deno.writeTextFileSync(tokenFile, TOKEN + "\n");
    const stop = new AbortController();
    let port = 0;
    let store: AlertStore | undefined;
    const listening = Promise.withResolvers<void>();
    // Paced replay (x10: about 6 s) so the page sees alerts arrive while it is open.
    const run = runMonitor(
      {
        source: { pcap: dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), replay: "x10" },
        model,
        alerts: { file: join(out, "alerts.jsonl") },
        rules: { dedup_window_s: 0, per_host_per_minute: 0 },
        api: { port: 0, token_file: tokenFile },
      },
      {
        signal: stop.signal,
        stay: true,
        log: () => {},
        onReady: (x) => (store = x.store),
        onListen: (a) => {
          port = a.port;
          listening.resolve();
        },
      },
    );
    await listening.promise;
    // A collector's quiet sensor: one alert, then 600 of a busy one, so that it is not among the 500 alerts
    // the page loads first. The filter had offered only the sensors of those.
    const old = (host: string, i: number) =>
      makeAlert({
        tsUs: (Date.now() - 3_600_000) * 1000 + i,
        flowId: 800_000 + i,
        srcIp: "198.51.100.7",
        srcPort: 40_000 + i,
        destIp: "192.0.2.20",
        destPort: 22,
        protocol: 6,
        detector: "kmeans",
        score: 5,
        threshold: 1,
        host,
      });
    store!.add({ alert: old("quiet-sensor", 0) });
    for (let i = 1; i <= 600; i++) store!.add({ alert: old("busy-sensor", i) });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on("pageerror", (e: Error) => errors.push(e.message));
      const requests: string[] = [];
      page.on("request", (r: { url(): string }) => requests.push(r.url()));
      await page.goto(`http://127.0.0.1:${port}/#token=${TOKEN}`);
      // Alerts arrive over the stream while the replay runs.
      await page.waitForSelector('[data-testid="alert-row"]', { timeout: 20_000 });
      await page.waitForFunction(() => document.body.dataset.statsLoaded === "1", null, { timeout: 10_000 });
      await page.waitForSelector("#chartRates svg", { timeout: 10_000 });
      await page.waitForSelector("#chartScores svg", { timeout: 10_000 });
      await page.waitForSelector("#chartTalkers svg", { timeout: 10_000 });
      // A plain model (no history): the model panel says so and offers no update or rollback.
      await page.waitForFunction(() => document.body.dataset.modelLoaded === "1", null, { timeout: 10_000 });
      assert.equal(await page.locator("#modelSummary").textContent(), "model: frozen (no history)");
      assert.equal(await page.locator("#modelUpdate").isVisible(), false);
      assert.equal(await page.locator("#modelRollback").isVisible(), false);

      // An attacker-controlled string in the explanation, the sensor/host field and an extra field.
      const a = makeAlert({
        tsUs: Date.now() * 1000,
        flowId: 999_999,
        srcIp: "203.0.113.66",
        srcPort: 6666,
        destIp: "192.0.2.10",
        destPort: 443,
        protocol: 6,
        detector: "kmeans",
        score: 99,
        threshold: 1,
        host: HOSTILE,
        explanation: `SNI was ${HOSTILE}`,
        extra: { sni: HOSTILE },
      });
      store!.add({ alert: a });
      const row = page.locator(`tr[data-id="${a.id}"]`);
      await row.waitFor({ timeout: 10_000 });
      assert.equal(await row.locator("td.host").textContent(), HOSTILE);
      await row.click();
      await page.waitForSelector("#detail:not([hidden])");
      assert.equal(await page.locator("#detailExplanation").textContent(), `SNI was ${HOSTILE}`);
      const injected = await page.evaluate(() => ({
        xss: (window as unknown as { __xss?: number }).__xss,
        imgs: document.querySelectorAll('img[src="x"]').length,
      }));
      assert.equal(injected.xss, undefined, "injected handler never ran");
      assert.equal(injected.imgs, 0, "no element was created from the hostile string");
      assert.ok(!requests.some((u) => u.endsWith("/x")), "the browser never fetched the injected img src");

      // Replay still feeding alerts: more rows than at first sight, real ones from the capture.
      const rows = await page.locator('[data-testid="alert-row"]').count();
      assert.ok(rows >= 2, `rows: ${rows}`);
      // The sensor filter (a collector shows many sensors): only the hostile sensor's one alert, then all.
      await page.locator('[data-testid="sensor-filter"]').selectOption(HOSTILE);
      assert.equal(await page.locator('[data-testid="alert-row"]').count(), 1);
      assert.equal(await page.locator('[data-testid="alert-row"] td.host').textContent(), HOSTILE);
      await page.locator('[data-testid="sensor-filter"]').selectOption("");
      assert.ok((await page.locator('[data-testid="alert-row"]').count()) >= rows);
      // The quiet sensor is offered (GET /sensors), and picking it loads its own alerts.
      await page.locator('[data-testid="sensor-filter"] option[value="quiet-sensor"]').waitFor({
        state: "attached",
        timeout: 10_000,
      });
      await page.locator('[data-testid="sensor-filter"]').selectOption("quiet-sensor");
      await page.locator('[data-testid="alert-row"] td.host', { hasText: "quiet-sensor" }).waitFor({
        timeout: 10_000,
      });
      assert.equal(await page.locator('[data-testid="alert-row"]').count(), 1);
      await page.locator('[data-testid="sensor-filter"]').selectOption("");
      assert.deepEqual(errors, [], "no page errors");

      Deno.mkdirSync(join(ROOT, "test", "artifacts"), { recursive: true });
      await page.screenshot({ path: join(ROOT, "test", "artifacts", "dashboard.png"), fullPage: true });
    } finally {
      await browser.close();
      stop.abort();
      await run;
      Deno.removeSync(out, { recursive: true });
    }
  },
});

testWhen([needPrograms("chromium")], {
  name:
    "dashboard: verdicts teach a model with a history; the model panel updates and rolls back the live model",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { chromium } = await import("playwright-core");
    const out = Deno.makeTempDirSync({ prefix: "nadir-dash-model-" });
    const tokenFile = join(out, "token");
    Deno.writeTextFileSync(tokenFile, TOKEN + "\n");
    // Malicious traffic the benign model alerts on (so there are alerts to judge), replayed at once; the
    // model history's window holds every scored flow until "Update now".
    await whileServing({
      source: { pcap: dataPath("pcaps", "stratosphere-test7-malicious.pcap") },
      model: await benignFlowModel(),
      alerts: { file: join(out, "alerts.jsonl") },
      rules: { dedup_window_s: 0, per_host_per_minute: 0 },
      adapt: {
        policy: "sliding",
        history: join(out, "history"),
        window_flows: 1_000_000,
        min_pool_rows: 20,
      },
      api: { port: 0, token_file: tokenFile },
    }, async (base, store) => {
      const getModel = async () =>
        await (await fetch(`${base}/model`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        const errors: string[] = [];
        page.on("pageerror", (e: Error) => errors.push(e.message));
        const dialogs: string[] = [];
        page.on("dialog", (d: { message(): string; accept(): Promise<void> }) => {
          dialogs.push(d.message());
          void d.accept();
        });
        await page.goto(`${base}/#token=${TOKEN}`);
        const summary = page.locator("#modelSummary");
        const modelMsg = page.locator("#modelMsg");
        const field = (k: string) => page.locator(`#modelFields dd[data-field="${k}"]`);
        const summaryIs = (text: string) =>
          page.waitForFunction(
            (t: string) => document.getElementById("modelSummary")!.textContent === t,
            text,
            { timeout: 10_000 },
          );
        await summaryIs("model v0001 · sliding");
        assert.equal(await field("policy").textContent(), "sliding");
        const st0 = await getModel();
        assert.ok(st0.rows.window > 0 && st0.rows.window < 1e4, "the window holds the replay's scored flows");
        assert.equal(
          await field("rows").textContent(),
          `pool 0 · calibration 0 · window ${st0.rows.window} · pending FPs 0 · attacks 0`,
        );
        assert.match(
          (await field("last update").textContent())!,
          /^none since start \(v0001 created \d{4}-\d\d-\d\d /,
        );
        assert.ok(await page.locator("#modelUpdate").isVisible());
        assert.ok(await page.locator("#modelRollback").isVisible());

        // Verdicts from the alert detail: one confirmed attack, one false positive.
        const rows = page.locator('[data-testid="alert-row"]');
        await rows.first().waitFor({ timeout: 10_000 });
        assert.ok((await rows.count()) >= 2);
        const tpId = (await rows.nth(0).getAttribute("data-id"))!;
        const fpId = (await rows.nth(1).getAttribute("data-id"))!;
        const detailMsg = page.locator("#detailMsg");
        await rows.nth(0).click();
        await page.waitForSelector("#detail:not([hidden])");
        await page.locator("#detailTp").click();
        await page.waitForFunction(() => document.getElementById("detailMsg")!.textContent !== "", null, {
          timeout: 10_000,
        });
        assert.equal(
          await detailMsg.textContent(),
          "confirmed; the model keeps its threshold below this flow's score",
        );
        assert.equal(store!.get(tpId)!.alert.feedback, "true_positive");
        assert.match((await page.locator("#detailFields").textContent())!, /feedbacktrue_positive/);
        await rows.nth(1).click();
        await page.locator("#detailFp").click();
        await page.waitForFunction(() => document.getElementById("detailMsg")!.textContent !== "", null, {
          timeout: 10_000,
        });
        assert.equal(
          await detailMsg.textContent(),
          "suppressed; the model learns this flow as benign at its next update",
        );
        assert.equal(store!.get(fpId)!.alert.feedback, "false_positive");
        const st1 = await getModel();
        assert.equal(st1.rows.attacks, 1);
        assert.equal(st1.rows.pending_false_positives, 1);
        await page.waitForFunction(
          () =>
            /pending FPs 1 · attacks 1$/.test(
              document.querySelector('#modelFields dd[data-field="rows"]')!.textContent!,
            ),
          null,
          { timeout: 10_000 },
        );
        await page.locator("#detailClose").click();

        // Update now: v0001 → v0002, learning the window and the false positive.
        await page.locator("#modelUpdate").click();
        await summaryIs("model v0002 · sliding");
        assert.match((await modelMsg.textContent())!, /^updated v0001 → v0002: learned \d+ flow\(s\)$/);
        assert.match((await field("last update").textContent())!, /→ v0002, learned \d+ flow\(s\)$/);
        assert.match((await field("rows").textContent())!, /pending FPs 0 · attacks 1$/);
        const st2 = await getModel();
        assert.equal(st2.version, "v0002");
        assert.deepEqual(st2.versions[1].feedback, { fp: 1, tp: 1 });
        // Nothing scored since: the server's 409 reason is shown, the version stays.
        await page.locator("#modelUpdate").click();
        await page.waitForFunction(
          () => document.getElementById("modelMsg")!.textContent!.startsWith("update refused"),
          null,
          { timeout: 10_000 },
        );
        assert.match(
          (await modelMsg.textContent())!,
          /^update refused \(409\): .*no scored flows since the last update/,
        );
        assert.equal(await summary.textContent(), "model v0002 · sliding");

        // Roll back (after a confirm()): v0002 → v0001, live and in the history.
        await page.locator("#modelRollback").click();
        await summaryIs("model v0001 · sliding");
        assert.deepEqual(dialogs, ["Roll the live model back from v0002 to its parent version?"]);
        assert.equal(await modelMsg.textContent(), "rolled back v0002 → v0001");
        assert.equal(await field("updates / rollbacks").textContent(), "1 / 1");
        const st3 = await getModel();
        assert.equal(st3.version, "v0001");
        assert.equal(st3.rollbacks, 1);
        // v0001 has no parent: the refusal is shown.
        await page.locator("#modelRollback").click();
        await page.waitForFunction(
          () => document.getElementById("modelMsg")!.textContent!.startsWith("rollback refused"),
          null,
          { timeout: 10_000 },
        );
        assert.match((await modelMsg.textContent())!, /^rollback refused \(409\): ./);
        assert.equal(await summary.textContent(), "model v0001 · sliding");
        assert.deepEqual(errors, [], "no page errors");
        Deno.mkdirSync(join(ROOT, "test", "artifacts"), { recursive: true });
        await page.screenshot({
          path: join(ROOT, "test", "artifacts", "dashboard-model.png"),
          fullPage: true,
        });
      } finally {
        await browser.close();
      }
    });
    Deno.removeSync(out, { recursive: true });
  },
});
