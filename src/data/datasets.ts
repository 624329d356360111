/**
 * One entry point for every dataset: `loadDataset("nsl-kdd-train")` or
 * `loadDataset({ name: "unsw-nb15", path: "UNSW_NB15_training-set.csv" })`, plus the summary that
 * `nadir data info` prints.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetInfo, loadDataset } from "./datasets.ts";
 * const { df, schema } = loadDataset("nsl-kdd-test-21");
 * const info = datasetInfo("nsl-kdd-test-21", df);
 * assert.ok(info.rows === 11850 && schema.name === "nsl-kdd");
 * ```
 * @module
 */
import type pl from "nodejs-polars";
import { InputError, UsageError } from "../util/errors.ts";
import { loadKdd99, loadNslKdd } from "./kdd.ts";
import { cicFromParquet, type CicOptions, loadCicIds2017 } from "./cicids2017.ts";
import { loadUnswNb15 } from "./unsw_nb15.ts";
import {
  CIC_IDS2017_SCHEMA,
  type DatasetSchema,
  featureColumns,
  KDD99_SCHEMA,
  NSL_KDD_SCHEMA,
  schemaOf,
  UNSW_NB15_SCHEMA,
} from "./schema.ts";
import { type LoaderOptions, PATH_ONLY, VENDORED } from "./source.ts";
import { atParquetRow, isParquetPath } from "./csv.ts";

/** Whether the family's files name their columns on a first line (the KDD files do not). */
export function hasHeader(family: string): boolean {
  return family !== "nsl-kdd" && family !== "kdd99";
}

/** A dataset reference: a name, or a name (family) with a path. */
export type DatasetRef = string | { name: string; path?: string };

/** What {@link loadDataset} returns. */
export interface LoadedDataset {
  /** The name asked for. */
  name: string;
  schema: DatasetSchema;
  df: pl.DataFrame;
  /** Feature columns present in `df`. */
  features: string[];
}

/** Every dataset name with its family and description. */
export function datasetNames(): { name: string; family: string; description: string; path?: string }[] {
  return [
    ...Object.entries(VENDORED).map(([name, v]) => ({
      name,
      family: v.family,
      description: v.description,
      path: `data/${v.path}`,
    })),
    ...Object.entries(PATH_ONLY).map(([name, v]) => ({ name, family: v.family, description: v.description })),
  ];
}

const FAMILIES: Record<
  string,
  {
    load: (src: string, o: CicOptions) => pl.DataFrame;
    schema: DatasetSchema;
    /** Loads a frame read from Parquet straight from its columns, or undefined (then its CSV text is parsed). */
    fromParquet?: (raw: pl.DataFrame, file: string, o: CicOptions) => pl.DataFrame | undefined;
  }
> = {
  "nsl-kdd": { load: loadNslKdd, schema: NSL_KDD_SCHEMA },
  "kdd99": { load: loadKdd99, schema: KDD99_SCHEMA },
  "cic-ids2017": { load: loadCicIds2017, schema: CIC_IDS2017_SCHEMA, fromParquet: cicFromParquet },
  "unsw-nb15": { load: loadUnswNb15, schema: UNSW_NB15_SCHEMA },
};

/**
 * A piece of a Parquet file of dataset family `family` (`raw`, as read) loaded as the family's loader loads
 * the same rows of a CSV, straight from the columns where the family can (CIC-IDS2017: ~2× faster than
 * parsing the rows' CSV text); undefined where only that text can tell, and the caller parses it.
 */
export function fromParquet(
  family: string,
  raw: pl.DataFrame,
  file: string,
  opts: LoaderOptions & CicOptions = {},
): pl.DataFrame | undefined {
  try {
    return FAMILIES[familyOf(family)].fromParquet?.(raw, file, opts);
  } catch (e) {
    throw atParquetRow(e, hasHeader(familyOf(family)), file);
  }
}

/** The family ("nsl-kdd", "kdd99", "cic-ids2017", "unsw-nb15") a dataset name or family name belongs to. */
export function familyOf(name: string): string {
  const fam = VENDORED[name]?.family ?? PATH_ONLY[name]?.family ?? (FAMILIES[name] ? name : undefined);
  if (!fam) {
    throw new InputError(
      `unknown dataset "${name}"; expected one of ${
        [...Object.keys(VENDORED), ...Object.keys(PATH_ONLY)].join(", ")
      }`,
    );
  }
  return fam;
}

/**
 * Loads a dataset by name (vendored file) or by name + path. With a path, `name` may be a dataset
 * name or a family ("nsl-kdd", "kdd99", "cic-ids2017", "unsw-nb15").
 */
export function loadDataset(ref: DatasetRef, opts: LoaderOptions & CicOptions = {}): LoadedDataset {
  const { name, path } = typeof ref === "string" ? { name: ref, path: undefined } : ref;
  const fam = familyOf(name);
  if (!path && !VENDORED[name]) {
    throw new UsageError(
      `dataset "${name}" has no vendored copy: give its path (--path FILE or { name, path })`,
    );
  }
  let df: pl.DataFrame;
  try {
    df = FAMILIES[fam].load(path ?? name, opts);
  } catch (e) {
    // A Parquet file reaches the loaders as CSV text (readBytes): its errors name rows, not lines of that text.
    const file = e instanceof InputError ? e.location.file : undefined;
    if (file === undefined || !isParquetPath(file)) throw e;
    throw atParquetRow(e, hasHeader(fam), file);
  }
  const schema = schemaOf(df) ?? FAMILIES[fam].schema;
  return {
    name,
    schema,
    df,
    features: featureColumns(df, typeof opts.features === "string" ? opts.features : opts.features ?? "all"),
  };
}

/** The summary `nadir data info` prints. */
export interface DatasetInfo {
  dataset: string;
  rows: number;
  columns: number;
  features: number;
  label_counts: { "0": number; "1": number };
  category_counts: Record<string, number>;
}

/** Counts rows, columns, features, labels and categories of a loaded frame. */
export function datasetInfo(name: string, df: pl.DataFrame, features?: readonly string[]): DatasetInfo {
  const labels = df.getColumn("label").toTypedArray() as Int32Array;
  let ones = 0;
  for (let i = 0; i < labels.length; i++) ones += labels[i];
  const cats: Record<string, number> = {};
  for (
    const r of df.getColumn("category").valueCounts().toRecords() as { category: string; count: number }[]
  ) {
    cats[r.category] = Number(r.count);
  }
  const sorted = Object.fromEntries(
    Object.entries(cats).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
  );
  return {
    dataset: name,
    rows: df.height,
    columns: df.width,
    features: (features ?? featureColumns(df)).length,
    label_counts: { "0": df.height - ones, "1": ones },
    category_counts: sorted,
  };
}
