/**
 * The bridge from protocol dataset names to src/data's {@link loadDataset},
 * returning the frame plus the files it came from (hashed into data.json).
 *
 * @module
 */
import type pl from "nodejs-polars";
import { familyOf, loadDataset } from "../data/datasets.ts";
import { listSourceFiles } from "../data/csv.ts";
import { resolveSource } from "../data/source.ts";

/** Loads a dataset by name (or name + `path`) for a protocol. */
export function loadForProtocol(
  name: string,
  opts: { path?: string; features?: string },
): Promise<{ frame: pl.DataFrame; files: string[] }> {
  const fam = familyOf(name);
  const d = loadDataset(opts.path ? { name, path: opts.path } : name, { features: opts.features ?? "all", warn: () => {} });
  const root = resolveSource(opts.path ?? name, fam);
  const files = listSourceFiles(root, /\.(txt|csv|data)?(\.gz)?$/i);
  return Promise.resolve({ frame: d.df, files });
}
