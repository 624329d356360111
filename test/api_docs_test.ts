/**
 * The public entry points and the API reference (scripts/api_docs.ts,
 * `deno task docs:api`): every src/ folder has a mod.ts with a module doc and
 * an example, deno.json maps `nadir/<folder>` to it, a mod.ts re-exports only
 * its own folder, and `deno doc --html` builds the reference.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import {
  entryPointProblems,
  entryPoints,
  generate,
  moduleDocProblems,
  publicFolders,
  readModules,
  summarize,
} from "../scripts/api_docs.ts";
import { fileSha256 } from "../src/util/hash.ts";
import { ROOT } from "./_shared.ts";

Deno.test("api docs: every public src/ folder has a mod.ts mapped as nadir/<folder>", () => {
  const folders = publicFolders();
  for (const f of ["data", "detectors", "eval", "flows", "nn", "thresholds", "util", "serve", "figures"]) {
    assert.ok(folders.includes(f), `src/${f}/ is public`);
  }
  assert.ok(!folders.includes("cli"));
  assert.deepEqual(entryPointProblems(), []);
});

Deno.test("api docs: each mod.ts has a module doc with an example", async () => {
  const modules = await readModules();
  assert.deepEqual(modules.map((m) => m.file), entryPoints());
  assert.deepEqual(moduleDocProblems(modules), []);
  const detectors = modules.find((m) => m.file === "src/detectors/mod.ts")!;
  assert.ok(detectors.symbols > 20);
});

Deno.test("api docs: a mod.ts re-exports only its own folder", () => {
  const out: string[] = [];
  for (const mod of entryPoints()) {
    const file = join(ROOT, mod);
    const code = Deno.readTextFileSync(file).replace(/^\s*(\*|\/\/).*$/gm, "");
    for (const [, spec] of code.matchAll(/^export\b[^;]*?\bfrom\s*["']([^"']+)["']/gm)) {
      const target = resolve(dirname(file), spec);
      if (!spec.startsWith(".") || !target.startsWith(dirname(file) + "/")) {
        out.push(`${mod} re-exports ${spec} (${relative(ROOT, target)})`);
      }
    }
  }
  assert.deepEqual(out, []);
});

Deno.test("api docs: the checks name a folder without mod.ts, a missing or wrong map entry, a missing doc", () => {
  const root = Deno.makeTempDirSync({ prefix: "nadir-apidocs-" });
  try {
    for (const f of ["a", "b", "c", "cli"]) Deno.mkdirSync(join(root, "src", f), { recursive: true });
    Deno.writeTextFileSync(join(root, "src", "b", "mod.ts"), "export const x = 1;\n");
    Deno.writeTextFileSync(join(root, "src", "c", "mod.ts"), "export const y = 1;\n");
    Deno.writeTextFileSync(
      join(root, "deno.json"),
      JSON.stringify({
        imports: { "nadir/c": "./src/b/mod.ts", "nadir/z": "./src/z/mod.ts", "x": "npm:x@1" },
      }),
    );
    assert.deepEqual(entryPointProblems(root), [
      "src/a/ has no mod.ts (its public API for `nadir/a` and the API reference)",
      'deno.json "imports" lacks "nadir/b": "./src/b/mod.ts"',
      'deno.json maps "nadir/c" to ./src/b/mod.ts, expected ./src/c/mod.ts',
      'deno.json maps "nadir/z" to ./src/z/mod.ts, which does not exist',
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
  const modules = summarize({
    version: 2,
    nodes: {
      [`file://${ROOT}src/b/mod.ts`]: { symbols: [{ name: "x", declarations: [{}] }] },
      [`file://${ROOT}src/c/mod.ts`]: {
        module_doc: { doc: "C things.\n", tags: [{ kind: "module" }] },
        symbols: [{ name: "y", declarations: [{ jsDoc: { doc: "Y." } }] }],
      },
    },
  });
  assert.deepEqual(modules.map((m) => [m.file, m.summary, m.examples, m.undocumented]), [
    ["src/b/mod.ts", "", 0, ["x"]],
    ["src/c/mod.ts", "C things.", 0, []],
  ]);
  assert.deepEqual(moduleDocProblems(modules), [
    "src/b/mod.ts: no module doc (a /** … @module */ comment at the top)",
    "src/c/mod.ts: the module doc has no @example with a code block",
  ]);
});

/** sha256 over every file's path and bytes under `dir`, in path order. */
async function treeDigest(dir: string): Promise<string> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) walk(p);
      else files.push(p);
    }
  };
  walk(dir);
  files.sort();
  const parts: string[] = [];
  for (const f of files) parts.push(`${relative(dir, f)} ${await fileSha256(f)}`);
  return parts.join("\n");
}

Deno.test("api docs: deno doc --html builds the reference, the same twice, and never wipes a foreign folder", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-apidocs-" });
  try {
    const out = join(tmp, "api");
    const r = await generate({ out });
    assert.equal(r.out, out);
    assert.ok(r.files > 100, `${r.files} files written`);
    const index = await Deno.readTextFile(join(out, "index.html"));
    for (const f of publicFolders()) {
      assert.ok((await Deno.stat(join(out, f, "mod.ts", "index.html"))).isFile, `a page for nadir/${f}`);
    }
    assert.ok(index.includes("nadir"), "the index carries the name");
    for (const page of ["detectors/mod.ts/~/createDetector.html", "eval/mod.ts/~/rocAuc.html"]) {
      assert.ok((await Deno.stat(join(out, page))).isFile, page);
    }
    assert.equal(
      await Deno.readTextFile(join(out, ".gitignore")),
      "# generated by `deno task docs:api`; not committed\n*\n",
    );
    const first = await treeDigest(out);
    const all = await Deno.readTextFile(join(out, "all_symbols.html"));
    assert.ok(!index.includes(ROOT) && !all.includes(ROOT), "no absolute paths of this machine");
    await generate({ out }); // replaces its own output
    assert.equal(await treeDigest(out), first, "deterministic");

    const foreign = join(tmp, "foreign");
    await Deno.mkdir(foreign);
    await Deno.writeTextFile(join(foreign, "notes.txt"), "keep me");
    await assert.rejects(generate({ out: foreign }), /holds files docs:api did not write/);
    assert.equal(await Deno.readTextFile(join(foreign, "notes.txt")), "keep me");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
