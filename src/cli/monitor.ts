/**
 * `nadir monitor`: live monitor: capture → flows/features → score → threshold → alerts,
 * optionally with the HTTP API and dashboard (`--port`). See docs/monitor.md.
 *
 * @module
 */
import { type Command, num, type ParsedArgs, str } from "./command.ts";
import { UsageError } from "../util/errors.ts";
import { configPathProblems, configProblems, loadConfig, type MonitorConfig } from "../serve/config.ts";
import { InputError } from "../util/errors.ts";

export const command: Command = {
  name: "monitor",
  summary: "Live monitor: capture -> flows -> scores -> alerts",
  options: {
    interface: {
      type: "string",
      short: "i",
      arg: "IF",
      description: "Capture live on this interface (needs CAP_NET_RAW)",
    },
    pcap: { type: "string", arg: "FILE", description: "Replay a pcap/pcapng file instead" },
    replay: {
      type: "string",
      arg: "fast|realtime|xN|Npps",
      description:
        "Replay speed for --pcap: as fast as possible (default), as captured, N× packet time, or N packets/s",
    },
    model: {
      type: "string",
      arg: "DIR",
      description: "Saved flow model directory (flow-level, batch-trained)",
    },
    detector: {
      type: "string",
      arg: "NAME",
      description: "Streaming detector learning on the fly (kitnet, on AfterImage packet features)",
    },
    grace: {
      type: "number",
      arg: "PACKETS",
      description: "Packets the streaming detector learns from before scoring (default 50000)",
    },
    param: {
      type: "string",
      arg: "KEY=VALUE",
      multiple: true,
      description: "Detector hyperparameter for --detector (repeatable), e.g. --param fmGrace=500",
    },
    threshold: {
      type: "string",
      arg: "SPEC",
      description: "Threshold for streaming detectors, fit after the grace period (default percentile:0.999)",
    },
    alerts: {
      type: "string",
      arg: "FILE",
      description: "Alerts JSON-lines file (eve.json field names); evidence pcaps go to <dir>/evidence",
    },
    config: {
      type: "string",
      arg: "FILE",
      description: "JSON config (schema: deploy/nadir.schema.json); options override it",
    },
    port: {
      type: "number",
      arg: "N",
      description: "Serve the API and dashboard on this port (0 = any free port)",
    },
    host: {
      type: "string",
      arg: "H",
      description: "API listen address (default 127.0.0.1; non-loopback needs a token)",
    },
    "token-file": { type: "string", arg: "FILE", description: "API bearer token file (else NADIR_TOKEN)" },
    stdout: { type: "boolean", description: "Also print alerts as JSON lines on stdout" },
    repair: {
      type: "boolean",
      description:
        "Move invalid lines of the alerts file / webhook spool to <file>.torn-<UTC> (torn tails always are)",
    },
    "evidence-max-bytes": {
      type: "number",
      arg: "N",
      description: "Disk budget of the evidence pcaps in bytes, oldest removed first (default 1 GiB)",
    },
    "evidence-max-files": {
      type: "number",
      arg: "N",
      description: "Most evidence pcaps kept on disk, oldest removed first (default 100000)",
    },
    stay: {
      type: "boolean",
      description: "Keep serving the API after a --pcap replay ends (until SIGINT/SIGTERM)",
    },
    "idle-timeout": { type: "number", arg: "S", description: "Flow idle timeout in seconds (default 15)" },
    rescore: {
      type: "number",
      arg: "S",
      description: "Re-score long flows every S seconds (default 5, 0 = at end only)",
    },
    drift: {
      type: "string",
      arg: "NAME|off",
      description: "Drift detector on the score stream: adwin (default), page-hinkley, kswin; off = none",
    },
    "drift-features": {
      type: "string",
      arg: "all|A,B",
      description: "Also watch these feature columns for drift (comma-separated names, or all)",
    },
    "drift-param": {
      type: "string",
      arg: "KEY=VALUE",
      multiple: true,
      description: "Drift detector option (repeatable), e.g. --drift-param delta=0.0001",
    },
    adapt: {
      type: "string",
      arg: "POLICY",
      description: "Model update policy with --model: frozen (default), sliding, incremental, on-drift " +
        "(docs/monitor.md#model-updates)",
    },
    history: {
      type: "string",
      arg: "DIR",
      description: "Model history each update is written to (created from --model on first run)",
    },
    "adapt-window": {
      type: "number",
      arg: "N",
      description: "Scored flows per update window (default 5000)",
    },
    workers: {
      type: "string",
      arg: "N|auto",
      description:
        "Meter and score on N worker threads, flows split by a symmetric hash (with --model); auto: one " +
        "per core where the run can be sharded, on 3 cores or more (default 1)",
    },
    split: {
      type: "string",
      arg: "fanout|ring",
      description: "With --interface and --workers: fanout = every worker captures its share (Linux " +
        "PACKET_FANOUT, default); ring = one capture, packets copied to the workers",
    },
    "max-flows": {
      type: "number",
      arg: "N",
      description:
        "Flow-table cap of the sensor, split over --workers; the least recently active flow is evicted " +
        "(default 541,200: 160 MiB at ~310 B a flow)",
    },
  },
  details: `
Examples:
  nadir monitor --pcap data/pcaps/synscan.pcapng --model models/iforest --alerts out/alerts.jsonl
  nadir monitor --interface eth0 --detector kitnet --grace 50000 --alerts /var/lib/nadir/alerts.jsonl --port 8787
  nadir monitor --pcap day2.pcap --model models/knn --alerts out/eve.jsonl --drift adwin --drift-features all
  nadir monitor --interface eth0 --model models/knn --adapt sliding --history /var/lib/nadir/model --port 8787
Drift events (event_type "drift") go to the alert sinks; see docs/monitor.md#drift-events.
With --adapt the model learns from traffic under guard rails and from analyst verdicts; every update is a
new version of --history (nadir model history|rollback, GET /model, POST /model/rollback).
Ends on SIGINT/SIGTERM (or at the end of --pcap): every open flow is scored, alerts and sinks are flushed.`,
  async run(args) {
    let cfg: MonitorConfig = {};
    const cfgFile = str(args, "config");
    if (cfgFile) cfg = loadConfig(cfgFile);
    const src = { ...(cfg.source ?? {}) };
    eitherOption(src, args, "interface", "pcap");
    if (str(args, "replay")) src.replay = str(args, "replay");
    const split = str(args, "split");
    if (split !== undefined) {
      if (split !== "fanout" && split !== "ring") {
        throw new UsageError(`nadir monitor: --split expects fanout or ring, found "${split}"`);
      }
      src.split = split;
    }
    cfg.source = src;
    eitherOption(cfg, args, "model", "detector");
    if (num(args, "grace") !== undefined) cfg.grace = num(args, "grace");
    for (const kv of (args.options.param as string[] | undefined) ?? []) {
      const m = /^([A-Za-z][\w-]*)=(.*)$/.exec(kv);
      if (!m) throw new UsageError(`nadir monitor: --param expects KEY=VALUE, found "${kv}"`);
      cfg.detector_params = { ...(cfg.detector_params ?? {}), [m[1]]: m[2] };
    }
    if (str(args, "threshold")) cfg.threshold = str(args, "threshold");
    cfg.alerts = { ...(cfg.alerts ?? {}) };
    if (str(args, "alerts")) cfg.alerts.file = str(args, "alerts");
    if (args.options.stdout) cfg.alerts.stdout = true;
    if (args.options.repair) cfg.alerts.repair = true;
    if (num(args, "evidence-max-bytes") !== undefined || num(args, "evidence-max-files") !== undefined) {
      cfg.evidence = { ...(cfg.evidence ?? {}) };
      if (num(args, "evidence-max-bytes") !== undefined) {
        cfg.evidence.disk_max_bytes = num(args, "evidence-max-bytes");
      }
      if (num(args, "evidence-max-files") !== undefined) {
        cfg.evidence.disk_max_files = num(args, "evidence-max-files");
      }
    }
    cfg.flows = { ...(cfg.flows ?? {}) };
    if (num(args, "idle-timeout") !== undefined) cfg.flows.idle_timeout_s = num(args, "idle-timeout");
    if (num(args, "rescore") !== undefined) cfg.flows.rescore_interval_s = num(args, "rescore");
    if (num(args, "max-flows") !== undefined) cfg.flows.max_flows = num(args, "max-flows");
    const workers = str(args, "workers");
    if (workers !== undefined) {
      if (workers !== "auto" && !/^[0-9]+$/.test(workers)) {
        throw new UsageError(
          `nadir monitor: --workers expects an integer from 1 to 64 or auto, found ${workers}`,
        );
      }
      cfg.workers = workers === "auto" ? "auto" : Number(workers);
    }
    if (num(args, "port") !== undefined || str(args, "host") || str(args, "token-file")) {
      cfg.api = { ...(cfg.api ?? {}) };
      if (num(args, "port") !== undefined) cfg.api.port = num(args, "port");
      if (str(args, "host")) cfg.api.host = str(args, "host");
      if (str(args, "token-file")) cfg.api.token_file = str(args, "token-file");
    }
    driftOptions(cfg, args);
    if (str(args, "adapt") || str(args, "history") || num(args, "adapt-window") !== undefined) {
      cfg.adapt = { ...(cfg.adapt ?? {}) };
      if (str(args, "adapt")) cfg.adapt.policy = str(args, "adapt");
      if (str(args, "history")) cfg.adapt.history = str(args, "history");
      if (num(args, "adapt-window") !== undefined) cfg.adapt.window_flows = num(args, "adapt-window");
    }
    let problems = configProblems(cfg);
    if (!problems.length) problems = configPathProblems(cfg);
    if (problems.length) throw optionOrFileError(problems, args, cfgFile);

    const { runMonitor } = await import("../serve/run.ts");
    const { afterImageFeaturizer } = await import("../serve/featurizer.ts");
    const stop = new AbortController();
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals === 1) {
        console.error("nadir monitor: stopping (flushing flows, alerts and sinks; signal again to force)");
        stop.abort();
      } else Deno.exit(130);
    };
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
    try {
      const r = await runMonitor(cfg, {
        signal: stop.signal,
        stay: args.options.stay === true,
        featurizer: afterImageFeaturizer,
        progress: true,
      });
      console.error(
        `nadir monitor: ${r.packets} packets, ${r.flows} flows, ${r.alerts} alerts, ` +
          `${r.kernelDrops} kernel drops, ${r.evicted} flows evicted in ${r.seconds.toFixed(1)} s` +
          `; ${r.alertsRaised} alerts raised, dropped by the rules: ${
            Object.entries(r.alertsDropped).map(([k, v]) => `${v} ${k}`).join(", ") || "none"
          }` +
          (r.nonFiniteScores ? `; ${r.nonFiniteScores} non-finite scores flagged` : "") +
          (r.driftEvents ? `; ${r.driftEvents} drift events` : "") +
          (r.evidence
            ? `; evidence pcaps: ${r.evidence.written} written, ${r.evidence.lost} lost, ${r.evidence.missing} ` +
              `alerts without frames (${r.evidence.bufferEvicted} flows over the evidence buffer cap)`
            : "") +
          (r.captureDamage ? `; capture damage: ${r.captureDamage}` : "") +
          (r.shardPackets ? `; packets per worker: ${r.shardPackets.join(", ")}` : ""),
      );
      for (const x of r.repairs) console.error(`nadir monitor: repaired on start: ${x}`);
      // 3 = ran, but some sink lost alerts (disk full…): the record is incomplete (docs/monitor.md).
      if (r.lost > 0) return 3;
    } finally {
      for (const s of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(s, onSignal);
    }
    return 0;
  },
};

