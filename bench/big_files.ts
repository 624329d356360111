/**
 * `deno task bench big [--rows 250000,2500000,16000000] [--cache DIR]`:
 * `nadir data info`, `nadir train` and `nadir predict` on CIC-IDS2017-shaped
 * CSVs of growing size, reading the whole file (the loaders' way) against
 * reading it in chunks (the default for CSVs over 64 MiB: 100,000-row chunks;
 * training on a seeded 500 k-row sample), measured in the same run: wall time,
 * rows/s and peak RSS of the whole process (/usr/bin/time). Whole-file runs
 * are skipped above 2.5 M rows (they need ~2.2 KB of memory per row). Up to 2.5 M rows the same rows are
 * also written as Parquet (polars, zstd), and train and predict run on it: whole (polars) against row
 * groups (src/data/parquet.ts).
 *
 * The files repeat the rows of the vendored CIC-IDS2017 sample (data/cic-ids2017, 2,500 rows per class)
 * in order until they hold N rows, under its header; cached in --cache. The model is an isolation forest
 * trained on the sample. Writes `bench/results/big-<stamp>.json` (bench/_record.ts).
 *
 * @module
 */
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { nadirRunArgs, saveRecord, type Table } from "./_record.ts";
import { existsSync } from "../src/util/fs.ts";
import { loadDataset } from "../src/data/datasets.ts";
import { saveTrained, trainOnFrame } from "../src/detectors/train.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
}

/** Writes (or reuses) a CSV of `rows` rows cycling through the vendored CIC-IDS2017 sample. */
function buildCsv(cache: string, rows: number): string {
  const file = join(cache, `cic-shaped-${rows}.csv`);
  if (existsSync(file)) return file;
  const dir = join(ROOT, "data", "cic-ids2017");
  let header = "";
  const body: string[] = [];
  for (
    const e of [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".csv.gz")).sort((a, b) =>
      a.name < b.name ? -1 : 1
    )
  ) {
    const lines = new TextDecoder().decode(gunzipSync(Deno.readFileSync(join(dir, e.name)))).split("\n");
    header ||= lines[0];
    if (lines[0] !== header) throw new Error(`${e.name}: a different header from the other sample files`);
    for (const l of lines.slice(1)) if (l.trim()) body.push(l);
  }
  const tmp = file + ".part";
  const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  const write = (s: string) => {
    const b = enc.encode(s);
    for (let o = 0; o < b.length;) o += f.writeSync(b.subarray(o));
  };
  write(header + "\n");
  const block = 10_000;
  for (let i = 0; i < rows; i += block) {
    const parts: string[] = [];
    for (let j = i; j < Math.min(rows, i + block); j++) parts.push(body[j % body.length]);
    write(parts.join("\n") + "\n");
  }
  f.close();
  Deno.renameSync(tmp, file);
  return file;
}

/**
 * Writes (or reuses) the same rows as {@link buildCsv}'s file as Parquet (polars, zstd, its own row groups),
 * for the sizes polars can convert whole here (it reads the CSV into memory first).
 */
async function buildParquet(csv: string): Promise<string> {
  const file = csv.replace(/\.csv$/, ".parquet");
  if (existsSync(file)) return file;
  const pl = (await import("nodejs-polars")).default;
  pl.readCSV(csv, { inferSchemaLength: 10000 }).writeParquet(file + ".part", { compression: "zstd" });
  Deno.renameSync(file + ".part", file);
  return file;
}

/** The arguments of one `nadir` command (after `deno run ... src/cli.ts`). */
function nadirArgv(...args: string[]): string[] {
  return args;
}

