/**
 * `deno task check:notebooks`: type-checks every notebook the way the Deno
 * kernel runs it.
 *
 * The kernel evaluates each cell on its own, with what earlier cells declared
 * in scope: a cell may declare `const a` again, or repeat an import, and the
 * later declaration wins from then on. Concatenating the cells into one
 * module (what this check used to do) calls both of those errors, so it
 * rejected notebooks the kernel runs. Here each code cell becomes its own
 * module in a temporary folder:
 *
 * - it exports what it declares (`export { … }`, `export type { … }` for types);
 * - it imports, from the latest earlier cell that declared it, every name an
 *   earlier cell declared and it does not declare itself, and repeats the
 *   earlier cells' imports the same way;
 * - `../src/` imports point at this checkout; magics (`%`, `!`) become comments.
 *
 * The names come from `deno doc --json --private` over the cell modules (the
 * compiler's own parser: destructuring, overloads and enums included). One
 * `deno check` then runs over every cell of every notebook. A later cell that
 * assigns to an earlier cell's `let` is fine in the kernel, so that error
 * (TS2632, assignment to an import) is not reported. Positions are mapped back
 * to "notebook, cell N, line M", and the summary counts the notebooks that
 * have errors, not the ones checked.
 *
 *   deno task check:notebooks [notebooks/NAME.ipynb ...]
 *
 * @module
 */
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { codeCellSources, type NotebookCell } from "../src/eval/report_inputs.ts";
import { runDeno } from "./_deno.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** A cell as a module: its source (imports rewritten, magics commented out). */
export function cellModule(src: string, srcUrl: string): string {
  return src.split("\n")
    .map((l) => /^\s*[%!]/.test(l) ? `// ${l}` : l.replace(/(["'])\.\.\/src\//g, `$1${srcUrl}`))
    .join("\n");
}

/** What one cell declares at top level (from `deno doc`). */
export interface CellDecls {
  /** Values: variables, functions, classes, enums (with the variable kind: const, let, var). */
  values: { name: string; kind: string }[];
  /** Type-only names: type aliases and interfaces. */
  types: string[];
  /** Imports: local name, imported name ("default"; undefined for `* as`), module specifier. */
  imports: { local: string; imported?: string; src: string }[];
}

/** Reads {@link CellDecls} out of one module's `deno doc --json --private` node. */
export function declsOf(node: {
  imports?: { importedName: string; originalName?: string; src: string }[];
  symbols?: { name: string; declarations: { kind: string; def?: { kind?: string } }[] }[];
}): CellDecls {
  const values: CellDecls["values"] = [], types: string[] = [];
  for (const s of node.symbols ?? []) {
    const kinds = s.declarations.map((d) => d.kind);
    if (kinds.every((k) => k === "typeAlias" || k === "interface")) types.push(s.name);
    else {
      const v = s.declarations.find((d) => d.kind === "variable");
      values.push({ name: s.name, kind: v?.def?.kind ?? kinds[0] });
    }
  }
  const imports = (node.imports ?? []).map((i) => ({
    local: i.importedName,
    imported: i.originalName,
    src: i.src,
  }));
  return { values, types, imports };
}

/**
 * The prelude of cell `j`: imports of every name earlier cells declared (from
 * the latest one) or imported (the same import again) that cell `j` does not
 * declare or import itself. `cellFile(i)` names cell i's module.
 */
export function prelude(decls: CellDecls[], j: number, cellFile: (i: number) => string): string {
  const own = new Set([
    ...decls[j].values.map((v) => v.name),
    ...decls[j].types,
    ...decls[j].imports.map((i) => i.local),
  ]);
  // name → where it comes from, the latest earlier cell winning.
  const from = new Map<string, { cell: number } | { imp: CellDecls["imports"][number] }>();
  for (let i = 0; i < j; i++) {
    for (const v of decls[i].values) from.set(v.name, { cell: i });
    for (const t of decls[i].types) from.set(t, { cell: i });
    for (const imp of decls[i].imports) from.set(imp.local, { imp });
  }
  const byCell = new Map<number, string[]>();
  const lines: string[] = [];
  for (const [name, src] of from) {
    if (own.has(name)) continue;
    if ("cell" in src) byCell.set(src.cell, [...(byCell.get(src.cell) ?? []), name]);
    else if (src.imp.imported === undefined) {
      lines.push(`import * as ${name} from ${JSON.stringify(src.imp.src)};`);
    } else if (src.imp.imported === "default") {
      lines.push(`import ${name} from ${JSON.stringify(src.imp.src)};`);
    } else lines.push(`import { ${src.imp.imported} as ${name} } from ${JSON.stringify(src.imp.src)};`);
  }
  for (const [i, names] of byCell) lines.push(`import { ${names.join(", ")} } from "./${cellFile(i)}";`);
  return lines.join(" ");
}

/** The exports a cell appends: its values, then its types (type-only). */
export function exportsOf(d: CellDecls): string {
  const parts: string[] = [];
  if (d.values.length) parts.push(`export { ${d.values.map((v) => v.name).join(", ")} };`);
  if (d.types.length) parts.push(`export type { ${d.types.join(", ")} };`);
  return parts.join(" ") || "export {};";
}

/** Type-checks notebooks as the kernel runs them; returns the report text and how many notebooks failed. */
export async function checkNotebooks(paths: string[]): Promise<{ failed: string[]; text: string }> {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-nbcheck-" });
  try {
    const srcUrl = pathToFileURL(join(ROOT, "src")).href + "/";
    const nbs = paths.map((p) => {
      const name = basename(p).replace(/\.ipynb$/, "").replace(/[^A-Za-z0-9_-]/g, "_");
      const cells = codeCellSources(JSON.parse(Deno.readTextFileSync(p)) as { cells: NotebookCell[] });
      return { path: p, name, cells: cells.map((c) => cellModule(c, srcUrl)) };
    });
    const file = (nb: string, i: number) => `${nb}__cell${i + 1}.ts`;
    // First pass: each cell alone (plus `export {}`), to learn what it declares.
    for (const nb of nbs) {
      nb.cells.forEach((c, i) => Deno.writeTextFileSync(join(tmp, file(nb.name, i)), c + "\nexport {};\n"));
    }
    const all = nbs.flatMap((nb) => nb.cells.map((_, i) => join(tmp, file(nb.name, i))));
    const doc = await runDeno(
      ["doc", "--json", "--private", "--config", join(ROOT, "deno.json"), ...all],
      ROOT,
    );
    if (!doc.ok) throw new Error(`deno doc failed on the notebook cells:\n${doc.stdout}${doc.stderr}`);
    const nodes = JSON.parse(doc.stdout).nodes as Record<string, Parameters<typeof declsOf>[0]>;
    // Second pass: prelude (one line, so line numbers shift by exactly one) + cell + exports.
    for (const nb of nbs) {
      const decls = nb.cells.map((_, i) =>
        declsOf(nodes[pathToFileURL(join(tmp, file(nb.name, i))).href] ?? {})
      );
      nb.cells.forEach((c, i) => {
        const head = prelude(decls, i, (k) => file(nb.name, k));
        Deno.writeTextFileSync(join(tmp, file(nb.name, i)), `${head}\n${c}\n${exportsOf(decls[i])}\n`);
      });
    }
    const check = await runDeno(["check", "--config", join(ROOT, "deno.json"), ...all], ROOT);
    if (check.ok) return { failed: [], text: "" };
    // Diagnostics are blank-line separated blocks; drop assignments to an earlier cell's variable.
    const blocks = (check.stdout + check.stderr).split(/\n\s*\n/).filter((b) =>
      !/TS2632/.test(b) && /TS\d+/.test(b)
    );
    const failed = new Set<string>();
    const text = blocks.join("\n\n").replace(
      /file:\/\/\S+?\/([A-Za-z0-9_-]+)__cell(\d+)\.ts:(\d+):(\d+)/g,
      (_all, nb: string, cell: string, line: string, col: string) => {
        const orig = nbs.find((n) => n.name === nb);
        if (orig) failed.add(basename(orig.path));
        return `${orig ? basename(orig.path) : nb} cell ${cell}, line ${Number(line) - 1}, column ${col}`;
      },
    );
    if (!blocks.length) return { failed: [], text: "" };
    if (!failed.size) failed.add("(unmapped)");
    return { failed: [...failed], text };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  const args = Deno.args.length
    ? Deno.args
    : [...Deno.readDirSync(join(ROOT, "notebooks"))].filter((e) => e.name.endsWith(".ipynb"))
      .map((e) => join(ROOT, "notebooks", e.name)).sort();
  const r = await checkNotebooks(args);
  if (r.failed.length) {
    console.error(r.text.trim());
    console.error(
      `check:notebooks: type errors in ${r.failed.length} of ${args.length} notebook(s): ${
        r.failed.join(", ")
      }`,
    );
    Deno.exit(1);
  }
  console.log(`check:notebooks: ${args.length} notebook(s) type-check`);
}
