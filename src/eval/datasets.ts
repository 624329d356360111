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

const cache = new Map<string, { frame: pl.DataFrame; files: string[] }>();

/**
 * Loads a dataset by name (or name + `path`) for a protocol. Frames are cached
 * per (name, path, features) for the life of the process: seeds and protocols
 * that share a file parse it once (frames are never mutated).
 */
export function loadForProtocol(
  name: string,
  opts: { path?: string; features?: string },
): Promise<{ frame: pl.DataFrame; files: string[] }> {
  const key = JSON.stringify([name, opts.path ?? "", opts.features ?? "all"]);
  const hit = cache.get(key);
  if (hit) return Promise.resolve(hit);
  const fam = familyOf(name);
  const d = loadDataset(opts.path ? { name, path: opts.path } : name, {
    features: opts.features ?? "all",
    warn: () => {},
  });
  const root = resolveSource(opts.path ?? name, fam);
  const files = listSourceFiles(root, /\.(txt|csv|data)?(\.gz)?$/i);
  const out = { frame: d.df, files };
  cache.set(key, out);
  return Promise.resolve(out);
}
