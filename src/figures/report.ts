/**
 * `nadir report`'s engine: executes every notebook in notebooks/ headless with
 * the project's Deno kernel (scripts/nbrun.py, which keeps the outputs stock
 * `nbconvert --execute` loses), signs the executed copies, renders each to a
 * self-contained HTML page with a provenance footer (scripts/nbhtml.py) and
 * writes an index.
 *
 * Python runs from Debian (`/usr/bin/python3`, override with
 * `$NADIR_PYTHON`) because the python3 first on PATH may be a pyenv without
 * Jupyter. The kernel is found through `JUPYTER_PATH=.jupyter` (written by
 * scripts/setup.sh). Notebooks run with their folder as working directory, so
 * their `../src/...` imports resolve, and with `NADIR_FIGURES_DIR=<out>/figures`
 * so the charts they save land beside the report.
 *
 * @example
 * ```ts ignore
 * import { runReport } from "./report.ts";
 * const r = await runReport({ out: "/tmp/reports", quick: true, only: ["01-eda"] });
 * console.log(r.notebooks.map((n) => `${n.name}: ${n.status}`));
 * ```
 * @module
 */
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError, UsageError } from "../util/errors.ts";
import { VERSION } from "../version.ts";
import { gitSha } from "./provenance.ts";
import { collectReportInputs } from "../eval/report_inputs.ts";
import { readInputsLog } from "../util/inputs.ts";
import { exists } from "../util/fs.ts";
import { declaredParams, type ParamArg, planParams } from "./notebook_params.ts";

/** Repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** Options for {@link runReport}. */
export interface ReportOptions {
  /** Output folder (default reports/). */
  out?: string;
  /** Run with `QUICK = true` (small slices; what CI runs). */
  quick?: boolean;
  /** Notebook names or prefixes to run (e.g. "01", "04-ids-benchmark"); default all. */
  only?: string[];
  /** Parameters for every notebook that declares them (JSON values; see ./notebook_params.ts). */
  params?: Record<string, unknown>;
  /** Parameters for the notebooks whose name starts with their `notebook` prefix. */
  notebookParams?: ParamArg[];
  /** Folder holding the notebooks (default notebooks/). */
  notebooksDir?: string;
  /** Seconds of IOPub silence nbrun waits after each cell (default 0.3). */
  grace?: number;
  /** Per-cell timeout in seconds (default 1800). */
  cellTimeout?: number;
  /** Called with one line per step. */
  log?: (line: string) => void;
}

/** Outcome for one notebook. */
export interface NotebookRun {
  name: string;
  status: "ok" | "error";
  seconds: number;
  ipynb: string;
  html: string;
  /** Outputs that arrived after their cell went idle (and were kept). */
  lateOutputs: number;
  /** nbrun's stderr tail when it failed. */
  message?: string;
}

/** What {@link runReport} did. */
export interface ReportResult {
  out: string;
  index: string;
  notebooks: NotebookRun[];
  seconds: number;
}

/** Python with Jupyter (Debian's). */
export function pythonPath(): string {
  return Deno.env.get("NADIR_PYTHON") || "/usr/bin/python3";
}

/** The JUPYTER_PATH value that finds the project's kernel (kept in front of any existing one). */
export function jupyterPath(): string {
  const own = join(REPO_ROOT, ".jupyter");
  const prev = Deno.env.get("JUPYTER_PATH");
  return prev && !prev.split(":").includes(own) ? `${own}:${prev}` : prev || own;
}

