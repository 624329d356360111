/**
 * `nadir ids`: signature-IDS baselines.
 *
 * - `nadir ids eval --engine snort3 --alerts DIR|FILE...`: matches recorded
 *   alerts to the labelled CIC-IDS2017 flows and writes a result folder that
 *   `nadir compare` shows beside the detectors.
 * - `nadir ids parse FILE`: parses an alert file and prints a summary (JSON).
 * - `nadir ids run --engine suricata|snort --pcap FILE`: runs the engine when it
 *   is on PATH and ingests its output; otherwise says so and points to the
 *   recorded alert files.
 *
 * @module
 */
import { join } from "node:path";
import type { Command, OptionSpec } from "./command.ts";
import { InputError, UsageError } from "../util/errors.ts";

/** An offset of a clock from UTC in whole minutes, at most a day either way (default 0). */
function minutesFromUtc(description: string): OptionSpec {
  return { type: "number", description, default: 0, arg: "MIN", integer: true, min: -1440, max: 1440 };
}

/** The year Snort's alert_fast lines leave out. */
const SNORT_YEAR: OptionSpec = {
  type: "number",
  description: "Year for Snort timestamps",
  arg: "YYYY",
  integer: true,
  min: 1970,
  max: 2100,
};

function sharedAlertsDir(): string {
  const env = Deno.env.get("NADIR_SHARED_DATA");
  return env ? join(env, "alerts") : join(new URL("../../../shared/data/alerts", import.meta.url).pathname);
}

function expandAlertPaths(paths: string[]): Promise<string[]> {
  return (async () => {
    const { snort3CicFiles } = await import("../eval/ids_baseline.ts");
    const out: string[] = [];
    for (const p of paths) {
      let st: Deno.FileInfo;
      try {
        st = Deno.statSync(p);
      } catch {
        throw new InputError("alert file or directory not found", { file: p });
      }
      if (st.isDirectory) { for (const f of snort3CicFiles(p)) out.push(f); }
      else out.push(p);
    }
    if (!out.length) throw new InputError(`no alert files (*.json) found in ${paths.join(", ")}`);
    return out;
  })();
}

/** The executable's path when `name` is on PATH. */
function onPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const st = Deno.statSync(join(dir, name));
      if (st.isFile && ((st.mode ?? 0o111) & 0o111)) return join(dir, name);
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * `--id`, the name of the results folder the evaluation writes: one folder name, as `nadir experiment`'s
 * ids are. "../../escape" had written outside the results root, and "A/B" nested folders.
 */
function resultId(id: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(id) || id.includes("..")) {
    throw new UsageError(
      `nadir ids eval: --id expects a folder name (letters, digits, ".", "_", "-"), found "${id}"`,
    );
  }
  return id;
}

const evalCmd: Command = {
  name: "eval",
  summary: "Score recorded IDS alerts against labelled CIC-IDS2017 flows (writes a result folder)",
  options: {
    engine: { type: "string", description: "Engine label for the result", default: "snort3", arg: "NAME" },
    alerts: {
      type: "string",
      multiple: true,
      description:
        "Alert file or directory (repeatable); a directory of Snort 3 CIC files uses Monday-full + partial days",
      arg: "PATH",
    },
    id: {
      type: "string",
      description: "Result id (results/<id>/)",
      default: "snort3-cic-ids2017",
      arg: "ID",
    },
    out: { type: "string", description: "Results root", default: "results", arg: "DIR", writes: "dir" },
    "tolerance-ms": {
      type: "number",
      min: 0,
      description: "Slack around each flow's [start, end]",
      default: 1000,
      arg: "MS",
    },
    "tz-offset": minutesFromUtc("Flow clock minus UTC, minutes"),
    "alert-tz-offset": minutesFromUtc("Snort local time minus UTC, minutes"),
    year: { ...SNORT_YEAR, description: "Year for Snort timestamps (they have none)", default: 2017 },
    dataset: { type: "string", description: "CIC-IDS2017 directory (default: vendored sample)", arg: "PATH" },
    "allow-empty-alerts": {
      type: "boolean",
      description:
        "Accept alert files without a single alert (otherwise an error: every flow would score benign)",
    },
  },
  details: `Example:
  deno task nadir ids eval --alerts ../shared/data/alerts/snort3-cicids2017
Prints recall/FPR on all flows, on the flows inside the alert files' time coverage, and with 5-tuple-only matching.`,
  async run({ options }) {
    const { runIdsBaseline } = await import("../eval/ids_baseline.ts");
    const alerts = (options.alerts as string[] | undefined) ?? [join(sharedAlertsDir(), "snort3-cicids2017")];
    const files = await expandAlertPaths(alerts);
    const { dir, result } = await runIdsBaseline({
      id: resultId(options.id as string),
      root: options.out as string,
      engine: options.engine as string,
      files,
      toleranceMs: Number(options["tolerance-ms"]),
      tzOffsetMinutes: Number(options["tz-offset"]),
      alertTzOffsetMinutes: Number(options["alert-tz-offset"]),
      year: Number(options.year),
      datasetPath: options.dataset as string | undefined,
      allowEmpty: !!options["allow-empty-alerts"],
      warn: (m) => console.error(m),
    });
    const line = (n: string) => {
      const m = result.sets[n] as Record<string, number> | undefined;
      return m
        ? `${n.padEnd(11)} rows ${String(m.rows).padStart(6)}  recall ${m.recall.toFixed(4)}  fpr ${
          m.fpr.toFixed(4)
        }  precision ${m.precision.toFixed(4)}  f1 ${m.f1.toFixed(4)}`
        : `${n}: (not enough rows of both classes)`;
    };
    console.log(
      `alerts ${result.alerts.total} (${result.alerts.matched} matched to flows), coverage ${result.coverage.flowsCovered}/${result.coverage.flowsTotal} flows`,
    );
    for (const n of ["test", "covered", "tuple-only"]) console.log(line(n));
    console.log(`wrote ${dir}`);
  },
};

