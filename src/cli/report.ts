/**
 * `nadir report`: execute every notebook headless (Deno kernel, late outputs
 * kept), sign the executed copies, render self-contained HTML with a
 * provenance footer and an index. Engine: src/figures/report.ts.
 *
 * @module
 */
import { bool, type Command, str } from "./command.ts";

export const command: Command = {
  name: "report",
  summary: "Execute notebooks headless and render HTML reports",
  options: {
    quick: { type: "boolean", description: "Run on small slices (QUICK = true; what CI runs)" },
    out: { type: "string", arg: "DIR", description: "Output folder", default: "reports", writes: "dir" },
    only: {
      type: "string",
      arg: "NAME",
      multiple: true,
      description: "Only this notebook (name or prefix, e.g. 01); repeatable",
    },
    param: {
      type: "string",
      arg: "[NB:]KEY=VALUE",
      multiple: true,
      description:
        "Set a parameters-cell value (VALUE as JSON, else a string) in every notebook that declares " +
        "KEY, or with NB: only in the notebooks whose name starts with NB",
    },
    check: {
      type: "boolean",
      description: "Run nothing: exit 1 when a rendered report in OUT is stale (its notebook, the src/ " +
        "modules it imports or the result folders it read changed since), quick, or has no inputs record",
    },
    grace: {
      type: "number",
      arg: "S",
      description: "Seconds to keep draining late outputs after each cell",
      default: 0.3,
    },
  },
  details: `Writes OUT/<notebook>.ipynb (executed, signed), OUT/<notebook>.html and OUT/index.html; charts the
notebooks save go to OUT/figures/, after the slide set of nadir figures (without --only), so that one
render leaves one set from one commit. Rendered anywhere but reports/, the notebooks' other outputs (feature
sets, saved models) go under OUT too, so the checkout is left as it was. Needs Debian Jupyter (python3-nbclient) and the Deno kernel from
bash scripts/setup.sh. Exit 1 when a notebook raised (its report still shows where).

Each executed notebook records what it was built from (metadata.nadir.inputs): the commit, and sha256
digests of the notebook, of every src/ module it imports (transitively) and of every result folder it
read, plus which full runs each results listing offered. The HTML footer names the commit and the
result folders. --check recomputes them (CI runs it on the committed reports/).

Examples:
  deno task nadir report                      # full data, into reports/
  deno task nadir report --check              # are the committed reports current?
  deno task nadir report --quick --out /tmp/r # CI-sized slices
  deno task nadir report --only 01 --param DATASET=cic-ids2017
  deno task nadir report --out /tmp/r --param 01:DATASET=unsw-nb15 --param 02:DATASET=cic-ids2017`,
  async run(args) {
    if (bool(args, "check")) return await check(str(args, "out") ?? "reports");
    const { runReport } = await import("../figures/report.ts");
    const { parseParamArg } = await import("../figures/notebook_params.ts");
    const params: Record<string, unknown> = {};
    const notebookParams = [];
    for (const arg of (args.options.param as string[] | undefined) ?? []) {
      const p = parseParamArg(arg);
      if (p.notebook) notebookParams.push(p);
      else params[p.key] = p.value;
    }
    // The slide figures the notebooks do not draw (nadir figures) first, so that a full render leaves one set
    // from one commit in OUT/figures; the notebooks then redraw the ones they own.
    if (!args.options.only) {
      const { renderSlideFigures } = await import("./figures.ts");
      const { REPO_ROOT } = await import("../figures/report.ts");
      const { join } = await import("node:path");
      await renderSlideFigures({
        out: join(str(args, "out") ?? "reports", "figures"),
        results: join(REPO_ROOT, "results"),
      });
    }
    const r = await runReport({
      out: str(args, "out"),
      quick: bool(args, "quick"),
      only: args.options.only as string[] | undefined,
      params,
      notebookParams,
      grace: Number(args.options.grace ?? 0.3),
    });
    const w = Math.max(...r.notebooks.map((n) => n.name.length));
    for (const n of r.notebooks) {
      console.log(
        `${n.name.padEnd(w)}  ${n.status.padEnd(5)}  ${n.seconds.toFixed(1).padStart(6)} s  ${n.html}`,
      );
      if (n.message) console.log(`  ${n.message.replace(/\n/g, "\n  ")}`);
    }
    console.log(`index: ${r.index} (${r.seconds.toFixed(1)} s in all)`);
    return r.notebooks.some((n) => n.status !== "ok") ? 1 : 0;
  },
};

async function check(out: string): Promise<number> {
  const { checkReports } = await import("../eval/report_inputs.ts");
  const { REPO_ROOT } = await import("../figures/report.ts");
  const results = await checkReports(out, REPO_ROOT);
  let stale = 0;
  for (const r of results) {
    if (r.problems.length === 0) {
      console.log(`${r.report}: current`);
      continue;
    }
    stale++;
    console.log(`${r.report}: STALE`);
    for (const p of r.problems) console.log(`  ${p}`);
  }
  if (stale) {
    console.log(`${stale} of ${results.length} reports are stale: re-render with deno task nadir report`);
  }
  return stale ? 1 : 0;
}
