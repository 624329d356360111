/**
 * Models for the live side: load a saved model directory as a flow scorer
 * (monitor) or a /predict model (API), resolve its feature set, and train a
 * flow model from a benign capture (the monitor's "learn this network first"
 * path, also used by the live and dashboard tests and the bench).
 *
 * @example
 * ```ts ignore
 * import { flowScoringFromDir } from "./models.ts";
 * const scoring = await flowScoringFromDir("models/iforest-basic");
 * console.log(scoring.featureSet.name, scoring.threshold);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";
import { type LoadedModel, loadModel, saveModel } from "../detectors/model_dir.ts";
import { resolveModelDir } from "../detectors/model_history.ts";
import { createDetector } from "../detectors/registry.ts";
import {
  type BenignProfile,
  benignProfile,
  benignRange,
  checkProfile,
  explain,
  type FeatureEvidence,
  percentile,
  templateSummary,
} from "../detectors/explain.ts";
import type { Detector } from "../detectors/types.ts";
import type { FeatureDeviation } from "./alert.ts";
import { fitThreshold } from "../thresholds/index.ts";
import { forEachPacket } from "../capture/reader.ts";
import { FlowMeter } from "../flows/meter.ts";
import { FEATURE_SET_NAMES, featureSet } from "../flows/features/mod.ts";
import type { FeatureSet } from "../flows/features/types.ts";
import { modelColumns } from "../flows/corpus.ts";
import type { Transform } from "../data/preprocess.ts";
import { InputError } from "../util/errors.ts";
import { topIndices } from "../util/top.ts";
import type { PredictModel } from "./api.ts";
import type { FlowExplanation, FlowScoring } from "./monitor.ts";
import { basename } from "node:path";

// The flows registry's sets (a fresh instance each: kdd, packets and context keep state across flows),
// plus "nfstream", the monitor's name for basic.
const FEATURE_SETS: Record<string, () => FeatureSet> = {
  ...Object.fromEntries(FEATURE_SET_NAMES.map((n) => [n, () => featureSet(n) as FeatureSet])),
  nfstream: () => featureSet("basic") as FeatureSet,
};

/** The numeric, non-metadata columns of a feature set (src/flows/corpus.ts). */
export { modelColumns };

/**
 * The feature set called `name`: a {@link FEATURE_SET_NAMES} name, or "nfstream" for basic; always a fresh
 * instance.
 */
export function featureSetByName(name: string): FeatureSet {
  const fs = FEATURE_SETS[name];
  if (!fs) {
    throw new InputError(
      `unknown feature set "${name}"; the monitor computes: ${Object.keys(FEATURE_SETS).join(", ")}`,
    );
  }
  return fs();
}

/** The first feature set (basic, cic, kdd, packets, context) whose columns include every name, if any. */
export function inferFeatureSet(names: readonly string[]): FeatureSet | undefined {
  for (const name of FEATURE_SET_NAMES) {
    const fs = featureSet(name) as FeatureSet;
    const cols = new Set(fs.columns.map((c) => c.name));
    if (names.every((n) => cols.has(n))) return fs;
  }
  return undefined;
}

/**
 * The model's saved transform, restored and checked by src/detectors/predict.ts (the code `nadir
 * predict` uses), or null. Imported only when there is one: src/data/preprocess.ts loads polars'
 * native library (+0.2 s, +18 MiB at start), which a model without a transform never needs.
 */
async function transformOfModel(m: LoadedModel): Promise<Transform | null> {
  if (m.transform === null || m.transform === undefined) return null;
  const { transformOf } = await import("../detectors/predict.ts");
  return transformOf(m);
}

/**
 * Loads a model directory as a {@link FlowScoring} for the monitor. A model trained by `nadir train`
 * carries a preprocessing transform (scaling, one-hot categories, non-finite fill): its input columns
 * must be columns of the feature set, which the monitor computes per flow and hands to the transform
 * before scoring. The feature set is the manifest's `features.set` when it names one the monitor
 * computes (basic, cic, kdd, packets, context, hosts), else the first whose columns include every input column (`nadir train`
 * records "all" unless `--features` names the set).
 */
