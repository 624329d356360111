import assert from "node:assert/strict";
import { type Matrix, matrix } from "../../src/data/matrix.ts";
import { AUTO_ROW_PASSES, autoEpochs, flowLmFactory, flowLmParams } from "../../src/detectors/flow_lm.ts";
import { fitTokenizer, oneHotGroups, Tokenizer } from "../../src/detectors/tokenizer.ts";
import { Rng } from "../../src/util/random.ts";
import { setNnEngine } from "../../src/nn/engine.ts";
import { needBlas, testWhen } from "../_shared.ts";

Deno.test("tokenizer: quantile bins, out-of-range tokens, one-hot groups, JSON round trip", () => {
  const n = 100, names = ["proto=tcp", "proto=udp", "bytes", "flag"];
  const data = new Float64Array(n * 4);
  for (let i = 0; i < n; i++) {
    data[i * 4 + (i % 4 === 0 ? 1 : 0)] = 1;
    data[i * 4 + 2] = i; // uniform 0..99
    data[i * 4 + 3] = i < 90 ? 0 : 1; // zero-inflated binary
  }
  const x = matrix(data, n, 4, names);
  assert.deepEqual([...oneHotGroups(names)], [["proto", [0, 1]]]);
  const tok = fitTokenizer(x, { bins: 4 });
  assert.deepEqual(tok.fields.map((f) => f.name), ["proto", "bytes", "flag"]);
  const bytes = tok.fields[1];
  assert.deepEqual(bytes.cuts, [25, 50, 75]);
  assert.equal(bytes.labels.length, 4 + 2 * 4, "4 bins + 4 graded words below + 4 above");
  const flag = tok.fields[2];
  assert.deepEqual(flag.cuts, [0], "ties merge: a binary column gets two bins");
  const ids = tok.encode(x);
  const col = (f: number) => Array.from({ length: n }, (_, i) => ids[i * 3 + f]);
  const counts = [0, 0, 0, 0];
  for (const b of col(1)) counts[b]++;
  assert.deepEqual(counts, [26, 25, 25, 24], "quantile bins hold equal shares");
  assert.deepEqual([...new Set(col(0))].sort(), [0, 1]);
  // bytes: range R = 99. −5 is 0.05 R below (grade 0); 500 is 4.05 R above (grade 2 of 0..3).
  const probe = matrix(Float64Array.from([0, 0, -5, 0, 0, 1, 500, 1]), 2, 4, names);
  const p = tok.encode(probe);
  assert.deepEqual(
    Array.from(p),
    [2, 4, 0, 1, 4 + 4 + 2, 1],
    "none-category, below-min and above-max tokens",
  );
  assert.deepEqual(tok.words(p.subarray(0, 3)), ["proto=<none>", "bytes=<0(≤0.1R)", "flag=[0,0]"]);
  assert.deepEqual(tok.words(p.subarray(3, 6)), ["proto=udp", "bytes=>99(1–10R)", "flag=(0,1]"]);
  // Each grade: ≤ 0.1 R, 0.1–1 R, 1–10 R, > 10 R past the max (R = 99).
  const above = [99.5, 99 + 9, 99 + 10, 99 + 98, 99 + 100, 99 + 980, 99 + 1000];
  const pa = tok.encode(
    matrix(Float64Array.from(above.flatMap((v) => [1, 0, v, 0])), above.length, 4, names),
  );
  assert.deepEqual(above.map((_, i) => pa[i * 3 + 1] - 8), [0, 0, 1, 1, 2, 2, 3]);
  // A column constant in training has no range to grade by: one word per side.
  const constTok = fitTokenizer(matrix(Float64Array.from([3, 3, 3]), 3, 1, ["c"]), { bins: 4 });
  assert.deepEqual(constTok.fields[0].labels, ["[3,3]", "<3", ">3"]);
  assert.deepEqual(Array.from(constTok.encode(matrix(Float64Array.from([2, 3, 1e9]), 3, 1, ["c"]))), [
    1,
    0,
    2,
  ]);
  // Format 1 (no version, one out-of-range word per side) still reads and encodes as before.
  const v1 = fitTokenizer(x, { bins: 4, outEdges: [] }).toJSON();
  const v1State = JSON.parse(JSON.stringify({ ...v1, version: undefined }));
  for (const f of v1State.fields) delete f.outEdges;
  assert.deepEqual(Array.from(Tokenizer.fromJSON(v1State).encode(probe)), [2, 4, 0, 1, 5, 1]);
  assert.throws(
    () => Tokenizer.fromJSON({ ...v1, version: 7 }),
    /format 7; this nadir reads formats 1 to 3/,
  );
  const badLen = JSON.parse(JSON.stringify(tok.toJSON()));
  badLen.fields[1].labels.pop();
  assert.throws(() => Tokenizer.fromJSON(badLen), /bytes.*expected 4 bins \+ 8 out-of-range words/);
  const back = Tokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.deepEqual(back.encode(x), ids);
  assert.throws(() => Tokenizer.fromJSON({ fields: [{ name: "a" }], nCols: 1 }), /malformed/);
});

