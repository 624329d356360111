/**
 * Provenance for figures and reports: which code (git sha), which data
 * (sha256 of the input files), when, and which nadir version. Stamped on every
 * saved figure and in every report footer so a slide can be traced back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { provenance } from "./provenance.ts";
 * const p = await provenance({ source: "NSL-KDD" });
 * assert.notEqual(p.version, undefined);
 * assert.notEqual(p.date, undefined);
 * assert.equal(p.source, "NSL-KDD");
 * ```
 * @module
 */
import { fileSha256 as sha256OfFile, sha256Hex } from "../util/hash.ts";
import { fileURLToPath } from "node:url";
import { VERSION } from "../version.ts";
import { gitCommit } from "../util/git.ts";
import type { Provenance } from "./figure.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Short git commit (10 digits) of the checkout `cwd` is in, or undefined outside one. */
export function gitSha(cwd: string = ROOT): string | undefined {
  return gitCommit(cwd, 10);
}

const shaCache = new Map<string, string>();

/** sha256 (hex) of a file, streamed; cached per path+size+mtime for the process. */
export async function fileSha256(path: string): Promise<string> {
  const st = await Deno.stat(path);
  const key = `${path}:${st.size}:${st.mtime?.getTime()}`;
  const hit = shaCache.get(key);
  if (hit) return hit;
  const out = await sha256OfFile(path);
  shaCache.set(key, out);
  return out;
}

/** Files under `path` (itself when it is a file), sorted, recursively. */
async function expandFiles(path: string): Promise<string[]> {
  const st = await Deno.stat(path);
  if (!st.isDirectory) return [path];
  const out: string[] = [];
  for await (const e of Deno.readDir(path)) {
    for (const f of await expandFiles(`${path}/${e.name}`)) out.push(f);
  }
  return out.sort();
}

/**
 * One sha256 over several files (their individual digests in the given
 * order; a folder counts as its files, sorted); first 16 hex digits.
 */
export async function dataSha256(paths: string[]): Promise<string | undefined> {
  if (paths.length === 0) return undefined;
  const files: string[] = [];
  for (const p of paths) for (const f of await expandFiles(p)) files.push(f);
  paths = files;
  if (paths.length === 1) return (await fileSha256(paths[0])).slice(0, 16);
  const digests = await Promise.all(paths.map(fileSha256));
  return sha256Hex(new TextEncoder().encode(digests.join(""))).slice(0, 16);
}

/** Builds a {@link Provenance}: git sha, UTC date, nadir version and the sha256 of `dataFiles`. */
export async function provenance(
  opts: { dataFiles?: string[]; source?: string; date?: Date } = {},
): Promise<Provenance> {
  return {
    gitSha: gitSha(),
    date: (opts.date ?? new Date()).toISOString().slice(0, 16).replace("T", " ") + " UTC",
    dataSha: await dataSha256(opts.dataFiles ?? []),
    version: VERSION,
    source: opts.source,
  };
}