export async function flowScoringFromDir(modelOrHistory: string): Promise<FlowScoring> {
  const dir = await resolveModelDir(modelOrHistory); // a model history scores with its head version
  const m = await loadModel(dir);
  const transform = await transformOfModel(m);
  // Raw columns read from each flow: the transform's inputs, or the model's features as they are.
  const inputs = transform ? transform.inputColumns : m.featureNames;
  const setName = m.manifest.features.set;
  let fs: FeatureSet | undefined;
  if (setName && FEATURE_SETS[setName]) fs = FEATURE_SETS[setName]();
  else fs = inferFeatureSet(inputs);
  if (!fs) {
    throw new InputError(
      `the model's ${transform ? "input columns" : "features"} (${inputs.slice(0, 5).join(", ")}${
        inputs.length > 5 ? ", ..." : ""
      }) ` +
        `are not columns of a feature set the monitor computes from packets (${
          Object.keys(FEATURE_SETS).join(", ")
        })`,
      { file: `${dir}/manifest.json`, column: transform ? "transform.columns" : "features" },
    );
  }
  const colType = new Map(fs.columns.map((c) => [c.name, c.type]));
  const missing = inputs.filter((n) => !colType.has(n));
  if (missing.length) {
    throw new InputError(`features ${missing.join(", ")} are not columns of feature set ${fs.name}`, {
      file: `${dir}/manifest.json`,
      column: transform ? "transform.columns" : "features.names",
    });
  }
  let featureNames: readonly string[] = m.featureNames;
  let categoricalNames: string[] | undefined;
  if (transform) {
    const cats = transform.columns.filter((c) => c.kind === "categorical").map((c) => c.name);
    featureNames = transform.columns.filter((c) => c.kind === "numeric").map((c) => c.name);
    const strAsNumber = featureNames.filter((n) => colType.get(n) === "str");
    if (strAsNumber.length) {
      throw new InputError(
        `the transform reads text column(s) ${strAsNumber.join(", ")} of feature set ${fs.name} as numbers`,
        { file: `${dir}/manifest.json`, column: "transform.columns" },
      );
    }
    categoricalNames = cats;
  }
  if (!m.threshold) {
    throw new InputError(
      "the model has no threshold; fit one on benign scores when training (nadir train --threshold ...)",
      {
        file: `${dir}/manifest.json`,
        column: "threshold",
      },
    );
  }
  const profile = (m.manifest as { profile?: unknown }).profile;
  const det = m.detector;
  return {
    kind: "flow",
    name: m.manifest.detector.name,
    detector: det,
    featureSet: fs,
    featureNames,
    ...(transform ? { transform, categoricalNames } : {}),
    // Its rows count other flows (kdd's windows, the host context): one row a flow, at its end.
    ...(fs.crossFlow ? { endedOnly: true } : {}),
    threshold: m.threshold.value,
    // A profile describes the detector's input columns; alerts of a transformed model show raw
    // flow values, so the monitor's running benign statistics explain them instead.
    explain: profile && !transform
      ? flowExplainer(det, checkProfile(profile, m.featureNames.length))
      : undefined,
  };
}

function evidence(f: FeatureEvidence): FeatureDeviation {
  return {
    name: f.name,
    value: f.value as number,
    deviation: Math.round(f.share * 1000) / 1000,
    ...(f.percentile !== undefined ? { percentile: Math.round(f.percentile * 100) / 100 } : {}),
    ...(f.benignRange ? { benign_range: f.benignRange } : {}),
  };
}

/**
 * Explanations for alerts of a flow model with a benign profile. Autoencoders and the traffic language
 * model go through src/detectors/explain.ts's `explain` (their contributions need the model). For every
 * other detector the evidence is the profile deviation, which `explain` computes as
 * ((v − median) / spread)², spread = (p95 − p5)/3.29 (falling back to the range); it is computed here
 * synchronously with the same formula and wording (`percentile`, `templateSummary`): the async path
 * resolves only after several microtask hops, each of which lets the capture loop parse another chunk
 * before the alert is written.
 */
