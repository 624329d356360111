/**
 * `deno task check:notebooks`: type-checks every notebook. Each notebook's
 * code cells are concatenated (in order) into one TypeScript module in a
 * temporary folder, `../src/` imports are pointed at this checkout, and
 * `deno check` runs over all of them with the project's deno.json. A cell
 * that redeclares a name, calls an API that changed, or passes the wrong
 * type fails here instead of in a reviewer's kernel.
 *
 *   deno task check:notebooks [notebooks/NAME.ipynb ...]
 *
 * Error positions are mapped back to "notebook, cell N, line M".
 *
 * @module
 */
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { codeCellSources, type NotebookCell } from "../src/eval/report_inputs.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Concatenated source and, per output line, the (cell, line) it came from. */
export function concatNotebook(
  nb: { cells: NotebookCell[] },
  srcUrl: string,
): { code: string; map: [number, number][] } {
  const lines: string[] = [];
  const map: [number, number][] = [];
  let n = 0;
  for (const src of codeCellSources(nb)) {
    n++;
    lines.push(`// ---- cell ${n}`);
    map.push([n, 0]);
    src.split("\n").forEach((l, i) => {
      // Jupyter magics / shell escapes have no meaning to tsc.
      lines.push(/^\s*[%!]/.test(l) ? `// ${l}` : l.replace(/(["'])\.\.\/src\//g, `$1${srcUrl}`));
      map.push([n, i + 1]);
    });
  }
  lines.push("export {};");
  return { code: lines.join("\n") + "\n", map };
}

if (import.meta.main) {
  const args = Deno.args.length
    ? Deno.args
    : [...Deno.readDirSync(join(ROOT, "notebooks"))].filter((e) => e.name.endsWith(".ipynb")).map((e) =>
      join(ROOT, "notebooks", e.name)
    )
      .sort();
  const tmp = await Deno.makeTempDir({ prefix: "nadir-nbcheck-" });
  const srcUrl = pathToFileURL(join(ROOT, "src")).href + "/";
  const maps = new Map<string, { nb: string; map: [number, number][] }>();
  const files: string[] = [];
  for (const p of args) {
    const nb = JSON.parse(await Deno.readTextFile(p));
    const { code, map } = concatNotebook(nb, srcUrl);
    const f = join(tmp, basename(p).replace(/\.ipynb$/, "").replace(/[^A-Za-z0-9_-]/g, "_") + ".ts");
    await Deno.writeTextFile(f, code);
    files.push(f);
    maps.set(f, { nb: basename(p), map });
  }
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", join(ROOT, "deno.json"), ...files],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  // Map "at file:///tmp/.../01-eda.ts:12:5" back to the notebook cell.
  const mapped = out.replace(
    /(file:\/\/\S+?\.ts):(\d+):(\d+)/g,
    (all, url: string, line: string, col: string) => {
      const f = fileURLToPath(url);
      const m = maps.get(f);
      const at = m?.map[Number(line) - 1];
      return m && at ? `${m.nb} cell ${at[0]}, line ${at[1]}, column ${col}` : all;
    },
  );
  await Deno.remove(tmp, { recursive: true });
  if (!r.success) {
    console.error(mapped.trim());
    console.error(`check:notebooks: type errors in ${args.length} notebook(s)`);
    Deno.exit(1);
  }
  console.log(`check:notebooks: ${args.length} notebook(s) type-check`);
}