/**
 * `--drift NAME|off`, `--drift-features`, `--drift-param KEY=VALUE` over the config's `drift` section.
 * A parameter's value is a number when it reads as one (`delta=0.001`), else text (`mode=up`).
 */
export function driftOptions(cfg: MonitorConfig, args: ParsedArgs): void {
  const name = str(args, "drift");
  const feats = str(args, "drift-features");
  const params = (args.options["drift-param"] as string[] | undefined) ?? [];
  if (name === undefined && feats === undefined && !params.length) return;
  const d = cfg.drift = { ...(cfg.drift ?? {}) };
  if (name === "off") d.enabled = false;
  else if (name !== undefined) {
    d.enabled = true;
    if (d.detector !== name) delete d.options; // the file's options were for its own detector
    d.detector = name;
  }
  if (feats !== undefined) d.features = feats === "all" ? "all" : feats.split(",").map((f) => f.trim());
  for (const kv of params) {
    const m = /^([A-Za-z][\w-]*)=(.*)$/.exec(kv);
    if (!m) throw new UsageError(`nadir monitor: --drift-param expects KEY=VALUE, found "${kv}"`);
    const v = m[2].trim() !== "" && Number.isFinite(Number(m[2])) ? Number(m[2]) : m[2];
    d.options = { ...(d.options ?? {}), [m[1]]: v };
  }
}