export function flowExplainer(
  det: Detector,
  profile: BenignProfile,
  top = 5,
): (names: readonly string[], values: number[], score: number) => FlowExplanation | Promise<FlowExplanation> {
  const modelBased = typeof (det as unknown as { featureErrors?: unknown }).featureErrors === "function" ||
    typeof (det as unknown as { surprisal?: unknown }).surprisal === "function";
  const lv = profile.levels;
  const at = (q: number) => lv.indexOf(q);
  const median = profile.quantiles.map((q) => q[at(0.5)]);
  const spread = profile.quantiles.map((q, j) => {
    let s = (q[at(0.95)] - q[at(0.05)]) / 3.29;
    if (!(s > 0)) s = (q[q.length - 1] - q[0]) / 3.29;
    if (!(s > 0)) s = Math.max(1e-9, Math.abs(median[j]) * 0.01, 1e-6);
    return s;
  });
  return (names, values, score) => {
    if (modelBased) {
      const x = { data: Float64Array.from(values), rows: 1, cols: names.length, names };
      return explain(det, x, 0, { profile, top }).then((ex) => ({
        summary: ex.summary,
        features: ex.features.filter((f) => typeof f.value === "number").map(evidence),
      }));
    }
    // Every feature's contribution, but the evidence (percentile, benign range) only for the `top` kept: a
    // record for each of ~60 features was a third of the explanation's cost, paid on every alert. Ties keep
    // the feature order; a NaN contribution ranks last.
    const n = names.length;
    const contribution = new Float64Array(n);
    let total = 0;
    for (let j = 0; j < n; j++) {
      const c = ((values[j] - median[j]) / spread[j]) ** 2;
      contribution[j] = c;
      total += Math.max(0, c);
    }
    const feats: FeatureEvidence[] = topIndices(contribution, top).map((j) => ({
      name: names[j],
      value: values[j],
      percentile: percentile(profile, j, values[j]),
      benignMedian: median[j],
      benignRange: benignRange(profile, j),
      contribution: contribution[j],
      share: total > 0 ? Math.max(0, contribution[j]) / total : 0,
    }));
    const base = { detector: det.name, score, method: "profile-deviation" as const, features: feats };
    return { summary: templateSummary(base), features: feats.map(evidence) };
  };
}

/**
 * Loads a model directory for POST /predict. Without a transform, rows carry the model's features
 * (`features.names`); with one (every `nadir train` model), rows carry the raw input columns, numbers
 * for numeric ones and strings for categorical ones, and the transform is applied as `nadir predict`
 * applies it (unknown categories go to the unknown bucket, non-finite values follow its nanPolicy).
 */
export async function predictModelFromDir(dir: string): Promise<PredictModel> {
  const m = await loadModel(await resolveModelDir(dir));
  const transform = await transformOfModel(m);
  const base = {
    name: basename(dir.replace(/\/+$/, "")),
    detector: m.manifest.detector.name,
    featureSet: m.manifest.features.set ?? undefined,
    threshold: m.threshold?.value,
  };
  if (!transform) {
    return { ...base, featureNames: m.featureNames, score: (x: Matrix) => m.detector.score(x) };
  }
  return {
    ...base,
    featureNames: transform.inputColumns,
    preprocessed: true,
    categorical: transform.columns.filter((c) => c.kind === "categorical").map((c) => c.name),
    allowMissing: transform.nanPolicy !== "error",
    score: (x, categories, dropped) => scoreTransformed(m.detector, transform, x, categories, dropped),
  };
}

/**
 * Applies `transform` to raw rows (numeric columns in `x`, categorical ones in `categories`) and scores
 * them; rows the transform drops (nanPolicy "drop") score NaN, so results stay one per input row,
 * and are marked 1 in `dropped` when given (to tell them from rows the detector scored NaN).
 */
