/**
 * End to end: `nadir report --quick` runs every notebook in notebooks/ with the
 * Deno kernel into a temporary folder; every code cell that displays something
 * must have its output and no cell may raise. Then headless Chromium (Debian)
 * opens each HTML report, checks that every figure has a non-zero size and
 * keeps a screenshot under test/artifacts/ (gitignored).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { notebookToolsMissing, REPO_ROOT, type ReportResult, runReport } from "../../src/figures/report.ts";
import { checkReports, type ReportInputs } from "../../src/eval/report_inputs.ts";
import { gitDirty } from "../../src/figures/provenance.ts";
import { CHROMIUM, CHROMIUM_ARGS, needPrograms, testWhen, type Unmet } from "../_shared.ts";

const missing = notebookToolsMissing();
const jupyter: Unmet | undefined = missing
  ? { kind: "setup", why: `needs Jupyter and the Deno kernel: ${missing}` }
  : undefined;

type Cell = {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; ename?: string; evalue?: string }[];
};
const text = (v: string | string[]) => Array.isArray(v) ? v.join("") : v;

/**
 * A code cell displays something when it prints, calls show/display, or ends
 * with a bare expression (what the kernel shows as the cell's value).
 */
export function cellDisplays(source: string): boolean {
  const code = source.replace(/\/\/.*$/gm, "").trim();
  if (!code) return false;
  if (/\b(console\.log|show|Deno\.jupyter\.display)\s*\(/.test(code)) return true;
  const last = code.split("\n").filter((l) => l.trim()).at(-1)!.trim();
  if (
    /^(const|let|var|import|export|function|class|interface|type|await\s+saveFigure|for|if|while|\}|\)|\]|await\s+Deno\.(write|mkdir))/
      .test(last)
  ) {
    // A multi-line call ending in `})` or `);` may still be a bare expression: look at its first line.
    if (!/^[\])}]/.test(last)) return false;
    const stmts = code.split(/;\s*\n(?=\S)/);
    const lastStmt = stmts.at(-1)!.trim();
    return !/^(const|let|var|import|export|function|class|interface|type|for|if|while|await\s+saveFigure|await\s+Deno\.)/
      .test(lastStmt);
  }
  return true;
}

let run: Promise<ReportResult> | undefined;
let out = "";
/** Whether tracked files were modified when the quick run started (others may be editing the checkout). */
let dirtyBefore: boolean | undefined;
function report(): Promise<ReportResult> {
  if (!run) {
    run = (async () => {
      out = await Deno.makeTempDir({ prefix: "nadir-report-" });
      dirtyBefore = gitDirty(REPO_ROOT);
      return await runReport({ out, quick: true, log: (l) => console.log(l), grace: 0.3 });
    })();
  }
  return run;
}

/** Text of an HTML fragment: tags dropped, the entities nbhtml and display.ts write decoded. */
const plain = (h: string) =>
  h.replace(/<[^>]+>/g, "").replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">").replace(/&amp;/g, "&").trim();

/** The nadir table whose caption contains `caption`: header cells and rows of cell texts. */
export function htmlTable(html: string, caption: string): { head: string[]; rows: string[][] } | undefined {
  for (const m of html.matchAll(/<table class="nadir-table">([\s\S]*?)<\/table>/g)) {
    const cap = /<caption>([\s\S]*?)<\/caption>/.exec(m[1]);
    if (!cap || !plain(cap[1]).includes(caption)) continue;
    const cells = (tr: string, tag: string) =>
      [...tr.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, "g"))].map((c) => plain(c[1]));
    const head = cells(/<thead>([\s\S]*?)<\/thead>/.exec(m[1])?.[1] ?? "", "th");
    const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(m[1])?.[1] ?? "";
    return { head, rows: [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => cells(r[1], "td")) };
  }
  return undefined;
}

Deno.test("report: htmlTable reads a nadir table by its caption", () => {
  const h =
    '<table class="nadir-table"><caption>Runs &amp; more</caption><thead><tr><th>a</th><th>b</th></tr>' +
    '</thead><tbody><tr><td>x</td><td style="text-align:right">1</td></tr></tbody></table>';
  assert.deepEqual(htmlTable(h, "Runs & more"), { head: ["a", "b"], rows: [["x", "1"]] });
  assert.equal(htmlTable(h, "Other"), undefined);
});

