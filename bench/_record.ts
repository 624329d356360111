/**
 * Bench records: every `deno task bench <name>` run writes
 * `bench/results/<name>-<UTC stamp>.json` holding when and where it ran (date,
 * git commit, machine, neural engine), its parameters and every figure it
 * printed, as tables of raw numbers. The docs' speed tables are generated from
 * these files (scripts/bench_tables.ts) with {@link renderTable}, which the
 * detectors bench also prints its tables with, so what it shows, what the
 * record holds and what the docs quote are one thing.
 *
 * `NADIR_BENCH_RESULTS` points the records elsewhere (tests, scratch runs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderTable, type Table } from "./_record.ts";
 * const t: Table = {
 *   id: "demo",
 *   title: "demo",
 *   columns: [{ key: "name", label: "model" }, { key: "rate", label: "rows/s", int: true }],
 *   rows: [{ name: "knn", rate: 12345.6 }, { name: "lof", rate: null }],
 * };
 * assert.deepEqual(renderTable(t), ["| model | rows/s |", "| --- | ---: |", "| knn | 12,346 |", "| lof | - |"]);
 * ```
 * @module
 */
import { join } from "node:path";
import { gitCommit } from "../src/util/git.ts";

/**
 * A capture the bench built before and cached (`$NADIR_BENCH_CACHE`): its packet count, when the file is
 * there whole (its size as recorded in `<path>.json` by {@link cacheCapture}); undefined otherwise.
 */
export function cachedCapture(path: string): number | undefined {
  try {
    const m = JSON.parse(Deno.readTextFileSync(path + ".json"));
    if (Deno.statSync(path).size === m.bytes) return m.packets;
  } catch { /* not built yet */ }
  return undefined;
}

/** Records a capture just built at `path` (its packets, size and `extra` facts) for {@link cachedCapture}. */
export function cacheCapture(path: string, packets: number, extra: Record<string, unknown> = {}): void {
  Deno.writeTextFileSync(
    path + ".json",
    JSON.stringify({ packets, bytes: Deno.statSync(path).size, ...extra }),
  );
}

/** A table cell: a number (formatted by its column), text, or missing. */
export type Cell = number | string | null;

/** How one column is labelled and formatted. */
export interface Column {
  /** Key of the value in each row. */
  key: string;
  /** Header text. */
  label: string;
  /** Decimal places of a number (default 2). */
  digits?: number;
  /** Round to an integer and group thousands (12,345). */
  int?: boolean;
  /** Appended to a formatted number ("×", " %"). */
  suffix?: string;
}

/** A printed table: raw values, formatted only when rendered. */
export interface Table {
  /** Stable name, used by docs markers (`<!-- bench:detectors/ratios -->`). */
  id: string;
  title: string;
  columns: Column[];
  rows: Record<string, Cell>[];
  /** Lines printed under the table (conditions, definitions). */
  notes?: string[];
}

/** The machine a record was measured on. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  arch: string;
  deno: string;
  /** 1, 5 and 15 minute load averages when the record was written (the machine may be shared). */
  loadAverage: number[];
}

/** One bench run, as written to bench/results/. */
export interface BenchRecord {
  format: 1;
  /** Bench name: flows, detectors, monitor, capture, llm. */
  bench: string;
  /** ISO 8601, UTC. */
  date: string;
  /** Abbreviated HEAD commit (null outside a git checkout). */
  commit: string | null;
  /** Uncommitted changes under src/ or bench/ when the run started (see checkoutAtStart) (null when git could not tell). */
  dirty: boolean | null;
  machine: Machine;
  /** The neural engine line, e.g. "native (OpenBLAS 0.3.21, 2 threads)"; "" when the bench runs no model. */
  engine: string;
  /** What the bench was asked to do (flags, sizes, hyperparameters). */
  params: Record<string, unknown>;
  tables: Table[];
  /** Free-form remarks printed with the run (skipped peers, load). */
  notes: string[];
}

/**
 * The `deno run` arguments of deno.json's `nadir` task before `src/cli.ts` (permissions, V8 flags), so that
 * a bench runs nadir exactly as `deno task nadir` does.
 */
export function nadirRunArgs(): string[] {
  const deno = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  const words = (deno.tasks.nadir as string).split(/\s+/);
  const cli = words.indexOf("src/cli.ts");
  if (words[0] !== "deno" || words[1] !== "run" || cli < 0) {
    throw new Error(`deno.json's nadir task: expected "deno run … src/cli.ts", found ${deno.tasks.nadir}`);
  }
  return words.slice(1, cli);
}

