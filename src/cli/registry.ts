/**
 * The list of top-level commands. Each entry is loaded lazily so that
 * `nadir data info` does not pay for loading TensorFlow.
 *
 * To add a command: write `src/cli/<name>.ts` exporting `command: Command`,
 * then add one line below.
 *
 * @module
 */
import type { Command } from "./command.ts";

/** A top-level command known by name and summary before it is loaded. */
export interface LazyCommand {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

/**
 * Loads a command module on first use. The specifier is a variable, not a literal, on purpose: Deno
 * prefetches every literal dynamic import at start-up (the whole graph: ~350 modules and the npm packages
 * of every command), which cost ~0.1 s of CPU on every `nadir` call; this way only the chosen command loads.
 * deploy/compile.sh therefore passes `--include src/cli` so the single binary still embeds every command.
 */
function lazy(specifier: string): () => Promise<Command> {
  return async () => (await import(specifier)).command as Command;
}

export const COMMANDS: LazyCommand[] = [
  {
    name: "data",
    summary: "Inspect and verify datasets (list, info, verify, checksum)",
    load: lazy("./data.ts"),
  },
  {
    name: "adapt",
    summary: "Replay an experiment's test set as a stream under update policies (drift protocol)",
    load: lazy("./adapt.ts"),
  },
  {
    name: "preprocess",
    summary: "Fit/apply a preprocessing transform (dedupe, NaN policy, one-hot, scaling)",
    load: lazy("./preprocess.ts"),
  },
  {
    name: "capture",
    summary: "Live capture with libpcap (list interfaces, record to pcapng)",
    load: lazy("./capture.ts"),
  },
  {
    name: "flows",
    summary: "Meter a pcap/pcapng file into bidirectional flows with features",
    load: lazy("./flows.ts"),
  },
  { name: "label", summary: "Label flows from a rules file or from IDS alerts", load: lazy("./label.ts") },
  {
    name: "train",
    summary: "Train a detector on benign rows and save a model directory",
    load: lazy("./train.ts"),
  },
  {
    name: "pretrain",
    summary: "Pre-train flow-lm on unlabelled captures or flow files (a checkpoint for train --init)",
    load: lazy("./pretrain.ts"),
  },
  {
    name: "collect",
    summary: "Collect many sensors' alerts from NATS JetStream into one store, API and dashboard",
    load: lazy("./collect.ts"),
  },
  {
    name: "model",
    summary: "Versioned model histories: init, history, rollback",
    load: lazy("./model.ts"),
  },
  {
    name: "feedback",
    summary: "Send a verdict on an alert to a running sensor's API",
    load: lazy("./feedback.ts"),
  },
  {
    name: "predict",
    summary: "Score a file with a saved model (JSON lines out)",
    load: lazy("./predict.ts"),
  },
  {
    name: "experiment",
    summary: "Run an experiment config and record results",
    load: lazy("./experiment.ts"),
  },
  {
    name: "compare",
    summary: "Compare result runs (Markdown table, HTML page, figure)",
    load: lazy("./compare.ts"),
  },
  {
    name: "ids",
    summary: "Signature IDS baselines (run Suricata/Snort when installed)",
    load: lazy("./ids.ts"),
  },
  {
    name: "report",
    summary: "Execute notebooks headless and render HTML reports",
    load: lazy("./report.ts"),
  },
  { name: "figures", summary: "Render the slide figures (SVG + PNG, 1600x900)", load: lazy("./figures.ts") },
  {
    name: "monitor",
    summary: "Live monitor: capture -> flows -> scores -> alerts",
    load: lazy("./monitor.ts"),
  },
  { name: "serve", summary: "HTTP API and dashboard", load: lazy("./serve.ts") },
];
