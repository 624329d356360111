/**
 * `deno task bench detectors [--quick] [--only a,b] [--epochs N]`: for every
 * registered detector, training seconds and scoring rows/s on NSL-KDD
 * (KDDTrain+ benign rows → KDDTest+, one-hot + min-max), next to
 * scikit-learn measured in the same run on the same matrices where it has the
 * same model: IsolationForest, NearestNeighbors (kneighbors), KMeans, and an
 * MLPRegressor of the autoencoder's shape. Ratios are sklearn time / nadir
 * time, so ≥ 1.0 means nadir is faster. Detectors without a peer are timed
 * alone.
 *
 * Deep detectors train for `--epochs` (default 5, early stopping off) on both
 * sides so the work is the same; tfjs detectors without a peer train on every
 * k-th row, `--deep-rows` (default 10000) in all, and score the full test set.
 *
 * @module
 */
import { join } from "node:path";
import { type Matrix, matrix } from "../src/data/matrix.ts";
import { createDetector, listDetectors } from "../src/detectors/registry.ts";
import { nslKdd } from "./_nsl_kdd.ts";

interface PeerResult {
  model: string;
  fit_s: number;
  score_s: number;
  rows: number;
}

function head(m: Matrix, n: number): Matrix {
  const r = Math.min(n, m.rows);
  return matrix(m.data.slice(0, r * m.cols), r, m.cols, m.names);
}

