/**
 * Evaluation protocols: which rows a detector trains on, which benign rows set
 * its threshold, and which rows it is tested on — fixed and named so nadir's
 * numbers are comparable with the papers that defined them (docs/protocols.md).
 *
 * Every protocol is semi-supervised: the detector fits on rows of the
 * protocol's *normal* class only; a seeded, held-out part of those training
 * rows (`validation`) is scored to fit the threshold, so the headline F1 never
 * uses test labels.
 *
 * Splits are pure functions of (labels, seed), see {@link splitRows}; loading
 * goes through src/data loaders.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitRows } from "./protocols.ts";
 * const isNormal = Uint8Array.from([1, 1, 1, 1, 0, 0]);
 * const s = splitRows(isNormal, { trainFraction: 0.5, validationFraction: 0.5, seed: 1 });
 * assert.ok(s.train.length + s.validation.length === 2 && s.test.length === 4);
 * ```
 * @module
 */
import type pl from "nodejs-polars";
import { Rng } from "../util/random.ts";
import { InputError, UsageError } from "../util/errors.ts";

/** One test set: rows of a frame with the protocol's labels (1 = the protocol's anomaly class). */
export interface TestSet {
  /** Name used in file names: the main set writes metrics.json, others metrics.<name>.json. */
  name: string;
  /** Which loaded frame the rows index into. */
  frame: string;
  rows: Uint32Array;
  /** 1 = anomaly under this protocol. */
  y: Uint8Array;
  /** Category per row (attack family, "normal" for the dataset's benign class). */
  category: string[];
}

/** A protocol instantiated for one seed. */
export interface ProtocolSplit {
  protocol: string;
  seed: number;
  /** Loaded frames by dataset name. */
  frames: Record<string, pl.DataFrame>;
  /** Source files (for data.json sha256). */
  files: string[];
  /** Rows the detector fits on. */
  train: { frame: string; rows: Uint32Array };
  /** Held-out normal training rows whose scores fit the threshold. */
  validation: { frame: string; rows: Uint32Array };
  /** Test sets, main one first. */
  tests: TestSet[];
  /**
   * Attack rows of the *training* file that no test set contains, where the protocol lets a method
   * see them for model selection (src/eval/search.ts) — never for fitting. Absent when the
   * protocol's only anomalies are test rows.
   */
  labelledTrainingAnomalies?: { frame: string; rows: Uint32Array };
  /** Protocol-specific notes recorded in data.json. */
  notes: string[];
}

/** Options a run passes to a protocol. */
export interface ProtocolOptions {
  seed: number;
  /** Fraction of the normal training rows held out for the threshold (protocol default when omitted). */
  validationFraction?: number;
  /** Dataset paths overriding the vendored defaults (e.g. `{ "unsw-nb15-train": "/data/UNSW_NB15_training-set.csv" }`). */
  paths?: Record<string, string>;
  /** Feature set name passed to the loaders. */
  features?: string;
  /** --quick: cap rows (train, validation, and each test set) to this many, stratified by label. */
  maxRows?: number;
}

/** A named protocol. */
export interface Protocol {
  name: string;
  summary: string;
  /** Citation for the protocol's definition. */
  citation: string;
  /** Main test set name. */
  mainTest: string;
  defaultValidationFraction: number;
  /**
   * Dataset files the user must supply (keys of `paths`, e.g. "unsw-nb15-train"): the protocol's data
   * is not in the repository. A run without them stops before it writes anything.
   */
  requiredPaths?: string[];
  load(options: ProtocolOptions): Promise<ProtocolSplit> | ProtocolSplit;
}

/** Result of {@link splitRows}: indices into the frame. */
export interface RowSplit {
  train: Uint32Array;
  validation: Uint32Array;
  /** Normal rows not used for training (go to the test set). */
  test: Uint32Array;
}

/**
 * Seeded split of the normal rows (`isNormal[i] = 1`): a random `trainFraction`
 * of them for training, of which `validationFraction` is held out for the
 * threshold; the remaining normal rows plus (when `withOthers`) all other rows
 * form the test rows (in frame order).
 */
export function splitRows(
  isNormal: Uint8Array,
  opts: { trainFraction: number; validationFraction: number; seed: number; withOthers?: boolean },
): RowSplit {
  const normal: number[] = [];
  for (let i = 0; i < isNormal.length; i++) if (isNormal[i]) normal.push(i);
  const rng = new Rng(opts.seed);
  const perm = rng.shuffle(Uint32Array.from(normal));
  const nTrain = Math.round(perm.length * opts.trainFraction);
  const nVal = Math.round(nTrain * opts.validationFraction);
  const validation = perm.slice(0, nVal).sort();
  const train = perm.slice(nVal, nTrain).sort();
  const inTrain = new Uint8Array(isNormal.length);
  for (let k = 0; k < nTrain; k++) inTrain[perm[k]] = 1;
  const test: number[] = [];
  for (let i = 0; i < isNormal.length; i++) {
    if (inTrain[i]) continue;
    if (isNormal[i] || (opts.withOthers ?? true)) test.push(i);
  }
  return { train, validation, test: Uint32Array.from(test) };
}

