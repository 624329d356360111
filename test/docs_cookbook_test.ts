/**
 * docs/cookbook.md stays true: its `ts` blocks, concatenated in order like the
 * cells of one notebook, type-check with the project's deno.json (so the
 * `nadir/…` import map applies, as in check:notebooks) and run to the end as
 * the cells of a notebook in the project's Deno kernel, from notebooks/ (the
 * kernel's working directory, where Deno finds deno.json by walking up), on
 * the vendored NSL-KDD files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { jupyterPath, notebookToolsMissing, pythonPath } from "../src/figures/report.ts";
import { ROOT, testWhen } from "./_shared.ts";
import { scratchDir } from "./_scratch.ts";

const COOKBOOK = join(ROOT, "docs", "cookbook.md");

/** The fenced ```ts blocks of a Markdown text, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/**
 * One module from the blocks: imports hoisted (deduplicated by line) so a later
 * block may import what an earlier one already did, as notebook cells may.
 */
export function cookbookModule(blocks: string[]): string {
  const imports: string[] = [];
  const body: string[] = [];
  blocks.forEach((b, i) => {
    body.push(`// ---- block ${i + 1}`);
    for (const line of b.split("\n")) {
      if (/^import\b/.test(line)) {
        if (!imports.includes(line)) imports.push(line);
      } else body.push(line);
    }
  });
  return [...imports, "", ...body, "export {};", ""].join("\n");
}

/** Runs this Deno with `args` (a subcommand and its arguments). */
async function run(args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", NADIR_PROGRESS: "0" },
  }).output();
  const dec = new TextDecoder();
  return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("cookbook: blocks are found and imports hoisted once", () => {
  const md = '# T\n\n```ts\nimport { a } from "nadir/x";\nconst b = a;\n```\n\n```sh\nls\n```\n\n' +
    '```ts\nimport { a } from "nadir/x";\nb;\n```\n';
  const blocks = tsBlocks(md);
  assert.equal(blocks.length, 2);
  assert.equal(
    cookbookModule(blocks),
    'import { a } from "nadir/x";\n\n// ---- block 1\nconst b = a;\n\n// ---- block 2\nb;\n\nexport {};\n',
  );
});

Deno.test("cookbook: every import is a public nadir/… module or a package", () => {
  const blocks = tsBlocks(Deno.readTextFileSync(COOKBOOK));
  assert.ok(blocks.length >= 8, "load, preprocess, fit, score, threshold, metrics, plot, save");
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  for (const b of blocks) {
    for (const [, spec] of b.matchAll(/^import\b[^"']*["']([^"']+)["']/gm)) {
      assert.ok(!spec.startsWith("."), `cookbook imports by path: ${spec}`);
      assert.ok(spec.startsWith("node:") || spec in config.imports, `${spec} is not in deno.json's imports`);
    }
  }
});

Deno.test("cookbook: the snippets type-check together with deno.json (nadir/… imports)", async () => {
  const dir = scratchDir("nadir-cookbook-");
  try {
    // In a temporary folder, like check:notebooks: only --config makes the import map apply.
    const file = join(dir, "cookbook.ts");
    await Deno.writeTextFile(file, cookbookModule(tsBlocks(await Deno.readTextFile(COOKBOOK))));
    const check = await run(["check", "--config", join(ROOT, "deno.json"), file]);
    assert.ok(check.ok, `docs/cookbook.md does not type-check:\n${check.out}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const missing = notebookToolsMissing();
testWhen([missing ? { kind: "setup", why: `needs Jupyter and the Deno kernel: ${missing}` } : undefined], {
  name: "cookbook: the snippets run as notebook cells in the Deno kernel (cwd notebooks/) on NSL-KDD",
  async fn() {
    const dir = scratchDir("nadir-cookbook-");
    try {
      const cells = tsBlocks(await Deno.readTextFile(COOKBOOK)).map((source, i) => ({
        cell_type: "code",
        id: `cookbook-${i + 1}`,
        metadata: {},
        source,
        outputs: [],
        execution_count: null,
      }));
      const nb = {
        cells,
        metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
        nbformat: 4,
        nbformat_minor: 5,
      };
      const input = join(dir, "cookbook.ipynb"), output = join(dir, "cookbook.out.ipynb");
      await Deno.writeTextFile(input, JSON.stringify(nb));
      const r = await new Deno.Command(pythonPath(), {
        args: [join(ROOT, "scripts", "nbrun.py"), input, output, "--cwd", join(ROOT, "notebooks"), "--quiet"],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
        // The snippets' own temporary folders (the saved model) go inside `dir`, removed below.
        env: { JUPYTER_PATH: jupyterPath(), NO_COLOR: "1", NADIR_PROGRESS: "0", TMPDIR: dir },
      }).output();
      const log = new TextDecoder().decode(r.stderr);
      const ran = JSON.parse(await Deno.readTextFile(output)) as {
        cells: {
          outputs: { output_type: string; text?: string | string[]; ename?: string; evalue?: string }[];
        }[];
      };
      const outs = ran.cells.flatMap((c, i) => c.outputs.map((o) => ({ cell: i + 1, ...o })));
      const errors = outs.filter((o) => o.output_type === "error").map((o) =>
        `cell ${o.cell}: ${o.ename}: ${o.evalue}`
      );
      assert.deepEqual(errors, [], `docs/cookbook.md raised in the kernel:\n${log}`);
      assert.ok(r.success, `nbrun failed:\n${log}`);
      const text = outs.map((o) => Array.isArray(o.text) ? o.text.join("") : o.text ?? "").join("");
      assert.match(text, /same scores after loading: true/);
      assert.match(text, /threshold \{/);
      // The metrics cell ends with a chart and the Plot cell shows one: both display an SVG.
      const svgs = outs.filter((o) => o.output_type === "display_data" || o.output_type === "execute_result")
        .filter((o) => JSON.stringify(o).includes("image/svg+xml"));
      assert.ok(svgs.length >= 2, `${svgs.length} figures displayed`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
