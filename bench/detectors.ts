/**
 * `deno task bench detectors [--quick] [--only a,b] [--repeat N] [--epochs N] [--deep-rows N] [--no-torch] [--no-sklearn]`:
 * for every registered detector, training seconds and scoring rows/s on
 * NSL-KDD (KDDTrain+ benign rows → KDDTest+, one-hot + min-max), next to two
 * peers measured in the same run on the same matrices, detector by detector
 * (nadir, then its peers, so load drift on a shared machine hits all three):
 *
 * - scikit-learn (bench/sklearn_peer.py): IsolationForest, NearestNeighbors
 *   (kneighbors), KMeans, and an MLPRegressor of the autoencoder's shape;
 * - PyTorch (bench/torch_peer.py, Debian `python3-torch`): the autoencoder,
 *   the LSTM encoder–decoder and flow-lm's causal transformer, with the
 *   architecture, batch size, epochs, validation split and optimiser settings
 *   of nadir's defaults, taken from the registry at run time. CPU, float32,
 *   timed with 1 thread and with every core (`torch.set_num_threads`); the
 *   best time of each phase counts.
 *
 * Every side runs `--repeat` times (default 3, 1 with `--quick`), interleaved
 * detector by detector, and the best time of each phase counts on every side:
 * on a shared machine noise only ever adds time, so the minimum is the
 * figure least disturbed by it.
 *
 * Ratios are peer seconds / nadir seconds, so ≥ 1.0 means nadir is faster.
 * The table is followed by the nadir engine line (native OpenBLAS or tfjs),
 * and the run is written to bench/results/detectors-<stamp>.json (see
 * bench/_record.ts), from which docs/detectors.md's tables are generated.
 *
 * Deep detectors train for `--epochs` (default 5) on both sides, with the
 * validation pass and best-weight bookkeeping of a normal fit (patience =
 * epochs, so neither side can stop early and the work is the same). lstm and
 * flow-lm cap their training sets the way their defaults do (30 k windows,
 * 60 k rows) on both sides. Neural detectors without any peer train on every
 * k-th row, `--deep-rows` (default 10000) in all; an explicit `--deep-rows`
 * also slices lstm and flow-lm, for both nadir and the peer.
 *
 * PyTorch is found with `/usr/bin/python3 -c "import torch"`; when it is
 * missing the bench installs `python3-torch` with apt-get when running as
 * root, and otherwise prints "PyTorch peer skipped: <reason>". Tests never
 * need it.
 *
 * @module
 */
import { join } from "node:path";
import { type Matrix, matrix } from "../src/data/matrix.ts";
import { detectorBackend, detectorParams, listDetectors } from "../src/detectors/registry.ts";
import { createDetector } from "../src/detectors/registry.ts";
import { fitTokenizer, OUT_OF_RANGE_EDGES } from "../src/detectors/tokenizer.ts";
import { Rng } from "../src/util/random.ts";
import { type Cell, printTable, saveRecord, type Table } from "./_record.ts";
import { nslKdd } from "./_nsl_kdd.ts";

/** What a peer prints per model (one JSON line). */
interface PeerResult {
  model: string;
  fit_s: number;
  score_s: number;
  rows: number;
  error?: string;
  version?: string;
  fit_threads?: number;
  score_threads?: number;
  runs?: { threads: number; fit_s: number; score_s: number }[];
  train_rows?: number;
  epochs?: number;
}

const PYTHON = "/usr/bin/python3";

/**
 * OpenMP's default active wait spins worker threads; on this shared, loaded machine that made 2-thread
 * torch runs 5–20× slower than 1 thread. Passive waiting is the fair setting there; a value in the
 * environment wins. Passed to both Python peers.
 */
const OMP_WAIT = Deno.env.get("OMP_WAIT_POLICY") || "PASSIVE";

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