Deno.test("report: cellDisplays recognises displaying cells", () => {
  assert.equal(cellDisplays("const a = 1;"), false);
  assert.equal(cellDisplays("const a = 1;\na;"), true);
  assert.equal(cellDisplays('table(rows, {\n  caption: "x",\n});'), true);
  assert.equal(cellDisplays("const t = table(rows, {\n  caption: 'x',\n});"), false);
  assert.equal(cellDisplays("await show(fig);\nconst x = 1;"), true);
  assert.equal(cellDisplays("// only a comment"), false);
});

testWhen([jupyter], {
  name: "report: every notebook runs with --quick; displaying cells have outputs, none raises",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await report();
    console.log(`quick report: ${r.notebooks.length} notebooks in ${r.seconds.toFixed(1)} s`);
    assert.ok(r.notebooks.length >= 1);
    for (const n of r.notebooks) {
      assert.equal(n.status, "ok", `${n.name} failed: ${n.message}`);
      const nb = JSON.parse(await Deno.readTextFile(n.ipynb)) as {
        cells: Cell[];
        metadata: { nadir: { parameters: unknown } };
      };
      assert.deepEqual(
        nb.metadata.nadir.parameters,
        { QUICK: true },
        `${n.name} declares QUICK in its parameters cell`,
      );
      nb.cells.forEach((c, i) => {
        if (c.cell_type !== "code") return;
        const errors = (c.outputs ?? []).filter((o) => o.output_type === "error");
        assert.deepEqual(errors, [], `${n.name} cell ${i} raised`);
        if (cellDisplays(text(c.source))) {
          assert.ok(
            (c.outputs ?? []).length > 0,
            `${n.name} cell ${i} displays something but has no output:\n${text(c.source).slice(0, 200)}`,
          );
        }
      });
      const html = await Deno.readTextFile(n.html);
      assert.ok(
        html.includes("<footer>") && html.includes("data sha256"),
        `${n.name}.html has a provenance footer`,
      );
      checkReviewerView(n.name, html);
      // What it was built from: the notebook, its src/ modules and (04) the result folders it read.
      const inputs = (nb.metadata.nadir as { inputs?: ReportInputs }).inputs;
      assert.ok(inputs, `${n.name} records its inputs`);
      assert.deepEqual(Object.keys(inputs.notebook), [`notebooks/${n.name}.ipynb`]);
      assert.ok(
        Object.keys(inputs.src).some((p) => p.startsWith("src/")),
        `${n.name} records its src/ modules`,
      );
      if (n.name.startsWith("04")) {
        assert.ok(Object.keys(inputs.results).length > 0, "04 records the result folders it read");
        assert.ok(inputs.listings.some((l) => l.root === "results"), "04 records the results listing");
        for (const dir of Object.keys(inputs.results)) assert.ok(html.includes(dir), `04.html names ${dir}`);
      }
    }
    // The check sees these as quick renderings and nothing else: every recorded input is current.
    for (const c of await checkReports(out, REPO_ROOT)) {
      assert.deepEqual(c.problems, ["rendered with --quick (tiny slices): re-render in full"], c.report);
    }
    const index = await Deno.readTextFile(r.index);
    for (const n of r.notebooks) assert.ok(index.includes(`href="${n.name}.html"`), `index links ${n.name}`);
    noAbsolutePaths("index", index);
    // "+dirty": when tracked files were modified before the run and still are, every footer says so.
    const dirtyAfter = gitDirty(REPO_ROOT);
    if (dirtyBefore !== undefined && dirtyBefore === dirtyAfter) {
      for (const n of r.notebooks) {
        const sha = /<dt>git sha<\/dt><dd>([^<]*)<\/dd>/.exec(await Deno.readTextFile(n.html))?.[1] ?? "";
        assert.equal(
          sha.endsWith("+dirty"),
          dirtyAfter,
          `${n.name}: git sha ${sha}, tracked files modified: ${dirtyAfter}`,
        );
      }
    }
  },
});

/** No absolute path of this machine — the checkout or the temporary output folder — in a rendered report. */
function noAbsolutePaths(name: string, html: string) {
  for (const dir of [REPO_ROOT.replace(/\/$/, ""), out]) {
    const at = html.indexOf(dir);
    assert.equal(
      at,
      -1,
      `${name}.html shows the absolute path ${dir}: …${html.slice(Math.max(0, at - 80), at + 120)}…`,
    );
  }
}

