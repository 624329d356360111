/**
 * Reading result folders back: `loadRuns()` for notebooks, `compare` and tests.
 * Folders named `partial-*` (failed or running) are skipped.
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

/** Loads one run folder. */
export async function loadRun(dir: string): Promise<Run> {
  const config = await readJson(join(dir, "config.json"));
  const metrics: Run["metrics"] = {};
  for (const e of Deno.readDirSync(dir)) {
    const m = /^metrics(?:\.(.+))?\.json$/.exec(e.name);
    if (m) metrics[m[1] ?? "main"] = await readJson(join(dir, e.name));
  }
  if (!metrics.main) throw new InputError("run folder has no metrics.json", { file: dir });
  const parts = dir.replace(/\/+$/, "").split("/");
  return {
    id: String(config.id ?? parts.at(-2)),
    stamp: parts.at(-1)!,
    dir,
    protocol: String(config.protocol),
    detector: String(config.detector),
    kind: String(config.kind ?? "detector"),
    variant: typeof config.variant === "string" ? config.variant : "",
    config,
    env: await readJson(join(dir, "env.json")).catch(() => ({})),
    data: await readJson(join(dir, "data.json")).catch(() => ({})),
    metrics,
  };
}

/**
 * Every finished run under `root` (default "results"), oldest first within an id.
 * `latestOnly` keeps the newest run of each experiment id.
 */
export async function loadRuns(
  root = "results",
  opts: { latestOnly?: boolean; ids?: string[] } = {},
): Promise<Run[]> {
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
    const pick = opts.latestOnly ? stamps.slice(-1) : stamps;
    for (const s of pick) {
      try {
        runs.push(await loadRun(join(root, id, s)));
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
      }
    }
  }
  return runs;
}

/** A run's folder relative to `base` (for tables and links). */
export function runPath(run: Run, base = "."): string {
  return relative(base, run.dir);
}
