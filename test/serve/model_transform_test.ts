/**
 * Models trained the normal way (`nadir flows` → `nadir train`, which saves a preprocessing transform)
 * work in the monitor and in POST /predict: real captures end to end through the CLI, and /predict
 * returns the scores `nadir predict` gives for the same rows.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import { createHandler } from "../../src/serve/api.ts";
import { AlertStore, LiveStats } from "../../src/serve/store.ts";
import { AlertFilter, SuppressionList } from "../../src/serve/rules.ts";
import { MonitorMetrics } from "../../src/serve/metrics.ts";
import { flowScoringFromDir, predictModelFromDir } from "../../src/serve/models.ts";
import { Monitor } from "../../src/serve/monitor.ts";
import { forEachPacket } from "../../src/capture/reader.ts";
import { dataPath, ROOT } from "../_shared.ts";

const ENV = { NADIR_PROGRESS: "0", NO_COLOR: "1" };
/** The scanning host of synscan.pcapng (every packet of that capture is its SYN scan or the replies). */
const SCANNER = "172.16.0.8";

async function nadir(...args: string[]): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-ffi", join(ROOT, "src", "cli.ts"), ...args],
    cwd: ROOT,
    env: ENV,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout), err = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, `nadir ${args.join(" ")} failed (${r.code}):\n${err}`);
  return out + err;
}

function handlerFor(models: Awaited<ReturnType<typeof predictModelFromDir>>[], dir: string) {
  const filter = new AlertFilter({ suppressions: new SuppressionList(join(dir, "suppressions.json")) });
  const store = new AlertStore({
    evidenceDir: join(dir, "evidence"),
    feedbackFile: join(dir, "fb.jsonl"),
    filter,
  });
  const h = createHandler({ store, stats: new LiveStats(), metrics: new MonitorMetrics(), models });
  const post = (body: string, type = "application/json") =>
    h(new Request("http://127.0.0.1/predict", { method: "POST", headers: { "content-type": type }, body }));
  return Object.assign(post, { get: (path: string) => h(new Request("http://127.0.0.1" + path)) });
}

/** Rows of a flows file as JSON objects of the given raw columns (numbers, text for categories). */
function rowsOf(file: string, cols: readonly string[], text: ReadonlySet<string>): Record<string, unknown>[] {
  const df = pl.readParquet(file);
  const data = cols.map((c) =>
    text.has(c)
      ? (df.getColumn(c).toArray() as unknown[]).map((v) => (v === null ? null : String(v)))
      : (df.getColumn(c).cast(pl.Float64).toArray() as (number | null)[]).map((v) =>
        v === null || !Number.isFinite(v) ? null : v
      )
  );
  return Array.from({ length: df.height }, (_, i) => Object.fromEntries(cols.map((c, j) => [c, data[j][i]])));
}

function predictScores(out: string): number[] {
  return out.trim().split("\n").filter((l) => l.startsWith('{"score"')).map((l) => JSON.parse(l).score);
}

function alertsIn(file: string): { src_ip: string; score: number; threshold: number }[] {
  return Deno.readTextFileSync(file).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l))
    .filter((a) => a.event_type === "alert"); // drift events share the file
}