/** The bench/results/ folder of this checkout, or `$NADIR_BENCH_RESULTS`. */
export function resultsDir(): string {
  return Deno.env.get("NADIR_BENCH_RESULTS") || new URL("./results/", import.meta.url).pathname;
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"));
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return "unknown";
}

/** CPU model, cores, memory and load of this machine. */
export function machineInfo(): Machine {
  let memoryGiB = NaN;
  try {
    memoryGiB = Math.round(Deno.systemMemoryInfo().total / 2 ** 30 * 10) / 10;
  } catch { /* unavailable */ }
  let loadAverage: number[] = [];
  try {
    loadAverage = Deno.loadavg().map((v) => Math.round(v * 100) / 100);
  } catch { /* unavailable */ }
  return {
    cpu: cpuModel(),
    cores: navigator.hardwareConcurrency,
    memoryGiB,
    os: Deno.build.os,
    arch: Deno.build.arch,
    deno: Deno.version.deno,
    loadAverage,
  };
}

function dirtyTree(cwd: string): boolean | null {
  try {
    const r = new Deno.Command("git", {
      args: ["status", "--porcelain", "--", "src", "bench"],
      cwd,
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return r.success ? new TextDecoder().decode(r.stdout).trim().length > 0 : null;
  } catch {
    return null;
  }
}

/** `2026-11-23T10:15:00.123Z` → `20261123T101500Z` (file-name stamp, UTC, sortable). */
export function recordStamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

let atStart: { commit: string | null; dirty: boolean | null } | undefined;

/**
 * The checkout's commit and dirty flag as this process found them when it first asked — the code a
 * bench runs is what it loaded at start, so commits or edits landing during a long run must not be
 * credited to it. bench/main.ts asks before it loads a bench.
 */
export function checkoutAtStart(): { commit: string | null; dirty: boolean | null } {
  if (!atStart) {
    const root = new URL("../", import.meta.url).pathname;
    atStart = { commit: gitCommit(root) ?? null, dirty: dirtyTree(root) };
  }
  return atStart;
}

/** A record for `bench` stamped now, with the checkout's commit at process start and this machine. */
export function makeRecord(
  bench: string,
  parts: { engine?: string; params?: Record<string, unknown>; tables: Table[]; notes?: string[] },
  date = new Date(),
): BenchRecord {
  const { commit, dirty } = checkoutAtStart();
  return {
    format: 1,
    bench,
    date: date.toISOString(),
    commit,
    dirty,
    machine: machineInfo(),
    engine: parts.engine ?? "",
    params: parts.params ?? {},
    tables: parts.tables,
    notes: parts.notes ?? [],
  };
}

/** Writes `rec` as `<dir>/<bench>-<stamp>.json` (2-space JSON; NaN and ±Infinity become null); returns the path. */
export async function writeRecord(rec: BenchRecord, dir = resultsDir()): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `${rec.bench}-${recordStamp(new Date(rec.date))}.json`);
  await Deno.writeTextFile(path, JSON.stringify(rec, null, 2) + "\n");
  return path;
}

/** Builds the record, writes it and prints where it went; a failed write is reported, not thrown. */
export async function saveRecord(
  bench: string,
  parts: Parameters<typeof makeRecord>[1],
): Promise<string | undefined> {
  try {
    const path = await writeRecord(makeRecord(bench, parts));
    console.log(`record: ${path}`);
    return path;
  } catch (e) {
    console.error(`bench record not written: ${(e as Error).message}`);
    return undefined;
  }
}

/** One cell as text: numbers by the column's format, missing or non-finite as "-". */
export function formatCell(v: Cell | undefined, c: Column): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "string") return v.replaceAll("|", "\\|") || "-";
  if (!Number.isFinite(v)) return "-";
  const s = c.int ? Math.round(v).toLocaleString("en-US") : v.toFixed(c.digits ?? 2);
  return s + (c.suffix ?? "");
}

/** A Markdown table (numeric columns right-aligned, a column is numeric when any cell is a number). */
export function renderTable(t: Table): string[] {
  const numeric = t.columns.map((c) => t.rows.some((r) => typeof r[c.key] === "number"));
  const lines = [
    `| ${t.columns.map((c) => c.label).join(" | ")} |`,
    `| ${numeric.map((n) => n ? "---:" : "---").join(" | ")} |`,
  ];
  for (const r of t.rows) lines.push(`| ${t.columns.map((c) => formatCell(r[c.key], c)).join(" | ")} |`);
  return lines;
}

/** Prints a table with its title and notes, as the benches show them. */
export function printTable(t: Table): void {
  console.log(`\n${t.title}\n`);
  for (const l of renderTable(t)) console.log(l);
  if (t.notes?.length) console.log("\n" + t.notes.join("\n"));
}