export async function scoreTransformed(
  det: Detector,
  transform: Transform,
  x: Matrix,
  categories?: ReadonlyMap<string, readonly (string | null)[]>,
  dropped?: Uint8Array,
): Promise<Float64Array> {
  const num = new Map<string, Float64Array>();
  const cat = new Map<string, (string | null)[]>();
  const pos = new Map(x.names.map((n, j) => [n, j]));
  for (const c of transform.columns) {
    if (c.kind === "categorical") {
      const v = categories?.get(c.name);
      if (!v) throw new InputError(`missing categorical column "${c.name}"`, { column: c.name });
      cat.set(c.name, v as (string | null)[]);
      continue;
    }
    const j = pos.get(c.name);
    if (j === undefined) throw new InputError(`missing numeric column "${c.name}"`, { column: c.name });
    const col = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) col[i] = x.data[i * x.cols + j];
    num.set(c.name, col);
  }
  const a = transform.applyColumns(x.rows, num, cat);
  const s = a.matrix.rows ? await det.score(a.matrix) : new Float64Array(0);
  if (!a.rows) return Float64Array.from(s);
  const out = new Float64Array(x.rows).fill(NaN);
  dropped?.fill(1);
  for (let r = 0; r < a.rows.length; r++) {
    out[a.rows[r]] = s[r];
    if (dropped) dropped[a.rows[r]] = 0;
  }
  return out;
}

/** Options for {@link trainFlowModelFromPcap}. */
export interface TrainFlowOptions {
  detector?: string;
  params?: Record<string, unknown>;
  featureSet?: string;
  /** Threshold strategy and params fit on the benign training scores. Default percentile q=0.995. */
  threshold?: { strategy: string; params: Record<string, unknown> };
  seed?: number;
  idleTimeoutS?: number;
  activeTimeoutS?: number;
}

/** Meters a capture into the rows a flow model sees (same meter settings as the monitor). */
export async function flowMatrixFromPcap(
  pcap: string,
  fs: FeatureSet,
  o: { idleTimeoutS?: number; activeTimeoutS?: number } = {},
): Promise<Matrix> {
  const names = modelColumns(fs);
  const cols = fs.columns.map((c) => c.name);
  const idx = names.map((n) => cols.indexOf(n));
  const rows: number[] = [];
  const buf: (number | string)[] = new Array(cols.length);
  const meter = new FlowMeter({
    idleTimeout: o.idleTimeoutS ?? 15,
    activeTimeout: o.activeTimeoutS ?? 300,
    tcpTermination: true,
    tcpLinger: 1,
    features: fs,
    onFlow: (f) => {
      fs.row(f, f.state, buf);
      for (const i of idx) rows.push(Number(buf[i]));
    },
  });
  await forEachPacket(pcap, (p) => meter.add(p));
  meter.flush();
  const n = rows.length / names.length;
  return { data: Float64Array.from(rows), rows: n, cols: names.length, names };
}

/** Trains a flow model on a benign capture, fits its threshold on the training scores, saves it. */
export async function trainFlowModelFromPcap(
  pcap: string,
  dir: string,
  o: TrainFlowOptions = {},
): Promise<{ rows: number; threshold: number }> {
  const fs = featureSetByName(o.featureSet ?? "basic");
  const x = await flowMatrixFromPcap(pcap, fs, o);
  if (x.rows < 2) {
    throw new InputError(`expected at least 2 flows to train on, found ${x.rows}`, { file: pcap });
  }
  const name = o.detector ?? "isolation-forest";
  const d = createDetector(name, o.params ?? {}, o.seed ?? 0);
  await d.fit(x);
  const scores = await d.score(x);
  const th = o.threshold ?? { strategy: "percentile", params: { q: 0.995 } };
  const threshold = fitThreshold(th.strategy, scores, th.params);
  await saveModel(dir, {
    profile: benignProfile(x),
    detector: d,
    seed: o.seed ?? 0,
    featureNames: x.names,
    featureSet: fs.name,
    threshold,
    training: {
      rows: x.rows,
      source: basename(pcap),
      note: "benign capture metered with the monitor's flow settings",
    },
  });
  return { rows: x.rows, threshold: threshold.value };
}
