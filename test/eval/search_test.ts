import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import { defineExperiment, validateConfig } from "../../src/eval/config.ts";
import { getProtocol } from "../../src/eval/protocols.ts";
import { runExperiment } from "../../src/eval/runner.ts";
import { gather } from "../../src/eval/prep.ts";
import {
  balancedAccuracy,
  harderLevels,
  permuteColumns,
  permuteSomeColumns,
  rankHarder,
  saturated,
  searchCandidates,
  type SearchResult,
  selectionSet,
  selectModel,
} from "../../src/eval/search.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { fitPreprocess } from "../../src/eval/prep.ts";

const nsl = defineExperiment({
  id: "test-nsl-knn-search",
  protocol: "nsl-kdd",
  detector: "knn",
  params: { k: 1 },
  preprocess: { scale: "minmax", dropConstant: false },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  seeds: [0],
  search: { params: { k: [1, 5] }, preprocess: [{}, { log1p: true }] },
  quick: { maxRows: 800, seeds: [0] },
});

Deno.test("search: the grid is preprocessing × parameter values, the config's own values first", () => {
  const c = searchCandidates({ k: 1, rate: 0.5 }, { scale: "minmax" }, {
    params: { k: [3, 1], rate: [0.5] },
    preprocess: [{}, { scale: "robust" }],
  });
  assert.deepEqual(c, [
    { params: { k: 3, rate: 0.5 }, preprocess: { scale: "minmax" } },
    { params: { k: 3, rate: 0.5 }, preprocess: { scale: "robust" } },
    { params: { k: 1, rate: 0.5 }, preprocess: { scale: "minmax" } },
    { params: { k: 1, rate: 0.5 }, preprocess: { scale: "robust" } },
  ]);
  assert.deepEqual(searchCandidates({ k: 1 }, {}, {}), [{ params: { k: 1 }, preprocess: {} }]);
});

