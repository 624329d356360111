/**
 * End to end through the real CLI: `nadir feedback` posts a verdict to a running monitor's API (started
 * in-process, replaying a malicious capture through a benign model so there are alerts), the alert's
 * label changes and the feedback file gets the verdict; the server's refusals (unknown alert, missing
 * token) and an unreachable API end in one line naming what failed, exit 1; bad arguments exit 2.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AlertStore } from "../../src/serve/store.ts";
import { dataPath, nadir } from "../_shared.ts";
import { benignFlowModel, whileServing } from "../serve/_helpers.ts";

const TOKEN = "feedback-cli-test-token-0123456789";

/** Runs a monitor with an API on a free port until `f` returns. */
async function withMonitor(
  dir: string,
  tokenFile: string | undefined,
  f: (base: string, store: AlertStore) => Promise<void>,
): Promise<void> {
  await whileServing({
    source: { pcap: dataPath("pcaps", "stratosphere-test7-malicious.pcap") },
    model: await benignFlowModel(),
    alerts: { file: join(dir, "eve.jsonl") },
    rules: { dedup_window_s: 0, per_host_per_minute: 0 },
    adapt: { policy: "sliding", history: join(dir, "history"), window_flows: 1_000_000, min_pool_rows: 20 },
    api: { port: 0, ...(tokenFile ? { token_file: tokenFile } : {}) },
  }, f);
}

function feedbackLines(dir: string): Record<string, unknown>[] {
  const text = Deno.readTextFileSync(join(dir, "feedback.jsonl"));
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test({
  name:
    "cli: nadir feedback marks alerts of a running monitor (fp adds a suppression, tp), the server's 404 exits 1",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nadir-cli-feedback-" });
    try {
      await withMonitor(dir, undefined, async (base, store) => {
        const { alerts } = store.list({ limit: 10 });
        assert.ok(alerts.length >= 2, `${alerts.length} alerts`);
        const [fp, tp] = [alerts[0], alerts[1]];
        const [r1, r2, r404] = await Promise.all([
          nadir("feedback", fp.id, "--label", "fp", "--note", "backup job", "--scope", "src", "--api", base),
          nadir("feedback", tp.id, "--label", "true_positive", "--api", `${base}/`),
          nadir("feedback", "no-such-alert", "--label", "tp", "--api", base),
        ]);
        assert.equal(r1.code, 0, r1.stderr);
        assert.equal(
          r1.stdout,
          `alert ${fp.id} marked false positive; suppression added: src ${fp.src_ip} → any, detector ${fp.detector}\n`,
        );
        assert.equal(r2.code, 0, r2.stderr);
        assert.equal(r2.stdout, `alert ${tp.id} marked true positive\n`);
        assert.equal(store.get(fp.id)!.alert.feedback, "false_positive");
        assert.equal(store.get(tp.id)!.alert.feedback, "true_positive");
        const lines = feedbackLines(dir);
        assert.deepEqual(
          lines.map((l) => [l.alert_id, l.verdict, l.label]).sort(),
          [[fp.id, "false_positive", "benign"], [tp.id, "true_positive", "attack"]].sort(),
        );
        assert.equal(lines.find((l) => l.alert_id === fp.id)!.note, "backup job");
        // The model learns them: one false positive waits for the next update, one attack is known.
        const st = await (await fetch(`${base}/model`)).json();
        assert.equal(st.rows.pending_false_positives, 1);
        assert.equal(st.rows.attacks, 1);

        assert.equal(r404.code, 1);
        assert.equal(r404.stdout, "");
        assert.equal(
          r404.stderr.trim(),
          `nadir: the API at ${base} refused the verdict (404): no alert with id "no-such-alert"`,
        );
      });
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "cli: nadir feedback sends the token; without it the server's 401 says so; unreachable API and bad args",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "nadir-cli-feedback-tok-" });
    try {
      const tokenFile = join(dir, "token");
      Deno.writeTextFileSync(tokenFile, TOKEN + "\n");
      let freePort = 0;
      await withMonitor(dir, tokenFile, async (base, store) => {
        const id = store.list({ limit: 1 }).alerts[0].id;
        const [noTok, withTok] = await Promise.all([
          nadir("feedback", id, "--label", "tp", "--api", base),
          nadir("feedback", id, "--label", "tp", "--api", base, "--token-file", tokenFile),
        ]);
        assert.equal(noTok.code, 1);
        assert.match(
          noTok.stderr,
          /^nadir: the API at http:\/\/127\.0\.0\.1:\d+ refused the verdict \(401\): .*\(give --token-file or set NADIR_TOKEN\)\n$/,
        );
        assert.equal(withTok.code, 0, withTok.stderr);
        assert.equal(store.get(id)!.alert.feedback, "true_positive");
        freePort = Number(new URL(base).port);
      });
      // The monitor is gone: its port refuses connections.
      const [down, badLabel, noLabel, badUrl, tpScope] = await Promise.all([
        nadir("feedback", "abc", "--label", "fp", "--api", `http://127.0.0.1:${freePort}`),
        nadir("feedback", "abc", "--label", "maybe"),
        nadir("feedback", "abc"),
        nadir("feedback", "abc", "--label", "fp", "--api", "ftp://x"),
        nadir("feedback", "abc", "--label", "tp", "--scope", "src"),
      ]);
      assert.equal(down.code, 1);
      assert.match(
        down.stderr,
        new RegExp(
          `^nadir: cannot reach the sensor's API at http://127\\.0\\.0\\.1:${freePort}: .+\\(is it running\\? see --api\\)\\n$`,
        ),
      );
      assert.equal(badLabel.code, 2);
      assert.match(
        badLabel.stderr,
        /--label expects one of fp, false_positive, tp, true_positive, found "maybe"/,
      );
      assert.equal(noLabel.code, 2);
      assert.match(noLabel.stderr, /--label fp\|tp is required/);
      assert.equal(badUrl.code, 2);
      assert.match(badUrl.stderr, /--api expects an http\(s\) URL, found "ftp:\/\/x"/);
      assert.equal(tpScope.code, 2);
      assert.match(tpScope.stderr, /--scope applies to a false positive/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
