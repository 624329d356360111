/**
 * Shared pieces of the classical-baseline tests (lof, ocsvm, pca, hbos, ecod,
 * copod): a real NSL-KDD slice, the Python reference
 * (test/detectors/baselines_reference.py: scikit-learn or the published
 * definition in numpy) run on the same rows, and the comparison helpers.
 *
 * The slice: benign rows of the vendored KDDTrain+_20Percent, min-max scaled
 * and one-hot encoded with the transform fitted on them (as bench/_nsl_kdd.ts
 * does for the full files), deduplicated; test rows from the vendored
 * KDDTest+ with their labels (used for AUROC only, never for a choice).
 *
 * @module
 */
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { loadDataset } from "../../src/data/datasets.ts";
import { labels } from "../../src/data/frame.ts";
import { type Matrix, takeRows } from "../../src/data/matrix.ts";
import { fitTransform } from "../../src/data/preprocess.ts";
import { dedupeRows } from "../../src/detectors/knn.ts";
import { rocAuc } from "../../src/eval/metrics.ts";
import { needPrograms, type Unmet } from "../_shared.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("./baselines_reference.py", import.meta.url).pathname;

/** Unmet when python3 or its scikit-learn/numpy are missing (both installed by scripts/setup.sh). */
export function needSklearn(): Unmet | undefined {
  const missing = needPrograms("python3");
  if (missing) return missing;
  const r = new Deno.Command(PYTHON, {
    args: ["-c", "import sklearn, numpy"],
    stdout: "null",
    stderr: "null",
  }).outputSync();
  return r.success ? undefined : {
    kind: "setup",
    why:
      "python3 cannot import sklearn and numpy (apt install python3-sklearn python3-numpy; scripts/setup.sh does)",
  };
}

/** An NSL-KDD slice: distinct benign training rows, test rows and their labels (1 = attack). */
export interface Slice {
  train: Matrix;
  test: Matrix;
  testLabels: Int32Array;
}

let cached: { train: Matrix; test: Matrix; testLabels: Int32Array } | undefined;

/**
 * The first `trainRows` distinct benign KDDTrain+_20Percent rows and the first
 * `testRows` KDDTest+ rows (all when omitted), preprocessed as described above.
 */
export function nslSlice(trainRows?: number, testRows?: number): Slice {
  if (!cached) {
    const tr = loadDataset("nsl-kdd-train-20").df;
    const te = loadDataset("nsl-kdd-test").df;
    const { transform, matrix } = fitTransform(tr.filter(pl.col("label").eq(0)), { scale: "minmax" });
    const u = dedupeRows(matrix);
    cached = {
      train: { data: u.data, rows: u.rows, cols: matrix.cols, names: matrix.names },
      test: transform.apply(te),
      testLabels: labels(te),
    };
  }
  const first = (m: Matrix, k?: number) =>
    k === undefined || k >= m.rows ? m : takeRows(m, Int32Array.from({ length: k }, (_, i) => i));
  const test = first(cached.test, testRows);
  return { train: first(cached.train, trainRows), test, testLabels: cached.testLabels.slice(0, test.rows) };
}

/** What the reference returned. */
export interface Reference {
  scores: Float64Array;
  /** lof only: 1 where the score cannot depend on tie-breaking. */
  mask?: Uint8Array;
  info: Record<string, unknown>;
}

/** Runs baselines_reference.py `method` on the same rows, with `args` as `--name value` flags. */
export async function reference(
  method: string,
  train: Matrix,
  test: Matrix,
  args: Record<string, string | number | boolean> = {},
): Promise<Reference> {
  const dir = await Deno.makeTempDir({ prefix: `nadir-ref-${method}-` });
  try {
    const write = (name: string, m: Matrix) =>
      Deno.writeFile(`${dir}/${name}`, new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
    await write("train.f64", train);
    await write("test.f64", test);
    const flags = Object.entries(args).flatMap(([k, v]) =>
      v === true ? [`--${k}`] : v === false ? [] : [`--${k}`, String(v)]
    );
    const out = await new Deno.Command(PYTHON, {
      args: [
        SCRIPT,
        method,
        "--train",
        `${dir}/train.f64`,
        "--test",
        `${dir}/test.f64`,
        "--d",
        String(train.cols),
        "--out",
        `${dir}/scores.f64`,
        "--mask",
        `${dir}/mask.u8`,
        ...flags,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    assert.ok(out.success, `reference ${method} failed:\n${text(out.stderr)}`);
    const bytes = await Deno.readFile(`${dir}/scores.f64`);
    const scores = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    assert.equal(scores.length, test.rows, `reference ${method}: one score per test row`);
    let mask: Uint8Array | undefined;
    try {
      mask = await Deno.readFile(`${dir}/mask.u8`);
    } catch { /* only lof writes a mask */ }
    return { scores: Float64Array.from(scores), mask, info: JSON.parse(text(out.stdout).trim()) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Largest |a − b| / max(1, |b|) over the rows where `use` (default: all) is set, with its row. */
export function worstRelative(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  use?: ArrayLike<number>,
): { err: number; row: number; compared: number } {
  let err = 0, row = -1, compared = 0;
  for (let i = 0; i < a.length; i++) {
    if (use && !use[i]) continue;
    compared++;
    const e = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    if (!(e <= err)) {
      err = e;
      row = i;
    }
  }
  return { err, row, compared };
}

/**
 * Asserts both detectors' AUROCs on the slice's labels agree within `tol`
 * (issue 13: 0.005) and returns them for the log line.
 */
export function assertAurocClose(
  what: string,
  labelsOf: ArrayLike<number>,
  ours: ArrayLike<number>,
  theirs: ArrayLike<number>,
  tol = 0.005,
): { nadir: number; reference: number } {
  const nadir = rocAuc(labelsOf, ours), ref = rocAuc(labelsOf, theirs);
  assert.ok(
    Math.abs(nadir - ref) <= tol,
    `${what}: AUROC nadir ${nadir.toFixed(4)} vs reference ${ref.toFixed(4)} differ by more than ${tol}`,
  );
  console.log(`${what}: AUROC nadir ${nadir.toFixed(4)}, reference ${ref.toFixed(4)}`);
  return { nadir, reference: ref };
}
