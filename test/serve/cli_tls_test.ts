import assert from "node:assert/strict";
import { join } from "node:path";
import { createHandler, serveApi } from "../../src/serve/api.ts";
import { flowExplainer, flowMatrixFromPcap, predictModelFromDir } from "../../src/serve/models.ts";
import { checkProfile, explain } from "../../src/detectors/explain.ts";
import { loadModel } from "../../src/detectors/model_dir.ts";
import { basicFeatures } from "../../src/flows/features/basic.ts";
import type { FeatureSet } from "../../src/flows/features/types.ts";
import { AlertStore } from "../../src/serve/store.ts";
import { runMonitor } from "../../src/serve/run.ts";
import { WebhookSink } from "../../src/serve/sinks/webhook.ts";
import { dataPath, needPrograms, ROOT, selfSignedCert, testWhen } from "../_shared.ts";
import { benignFlowModel } from "./_helpers.ts";

function cli(args: string[], env: Record<string, string> = {}): { code: number; err: string } {
  const r = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-ffi", join(ROOT, "src", "cli.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NADIR_PROGRESS: "0", NO_COLOR: "1", ...env },
  }).outputSync();
  return { code: r.code, err: new TextDecoder().decode(r.stderr) };
}

Deno.test("CLI: usage and input errors name the problem, exit 2 / 1", () => {
  let r = cli(["monitor", "--pcap", dataPath("pcaps", "synscan.pcapng")]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /give --model DIR or --detector NAME/);
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(
    join(dir, "c.json"),
    JSON.stringify({ source: { pcap: "x.pcap" }, flows: { rescore_interval_s: "often" } }),
  );
  r = cli(["monitor", "--config", join(dir, "c.json")]);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /c\.json: field "flows\.rescore_interval_s": expected a number, found "often"/);
  r = cli(["serve", "--host", "0.0.0.0", "--port", "0"], { NADIR_TOKEN: "" });
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /refusing to listen on 0\.0\.0\.0 without a token/);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("POST /predict with a real saved flow model matches the detector's own scores", async () => {
  const dir = await benignFlowModel();
  const pm = await predictModelFromDir(dir);
  const lm = await loadModel(dir);
  const x = await flowMatrixFromPcap(
    dataPath("pcaps", "zeek-http-methods.pcap"),
    basicFeatures as FeatureSet,
  );
  const want = await lm.detector.score(x);
  const h = createHandler({ store: new AlertStore(), models: [pm] });
  const rows = Array.from(
    { length: x.rows },
    (_, i) => Array.from(x.data.subarray(i * x.cols, (i + 1) * x.cols)),
  );
  const r = await h(
    new Request("http://127.0.0.1/predict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows }),
    }),
  );
  const j = await r.json();
  assert.equal(r.status, 200, JSON.stringify(j).slice(0, 300));
  assert.equal(j.model, "kmeans-basic");
  assert.equal(j.scores.length, x.rows);
  j.scores.forEach((s: number, i: number) => assert.ok(Math.abs(s - want[i]) < 1e-9));
  assert.equal(j.threshold, lm.threshold!.value);
});

testWhen([needPrograms("openssl")], {
  name: "TLS: --cert/--key serve HTTPS",
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync();
    const { cert, key } = selfSignedCert(dir);
    const ac = new AbortController();
    const ready = Promise.withResolvers<number>();
    const server = serveApi({
      host: "127.0.0.1",
      port: 0,
      certFile: cert,
      keyFile: key,
      signal: ac.signal,
      handler: createHandler({ store: new AlertStore() }),
      onListen: (a) => ready.resolve(a.port),
    });
    const port = await ready.promise;
    const client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(cert)] });
    try {
      const r = await fetch(`https://127.0.0.1:${port}/health`, { client } as RequestInit);
      assert.equal((await r.json()).status, "ok");
      await assert.rejects(() => fetch(`http://127.0.0.1:${port}/health`).then((x) => x.text()));
    } finally {
      client.close();
      ac.abort();
      await server.finished;
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("monitor → failing webhook: every alert in the file also reaches the receiver once it recovers", async () => {
  const model = await benignFlowModel();
  const dir = Deno.makeTempDirSync({ prefix: "nadir-wh-" });
  const got = new Set<string>();
  let calls = 0;
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const a = JSON.parse(await req.text());
      // The first 3 deliveries fail (500), then a slow phase, then normal.
      calls++;
      if (calls <= 3) return new Response("no", { status: 500 });
      if (calls <= 6) await new Promise((r) => setTimeout(r, 100));
      got.add(a.id);
      return new Response("ok");
    },
  );
  try {
    const alerts = join(dir, "alerts.jsonl");
    const r = await runMonitor(
      {
        source: { pcap: dataPath("pcaps", "zeek-ftp-bruteforce.pcap") },
        model,
        alerts: { file: alerts },
        rules: { dedup_window_s: 0, per_host_per_minute: 0 },
        sinks: {
          webhook: { url: `http://127.0.0.1:${server.addr.port}/hook`, spool: join(dir, "wh.spool") },
        },
      },
      { log: () => {} },
    );
    const ids = Deno.readTextFileSync(alerts).split("\n").filter(Boolean).map((l) => JSON.parse(l).id);
    assert.equal(ids.length, r.alerts + r.driftEvents, "alerts and drift events, each with an id");
    assert.ok(ids.length >= 5);
    // Whatever the monitor could not deliver before exiting is still in the spool; a restarted sink sends it.
    const again = new WebhookSink({
      url: `http://127.0.0.1:${server.addr.port}/hook`,
      spoolPath: join(dir, "wh.spool"),
      backoffMs: 10,
    });
    await again.close();
    assert.ok(calls >= ids.length + 3, "failed deliveries were retried");
    assert.deepEqual([...got].sort(), [...ids].sort(), "no alert lost");
  } finally {
    ac.abort();
    await server.finished;
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the monitor's synchronous explanation equals src/detectors/explain.ts's for profile models", async () => {
  const dir = await benignFlowModel();
  const lm = await loadModel(dir);
  const profile = checkProfile((lm.manifest as { profile?: unknown }).profile, lm.featureNames.length);
  const x = await flowMatrixFromPcap(
    dataPath("pcaps", "zeek-ftp-bruteforce.pcap"),
    basicFeatures as FeatureSet,
  );
  const scores = await lm.detector.score(x);
  const fx = flowExplainer(lm.detector, profile);
  for (const i of [0, 3, 7]) {
    const want = await explain(lm.detector, x, i, { profile });
    const got = fx(x.names, Array.from(x.data.subarray(i * x.cols, (i + 1) * x.cols)), scores[i]);
    assert.ok(!(got instanceof Promise), "computed synchronously");
    assert.equal((got as { summary: string }).summary, want.summary);
    assert.deepEqual(
      (got as { features: { name: string }[] }).features.map((f) => f.name),
      want.features.map((f) => f.name),
    );
  }
});
