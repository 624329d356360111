/**
 * `nadir label`: Label flows from a rules file or from IDS alerts.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Command, type ParsedArgs, str } from "./command.ts";
import { InputError, UsageError } from "../util/errors.ts";
import { type FlowKeyFields, labelFlow, loadRules, parseIp, protocolNumber } from "../flows/label.ts";

/** Reads a flow table (CSV, Parquet or Arrow IPC, by extension) with nodejs-polars. */
async function readTable(path: string) {
  const pl = (await import("nodejs-polars")).default;
  try {
    await Deno.stat(path);
  } catch {
    throw new InputError("no such file", { file: path });
  }
  const lower = path.toLowerCase();
  try {
    // nodejs-polars treats a path string not ending in .ipc as inline data: pass the bytes.
    if (lower.endsWith(".parquet")) return pl.readParquet(Buffer.from(await Deno.readFile(path)));
    if (lower.endsWith(".arrow") || lower.endsWith(".ipc") || lower.endsWith(".feather")) {
      return pl.readIPC(Buffer.from(await Deno.readFile(path)));
    }
    // The generic reader checks the CSV's shape first: a short row is an error naming its line, not a row
    // whose missing fields polars fills with nulls (and the labelled table then writes out empty).
    const { readGenericTable } = await import("../data/table.ts");
    return readGenericTable(path);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read the flow table: ${(e as Error).message}`, { file: path });
  }
}

/**
 * What is wrong with a row's rule fields, or undefined: a source address of "999.1.1.1" or a port of "abc"
 * matched no rule and was labelled benign, with exit 0.
 */
function rowProblem(k: FlowKeyFields): string | undefined {
  const port = (p: number) => Number.isInteger(p) && p >= 0 && p <= 65535;
  if (!parseIp(k.srcIp)) return `expected an IPv4 or IPv6 source address, found "${k.srcIp}"`;
  if (!parseIp(k.dstIp)) return `expected an IPv4 or IPv6 destination address, found "${k.dstIp}"`;
  const shown = (v: number) => Number.isNaN(v) ? "text that is not a number" : String(v);
  if (!port(k.srcPort)) return `expected a source port 0–65535, found ${shown(k.srcPort)}`;
  if (!port(k.dstPort)) return `expected a destination port 0–65535, found ${shown(k.dstPort)}`;
  if (!(Number.isInteger(k.protocol) && k.protocol >= 0 && k.protocol <= 255)) {
    return `expected a protocol number 0–255 (or tcp, udp, icmp), found ${shown(k.protocol)}`;
  }
  if (!Number.isFinite(k.startUs) || !Number.isFinite(k.endUs)) {
    return "expected the flow's first and last times";
  }
  return undefined;
}

/** How to get the rule fields out of a row, for each feature set nadir writes. */
function keyReader(cols: string[], file: string): (get: (c: string) => unknown) => FlowKeyFields {
  const has = (c: string) => cols.includes(c);
  const need = (kind: string, names: string[]) => {
    const missing = names.filter((c) => !has(c));
    if (missing.length) {
      throw new InputError(
        `a ${kind} flow table needs column(s) ${missing.map((c) => `"${c}"`).join(", ")}, not found`,
        { file },
      );
    }
  };
  if (has("bidirectional_first_seen_ms")) { // basic (NFStream names)
    need("basic", ["src_ip", "dst_ip", "src_port", "dst_port", "protocol", "bidirectional_last_seen_ms"]);
    return (g) => ({
      srcIp: String(g("src_ip")),
      dstIp: String(g("dst_ip")),
      srcPort: Number(g("src_port")),
      dstPort: Number(g("dst_port")),
      protocol: Number(g("protocol")),
      startUs: Number(g("bidirectional_first_seen_ms")) * 1000,
      endUs: Number(g("bidirectional_last_seen_ms")) * 1000 + 999,
    });
  }
  if (has("Flow ID") && has("Timestamp")) { // cic (nadir writes Timestamp in UTC)
    need("cic", ["Src IP", "Dst IP", "Src Port", "Dst Port", "Protocol", "Flow Duration"]);
    return (g) => {
      const start = Date.parse(String(g("Timestamp")).replace(" ", "T") + "Z") * 1000;
      return {
        srcIp: String(g("Src IP")),
        dstIp: String(g("Dst IP")),
        srcPort: Number(g("Src Port")),
        dstPort: Number(g("Dst Port")),
        protocol: Number(g("Protocol")),
        startUs: start,
        endUs: start + Number(g("Flow Duration")),
      };
    };
  }
  if (has("first_seen_us") && has("protocol_type")) { // kdd
    need("kdd", ["src_ip", "dst_ip", "src_port", "dst_port", "duration"]);
    return (g) => ({
      srcIp: String(g("src_ip")),
      dstIp: String(g("dst_ip")),
      srcPort: Number(g("src_port")),
      dstPort: Number(g("dst_port")),
      protocol: protocolNumber(String(g("protocol_type"))) ?? -1,
      startUs: Number(g("first_seen_us")),
      endUs: Number(g("first_seen_us")) + (Number(g("duration")) + 1) * 1e6,
    });
  }
  throw new InputError(
    "expected a flow table written by `nadir flows` (basic, cic or kdd columns: addresses, ports, protocol, times)",
    { file },
  );
}

export const command: Command = {
  name: "label",
  summary: "Label flows from a rules file or from IDS alerts",
  positionals: [{ name: "FLOWS", description: "Flow table from `nadir flows` (.csv, .parquet, .arrow)" }],
  options: {
    rules: {
      type: "string",
      arg: "FILE",
      description: "JSON rules file (attacker/victim CIDRs, ports, protocol, time windows)",
    },
    // ── --alerts FILE: IDS-alert labelling mode (src/eval/alert_labels.ts); --rules and --alerts exclude each other. ──
    alerts: {
      type: "string",
      arg: "FILE",
      description:
        "Label from IDS alerts (Snort alert_json/alert_fast, Suricata eve.json): a flow with a matching alert (5-tuple either direction, in its time window) is an attack",
    },
    "tolerance-ms": {
      type: "number",
      arg: "MS",
      min: 0,
      description: "With --alerts: slack around each flow's [first, last] seen time",
      default: 1000,
    },
    year: {
      type: "number",
      arg: "YYYY",
      integer: true,
      min: 1970,
      max: 2100,
      description: "With --alerts: year for Snort timestamps (they have none; default: current year)",
    },
    "alert-tz-offset": {
      type: "number",
      arg: "MIN",
      description: "With --alerts: Snort local time minus UTC, minutes",
      default: 0,
    },
    "allow-empty-alerts": {
      type: "boolean",
      description:
        "With --alerts: accept an alerts file without a single alert (labels every flow benign); otherwise an error",
    },
    out: {
      type: "string",
      arg: "FILE",
      writes: "file",
      description:
        "Write the labelled table here (.csv, .parquet, .arrow); default: overwrite nothing, print CSV",
    },
    default: {
      type: "string",
      choices: ["benign", "unknown"],
      description: "Label of flows no rule matches (overrides the rules file; default benign)",
    },
  },
  details: `
Rules file (see docs/labelling.md):
  { "default": "benign", "rules": [ { "name": "ftp-bruteforce", "attack": "FTP-Patator", "category": "Brute Force",
      "attacker": ["192.168.56.1"], "victim": ["192.168.56.101/32"], "ports": [21], "protocol": "tcp",
      "windows": [{ "start": "2014-01-14T17:37:00Z", "end": "2014-01-14T17:40:00Z" }] } ] }
A flow matches a rule in either direction; the first matching rule wins. Adds columns label, attack, category.
Example: deno task nadir label /tmp/ftp.csv --rules data/labels/zeek-ftp-bruteforce.json --out /tmp/ftp-labelled.csv`,
  async run(args: ParsedArgs) {
    const flowsPath = args.positionals[0];
    const rulesPath = str(args, "rules");
    // ── ALERTS MODE: `--alerts FILE` (before the --rules check). ──
    const alertsPath = str(args, "alerts");
    if (alertsPath) {
      if (rulesPath) throw new UsageError("nadir label: --rules and --alerts exclude each other");
      const { readAlerts, skippedLines } = await import("../ids/mod.ts");
      const { labelFlowsWithAlerts } = await import("../eval/alert_labels.ts");
      const pl = (await import("nodejs-polars")).default;
      const a = await readAlerts(alertsPath, {
        year: args.options.year as number | undefined,
        tzOffsetMinutes: Number(args.options["alert-tz-offset"] ?? 0),
        allowEmpty: !!args.options["allow-empty-alerts"],
      });
      for (const m of skippedLines(a)) console.error(m);
      const r = labelFlowsWithAlerts(await readTable(flowsPath), a.alerts, {
        toleranceMs: Number(args.options["tolerance-ms"] ?? 1000),
      });
      const flagged = Array.from(r.df.getColumn("label").toArray() as number[]);
      const df = r.df.withColumns(
        pl.Series("label", flagged.map((f) => (f ? "attack" : "benign")), pl.Utf8),
        pl.Series("category", flagged.map((f) => (f ? "ids-alert" : "benign")), pl.Utf8),
      );
      const out = str(args, "out");
      const summary = {
        flows: df.height,
        labels: { attack: r.flagged, benign: df.height - r.flagged },
        alerts: a.alerts.length,
        alerts_matched: r.alertsMatched,
        alert_lines_skipped: a.skipped.length,
        out: out ?? "-",
      };
      if (out) {
        const lower = out.toLowerCase();
        if (lower.endsWith(".parquet")) df.writeParquet(out);
        else if (lower.endsWith(".arrow") || lower.endsWith(".ipc") || lower.endsWith(".feather")) {
          df.writeIPC(out);
        } else df.writeCSV(out);
        console.log(JSON.stringify(summary, null, 2));
      } else {
        console.log(df.writeCSV().toString().trimEnd());
        console.error(JSON.stringify(summary, null, 2));
      }
      return;
    }
    if (!rulesPath) throw new UsageError("nadir label: expected --rules FILE (see --help)");
    const rules = await loadRules(rulesPath);
    const def = str(args, "default");
    if (def) rules.defaultLabel = def;
    const pl = (await import("nodejs-polars")).default;
    let df = await readTable(flowsPath);
    const cols = df.columns;
    const read = keyReader(cols, flowsPath);
    const n = df.height;
    const columns = new Map<string, unknown[]>();
    const col = (c: string) => {
      let a = columns.get(c);
      if (!a) columns.set(c, a = df.getColumn(c).toArray());
      return a;
    };
    const labels: string[] = new Array(n), attacks: string[] = new Array(n), cats: string[] = new Array(n);
    const hits = new Array(rules.rules.length).fill(0);
    const byLabel: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const k = read((c) => col(c)[i]);
      const bad = rowProblem(k);
      // Row i of the table is line i + 2 of a CSV (after its header); a Parquet or Arrow file says the row.
      if (bad) {
        throw new InputError(
          bad,
          /\.csv(\.gz)?$/i.test(flowsPath)
            ? { file: flowsPath, line: i + 2 }
            : { file: `${flowsPath} (row ${i + 1})` },
        );
      }
      const r = labelFlow(rules, k);
      labels[i] = r.label;
      attacks[i] = r.attack;
      cats[i] = r.category;
      if (r.rule >= 0) hits[r.rule]++;
      byLabel[r.label] = (byLabel[r.label] ?? 0) + 1;
    }
    for (const c of ["label", "attack", "category"]) if (cols.includes(c)) df = df.drop(c);
    df = df.withColumns(
      pl.Series("label", labels, pl.Utf8),
      pl.Series("attack", attacks, pl.Utf8),
      pl.Series("category", cats, pl.Utf8),
    );
    const out = str(args, "out");
    const summary = {
      flows: n,
      labels: byLabel,
      rules: rules.names.map((name, i) => ({ name, hits: hits[i] })),
      unmatched: n - hits.reduce((a, b) => a + b, 0),
      default: rules.defaultLabel,
      out: out ?? "-",
    };
    if (out) {
      const lower = out.toLowerCase();
      // Write from memory: nodejs-polars' path writers may leave the file unflushed until GC.
      const bytes = lower.endsWith(".parquet")
        ? df.writeParquet()
        : lower.endsWith(".arrow") || lower.endsWith(".ipc") || lower.endsWith(".feather")
        ? df.writeIPC()
        : df.writeCSV();
      await Deno.writeFile(out, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      console.log(JSON.stringify(summary, null, 2));
    } else {
      console.log(df.writeCSV().toString().trimEnd());
      console.error(JSON.stringify(summary, null, 2));
    }
  },
};
