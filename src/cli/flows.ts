/**
 * `nadir flows`: Meter a pcap/pcapng file into bidirectional flows with features.
 *
 * @module
 */
import { bool, type Command, num, type ParsedArgs, str } from "./command.ts";
import { UsageError } from "../util/errors.ts";
import { FEATURE_SET_NAMES, type FeatureSetName } from "../flows/features/mod.ts";
import { meterFile } from "../flows/pipeline.ts";
import { rowWriterOf, sinkFor } from "../flows/writer.ts";
import { decodesLinkType } from "../capture/decode.ts";

export const command: Command = {
  name: "flows",
  summary: "Meter a pcap/pcapng file into bidirectional flows with features",
  positionals: [{ name: "INPUT", description: "pcap or pcapng file" }],
  options: {
    out: {
      type: "string",
      arg: "FILE",
      writes: "file",
      description: "Write flows to FILE (.csv, .arrow or .parquet, all streamed); default CSV on stdout",
    },
    features: { type: "string", choices: FEATURE_SET_NAMES, default: "basic", description: "Feature set" },
    "idle-timeout": {
      type: "number",
      arg: "S",
      description: "Idle timeout in seconds (basic/kdd default 120; cic 120)",
    },
    "active-timeout": {
      type: "number",
      arg: "S",
      description: "Active timeout in seconds (basic/kdd default 1800; cic 120)",
    },
    "tcp-end": {
      type: "boolean",
      description: "End TCP flows at RST / FIN from both sides (default on for cic and kdd)",
    },
    "no-tcp-end": {
      type: "boolean",
      description: "Never end TCP flows on flags (NFStream behaviour; default for basic)",
    },
    "max-flows": {
      type: "number",
      arg: "N",
      integer: true,
      min: 1,
      description: "Flow-table cap; least recently updated flow is evicted beyond it",
      default: 4000000,
    },
    strict: {
      type: "boolean",
      description: "Stop at the first damaged record (error names the byte offset)",
    },
    progress: { type: "boolean", description: "Always show the progress bar (default: files over 16 MiB)" },
  },
  details: `
Examples:
  deno task nadir flows data/pcaps/zeek-ftp-bruteforce.pcap --out /tmp/ftp.csv
  deno task nadir flows capture.pcapng --features cic --out flows.parquet
  deno task nadir flows capture.pcap --features kdd > kdd.csv

Semantics (basic): NFStream's defaults — bidirectional 5-tuple + VLAN + tunnel key, direction of the first
packet, idle 120 s / active 1800 s checked on packet time, bytes = frame length. See docs/features.md.
With --out, a JSON summary goes to stdout; without, CSV goes to stdout and the summary to stderr.`,
  async run(args: ParsedArgs) {
    const input = args.positionals[0];
    const out = str(args, "out");
    const features = str(args, "features") as FeatureSetName;
    if (bool(args, "tcp-end") && bool(args, "no-tcp-end")) {
      throw new UsageError("nadir flows: --tcp-end and --no-tcp-end exclude each other");
    }
    for (const k of ["idle-timeout", "active-timeout", "max-flows"]) {
      const v = num(args, k);
      if (v !== undefined && !(v > 0)) {
        throw new UsageError(`nadir flows: --${k} expects a number > 0, found ${v}`);
      }
    }
    // By extension: .csv, .arrow (.ipc, .feather) or .parquet; none (/dev/null, a pipe) is CSV. Another one
    // (x.txt, x.json) got CSV without a word.
    const ext = out?.match(/\.([^./]+)$/)?.[1].toLowerCase();
    if (ext !== undefined && !["csv", "arrow", "ipc", "feather", "parquet"].includes(ext)) {
      throw new UsageError(
        `nadir flows: --out ${out}: expected a .csv, .arrow or .parquet file, found .${ext}`,
      );
    }
    const sink = await sinkFor(out);
    const summary = await meterFile(input, {
      features,
      idleTimeout: num(args, "idle-timeout"),
      activeTimeout: num(args, "active-timeout"),
      tcpTermination: bool(args, "tcp-end") ? true : bool(args, "no-tcp-end") ? false : undefined,
      maxFlows: num(args, "max-flows"),
      strict: bool(args, "strict"),
      progress: bool(args, "progress") || undefined,
      onColumns: (c) => sink.header(c),
      onRow: (r) => sink.row(r),
      writer: rowWriterOf(sink),
    });
    await sink.close();
    const json = JSON.stringify(
      {
        file: summary.file,
        out: out ?? "-",
        features: summary.features,
        flows: summary.flows,
        packets: summary.capture.packets,
        meteredPackets: summary.meter.metered,
        nonIpPackets: summary.meter.nonIp,
        ignoredPackets: summary.meter.ignored,
        evictedFlows: summary.meter.evicted,
        peakActiveFlows: summary.meter.peakActive,
        damagedRecords: summary.capture.damaged,
        truncated: summary.capture.truncated > 0,
        seconds: Number(summary.seconds.toFixed(3)),
        packetsPerSecond: Math.round(summary.packetsPerSecond),
      },
      null,
      2,
    );
    if (summary.damage) console.error(`nadir flows: warning: ${input}: ${summary.damage}`);
    // A capture of a link layer the decoder does not read made no flows and said nothing.
    for (const [lt, n] of Object.entries(summary.capture.linkTypes)) {
      if (n > 0 && !decodesLinkType(Number(lt))) {
        console.error(
          `nadir flows: warning: ${input}: ${n} packet(s) of link type ${lt}, which nadir does not decode ` +
            `(it reads Ethernet, Linux cooked, raw IP, loopback, PPP and HDLC): counted as non-IP, no flows`,
        );
      }
    }
    if (out) console.log(json);
    else console.error(json);
  },
};
