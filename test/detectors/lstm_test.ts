import assert from "node:assert/strict";
import { matrix } from "../../src/data/matrix.ts";
import { lstmFactory, windowIndex } from "../../src/detectors/lstm.ts";
import { setNnEngine } from "../../src/nn/engine.ts";
import { needBlas, testWhen } from "../_shared.ts";

Deno.test("lstm: windows follow groups and timestamps, padded at each group's start", () => {
  // rows: 0:a@3 1:b@1 2:a@1 3:a@2 4:b@2
  const w = windowIndex(5, 2, -1, { groups: ["a", "b", "a", "a", "b"], timestamps: [3, 1, 1, 2, 2] });
  assert.deepEqual(Array.from(w), [3, 0, -1, 1, -1, 2, 2, 3, 1, 4]);
  const plain = windowIndex(3, 2, 9);
  assert.deepEqual(Array.from(plain), [9, 0, 0, 1, 1, 2]);
  assert.throws(() => windowIndex(3, 2, 9, { groups: ["a"] }), /groups has 1 entries/);
});

/** Two hosts, each cycling through 4 flow "types" in order. */
function cyclic(n: number, breakAt = -1) {
  const d = 4, data = new Float64Array(n * d);
  const groups: string[] = [];
  for (let i = 0; i < n; i++) {
    const host = i % 2, step = Math.floor(i / 2);
    let phase = step % 4;
    if (i === breakAt) phase = (phase + 2) % 4; // out-of-order flow (its features are ordinary)
    data[i * d + phase] = 1;
    groups.push(`10.0.0.${host}`);
  }
  return { x: matrix(data, n, d), ctx: { groups, timestamps: Array.from({ length: n }, (_, i) => i) } };
}

Deno.test("lstm predict: an ordinary flow arriving out of sequence scores high", async () => {
  const { x, ctx } = cyclic(400);
  const m = lstmFactory.create(
    { mode: "predict", window: 3, units: 8, epochs: 12, batchSize: 32, lr: 0.02 },
    1,
  );
  await m.fit(x, { context: ctx });
  const t = cyclic(80, 41);
  const s = await m.score(t.x, t.ctx);
  let maxOther = 0;
  for (let i = 8; i < 80; i++) if (![41, 43, 45, 47].includes(i)) maxOther = Math.max(maxOther, s[i]);
  assert.ok(s[41] > 3 * maxOther, `broken flow ${s[41]} vs others ≤ ${maxOther}`);
  const back = await lstmFactory.load(await m.save(), m.params as Record<string, unknown>, 1);
  assert.deepEqual(await back.score(t.x, t.ctx), s);
  m.dispose?.();
  back.dispose?.();
});

Deno.test("lstm autoencoder: window score modes and context checks", async () => {
  const { x, ctx } = cyclic(200);
  const p = { window: 3, units: 8, epochs: 3, batchSize: 64, lr: 0.02 };
  const last = lstmFactory.create(p, 2), win = lstmFactory.create({ ...p, windowScore: "window" }, 2);
  await last.fit(x, { context: ctx });
  await win.fit(x, { context: ctx });
  const a = await last.score(x, ctx), b = await win.score(x, ctx);
  assert.equal(a.length, 200);
  assert.ok(a.every(Number.isFinite) && b.every(Number.isFinite));
  assert.notDeepEqual(a, b, "the two window scores differ");
  await assert.rejects(
    async () => await last.score(x, { groups: ["a"] }),
    /groups has 1 entries, expected one per row/,
  );
  last.dispose?.();
  win.dispose?.();
});

for (const [from, to] of [["native", "tfjs"], ["tfjs", "native"]] as const) {
  testWhen(
    [needBlas()],
    `lstm: a model trained on ${from} and saved scores the same on ${to} (1e-5), both modes`,
    async () => {
      const { x, ctx } = cyclic(240);
      const t = cyclic(60, 31);
      // units 8 runs the native engine's SIMD step, units 6 its scalar loops.
      const cases: Record<string, unknown>[] = [
        { mode: "autoencoder", windowScore: "last", units: 8 },
        { mode: "autoencoder", windowScore: "window", units: 8 },
        { mode: "predict", units: 8 },
        { mode: "autoencoder", windowScore: "last", units: 6 },
        { mode: "predict", units: 6 },
      ];
      try {
        for (const extra of cases) {
          const params = { window: 4, epochs: 3, batchSize: 32, lr: 0.02, ...extra };
          setNnEngine(from);
          const m = lstmFactory.create(params, 3);
          await m.fit(x, { context: ctx });
          const s = await m.score(t.x, t.ctx);
          const saved = await m.save();
          m.dispose?.();
          setNnEngine(to);
          const back = await lstmFactory.load(saved, m.params as Record<string, unknown>, 3);
          const s2 = await back.score(t.x, t.ctx);
          back.dispose?.();
          assert.equal(s2.length, s.length);
          for (let i = 0; i < s.length; i++) {
            assert.ok(s[i] > 0 && Number.isFinite(s[i]), `${extra.mode} row ${i}: score ${s[i]}`);
            assert.ok(
              Math.abs(s2[i] - s[i]) <= 1e-5 * Math.abs(s[i]),
              `${JSON.stringify(extra)} row ${i}: ${from} ${s[i]} vs ${to} ${s2[i]}`,
            );
          }
        }
      } finally {
        setNnEngine(undefined);
      }
    },
  );
}
