/**
 * The detector contract, checked for EVERY registered detector (new ones are
 * picked up from the registry automatically). Each detector runs with its
 * factory's `conformanceParams` (small models) so the suite stays fast.
 */
import assert from "node:assert/strict";
import { type Matrix, matrix } from "../../src/data/matrix.ts";
import { createDetector, listDetectors } from "../../src/detectors/registry.ts";
import { loadModel, saveModel } from "../../src/detectors/model_dir.ts";
import { type Detector, type DetectorState, isStreaming } from "../../src/detectors/types.ts";
import { rocAuc } from "../../src/eval/metrics.ts";
import { syntheticSet } from "./_synthetic.ts";
import { setNnEngine } from "../../src/nn/engine.ts";
import { blasAvailable } from "../../src/nn/blas.ts";
import { needBlas, testWhen } from "../_shared.ts";

const SEED = 7;
const data = syntheticSet();

function stateKey(s: DetectorState): string {
  const blobs = Object.entries(s.blobs ?? {}).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${v.byteLength}:${Array.from(v).join(",")}`);
  return JSON.stringify(s.state) + "|" + blobs.join("|");
}

async function fitted(name: string, params: Record<string, unknown>, seed = SEED): Promise<Detector> {
  const d = createDetector(name, params, seed);
  await d.fit(data.train, { context: data.trainContext });
  return d;
}

async function expectError(what: string, fn: () => unknown, pattern: RegExp): Promise<void> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `${what}: expected an error, none was thrown`);
  assert.match(err.message, pattern, `${what}: unclear error message "${err.message}"`);
}

/**
 * Neural detectors (those reporting a "native …" or "tfjs-…" backend) run the whole contract on both engines:
 * the native sgemm engine and the tfjs reference.
 */
function enginesOf(backend: string): ("native" | "tfjs" | undefined)[] {
  return /^(native|tfjs)/.test(backend) ? ["native", "tfjs"] : [undefined];
}

for (const factory of listDetectors()) {
  for (const engine of enginesOf(factory.backend?.() ?? "js")) {
    const name = factory.name;
    const params = factory.conformanceParams ?? {};
    testWhen(
      engine === "native" ? [needBlas()] : [],
      `conformance: ${name}${engine ? ` [${engine}]` : ""}`,
      async (t) => {
        setNnEngine(engine);
        try {
          await contract(t, name, params, factory.params, engine);
        } finally {
          setNnEngine(undefined);
        }
      },
    );
  }
}

/** The contract for one detector (on one engine, for neural detectors). */
async function contract(
  t: Deno.TestContext,
  name: string,
  params: Record<string, unknown>,
  declared: Record<string, unknown>,
  engine: "native" | "tfjs" | undefined,
): Promise<void> {
  {
    const d = await fitted(name, params);
    const scores = Float64Array.from(await d.score(data.test, data.testContext));

    await t.step("fits on benign data; one finite score per row", () => {
      assert.equal(d.name, name);
      assert.equal(d.nFeatures, data.train.cols);
      assert.equal(scores.length, data.test.rows);
      for (let i = 0; i < scores.length; i++) {
        assert.ok(Number.isFinite(scores[i]), `score ${i} is ${scores[i]}`);
      }
    });

    await t.step("planted anomalies score higher (AUROC > 0.9)", () => {
      const a = rocAuc(data.labels, scores);
      assert.ok(a > 0.9, `AUROC ${a.toFixed(3)} <= 0.9`);
    });

    await t.step("scoring leaves the model unchanged", async () => {
      const before = stateKey(await d.save());
      await d.score(data.train, data.trainContext);
      const again = Float64Array.from(await d.score(data.test, data.testContext));
      assert.deepEqual(again, scores, "scores changed after scoring");
      assert.equal(stateKey(await d.save()), before, "save() state changed after scoring");
    });

    await t.step("save/load through a model directory gives identical scores", async () => {
      const dir = await Deno.makeTempDir({ prefix: `nadir-conf-${name}-` });
      try {
        await saveModel(dir, { detector: d, seed: SEED, featureNames: data.train.names });
        const m = await loadModel(dir);
        assert.equal(m.detector.name, name);
        const loaded = Float64Array.from(await m.detector.score(data.test, data.testContext));
        assert.deepEqual(loaded, scores);
        m.detector.dispose?.();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("same seed gives the same scores", async () => {
      const d2 = await fitted(name, params);
      assert.deepEqual(Float64Array.from(await d2.score(data.test, data.testContext)), scores);
      d2.dispose?.();
    });

    await t.step("empty or wrongly-shaped input gives a clear error", async () => {
      const fresh = createDetector(name, params, SEED);
      await expectError("score before fit", () => fresh.score(data.test, data.testContext), /fit/i);
      await expectError(
        "fit on zero rows",
        () => fresh.fit(matrix(new Float64Array(0), 0, data.train.cols)),
        /row/i,
      );
      const cols = data.test.cols;
      const narrow: Matrix = matrix(new Float64Array(data.test.rows * (cols - 1)), data.test.rows, cols - 1);
      await expectError(
        "score with a missing column",
        () => d.score(narrow, data.testContext),
        new RegExp(`${cols}.*${cols - 1}|${cols - 1}.*${cols}`),
      );
      // Zero rows to score is not a mistake in a streaming pipeline: empty result or a clear error.
      try {
        const empty = await d.score(matrix(new Float64Array(0), 0, cols), { groups: [], timestamps: [] });
        assert.equal(empty.length, 0);
      } catch (e) {
        assert.match((e as Error).message, /row|empty/i);
      }
      fresh.dispose?.();
    });

    if (isStreaming(d)) {
      await t.step("streaming and batch agree", async () => {
        // fit() is one streaming pass when it makes a single pass over the rows.
        const p = "epochs" in declared ? { ...params, epochs: 1 } : params;
        const batch = await fitted(name, p);
        const stream = createDetector(name, p, SEED);
        assert.ok(isStreaming(stream));
        const c = data.train.cols;
        for (let i = 0; i < data.train.rows; i++) {
          stream.learnOne(data.train.data.subarray(i * c, (i + 1) * c));
        }
        const b = await batch.score(data.test, data.testContext);
        for (let i = 0; i < data.test.rows; i++) {
          const s: number = stream.scoreOne(data.test.data.subarray(i * c, (i + 1) * c));
          assert.ok(
            Math.abs(s - b[i]) <= 1e-9 * Math.max(1, Math.abs(b[i])),
            `row ${i}: streaming ${s} vs batch ${b[i]}`,
          );
        }
        // Not ready yet → NaN, never a made-up number.
        const young = createDetector(name, p, SEED);
        assert.ok(isStreaming(young));
        young.learnOne(data.train.data.subarray(0, c));
        const early = young.scoreOne(data.test.data.subarray(0, c));
        assert.ok(
          Number.isNaN(early),
          `after one learnOne the detector is not ready: expected NaN, found ${early}`,
        );
      });
    }
    if (engine) {
      const other = engine === "native" ? "tfjs" : "native";
      await t.step({
        name: "a model saved on one engine scores the same on the other (1e-5)",
        // Without OpenBLAS the native run of this detector is ignored with the reason.
        ignore: other === "native" && !blasAvailable(),
        fn: async () => {
          const dir = await Deno.makeTempDir({ prefix: `nadir-conf-x-${name}-` });
          try {
            await saveModel(dir, { detector: d, seed: SEED, featureNames: data.train.names });
            setNnEngine(other);
            const m = await loadModel(dir);
            const loaded = await m.detector.score(data.test, data.testContext);
            for (let i = 0; i < scores.length; i++) {
              const tol = 1e-5 * Math.abs(scores[i]) + 1e-9;
              assert.ok(
                Math.abs(loaded[i] - scores[i]) <= tol,
                `row ${i}: ${engine} ${scores[i]} vs ${other} ${loaded[i]}`,
              );
            }
            m.detector.dispose?.();
          } finally {
            setNnEngine(engine);
            await Deno.remove(dir, { recursive: true });
          }
        },
      });
    }
    d.dispose?.();
  }
}

Deno.test("conformance: the registry lists the plain-TypeScript detectors", () => {
  const names = listDetectors().map((f) => f.name);
  for (
    const n of ["kmeans", "isolation-forest", "knn", "kitnet", "lof", "ocsvm", "pca", "hbos", "ecod", "copod"]
  ) {
    assert.ok(names.includes(n), `${n} missing`);
  }
  assert.equal(new Set(names).size, names.length, "duplicate detector names");
});