const parseCmd: Command = {
  name: "parse",
  summary: "Parse a Snort (alert_json/alert_fast) or Suricata (eve.json) file and print a JSON summary",
  positionals: [{ name: "FILE", description: "Alert file" }],
  options: {
    year: SNORT_YEAR,
    "tz-offset": minutesFromUtc("Snort local time minus UTC, minutes"),
    strict: {
      type: "boolean",
      description:
        "Fail on the first malformed line (bad JSON, port, address, timestamp) instead of counting it",
    },
    "allow-empty-alerts": {
      type: "boolean",
      description: "Summarise a file without a single alert instead of failing",
    },
  },
  details: `Malformed lines (bad JSON, a port outside 0–65535, an invalid IPv4/IPv6 address, a timestamp that
does not exist) are counted in "skipped" and listed on stderr as FILE:LINE, column "FIELD": expected ..., found ...`,
  async run({ options, positionals }) {
    const { readAlerts, skippedLines, summarizeAlerts } = await import("../ids/mod.ts");
    const r = await readAlerts(positionals[0], {
      year: options.year as number | undefined,
      tzOffsetMinutes: Number(options["tz-offset"]),
      strict: !!options.strict,
      allowEmpty: !!options["allow-empty-alerts"],
    });
    for (const m of skippedLines(r)) console.error(m);
    console.log(JSON.stringify(summarizeAlerts(r), null, 2));
  },
};

const runCmd: Command = {
  name: "run",
  summary: "Run Suricata or Snort on a pcap when installed, and summarise its alerts",
  options: {
    engine: {
      type: "string",
      choices: ["suricata", "snort"],
      description: "IDS engine",
      default: "suricata",
    },
    pcap: { type: "string", description: "Capture to analyse", arg: "FILE" },
    out: { type: "string", description: "Output directory for the engine's logs", arg: "DIR" },
  },
  async run({ options }) {
    const engine = options.engine as string;
    const pcap = options.pcap as string | undefined;
    if (!pcap) throw new UsageError("nadir ids run: --pcap FILE is required");
    try {
      Deno.statSync(pcap);
    } catch {
      throw new InputError("capture not found", { file: pcap });
    }
    if (!onPath(engine)) {
      throw new InputError(
        `${engine} is not installed (not on PATH). Recorded real alert files to use instead: ` +
          `${join(sharedAlertsDir(), "snort3-cicids2017")} (Snort 3 alert_json on CIC-IDS2017), ` +
          `${
            join(sharedAlertsDir(), "suricata")
          } (Suricata eve.json), and the vendored slices in data/alerts/. ` +
          `Score them with: deno task nadir ids eval --alerts <dir-or-file>`,
      );
    }
    const out = (options.out as string | undefined) ?? await Deno.makeTempDir({ prefix: `nadir-${engine}-` });
    await Deno.mkdir(out, { recursive: true });
    const args = engine === "suricata"
      ? ["-r", pcap, "-l", out, "-k", "none"]
      : ["-r", pcap, "-l", out, "-A", "alert_json", "-k", "none", "-q"];
    const p = await new Deno.Command(engine, { args, stdout: "inherit", stderr: "inherit" }).output();
    if (!p.success) throw new InputError(`${engine} exited with code ${p.code}`, { file: pcap });
    const file = engine === "suricata" ? join(out, "eve.json") : join(out, "alert_json.txt");
    const { readAlerts } = await import("../ids/mod.ts");
    // A clean capture legitimately raises no alert: report 0 rather than fail.
    const r = await readAlerts(file, { allowEmpty: true });
    console.log(
      JSON.stringify({ engine, pcap, output: file, alerts: r.alerts.length, skipped: r.skipped.length }),
    );
  },
};

const compareCmd: Command = {
  name: "compare",
  summary: "Detectors vs Snort on the same CIC-IDS2017 flows (recall at Snort's FPR, all and covered flows)",
  options: {
    root: { type: "string", description: "Results root", default: "results", arg: "DIR" },
    id: { type: "string", description: "IDS result id", default: "snort3-cic-ids2017", arg: "ID" },
  },
  async run({ options }) {
    const { loadRuns } = await import("../eval/runs.ts");
    const { latestRuns } = await import("../eval/compare.ts");
    const { compareWithIds, idsCompareTable } = await import("../eval/ids_compare.ts");
    const runs = await loadRuns(options.root as string);
    const ids = runs.filter((r) => r.id === options.id).at(-1);
    if (!ids) {
      throw new InputError(
        `no finished ${options.id} run under ${options.root}; make one with: deno task nadir ids eval`,
      );
    }
    console.log(
      idsCompareTable(compareWithIds(ids, latestRuns(runs.filter((r) => r.protocol === "cic-ids2017")))),
    );
  },
};

export const command: Command = {
  name: "ids",
  summary: "Signature IDS baselines (run Suricata/Snort when installed)",
  subcommands: [evalCmd, compareCmd, parseCmd, runCmd],
};