/** The config fields each option sets: a problem with one of them is the option's when it was given. */
const OPTION_FIELDS: Record<string, string> = {
  interface: "source.interface",
  pcap: "source.pcap",
  replay: "source.replay",
  split: "source.split",
  model: "model",
  detector: "detector",
  grace: "grace",
  param: "detector_params",
  threshold: "threshold",
  alerts: "alerts.file",
  "evidence-max-bytes": "evidence.disk_max_bytes",
  "evidence-max-files": "evidence.disk_max_files",
  "idle-timeout": "flows.idle_timeout_s",
  rescore: "flows.rescore_interval_s",
  "max-flows": "flows.max_flows",
  workers: "workers",
  port: "api.port",
  host: "api.host",
  "token-file": "api.token_file",
  drift: "drift.detector",
  "drift-features": "drift.features",
  "drift-param": "drift.options",
  adapt: "adapt.policy",
  history: "adapt.history",
  "adapt-window": "adapt.window_flows",
};

/**
 * The error for the merged config's problems, each named by where its value came from: an option given on
 * the command line by the option (`--idle-timeout: expected a number ≥ 0.1, found -5`, a usage error, exit
 * 2), the rest by the config file (exit 1). Before, an option's bad value was reported as a config field of
 * a file called "command line".
 */
