import assert from "node:assert/strict";
import { matrix } from "../../src/data/matrix.ts";
import { autoencoderFactory } from "../../src/detectors/autoencoder.ts";
import { Rng } from "../../src/util/random.ts";

/** Rows on a 1-d manifold in 6 dimensions: feature j = z * (j + 1) / 6 + noise. */
function manifold(n: number, seed: number) {
  const rng = new Rng(seed), d = 6, data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = rng.next();
    for (let j = 0; j < d; j++) data[i * d + j] = z * (j + 1) / d + rng.normal(0, 0.01);
  }
  return matrix(data, n, d);
}

const P = { layers: [8, 3, 8], epochs: 25, batchSize: 32, lr: 0.01 };

Deno.test("autoencoder: off-manifold rows get larger reconstruction errors; progress reports loss", async () => {
  const train = manifold(600, 1);
  const calls: { step: number; loss?: number; valLoss?: number }[] = [];
  const ae = autoencoderFactory.create(P, 3);
  await ae.fit(train, { onProgress: (p) => calls.push(p) });
  assert.ok(calls.length >= 2, "onProgress called per epoch");
  assert.ok(calls.every((c) => Number.isFinite(c.loss) && Number.isFinite(c.valLoss)));
  assert.ok(calls[calls.length - 1].loss! < calls[0].loss!, "training loss decreases");
  const normal = manifold(50, 2);
  const odd = manifold(50, 3);
  for (let i = 0; i < 50; i++) odd.data[i * 6 + 5] = 1 - odd.data[i * 6 + 5]; // break the correlation
  const sn = await ae.score(normal), so = await ae.score(odd);
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(mean(so) > 5 * mean(sn), `odd ${mean(so)} vs normal ${mean(sn)}`);
  const fe = await (ae as unknown as { featureErrors(x: typeof odd): Promise<Float32Array> }).featureErrors(
    odd,
  );
  // The broken feature carries the largest share of the error.
  const per = new Array(6).fill(0);
  for (let i = 0; i < 50; i++) for (let j = 0; j < 6; j++) per[j] += fe[i * 6 + j];
  assert.equal(per.indexOf(Math.max(...per)), 5, `per-feature errors ${per.map((v) => v.toFixed(2))}`);
  ae.dispose?.();
});

Deno.test("autoencoder: max score, dropout + denoising are seeded; save/load restores; corrupt blob fails", async () => {
  const train = manifold(300, 4);
  const p = { ...P, epochs: 4, dropout: 0.1, noise: 0.05, score: "max" };
  const a = autoencoderFactory.create(p, 9),
    b = autoencoderFactory.create(p, 9),
    c = autoencoderFactory.create(p, 10);
  await a.fit(train);
  await b.fit(train);
  await c.fit(train);
  const sa = await a.score(train), sb = await b.score(train), sc = await c.score(train);
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc, "another seed gives another model");
  const saved = await a.save();
  const back = await autoencoderFactory.load(saved, p, 9);
  assert.deepEqual(await back.score(train), sa);
  const key = Object.keys(saved.blobs!)[0];
  const bad = { state: saved.state, blobs: { ...saved.blobs, [key]: saved.blobs![key].subarray(4) } };
  await assert.rejects(async () => await autoencoderFactory.load(bad, p, 9), /bytes, expected/);
  for (const d of [a, b, c, back]) d.dispose?.();
});
