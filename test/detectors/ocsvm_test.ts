import assert from "node:assert/strict";
import { matrixFromRows } from "../../src/data/matrix.ts";
import { type OcsvmDetector, solveOneClass } from "../../src/detectors/ocsvm.ts";
import { createDetector } from "../../src/detectors/registry.ts";
import { testWhen } from "../_shared.ts";
import { assertAurocClose, needSklearn, nslSlice, reference, worstRelative } from "./_baselines.ts";

Deno.test("ocsvm: the SMO solver on two points (hand-computed optimum)", () => {
  const k = 0.3, q = Float32Array.from([1, k, k, 1]);
  // ν = ½, m = 2: Σα = 1; by symmetry α = (½, ½), both free, and ρ = G = ½(1 + k).
  const half = solveOneClass(q, 2, 0.5, 1e-9);
  assert.ok(half.converged);
  assert.deepEqual([...half.alpha], [0.5, 0.5]);
  assert.ok(Math.abs(half.rho - 0.5 * (1 + Math.fround(k))) < 1e-12, `${half.rho}`);
  // ν = 1: every α at its bound 1; ρ is the gradient bound, 1 + k.
  const all = solveOneClass(q, 2, 1, 1e-9);
  assert.deepEqual([...all.alpha], [1, 1]);
  assert.ok(Math.abs(all.rho - (1 + Math.fround(k))) < 1e-12, `${all.rho}`);
});

Deno.test("ocsvm: ν bounds the support vectors from below and the training rows outside from above", async () => {
  const s = nslSlice(1500, 0);
  for (const nu of [0.05, 0.2, 0.5]) {
    const d = createDetector("ocsvm", { nu }, 0) as OcsvmDetector;
    await d.fit(s.train);
    const m = s.train.rows, tol = (d.params as { tol: number }).tol;
    assert.ok(d.supportVectors >= nu * m, `nu ${nu}: ${d.supportVectors} support vectors < ν·m = ${nu * m}`);
    // A row scoring above tol/(νm) violates the margin by more than the solver's tolerance: its α is at the bound.
    const outside = (await d.score(s.train)).filter((v) => v > tol / (nu * m)).length;
    assert.ok(outside <= nu * m, `nu ${nu}: ${outside} training rows outside > ν·m = ${nu * m}`);
  }
});

Deno.test("ocsvm: more rows than maxSamples → a seeded subsample; too few rows is an error", async () => {
  const s = nslSlice(600, 50);
  const a = createDetector("ocsvm", { maxSamples: 200 }, 1),
    b = createDetector("ocsvm", { maxSamples: 200 }, 2);
  await a.fit(s.train);
  await b.fit(s.train);
  assert.equal((await a.save()).state.trainingRows, 200);
  assert.notDeepEqual(await a.score(s.test), await b.score(s.test), "different seeds draw different rows");
  await assert.rejects(
    async () => await createDetector("ocsvm", {}, 0).fit(matrixFromRows([[1, 2]])),
    /expected at least 2 training row\(s\), found 1/,
  );
});

testWhen([needSklearn()], "ocsvm: matches scikit-learn's OneClassSVM (libsvm, RBF) on NSL-KDD", async () => {
  const s = nslSlice(2000, 4000);
  for (const params of [{}, { nu: 0.1, gamma: 0.5 }]) {
    const d = createDetector("ocsvm", params, 0) as OcsvmDetector;
    await d.fit(s.train);
    const ours = await d.score(s.test);
    const p = d.params as { nu: number; gamma: number; tol: number };
    // gamma 0 is scikit-learn's "scale": the reference computes it itself, so the default is checked too.
    const ref = await reference("ocsvm", s.train, s.test, {
      nu: p.nu,
      gamma: p.gamma || "scale",
      tol: p.tol,
    });
    assert.ok(
      Math.abs(d.gamma - (ref.info.gamma as number)) <= 1e-12 * d.gamma,
      `gamma ${d.gamma} vs ${ref.info.gamma}`,
    );
    // Both solvers stop at a KKT gap of tol on libsvm's scale (α summing to νm): scores may differ by about tol/(νm).
    const w = worstRelative(ours, ref.scores);
    assert.ok(w.err < p.tol / (p.nu * s.train.rows), `nu ${p.nu}: row ${w.row} differs by ${w.err}`);
    assertAurocClose(`ocsvm nu=${p.nu} gamma=${d.gamma.toPrecision(4)}`, s.testLabels, ours, ref.scores);
  }
});