/** A seeded random subset of `rows` of size `k` (in frame order). */
export function subsample(rows: Uint32Array, k: number, seed: number): Uint32Array {
  if (k >= rows.length) return rows;
  const pick = new Rng(seed).sampleIndices(rows.length, k);
  return Uint32Array.from(pick, (j) => rows[j]).sort();
}

/** Caps a test set at `max` rows keeping the class ratio (for --quick). */
export function capStratified(rows: Uint32Array, y: Uint8Array, max: number, seed: number): Uint32Array {
  if (rows.length <= max) return rows;
  const pos: number[] = [], neg: number[] = [];
  rows.forEach((_r, k) => (y[k] ? pos : neg).push(k));
  const kp = Math.max(pos.length ? 1 : 0, Math.round((max * pos.length) / rows.length));
  const kn = Math.max(neg.length ? 1 : 0, max - kp);
  const rng = new Rng(seed);
  const pickP = rng.sampleIndices(pos.length, Math.min(kp, pos.length));
  const pickN = rng.sampleIndices(neg.length, Math.min(kn, neg.length));
  const keep = [...Array.from(pickP, (j) => pos[j]), ...Array.from(pickN, (j) => neg[j])].sort((a, b) =>
    a - b
  );
  return Uint32Array.from(keep, (k) => rows[k]);
}

/** Column values of a frame as JS arrays. */
function strings(df: pl.DataFrame, col: string): string[] {
  if (!df.columns.includes(col)) throw new InputError(`loaded frame lacks the "${col}" column`);
  return df.getColumn(col).toArray().map((v: unknown) => String(v));
}

function labels(df: pl.DataFrame): Uint8Array {
  if (!df.columns.includes("label")) throw new InputError(`loaded frame lacks the "label" column`);
  return Uint8Array.from(df.getColumn("label").toArray() as number[]);
}

/** Indices of the rows whose value is `v`. */
function rowsWhere(a: Uint8Array, v: number): Uint32Array {
  const out: number[] = [];
  a.forEach((x, i) => x === v && out.push(i));
  return Uint32Array.from(out);
}

function pick<T>(a: ArrayLike<T>, rows: Uint32Array): T[] {
  return Array.from(rows, (r) => a[r]);
}

/** How a dataset name becomes a frame and its files (set by the data layer). */
export interface DatasetLoader {
  load(
    name: string,
    opts: { path?: string; features?: string },
  ): Promise<{ frame: pl.DataFrame; files: string[] }>;
}

/** The default loader: src/data's loaders, imported lazily so protocols stay cheap to list. */
export const defaultLoader: DatasetLoader = {
  async load(name, opts) {
    const data = await import("./datasets.ts");
    return data.loadForProtocol(name, opts);
  },
};

let loader: DatasetLoader = defaultLoader;

/** Replaces the dataset loader (tests use this to inject small frames). Returns the previous one. */
export function setDatasetLoader(l: DatasetLoader): DatasetLoader {
  const prev = loader;
  loader = l;
  return prev;
}

async function load(name: string, opts: ProtocolOptions, pathKey = name) {
  return await loader.load(name, { path: opts.paths?.[pathKey], features: opts.features });
}

/**
 * {@link splitRows} with the validation fraction the run asked for, else the
 * protocol's default, and the run's seed.
 */
function splitFor(
  p: Protocol,
  opts: ProtocolOptions,
  isNormal: Uint8Array,
  split: { trainFraction: number; withOthers?: boolean },
): RowSplit {
  return splitRows(isNormal, {
    ...split,
    validationFraction: opts.validationFraction ?? p.defaultValidationFraction,
    seed: opts.seed,
  });
}

/** Training and validation rows of a split, both from the frame called `frame`. */
function fitRows(frame: string, s: RowSplit): Pick<ProtocolSplit, "train" | "validation"> {
  return { train: { frame, rows: s.train }, validation: { frame, rows: s.validation } };
}

/** A test set of every row of `df` (the frame called `frame`), with its labels and categories. */
function wholeFrameTest(name: string, frame: string, df: pl.DataFrame): TestSet {
  return {
    name,
    frame,
    rows: Uint32Array.from({ length: df.height }, (_, i) => i),
    y: labels(df),
    category: strings(df, "category"),
  };
}

