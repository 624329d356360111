/**
 * Report inputs: what a rendered report records about its notebook, src/
 * modules and result folders, and `nadir report --check` naming each change.
 * The small repository built here (a notebook, two modules, a results root)
 * is hand-made: it stands for the layout of this checkout, not for data.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkReports,
  collectReportInputs,
  importClosure,
  importSpecifiers,
  staleInputs,
} from "../../src/eval/report_inputs.ts";
import { noteInput, readInputsLog } from "../../src/util/inputs.ts";
import { loadRuns } from "../../src/eval/runs.ts";
import { REPO_ROOT } from "../../src/figures/report.ts";
import { scratchDir, scratchFile } from "../_scratch.ts";

function write(path: string, text: string) {
  Deno.mkdirSync(join(path, ".."), { recursive: true });
  Deno.writeTextFileSync(path, text);
}

function run(root: string, id: string, stamp: string, f1: number, quick = false) {
  const dir = join(root, "results", id, stamp);
  write(join(dir, "config.json"), JSON.stringify({ id, protocol: "p", detector: "d", resolved: { quick } }));
  write(join(dir, "metrics.json"), JSON.stringify({ f1 }));
  return dir;
}

function notebook(code: string): string {
  return JSON.stringify({ cells: [{ cell_type: "code", source: code.split(/(?<=\n)/) }], metadata: {} });
}

/** A repository with notebooks/n.ipynb importing src/a.ts (which imports src/b.ts lazily) and one run. */
function repo(): string {
  const root = scratchDir("nadir-inputs-");
  write(join(root, "src", "a.ts"), `export const a = 1;\nexport const lazy = () => import("./b.ts");\n`);
  write(
    join(root, "src", "b.ts"),
    `export const b = 2;\n/** @example import { c } from "./missing.ts"; */\n`,
  );
  write(join(root, "src", "unused.ts"), `export const u = 3;\n`);
  write(
    join(root, "notebooks", "n.ipynb"),
    notebook(`import { a } from "../src/a.ts";\nimport pl from "nodejs-polars";\nconst runs = 1;\n`),
  );
  run(root, "x", "20261201T000000Z-aaaaaaa", 0.5);
  return root;
}

/** Renders n.ipynb's inputs the way `nadir report` does: the loaders log what they read. */
async function record(root: string) {
  const log = scratchFile();
  Deno.env.set("NADIR_INPUTS_LOG", log);
  try {
    await loadRuns(join(root, "results"), { latestOnly: true });
  } finally {
    Deno.env.delete("NADIR_INPUTS_LOG");
  }
  return await collectReportInputs({
    notebook: join(root, "notebooks", "n.ipynb"),
    notes: readInputsLog(log),
    root,
  });
}

Deno.test("report inputs: import specifiers — static, re-export, side-effect and literal dynamic imports", () => {
  const code = [
    `import { a } from "./a.ts";`,
    `import type { T } from '../t.ts';`,
    `export { x } from "./x.ts";`,
    `export * from "./star.ts";`,
    `import "./side.ts";`,
    `const m = await import("./dyn.ts");`,
    `const n = await import(name); // not a literal: unknowable, left out`,
    `import {\n  b,\n  c,\n} from "./multi.ts";`,
  ].join("\n");
  assert.deepEqual(importSpecifiers(code), [
    "./a.ts",
    "../t.ts",
    "./x.ts",
    "./star.ts",
    "./side.ts",
    "./dyn.ts",
    "./multi.ts",
  ]);
});

Deno.test("report inputs: the closure follows relative imports transitively, packages and missing files left out", () => {
  const root = repo();
  const code = `import { a } from "../src/a.ts";\nimport pl from "nodejs-polars";`;
  assert.deepEqual(importClosure(code, join(root, "notebooks"), root), ["src/a.ts", "src/b.ts"]);
});

Deno.test("report inputs: the closure follows deno.json import-map entries into the repository (nadir/…)", () => {
  const root = repo();
  write(join(root, "src", "mod.ts"), `export * from "./unused.ts";\n`);
  write(
    join(root, "deno.json"),
    JSON.stringify({
      imports: { "nadir/x": "./src/mod.ts", "lib/": "./src/", "pl": "npm:nodejs-polars@0.25.2" },
    }),
  );
  const code = `import { u } from "nadir/x";\nimport { a } from "lib/a.ts";\nimport pl from "pl";`;
  assert.deepEqual(importClosure(code, join(root, "notebooks"), root), [
    "src/a.ts",
    "src/b.ts",
    "src/mod.ts",
    "src/unused.ts",
  ]);
});

