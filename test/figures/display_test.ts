/**
 * md(): Markdown lists whose items wrap onto continuation lines (the way
 * 01-eda writes its caveats), and the display helpers' relative paths.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { frame, md, provenanceNote, show, table } from "../../src/figures/display.ts";
import { loadDataset } from "../../src/data/datasets.ts";
import { relativePaths, repoPath } from "../../src/figures/provenance.ts";
import { REPO_ROOT } from "../../src/figures/report.ts";

const html = (text: string) => md(text).bundle["text/html"];

Deno.test("md: 01-eda's caveat list (items wrapped onto indented lines) renders as one <ul>", () => {
  // The shape of 01-eda's NSL-KDD caveats: "- **Bold.** text" items whose text continues on lines indented by two.
  const caveats =
    `- **Derived from KDD'99** with exact duplicates removed and records resampled by difficulty (Tavallaee et al. 2009),
  so class shares are not those of any real network. Here **0.87 %** of rows still repeat
  on the numeric features alone (the categorical protocol/service/flag differ), and
  **1,234** rows sit in groups labelled both normal and attack on those features.
- **KDDTest-21** keeps only records that fewer than 21 of 21 learners classified correctly: lower scores there are expected.
- Inherits KDD'99's simulation artefacts (McHugh 2000).`;
  const h = html(caveats);
  assert.equal((h.match(/<ul>/g) ?? []).length, 1, h);
  assert.equal((h.match(/<li>/g) ?? []).length, 3, h);
  assert.ok(!h.includes("- "), `no literal list marker is left: ${h}`);
  assert.ok(!h.includes("<p>"), `a tight list holds no paragraphs: ${h}`);
  assert.ok(
    h.startsWith(
      "<ul><li><strong>Derived from KDD&#39;99</strong> with exact duplicates removed and records resampled by " +
        "difficulty (Tavallaee et al. 2009), so class shares are not those of any real network. Here " +
        "<strong>0.87 %</strong> of rows still repeat on the numeric features alone",
    ),
    h,
  );
  assert.ok(h.includes("on those features.</li><li><strong>KDDTest-21</strong> keeps"), h);
});

Deno.test("md: continuation lines that are not indented (lazy) join their item", () => {
  assert.equal(
    html("- first item wraps\nonto an unindented line\n- second\n\nAfter the list."),
    "<ul><li>first item wraps onto an unindented line</li><li>second</li></ul><p>After the list.</p>",
  );
  // A paragraph right before the list, and a numbered list with wrapped items.
  assert.equal(
    html("Steps:\n1. load the data\n   with its schema\n2. fit\non benign rows"),
    "<p>Steps:</p><ol><li>load the data with its schema</li><li>fit on benign rows</li></ol>",
  );
  assert.equal(html("3. third\n4. fourth"), '<ol start="3"><li>third</li><li>fourth</li></ol>');
});

Deno.test("md: nested, loose and mixed lists; headings, code and emphasis", () => {
  assert.equal(
    html("- a\n  - a1\n    wrapped\n  - a2\n- b"),
    "<ul><li>a<ul><li>a1 wrapped</li><li>a2</li></ul></li><li>b</li></ul>",
  );
  assert.equal(html("- one\n\n- two"), "<ul><li><p>one</p></li><li><p>two</p></li></ul>");
  assert.equal(html("- a\n1. b"), "<ul><li>a</li></ul><ol><li>b</li></ol>");
  assert.equal(
    html("## Head\n\nSome *it* and `a*b*c` [docs](docs/x.md)\n\n```\n- not a list\n```"),
    '<h2>Head</h2><p>Some <em>it</em> and <code>a*b*c</code> <a href="docs/x.md">docs</a></p>' +
      "<pre><code>- not a list</code></pre>",
  );
  // snake_case and 3.5 are not emphasis or list items.
  assert.equal(html("keep snake_case_names\n3.5 GB"), "<p>keep snake_case_names 3.5 GB</p>");
});

Deno.test("display: absolute paths of this checkout are shown relative to the repository root", () => {
  const root = REPO_ROOT.replace(/\/$/, "");
  assert.equal(repoPath(join(root, "reports", "figures")), "reports/figures");
  assert.equal(
    html(`Figures saved to \`${root}/reports/figures\`.`),
    "<p>Figures saved to <code>reports/figures</code>.</p>",
  );
  const t = table([{ dir: `${root}/models/knn`, note: undefined }], {
    caption: `from ${root}`,
    missing: "–",
  });
  assert.ok(t.bundle["text/html"].includes("<td>models/knn</td><td>–</td>"), t.bundle["text/html"]);
  assert.ok(t.bundle["text/html"].includes("<caption>from .</caption>"));
  assert.ok(!String(t).includes(root));
  assert.equal(
    JSON.parse(
      provenanceNote({ source: `${root}/data/x.csv` }).bundle[
        "application/vnd.nadir.provenance+json"
      ],
    ).source,
    "data/x.csv",
  );
  // Outside the repository: the report folder, $TMPDIR, or only the last two components.
  assert.equal(relativePaths("/srvx/a and /work/x/b", { root: "/work/x" }), "/srvx/a and b");
  assert.equal(repoPath("/srv/data/day1/a.pcap", { root: "/work/x" }), "…/day1/a.pcap");
});

Deno.test({
  name: "display: the report folder and $TMPDIR stand in for their absolute paths",
  permissions: { env: true, read: true, run: true },
  fn() {
    const saved = { figures: Deno.env.get("NADIR_FIGURES_DIR"), tmp: Deno.env.get("TMPDIR") };
    try {
      Deno.env.set("NADIR_FIGURES_DIR", "/scratch/r-123/figures");
      Deno.env.set("TMPDIR", "/scratch/r-123/.tmp");
      assert.equal(repoPath("/scratch/r-123/figures"), "<report>/figures");
      assert.equal(repoPath("/scratch/r-123/.tmp/nadir-models-x/knn"), "$TMPDIR/nadir-models-x/knn");
      assert.equal(
        relativePaths("saved to /scratch/r-123/figures and /scratch/r-123/.tmp/m"),
        "saved to <report>/figures and $TMPDIR/m",
      );
    } finally {
      for (const [k, v] of [["NADIR_FIGURES_DIR", saved.figures], ["TMPDIR", saved.tmp]] as const) {
        if (v === undefined) Deno.env.delete(k);
        else Deno.env.set(k, v);
      }
    }
  },
});

Deno.test("md: a wrapped line that starts with a year is text, not a numbered list", () => {
  assert.equal(
    html("- Tavallaee et al. published it in\n2009. It removed duplicates.\n- next"),
    "<ul><li>Tavallaee et al. published it in 2009. It removed duplicates.</li><li>next</li></ul>",
  );
  assert.equal(html("Published in\n2009. Since then"), "<p>Published in 2009. Since then</p>");
});

Deno.test("show: outside a kernel (where reading Deno.jupyter throws) prints the plain-text form", async () => {
  const printed: unknown[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => printed.push(...a);
  try {
    await show(md("**hello**"));
    await show(42);
  } finally {
    console.log = log;
  }
  assert.equal(printed.length, 2);
  assert.match(String(printed[0]), /hello/);
  assert.equal(printed[1], 42);
});

Deno.test("frame: a wide real DataFrame shows its shape, dtypes, head/tail rows and first/last columns only", () => {
  const df = loadDataset("nsl-kdd-train").df; // KDDTrain+: 125,973 rows × 40+ columns
  const t = frame(df, { maxRows: 6, maxCols: 8 });
  const lines = String(t).split("\n");
  assert.equal(lines[0], `${df.height.toLocaleString("en-US")} rows × ${df.width} columns`);
  const header = lines[1].trim().split(/\s+/);
  assert.deepEqual(header, [...df.columns.slice(0, 4), "…", ...df.columns.slice(-4)]);
  // difficulty is an integer level, duration is read as float, protocol_type is text.
  assert.deepEqual(lines[2].trim().split(/\s+/).slice(0, 3), ["i64", "f64", "str"]);
  assert.equal(lines.length, 3 + 3 + 1 + 3); // caption, header, dtypes; 3 head rows, "…", 3 tail rows
  assert.match(lines[6], /^\s*…/);
  // The last row is KDDTrain+'s last row.
  const last = df.tail(1).toRecords()[0];
  assert.ok(lines[9].includes(String(last[df.columns.at(-1)!])), lines[9]);
  // No float is printed with more than 4 significant digits.
  assert.ok(!/\d\.\d{5,}/.test(String(t)), String(t));
  // table() hands DataFrames to frame(), honouring columns.
  const s = String(table(df, { columns: ["protocol_type", "service"], maxRows: 4 }));
  assert.match(s.split("\n")[1], /^protocol_type\s+service\s*$/);
  assert.ok(t.bundle["text/html"].includes("<th>…</th>"));
});
