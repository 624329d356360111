/**
 * `nadir data`: list, inspect and verify datasets.
 *
 *   nadir data list                      dataset names, files, descriptions
 *   nadir data info nsl-kdd-train        one JSON object: rows, columns, features, label/category counts
 *   nadir data info unsw-nb15 --path F   datasets without a vendored copy need --path (CSV or Parquet); CSVs over
 *                                        64 MiB and Parquet files over 16 MiB are read in chunks
 *   nadir data verify                    sha256 of every file in data/SHA256SUMS (exit 1 naming bad files)
 *   nadir data checksum data/x           SHA256SUMS lines for newly vendored files
 *
 * @module
 */
import { batchRowsOption, type Command, count, str } from "./command.ts";
import { InputError, UsageError } from "../util/errors.ts";

const list: Command = {
  name: "list",
  summary: "List dataset names and their vendored files",
  options: { json: { type: "boolean", description: "Print JSON lines instead of a table" } },
  async run(args) {
    const { datasetNames } = await import("../data/datasets.ts");
    const names = datasetNames();
    if (args.options.json) {
      for (const n of names) console.log(JSON.stringify(n));
      return 0;
    }
    const w = Math.max(...names.map((n) => n.name.length));
    for (const n of names) {
      console.log(`${n.name.padEnd(w)}  ${n.description}${n.path ? ` [${n.path}]` : ""}`);
    }
    return 0;
  },
};

const info: Command = {
  name: "info",
  summary: "Print one JSON object with rows, columns, features and label/category counts",
  positionals: [{
    name: "dataset",
    description: "Dataset name (see `nadir data list`) or family with --path",
  }],
  options: {
    path: {
      type: "string",
      arg: "FILE",
      description: "File or directory to load instead of the vendored copy",
    },
    features: {
      type: "string",
      arg: "SET",
      description: "Feature set to count (all, kdd-header)",
      default: "all",
    },
    "batch-rows": batchRowsOption("Read a CSV or Parquet file N rows at a time, memory bounded", true),
  },
  details: `Example:
  deno task nadir data info nsl-kdd-train
  {"dataset":"nsl-kdd-train","rows":125973,"columns":45,"features":41,"label_counts":{"0":67343,"1":58630},...}`,
  async run(args) {
    const { datasetInfo, loadDataset } = await import("../data/datasets.ts");
    const { csvInfo, isBigCsv, isBigParquet } = await import("../data/stream.ts");
    const name = args.positionals[0];
    const path = str(args, "path");
    const big = path !== undefined && (isBigCsv(path) || isBigParquet(path));
    const batchRows = count(args, "batch-rows", "data info", big ? 100_000 : 0);
    if (batchRows > 0) {
      if (!path) {
        throw new UsageError("nadir data info: --batch-rows reads a CSV or Parquet file: give --path FILE");
      }
      const features = str(args, "features") ?? "all";
      const { Progress } = await import("../util/progress.ts");
      const bar = new Progress({ label: "reading", unit: " rows" });
      const r = await csvInfo(name, path, {
        rowsPerChunk: batchRows,
        features,
        onFrame: (f) => bar.tick(f.df.height),
      });
      bar.done();
      console.log(JSON.stringify(r));
      return 0;
    }
    const { df, features } = loadDataset(path ? { name, path } : name, { features: str(args, "features") });
    console.log(JSON.stringify(datasetInfo(name, df, features)));
    return 0;
  },
};

const verify: Command = {
  name: "verify",
  summary: "Check the sha256 of every vendored file listed in data/SHA256SUMS",
  options: {
    strict: { type: "boolean", description: "Also fail when data/ holds files SHA256SUMS does not list" },
    "data-dir": {
      type: "string",
      arg: "DIR",
      description: "Data directory to check (default: the repository's data/)",
    },
  },
  details:
    "Exit 0 when every listed file matches; 1 naming each missing or changed file. See data/SOURCES.md.",
  async run(args) {
    const { verifyData } = await import("../data/verify.ts");
    const r = await verifyData(str(args, "data-dir"));
    // Messages name the directory checked (the repository's data/ unless --data-dir says otherwise).
    const d = (str(args, "data-dir") ?? "data").replace(/\/+$/, "");
    if (r.unlisted.length) {
      // Group by folder so a newly vendored set of 300 files is one line, not 300.
      const byDir = new Map<string, number>();
      for (const u of r.unlisted) {
        const dir = u.includes("/") ? u.slice(0, u.lastIndexOf("/")) + "/" : "";
        byDir.set(dir, (byDir.get(dir) ?? 0) + 1);
      }
      const where = [...byDir].map(([dir, n]) => `${d}/${dir} (${n})`).join(", ");
      console.error(
        `nadir: warning: ${r.unlisted.length} files not listed in ${d}/SHA256SUMS: ${where}; add them with \`deno task nadir data checksum FILE...\` (see data/SOURCES.md)`,
      );
    }
    for (const b of r.bad) console.error(`nadir: ${d}/${b.path}: ${b.reason}`);
    if (r.bad.length) {
      throw new InputError(
        `${r.bad.length} of ${r.ok.length + r.bad.length} vendored files failed verification: ${
          r.bad.map((b) => `${d}/${b.path}`).join(", ")
        }`,
      );
    }
    if (args.options.strict && r.unlisted.length) {
      throw new InputError(`${r.unlisted.length} files under ${d}/ are not listed in ${d}/SHA256SUMS`);
    }
    console.log(`verified ${r.ok.length} files against ${d}/SHA256SUMS`);
    return 0;
  },
};

const checksum: Command = {
  name: "checksum",
  summary: "Print SHA256SUMS lines (paths relative to data/) for files to vendor",
  positionals: [{ name: "files", description: "Files or directories under data/", variadic: true }],
  details: "Append the output to data/SHA256SUMS and describe the files in data/SOURCES.md:\n" +
    "  deno task --quiet nadir data checksum data/nfstream >> data/SHA256SUMS",
  async run(args) {
    const { checksumLines } = await import("../data/verify.ts");
    for (const line of await checksumLines(args.positionals)) console.log(line);
    return 0;
  },
};

export const command: Command = {
  name: "data",
  summary: "Inspect and verify datasets (list, info, verify, checksum)",
  subcommands: [list, info, verify, checksum],
};