function timed(
  cmd: string[],
): { wall: number; rssMiB: number; cpu: number; out: string; ok: boolean; err: string } {
  const r = new Deno.Command("/usr/bin/time", {
    args: ["-f", "__TIME__ %e %M %U %S", ...cmd],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const err = new TextDecoder().decode(r.stderr);
  const m = err.match(/__TIME__ ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/);
  return {
    wall: m ? Number(m[1]) : NaN,
    rssMiB: m ? Number(m[2]) / 1024 : NaN,
    cpu: m ? Number(m[3]) + Number(m[4]) : NaN,
    out: new TextDecoder().decode(r.stdout),
    ok: r.success,
    err: err.slice(-500),
  };
}

export async function main(args: string[]): Promise<void> {
  const sizes = arg(args, "rows", "250000,2500000,16000000").split(",").map(Number);
  const cache = arg(args, "cache", Deno.env.get("NADIR_BENCH_CACHE") ?? "/tmp/nadir-bench-cache");
  Deno.mkdirSync(cache, { recursive: true });
  const work = Deno.makeTempDirSync({ prefix: "nadir-bench-big-" });
  try {
    const model = join(work, "iforest-cic");
    const r = await trainOnFrame(loadDataset("cic-ids2017").df, {
      detector: "isolation-forest",
      seed: 1,
      silent: true,
    });
    await saveTrained(model, r, { seed: 1 });
    const rows: Record<string, number | string | null>[] = [];
    for (const n of sizes) {
      const csvFile = buildCsv(cache, n);
      // The same rows as Parquet too, up to the size polars converts in memory: predict and train read it
      // by row groups (src/data/parquet.ts) against polars reading it whole.
      const files = n <= 2_500_000 ? [csvFile, await buildParquet(csvFile)] : [csvFile];
      for (const csv of files) {
        const format = csv.endsWith(".parquet") ? "Parquet" : "CSV";
        const mib = Deno.statSync(csv).size / 2 ** 20;
        console.log(`\n${n.toLocaleString("en-US")} rows: ${csv} (${mib.toFixed(0)} MiB)`);
        const runs: [string, string, string[]][] = [];
        const chunks = format === "Parquet" ? "row groups, 100,000 rows" : "chunks of 100,000 rows";
        for (const whole of n <= 2_500_000 ? [true, false] : [false]) {
          const batch = ["--batch-rows", whole ? "0" : "100000"];
          runs.push([
            "data info",
            whole ? "whole file" : chunks,
            nadirArgv("data", "info", "cic-ids2017", "--path", csv, ...batch),
          ]);
          runs.push(
            [
              "train",
              whole ? "whole file" : "sample of 500,000 rows",
              nadirArgv(
                "train",
                "--detector",
                "isolation-forest",
                "--path",
                csv,
                "--assume-benign",
                "--seed",
                "1",
                "--out",
                join(work, "trained"),
                "--sample-rows",
                whole ? "0" : "500000",
              ),
            ],
            [
              "predict",
              whole ? "whole file" : chunks,
              nadirArgv("predict", "--model", model, "--input", csv, "--out", "/dev/null", ...batch),
            ],
          );
        }
        for (const [command, mode, argv] of runs) {
          const t = timed([
            Deno.execPath(),
            ...nadirRunArgs(), // as `deno task nadir`
            join(ROOT, "src", "cli.ts"),
            ...argv,
          ]);
          if (!t.ok) throw new Error(`nadir ${command} failed on ${csv}: ${t.err}`);
          const row = {
            rows: n,
            format,
            command,
            mode,
            fileMiB: mib,
            wall: t.wall,
            cpu: t.cpu,
            rowsPerS: n / t.wall,
            rssMiB: t.rssMiB,
          };
          rows.push(row);
          console.log(
            `  ${command.padEnd(10)} ${mode.padEnd(24)} ${t.wall.toFixed(1)} s, ${
              Math.round(row.rowsPerS).toLocaleString("en-US")
            } rows/s, peak RSS ${t.rssMiB.toFixed(0)} MiB`,
          );
        }
      }
    }
    const table: Table = {
      id: "big",
      title:
        "nadir data info, train and predict on CIC-IDS2017-shaped CSV and Parquet files: whole file against chunks (same run)",
      columns: [
        { key: "rows", label: "rows", int: true },
        { key: "format", label: "file" },
        { key: "command", label: "nadir" },
        { key: "mode", label: "read" },
        { key: "fileMiB", label: "file MiB", int: true },
        { key: "wall", label: "wall s", digits: 1 },
        { key: "cpu", label: "CPU s", digits: 1 },
        { key: "rowsPerS", label: "rows/s", int: true },
        { key: "rssMiB", label: "peak RSS MiB", int: true },
      ],
      rows,
      notes: [
        "Goal (issue 18): the 2.5 M-row file at ≤ 1 GB peak RSS and ≥ 100,000 rows/s.",
        "Parquet: the same rows written by polars (zstd, its own row groups of ~278 k rows); chunked runs read " +
        "it by row groups with nadir's reader, whole-file runs through polars.",
        "Whole process, start-up included. predict: an isolation forest trained on the vendored sample; " +
        "train: isolation forest on every row (--assume-benign), whole file or a seeded 500 k-row sample.",
      ],
    };
    await saveRecord("big", { params: { sizes, model: "isolation-forest", cache }, tables: [table] });
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