Deno.test("tokenizer: fine tokens place a value inside its bin, come last, and round-trip; format 2 still reads", () => {
  const n = 100, names = ["bytes", "flag"];
  const data = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) data.set([i, i < 90 ? 0 : 1], i * 2);
  const x = matrix(data, n, 2, names);
  const tok = fitTokenizer(x, { bins: 4, fine: 4 });
  // flag's bins each hold one value: nothing to refine, so only bytes gets a fine field, after every coarse one.
  assert.deepEqual(tok.fields.map((f) => [f.name, f.kind]), [
    ["bytes", "numeric"],
    ["flag", "numeric"],
    ["bytes~fine", "fine"],
  ]);
  const fine = tok.fields[2];
  assert.equal(fine.of, 0);
  assert.deepEqual(fine.subCuts![0], [6, 13, 19], "bin [0, 25] (26 values) splits at its own quantiles");
  assert.deepEqual(fine.labels, ["·0", "·1", "·2", "·3", "n/a"]);
  const probe = matrix(Float64Array.from([3, 0, 24, 0, 26, 0, 500, 1]), 4, 2, names);
  const ids = tok.encode(probe);
  const at = (r: number) => Array.from(ids.subarray(r * 3, r * 3 + 3));
  assert.deepEqual(at(0), [0, 0, 0], "3: first bin, first sub-bin");
  assert.deepEqual(at(1), [0, 0, 3], "24: first bin, last sub-bin");
  assert.deepEqual(at(2)[0], 1, "26: second bin");
  assert.deepEqual(at(3)[2], 4, "out of range: n/a (the graded word says how far)");
  const json = JSON.parse(JSON.stringify(tok.toJSON()));
  assert.equal(json.version, 3);
  assert.deepEqual(Tokenizer.fromJSON(json).encode(probe), ids);
  const bad = JSON.parse(JSON.stringify(json));
  bad.fields[2].subCuts.pop();
  assert.throws(() => Tokenizer.fromJSON(bad), /fine field "bytes~fine" does not match its numeric field/);
  // A format-2 state (before fine tokens) reads and encodes as it did; it cannot hold fine fields.
  const v2 = JSON.parse(JSON.stringify({ ...fitTokenizer(x, { bins: 4 }).toJSON(), version: 2 }));
  assert.deepEqual(Array.from(Tokenizer.fromJSON(v2).encode(probe)), [0, 0, 0, 0, 1, 0, 4 + 4 + 2, 1]);
  assert.throws(() => Tokenizer.fromJSON({ ...json, version: 2 }), /field "bytes~fine" is malformed/);
});

/** Rows where field b copies field a and field c is noise; categorical d depends on a. */
function structured(n: number, seed: number): Matrix {
  const rng = new Rng(seed), names = ["a", "b", "c", "d=x", "d=y"], data = new Float64Array(n * 5);
  for (let i = 0; i < n; i++) {
    const a = rng.int(4);
    data.set([a, a * 10, rng.next(), a < 2 ? 1 : 0, a < 2 ? 0 : 1], i * 5);
  }
  return matrix(data, n, 5, names);
}

const P = { layers: 2, heads: 2, width: 16, bins: 8, epochs: 12, batchSize: 32, lr: 0.01 };

