/**
 * NSL-KDD and KDD Cup 99 loaders. Both files are headerless CSV with the 41 KDD features and the
 * attack name; KDD 99 names end in '.', NSL-KDD adds a difficulty column (metadata).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadNslKdd } from "./kdd.ts";
 * import { featureColumns } from "./schema.ts";
 * const df = loadNslKdd("nsl-kdd-test-21");
 * assert.ok(df.height === 11850 && featureColumns(df).length === 41);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { type ColumnSpec, listSourceFiles, parseTable, readBytes } from "./csv.ts";
import { KDD99_SCHEMA, KDD_CATEGORICAL, KDD_FEATURES, NSL_KDD_SCHEMA } from "./schema.ts";
import { kddCategory, mapDistinct, withTargets } from "./targets.ts";
import { type LoaderOptions, resolveSource, selectColumns } from "./source.ts";

const KDD_SPECS: ColumnSpec[] = KDD_FEATURES.map((name) => ({
  name,
  type: (KDD_CATEGORICAL as readonly string[]).includes(name) ? "str" : "num",
}));

function readKdd(files: string[], nsl: boolean): pl.DataFrame {
  const columns: ColumnSpec[] = [...KDD_SPECS, { name: "raw_label", type: "str" }];
  if (nsl) columns.push({ name: "difficulty", type: "int" });
  const parts = files.map((file) =>
    parseTable(readBytes(file, { header: false }), { file, columns, header: false }).df
  );
  return parts.length === 1 ? parts[0] : pl.concat(parts, { how: "vertical" });
}

function finish(df: pl.DataFrame, nsl: boolean, opts: LoaderOptions): pl.DataFrame {
  // KDD 99 labels end in '.' ("smurf."); NSL-KDD's do not. Strip either way so names agree.
  const attack = mapDistinct(df.getColumn("raw_label"), "attack", (v) => (v ?? "").trim().replace(/\.$/, ""));
  const category = mapDistinct(attack, "category", (v) => kddCategory(v ?? ""));
  const out = withTargets(df.drop("raw_label"), attack, category);
  return selectColumns(out, nsl ? NSL_KDD_SCHEMA : KDD99_SCHEMA, opts.features);
}

/**
 * Loads NSL-KDD (KDDTrain+, KDDTrain+_20Percent, KDDTest+, KDDTest-21) from a dataset name
 * (`nsl-kdd-train`, `nsl-kdd-train-20`, `nsl-kdd-test`, `nsl-kdd-test-21`) or a path (.txt, .gz, or a
 * directory of files). Columns: difficulty, the 41 features (or `opts.features`), label, attack, category.
 */
export function loadNslKdd(source: string, opts: LoaderOptions = {}): pl.DataFrame {
  const files = listSourceFiles(resolveSource(source, "nsl-kdd"), /\.(txt|csv)(\.gz)?$/i);
  return finish(readKdd(files, true), true, opts);
}

/**
 * Loads KDD Cup 99 (`kdd99-train` = kddcup.data_10_percent, `kdd99-test` = corrected) or a path.
 * Columns: the 41 features (or `opts.features`), label, attack (without the trailing '.'), category.
 */
export function loadKdd99(source: string, opts: LoaderOptions = {}): pl.DataFrame {
  const files = listSourceFiles(resolveSource(source, "kdd99"), /\.(gz|txt|csv)$|\.data/i);
  return finish(readKdd(files, false), false, opts);
}