function finish(split: ProtocolSplit, opts: ProtocolOptions): ProtocolSplit {
  const max = opts.maxRows;
  if (!max) return split;
  split.train.rows = subsample(split.train.rows, max, opts.seed + 11);
  split.validation.rows = subsample(split.validation.rows, Math.max(50, Math.round(max / 4)), opts.seed + 12);
  const a = split.labelledTrainingAnomalies;
  if (a) a.rows = subsample(a.rows, Math.max(50, Math.round(max / 4)), opts.seed + 14);
  split.tests = split.tests.map((t, i) => {
    const keep = capStratified(t.rows, t.y, max, opts.seed + 13 + i);
    if (keep === t.rows) return t;
    const pos = new Map<number, number>();
    t.rows.forEach((r, k) => pos.set(r, k));
    const ks = Array.from(keep, (r) => pos.get(r)!);
    return {
      ...t,
      rows: keep,
      y: Uint8Array.from(ks, (k) => t.y[k]),
      category: ks.map((k) => t.category[k]),
    };
  });
  split.notes.push(`--quick: at most ${max} rows per split`);
  return split;
}

const kddcupDagmm: Protocol = {
  name: "kddcup-dagmm",
  summary:
    "KDD'99 10 %: 'normal' (≈20 %) is the anomaly class; train on a random 50 % of the attack rows; test on the rest plus all 'normal' rows",
  citation:
    "Zong et al., Deep Autoencoding Gaussian Mixture Model for Unsupervised Anomaly Detection, ICLR 2018, §4.1",
  mainTest: "test",
  defaultValidationFraction: 0.1,
  async load(opts) {
    const { frame, files } = await load("kdd99-train", opts);
    const attack = strings(frame, "attack");
    const cat = strings(frame, "category");
    // DAGMM's twist: the minority 'normal' class is the anomaly, the attacks are the "normal" data.
    const isNormalClass = Uint8Array.from(attack, (a) => (a === "normal" ? 0 : 1));
    const s = splitFor(this, opts, isNormalClass, { trainFraction: 0.5 });
    const y = Uint8Array.from(s.test, (r) => (attack[r] === "normal" ? 1 : 0));
    return finish({
      protocol: this.name,
      seed: opts.seed,
      frames: { "kdd99-train": frame },
      files,
      ...fitRows("kdd99-train", s),
      tests: [{ name: "test", frame: "kdd99-train", rows: s.test, y, category: pick(cat, s.test) }],
      notes: [
        "label inverted: rows labelled 'normal' are the anomaly class (y=1); attacks are the normal class",
      ],
    }, opts);
  },
};

const kddcupRev: Protocol = {
  name: "kddcup-rev",
  summary:
    "KDD'99 10 %: 'normal' is normal; attacks subsampled to 25 % of the normal count; train on a random 50 % of normal rows; test on the rest plus the sampled attacks",
  citation:
    "Bergman & Hoshen, Classification-Based Anomaly Detection for General Data (GOAD), ICLR 2020, §5.2",
  mainTest: "test",
  defaultValidationFraction: 0.1,
  async load(opts) {
    const { frame, files } = await load("kdd99-train", opts);
    const y0 = labels(frame);
    const cat = strings(frame, "category");
    const normalRows: number[] = [], attackRows: number[] = [];
    y0.forEach((v, i) => (v ? attackRows : normalRows).push(i));
    const nAttack = Math.round(normalRows.length * 0.25);
    const attacks = subsample(Uint32Array.from(attackRows), nAttack, opts.seed + 7);
    const isNormal = Uint8Array.from(y0, (v) => 1 - v);
    const s = splitFor(this, opts, isNormal, { trainFraction: 0.5, withOthers: false });
    const test = Uint32Array.from([...s.test, ...attacks]).sort();
    return finish({
      protocol: this.name,
      seed: opts.seed,
      frames: { "kdd99-train": frame },
      files,
      ...fitRows("kdd99-train", s),
      tests: [{
        name: "test",
        frame: "kdd99-train",
        rows: test,
        y: Uint8Array.from(test, (r) => y0[r]),
        category: pick(cat, test),
      }],
      notes: [`attacks subsampled to ${nAttack} rows (25 % of ${normalRows.length} normal rows)`],
    }, opts);
  },
};