export function optionOrFileError(problems: string[], args: ParsedArgs, cfgFile?: string): Error {
  const given = Object.entries(OPTION_FIELDS).filter(([o]) => args.options[o] !== undefined);
  const fromOptions: string[] = [], fromFile: string[] = [];
  for (const p of problems) {
    const m = /^field "([^"]+)": (.*)$/s.exec(p);
    const hit = m &&
      given.find(([, f]) => m[1] === f || m[1].startsWith(`${f}.`) || m[1].startsWith(`${f}[`));
    if (!m || !hit) fromFile.push(p);
    else if (m[1] === hit[1]) fromOptions.push(`--${hit[0]}: ${m[2]}`);
    else fromOptions.push(`--${hit[0]} (${m[1].slice(hit[1].length + 1)}): ${m[2]}`);
  }
  if (!fromOptions.length) return new InputError(fromFile.join("; "), { file: cfgFile ?? "command line" });
  const rest = fromFile.length ? `; ${cfgFile ?? "command line"}: ${fromFile.join("; ")}` : "";
  return new UsageError(`nadir monitor: ${fromOptions.join("; ")}${rest}`);
}

/**
 * Two options that each name the same thing (a source, a model): at most one
 * may be given, and the one given replaces both keys from the config file.
 */
function eitherOption<K extends string>(
  target: { [k in K]?: string },
  args: ParsedArgs,
  a: K,
  b: K,
): void {
  const av = str(args, a), bv = str(args, b);
  if (av && bv) throw new UsageError(`nadir monitor: give --${a} or --${b}, not both`);
  if (av) {
    target[a] = av;
    delete target[b];
  }
  if (bv) {
    target[b] = bv;
    delete target[a];
  }
}