function pick(m: Matrix, idx: ArrayLike<number>): Matrix {
  const out = new Float64Array(idx.length * m.cols);
  for (let k = 0; k < idx.length; k++) {
    out.set(m.data.subarray(idx[k] * m.cols, (idx[k] + 1) * m.cols), k * m.cols);
  }
  return matrix(out, idx.length, m.cols, m.names);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const lastLines = (s: string) => s.trim().split("\n").slice(-3).join(" | ");

/** Runs a Python peer script; returns its JSON lines, or why it failed. */
async function runPython(script: string, args: string[]): Promise<{ results: PeerResult[]; error?: string }> {
  try {
    const r = await new Deno.Command(PYTHON, {
      args: [new URL(script, import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
      env: { OMP_WAIT_POLICY: OMP_WAIT },
    }).output();
    const results = text(r.stdout).split("\n").filter((l) => l.trim()).map((l) =>
      JSON.parse(l) as PeerResult
    );
    if (!r.success) return { results, error: lastLines(text(r.stderr)) || `exit code ${r.code}` };
    return { results };
  } catch (e) {
    return { results: [], error: (e as Error).message };
  }
}

/** The torch version under /usr/bin/python3, or undefined with the reason. */
function probeTorch(): { version?: string; reason?: string } {
  try {
    const r = new Deno.Command(PYTHON, {
      args: ["-c", "import torch; print(torch.__version__)"],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    if (r.success) return { version: text(r.stdout).trim() };
    return { reason: lastLines(text(r.stderr)).replace(/^.*ModuleNotFoundError: /, "") };
  } catch (e) {
    return { reason: `${PYTHON}: ${(e as Error).message}` };
  }
}

/**
 * Finds PyTorch, installing Debian's python3-torch when root. apt-get goes
 * through `sh -c`: it is the package installer itself (present wherever
 * scripts/setup.sh can run), and this step is optional — without it the peer
 * is skipped with the reason — so it is not one of test/_shared.ts's PROGRAMS.
 */
function findTorch(): { version?: string; reason?: string } {
  const found = probeTorch();
  if (found.version) return found;
  if (Deno.uid() !== 0) {
    return { reason: `${found.reason}; install python3-torch (apt-get install python3-torch, as root)` };
  }
  console.error("PyTorch not found: installing python3-torch (apt-get install -y python3-torch) ...");
  const install =
    "apt-get install -y -q python3-torch || (apt-get update -q && apt-get install -y -q python3-torch)";
  try {
    const r = new Deno.Command("sh", { args: ["-c", install], stdout: "null", stderr: "piped" }).outputSync();
    if (!r.success) return { reason: `apt-get install python3-torch failed: ${lastLines(text(r.stderr))}` };
  } catch (e) {
    return { reason: `could not run apt-get: ${(e as Error).message}` };
  }
  const again = probeTorch();
  return again.version ? again : { reason: `installed python3-torch but ${again.reason}` };
}

/** Writes matrices (float64) and token arrays (int32) once each, named by their first use. */
class Files {
  #paths = new Map<object, string>();
  #n = 0;
  constructor(readonly dir: string) {}
  async path(data: Float64Array | Int32Array): Promise<string> {
    let p = this.#paths.get(data);
    if (!p) {
      p = join(this.dir, `m${this.#n++}.${data instanceof Int32Array ? "i32" : "f64"}`);
      await Deno.writeFile(p, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.#paths.set(data, p);
    }
    return p;
  }
}

const SKLEARN_ACTIVATIONS: Record<string, string> = {
  relu: "relu",
  tanh: "tanh",
  sigmoid: "logistic",
};

/** The scikit-learn peer's arguments for `name`, or undefined when it has no such model. */
function sklearnArgs(name: string, p: Record<string, any>): string[] | undefined {
  switch (name) {
    case "isolation-forest":
      return ["--trees", String(p.nTrees), "--psi", String(p.maxSamples)];
    case "knn":
      return ["--k", String(p.k)];
    case "kmeans":
      return ["--clusters", String(p.k), "--kmeans-iter", String(p.maxIter), "--kmeans-tol", String(p.tol)];
    case "autoencoder": {
      const act = SKLEARN_ACTIVATIONS[p.activation];
      if (!act || p.dropout > 0 || p.noise > 0) return undefined;
      return [
        "--layers",
        (p.layers as number[]).join(","),
        "--activation",
        act,
        "--epochs",
        String(p.epochs),
        "--batch",
        String(p.batchSize),
        "--lr",
        String(p.lr),
      ];
    }
  }
  return undefined;
}

/** Entry point (see the module docs). */
export async function main(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const only = flag(args, "--only")?.split(",");
  const epochs = Number(flag(args, "--epochs") ?? 5);
  const deepRowsArg = flag(args, "--deep-rows");
  const deepRows = Number(deepRowsArg ?? 10000);
  const useSklearn = !args.includes("--no-sklearn");
  const repeat = Number(flag(args, "--repeat") ?? (quick ? 1 : 3));
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new Error(`--repeat: expected a whole number ≥ 1, found "${flag(args, "--repeat")}"`);
  }
  const t0 = performance.now();
  const data = nslKdd();
  let train = data.train, test = data.test;
  if (quick) {
    train = every(train, 5);
    test = head(test, 5000);
  }
  const notes: string[] = [];
  const say = (s: string) => {
    console.log(s);
    notes.push(s);
  };
  console.log(
    `NSL-KDD: ${train.rows} benign training rows x ${train.cols} features, ${test.rows} test rows ` +
      `(prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s)${quick ? " [--quick slice]" : ""}`,
  );
  const factories = listDetectors().filter((f) => !only || only.includes(f.name));
  // Same work on both sides: fixed epochs, a validation pass per epoch, best-weight bookkeeping, no early stop.
  const paramsFor = (name: string): Record<string, unknown> => {
    const f = factories.find((x) => x.name === name)!;
    const p: Record<string, unknown> = {};
    if ("epochs" in f.params) p.epochs = epochs;
    if ("patience" in f.params) p.patience = epochs;
    return p;
  };

  const threads = [...new Set([1, navigator.hardwareConcurrency])];
  let torch: { version?: string; reason?: string } = { reason: "--no-torch" };
  if (!args.includes("--no-torch")) torch = findTorch();
  if (!torch.version) say(`PyTorch peer skipped: ${torch.reason}`);
  else console.log(`PyTorch ${torch.version} (threads tried: ${threads.join(", ")})`);
  const engine = detectorBackend("autoencoder");
  console.log(`nadir engine: ${engine}`);

  const dir = await Deno.makeTempDir({ prefix: "nadir-bench-" });
  const files = new Files(dir);
  const rows: Record<string, Cell>[] = [];
  const threadRows: Record<string, Cell>[] = [];
  const resolved: Record<string, Record<string, unknown>> = {};
  let sklearnVersion: string | undefined;
  try {
    for (const f of factories) {
      const params = paramsFor(f.name);
      const p = detectorParams(f.name, params) as Record<string, any>;
      resolved[f.name] = p;
      const backend = detectorBackend(f.name);
      const neural = backend !== "js";
      const skArgs = useSklearn ? sklearnArgs(f.name, p) : undefined;
      const torchModel = torch.version &&
        (f.name === "autoencoder" || (f.name === "lstm" && p.mode === "autoencoder") || f.name === "flow-lm");
      const peered = skArgs !== undefined || !!torchModel;
      // Slow models without a peer train on a slice; an explicit --deep-rows also slices lstm and flow-lm.
      const sliced = train.rows > deepRows &&
        ((neural && !peered) || (deepRowsArg !== undefined && (f.name === "lstm" || f.name === "flow-lm")));
      const fitOn = sliced ? every(train, Math.ceil(train.rows / deepRows)) : train;
      const noteParts: string[] = [];
      if (sliced) noteParts.push(`trained on ${fitOn.rows} rows (--deep-rows)`);

      // Each side runs `repeat` times, interleaved (nadir, its peers, nadir, …) so that load drift on a
      // shared machine hits every side alike; the best time of each phase counts, on every side.
      // Best (least) seconds over the repeats; Infinity until a run succeeds.
      let fitS = Infinity, scoreS = Infinity, nEpochs: number | undefined;
      let sk: PeerResult | undefined, th: PeerResult | undefined;
      const best = (a: PeerResult | undefined, b: PeerResult): PeerResult => {
        if (!a) return b;
        const runs = (a.runs ?? []).map((ra) => {
          const rb = b.runs?.find((x) => x.threads === ra.threads);
          return rb
            ? { ...ra, fit_s: Math.min(ra.fit_s, rb.fit_s), score_s: Math.min(ra.score_s, rb.score_s) }
            : ra;
        });
        const fit = runs.length ? runs.reduce((x, y) => (y.fit_s < x.fit_s ? y : x)) : undefined;
        const score = runs.length ? runs.reduce((x, y) => (y.score_s < x.score_s ? y : x)) : undefined;
        return {
          ...a,
          runs,
          fit_s: Math.min(a.fit_s, b.fit_s),
          score_s: Math.min(a.score_s, b.score_s),
          fit_threads: fit?.threads ?? a.fit_threads,
          score_threads: score?.threads ?? a.score_threads,
        };
      };
      const spec = torchModel ? await torchSpec(f.name, p, fitOn, test, files) : undefined;
      if (typeof spec === "string") noteParts.push(spec);
      let failed = false;
      for (let r = 0; r < repeat && !failed; r++) {
        try {
          const d = createDetector(f.name, params, 0);
          let t = performance.now();
          let seen = 0;
          await d.fit(fitOn, { onProgress: (e) => (seen = e.step) });
          fitS = Math.min(fitS, (performance.now() - t) / 1000);
          nEpochs = seen || undefined;
          t = performance.now();
          const s = await d.score(test);
          scoreS = Math.min(scoreS, (performance.now() - t) / 1000);
          if (s.length !== test.rows && !noteParts.includes("wrong score count")) {
            noteParts.push("wrong score count");
          }
          d.dispose?.();
        } catch (e) {
          noteParts.push(`error: ${(e as Error).message.split("\n")[0].slice(0, 80)}`);
          failed = true;
        }
        console.error(
          `${f.name}: nadir fit ${fitS.toFixed(2)} s, score ${scoreS.toFixed(2)} s (best of ${r + 1})`,
        );

        if (skArgs) {
          const res = await runPython("./sklearn_peer.py", [
            "--train",
            await files.path(fitOn.data),
            "--test",
            await files.path(test.data),
            "--d",
            String(train.cols),
            "--models",
            f.name,
            ...skArgs,
          ]);
          const got = res.results.find((x) => x.model === f.name && !x.error);
          sklearnVersion ??= got?.version;
          if (got) {
            sk = best(sk, got);
            console.error(
              `${f.name}: sklearn fit ${sk.fit_s.toFixed(2)} s, score ${sk.score_s.toFixed(2)} s`,
            );
          } else {
            say(`sklearn peer failed on ${f.name}: ${res.error ?? res.results[0]?.error ?? "no result"}`);
          }
        }

        if (spec && typeof spec !== "string") {
          const specPath = join(dir, `spec-${f.name}.json`);
          await Deno.writeTextFile(specPath, JSON.stringify({ ...spec, threads, seed: 0 }));
          const res = await runPython("./torch_peer.py", ["--spec", specPath]);
          const got = res.results.find((x) => x.model === f.name && !x.error);
          if (!got) {
            say(`PyTorch peer failed on ${f.name}: ${res.results[0]?.error ?? res.error ?? "no result"}`);
          } else {
            th = best(th, got);
            console.error(
              `${f.name}: torch fit ${th.fit_s.toFixed(2)} s (${th.fit_threads} thr), score ${
                th.score_s.toFixed(2)
              } s (${th.score_threads} thr)`,
            );
          }
        }
      }
      if (th) {
        const tr: Record<string, Cell> = { detector: f.name, trainRows: th.train_rows ?? null };
        for (const run of th.runs ?? []) {
          tr[`fit${run.threads}`] = run.fit_s;
          tr[`score${run.threads}`] = test.rows / run.score_s;
        }
        threadRows.push(tr);
      }

      const rate = (s: number | undefined) => s !== undefined && s > 0 ? test.rows / s : null;
      const ratio = (peer: number | undefined, ours: number) =>
        peer !== undefined && Number.isFinite(ours) && ours > 0 ? peer / ours : null;
      if (!peered) noteParts.push("no peer");
      rows.push({
        detector: f.name,
        engine: backend.split(" ")[0],
        trainRows: fitOn.rows,
        epochs: nEpochs ?? null,
        fit: Number.isFinite(fitS) ? fitS : null,
        skFit: sk?.fit_s ?? null,
        skFitRatio: ratio(sk?.fit_s, fitS),
        thFit: th?.fit_s ?? null,
        thFitRatio: ratio(th?.fit_s, fitS),
        rate: Number.isFinite(scoreS) ? rate(scoreS) : null,
        skRate: rate(sk?.score_s),
        skRateRatio: ratio(sk?.score_s, scoreS),
        thRate: rate(th?.score_s),
        thRateRatio: ratio(th?.score_s, scoreS),
        note: noteParts.join("; "),
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const ratioCol = (key: string, label: string) => ({ key, label, digits: 2, suffix: "×" });
  const tableNotes = () => {
    const out = [
      "Ratio = peer seconds / nadir seconds (≥ 1.0×: nadir faster). " +
      `Every side ran ${repeat} time(s), interleaved; the best time of each phase counts on every side.`,
    ];
    if (resolved.lstm || resolved["flow-lm"]) {
      const windows = resolved.lstm?.maxTrainWindows ?? "-",
        lmRows = resolved["flow-lm"]?.maxTrainRows ?? "-";
      out.push(
        `train rows = rows given to fit; lstm and flow-lm then take their default caps (${windows} windows, ` +
          `${lmRows} rows) and hold out a validation share on both sides (the PyTorch table gives the rows ` +
          "each side trained on).",
      );
    }
    const torchRun = torch.version ? `torch ${torch.version}, OMP_WAIT_POLICY=${OMP_WAIT}` : "skipped";
    const cores = navigator.hardwareConcurrency;
    out.push(
      `Neural detectors: ${epochs} epochs on both sides with a validation pass per epoch and best-weight ` +
        `bookkeeping (patience = epochs, so no early stop); PyTorch: best of ${threads.join(" and ")} ` +
        `thread(s) per phase (${torchRun}); ` +
        (sklearnVersion
          ? `scikit-learn ${sklearnVersion} uses every core its BLAS offers (${cores} here).`
          : "scikit-learn: not run."),
    );
    return out;
  };
  const ratioTable: Table = {
    id: "ratios",
    title: `Detectors on NSL-KDD: nadir vs scikit-learn and PyTorch, same run (${
      test.rows.toLocaleString("en-US")
    } scored rows${quick ? ", --quick" : ""})`,
    columns: [
      { key: "detector", label: "detector" },
      { key: "engine", label: "engine" },
      { key: "trainRows", label: "train rows", int: true },
      { key: "fit", label: "train s" },
      { key: "skFit", label: "sklearn s" },
      ratioCol("skFitRatio", "train vs sklearn"),
      { key: "thFit", label: "torch s" },
      ratioCol("thFitRatio", "train vs torch"),
      { key: "rate", label: "score rows/s", int: true },
      { key: "skRate", label: "sklearn rows/s", int: true },
      ratioCol("skRateRatio", "score vs sklearn"),
      { key: "thRate", label: "torch rows/s", int: true },
      ratioCol("thRateRatio", "score vs torch"),
      { key: "note", label: "note" },
    ],
    rows,
    notes: tableNotes(),
  };
  printTable(ratioTable);
  console.log(`\nnadir engine: ${engine}`);
  const tables = [ratioTable];
  if (threadRows.length) {
    const tt: Table = {
      id: "torch-threads",
      title: "PyTorch peer by thread count (torch.set_num_threads)",
      columns: [
        { key: "detector", label: "model" },
        { key: "trainRows", label: "trained on (after validation split)", int: true },
        ...threads.map((n) => ({ key: `fit${n}`, label: `train s, ${n} thread${n === 1 ? "" : "s"}` })),
        ...threads.map((n) => ({
          key: `score${n}`,
          label: `score rows/s, ${n} thread${n === 1 ? "" : "s"}`,
          int: true,
        })),
      ],
      rows: threadRows,
    };
    printTable(tt);
    tables.push(tt);
  }
  const load = Deno.loadavg();
  console.log(
    `\nload average at the end: ${
      load.map((v) => v.toFixed(2)).join(" ")
    } on ${navigator.hardwareConcurrency} cores`,
  );
  await saveRecord("detectors", {
    engine,
    params: {
      dataset: "NSL-KDD: KDDTrain+ benign → KDDTest+ (one-hot, min-max)",
      trainRows: train.rows,
      testRows: test.rows,
      features: train.cols,
      quick,
      only: only ?? null,
      repeat,
      epochs,
      deepRows: deepRowsArg !== undefined ? deepRows : null,
      torch: torch.version ?? null,
      torchSkipped: torch.version ? null : torch.reason,
      torchThreads: threads,
      ompWaitPolicy: OMP_WAIT,
      sklearn: sklearnVersion ?? null,
      detectors: resolved,
      backends: Object.fromEntries(factories.map((f) => [f.name, detectorBackend(f.name)])),
    },
    tables,
    notes,
  });
}

/** The torch peer's spec for `name`, or a note saying why there is none. */
async function torchSpec(
  name: string,
  p: Record<string, any>,
  fitOn: Matrix,
  test: Matrix,
  files: Files,
): Promise<Record<string, unknown> | string> {
  const base = {
    d: fitOn.cols,
    testRows: test.rows,
    train: await files.path(fitOn.data),
    test: await files.path(test.data),
  };
  const loop = {
    epochs: p.epochs,
    batchSize: p.batchSize,
    lr: p.lr,
    patience: p.patience,
    valFraction: p.valFraction,
  };
  if (name === "autoencoder") {
    if (p.dropout > 0 || p.noise > 0) return "torch peer has no dropout/noise";
    return {
      ...base,
      models: { autoencoder: { ...loop, layers: p.layers, activation: p.activation } },
    };
  }
  if (name === "lstm") {
    return {
      ...base,
      models: {
        lstm: {
          ...loop,
          window: p.window,
          units: p.units,
          maxTrainWindows: p.maxTrainWindows,
          windowScore: p.windowScore,
        },
      },
    };
  }
  // flow-lm: tokenise as the detector does (its own training-row cap, then the tokenizer) and hand over tokens.
  if (p.dropout > 0) return "torch peer has no dropout";
  const cap = p.maxTrainRows as number;
  const rows = fitOn.rows > cap
    ? pick(fitOn, Array.from(new Rng(0).sampleIndices(fitOn.rows, cap)).sort((a, b) => a - b))
    : fitOn;
  const tok = fitTokenizer(rows, {
    bins: p.bins,
    outEdges: p.outOfRange === "single" ? [] : OUT_OF_RANGE_EDGES,
  });
  return {
    ...base,
    lmTrain: await files.path(tok.encode(rows)),
    lmTest: await files.path(tok.encode(test)),
    models: {
      "flow-lm": {
        ...loop,
        vocab: tok.fields.map((f) => f.labels.length),
        layers: p.layers,
        heads: p.heads,
        width: p.width,
        mlpRatio: p.mlpRatio,
        context: p.context,
      },
    },
  };
}

if (import.meta.main) await main(Deno.args);
