/**
 * scripts/nbhtml.py on its own: Markdown lists with wrapped items, tables in
 * boxes that scroll instead of being clipped, the code show/hide toggle (code
 * hidden by default, checked in headless Chromium) and `<sha>+dirty` in the
 * footer when the checkout or the notebook differs from HEAD (a throw-away git
 * repository).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pythonPath, REPO_ROOT } from "../../src/figures/report.ts";
import { CHROMIUM, CHROMIUM_ARGS, git, needPrograms, testWhen, type Unmet } from "../_shared.ts";

const NBHTML = join(REPO_ROOT, "scripts", "nbhtml.py");

const nbformat: Unmet | undefined = (() => {
  try {
    const r = new Deno.Command(pythonPath(), {
      args: ["-c", "import nbformat"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
    return r.success
      ? undefined
      : { kind: "setup", why: `${pythonPath()} lacks nbformat (Debian python3-nbformat)` };
  } catch {
    return { kind: "setup", why: `${pythonPath()} not found (run bash scripts/setup.sh)` };
  }
})();

async function py(
  args: string[],
  cwd = REPO_ROOT,
): Promise<{ code: number; stdout: string; stderr: string }> {
  // No __pycache__ left in scripts/ by importing nbhtml.
  const env = { PYTHONDONTWRITEBYTECODE: "1" };
  const r = await new Deno.Command(pythonPath(), { args, cwd, env, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** nbhtml.markdown_html(src) through Python. */
