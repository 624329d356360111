/**
 * `nadir compare [RESULT_DIR...]`: Markdown table on stdout, an HTML page and
 * a figure (SVG + PNG) comparing runs, with published results marked
 * "published". `--update-readme` rewrites README.md between the results
 * markers.
 *
 * @module
 */
import { join } from "node:path";
import type { Command } from "./command.ts";
import { InputError, UsageError, withFile } from "../util/errors.ts";

export const command: Command = {
  name: "compare",
  summary: "Compare result runs (Markdown table, HTML page, figure)",
  positionals: [{
    name: "RESULT_DIR",
    description: "Run folders or results/<id> folders (default: every run under --root)",
    optional: true,
    variadic: true,
  }],
  options: {
    root: { type: "string", description: "Results root", default: "results", arg: "DIR" },
    all: {
      type: "boolean",
      description: "Show every full run instead of the latest per protocol, detector and variant",
    },
    out: {
      type: "string",
      writes: "dir",
      description: "Where the HTML page and figure go",
      default: "reports/compare",
      arg: "DIR",
    },
    "no-published": { type: "boolean", description: "Leave out the published rows" },
    "update-readme": {
      type: "boolean",
      description: "Rewrite README.md between <!-- results:start --> and <!-- results:end -->",
    },
    readme: { type: "string", description: "README to update", default: "README.md", arg: "FILE" },
    "no-figure": { type: "boolean", description: "Skip the figure (faster)" },
    "include-quick": {
      type: "boolean",
      description: "Also show --quick runs (smoke tests on tiny slices); never with --update-readme",
    },
  },
  details: `Examples:
  deno task nadir compare
  deno task nadir compare results/nsl-kdd-knn results/nsl-kdd-autoencoder --all
  deno task nadir compare --update-readme`,
  async run({ options, positionals }) {
    const includeQuick = !!options["include-quick"];
    if (includeQuick && options["update-readme"]) {
      throw new UsageError(
        "nadir compare: --include-quick cannot be used with --update-readme (quick runs never reach the README)",
      );
    }
    const { loadRun, loadRuns } = await import("../eval/runs.ts");
    const cmp = await import("../eval/compare.ts");
    let runs;
    if (positionals.length) {
      runs = [];
      for (const p of positionals) {
        let isRun = false;
        try {
          Deno.statSync(join(p, "config.json"));
          isRun = true;
        } catch { /* a results/<id> folder */ }
        if (isRun) {
          const run = await loadRun(p);
          if (run.quick && !includeQuick) {
            throw new InputError("is a --quick run (tiny slice); pass --include-quick to show it", {
              file: p,
            });
          }
          runs.push(run);
        } else {
          const parts = p.replace(/\/+$/, "").split("/");
          const got = await loadRuns(parts.slice(0, -1).join("/") || ".", {
            ids: [parts.at(-1)!],
            includeQuick,
          });
          if (!got.length) throw new InputError("no finished runs here", { file: p });
          for (const r of got) runs.push(r); // no push(...got): a spread of 120 k+ items overflows the stack
        }
      }
    } else runs = await loadRuns(options.root as string, { includeQuick });
    if (!runs.length) {
      throw new InputError(
        `no finished runs under ${options.root}; run one with: deno task nadir experiment experiments/<id>.ts`,
      );
    }
    const chosen = options.all ? runs : cmp.latestRuns(runs, { includeQuick });
    const rows = cmp.compareRows(chosen, { published: !options["no-published"] });
    console.log(cmp.markdownTable(rows));
    const out = options.out as string;
    await Deno.mkdir(out, { recursive: true });
    let svg: string | undefined;
    if (!options["no-figure"]) {
      const fig = await import("../figures/mod.ts");
      const main = rows.filter((r) =>
        !r.published && r.f1 !== undefined &&
        (r.test_set === "test" || r.test_set === "KDDTest+" || r.test_set === "covered")
      );
      const chart = fig.comparisonChart(
        main.map((r) => ({
          label: `${r.protocol} · ${r.detector.replace(" (signatures)", "")}${
            r.test_set === "covered" ? " covered" : ""
          }`,
          values: { F1: r.f1!, Recall: r.recall!, "1 − FPR": 1 - (r.fpr ?? 0) },
        })),
        {
          title: "Detectors and Snort on the nadir protocols",
          subtitle: "Threshold from benign training data only",
          domain: [0, 1],
          xLabel: "Score",
        },
      );
      const saved = await fig.saveFigure(chart, out, "compare", {
        caption: "Latest full run per protocol, detector and variant; see docs/protocols.md.",
      });
      svg = await Deno.readTextFile(saved.svg);
      console.error(`figure: ${saved.svg}, ${saved.png}`);
    }
    const html = join(out, "compare.html");
    await Deno.writeTextFile(html, cmp.htmlPage(rows, svg));
    console.error(`html: ${html}`);
    if (options["update-readme"]) {
      const readme = options.readme as string;
      let text: string;
      try {
        text = await Deno.readTextFile(readme);
      } catch (e) {
        throw new InputError(`cannot read the README to update: ${(e as Error).message}`, { file: readme });
      }
      const readmeRows = cmp.compareRows(cmp.latestRuns(runs), { published: true });
      const updated = await withFile(
        readme,
        () => Promise.resolve(cmp.replaceBetweenMarkers(text, cmp.readmeBlock(readmeRows))),
      );
      await Deno.writeTextFile(readme, updated);
      console.error(`updated ${readme}`);
    }
  },
};
