/**
 * What a rendered report was built from, and whether that still holds.
 *
 * `nadir report` records, in each executed notebook's metadata
 * (`metadata.nadir.inputs`), the commit it ran at and a digest of every input:
 * the notebook itself, the src/ modules it imports (followed transitively
 * through relative imports, dynamic ones included), every result folder the
 * notebook read, and each results listing it took (which full runs a
 * `loadRuns()` call offered — a run added later changes which one a table
 * shows). `nadir report --check` recomputes them and names each input that
 * changed, so a committed report can never silently describe other code or
 * other runs than the ones it was rendered from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importSpecifiers } from "./report_inputs.ts";
 * const code = `import { a } from "../src/a.ts";\nconst b = await import("./b.ts");\nimport pl from "nodejs-polars";`;
 * assert.deepEqual(importSpecifiers(code), ["../src/a.ts", "./b.ts", "nodejs-polars"]);
 * ```
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { dataSha256, fileSha256 } from "../figures/provenance.ts";
import { gitCommit } from "../util/git.ts";
import type { InputNote } from "../util/inputs.ts";
import { InputError } from "../util/errors.ts";
import { loadRuns } from "./runs.ts";
import { exists } from "../util/fs.ts";

/** The inputs record of one rendered report. Paths are relative to the repository root. */
export interface ReportInputs {
  /** HEAD when the report was rendered (uncommitted edits are caught by the digests, not by this). */
  commit?: string;
  renderedAt: string;
  /** The source notebook → its sha256 (first 16 hex digits). */
  notebook: Record<string, string>;
  /** Every src/ module the notebook imports, transitively → sha256 (16 hex). */
  src: Record<string, string>;
  /** Every result folder the notebook read → digest over its files (16 hex). */
  results: Record<string, string>;
  /** Each results root the notebook listed, with the full runs the listing offered. */
  listings: { root: string; latestOnly: boolean; runs: string[] }[];
}

/** The module specifiers of static imports, re-exports and literal dynamic imports in `code`, in order. */
export function importSpecifiers(code: string): string[] {
  const re =
    /\b(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*[,)]|^\s*import\s*["']([^"']+)["']/gm;
  const out: string[] = [];
  for (const m of code.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/**
 * The import-map entries of `root`/deno.json that point into the repository (`"nadir/data":
 * "./src/data/mod.ts"`, or a `"prefix/": "./dir/"` entry), as absolute paths; empty without a deno.json.
 */
export function localImportMap(root: string): Map<string, string> {
  const out = new Map<string, string>();
  let imports: Record<string, unknown> = {};
  try {
    imports = JSON.parse(Deno.readTextFileSync(join(root, "deno.json"))).imports ?? {};
  } catch { /* no (readable) deno.json: relative imports only */ }
  for (const [k, v] of Object.entries(imports)) {
    if (typeof v === "string" && (v.startsWith("./") || v.startsWith("../"))) out.set(k, resolve(root, v));
  }
  return out;
}

/** `spec` through the local import map: an exact key, or the longest `prefix/` key. */
function mapSpecifier(spec: string, map: Map<string, string>): string | undefined {
  const exact = map.get(spec);
  if (exact) return exact;
  let best = "";
  for (const k of map.keys()) if (k.endsWith("/") && spec.startsWith(k) && k.length > best.length) best = k;
  return best ? join(map.get(best)!, spec.slice(best.length)) : undefined;
}

/**
 * The repository files `code` (located in `fromDir`) reaches through relative imports and through
 * deno.json's import-map entries that point into the repository (`nadir/detectors`), transitively,
 * relative to `root` and sorted. Package imports (npm:, node:, other bare names) are left out: their
 * versions are pinned by deno.lock. A relative import of a file that does not exist is skipped (doc
 * comments may show examples).
 */
export function importClosure(code: string, fromDir: string, root: string): string[] {
  const map = localImportMap(root);
  const seen = new Set<string>();
  const queue: [string, string][] = [[code, fromDir]];
  while (queue.length) {
    const [src, dir] = queue.pop()!;
    for (const spec of importSpecifiers(src)) {
      const relativeSpec = spec.startsWith("./") || spec.startsWith("../");
      const file = relativeSpec ? resolve(dir, spec) : mapSpecifier(spec, map);
      if (!file) continue;
      if (seen.has(file)) continue;
      let text: string;
      try {
        text = Deno.readTextFileSync(file);
      } catch {
        continue;
      }
      seen.add(file);
      queue.push([text, dirname(file)]);
    }
  }
  return [...seen].map((f) => relative(root, f)).sort();
}

/** A notebook cell as nbformat stores it (the fields read here). */
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
}

/** The source of each code cell of a parsed notebook, in order (also used by scripts/check_notebooks.ts). */
export function codeCellSources(nb: { cells?: NotebookCell[] }): string[] {
  return (nb.cells ?? []).filter((c) => c.cell_type === "code")
    .map((c) => Array.isArray(c.source) ? c.source.join("") : c.source);
}

/** The code cells of a notebook file, joined. */
export function notebookCode(path: string): string {
  let nb: { cells?: NotebookCell[] };
  try {
    nb = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new InputError(`cannot read notebook (${(e as Error).message})`, { file: path });
  }
  return codeCellSources(nb).join("\n");
}

async function digestMap(paths: string[], root: string, dir = false): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of paths) {
    const abs = resolve(root, p);
    out[p] = dir ? (await dataSha256([abs]))! : (await fileSha256(abs)).slice(0, 16);
  }
  return out;
}