async function markdownHtml(src: string): Promise<string> {
  const r = await py([
    "-c",
    "import sys; sys.path.insert(0, sys.argv[1]); import nbhtml; print(nbhtml.markdown_html(sys.argv[2]), end='')",
    join(REPO_ROOT, "scripts"),
    src,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** An executed-looking notebook: a Markdown cell, a code cell with a wide table, a code cell without output. */
function notebook(): unknown {
  const cols = Array.from({ length: 14 }, (_, i) => `column with a long name ${i}`);
  const row = Object.fromEntries(cols.map((c, i) => [c, `results/nsl-kdd-knn/20261123T144243Z-${i}abcdef`]));
  const wide =
    `<table class="nadir-table"><thead><tr>${cols.map((c) => `<th>${c}</th>`).join("")}</tr></thead>` +
    `<tbody><tr>${Object.values(row).map((v) => `<td>${v}</td>`).join("")}</tr></tbody></table>`;
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" }, nadir: {} },
    cells: [
      {
        id: "m0",
        cell_type: "markdown",
        metadata: {},
        source: "# Wide\n\n- item that wraps\n  onto a second line",
      },
      {
        id: "c1",
        cell_type: "code",
        metadata: {},
        execution_count: 1,
        source: "const secretCode = table(rows);\nsecretCode;",
        outputs: [{
          output_type: "execute_result",
          execution_count: 1,
          metadata: {},
          data: { "text/html": wide },
        }],
      },
      {
        id: "c2",
        cell_type: "code",
        metadata: {},
        execution_count: 2,
        source: "const quiet = 1;",
        outputs: [],
      },
    ],
  };
}

testWhen([nbformat], {
  name: "nbhtml: Markdown lists whose items wrap (indented or lazy continuation lines) render as lists",
  async fn() {
    // The pattern of 01-eda's caveats and 04's threats to validity: "- **Bold.** text" wrapped onto indented lines.
    const caveats = "- **Derived from KDD'99** with exact duplicates removed (Tavallaee et al. 2009),\n" +
      "  so class shares are not those of any real network. Here **0.87 %** of rows still repeat\n" +
      "  on the numeric features alone.\n" +
      "- **KDDTest-21** keeps only hard records: lower scores there are expected.\n" +
      "- Inherits KDD'99's simulation artefacts (McHugh 2000).";
    const h = await markdownHtml(caveats);
    assert.equal((h.match(/<li>/g) ?? []).length, 3, h);
    assert.ok(!h.includes("- ") && !h.includes("<p>"), h);
    assert.ok(
      h.includes(
        "(Tavallaee et al. 2009), so class shares are not those of any real network. Here <strong>0.87 %</strong>",
      ),
      h,
    );
    assert.equal(
      await markdownHtml("Intro\n- a wraps\nlazily\n- b\n\n1. x\n2. y\n   - nested\n     wrapped\n\nAfter."),
      "<p>Intro</p>\n<ul><li>a wraps lazily</li><li>b</li></ul>\n" +
        "<ol><li>x</li><li>y<ul><li>nested wrapped</li></ul></li></ol>\n<p>After.</p>",
    );
    assert.equal(
      await markdownHtml("- published in\n2009. It removed duplicates.\n- next"),
      "<ul><li>published in 2009. It removed duplicates.</li><li>next</li></ul>",
      "a wrapped line starting with a year is text",
    );
    assert.equal(
      await markdownHtml("| a | b |\n|---|---|\n| 1 | 2 |"),
      '<div class="table-wrap"><table><thead><tr><th>a</th><th>b</th></tr></thead>' +
        "<tbody><tr><td>1</td><td>2</td></tr></tbody></table></div>",
    );
  },
});

testWhen([nbformat], {
  name: "nbhtml: HTML tables sit in scroll boxes; a show-code checkbox (unchecked) hides code with CSS only",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nadir-nbhtml-" });
    try {
      await Deno.writeTextFile(join(dir, "wide.ipynb"), JSON.stringify(notebook()));
      const r = await py([NBHTML, "render", join(dir, "wide.ipynb"), join(dir, "wide.html"), "--repo", dir]);
      assert.equal(r.code, 0, r.stderr);
      const page = await Deno.readTextFile(join(dir, "wide.html"));
      assert.match(page, /<div class="table-wrap"><table class="nadir-table">/);
      assert.match(page, /<input type="checkbox" id="show-code"[^>]*>/);
      assert.ok(!/id="show-code"[^>]*checked/.test(page), "code is hidden by default");
      assert.match(page, /#show-code:not\(:checked\) ~ \.code-cell \.input \{ display:none; \}/);
      assert.match(page, /class="cell code-cell no-output"/);
      assert.ok(!/<script/i.test(page), "no JavaScript in reports");
      assert.match(page, /<dt>git sha<\/dt><dd>unknown<\/dd>/, "outside a checkout the commit is unknown");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

testWhen([nbformat, needPrograms("chromium")], {
  name: "nbhtml: in Chromium code is hidden until 'show code' is ticked, and a wide table scrolls in its box",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nadir-nbhtml-" });
    const profile = await Deno.makeTempDir({ prefix: "nadir-chromium-" });
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1000, height: 800 },
      args: [...CHROMIUM_ARGS],
    });
    try {
      await Deno.writeTextFile(join(dir, "wide.ipynb"), JSON.stringify(notebook()));
      const r = await py([NBHTML, "render", join(dir, "wide.ipynb"), join(dir, "wide.html"), "--repo", dir]);
      assert.equal(r.code, 0, r.stderr);
      const page = await browser.newPage();
      await page.goto(`file://${join(dir, "wide.html")}`);
      assert.equal(
        await page.locator(".code-cell .input").first().isVisible(),
        false,
        "code hidden by default",
      );
      assert.equal(await page.locator("text=secretCode").first().isVisible(), false);
      assert.equal(await page.locator(".output table").isVisible(), true, "outputs stay visible");
      assert.equal(await page.locator(".cell.md li").count(), 1);
      // The wide table scrolls inside its box; the page itself does not get wider than the window.
      const geo = await page.evaluate(() => {
        const box = document.querySelector(".table-wrap")!;
        const main = document.querySelector("main")!.getBoundingClientRect();
        const b = box.getBoundingClientRect();
        return {
          scroll: box.scrollWidth,
          client: box.clientWidth,
          boxRight: b.right,
          mainRight: main.right,
          pageWidth: document.documentElement.scrollWidth,
          viewport: globalThis.innerWidth,
          overflowX: getComputedStyle(box).overflowX,
        };
      });
      assert.ok(geo.scroll > geo.client, `the table is wider than its box: ${JSON.stringify(geo)}`);
      assert.equal(geo.overflowX, "auto");
      assert.ok(geo.boxRight <= geo.mainRight + 0.5, `the box stays inside the page: ${JSON.stringify(geo)}`);
      assert.ok(geo.pageWidth <= geo.viewport, `the page does not scroll sideways: ${JSON.stringify(geo)}`);
      await page.locator("label.code-toggle").click();
      assert.equal(
        await page.locator(".code-cell .input").first().isVisible(),
        true,
        "ticking shows the code",
      );
      assert.equal(await page.locator(".code-cell.no-output .input").isVisible(), true);
    } finally {
      await browser.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

testWhen([nbformat, needPrograms("git")], {
  name:
    "nbhtml: the footer's commit reads <sha>+dirty for an untracked or modified notebook or modified tracked files",
  async fn() {
    const repo = await Deno.makeTempDir({ prefix: "nadir-nbhtml-git-" });
    try {
      git(repo, "init", "-q");
      await Deno.writeTextFile(join(repo, "README.md"), "x\n");
      git(repo, "add", "README.md");
      git(repo, "commit", "-q", "-m", "first");
      const head = git(repo, "rev-parse", "--short=10", "HEAD");
      await Deno.mkdir(join(repo, "notebooks"));
      const source = join(repo, "notebooks", "01-x.ipynb");
      await Deno.writeTextFile(source, JSON.stringify(notebook()));
      const executed = join(repo, "out.ipynb"); // what nadir report executed (its copy is ignored here)
      const nb = notebook() as { metadata: { nadir: Record<string, unknown> } };
      nb.metadata.nadir.inputs = { commit: head, notebook: { "notebooks/01-x.ipynb": "sha256" }, src: {} };
      await Deno.writeTextFile(executed, JSON.stringify(nb));
      await Deno.writeTextFile(join(repo, ".gitignore"), "out.ipynb\nout.html\n");
      git(repo, "add", ".gitignore");
      git(repo, "commit", "-q", "-m", "ignore");
      const sha = git(repo, "rev-parse", "--short=10", "HEAD");
      /** Renders the executed notebook with `gitSha` as the run's commit; returns the footer. */
      const footer = async (gitSha: string) => {
        const r = await py([
          NBHTML,
          "render",
          executed,
          join(repo, "out.html"),
          "--repo",
          repo,
          "--provenance",
          JSON.stringify({ gitSha }),
        ]);
        assert.equal(r.code, 0, r.stderr);
        const page = await Deno.readTextFile(join(repo, "out.html"));
        return page.slice(page.indexOf("<footer>"));
      };

      let f = await footer(sha);
      assert.ok(f.includes(`<dt>git sha</dt><dd>${sha}+dirty</dd>`), `untracked notebook: ${f}`);
      assert.ok(f.includes("untracked notebooks/01-x.ipynb"), f);

      git(repo, "add", "notebooks/01-x.ipynb");
      git(repo, "commit", "-q", "-m", "notebook");
      const sha2 = git(repo, "rev-parse", "--short=10", "HEAD");
      f = await footer(sha2);
      assert.ok(f.includes(`<dt>git sha</dt><dd>${sha2}</dd>`), `a clean checkout: ${f}`);
      assert.ok(!f.includes("+dirty") && !f.includes("uncommitted"), f);

      // The notebook modified.
      await Deno.writeTextFile(source, JSON.stringify({ ...nb, cells: [] }));
      f = await footer(sha2);
      assert.ok(f.includes(`<dt>git sha</dt><dd>${sha2}+dirty</dd>`), `modified notebook: ${f}`);
      assert.ok(f.includes("modified notebooks/01-x.ipynb"), f);
      git(repo, "checkout", "--", "notebooks/01-x.ipynb");

      // A tracked file elsewhere in the tree modified.
      await Deno.writeTextFile(join(repo, "README.md"), "y\n");
      f = await footer(sha2);
      assert.ok(f.includes(`<dt>git sha</dt><dd>${sha2}+dirty</dd>`), `modified tracked file: ${f}`);
      assert.ok(f.includes("1 tracked file modified in the checkout"), f);
      // Only the checkout's HEAD is marked: a run recorded at another commit keeps its sha.
      f = await footer(sha);
      assert.ok(f.includes(`<dt>git sha</dt><dd>${sha}</dd>`), `an older commit is not marked: ${f}`);
    } finally {
      await Deno.remove(repo, { recursive: true });
    }
  },
});