/** Why notebooks cannot run here, or undefined when Jupyter, nbclient and the Deno kernel are present. */
export function notebookToolsMissing(): string | undefined {
  const py = pythonPath();
  try {
    const r = new Deno.Command(py, {
      args: ["-c", "import nbclient, nbformat, jupyter_client"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (!r.success) {
      return `${py} lacks nbclient/nbformat/jupyter_client (Debian python3-nbclient; run bash scripts/setup.sh)`;
    }
  } catch {
    return `${py} not found (run bash scripts/setup.sh)`;
  }
  const kernel = join(REPO_ROOT, ".jupyter", "kernels", "deno", "kernel.json");
  try {
    Deno.statSync(kernel);
  } catch {
    return `Deno kernel not registered: ${kernel} is missing (run bash scripts/setup.sh)`;
  }
  return undefined;
}

/** Notebooks in `dir` (sorted), filtered by names/prefixes in `only`. */
export function listNotebooks(dir: string, only?: string[]): string[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".ipynb")).map((e) => e.name)
      .sort();
  } catch (e) {
    throw new InputError(`cannot list notebooks: ${(e as Error).message}`, { file: dir });
  }
  if (!only?.length) return names.map((n) => join(dir, n));
  const picked = names.filter((n) =>
    only.some((o) => n === o || n.replace(/\.ipynb$/, "") === o || n.startsWith(o))
  );
  const unknown = only.filter((o) =>
    !names.some((n) => n === o || n.replace(/\.ipynb$/, "") === o || n.startsWith(o))
  );
  if (unknown.length) {
    throw new UsageError(
      `nadir report: --only ${unknown.join(", ")} matches no notebook; expected one of ${
        names.map((n) => n.replace(/\.ipynb$/, "")).join(", ")
      }`,
    );
  }
  return picked.map((n) => join(dir, n));
}