const nslKdd: Protocol = {
  name: "nsl-kdd",
  summary: "NSL-KDD: train on KDDTrain+ normal rows; test on KDDTest+ (main) and KDDTest-21",
  citation: "Tavallaee et al., A Detailed Analysis of the KDD CUP 99 Data Set, CISDA 2009",
  mainTest: "KDDTest+",
  defaultValidationFraction: 0.1,
  async load(opts) {
    const tr = await load("nsl-kdd-train", opts);
    const te = await load("nsl-kdd-test", opts);
    const t21 = await load("nsl-kdd-test-21", opts);
    const y0 = labels(tr.frame);
    const s = splitFor(this, opts, Uint8Array.from(y0, (v) => 1 - v), {
      trainFraction: 1,
      withOthers: false,
    });
    return finish({
      protocol: this.name,
      seed: opts.seed,
      frames: { "nsl-kdd-train": tr.frame, "nsl-kdd-test": te.frame, "nsl-kdd-test-21": t21.frame },
      files: [...tr.files, ...te.files, ...t21.files],
      ...fitRows("nsl-kdd-train", s),
      labelledTrainingAnomalies: { frame: "nsl-kdd-train", rows: rowsWhere(y0, 1) },
      tests: [
        wholeFrameTest("KDDTest+", "nsl-kdd-test", te.frame),
        wholeFrameTest("KDDTest-21", "nsl-kdd-test-21", t21.frame),
      ],
      notes: [],
    }, opts);
  },
};

const cicIds2017: Protocol = {
  name: "cic-ids2017",
  summary:
    "CIC-IDS2017 improved sample: train on a seeded half of the benign rows; test on the other half plus all attack rows",
  citation: "Sharafaldin et al., ICISSP 2018 (CIC-IDS2017); Engelen et al., WTMC 2021 (improved labels)",
  mainTest: "test",
  defaultValidationFraction: 0.2,
  async load(opts) {
    const { frame, files } = await load("cic-ids2017", opts);
    const y0 = labels(frame);
    const s = splitFor(this, opts, Uint8Array.from(y0, (v) => 1 - v), { trainFraction: 0.5 });
    const attack = frame.columns.includes("attack") ? strings(frame, "attack") : strings(frame, "category");
    return finish({
      protocol: this.name,
      seed: opts.seed,
      frames: { "cic-ids2017": frame },
      files,
      ...fitRows("cic-ids2017", s),
      // per-class recall uses the attack name (15 classes), not the coarser family
      tests: [{
        name: "test",
        frame: "cic-ids2017",
        rows: s.test,
        y: Uint8Array.from(s.test, (r) => y0[r]),
        category: pick(attack, s.test),
      }],
      notes: [
        "per_category is per attack class (CIC label); intervals matter: several classes have < 40 rows",
      ],
    }, opts);
  },
};

const unswNb15: Protocol = {
  name: "unsw-nb15",
  summary:
    "UNSW-NB15: train on normal rows of the training set; test on the testing set (files supplied by the user)",
  citation:
    "Moustafa & Slay, UNSW-NB15: a comprehensive data set for network intrusion detection systems, MilCIS 2015",
  mainTest: "test",
  defaultValidationFraction: 0.1,
  requiredPaths: ["unsw-nb15-train", "unsw-nb15-test"],
  async load(opts) {
    const trPath = opts.paths?.["unsw-nb15-train"], tePath = opts.paths?.["unsw-nb15-test"];
    if (!trPath || !tePath) {
      throw new UsageError(
        'protocol unsw-nb15 needs the official files: set paths {"unsw-nb15-train": "UNSW_NB15_training-set.csv", "unsw-nb15-test": "UNSW_NB15_testing-set.csv"} in the experiment config',
      );
    }
    const tr = await loader.load("unsw-nb15", { path: trPath, features: opts.features });
    const te = await loader.load("unsw-nb15", { path: tePath, features: opts.features });
    const y0 = labels(tr.frame);
    const s = splitFor(this, opts, Uint8Array.from(y0, (v) => 1 - v), {
      trainFraction: 1,
      withOthers: false,
    });
    return finish({
      protocol: this.name,
      seed: opts.seed,
      frames: { "unsw-nb15-train": tr.frame, "unsw-nb15-test": te.frame },
      files: [...tr.files, ...te.files],
      ...fitRows("unsw-nb15-train", s),
      labelledTrainingAnomalies: { frame: "unsw-nb15-train", rows: rowsWhere(y0, 1) },
      tests: [wholeFrameTest("test", "unsw-nb15-test", te.frame)],
      notes: [],
    }, opts);
  },
};

/** The user-supplied dataset files a run of `protocol` lacks in `paths` (empty: it can run). */
export function missingPaths(protocol: Protocol, paths: Record<string, string> = {}): string[] {
  return (protocol.requiredPaths ?? []).filter((k) => !paths[k]);
}

/** Every protocol, by name. */
export const PROTOCOLS: Readonly<Record<string, Protocol>> = Object.fromEntries(
  [kddcupDagmm, kddcupRev, nslKdd, cicIds2017, unswNb15].map((p) => [p.name, p]),
);

/** The protocol called `name`, or a UsageError listing the known ones. */
export function getProtocol(name: string): Protocol {
  const p = PROTOCOLS[name];
  if (!p) {
    throw new UsageError(`unknown protocol "${name}"; known protocols: ${Object.keys(PROTOCOLS).join(", ")}`);
  }
  return p;
}
