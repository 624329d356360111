/**
 * Reading result folders back: `loadRuns()` for notebooks, `compare` and tests.
 * Folders named `partial-*` (failed or running) are skipped, and so are
 * `--quick` runs (smoke tests on a tiny slice) unless `includeQuick` asks for
 * them: their numbers must never reach a table, report or figure by accident.
 *
 * @example
 * ```ts
 * import { loadRuns } from "./runs.ts";
 * const runs = await loadRuns("results");
 * for (const r of runs) console.log(r.id, r.metrics.main?.f1);
 * ```
 * @module
 */
import { join, relative } from "node:path";
import { InputError } from "../util/errors.ts";
import { noteInput } from "../util/inputs.ts";

/** One finished run. */
export interface Run {
  /** Experiment id (results/<id>/). */
  id: string;
  /** Folder name `<stamp>-<sha>`. */
  stamp: string;
  dir: string;
  protocol: string;
  detector: string;
  /** "detector" or "signature-ids". */
  kind: string;
  /** Config variant name ("" when none). */
  variant: string;
  /** A `--quick` run (tiny slice, smoke test); folders written before the flag existed count as full runs. */
  quick: boolean;
  config: Record<string, unknown>;
  env: Record<string, unknown>;
  data: Record<string, unknown>;
  /** Metrics by test set; `main` is metrics.json. */
  metrics: Record<string, Record<string, any>>;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let v: unknown;
  try {
    v = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new InputError(`cannot read result file (${(e as Error).message})`, { file: path });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    const found = v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
    throw new InputError(`expected a JSON object, found ${found}`, { file: path });
  }
  return v as Record<string, unknown>;
}

/** Metrics that are shares: a run whose file says otherwise ("abc", 7) is damaged, not a result to show. */
const SHARES = ["accuracy", "precision", "recall", "f1", "fpr", "roc_auc", "pr_auc", "f1_oracle"];

function checkShares(m: Record<string, unknown>, file: string): void {
  for (const k of SHARES) {
    const v = m[k];
    if (v !== undefined && v !== null && !(typeof v === "number" && v >= 0 && v <= 1)) {
      throw new InputError(`field "${k}": expected a number in [0, 1] or null, found ${JSON.stringify(v)}`, {
        file,
      });
    }
  }
}

/**
 * Whether a run's files mark it as a `--quick` run: `resolved.quick` in config.json or `quick` in
 * metrics.json is `true`. (The config's own `quick` field holds the overrides `--quick` would apply,
 * not whether they were applied, so it is not read.) Missing fields mean a full run.
 */
export function isQuickRun(
  config: Record<string, unknown>,
  metrics: Record<string, unknown> | undefined,
): boolean {
  const resolved = config.resolved as Record<string, unknown> | undefined;
  return resolved?.quick === true || metrics?.quick === true;
}

/** Loads one run folder. */
export async function loadRun(dir: string): Promise<Run> {
  const config = await readJson(join(dir, "config.json"));
  const metrics: Run["metrics"] = {};
  for (const e of Deno.readDirSync(dir)) {
    const m = /^metrics(?:\.(.+))?\.json$/.exec(e.name);
    if (m) {
      const file = join(dir, e.name);
      checkShares(metrics[m[1] ?? "main"] = await readJson(file), file);
    }
  }
  if (!metrics.main) throw new InputError("run folder has no metrics.json", { file: dir });
  noteInput({ kind: "run", path: dir });
  const parts = dir.replace(/\/+$/, "").split("/");
  return {
    id: String(config.id ?? parts.at(-2)),
    stamp: parts.at(-1)!,
    dir,
    protocol: String(config.protocol),
    detector: String(config.detector),
    kind: String(config.kind ?? "detector"),
    variant: typeof config.variant === "string" ? config.variant : "",
    quick: isQuickRun(config, metrics.main),
    config,
    env: await readJson(join(dir, "env.json")).catch(() => ({})),
    data: await readJson(join(dir, "data.json")).catch(() => ({})),
    metrics,
  };
}

/** Options for {@link loadRuns}. */
export interface LoadRunsOptions {
  /** Keep only the newest run (by folder stamp) of each experiment id among the runs kept. */
  latestOnly?: boolean;
  /** Only these experiment ids. */
  ids?: string[];
  /** Also load `--quick` runs (default: skipped, so their numbers reach no table or figure). */
  includeQuick?: boolean;
  /** Told of each run folder left out because it cannot be read (default: console.warn). */
  warn?: (message: string) => void;
}

/**
 * Every finished full run under `root` (default "results"), oldest first within an id.
 * `--quick` runs are left out unless `includeQuick`; `latestOnly` keeps the newest run of each
 * experiment id among those kept, so a quick run never hides the full run before it.
 */
export async function loadRuns(root = "results", opts: LoadRunsOptions = {}): Promise<Run[]> {
  const runs: Run[] = [];
  let ids: string[];
  try {
    ids = [...Deno.readDirSync(root)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  } catch {
    return [];
  }
  for (const id of ids) {
    if (opts.ids && !opts.ids.includes(id)) continue;
    const stamps = [...Deno.readDirSync(join(root, id))]
      .filter((e) => e.isDirectory && !e.name.startsWith("partial-"))
      .map((e) => e.name)
      .sort();
    const kept: Run[] = [];
    // Newest first, so latestOnly can stop at the first run it keeps.
    for (const s of stamps.reverse()) {
      let run: Run;
      try {
        run = await loadRun(join(root, id, s));
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        // Said, not skipped in silence: an older run of the id would stand in as its latest result.
        (opts.warn ?? ((m: string) => console.warn(m)))(`nadir: warning: ${e.message}; that run is left out`);
        continue;
      }
      if (run.quick && !opts.includeQuick) continue;
      kept.push(run);
      if (opts.latestOnly) break;
    }
    for (let i = kept.length - 1; i >= 0; i--) runs.push(kept[i]);
  }
  // What this listing offered is an input too: a run added later changes which one a report shows.
  if (!opts.ids && !opts.includeQuick) {
    noteInput({ kind: "root", path: root, runs: runs.map((r) => r.dir), latestOnly: !!opts.latestOnly });
  }
  return runs;
}

/** A run's folder relative to `base` (for tables and links). */
export function runPath(run: Run, base = "."): string {
  return relative(base, run.dir);
}