/** What a reviewer sees in a quick HTML report: lists, relative paths, the code toggle, 04's tables. */
function checkReviewerView(name: string, html: string) {
  noAbsolutePaths(name, html);
  assert.ok(
    !/<(p|li)>- /.test(html),
    `${name}.html has a list rendered as text ("- " at the start of a paragraph)`,
  );
  assert.match(html, /<input type="checkbox" id="show-code"[^>]*>/, `${name}.html has the show-code toggle`);
  assert.ok(!/id="show-code"[^>]*checked/.test(html), `${name}.html hides code by default`);
  assert.ok(!/<script/i.test(html), `${name}.html has no JavaScript`);
  if (name.startsWith("01")) {
    // The caveats of the default dataset (NSL-KDD): three wrapped items, one list.
    const caveats = /<ul><li><strong>Derived from KDD&#39;99<\/strong>[\s\S]*?<\/ul>/.exec(html)?.[0] ?? "";
    assert.equal((caveats.match(/<li>/g) ?? []).length, 3, `01's caveats are a three-item list: ${caveats}`);
    assert.match(html, /Figures saved to <code>[^<]*figures<\/code>/);
  }
  if (name.startsWith("04")) {
    const runs = htmlTable(html, "runs loaded from results/") ?? htmlTable(html, "") ??
      { head: [], rows: [] };
    const auc = runs.head.indexOf("ROC AUC");
    const kind = runs.head.indexOf("kind");
    const ids = runs.rows.filter((r) => r[kind] === "signature-ids");
    assert.ok(auc >= 0 && ids.length > 0, `04 lists the signature IDS runs: ${JSON.stringify(runs.head)}`);
    for (const r of ids) assert.equal(r[auc], "–", `a signature IDS has no ROC AUC: ${r.join(" | ")}`);
    const cmp = htmlTable(html, "nadir runs and published results");
    assert.ok(cmp, "04 has the table of runs and published results");
    assert.ok(
      cmp.head.includes("accuracy"),
      `04's comparison has an accuracy column: ${cmp.head.join(", ")}`,
    );
    const metrics = ["F1", "F1 (oracle threshold)", "precision", "recall", "accuracy", "FPR", "ROC AUC"]
      .map((h) => cmp.head.indexOf(h));
    const published = cmp.rows.filter((r) => r.some((c) => c.endsWith("(published)")));
    assert.ok(published.length > 0, "04 shows published rows");
    for (const r of published) {
      assert.ok(
        metrics.some((i) => i >= 0 && /\d/.test(r[i])),
        `a published row shows what it has: ${r.join(" | ")}`,
      );
    }
  }
}