/** Builds the inputs record of a notebook run from its source and the input notes it logged. */
export async function collectReportInputs(
  opts: { notebook: string; notes: InputNote[]; root: string; date?: Date },
): Promise<ReportInputs> {
  const root = resolve(opts.root);
  const nb = resolve(opts.notebook);
  const rel = (p: string) => relative(root, p);
  const runDirs = [...new Set(opts.notes.filter((n) => n.kind === "run").map((n) => rel(n.path)))].sort();
  const listings: ReportInputs["listings"] = [];
  const seenListing = new Set<string>();
  for (const n of opts.notes) {
    if (n.kind !== "root") continue;
    const l = { root: rel(n.path), latestOnly: !!n.latestOnly, runs: n.runs.map(rel).sort() };
    const key = JSON.stringify(l);
    if (seenListing.has(key)) continue;
    seenListing.add(key);
    listings.push(l);
  }
  return {
    commit: gitCommit(root, 10),
    renderedAt: (opts.date ?? new Date()).toISOString().slice(0, 16).replace("T", " ") + " UTC",
    notebook: await digestMap([rel(nb)], root),
    src: await digestMap(importClosure(notebookCode(nb), dirname(nb), root), root),
    results: await digestMap(runDirs, root, true),
    listings,
  };
}

/** One line per input of `inputs` that differs now under `root` (empty: the report is current). */
export async function staleInputs(inputs: ReportInputs, root: string): Promise<string[]> {
  root = resolve(root);
  const out: string[] = [];
  const compare = async (what: string, recorded: Record<string, string>, dir: boolean) => {
    for (const [p, digest] of Object.entries(recorded)) {
      if (!(await exists(join(root, p)))) {
        out.push(`${what} ${p} is gone`);
        continue;
      }
      const now = (await digestMap([p], root, dir))[p];
      if (now !== digest) out.push(`${what} ${p} changed`);
    }
  };
  await compare("notebook", inputs.notebook, false);
  await compare("module", inputs.src, false);
  await compare("result folder", inputs.results, true);
  // A module the notebook reaches now but did not then (a new import) is a change too.
  for (const nb of Object.keys(inputs.notebook)) {
    if (!(await exists(join(root, nb)))) continue;
    const now = importClosure(notebookCode(join(root, nb)), dirname(join(root, nb)), root);
    for (const p of now) if (!(p in inputs.src)) out.push(`module ${p} is newly imported`);
  }
  for (const l of inputs.listings) {
    const now = (await loadRuns(join(root, l.root), { latestOnly: l.latestOnly }))
      .map((r) => relative(root, resolve(r.dir))).sort();
    const added = now.filter((r) => !l.runs.includes(r));
    const removed = l.runs.filter((r) => !now.includes(r));
    if (added.length || removed.length) {
      const parts = [
        ...added.map((r) => `+${r}`),
        ...removed.map((r) => `-${r}`),
      ];
      out.push(`listing of ${l.root}${l.latestOnly ? " (latest only)" : ""} changed: ${parts.join(", ")}`);
    }
  }
  return out;
}

/** The outcome of checking one rendered report. */
export interface ReportCheck {
  /** The executed notebook in the reports folder. */
  report: string;
  /** Empty when the report is current. */
  problems: string[];
}

/**
 * Checks every executed notebook (`*.ipynb`) in `reportsDir`: it must carry an inputs record, must
 * not be a `--quick` rendering, and every recorded input must be unchanged under `root`.
 */
export async function checkReports(reportsDir: string, root: string): Promise<ReportCheck[]> {
  const names = [...Deno.readDirSync(reportsDir)].filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => e.name).sort();
  if (names.length === 0) throw new InputError("no rendered reports (*.ipynb) here", { file: reportsDir });
  const out: ReportCheck[] = [];
  for (const name of names) {
    const file = join(reportsDir, name);
    let meta: Record<string, any>;
    try {
      meta = JSON.parse(await Deno.readTextFile(file)).metadata?.nadir ?? {};
    } catch (e) {
      throw new InputError(`cannot read rendered report (${(e as Error).message})`, { file });
    }
    const problems: string[] = [];
    if (meta.parameters?.QUICK === true) {
      problems.push("rendered with --quick (tiny slices): re-render in full");
    }
    if (!meta.inputs) problems.push("has no inputs record (rendered before nadir recorded them): re-render");
    else for (const p of await staleInputs(meta.inputs as ReportInputs, root)) problems.push(p);
    out.push({ report: relative(root, resolve(file)) || file, problems });
  }
  return out;
}
