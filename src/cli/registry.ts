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

export const COMMANDS: LazyCommand[] = [
  { name: "data", summary: "Inspect and verify datasets (list, info, verify, checksum)", load: async () => (await import("./data.ts")).command },
  { name: "preprocess", summary: "Fit/apply a preprocessing transform (dedupe, NaN policy, one-hot, scaling)", load: async () => (await import("./preprocess.ts")).command },
  { name: "capture", summary: "Live capture with libpcap (list interfaces, record to pcapng)", load: async () => (await import("./capture.ts")).command },
  { name: "flows", summary: "Meter a pcap/pcapng file into bidirectional flows with features", load: async () => (await import("./flows.ts")).command },
  { name: "label", summary: "Label flows from a rules file or from IDS alerts", load: async () => (await import("./label.ts")).command },
  { name: "train", summary: "Train a detector on benign rows and save a model directory", load: async () => (await import("./train.ts")).command },
  { name: "predict", summary: "Score a file with a saved model (JSON lines out)", load: async () => (await import("./predict.ts")).command },
  { name: "experiment", summary: "Run an experiment config and record results", load: async () => (await import("./experiment.ts")).command },
  { name: "compare", summary: "Compare result runs (Markdown table, HTML page, figure)", load: async () => (await import("./compare.ts")).command },
  { name: "ids", summary: "Signature IDS baselines (run Suricata/Snort when installed)", load: async () => (await import("./ids.ts")).command },
  { name: "report", summary: "Execute notebooks headless and render HTML reports", load: async () => (await import("./report.ts")).command },
  { name: "figures", summary: "Render the slide figures (SVG + PNG, 1600x900)", load: async () => (await import("./figures.ts")).command },
  { name: "monitor", summary: "Live monitor: capture -> flows -> scores -> alerts", load: async () => (await import("./monitor.ts")).command },
  { name: "serve", summary: "HTTP API and dashboard", load: async () => (await import("./serve.ts")).command },
];