Deno.test("search: a bad search block is named field by field", () => {
  const base = {
    id: "x",
    protocol: "nsl-kdd",
    detector: "knn",
    threshold: { strategy: "percentile" },
    seeds: [0],
  };
  const bad = (search: unknown) => () => validateConfig({ ...base, search }, "experiments/x.ts");
  assert.throws(bad([]), /experiments\/x\.ts: field "search": expected \{ params\?/);
  assert.throws(
    bad({ params: { k: [] } }),
    /params\.k must be a non-empty list of candidate values, found \[\]/,
  );
  assert.throws(bad({ params: { k: 3 } }), /params\.k must be a non-empty list/);
  assert.throws(bad({ preprocess: {} }), /preprocess must be a non-empty list of overrides/);
  assert.throws(bad({ grid: {} }), /unknown key "grid"/);
  assert.throws(bad({ maxFitRows: 0 }), /maxFitRows must be a positive integer, found 0/);
  assert.equal(validateConfig({ ...base, search: { params: { k: [1, 3] } } }).search?.params?.k.length, 2);
});

Deno.test("search: permuting columns keeps every column's values and breaks the rows", async () => {
  const split = await getProtocol("nsl-kdd").load({ seed: 0, maxRows: 600 });
  const val = gather(split.frames[split.validation.frame], split.validation.rows);
  const p = permuteColumns(val, 7);
  assert.deepEqual(p.columns, val.columns);
  for (const c of ["src_bytes", "service", "count"]) {
    const sorted = (df: pl.DataFrame) => [...df.getColumn(c).toArray()].map(String).sort();
    assert.deepEqual(sorted(p), sorted(val), `${c} keeps its values`);
  }
  const rows = (df: pl.DataFrame) => df.rows().map((r) => JSON.stringify(r));
  const orig = new Set(rows(val));
  const same = rows(p).filter((r) => orig.has(r)).length;
  assert.ok(same < val.height / 10, `${same} of ${val.height} permuted rows equal an original row`);
  assert.deepEqual(rows(permuteColumns(val, 7)), rows(p), "seeded");
});

Deno.test("search: permuting some columns changes at most k chosen fields a row, each to a value of its column", async () => {
  const split = await getProtocol("cic-ids2017").load({ seed: 0, maxRows: 600 });
  const val = gather(split.frames[split.validation.frame], split.validation.rows);
  const cols = val.columns.filter((c) => val.getColumn(c).nUnique() > 1);
  const untouched = val.columns.find((c) => !cols.includes(c))!;
  const rows = (df: pl.DataFrame) => df.rows().map((r) => JSON.stringify(r));
  for (const k of [1, 3, cols.length]) {
    const p = permuteSomeColumns(val, k, 11, cols);
    assert.deepEqual(p.columns, val.columns);
    let changed = 0, most = 0;
    for (let i = 0; i < val.height; i++) {
      let d = 0;
      for (const c of cols) if (String(p.getColumn(c).get(i)) !== String(val.getColumn(c).get(i))) d++;
      most = Math.max(most, d);
      changed += d;
    }
    assert.ok(most <= k, `k=${k}: a row differs in ${most} fields`);
    // A replaced value may equal the original; most do not, so on average close to k fields change.
    assert.ok(
      changed / val.height > 0.5 * k,
      `k=${k}: ${changed / val.height} fields changed a row on average`,
    );
    for (const c of [cols[0], cols[cols.length - 1]]) {
      const values = (df: pl.DataFrame) => [...df.getColumn(c).toArray()].map(String);
      const seen = new Set(values(val));
      assert.ok(values(p).every((v) => seen.has(v)), `${c}: every value is one the column had`);
      if (k === cols.length) {
        assert.deepEqual(values(p).sort(), values(val).sort(), `${c}: all permuted, as a whole`);
      }
    }
    assert.deepEqual(
      p.getColumn(untouched).toArray(),
      val.getColumn(untouched).toArray(),
      "other columns as they were",
    );
    assert.deepEqual(rows(permuteSomeColumns(val, k, 11, cols)), rows(p), "seeded");
  }
  assert.throws(
    () => permuteSomeColumns(val, 0, 1, cols),
    /k must be an integer from 1 to \d+ \(the columns\), found 0/,
  );
  assert.throws(() => permuteSomeColumns(val, 1, 1, ["nope"]), /no column "nope"/);
});

Deno.test("search: a saturated synthetic set is ranked again on harder ones until one tells the candidates apart", async () => {
  assert.equal(saturated([1, 1, 0.5]), true);
  assert.equal(saturated([0.9995, 0.9984]), false, "the runner-up is more than 0.001 below");
  assert.deepEqual(harderLevels(10), [5, 3, 2, 1]);
  const split = await getProtocol("cic-ids2017").load({ seed: 0, maxRows: 1500 });
  const sel = selectionSet(split, 0);
  assert.equal(sel.kind, "synthetic");
  const train = gather(split.frames[split.train.frame], split.train.rows);
  const scorers = [1, 10].map((k) => {
    const prep = fitPreprocess(train, { scale: "minmax", dropConstant: false });
    const det = createDetector("knn", { k }, 0);
    return { prep, det, fit: det.fit(prep.train) };
  });
  for (const s of scorers) await s.fit;
  const lines: string[] = [];
  const harder = await rankHarder(
    sel,
    scorers.map(({ det, prep }) => (rows) => det.score(prep.apply(rows))),
    {
      seed: 0,
      log: (l) => lines.push(l),
    },
  );
  const m = harder[0].of;
  assert.deepEqual(harder.map((h) => h.columnsPermuted), harderLevels(m).slice(0, harder.length));
  for (const h of harder.slice(0, -1)) {
    assert.ok(saturated(h.aurocs), "only a saturated set is followed by another");
  }
  const last = harder.at(-1)!;
  assert.ok(!saturated(last.aurocs) || last.columnsPermuted === 1, "stops at the first set that ranks them");
  for (const h of harder) {
    assert.equal(h.aurocs.length, 2);
    for (const a of h.aurocs) assert.ok(a > 0.5 && a <= 1, `AUROC ${a} beats chance`);
  }
  assert.ok(lines.some((l) => /ranking again with \d+ of \d+ columns permuted per row/.test(l)));
  // The benign half is what the first set held; only the anomalies change.
  const again = await rankHarder(sel, scorers.map(({ det, prep }) => (rows) => det.score(prep.apply(rows))), {
    seed: 0,
  });
  assert.deepEqual(again, harder, "seeded");
  for (const s of scorers) s.det.dispose?.();
});

Deno.test("search: nsl-kdd ranks on KDDTrain+ attacks, cic-ids2017 on synthetic rows — never on test rows", async () => {
  const split = await getProtocol("nsl-kdd").load({ seed: 1, maxRows: 800 });
  const sel = selectionSet(split, 1);
  assert.equal(sel.kind, "labelled-training-split");
  const nVal = split.validation.rows.length;
  assert.equal(sel.frame.height, nVal * 2);
  assert.deepEqual([...sel.y.subarray(0, nVal)].every((v) => v === 0), true);
  // The anomalies are attack rows of the training file: their own label column says so.
  const labels = sel.frame.getColumn("label").toArray().slice(nVal) as unknown[];
  assert.ok(labels.every((l) => String(l) !== "normal" && Number(l) !== 0), "only attack rows of KDDTrain+");

  const cic = await getProtocol("cic-ids2017").load({ seed: 1, maxRows: 800 });
  assert.equal(cic.labelledTrainingAnomalies, undefined, "cic-ids2017's attacks are all test rows");
  assert.equal(selectionSet(cic, 1).kind, "synthetic");

  // The choice cannot depend on test rows: without any test set the search finds the same.
  const candidates = searchCandidates({ k: 1 }, { scale: "minmax", dropConstant: false }, nsl.search!);
  const a = await selectModel(nsl, split, candidates, { seed: 1 });
  const b = await selectModel(nsl, { ...split, tests: [] }, candidates, { seed: 1 });
  assert.deepEqual(a.candidates.map((c) => c.auroc), b.candidates.map((c) => c.auroc));
  assert.equal(a.chosen, b.chosen);
  for (const c of a.candidates) assert.ok(c.auroc > 0.5 && c.auroc <= 1, `AUROC ${c.auroc} beats chance`);
});

Deno.test("runner: a config's search runs first, writes search.json and the seeds use the winner", async () => {
  const root = await Deno.makeTempDir({ prefix: "nadir-search-" });
  try {
    const { dir } = await runExperiment(nsl, { quick: true, root, silent: true, figures: false });
    const search = JSON.parse(await Deno.readTextFile(join(dir, "search.json"))) as SearchResult;
    assert.equal(search.candidates.length, 4);
    assert.equal(search.selection, "labelled-training-split");
    const best = Math.max(...search.candidates.map((c) => c.auroc));
    assert.equal(search.candidates[search.chosen].auroc, best);
    assert.equal(
      search.candidates.findIndex((c) => c.auroc === best),
      search.chosen,
      "ties keep the earlier",
    );
    const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    assert.deepEqual(config.resolved.params, search.candidates[search.chosen].params);
    assert.deepEqual(config.resolved.preprocess, search.candidates[search.chosen].preprocess);
    assert.deepEqual(config.resolved.search, {
      chosen: search.chosen,
      candidates: 4,
      selection: search.selection,
    });
    const data = JSON.parse(await Deno.readTextFile(join(dir, "data.json")));
    assert.equal(
      data.splits[0].preprocess.options.log1p,
      !!search.candidates[search.chosen].preprocess.log1p,
      "the seeds ran with the chosen preprocessing",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("search: balanced accuracy is the mean of TPR and TNR at a threshold", () => {
  const y = [0, 0, 0, 0, 1, 1];
  const s = [0.1, 0.2, 0.3, 0.9, 0.8, 0.4];
  // threshold 0.35: benign 3 of 4 kept (TNR 0.75), attacks 2 of 2 flagged (TPR 1).
  assert.equal(balancedAccuracy(y, s, 0.35), 0.875);
  assert.equal(balancedAccuracy(y, s, 1), 0.5);
});

Deno.test("runner: search.threshold picks the percentile on KDDTrain+ attacks; refused where only test rows are anomalies", async () => {
  const root = await Deno.makeTempDir({ prefix: "nadir-search-thr-" });
  try {
    const config = {
      ...nsl,
      search: { params: { k: [1] }, threshold: [{ q: 0.9 }, { q: 0.99 }, { q: 0.999 }] },
    };
    const { dir } = await runExperiment(config, { quick: true, root, silent: true, figures: false });
    const search = JSON.parse(await Deno.readTextFile(join(dir, "search.json"))) as SearchResult;
    const t = search.thresholds!;
    assert.deepEqual(t.map((x) => x.params.q), [0.9, 0.99, 0.999]);
    assert.ok(t[0].value <= t[1].value && t[1].value <= t[2].value, "higher percentiles, higher thresholds");
    const best = Math.max(...t.map((x) => x.balanced_accuracy));
    assert.equal(t.findIndex((x) => x.balanced_accuracy === best), search.chosenThreshold);
    const rec = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    assert.deepEqual(rec.resolved.threshold, {
      strategy: "percentile",
      params: t[search.chosenThreshold!].params,
    });
    const data = JSON.parse(await Deno.readTextFile(join(dir, "data.json")));
    assert.equal(
      data.splits[0].threshold,
      t[search.chosenThreshold!].value,
      "seed 0 fit the chosen percentile",
    );

    const cic = defineExperiment({
      ...config,
      id: "test-cic-knn-search",
      protocol: "cic-ids2017",
    });
    await assert.rejects(
      () => runExperiment(cic, { quick: true, root, silent: true, figures: false }),
      /search\.threshold needs attack-labelled training rows; protocol cic-ids2017 has none/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
