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
import { dirname, resolve } from "node:path";
import { VERSION } from "../version.ts";
import { gitCommit } from "../util/git.ts";
import type { Provenance } from "./figure.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Lines of `git status --porcelain` run in `cwd` with `args`, or undefined when git fails. */
function gitStatus(cwd: string, args: string[]): string[] | undefined {
  try {
    const r = new Deno.Command("git", {
      args: ["status", "--porcelain", ...args],
      cwd,
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (!r.success) return undefined;
    return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l.trim());
  } catch {
    return undefined;
  }
}

/**
 * What rendering itself rewrites, so never counts as an uncommitted change: the reports folder
 * (executed notebooks, HTML, figures) and the feature sets 02-feature-selection writes. Otherwise the
 * second notebook of a `nadir report` run would find the first one's outputs and read "+dirty".
 */
export const RENDER_OUTPUTS: readonly string[] = ["reports", "experiments/feature-sets"];

/**
 * Whether the checkout `cwd` is in differs from its HEAD commit: a tracked
 * file anywhere in the tree except {@link RENDER_OUTPUTS} is modified, added or
 * deleted (`git status --porcelain --untracked-files=no`), or one of `paths` (a
 * notebook, say) is modified or untracked (`git status --porcelain
 * --untracked-files=all -- <paths>`). Untracked files elsewhere (result folders
 * of a running batch, scratch files) do not count. Undefined outside a checkout.
 */
export function gitDirty(cwd: string = ROOT, paths: readonly string[] = []): boolean | undefined {
  const tree = gitStatus(cwd, [
    "--untracked-files=no",
    "--",
    ".",
    ...RENDER_OUTPUTS.map((p) => `:(exclude)${p}`),
  ]);
  if (tree === undefined) return undefined;
  if (tree.length) return true;
  if (!paths.length) return false;
  return (gitStatus(cwd, ["--untracked-files=all", "--", ...paths]) ?? []).length > 0;
}

/**
 * Short git commit (10 digits) of the checkout `cwd` is in, or undefined
 * outside one; `<sha>+dirty` when {@link gitDirty} says the checkout (or one
 * of `opts.paths`) has uncommitted changes, so a figure or report made from
 * edited code never claims to be that commit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gitSha } from "./provenance.ts";
 * const dir = Deno.makeTempDirSync();
 * assert.equal(gitSha(dir), undefined); // not a repository
 * Deno.removeSync(dir);
 * ```
 */
export function gitSha(cwd: string = ROOT, opts: { paths?: readonly string[] } = {}): string | undefined {
  const sha = gitCommit(cwd, 10);
  if (!sha) return undefined;
  return gitDirty(cwd, opts.paths) ? `${sha}+dirty` : sha;
}

const trimSlash = (p: string) => p.length > 1 ? p.replace(/\/+$/, "") : p;

/**
 * The folders whose absolute paths reports replace, each with what stands in
 * for it: the repository root (paths become relative to it), then, outside
 * the repository, the report folder `nadir report --out` writes (the parent of
 * `$NADIR_FIGURES_DIR`, shown as `<report>`), the temporary folder (`$TMPDIR`)
 * and the home folder (`~`). Longest first, so the most specific one wins.
 */
function pathRoots(root: string): [string, string][] {
  const repo = trimSlash(resolve(root));
  const inRepo = (d: string) => d === repo || d.startsWith(`${repo}/`);
  const env = (k: string) => {
    try {
      return Deno.env.get(k) || undefined;
    } catch {
      return undefined; // no --allow-env
    }
  };
  const figures = env("NADIR_FIGURES_DIR");
  const others: [string | undefined, string][] = [
    [figures ? dirname(resolve(figures)) : undefined, "<report>"],
    [env("TMPDIR") ?? "/tmp", "$TMPDIR"],
    [env("HOME"), "~"],
  ];
  const roots: [string, string][] = [[repo, ""]];
  for (const [dir, label] of others) {
    if (!dir) continue;
    const d = trimSlash(resolve(dir));
    if (d !== "/" && !inRepo(d) && !roots.some(([r]) => r === d)) roots.push([d, label]);
  }
  return roots.sort((a, b) => b[0].length - a[0].length);
}

/**
 * A path as a report shows it: relative to the repository root when inside it
 * (`reports/figures`), else relative to the report folder, `$TMPDIR` or `~`
 * (see the roots above), else only its last two components after `…/` — never
 * an absolute path of the machine that rendered the report. Relative paths
 * are taken relative to the working directory first (the kernel's is notebooks/).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
 * import { repoPath } from "./provenance.ts";
 * const root = fileURLToPath(new URL("../../", import.meta.url));
 * assert.equal(repoPath(`${root}reports/figures`), "reports/figures");
 * assert.equal(repoPath(root), ".");
 * assert.equal(repoPath("/srv/captures/day1/a.pcap", { root: "/work/x" }), "…/day1/a.pcap");
 * ```
 */
export function repoPath(path: string, opts: { root?: string } = {}): string {
  const abs = trimSlash(resolve(path));
  for (const [dir, label] of pathRoots(opts.root ?? ROOT)) {
    if (abs === dir) return label || ".";
    if (abs.startsWith(`${dir}/`)) return (label ? `${label}/` : "") + abs.slice(dir.length + 1);
  }
  return `…/${abs.split("/").filter(Boolean).slice(-2).join("/")}`;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * `text` with every absolute path (or `file://` URL) under the repository root,
 * the report folder, `$TMPDIR` or `~` rewritten as {@link repoPath} would show
 * it. The display helpers (`md`, `table`, `provenanceNote`) apply it, so a
 * notebook that prints a folder does not leak the rendering machine's layout
 * into a report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relativePaths } from "./provenance.ts";
 * assert.equal(
 *   relativePaths("saved to `/work/x/reports/figures`, see file:///work/x/src/a.ts:3", { root: "/work/x" }),
 *   "saved to `reports/figures`, see src/a.ts:3",
 * );
 * assert.equal(relativePaths("/work/xy and /data/work/x stay", { root: "/work/x" }), "/work/xy and /data/work/x stay");
 * ```
 */
export function relativePaths(text: string, opts: { root?: string } = {}): string {
  let out = text;
  for (const [dir, label] of pathRoots(opts.root ?? ROOT)) {
    if (!out.includes(dir)) continue;
    const d = escapeRe(dir);
    out = out
      .replace(new RegExp(`(?<![\\w.~/-])(?:file://)?${d}/`, "g"), label ? `${label}/` : "")
      .replace(new RegExp(`(?<![\\w.~/-])(?:file://)?${d}(?![\\w.@~+-])`, "g"), label || ".");
  }
  return out;
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

/**
 * Builds a {@link Provenance}: git sha ({@link gitSha}: `+dirty` when tracked
 * files are modified, or when one of `paths` — a notebook, say, relative to
 * the working directory — is modified or untracked), UTC date, nadir version
 * and the sha256 of `dataFiles`.
 */
export async function provenance(
  opts: { dataFiles?: string[]; source?: string; date?: Date; paths?: string[] } = {},
): Promise<Provenance> {
  return {
    gitSha: gitSha(ROOT, { paths: (opts.paths ?? []).map((p) => resolve(p)) }),
    date: (opts.date ?? new Date()).toISOString().slice(0, 16).replace("T", " ") + " UTC",
    dataSha: await dataSha256(opts.dataFiles ?? []),
    version: VERSION,
    source: opts.source,
  };
}
