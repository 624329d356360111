import assert from "node:assert/strict";
import { join } from "node:path";
import { nadirIn, ROOT } from "../_shared.ts";
import {
  compareRows,
  htmlPage,
  latestRuns,
  markdownTable,
  readmeBlock,
  replaceBetweenMarkers,
} from "../../src/eval/compare.ts";
import { loadRuns, type Run } from "../../src/eval/runs.ts";
import { PUBLISHED } from "../../src/eval/published.ts";

function fakeRun(
  protocol: string,
  detector: string,
  f1: number,
  stamp: string,
  extra: Partial<Run> = {},
): Run {
  return {
    id: `${protocol}-${detector}`,
    stamp,
    dir: `results/${protocol}-${detector}/${stamp}`,
    protocol,
    detector,
    kind: "detector",
    variant: "",
    quick: false,
    config: {},
    env: {},
    data: {},
    metrics: {
      main: {
        test_set: "test",
        f1,
        precision: 0.5,
        recall: 0.25,
        accuracy: 0.75,
        fpr: 0.01,
        roc_auc: 0.9,
        pr_auc: 0.8,
        f1_oracle: 0.95,
        n_seeds: 2,
      },
    },
    ...extra,
  };
}

Deno.test("compare: the latest full run per config is shown, never the one with the best test F1", () => {
  const older = fakeRun("kddcup-rev", "knn", 0.95, "20261101T090000Z-1111111");
  const newer = fakeRun("kddcup-rev", "knn", 0.9, "20261102T080000Z-0000000");
  const newerQuick = fakeRun("kddcup-rev", "knn", 0.99, "20261103T000000Z-2222222", { quick: true });
  const variant = fakeRun("kddcup-rev", "knn", 0.97, "20261001T000000Z-3333333", { variant: "log1p" });
  // Input order must not matter: the newest run comes first here.
  const shown = latestRuns([newerQuick, newer, variant, older]);
  assert.deepEqual(shown.map((r) => r.stamp).sort(), [newer.stamp, variant.stamp].sort());
  assert.equal(
    shown.find((r) => !r.variant),
    newer,
    "older run with higher F1 and newer quick run both passed over",
  );
  assert.equal(latestRuns([older, newer, newerQuick], { includeQuick: true })[0], newerQuick);
  // A folder name without a recorded stamp sorts before any stamped run.
  assert.equal(latestRuns([newer, fakeRun("kddcup-rev", "knn", 1, "zz-manual")])[0], newer);
});

Deno.test("compare: one row set per shown run, published rows marked", () => {
  const runs = [
    fakeRun("kddcup-rev", "knn", 0.9, "a"),
    fakeRun("kddcup-rev", "knn", 0.95, "b"),
    fakeRun("kddcup-rev", "autoencoder", 0.8, "c"),
  ];
  const best = latestRuns(runs);
  assert.equal(best.length, 2);
  assert.equal(best.find((r) => r.detector === "knn")!.stamp, "b");
  const rows = compareRows(best);
  const pub = rows.filter((r) => r.published);
  assert.deepEqual(
    pub.map((r) => r.detector),
    ["GOAD (published)"],
    "only the protocols present get published rows",
  );
  const padded = markdownTable(rows);
  // deno fmt's padding (the table is generated already formatted) is not what these checks are about.
  const md = padded.replace(/ {2,}/g, " ");
  assert.ok(padded.split("\n").every((l) => l.length === padded.split("\n")[0].length), "columns aligned");
  const lines = md.split("\n");
  assert.equal(lines.length, 2 + 3);
  assert.match(
    lines[2],
    /\| kddcup-rev \| test \| autoencoder \| 0\.800 \| 0\.500 \| 0\.250 \| 0\.750 \| 0\.010 \| 0\.900 \| 0\.800 \| 0\.950 \| 2 \| `results\/kddcup-rev-autoencoder\/c` \|/,
  );
  assert.match(
    md,
    /GOAD \(published\) \| – \| – \| – \| – \| – \| – \| – \| 0\.989 \| – \| published: Bergman & Hoshen/,
  );
  const html = htmlPage(rows, "<svg></svg>");
  assert.match(html, /<tr class="published">/);
  assert.match(html, /<figure><svg><\/svg><\/figure>/);
});

Deno.test("compare: README markers are replaced, text outside kept", () => {
  const t = "intro\n<!-- results:start -->\nold\n<!-- results:end -->\noutro\n";
  assert.equal(
    replaceBetweenMarkers(t, "new"),
    "intro\n<!-- results:start -->\nnew\n\n<!-- results:end -->\noutro\n",
  );
  assert.throws(() => replaceBetweenMarkers("no markers", "x"), /markers/);
});

Deno.test("published baselines carry citations and agree with docs/baselines.md", async () => {
  const doc = await Deno.readTextFile(join(ROOT, "docs", "baselines.md"));
  for (const p of PUBLISHED) {
    assert.ok(p.citation && p.where && p.verified, p.method);
    for (const v of [p.precision, p.recall, p.f1_oracle, p.accuracy]) {
      if (v !== undefined) assert.ok(doc.includes(String(v)), `docs/baselines.md shows ${v} (${p.method})`);
    }
  }
});

