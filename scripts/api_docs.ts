/**
 * `deno task docs:api`: the API reference, generated from the JSDoc of the
 * public entry points — one `src/<folder>/mod.ts` per folder, imported as
 * `nadir/<folder>` through deno.json's import map.
 *
 *   deno task docs:api [--out DIR] [--check]
 *
 * First it checks the entry points: every folder of src/ (except cli/) has a
 * mod.ts, deno.json maps `nadir/<folder>` to it, and each mod.ts opens with a
 * module doc that holds an `@example` (those run under `deno test --doc`).
 * Then `deno doc --html --name=nadir` writes the reference to DIR (default
 * `reports/api/`, open `index.html`). `--check` stops after the checks.
 *
 * The reference is not committed (≈ 2,500 pages, 50 MB, and it changes with
 * every doc comment); the output folder gets a `.gitignore` of its own so it
 * stays out of git, and test/api_docs_test.ts generates it into a temporary
 * folder to prove it builds.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runDeno } from "./_deno.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** src/ folders that are not public modules (the CLI is used through `deno task nadir`). */
const NOT_PUBLIC = new Set(["cli"]);

/** The src/ folders that are public modules, sorted. */
export function publicFolders(root: string = ROOT): string[] {
  return [...Deno.readDirSync(join(root, "src"))]
    .filter((e) => e.isDirectory && !NOT_PUBLIC.has(e.name) && !e.name.startsWith("_"))
    .map((e) => e.name)
    .sort();
}

/** The entry point of each public folder (`src/<folder>/mod.ts`, relative to `root`). */
export function entryPoints(root: string = ROOT): string[] {
  return publicFolders(root).map((f) => `src/${f}/mod.ts`);
}

/**
 * What is wrong with the entry points and the import map: a public folder
 * without a mod.ts, a folder whose `nadir/<folder>` entry is missing or points
 * elsewhere, a `nadir/…` entry for a file that does not exist.
 */
export function entryPointProblems(root: string = ROOT): string[] {
  const out: string[] = [];
  const config = JSON.parse(Deno.readTextFileSync(join(root, "deno.json")));
  const imports: Record<string, string> = config.imports ?? {};
  for (const folder of publicFolders(root)) {
    const mod = `src/${folder}/mod.ts`;
    try {
      Deno.statSync(join(root, mod));
    } catch {
      out.push(`src/${folder}/ has no mod.ts (its public API for \`nadir/${folder}\` and the API reference)`);
      continue;
    }
    const mapped = imports[`nadir/${folder}`];
    if (mapped === undefined) out.push(`deno.json "imports" lacks "nadir/${folder}": "./${mod}"`);
    else if (resolve(root, mapped) !== resolve(root, mod)) {
      out.push(`deno.json maps "nadir/${folder}" to ${mapped}, expected ./${mod}`);
    }
  }
  for (const [name, target] of Object.entries(imports)) {
    if (!name.startsWith("nadir/")) continue;
    try {
      Deno.statSync(resolve(root, target));
    } catch {
      out.push(`deno.json maps "${name}" to ${target}, which does not exist`);
    }
  }
  return out;
}

/** The part of `deno doc --json` (format version 2) read here. */
export interface DocJson {
  version: number;
  nodes: Record<string, {
    module_doc?: { doc?: string; tags?: { kind: string; doc?: string }[] };
    symbols?: { name: string; declarations?: { jsDoc?: { doc?: string } }[] }[];
  }>;
}

/** Per entry point: its module doc's first line, whether it has an example, its exported symbols. */
export interface ModuleSummary {
  file: string;
  summary: string;
  examples: number;
  symbols: number;
  /** Exported symbols without any doc comment (reported, not an error: they come from other modules). */
  undocumented: string[];
}