function every(m: Matrix, step: number): Matrix {
  const rows = Math.ceil(m.rows / step);
  const out = new Float64Array(rows * m.cols);
  for (let i = 0; i < rows; i++) {
    out.set(m.data.subarray(i * step * m.cols, (i * step + 1) * m.cols), i * m.cols);
  }
  return matrix(out, rows, m.cols, m.names);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function runPeer(train: Matrix, test: Matrix, peerArgs: string[]): Promise<Map<string, PeerResult>> {
  const dir = await Deno.makeTempDir({ prefix: "nadir-bench-" });
  const out = new Map<string, PeerResult>();
  try {
    const tr = join(dir, "train.f64"), te = join(dir, "test.f64");
    await Deno.writeFile(tr, new Uint8Array(train.data.buffer, train.data.byteOffset, train.data.byteLength));
    await Deno.writeFile(te, new Uint8Array(test.data.buffer, test.data.byteOffset, test.data.byteLength));
    const script = new URL("./sklearn_peer.py", import.meta.url).pathname;
    const r = await new Deno.Command("/usr/bin/python3", {
      args: [script, "--train", tr, "--test", te, "--d", String(train.cols), ...peerArgs],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) {
      console.error(
        `sklearn peer failed: ${new TextDecoder().decode(r.stderr).trim().split("\n").slice(-3).join(" | ")}`,
      );
      return out;
    }
    for (const line of new TextDecoder().decode(r.stdout).split("\n")) {
      if (line.trim()) {
        const o = JSON.parse(line) as PeerResult;
        out.set(o.model, o);
      }
    }
  } catch (e) {
    console.error(`sklearn peer unavailable: ${(e as Error).message}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return out;
}

/** Entry point (see the module docs). */
export async function main(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const only = flag(args, "--only")?.split(",");
  const epochs = Number(flag(args, "--epochs") ?? 5);
  // tfjs detectors without a scikit-learn peer train on a slice so the bench stays minutes, not hours.
  const deepRows = Number(flag(args, "--deep-rows") ?? 10000);
  const t0 = performance.now();
  const data = nslKdd();
  let train = data.train, test = data.test;
  if (quick) {
    train = every(train, 5);
    test = head(test, 5000);
  }
  console.log(
    `NSL-KDD: ${train.rows} benign training rows x ${train.cols} features, ${test.rows} test rows ` +
      `(prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s)${quick ? " [--quick slice]" : ""}`,
  );
  const factories = listDetectors().filter((f) => !only || only.includes(f.name));
  const paramsFor = (name: string): Record<string, unknown> => {
    const f = factories.find((x) => x.name === name)!;
    const p: Record<string, unknown> = {};
    if ("epochs" in f.params) p.epochs = epochs;
    if ("patience" in f.params) p.patience = 0;
    return p;
  };
  // Same hyperparameters on both sides, taken from nadir's validated defaults.
  const peerModels = ["isolation-forest", "knn", "kmeans", "autoencoder"].filter((m) =>
    factories.some((f) => f.name === m)
  );
  const defaults = (name: string) =>
    factories.find((f) => f.name === name) ? createDetector(name, paramsFor(name), 0).params : {};
  const ifp = defaults("isolation-forest"),
    knp = defaults("knn"),
    kmp = defaults("kmeans"),
    aep = defaults("autoencoder");
  const peerArgs = ["--models", peerModels.join(",")];
  if (ifp.nTrees) peerArgs.push("--trees", String(ifp.nTrees), "--psi", String(ifp.maxSamples));
  if (knp.k) peerArgs.push("--k", String(knp.k));
  if (kmp.k) {
    peerArgs.push(
      "--clusters",
      String(kmp.k),
      "--kmeans-iter",
      String(kmp.maxIter),
      "--kmeans-tol",
      String(kmp.tol),
    );
  }
  if (aep.layers) {
    peerArgs.push(
      "--layers",
      (aep.layers as number[]).join(","),
      "--activation",
      String(aep.activation),
      "--epochs",
      String(epochs),
      "--batch",
      String(aep.batchSize),
      "--lr",
      String(aep.lr),
    );
  }
  const peer = peerModels.length ? await runPeer(train, test, peerArgs) : new Map<string, PeerResult>();

  const header = [
    "detector",
    "train s",
    "sklearn train s",
    "train ratio",
    "score rows/s",
    "sklearn rows/s",
    "score ratio",
    "backend",
    "note",
  ];
  console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
  for (const f of factories) {
    const params = paramsFor(f.name);
    let fitS = NaN, scoreS = NaN, note = "";
    const sliced = !peerModels.includes(f.name) && (f.backend?.() ?? "js") !== "js" && train.rows > deepRows;
    const fitOn = sliced ? every(train, Math.ceil(train.rows / deepRows)) : train;
    try {
      const d = createDetector(f.name, params, 0);
      let t = performance.now();
      await d.fit(fitOn);
      fitS = (performance.now() - t) / 1000;
      t = performance.now();
      const s = await d.score(test);
      scoreS = (performance.now() - t) / 1000;
      if (s.length !== test.rows) note = "wrong score count";
      if (sliced) note = `trained on ${fitOn.rows} rows (--deep-rows)`;
      d.dispose?.();
    } catch (e) {
      note = `error: ${(e as Error).message.split("\n")[0].slice(0, 80)}`;
    }
    const p = peer.get(f.name);
    const fmt = (v: number, digits = 2) => Number.isFinite(v) ? v.toFixed(digits) : "-";
    const rate = (s: number) =>
      Number.isFinite(s) && s > 0 ? Math.round(test.rows / s).toLocaleString("en-US") : "-";
    const row = [
      f.name,
      fmt(fitS),
      p ? fmt(p.fit_s) : "-",
      p ? fmt(p.fit_s / fitS) : "-",
      rate(scoreS),
      p ? rate(p.score_s) : "-",
      p ? fmt(p.score_s / scoreS) : "-",
      f.backend?.() ?? "js",
      note || (p ? "" : "no sklearn peer"),
    ];
    console.log(`| ${row.join(" | ")} |`);
  }
  console.log(
    `\nratio = sklearn seconds / nadir seconds (>= 1.0: nadir faster). sklearn peers: ${
      [...peer.keys()].join(", ") || "none"
    }; deep detectors: ${epochs} epochs, no early stopping, on both sides. nadir runs single-threaded; ` +
      `sklearn/BLAS may use every core (${navigator.hardwareConcurrency} here).`,
  );
}

if (import.meta.main) await main(Deno.args);