Deno.test("README results table matches the committed results", async () => {
  const runs = await loadRuns(join(ROOT, "results"));
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const m = /<!-- results:start -->\n([\s\S]*?)<!-- results:end -->/.exec(readme);
  assert.ok(m, "README.md has the results markers");
  const expected = runs.length ? readmeBlock(compareRows(latestRuns(runs), { base: ROOT })).trim() : "";
  assert.equal(m[1].trim(), expected, "README table is stale: run `deno task nadir compare --update-readme`");
});

Deno.test("compare CLI writes table, HTML and figure for a results root", async () => {
  const root = await Deno.makeTempDir({ prefix: "nadir-compare-" });
  try {
    const src = join(ROOT, "results", "snort3-cic-ids2017");
    const stamps = [...Deno.readDirSync(src)].filter((e) => e.isDirectory && !e.name.startsWith("partial-"));
    assert.ok(stamps.length, "results/snort3-cic-ids2017 holds a committed run");
    const dst = join(root, "results", "snort3-cic-ids2017", stamps[0].name);
    await Deno.mkdir(dst, { recursive: true });
    for (const e of Deno.readDirSync(join(src, stamps[0].name))) {
      if (e.isFile) await Deno.copyFile(join(src, stamps[0].name, e.name), join(dst, e.name));
    }
    const out = join(root, "out");
    const p = await nadirIn(root, "compare", "--root", join(root, "results"), "--out", out);
    const stdout = p.stdout.replace(/ {2,}/g, " ");
    assert.equal(p.code, 0, p.stderr);
    assert.match(stdout, /\| cic-ids2017 \| test \| snort3 \(signatures\) \| 0\.037 \|/);
    assert.match(stdout, /\| cic-ids2017 \| covered \| snort3 \(signatures\) \|/);
    for (const f of ["compare.html", "compare.svg", "compare.png"]) {
      assert.ok(Deno.statSync(join(out, f)).size > 500, f);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("compare: F1 and AUROC carry the 95 % confidence interval of the seed mean (Student t)", () => {
  const run = fakeRun("nsl-kdd", "knn", 0.8, "20261201T000000Z-1111111");
  run.metrics.main.n_seeds = 5;
  run.metrics.main.std = { f1: 0.02, roc_auc: 0.01 };
  const [row] = compareRows([run], { published: false });
  // t(0.975, 4) = 2.776: 2.776 · 0.02 / √5 = 0.0248, 2.776 · 0.01 / √5 = 0.0124.
  assert.equal(row.f1_ci95?.toFixed(4), "0.0248");
  assert.equal(row.roc_auc_ci95?.toFixed(4), "0.0124");
  assert.match(markdownTable([row]), /\| 0\.800 ± 0\.025 \|.*\| 0\.900 ± 0\.012 \|/);
  // One seed: no spread to estimate, so no interval is printed.
  const single = fakeRun("nsl-kdd", "knn", 0.8, "20261201T000000Z-1111111");
  single.metrics.main.n_seeds = 1;
  single.metrics.main.std = { f1: 0 };
  assert.doesNotMatch(markdownTable(compareRows([single], { published: false })), /±/);
});

Deno.test("compare CLI: --quick runs only with --include-quick, and never into the README", async () => {
  // A hand-made quick run folder (config + metrics only): what `nadir experiment --quick` marks.
  const root = await Deno.makeTempDir({ prefix: "nadir-compare-quick-" });
  try {
    const dir = join(root, "results", "nsl-kdd-knn", "20261201T000000Z-1234567");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      join(dir, "config.json"),
      JSON.stringify({ id: "nsl-kdd-knn", protocol: "nsl-kdd", detector: "knn", resolved: { quick: true } }),
    );
    await Deno.writeTextFile(
      join(dir, "metrics.json"),
      JSON.stringify({ test_set: "KDDTest+", f1: 0.207, quick: true }),
    );
    const cli = async (...extra: string[]) => {
      const r = await nadirIn(root, "compare", "--no-figure", ...extra);
      return { code: r.code, out: r.stdout, err: r.stderr };
    };
    const hidden = await cli("--root", "results", "--out", "out");
    assert.equal(hidden.code, 1);
    assert.match(hidden.err, /no finished runs under results/);
    const direct = await cli(dir, "--out", "out");
    assert.equal(direct.code, 1);
    assert.match(direct.err, /is a --quick run .*pass --include-quick/);
    const shown = await cli("--root", "results", "--out", "out", "--include-quick");
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out.replace(/ {2,}/g, " "), /\| nsl-kdd \| KDDTest\+ \| knn \| 0\.207 \|/);
    const readme = await cli("--root", "results", "--include-quick", "--update-readme");
    assert.equal(readme.code, 2);
    assert.match(readme.err, /--include-quick cannot be used with --update-readme/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