Deno.test("flow-lm: attention is causal — changing a later field never changes earlier surprisals", async () => {
  const x = structured(300, 1);
  const lm = flowLmFactory.create({ ...P, epochs: 1 }, 5);
  await lm.fit(x);
  const s = lm as unknown as { surprisal(x: Matrix): Promise<Float32Array> };
  // Sequence order is by field vocabulary size; find which fields come before "b" there by probing.
  const base = matrix(Float64Array.from([1, 10, 0.5, 1, 0]), 1, 5, x.names);
  const changed = matrix(Float64Array.from([1, 30, 0.5, 1, 0]), 1, 5, x.names);
  const s0 = await s.surprisal(base), s1 = await s.surprisal(changed);
  const fields = (lm as unknown as { tokenizer: Tokenizer }).tokenizer.fields.map((f) => f.name);
  const bIdx = fields.indexOf("b");
  assert.notEqual(s0[bIdx], s1[bIdx], "the changed field's own surprisal changes");
  const diff = fields.map((_, k) => s0[k] !== s1[k]);
  // Exactly the fields at or after b in sequence order may change; with the seq order unknown here,
  // check the causal property directly on the model's order via the position of b.
  const order = (lm as unknown as { seqOrder: number[] }).seqOrder;
  const pos = order.indexOf(bIdx);
  for (let p = 0; p < pos; p++) {
    assert.equal(diff[order[p]], false, `field ${fields[order[p]]} before b changed`);
  }
  assert.ok(order.slice(pos + 1).some((f) => diff[f]), "later fields see the change");
  lm.dispose?.();
});