/** Reads `deno doc --json` output into one {@link ModuleSummary} per module, sorted by file. */
export function summarize(doc: DocJson, root: string = ROOT): ModuleSummary[] {
  return Object.entries(doc.nodes).map(([url, node]) => {
    const md = node.module_doc;
    const symbols = node.symbols ?? [];
    return {
      file: relative(root, fileURLToPath(url)),
      summary: (md?.doc ?? "").trim().split("\n")[0] ?? "",
      examples: (md?.tags ?? []).filter((t) => t.kind === "example" && /```/.test(t.doc ?? "")).length,
      symbols: symbols.length,
      undocumented: symbols.filter((s) => !(s.declarations ?? []).some((d) => d.jsDoc?.doc?.trim()))
        .map((s) => s.name).sort(),
    };
  }).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** Problems with module docs: a module without a doc, without an `@example`, or exporting nothing. */
export function moduleDocProblems(modules: ModuleSummary[]): string[] {
  const out: string[] = [];
  for (const m of modules) {
    if (!m.summary) out.push(`${m.file}: no module doc (a /** … @module */ comment at the top)`);
    else if (!m.examples) out.push(`${m.file}: the module doc has no @example with a code block`);
    if (!m.symbols) out.push(`${m.file}: exports nothing`);
  }
  return out;
}

/** Runs `deno doc --json` on the entry points and summarises each. */
export async function readModules(
  root: string = ROOT,
  files: string[] = entryPoints(root),
): Promise<ModuleSummary[]> {
  const r = await runDeno(["doc", "--json", ...files], root);
  if (!r.ok) throw new Error(`deno doc --json failed:\n${r.stderr.trim()}`);
  return summarize(JSON.parse(r.stdout) as DocJson, root);
}

/** What {@link generate} did. */
export interface GenerateResult {
  out: string;
  modules: ModuleSummary[];
  /** Files written (HTML pages and assets). */
  files: number;
}

const MARKER = ".gitignore";
const MARKER_TEXT = "# generated by `deno task docs:api`; not committed\n*\n";

/**
 * Checks the entry points, then writes the HTML reference to `out`, replacing
 * an earlier reference there. Refuses a non-empty folder it did not write (no
 * marker `.gitignore`), so a mistyped `--out` never wipes a folder.
 */
export async function generate(
  opts: { out?: string; root?: string; checkOnly?: boolean } = {},
): Promise<GenerateResult> {
  const root = opts.root ?? ROOT;
  const out = resolve(root, opts.out ?? "reports/api");
  const problems = entryPointProblems(root);
  const files = entryPoints(root).filter((f) => {
    try {
      return Deno.statSync(join(root, f)).isFile;
    } catch {
      return false;
    }
  });
  const modules = await readModules(root, files);
  problems.push(...moduleDocProblems(modules));
  if (problems.length) throw new Error(`API entry points:\n  ${problems.join("\n  ")}`);
  if (opts.checkOnly) return { out, modules, files: 0 };

  let existing: string[] = [];
  try {
    existing = [...Deno.readDirSync(out)].map((e) => e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (existing.length) {
    let marker = "";
    try {
      marker = Deno.readTextFileSync(join(out, MARKER));
    } catch { /* no marker */ }
    if (marker !== MARKER_TEXT) {
      throw new Error(`${out} holds files docs:api did not write; give an empty or new folder with --out`);
    }
    await Deno.remove(out, { recursive: true });
  }
  const r = await runDeno(["doc", "--html", "--name=nadir", `--output=${out}`, ...files], root);
  if (!r.ok) throw new Error(`deno doc --html failed:\n${r.stderr.trim()}`);
  const written = Number(/Written (\d+) files/.exec(r.stdout + r.stderr)?.[1] ?? NaN);
  await Deno.writeTextFile(join(out, MARKER), MARKER_TEXT);
  return { out, modules, files: written };
}

if (import.meta.main) {
  const args = [...Deno.args];
  let out: string | undefined;
  let checkOnly = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out") out = args[++i];
    else if (args[i].startsWith("--out=")) out = args[i].slice(6);
    else if (args[i] === "--check") checkOnly = true;
    else if (args[i] === "--help" || args[i] === "-h") {
      console.log("deno task docs:api [--out DIR] [--check]   (default DIR: reports/api)");
      Deno.exit(0);
    } else {
      console.error(`docs:api: unknown argument ${args[i]}; usage: deno task docs:api [--out DIR] [--check]`);
      Deno.exit(2);
    }
  }
  if (out === "") {
    console.error("docs:api: --out needs a folder");
    Deno.exit(2);
  }
  try {
    const r = await generate({ out, checkOnly });
    for (const m of r.modules) {
      console.log(`${m.file.padEnd(24)} ${String(m.symbols).padStart(4)} symbols  ${m.summary}`);
    }
    const bare = r.modules.filter((m) => m.undocumented.length);
    if (bare.length) {
      console.log("exported without a doc comment (add one where the symbol is declared):");
      for (const m of bare) console.log(`  ${m.file}: ${m.undocumented.join(", ")}`);
    }
    if (checkOnly) console.log(`docs:api: ${r.modules.length} entry points have module docs with examples`);
    else {
      console.log(
        `docs:api: ${r.files} files → ${relative(Deno.cwd(), join(r.out, "index.html")) || r.out}`,
      );
    }
  } catch (e) {
    console.error(`docs:api: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