async function runPython(
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(pythonPath(), {
    args,
    cwd,
    env: { ...env, JUPYTER_PATH: jupyterPath(), PYTHONUNBUFFERED: "1" },
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const { code, stderr } = await child.output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

/** Runs, signs and renders the notebooks; writes `<out>/<name>.ipynb`, `<out>/<name>.html` and `<out>/index.html`. */
export async function runReport(opts: ReportOptions = {}): Promise<ReportResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((l: string) => console.error(l));
  const missing = notebookToolsMissing();
  if (missing) throw new InputError(`cannot execute notebooks: ${missing}`);
  const out = resolve(opts.out ?? join(REPO_ROOT, "reports"));
  const nbDir = resolve(opts.notebooksDir ?? join(REPO_ROOT, "notebooks"));
  const notebooks = listNotebooks(nbDir, opts.only);
  if (notebooks.length === 0) throw new InputError(`no notebooks (*.ipynb) found`, { file: nbDir });
  await Deno.mkdir(join(out, "figures"), { recursive: true });
  const params: Record<string, unknown> = { ...(opts.params ?? {}) };
  if (opts.quick) params.QUICK = true;
  // A render outside the repository's reports/ keeps the notebooks' other outputs (feature sets, models) in OUT.
  const plan = planParams(
    notebooks.map((nb) => ({
      name: basename(nb).replace(/\.ipynb$/, ""),
      declared: declaredParams(JSON.parse(Deno.readTextFileSync(nb))),
    })),
    {
      global: params,
      perNotebook: opts.notebookParams ?? [],
      outputsUnder: !opts.quick && out !== join(REPO_ROOT, "reports") ? out : undefined,
    },
  );
  const prov = { gitSha: gitSha(), version: VERSION };
  const runs: NotebookRun[] = [];
  for (const nb of notebooks) {
    const name = basename(nb).replace(/\.ipynb$/, "");
    const ipynb = join(out, `${name}.ipynb`);
    const html = join(out, `${name}.html`);
    log(`report: running ${name}${opts.quick ? " (quick)" : ""}`);
    const t1 = performance.now();
    const args = [
      join(REPO_ROOT, "scripts", "nbrun.py"),
      nb,
      ipynb,
      "--cwd",
      nbDir,
      "--grace",
      String(opts.grace ?? 0.3),
      "--timeout",
      String(opts.cellTimeout ?? 1800),
      "--quiet",
      ...Object.entries(plan.get(name) ?? {}).flatMap(([k, v]) => ["-p", `${k}=${JSON.stringify(v)}`]),
    ];
    const inputsLog = await Deno.makeTempFile({ prefix: "nadir-report-inputs-" });
    const env: Record<string, string> = {
      NADIR_FIGURES_DIR: join(out, "figures"),
      NO_COLOR: "1",
      NADIR_PROGRESS: "0",
      NADIR_INPUTS_LOG: inputsLog,
    };
    // Quick runs write their feature sets and models to temporary folders: keep those inside OUT and remove them after.
    if (opts.quick) {
      env.TMPDIR = join(out, ".tmp");
      await Deno.mkdir(env.TMPDIR, { recursive: true });
    }
    const r = await runPython(args, env, REPO_ROOT);
    const seconds = (performance.now() - t1) / 1000;
    let lateOutputs = 0;
    let status: "ok" | "error" = r.code === 0 ? "ok" : "error";
    try {
      const meta = JSON.parse(await Deno.readTextFile(ipynb)).metadata?.nadir ?? {};
      lateOutputs = meta.late_outputs ?? 0;
      if (meta.status === "error") status = "error";
    } catch {
      // nbrun failed before writing (bad notebook, unknown parameter): report it below.
      status = "error";
    }
    const tail = r.stderr.split("\n").filter((l) => l.trim() && !l.includes('"deno jupyter" is unstable'))
      .slice(-5)
      .join("\n");
    if (r.code === 2 || (status === "error" && !(await exists(ipynb)))) {
      await Deno.remove(inputsLog).catch(() => {});
      runs.push({ name, status: "error", seconds, ipynb, html, lateOutputs, message: tail });
      log(`report: ${name} failed to run: ${tail}`);
      continue;
    }
    await recordInputs(ipynb, nb, inputsLog);
    const rr = await runPython(
      [join(REPO_ROOT, "scripts", "nbhtml.py"), "render", ipynb, html, "--provenance", JSON.stringify(prov)],
      {},
      REPO_ROOT,
    );
    if (rr.code !== 0) throw new Error(`nbhtml failed for ${ipynb}: ${rr.stderr}`);
    runs.push({
      name,
      status,
      seconds,
      ipynb,
      html,
      lateOutputs,
      message: status === "error" ? tail : undefined,
    });
    log(`report: ${name} ${status} in ${seconds.toFixed(1)} s (${lateOutputs} late outputs kept) → ${html}`);
  }
  if (opts.quick) await Deno.remove(join(out, ".tmp"), { recursive: true }).catch(() => {});
  const index = join(out, "index.html");
  // The index lists every executed notebook in OUT (a run with --only keeps the others' earlier results).
  const executed: string[] = [];
  for (const nb of listNotebooks(nbDir)) {
    const ipynb = join(out, basename(nb));
    if (await exists(ipynb)) executed.push(ipynb);
  }
  if (executed.length) {
    const ri = await runPython(
      [
        join(REPO_ROOT, "scripts", "nbhtml.py"),
        "index",
        index,
        ...executed,
        "--provenance",
        JSON.stringify(prov),
      ],
      {},
      REPO_ROOT,
    );
    if (ri.code !== 0) throw new Error(`nbhtml index failed: ${ri.stderr}`);
  }
  return { out, index, notebooks: runs, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Stores in the executed notebook's metadata (`nadir.inputs`) what it was built from: the commit, the
 * notebook, the src/ modules it imports and the result folders and listings it read (logged by the
 * loaders through NADIR_INPUTS_LOG). `nadir report --check` compares them with the checkout.
 */
async function recordInputs(ipynb: string, source: string, inputsLog: string): Promise<void> {
  try {
    const inputs = await collectReportInputs({
      notebook: source,
      notes: readInputsLog(inputsLog),
      root: REPO_ROOT,
    });
    await Deno.writeTextFile(inputsLog, JSON.stringify(inputs));
    // nbformat writes and re-signs the notebook, so its layout and Jupyter's trust stay as nbrun left them.
    const r = await runPython(["-c", ANNOTATE, ipynb, inputsLog], {}, REPO_ROOT);
    if (r.code !== 0) throw new Error(`cannot record the inputs of ${ipynb}: ${r.stderr}`);
  } finally {
    await Deno.remove(inputsLog).catch(() => {});
  }
}

const ANNOTATE = `import json, sys, nbformat
from nbformat.sign import NotebookNotary
nb = nbformat.read(sys.argv[1], as_version=4)
nb.metadata.setdefault("nadir", {})["inputs"] = json.load(open(sys.argv[2]))
NotebookNotary().sign(nb)
nbformat.write(nb, sys.argv[1])
`;
