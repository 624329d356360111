/**
 * scripts/nbrun.py and scripts/nbhtml.py on small hand-made notebooks (the
 * notebook format has no "real file" to slice; these are built in the test).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { jupyterPath, notebookToolsMissing, pythonPath, REPO_ROOT } from "../../src/figures/report.ts";
import { cellModule, checkNotebooks } from "../../scripts/check_notebooks.ts";
import { testWhen, type Unmet } from "../_shared.ts";

const missing = notebookToolsMissing();
const jupyter: Unmet | undefined = missing
  ? { kind: "setup", why: `needs Jupyter and the Deno kernel: ${missing}` }
  : undefined;

function notebook(cells: { code?: string; md?: string; tags?: string[] }[]) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    cells: cells.map((c, i) =>
      c.md !== undefined ? { id: `m${i}`, cell_type: "markdown", metadata: {}, source: c.md } : {
        id: `c${i}`,
        cell_type: "code",
        metadata: c.tags ? { tags: c.tags } : {},
        source: c.code!,
        outputs: [],
        execution_count: null,
      }
    ),
  };
}

async function py(args: string[]): Promise<{ code: number; stderr: string }> {
  const r = await new Deno.Command(pythonPath(), {
    args,
    cwd: REPO_ROOT,
    env: { JUPYTER_PATH: jupyterPath() },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

// deno-lint-ignore no-explicit-any
type Nb = any;

/** nbformat writes multi-line strings as lists of lines. */
const text = (v: string | string[]) => Array.isArray(v) ? v.join("") : v;