/** Opens each report in headless Chromium, checks every figure's size, keeps screenshots in test/artifacts/<dir>/. */
async function checkInChromium(
  reports: { name: string; html: string; ipynb: string }[],
  index: string | undefined,
  dir: string,
  opts: { codeToggle?: boolean } = {},
) {
  const { chromium } = await import("playwright-core");
  const profile = await Deno.makeTempDir({ prefix: "nadir-chromium-" });
  // A fresh profile per run (launchPersistentContext owns --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [...CHROMIUM_ARGS],
  });
  const artifacts = join(REPO_ROOT, "test", "artifacts", dir);
  await Deno.mkdir(artifacts, { recursive: true });
  try {
    const page = await browser.newPage();
    for (const n of reports) {
      await page.goto(`file://${n.html}`);
      const figs = await page.$$eval(
        ".output svg, .output img",
        (els) =>
          els.filter((e) => !e.parentElement?.closest("svg")).map((e) => {
            const b = e.getBoundingClientRect();
            return { w: b.width, h: b.height, tag: e.tagName };
          }),
      );
      const nbFile = JSON.parse(await Deno.readTextFile(n.ipynb));
      const expected = (nbFile.cells as { outputs?: { data?: Record<string, unknown> }[] }[])
        .flatMap((c) => c.outputs ?? [])
        .filter((o) => o.data && ("image/svg+xml" in o.data || "image/png" in o.data)).length;
      assert.ok(expected > 0, `${n.name}: has figure outputs`);
      assert.equal(figs.length, expected, `${n.name}: ${expected} figure outputs, ${figs.length} rendered`);
      for (const f of figs) assert.ok(f.w > 100 && f.h > 50, `${n.name}: a figure renders at ${f.w}×${f.h}`);
      if (opts.codeToggle) {
        // Code is hidden until "show code" is ticked; outputs are always shown.
        const code = page.locator(".code-cell .input");
        assert.ok(await code.count() > 0, `${n.name}: has code cells`);
        assert.equal(await code.first().isVisible(), false, `${n.name}: code is hidden by default`);
        await page.locator("label.code-toggle").click();
        assert.equal(await code.first().isVisible(), true, `${n.name}: "show code" shows the code`);
        await page.locator("label.code-toggle").click();
        // No table is cut off by the page: the page never scrolls sideways (wide tables scroll in their box).
        const wide = await page.evaluate(() => document.documentElement.scrollWidth - globalThis.innerWidth);
        assert.ok(wide <= 0, `${n.name}: the page is ${wide} px wider than the window`);
      }
      // Screenshot around the first figure, so the artifact shows that figures render.
      await page.locator(".output svg, .output img").first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(artifacts, `${n.name}.png`), fullPage: false });
    }
    if (index) {
      await page.goto(`file://${index}`);
      assert.equal(await page.locator("ul.index li").count(), reports.length);
      await page.screenshot({ path: join(artifacts, "index.png") });
    }
  } finally {
    await browser.close();
    await Deno.remove(profile, { recursive: true });
  }
}

testWhen([jupyter, needPrograms("chromium")], {
  name: "report: Chromium shows every figure of every quick HTML report with a non-zero size",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await report();
    try {
      await checkInChromium(r.notebooks, r.index, "report-quick", { codeToggle: true });
    } finally {
      if (out) await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

const committed = (() => {
  try {
    return [...Deno.readDirSync(join(REPO_ROOT, "reports"))].filter((e) =>
      e.name.endsWith(".html") && e.name !== "index.html"
    )
      .map((e) => e.name.replace(/\.html$/, "")).sort();
  } catch {
    return [];
  }
})();

testWhen([needPrograms("chromium")], {
  name: "report: the committed reports/ show their figures in Chromium",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    assert.ok(committed.length > 0, "reports/ holds committed HTML reports");
    const dir = join(REPO_ROOT, "reports");
    await checkInChromium(
      committed.map((name) => ({ name, html: join(dir, `${name}.html`), ipynb: join(dir, `${name}.ipynb`) })),
      join(dir, "index.html"),
      "report-committed",
    );
  },
});

testWhen([jupyter], {
  name: "report: per-notebook parameters point 01-eda at a UNSW-NB15 file (DATA_PATH) and leave 04 alone",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The UNSW-NB15 file is the hand-written fixture (no real UNSW file is vendored; see test/fixtures/data).
    const file = join(REPO_ROOT, "test", "fixtures", "data", "unsw", "UNSW_NB15_training-set.csv");
    const dir = await Deno.makeTempDir({ prefix: "nadir-report-unsw-" });
    try {
      const r = await runReport({
        out: dir,
        quick: true,
        only: ["01"],
        notebookParams: [
          { notebook: "01", key: "DATASET", value: "unsw-nb15" },
          { notebook: "01", key: "DATA_PATH", value: file },
        ],
        log: () => {},
      });
      assert.deepEqual(
        r.notebooks.map((n) => [n.name, n.status]),
        [["01-eda", "ok"]],
        r.notebooks[0]?.message ?? "",
      );
      const nb = JSON.parse(await Deno.readTextFile(r.notebooks[0].ipynb));
      assert.deepEqual(nb.metadata.nadir.parameters, { QUICK: true, DATASET: "unsw-nb15", DATA_PATH: file });
      const html = plain(await Deno.readTextFile(r.notebooks[0].html));
      assert.match(html, /unsw-nb15 \(unsw-nb15\): 8 rows/);
      // A parameter no selected notebook declares is refused before anything runs.
      await assert.rejects(
        () => runReport({ out: dir, only: ["04"], params: { DATASET: "x" }, log: () => {} }),
        /no selected notebook declares parameter DATASET/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
