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
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new InputError(`cannot read result file (${(e as Error).message})`, { file: path });
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
    if (m) metrics[m[1] ?? "main"] = await readJson(join(dir, e.name));
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