for (
  const { set, detector } of [
    { set: "basic", detector: "knn" },
    // kdd: protocol_type, service and flag are text columns the transform one-hot encodes.
    { set: "kdd", detector: "isolation-forest" },
  ]
) {
  Deno.test(`nadir train model (${set} features, ${detector}, with transform): predict, monitor, /predict agree`, async () => {
    const tmp = Deno.makeTempDirSync({ prefix: "nadir-transform-" });
    try {
      const train = join(tmp, "espn.parquet"), model = join(tmp, "model"), alerts = join(tmp, "alerts.jsonl");
      await nadir("flows", dataPath("pcaps", "http_espn.pcapng"), "--features", set, "--out", train);
      await nadir(
        "train",
        "--detector",
        detector,
        "--path",
        train,
        "--assume-benign",
        "--features",
        set,
        "--out",
        model,
      );
      const manifest = JSON.parse(Deno.readTextFileSync(join(model, "manifest.json")));
      assert.equal(manifest.transform?.format, "nadir-transform", "nadir train saves a transform");

      const scores = predictScores(await nadir("predict", "--model", model, "--input", train));
      assert.equal(scores.length, pl.readParquet(train).height);
      assert.ok(scores.every(Number.isFinite));

      const summary = await nadir(
        "monitor",
        "--pcap",
        dataPath("pcaps", "synscan.pcapng"),
        "--model",
        model,
        "--alerts",
        alerts,
      );
      assert.match(summary, /1994 flows/);
      const got = alertsIn(alerts);
      assert.ok(got.length > 0, `no alerts on the SYN scan:\n${summary}`);
      for (const a of got) {
        assert.equal(a.src_ip, SCANNER);
        assert.ok(a.score > a.threshold);
      }

      // POST /predict with raw rows (JSON objects and CSV) gives the scores `nadir predict` gave.
      const pm = await predictModelFromDir(model);
      const cats = new Set(pm.categorical ?? []);
      assert.deepEqual(pm.featureNames, manifest.transform.columns.map((c: { name: string }) => c.name));
      assert.equal(cats.size > 0, set === "kdd");
      const rows = rowsOf(train, pm.featureNames, cats);
      const post = handlerFor([pm], tmp);
      const listed = (await (await post.get("/models")).json()).models[0];
      assert.equal(listed.preprocessed, true);
      assert.deepEqual(listed.features, pm.featureNames);
      assert.deepEqual(listed.categorical, [...cats]);
      const r = await post(JSON.stringify({ rows }));
      const body = await r.json();
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(body.scores.length, scores.length);
      body.scores.forEach((s: number, i: number) =>
        assert.ok(
          Math.abs(s - scores[i]) <= 1e-9 * Math.max(1, Math.abs(s)),
          `row ${i}: ${s} vs ${scores[i]}`,
        )
      );
      const csv = [
        pm.featureNames.join(","),
        ...rows.map((o) => pm.featureNames.map((c) => o[c] ?? "").join(",")),
      ].join("\n");
      const rc = await post(csv, "text/csv");
      const bc = await rc.json();
      assert.equal(rc.status, 200, JSON.stringify(bc));
      bc.scores.forEach((s: number, i: number) =>
        assert.ok(Math.abs(s - scores[i]) <= 1e-9 * Math.max(1, Math.abs(s)), `csv row ${i}`)
      );

      // Validation still names the field; an unseen category goes to the unknown bucket.
      const one = { ...rows[0] };
      const first = pm.featureNames.find((n) => !cats.has(n))!;
      delete one[first];
      let e = await post(JSON.stringify({ rows: [one] }));
      assert.equal(e.status, 400);
      assert.ok((await e.json()).errors.some((x: { field: string }) => x.field === `rows[0].${first}`));
      e = await post(JSON.stringify({ rows: [{ ...rows[0], [first]: "12x" }] }));
      assert.equal(e.status, 400);
      assert.ok(
        (await e.json()).errors.some((x: { field: string; message: string }) =>
          x.field === `rows[0].${first}` && /number/.test(x.message)
        ),
      );
      if (set === "kdd") {
        e = await post(JSON.stringify({ rows: [{ ...rows[0], service: { x: 1 } }] }));
        assert.equal(e.status, 400);
        assert.ok((await e.json()).errors.some((x: { field: string }) => x.field === "rows[0].service"));
        const known = await (await post(JSON.stringify({ rows: [rows[0]] }))).json();
        const unk = await post(JSON.stringify({ rows: [{ ...rows[0], service: "no-such-service" }] }));
        const ub = await unk.json();
        assert.equal(unk.status, 200, JSON.stringify(ub));
        assert.ok(Number.isFinite(ub.scores[0]));
        assert.notEqual(
          ub.scores[0],
          known.scores[0],
          "the unknown bucket is a different input than a known service",
        );
      }
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  });
}

Deno.test("/predict follows the transform's nanPolicy: null scores null under drop, is a field error under error", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "nadir-transform-" });
  try {
    const train = join(tmp, "t.parquet");
    await nadir("flows", dataPath("pcaps", "zeek-http-bro.org.pcap"), "--features", "basic", "--out", train);
    for (const policy of ["drop", "error"]) {
      const model = join(tmp, policy);
      await nadir(
        "train",
        "--detector",
        "knn",
        "--path",
        train,
        "--assume-benign",
        "--nan-policy",
        policy,
        "--out",
        model,
      );
      const pm = await predictModelFromDir(model);
      assert.equal(pm.allowMissing, policy === "drop");
      const row = rowsOf(train, pm.featureNames, new Set())[0];
      const col = pm.featureNames[1];
      const r = await handlerFor([pm], tmp)(JSON.stringify({ rows: [row, { ...row, [col]: null }] }));
      const b = await r.json();
      if (policy === "drop") {
        assert.equal(r.status, 200, JSON.stringify(b));
        assert.ok(Number.isFinite(b.scores[0]));
        assert.equal(b.scores[1], null, "the dropped row scores null, one result per row");
      } else {
        assert.equal(r.status, 400);
        assert.deepEqual(b.errors.map((e: { field: string }) => e.field), [`rows[1].${col}`]);
      }
    }
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("monitor applies the transform per flow (kdd model, --features all): the detector sees one-hot rows", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "nadir-transform-" });
  try {
    const train = join(tmp, "t.parquet"), model = join(tmp, "model");
    await nadir("flows", dataPath("pcaps", "http_espn.pcapng"), "--features", "kdd", "--out", train);
    await nadir("train", "--detector", "knn", "--path", train, "--assume-benign", "--out", model);
    // --features defaults to "all": the monitor infers kdd from the transform's input columns.
    const s = await flowScoringFromDir(model);
    assert.equal(s.featureSet.name, "kdd");
    assert.ok(s.transform && s.endedOnly);
    assert.deepEqual([...s.categoricalNames!].sort(), ["flag", "protocol_type", "service"]);
    const det = s.detector;
    const origScore = det.score.bind(det);
    // Record what the detector sees: transformed rows, never raw flow values.
    const seen: Float64Array[] = [];
    det.score = (x, ctx) => {
      for (let i = 0; i < x.rows; i++) seen.push(x.data.slice(i * x.cols, (i + 1) * x.cols));
      return origScore(x, ctx);
    };
    const filter = new AlertFilter({ suppressions: new SuppressionList(join(tmp, "s.json")) });
    const store = new AlertStore({
      evidenceDir: join(tmp, "ev"),
      feedbackFile: join(tmp, "fb.jsonl"),
      filter,
    });
    const metrics = new MonitorMetrics();
    const mon = new Monitor({ scoring: s, metrics, store, stats: new LiveStats(), filter, sinks: [] });
    await forEachPacket(dataPath("pcaps", "zeek-http-bro.org.pcap"), (p) => mon.packet(p));
    await mon.finish();
    assert.ok(seen.length > 0);
    assert.equal(seen.length, metrics.flowsScored.get(), "every scored flow went through the transform");
    assert.equal(
      metrics.flowsScored.get(),
      metrics.flowsEnded.get(),
      "kdd flows are scored once, when they end",
    );
    const width = s.transform!.outputNames.length;
    for (const v of seen) {
      assert.equal(v.length, width);
      assert.ok(v.every(Number.isFinite));
    }
    // Each one-hot group (protocol_type, service, flag) holds exactly one 1: the text columns reached
    // the transform (unseen services in the unknown bucket), not NaN.
    let off = 0;
    for (const c of s.transform!.columns) {
      if (c.kind === "numeric") {
        off++;
        continue;
      }
      const w = c.categories.length + 1;
      for (const v of seen) assert.equal(v.subarray(off, off + w).reduce((a, b) => a + b, 0), 1, c.name);
      off += w;
    }
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});
