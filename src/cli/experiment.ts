/**
 * `nadir experiment CONFIG... [--seeds N] [--quick] [--missing]`: runs experiment configs one after
 * another and writes results/<id>/<UTC stamp>-<git sha>/ for each.
 *
 * With several configs the command is a batch: it prints `[i/N] <id> …` progress lines to stderr,
 * keeps going when a config fails and ends with a summary (ok / skipped / failed per id, seconds)
 * on stdout; the exit code is 1 when any config failed. `--missing` skips a config whose result
 * folder already holds a finished run that recorded the same config.json as this run would
 * ({@link findRecordedRun}).
 *
 * @module
 */
import { join } from "node:path";
import type { Command } from "./command.ts";
import { InputError, MissingDataError, UsageError } from "../util/errors.ts";
import type { RunRecord } from "../eval/runner.ts";
import { sha256Hex } from "../util/hash.ts";

/**
 * Sorted-key JSON of `value` after the same JSON round trip config.json goes through (undefined
 * fields dropped, non-finite numbers null), so key order never decides equality.
 */
export function canonicalJson(value: unknown): string {
  const norm = JSON.parse(
    JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v)) ?? "null",
  );
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>).sort().map((
          k,
        ) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(norm));
}

/** SHA-256 (hex) of {@link canonicalJson}: the identity of a recorded config. */
export function configHash(record: unknown): Promise<string> {
  return Promise.resolve(sha256Hex(new TextEncoder().encode(canonicalJson(record))));
}

/**
 * The part of a config.json record that the request fixes before anything runs: the config as
 * given and `resolved` without what a `search` block decides during the run (`resolved.preprocess`,
 * `resolved.search`, `resolved.threshold`, and `resolved.params` when the config has a `search` block; the search block
 * itself and the params it starts from are part of the config, so they still count).
 */
export function requestPart(record: unknown): unknown {
  if (record === null || typeof record !== "object" || Array.isArray(record)) return record;
  const r = record as Record<string, unknown>;
  const resolved = r.resolved;
  if (resolved === null || typeof resolved !== "object" || Array.isArray(resolved)) return record;
  const { preprocess: _p, search: _s, threshold: _t, ...kept } = resolved as Record<string, unknown>;
  if (r.search !== undefined) delete kept.params;
  return { ...r, resolved: kept };
}

/**
 * The newest finished run under `root/<id>/` whose config.json equals `record` (by
 * {@link configHash} of {@link requestPart}), or undefined. Finished = not a `partial-…` folder and holding both
 * config.json and metrics.json. The record carries `resolved.quick`, so a quick run never stands in
 * for a full one (nor a full one for a quick one), and `resolved.seeds` and `resolved.params`
 * (registry defaults filled in), so a run with fewer seeds or other hyperparameters does not count.
 * The code version (git sha) is not compared.
 */
export async function findRecordedRun(root: string, record: RunRecord): Promise<string | undefined> {
  const want = await configHash(requestPart(record));
  const base = join(root, record.id);
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(base)) {
      if (e.isDirectory && !e.name.startsWith("partial-")) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  names.sort().reverse(); // stamps start with the UTC time: newest first
  for (const name of names) {
    const dir = join(base, name);
    let recorded: unknown;
    try {
      await Deno.stat(join(dir, "metrics.json"));
      recorded = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    } catch {
      continue; // not a finished run folder
    }
    if (await configHash(requestPart(recorded)) === want) return dir;
  }
  return undefined;
}

/** Outcome of one config of a batch. */
interface Outcome {
  config: string;
  id: string;
  status: "ok" | "skipped" | "failed";
  seconds: number;
  detail: string;
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0];
}