Deno.test("report inputs: recorded digests; each changed input is named, unrelated edits are not", async () => {
  const root = repo();
  const inputs = await record(root);
  assert.deepEqual(Object.keys(inputs.notebook), ["notebooks/n.ipynb"]);
  assert.deepEqual(Object.keys(inputs.src), ["src/a.ts", "src/b.ts"]);
  assert.deepEqual(Object.keys(inputs.results), ["results/x/20261201T000000Z-aaaaaaa"]);
  assert.deepEqual(inputs.listings, [{
    root: "results",
    latestOnly: true,
    runs: ["results/x/20261201T000000Z-aaaaaaa"],
  }]);
  for (const d of [...Object.values(inputs.src), ...Object.values(inputs.results)]) {
    assert.match(d, /^[0-9a-f]{16}$/);
  }
  assert.deepEqual(await staleInputs(inputs, root), []);

  // Not an input: a module nothing imports, and a quick run (never listed).
  write(join(root, "src", "unused.ts"), "export const u = 4;\n");
  run(root, "x", "20261202T000000Z-bbbbbbb", 0.1, true);
  assert.deepEqual(await staleInputs(inputs, root), []);

  write(join(root, "src", "b.ts"), "export const b = 3;\n");
  write(join(root, "results", "x", "20261201T000000Z-aaaaaaa", "metrics.json"), JSON.stringify({ f1: 0.9 }));
  assert.deepEqual(await staleInputs(inputs, root), [
    "module src/b.ts changed",
    "result folder results/x/20261201T000000Z-aaaaaaa changed",
  ]);
});

Deno.test("report inputs: a new full run, a removed run folder, a new import and an edited notebook are named", async () => {
  const root = repo();
  const inputs = await record(root);
  run(root, "x", "20261203T000000Z-ccccccc", 0.7);
  assert.deepEqual(await staleInputs(inputs, root), [
    "listing of results (latest only) changed: +results/x/20261203T000000Z-ccccccc, " +
    "-results/x/20261201T000000Z-aaaaaaa",
  ]);
  Deno.removeSync(join(root, "results", "x"), { recursive: true });
  write(
    join(root, "notebooks", "n.ipynb"),
    notebook(`import { a } from "../src/a.ts";\nimport { u } from "../src/unused.ts";\n`),
  );
  assert.deepEqual(await staleInputs(inputs, root), [
    "notebook notebooks/n.ipynb changed",
    "result folder results/x/20261201T000000Z-aaaaaaa is gone",
    "module src/unused.ts is newly imported",
    "listing of results (latest only) changed: -results/x/20261201T000000Z-aaaaaaa",
  ]);
});

Deno.test("report inputs: checkReports flags quick renderings and reports without a record", async () => {
  const root = repo();
  const inputs = await record(root);
  const reports = join(root, "reports");
  const rendered = (nadir: Record<string, unknown>) => JSON.stringify({ cells: [], metadata: { nadir } });
  write(join(reports, "a.ipynb"), rendered({ parameters: {}, inputs }));
  write(join(reports, "b.ipynb"), rendered({ parameters: { QUICK: true }, inputs }));
  write(join(reports, "c.ipynb"), rendered({ parameters: {} }));
  write(join(reports, "d.ipynb"), "{ not json");
  await assert.rejects(() => checkReports(reports, root), /d\.ipynb: cannot read rendered report/);
  Deno.removeSync(join(reports, "d.ipynb"));
  assert.deepEqual(await checkReports(reports, root), [
    { report: "reports/a.ipynb", problems: [] },
    { report: "reports/b.ipynb", problems: ["rendered with --quick (tiny slices): re-render in full"] },
    {
      report: "reports/c.ipynb",
      problems: ["has no inputs record (rendered before nadir recorded them): re-render"],
    },
  ]);
});

Deno.test("report inputs: the inputs log is written only when NADIR_INPUTS_LOG is set; a bad line is named", () => {
  const log = scratchFile();
  noteInput({ kind: "run", path: "results/x/1" });
  assert.deepEqual(readInputsLog(log), []);
  Deno.writeTextFileSync(log, `{"kind":"run","path":"/r/x/1"}\nnot json\n`);
  assert.throws(() => readInputsLog(log), new RegExp(`${log}:2: expected one JSON input note per line`));
});

Deno.test("reports/: every committed report is current — nadir report --check (re-render with deno task nadir report)", async () => {
  const checks = await checkReports(join(REPO_ROOT, "reports"), REPO_ROOT);
  assert.ok(checks.length >= 5, "reports/ holds the rendered notebooks");
  const stale = checks.filter((c) => c.problems.length).map((c) =>
    `${c.report}:\n  ${c.problems.join("\n  ")}`
  );
  assert.deepEqual(stale, [], `stale reports — run deno task nadir report:\n${stale.join("\n")}`);
});