Deno.test("flow-lm: learns field dependencies; save/load gives identical scores; corrupt state fails", async () => {
  const x = structured(600, 2);
  const lm = flowLmFactory.create(P, 3);
  const losses: number[] = [];
  await lm.fit(x, { onProgress: (p) => losses.push(p.loss!) });
  assert.ok(losses[losses.length - 1] < losses[0] * 0.8, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  const ok = matrix(Float64Array.from([2, 20, 0.5, 0, 1]), 1, 5, x.names);
  const broken = matrix(Float64Array.from([2, 10, 0.5, 0, 1]), 1, 5, x.names); // b does not match a
  const wrongCat = matrix(Float64Array.from([2, 20, 0.5, 1, 0]), 1, 5, x.names); // d does not match a
  const [so, sb, sc] = [await lm.score(ok), await lm.score(broken), await lm.score(wrongCat)];
  assert.ok(sb[0] > so[0] && sc[0] > so[0], `broken ${sb[0]}, wrong category ${sc[0]} vs ok ${so[0]}`);
  // Per field: the inconsistent field itself carries the surprise (b and d depend on a).
  const sur = (m: Matrix) => (lm as unknown as { surprisal(x: Matrix): Promise<Float32Array> }).surprisal(m);
  const fields = (lm as unknown as { tokenizer: Tokenizer }).tokenizer.fields.map((f) => f.name);
  const [fo, fb, fc] = [await sur(ok), await sur(broken), await sur(wrongCat)];
  const b = fields.indexOf("b"), d = fields.indexOf("d");
  const order = (lm as unknown as { seqOrder: number[] }).seqOrder;
  // Whichever of a / b comes later in the sequence is the one that looks wrong.
  const later = order.indexOf(b) > order.indexOf(fields.indexOf("a")) ? b : fields.indexOf("a");
  assert.ok(fb[later] > fo[later] + 1, `field ${fields[later]}: ${fb[later]} vs ${fo[later]} nats`);
  const laterD = order.indexOf(d) > order.indexOf(fields.indexOf("a")) ? d : fields.indexOf("a");
  assert.ok(fc[laterD] > fo[laterD] + 1, `field ${fields[laterD]}: ${fc[laterD]} vs ${fo[laterD]} nats`);
  const saved = await lm.save();
  const back = await flowLmFactory.load(
    { state: JSON.parse(JSON.stringify(saved.state)), blobs: saved.blobs },
    P,
    3,
  );
  assert.deepEqual(await back.score(x), await lm.score(x));
  const maxP = await flowLmFactory.load(saved, { ...P, score: "max" }, 3);
  assert.ok((await maxP.score(broken))[0] >= sb[0], "max surprisal ≥ mean surprisal");
  await assert.rejects(
    async () =>
      await flowLmFactory.load(
        { state: { ...saved.state, tokenizer: { fields: 3 } }, blobs: saved.blobs },
        P,
        3,
      ),
    /tokenizer/,
  );
  assert.throws(() => flowLmFactory.create({ width: 10, heads: 4 }, 1), /multiple of heads/);
  await assert.rejects(
    async () => await flowLmFactory.load({ state: { ...saved.state, format: 9 }, blobs: saved.blobs }, P, 3),
    /format 9/,
  );
  for (const d of [lm, back, maxP]) d.dispose?.();
});

Deno.test("flow-lm: a value outside the benign range raises the score, farther grades are their own words", async () => {
  const x = structured(600, 4);
  const lm = flowLmFactory.create({ ...P, epochs: 6 }, 7);
  await lm.fit(x);
  // c is uniform noise in [0, 1): in range vs 5 ranges above the benign max.
  const rows = [[1, 10, 0.5, 1, 0], [1, 10, 6, 1, 0], [1, 10, 500, 1, 0]];
  const s = await lm.score(matrix(Float64Array.from(rows.flat()), 3, 5, x.names));
  assert.ok(s[1] > s[0] + 0.3 && s[2] > s[0] + 0.3, `in range ${s[0]}, out of range ${s[1]}, ${s[2]}`);
  const tok = (lm as unknown as { tokenizer: Tokenizer }).tokenizer;
  const ids = tok.encode(matrix(Float64Array.from(rows.flat()), 3, 5, x.names));
  const c = tok.fields.findIndex((f) => f.name === "c"), F = tok.fields.length;
  assert.notEqual(ids[F + c], ids[2 * F + c], "5 R and 500 R above are different words");
  // Distance outside the benign range, in ranges: 0 inside and for the categorical field.
  const dist = tok.outOfRange(matrix(Float64Array.from(rows.flat()), 3, 5, x.names));
  const cf = tok.fields[c], R = cf.max! - cf.min!;
  assert.deepEqual(
    [dist[c], dist[F + c], dist[2 * F + c]],
    [0, (6 - cf.max!) / R, (500 - cf.max!) / R].map(Math.fround),
  );
  assert.equal(dist.filter((v) => v > 0).length, 2);
  // tail=log: the same weights, each out-of-range field's surprisal + ln(1 + distance), the rest unchanged.
  const lmState = await lm.save();
  const tail = await flowLmFactory.load(lmState, { ...P, epochs: 6, tail: "log" }, 7);
  const probe = matrix(Float64Array.from(rows.flat()), 3, 5, x.names);
  const sur = (m: unknown) => (m as { surprisal(x: Matrix): Promise<Float32Array> }).surprisal(probe);
  const [plain, tailed] = [await sur(lm), await sur(tail)];
  for (let i = 0; i < plain.length; i++) {
    assert.ok(Math.abs(tailed[i] - plain[i] - Math.log1p(dist[i])) < 1e-5, `entry ${i}`);
  }
  const ts = await tail.score(probe);
  assert.ok(ts[2] - ts[1] > (s[2] - s[1]) + 0.5, `far out ranks above just out: ${ts[1]}, ${ts[2]}`);
  tail.dispose?.();
  // The format-1 layout (one word per side) still saves, loads from a state without `format`, and scores alike.
  const single = flowLmFactory.create({ ...P, epochs: 1, outOfRange: "single" }, 7);
  await single.fit(x);
  const saved = await single.save();
  const old = JSON.parse(JSON.stringify(saved.state));
  delete old.format;
  delete old.tokenizer.version;
  for (const f of old.tokenizer.fields) delete f.outEdges;
  const back = await flowLmFactory.load({ state: old, blobs: saved.blobs }, P, 7);
  assert.deepEqual(await back.score(x), await single.score(x));
  const topk = await flowLmFactory.load(saved, { ...P, score: "topk", topK: 2 }, 7);
  const mean = await single.score(x), top = await topk.score(x);
  assert.ok(top.every((v, i) => v >= mean[i] - 1e-9), "mean of the 2 largest ≥ mean of all");
  for (const d of [lm, single, back, topk]) d.dispose?.();
});

for (const [from, to] of [["native", "tfjs"], ["tfjs", "native"]] as const) {
  testWhen(
    [needBlas()],
    `flow-lm: trained on ${from}, saved, loaded on ${to} — same surprisals (1e-5) and scores`,
    async () => {
      const x = structured(400, 6);
      const params = { ...P, epochs: 2, context: 3, dropout: 0.1 };
      try {
        setNnEngine(from);
        const lm = flowLmFactory.create(params, 11);
        await lm.fit(x);
        assert.match(flowLmFactory.backend?.() ?? "", from === "native" ? /^native/ : /^tfjs/);
        const sur = (d: unknown) => (d as { surprisal(x: Matrix): Promise<Float32Array> }).surprisal(x);
        const want = await sur(lm), wantScore = await lm.score(x);
        const saved = await lm.save();
        setNnEngine(to);
        const back = await flowLmFactory.load(
          { state: JSON.parse(JSON.stringify(saved.state)), blobs: saved.blobs },
          params,
          11,
        );
        const got = await sur(back), gotScore = await back.score(x);
        for (let i = 0; i < want.length; i++) {
          const tol = 1e-5 * Math.max(Math.abs(want[i]), Math.abs(got[i])) + 1e-6;
          assert.ok(
            Math.abs(want[i] - got[i]) <= tol,
            `surprisal ${i}: ${from} ${want[i]} vs ${to} ${got[i]}`,
          );
        }
        for (let i = 0; i < wantScore.length; i++) {
          assert.ok(Math.abs(wantScore[i] - gotScore[i]) <= 1e-5 * wantScore[i] + 1e-6, `score ${i}`);
        }
        // The reloaded model saves the same weights back.
        const again = await back.save();
        assert.deepEqual(Object.keys(again.blobs ?? {}), Object.keys(saved.blobs ?? {}));
        lm.dispose?.();
        back.dispose?.();
      } finally {
        setNnEngine(undefined); // back to what NADIR_BACKEND / OpenBLAS decide
      }
    },
  );
}

Deno.test("flow-lm: automatic epoch budget — explicit epochs win; row-passes by engine, clamped to 3–50", () => {
  assert.equal(autoEpochs(4, 54_000), 4);
  assert.equal(autoEpochs(0, 60_000, AUTO_ROW_PASSES.native), 20);
  assert.equal(autoEpochs(0, 60_000, AUTO_ROW_PASSES.tfjs), 6);
  assert.equal(
    autoEpochs(0, 54_000),
    Math.round(AUTO_ROW_PASSES.native / 54_000),
    "native is the default budget",
  );
  assert.equal(autoEpochs(0, 1_248), 50, "small sets: at most 50");
  assert.equal(autoEpochs(0, 10_000_000), 3, "huge sets: at least 3");
  assert.equal(autoEpochs(0, 0), 50);
  // The defaults the native engine is sized for (docs/llm.md "Why this default size").
  assert.deepEqual(
    [flowLmParams.layers.default, flowLmParams.width.default, flowLmParams.heads.default],
    [1, 32, 2],
  );
});

Deno.test("flow-lm: benign per-field surprisal statistics come from held-out rows, survive save/load, drive the z aggregates", async () => {
  const x = structured(600, 4);
  const lm = flowLmFactory.create({ ...P, epochs: 2, valFraction: 0.2 }, 3);
  await lm.fit(x);
  const st = (lm as unknown as { fieldStats: { mean: number[]; std: number[]; from: string } }).fieldStats;
  assert.equal(st.from, "validation");
  assert.equal(st.mean.length, (lm as unknown as { tokenizer: Tokenizer }).tokenizer.fields.length);
  assert.ok(st.std.every((v) => v >= 0) && st.mean.every(Number.isFinite));
  const saved = await lm.save();
  assert.deepEqual((saved.state.fieldStats as typeof st).mean, st.mean);
  const z = await flowLmFactory.load(saved, { ...P, score: "zmean" }, 3);
  const s = await z.score(x);
  assert.ok(s.every(Number.isFinite));
  // A model saved before the statistics were kept loads, scores with mean, and says why zmean cannot.
  const old = { ...saved, state: { ...saved.state } };
  delete old.state.fieldStats;
  const meanModel = await flowLmFactory.load(old, P, 3);
  assert.deepEqual(await meanModel.score(x), await lm.score(x));
  const zOld = await flowLmFactory.load(old, { ...P, score: "zmean" }, 3);
  await assert.rejects(
    () => Promise.resolve(zOld.score(x)),
    /needs the benign per-field surprisal statistics/,
  );
  for (const d of [lm, z, meanModel, zOld]) d.dispose?.();
});

Deno.test("flow-lm: fine tokens — fine fields follow every coarse one, stay causal, save and load", async () => {
  const x = structured(400, 7);
  const lm = flowLmFactory.create({ ...P, epochs: 2, fine: 4 }, 3);
  await lm.fit(x);
  const m = lm as unknown as {
    tokenizer: Tokenizer;
    seqOrder: number[];
    surprisal(x: Matrix): Promise<Float32Array>;
  };
  const kinds = m.tokenizer.fields.map((f) => f.kind);
  assert.ok(kinds.includes("fine"), JSON.stringify(m.tokenizer.fields.map((f) => f.name)));
  const firstFine = m.seqOrder.findIndex((f) => kinds[f] === "fine");
  assert.ok(m.seqOrder.slice(firstFine).every((f) => kinds[f] === "fine"), "fine fields come last");
  const s = await m.surprisal(x);
  assert.equal(s.length, x.rows * kinds.length);
  const back = await flowLmFactory.load(await lm.save(), { ...P, epochs: 2, fine: 4 }, 3);
  assert.deepEqual(Array.from(await back.score(x)), Array.from(await lm.score(x)));
  lm.dispose?.();
  back.dispose?.();
});

testWhen(
  [needBlas()],
  "flow-lm: field orders — the first order is the single-order model, the others are bucket-preserving shuffles averaged in",
  async () => {
    const x = structured(400, 8);
    const params = { ...P, epochs: 2, fine: 4 };
    try {
      setNnEngine("native");
      const one = flowLmFactory.create(params, 4), three = flowLmFactory.create({ ...params, orders: 3 }, 4);
      await one.fit(x);
      await three.fit(x);
      const a = await one.save(), b = await three.save();
      // Order 0's weights (unprefixed) are exactly the single-order model's; orders 1 and 2 add their own.
      for (const [k, blob] of Object.entries(a.blobs ?? {})) assert.deepEqual(b.blobs![k], blob, k);
      const extra = Object.keys(b.blobs ?? {}).filter((k) => !(k in (a.blobs ?? {})));
      assert.ok(extra.length > 0 && extra.every((k) => /^w\.o[12]\./.test(k)), extra.join(","));
      const perms = b.state!.orders as number[][];
      const tok = (three as unknown as { tokenizer: Tokenizer }).tokenizer;
      const first = (three as unknown as { seqOrder: number[] }).seqOrder;
      assert.equal(perms.length, 2);
      for (const p of perms) {
        assert.deepEqual([...p].sort((u, v) => u - v), first.map((_, i) => i), "a permutation of the fields");
        const fine = p.map((f) => tok.fields[f].kind === "fine");
        assert.equal(fine.indexOf(true), fine.filter((f) => !f).length, "fine fields stay last");
      }
      assert.notDeepEqual(perms[0], first);
      // The averaged surprisal differs from the first order's alone, and survives save/load.
      assert.notDeepEqual(Array.from(await three.score(x)), Array.from(await one.score(x)));
      const back = await flowLmFactory.load(
        { state: JSON.parse(JSON.stringify(b.state)), blobs: b.blobs },
        { ...params, orders: 3 },
        4,
      );
      assert.deepEqual(Array.from(await back.score(x)), Array.from(await three.score(x)));
      const broken = JSON.parse(JSON.stringify(b.state));
      broken.orders[1] = broken.orders[1].slice(1);
      await assert.rejects(
        async () => await flowLmFactory.load({ state: broken, blobs: b.blobs }, { ...params, orders: 3 }, 4),
        /saved orders: expected 2 permutation\(s\) of the \d+ fields/,
      );
      setNnEngine("tfjs");
      await assert.rejects(
        async () => await flowLmFactory.create({ ...params, orders: 2 }, 4).fit(x),
        /orders 2 needs the native engine/,
      );
      for (const d of [one, three, back]) d.dispose?.();
    } finally {
      setNnEngine(undefined);
    }
  },
);

testWhen(
  [needBlas()],
  "flow-lm: masked objective — a field never sees its own group, earlier fields see later ones, dependencies learnt, save/load",
  async () => {
    const x = structured(600, 2);
    const params = { ...P, objective: "masked", maskRate: 0.3 };
    const sur = (m: unknown, r: Matrix) =>
      (m as { surprisal(x: Matrix): Promise<Float32Array> }).surprisal(r);
    const ok = matrix(Float64Array.from([2, 20, 0.5, 0, 1]), 1, 5, x.names);
    const broken = matrix(Float64Array.from([2, 10, 0.5, 0, 1]), 1, 5, x.names); // b does not match a
    try {
      setNnEngine("native");
      // Two scoring groups: positions 0, 2 are masked together, and 1, 3.
      const two = flowLmFactory.create({ ...params, maskGroups: 2 }, 3);
      await two.fit(x);
      const fields = (two as unknown as { tokenizer: Tokenizer }).tokenizer.fields.map((f) => f.name);
      const order = (two as unknown as { seqOrder: number[] }).seqOrder;
      const b = fields.indexOf("b"), pos = order.indexOf(b);
      const [s0, s1] = [await sur(two, ok), await sur(two, broken)];
      assert.notEqual(s0[b], s1[b], "the changed field's own surprisal changes (its target)");
      for (let p = pos % 2; p < order.length; p += 2) {
        if (p !== pos) assert.equal(s0[order[p]], s1[order[p]], `${fields[order[p]]}, masked with b, saw b`);
      }
      assert.ok(
        order.some((f, p) => p % 2 !== pos % 2 && s0[f] !== s1[f]),
        "fields of the other group see b",
      );
      // One field a pass (exact pseudo-likelihood): a field before b in the order sees b too, which a
      // causal model never allows; both a and b carry the surprise of their mismatch.
      const one = flowLmFactory.create(params, 3);
      await one.fit(x);
      const [f0, f1] = [await sur(one, ok), await sur(one, broken)];
      const a = fields.indexOf("a");
      const first = order.indexOf(a) < pos ? a : b, second = first === a ? b : a;
      assert.ok(f1[first] > f0[first] + 1, `${fields[first]} (earlier) ${f1[first]} vs ${f0[first]} nats`);
      assert.ok(f1[second] > f0[second] + 1, `${fields[second]} ${f1[second]} vs ${f0[second]} nats`);
      assert.ok((await one.score(broken))[0] > (await one.score(ok))[0]);
      // Save/load: same scores; the state records the objective, and a causal model's parameters refuse it.
      const saved = await one.save();
      assert.equal(saved.state!.objective, "masked");
      const back = await flowLmFactory.load(
        { state: JSON.parse(JSON.stringify(saved.state)), blobs: saved.blobs },
        params,
        3,
      );
      assert.deepEqual(Array.from(await back.score(x)), Array.from(await one.score(x)));
      await assert.rejects(
        async () => await flowLmFactory.load(saved, P, 3),
        /trained with objective "masked", the parameters say "causal"/,
      );
      assert.throws(() => flowLmFactory.create({ ...params, orders: 2 }, 1), /takes neither orders/);
      assert.throws(() => flowLmFactory.create({ ...params, context: 2 }, 1), /nor a context window/);
      setNnEngine("tfjs");
      await assert.rejects(
        async () => await flowLmFactory.create(params, 4).fit(x),
        /objective "masked" needs the native engine/,
      );
      for (const d of [one, two, back]) d.dispose?.();
    } finally {
      setNnEngine(undefined);
    }
  },
);

testWhen(
  [needBlas()],
  "flow-lm: score=knn — distinct benign reference rows, far rows score higher, saved and restored, refused without them",
  async () => {
    const x = structured(600, 8);
    const params = { ...P, epochs: 3, score: "knn", knnK: 3 };
    setNnEngine("native");
    try {
      const lm = flowLmFactory.create(params, 5);
      await lm.fit(x);
      const saved = await lm.save();
      const T = (lm as unknown as { tokenizer: Tokenizer }).tokenizer.fields.length;
      const rows = saved.state.referenceRows as number;
      // a takes 4 values and c is noise in 8 bins: at most 32 distinct token rows, each kept once.
      assert.ok(rows > 4 && rows <= 32, `reference rows ${rows}`);
      assert.equal(saved.blobs!.reference.byteLength, rows * T * 4);
      // A training row lies on the reference (its k-th neighbour is near); a row breaking b = 10a is far.
      const ok = matrix(Float64Array.from([2, 20, 0.5, 0, 1]), 1, 5, x.names);
      const broken = matrix(Float64Array.from([2, 0, 0.5, 1, 0]), 1, 5, x.names);
      const [so, sb] = [(await lm.score(ok))[0], (await lm.score(broken))[0]];
      assert.ok(sb > so && sb > 0, `broken ${sb} vs ok ${so}`);
      // Embeddings are unit rows of fields × width values.
      const emb = lm as unknown as { embed(m: Matrix): Float32Array; embedDim: number };
      assert.equal(emb.embedDim, T * P.width);
      const e = emb.embed(ok);
      assert.ok(Math.abs(e.reduce((s, v) => s + v * v, 0) - 1) < 1e-5);
      // The reference travels in the saved model: the same scores after a JSON round trip.
      const back = await flowLmFactory.load(
        { state: JSON.parse(JSON.stringify(saved.state)), blobs: saved.blobs },
        params,
        5,
      );
      assert.deepEqual(await back.score(x), await lm.score(x));
      // The other aggregates of the same weights are unchanged by the reference (drawn after training).
      const plain = flowLmFactory.create({ ...params, score: "mean" }, 5);
      await plain.fit(x);
      const asMean = await flowLmFactory.load(saved, { ...params, score: "mean" }, 5);
      assert.deepEqual(await asMean.score(x), await plain.score(x));
      // A model saved before the reference was kept scores with the others and says why knn cannot.
      const old = { state: { ...saved.state }, blobs: { ...saved.blobs } };
      delete old.state.referenceRows;
      delete old.blobs.reference;
      const knnOld = await flowLmFactory.load(old, params, 5);
      await assert.rejects(() => Promise.resolve(knnOld.score(x)), /needs the benign reference rows/);
      // A corrupt reference names the row and field.
      const bad = new Int32Array(saved.blobs!.reference.slice().buffer);
      bad[T + 1] = 999;
      await assert.rejects(
        async () =>
          await flowLmFactory.load(
            { ...saved, blobs: { ...saved.blobs, reference: new Uint8Array(bad.buffer) } },
            params,
            5,
          ),
        /reference row 1 has token 999 for field/,
      );
      await assert.rejects(
        async () =>
          await flowLmFactory.load({ ...saved, state: { ...saved.state, referenceRows: 1.5 } }, params, 5),
        /referenceRows must be a positive integer/,
      );
      // A partial fit keeps the old reference rows and adds the new ones.
      await lm.partialFit!(structured(200, 9));
      assert.ok(((await lm.save()).state.referenceRows as number) >= rows);
      // knnRows caps the reference (a seeded sample).
      const capped = flowLmFactory.create({ ...params, knnRows: 4 }, 5);
      await capped.fit(x);
      assert.equal((await capped.save()).state.referenceRows, 4);
      for (const d of [lm, back, plain, asMean, knnOld, capped]) d.dispose?.();
      // The tfjs fallback refuses it before training.
      setNnEngine("tfjs");
      await assert.rejects(
        async () => await flowLmFactory.create(params, 5).fit(x),
        /score "knn" needs the native engine/,
      );
    } finally {
      setNnEngine(undefined);
    }
  },
);