export const command: Command = {
  name: "experiment",
  summary: "Run experiment configs and record results",
  positionals: [{
    name: "CONFIG",
    description: "experiments/<id>.ts (default-exports an ExperimentConfig); several run one after another",
    variadic: true,
  }],
  options: {
    seeds: { type: "number", description: "Use only the first N seeds of each config", arg: "N" },
    quick: { type: "boolean", description: "Tiny slice with the config's quick overrides (smoke test)" },
    missing: {
      type: "boolean",
      description: "Skip a config that already has a finished run recording the same config.json",
    },
    root: { type: "string", description: "Results root", default: "results", arg: "DIR", writes: "dir" },
    path: {
      type: "string",
      arg: "NAME=FILE",
      multiple: true,
      description:
        "A dataset file the repository lacks, e.g. unsw-nb15-train=UNSW_NB15_training-set.csv; repeatable",
    },
    "no-figures": { type: "boolean", description: "Skip figures" },
  },
  details:
    `Writes config.json, env.json, data.json, metrics.json (+ metrics.<TestSet>.json), scores.parquet and
figures/ (ROC, PR, score histogram, confusion matrix; SVG + PNG). A failed run leaves results/<id>/partial-<stamp>/
with a PARTIAL file. Protocols: docs/protocols.md.

Several CONFIGs run one after another in the order given; "[i/N] <id> ..." progress lines go to stderr
and a summary (ok / skipped / failed, seconds per id) to stdout. A failing config does not stop the
others; the exit code is then 1. --missing skips a config when results/<id>/ already holds a finished
run whose config.json equals what this run would record (the config plus resolved params with registry
defaults, seeds and the quick flag; compared as a SHA-256 of sorted-key JSON, so a quick run never
counts for a full one; what a search block chooses during the run is left out). Code changes (git sha)
are not compared. docs/results.md.

--path NAME=FILE gives a dataset the repository does not hold (UNSW-NB15: unsw-nb15-train and
unsw-nb15-test, the official training and testing CSVs); it overrides the config's "paths" and is
recorded in config.json. In a batch, a config whose protocol needs files that were not given is
skipped with the --path it needs.

Examples:
  deno task nadir experiment experiments/nsl-kdd-knn.ts --seeds 1
  deno task nadir experiment experiments/unsw-nb15-*.ts --path unsw-nb15-train=/data/UNSW_NB15_training-set.csv \
    --path unsw-nb15-test=/data/UNSW_NB15_testing-set.csv
  deno task nadir experiment experiments/nsl-kdd-*.ts --missing`,
  async run({ options, positionals }) {
    const { loadConfig } = await import("../eval/config.ts");
    const { runExperiment, runRecord } = await import("../eval/runner.ts");
    const opts = {
      quick: !!options.quick,
      seeds: options.seeds as number | undefined,
      root: options.root as string,
      figures: !options["no-figures"],
      log: (l: string) => console.error(l),
    };
    const paths: Record<string, string> = {};
    for (const p of (options.path as string[] | undefined) ?? []) {
      const eq = p.indexOf("=");
      if (eq <= 0 || eq === p.length - 1) {
        throw new UsageError(`nadir experiment: --path expects NAME=FILE, found "${p}"`);
      }
      paths[p.slice(0, eq)] = p.slice(eq + 1);
    }
    if (opts.seeds !== undefined && (!Number.isInteger(opts.seeds) || opts.seeds < 1)) {
      throw new UsageError(`nadir experiment: --seeds expects a whole number ≥ 1, found ${opts.seeds}`);
    }
    const { getProtocol } = await import("../eval/protocols.ts");
    if (Object.keys(paths).length) {
      // --path goes to every config of the batch: a name none of their protocols reads was ignored.
      const reads = new Set<string>();
      for (const path of positionals) {
        try {
          for (const k of getProtocol((await loadConfig(path)).protocol).requiredPaths ?? []) reads.add(k);
        } catch { /* the config's own error comes in its turn below */ }
      }
      for (const name of Object.keys(paths)) {
        if (!reads.has(name)) {
          throw new UsageError(
            `nadir experiment: --path ${name}=…: no config given reads a dataset file of that name (they read ` +
              `${reads.size ? [...reads].join(", ") : "none"})`,
          );
        }
      }
    }
    const batch = positionals.length > 1;
    const n = positionals.length;
    const outcomes: Outcome[] = [];
    for (const [i, path] of positionals.entries()) {
      const tag = `[${i + 1}/${n}]`;
      const t0 = performance.now();
      const done = (status: Outcome["status"], id: string, detail: string) => {
        const seconds = (performance.now() - t0) / 1000;
        outcomes.push({ config: path, id, status, seconds, detail });
        if (batch) console.error(`${tag} ${id} ${status} ${seconds.toFixed(1)} s: ${detail}`);
      };
      let id = path;
      try {
        const loaded = await loadConfig(path);
        const config = Object.keys(paths).length
          ? { ...loaded, paths: { ...loaded.paths, ...paths } }
          : loaded;
        id = config.id;
        // A name the protocol reads no file by was ignored (a typo ran without the file).
        const reads = getProtocol(config.protocol).requiredPaths ?? [];
        for (const name of Object.keys(loaded.paths ?? {})) {
          if (!reads.includes(name)) {
            throw new InputError(
              `protocol ${config.protocol} reads no dataset file named "${name}" (paths, --path); it reads ` +
                (reads.length ? reads.join(", ") : "none"),
              { file: path },
            );
          }
        }
        if (options.missing) {
          const found = await findRecordedRun(opts.root, runRecord(config, opts));
          if (found) {
            const detail = `finished run with the same config: ${found}`;
            if (!batch) {
              console.error(`${id}: skipped, ${detail}`);
              console.log(found);
              return 0;
            }
            done("skipped", id, detail);
            continue;
          }
        }
        if (batch) console.error(`${tag} ${id} (${path}) …`);
        const { dir, metrics } = await runExperiment(config, opts);
        for (const [set, m] of Object.entries(metrics)) {
          const f = (k: string) => Number(m[k]).toFixed(4);
          console.log(
            `${config.id} ${set}: f1 ${f("f1")} precision ${f("precision")} recall ${f("recall")} accuracy ${
              f("accuracy")
            } fpr ${f("fpr")} roc_auc ${f("roc_auc")} f1_oracle ${f("f1_oracle")}`,
          );
        }
        console.log(dir);
        if (batch) done("ok", id, dir);
      } catch (e) {
        // One config: its error and exit code as always, with the config named when the error does not
        // say which file it is about (an unknown detector, a bad threshold parameter).
        if (!batch) {
          throw e instanceof InputError && e.location.file === undefined
            ? new InputError(e.detail, { ...e.location, file: path }, { cause: e })
            : e;
        }
        if (e instanceof MissingDataError) done("skipped", id, oneLine(e));
        else done("failed", id, oneLine(e));
      }
    }
    if (!batch) return 0;
    const w = outcomes.reduce((w, o) => Math.max(w, o.id.length), 0);
    console.log(`\nsummary: ${n} configs`);
    for (const o of outcomes) {
      console.log(
        `  ${o.status.padEnd(7)} ${o.id.padEnd(w)} ${o.seconds.toFixed(1).padStart(8)} s  ${o.detail}`,
      );
    }
    const count = (s: Outcome["status"]) => outcomes.filter((o) => o.status === s).length;
    const total = outcomes.reduce((s, o) => s + o.seconds, 0);
    console.log(
      `ok ${count("ok")}, skipped ${count("skipped")}, failed ${count("failed")}; ${total.toFixed(1)} s`,
    );
    return count("failed") ? 1 : 0;
  },
};
