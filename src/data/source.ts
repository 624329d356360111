/**
 * Where datasets live: dataset names resolve to vendored files under data/ (or, for sets that are
 * not vendored whole, to ../shared/data). Also the column selection every loader ends with.
 *
 * @module
 */
import type pl from "nodejs-polars";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { InputError, UsageError } from "../util/errors.ts";
import { type DatasetSchema, featureSet, TARGET_COLUMNS } from "./schema.ts";

/** Options every loader takes. */
export interface LoaderOptions {
  /** A named feature set of the schema ("all", "kdd-header", ...) or an explicit list. Default "all". */
  features?: string | readonly string[];
  /** Called with notes about skipped rows (default: console.warn). */
  warn?: (message: string) => void;
}

/** The repository's data/ directory. */
export const DATA_DIR: string = fileURLToPath(new URL("../../data/", import.meta.url));

/** Dataset name → (family, path relative to data/). */
export const VENDORED: Readonly<Record<string, { family: string; path: string; description: string }>> = {
  "nsl-kdd-train": {
    family: "nsl-kdd",
    path: "nsl-kdd/KDDTrain+.txt.gz",
    description: "NSL-KDD KDDTrain+ (125,973 rows)",
  },
  "nsl-kdd-train-20": {
    family: "nsl-kdd",
    path: "nsl-kdd/KDDTrain+_20Percent.txt.gz",
    description: "NSL-KDD KDDTrain+_20Percent (25,192 rows)",
  },
  "nsl-kdd-test": {
    family: "nsl-kdd",
    path: "nsl-kdd/KDDTest+.txt.gz",
    description: "NSL-KDD KDDTest+ (22,544 rows)",
  },
  "nsl-kdd-test-21": {
    family: "nsl-kdd",
    path: "nsl-kdd/KDDTest-21.txt.gz",
    description: "NSL-KDD KDDTest-21, the harder test subset (11,850 rows)",
  },
  "kdd99-train": {
    family: "kdd99",
    path: "kdd99/kddcup.data_10_percent.gz",
    description: "KDD Cup 99 10% training set (494,021 rows)",
  },
  "kdd99-test": {
    family: "kdd99",
    path: "kdd99/corrected.gz",
    description: "KDD Cup 99 labelled test set 'corrected' (311,029 rows)",
  },
  "cic-ids2017": {
    family: "cic-ids2017",
    path: "cic-ids2017",
    description: "CIC-IDS2017 improved, sample of up to 2,500 flows per class (25,127 rows)",
  },
};

/** Dataset names that need an explicit path (nothing vendored). */
export const PATH_ONLY: Readonly<Record<string, { family: string; description: string }>> = {
  "unsw-nb15": {
    family: "unsw-nb15",
    description: "UNSW-NB15 training/testing CSV or raw UNSW-NB15_1..4.csv (path required)",
  },
};

/**
 * Resolves a loader's source: a known dataset name of `family` → the vendored path; anything that
 * exists on disk → itself. Throws InputError for names that are neither.
 */
export function resolveSource(source: string, family: string): string {
  const v = VENDORED[source];
  if (v) {
    if (v.family !== family) throw new UsageError(`dataset "${source}" is ${v.family}, not ${family}`);
    return join(DATA_DIR, v.path);
  }
  try {
    Deno.statSync(source);
    return source;
  } catch {
    const names = Object.entries(VENDORED).filter(([, x]) => x.family === family).map(([k]) => k);
    throw new InputError(
      `not a file, directory or dataset name${
        names.length ? `; known ${family} datasets: ${names.join(", ")}` : ""
      }`,
      { file: source },
    );
  }
}

/** Keeps metadata, the chosen features, then the targets, in that order. */
export function selectColumns(
  df: pl.DataFrame,
  schema: DatasetSchema,
  features: LoaderOptions["features"] = "all",
): pl.DataFrame {
  const present = new Set(df.columns);
  let feats: readonly string[];
  if (typeof features === "string") feats = featureSet(schema, features);
  else {
    const unknown = features.filter((f) => !schema.features.includes(f));
    if (unknown.length) throw new UsageError(`not ${schema.name} features: ${unknown.join(", ")}`);
    feats = features;
  }
  const cols = [
    ...schema.metadata.filter((c) => present.has(c)),
    ...feats.filter((c) => present.has(c)),
    ...TARGET_COLUMNS,
  ];
  return df.select(...cols);
}
