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
import { benignFlowModel } from "./_helpers.ts";

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