testWhen([jupyter], {
  name: "nbrun: keeps outputs published after the cell went idle, injects parameters, stops at an error",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nadir-nbrun-" });
    try {
      const input = join(dir, "in.ipynb");
      await Deno.writeTextFile(
        input,
        JSON.stringify(notebook([
          { md: "# Title\n\nSome **text**." },
          { code: 'const QUICK = false;\nconst NAME: string = "full"; // comment', tags: ["parameters"] },
          // The timer fires ~300 ms after execute_reply/idle: stock nbclient would drop this output.
          { code: 'setTimeout(() => console.log("late", QUICK, NAME), 300);\n"now"' },
          {
            code:
              'await Deno.jupyter.display({ "image/svg+xml": "<svg xmlns=\\"http://www.w3.org/2000/svg\\" width=\\"10\\" height=\\"10\\"><rect width=\\"10\\" height=\\"10\\"/></svg>" }, { raw: true });',
          },
          { code: 'throw new Error("boom")' },
          { code: 'console.log("never runs")' },
        ])),
      );
      const out = join(dir, "out.ipynb");
      const r = await py([
        join(REPO_ROOT, "scripts/nbrun.py"),
        input,
        out,
        "-p",
        "QUICK=true",
        "-p",
        "NAME=quick",
        "--grace",
        "0.6",
        "--quiet",
      ]);
      assert.equal(r.code, 1, `a raising cell makes nbrun exit 1 (stderr: ${r.stderr})`);
      const nb: Nb = JSON.parse(await Deno.readTextFile(out));
      assert.match(text(nb.cells[1].source), /const QUICK = true; \/\/ injected by nbrun/);
      assert.match(text(nb.cells[1].source), /const NAME: string = "quick";/);
      const late = nb.cells[2].outputs;
      assert.ok(
        late.some((o: Nb) =>
          o.output_type === "execute_result" && text(o.data["text/plain"]).includes("now")
        ),
      );
      const stream = late.find((o: Nb) => o.output_type === "stream");
      assert.ok(stream, `late stream output kept: ${JSON.stringify(late)}`);
      assert.equal(text(stream.text), "late true quick\n");
      assert.ok(nb.metadata.nadir.late_outputs >= 1, "the late output is counted");
      assert.ok(text(nb.cells[3].outputs[0].data["image/svg+xml"]).includes("<rect"));
      assert.equal(nb.cells[4].outputs[0].output_type, "error");
      assert.equal(nb.cells[4].outputs[0].evalue, "boom");
      assert.deepEqual(nb.cells[5].outputs, [], "execution stops at the first error");
      assert.equal(nb.metadata.nadir.status, "error");
      assert.deepEqual(nb.metadata.nadir.parameters, { QUICK: true, NAME: "quick" });

      const sig = await py([
        "-c",
        "import nbformat, sys\nfrom nbformat.sign import NotebookNotary\n" +
        "sys.exit(0 if NotebookNotary().check_signature(nbformat.read(sys.argv[1], 4)) else 3)",
        out,
      ]);
      assert.equal(sig.code, 0, `the executed notebook is signed (trusted): ${sig.stderr}`);

      const html = join(dir, "out.html");
      const h = await py([
        join(REPO_ROOT, "scripts/nbhtml.py"),
        "render",
        out,
        html,
        "--provenance",
        '{"gitSha":"abc123","version":"0.1.0"}',
      ]);
      assert.equal(h.code, 0, h.stderr);
      const page = await Deno.readTextFile(html);
      assert.ok(page.includes("<h1>Title</h1>") && page.includes("<strong>text</strong>"));
      assert.ok(page.includes("<rect"), "an SVG-only output is inlined (Debian's nbconvert blanks it)");
      assert.ok(page.includes("late true quick"));
      assert.ok(page.includes("boom") && page.includes("a cell raised an error"));
      assert.ok(page.includes("abc123") && page.includes("data sha256"));
      assert.ok(!/<script/i.test(page), "no JavaScript in reports");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

testWhen([jupyter], {
  name: "nbrun: an unknown parameter is a usage error that lists the declared ones",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nadir-nbrun-" });
    try {
      const input = join(dir, "in.ipynb");
      await Deno.writeTextFile(
        input,
        JSON.stringify(notebook([{ code: "const QUICK = false;", tags: ["parameters"] }])),
      );
      const r = await py([
        join(REPO_ROOT, "scripts/nbrun.py"),
        input,
        join(dir, "o.ipynb"),
        "-p",
        "DATASET=x",
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /unknown parameter\(s\) DATASET; the parameters cell declares QUICK/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("check:notebooks: a cell module rewrites ../src imports and comments out magics", () => {
  assert.equal(
    cellModule('import { a } from "../src/x.ts";\n%time\na;', "file:///repo/src/"),
    'import { a } from "file:///repo/src/x.ts";\n// %time\na;',
  );
});

Deno.test(
  "check:notebooks: kernel semantics — redeclared consts, repeated imports and a later `let` assignment pass; " +
    "a real type error is found, mapped to its cell and line, and counted once per notebook",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "nadir-nbcheck-test-" });
    try {
      const cells = (...code: string[]) =>
        JSON.stringify({
          cells: code.map((source) => ({ cell_type: "code", source, metadata: {}, outputs: [] })),
        });
      const good = join(dir, "good.ipynb"), bad = join(dir, "bad.ipynb");
      await Deno.writeTextFile(
        good,
        cells(
          'import { join } from "node:path";\nconst a = 1;\nlet n = 0;\ntype T = { x: number };',
          'import { join } from "node:path";\nconst a = "now a string";\nconst t: T = { x: a.length };\nn = n + t.x;',
          'const { b, c: d } = { b: join(a, "x"), c: n };\nfunction f(): string { return b + d; }',
          "f();\nconst a = f().length;",
        ),
      );
      await Deno.writeTextFile(
        bad,
        cells("const a = 1;", "const s: string = a;\nconst ok = 2;", "const t: number = ok + 'x';"),
      );
      const r = await checkNotebooks([good, bad]);
      assert.deepEqual(r.failed, ["bad.ipynb"], r.text);
      assert.match(r.text, /bad\.ipynb cell 2, line 1, column 7/);
      assert.match(r.text, /bad\.ipynb cell 3, line 1, column 7/);
      assert.doesNotMatch(r.text, /good\.ipynb/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

testWhen([jupyter], {
  name: "progress in a Jupyter kernel: one display updated in place, nothing on stderr",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nadir-nbprogress-" });
    try {
      const input = join(dir, "in.ipynb");
      const mod = new URL("src/util/progress.ts", `file://${REPO_ROOT.replace(/\/?$/, "/")}`).href;
      await Deno.writeTextFile(
        input,
        JSON.stringify(notebook([{
          code: `import { Progress } from "${mod}";
Deno.env.delete("NADIR_PROGRESS");
const p = new Progress({ label: "epochs", total: 3 });
for (let i = 0; i < 3; i++) {
  await new Promise((r) => setTimeout(r, 1100));
  p.tick(1, { loss: 0.5 });
}
p.done();`,
        }])),
      );
      const out = join(dir, "out.ipynb");
      const r = await py([join(REPO_ROOT, "scripts/nbrun.py"), input, out, "--grace", "0.6", "--quiet"]);
      assert.equal(r.code, 0, r.stderr);
      const outputs: Nb[] = JSON.parse(await Deno.readTextFile(out)).cells[0].outputs;
      const shown = outputs.filter((o) => o.output_type === "display_data");
      assert.equal(shown.length, 1, `one progress display: ${JSON.stringify(outputs)}`);
      assert.match(text(shown[0].data["text/plain"]), /^epochs \[#+\] 100% 3\/3 .* loss=0\.5$/);
      assert.ok(
        !outputs.some((o) => o.output_type === "stream"),
        `no stderr lines: ${JSON.stringify(outputs)}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
