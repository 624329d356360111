/**
 * `nadir capture`: live capture with libpcap.
 *
 * - `nadir capture list [--json]`: capture interfaces with their addresses.
 * - `nadir capture record --interface IF --out FILE.pcapng [--filter BPF]
 *   [--snaplen N] [--rotate-mb N] [--duration S] [--count N]`: records traffic
 *   to pcapng (or pcap for a `.pcap` name), optionally rotating files; Ctrl-C
 *   (SIGINT) or SIGTERM stops cleanly and prints a summary with kernel drops.
 * - `nadir capture info FILE`: reads a capture file and prints its counters
 *   (packets, link types, damage), a quick check of a recording.
 *
 * @module
 */
import type { Command, ParsedArgs } from "./command.ts";
import { bool, num, str } from "./command.ts";
import { UsageError } from "../util/errors.ts";
import { Progress } from "../util/progress.ts";

const list: Command = {
  name: "list",
  summary: "List capture interfaces (libpcap pcap_findalldevs)",
  options: { json: { type: "boolean", description: "Print JSON instead of a table" } },
  async run(args: ParsedArgs) {
    const { listInterfaces, libpcapVersion } = await import("../capture/live.ts");
    const ifs = listInterfaces();
    if (bool(args, "json")) {
      console.log(JSON.stringify(ifs, null, 2));
      return 0;
    }
    const rows = ifs.map((i) => [
      i.name,
      [
        i.up ? "up" : "down",
        i.running ? "running" : "",
        i.loopback ? "loopback" : "",
        i.wireless ? "wireless" : "",
      ]
        .filter(Boolean).join(","),
      i.addresses.join(" "),
      i.description,
    ]);
    const head = ["interface", "flags", "addresses", "description"];
    const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const line = (r: string[]) => r.map((v, c) => v.padEnd(w[c])).join("  ").trimEnd();
    console.log(line(head));
    for (const r of rows) console.log(line(r));
    console.error(`${ifs.length} interface(s); ${libpcapVersion()}`);
    return 0;
  },
};

/** `capture.pcapng` + index → `capture-0001.pcapng` (rotation names). */
export function rotatedName(out: string, index: number): string {
  const m = /^(.*?)(\.pcapng|\.pcap)?$/i.exec(out)!;
  return `${m[1]}-${String(index).padStart(4, "0")}${m[2] ?? ""}`;
}

const record: Command = {
  name: "record",
  summary: "Record live traffic to pcapng (or pcap) files",
  options: {
    interface: {
      type: "string",
      short: "i",
      arg: "IF",
      description: "Interface to capture on (see `capture list`)",
    },
    out: {
      type: "string",
      short: "o",
      arg: "FILE",
      writes: "file",
      description: "Output file (.pcapng, or .pcap for classic pcap)",
    },
    filter: { type: "string", short: "f", arg: "BPF", description: "BPF filter (tcpdump syntax)" },
    snaplen: { type: "number", arg: "N", description: "Bytes kept per packet", default: 262144 },
    "rotate-mb": {
      type: "number",
      arg: "N",
      description: "Start a new file after N MB (files become NAME-0001.pcapng, NAME-0002.pcapng, ...)",
    },
    duration: { type: "number", arg: "S", description: "Stop after S seconds" },
    count: { type: "number", arg: "N", description: "Stop after N packets" },
    "no-promisc": { type: "boolean", description: "Do not put the interface in promiscuous mode" },
    "buffer-mb": {
      type: "number",
      arg: "N",
      description: "Kernel capture buffer size in MiB (default 64, as the monitor's: libpcap's own 2 MiB " +
        "dropped 0.07–0.36 % at ~390 k packets/s)",
    },
    dlt: { type: "number", arg: "N", description: "Link type to request (e.g. 276 = Linux SLL2 on `any`)" },
    json: { type: "boolean", description: "Print the summary as JSON on stdout" },
  },
  details: `Stops on --duration, --count, Ctrl-C (SIGINT) or SIGTERM, flushing the file, and prints packets,
bytes, files and the kernel's drop counters (pcap_stats ps_drop / ps_ifdrop).
Needs root or CAP_NET_RAW (+ CAP_NET_ADMIN for promiscuous mode).

Example:
  deno task nadir capture record -i eth0 -o /tmp/web.pcapng --filter "tcp port 443" --duration 60`,
  async run(args: ParsedArgs) {
    const iface = str(args, "interface");
    const out = str(args, "out");
    if (!iface) {
      throw new UsageError("nadir capture record: missing --interface IF (see `nadir capture list`)");
    }
    if (!out) throw new UsageError("nadir capture record: missing --out FILE.pcapng");
    const snaplen = num(args, "snaplen") ?? 262144;
    const rotateMb = num(args, "rotate-mb");
    const duration = num(args, "duration");
    const count = num(args, "count");
    for (
      const [n, v] of [["snaplen", snaplen], ["rotate-mb", rotateMb], ["duration", duration], [
        "count",
        count,
      ]] as const
    ) {
      if (v !== undefined && !(v > 0)) {
        throw new UsageError(`nadir capture record: --${n} expects a positive number, found ${v}`);
      }
    }
    const { LiveSource } = await import("../capture/live.ts");
    const { createWriter } = await import("../capture/writer.ts");
    const src = LiveSource.open({
      interface: iface,
      snaplen,
      filter: str(args, "filter"),
      promisc: !bool(args, "no-promisc"),
      bufferMb: num(args, "buffer-mb") ?? 64,
      linkType: num(args, "dlt"),
    });
    if (src.warning) console.error(`nadir capture record: warning: ${src.warning}`);
    const files: string[] = [];
    const open = () => {
      const name = rotateMb ? rotatedName(out, files.length + 1) : out;
      files.push(name);
      return createWriter(name, { linkType: src.linkType, snaplen, ifName: iface });
    };
    let writer;
    try {
      writer = open();
    } catch (e) {
      src.close();
      throw e;
    }
    let totalBytes = 0;
    const stop = () => src.stop();
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, stop);
    // Printed once signals are handled: scripts may wait for this line before sending traffic.
    console.error(
      `nadir capture record: capturing on ${iface} (link type ${src.linkType})` +
        (str(args, "filter") ? ` with filter "${str(args, "filter")}"` : "") + "; stop with Ctrl-C",
    );
    const timer = duration ? setTimeout(stop, duration * 1000) : undefined;
    const progress = new Progress({ label: `capture ${iface}`, unit: " pkts" });
    const t0 = performance.now();
    let error: unknown;
    try {
      let n = 0;
      await src.forEach((p) => {
        writer!.writePacket(p.tsUs, p.raw, p.wireLen);
        n++;
        progress.tick(1);
        if (rotateMb && writer!.bytesWritten >= rotateMb * 1e6) {
          totalBytes += writer!.bytesWritten;
          writer!.close();
          writer = open();
        }
        if (count && n >= count) return false;
      });
    } catch (e) {
      error = e;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      for (const s of signals) Deno.removeSignalListener(s, stop);
      totalBytes += writer!.bytesWritten;
      writer!.close();
      progress.done();
    }
    const st = src.stats();
    src.close();
    if (error) throw error;
    const secs = (performance.now() - t0) / 1000;
    const summary = {
      interface: iface,
      files,
      packets: st.packets,
      capturedBytes: st.bytes,
      fileBytes: totalBytes,
      seconds: Number(secs.toFixed(3)),
      kernelReceived: st.kernelReceived,
      kernelDropped: st.kernelDropped,
      interfaceDropped: st.ifDropped,
      linkType: src.linkType,
    };
    if (bool(args, "json")) console.log(JSON.stringify(summary));
    else {
      console.log(
        `recorded ${st.packets} packet(s), ${st.bytes} byte(s) in ${files.length} file(s) over ${
          secs.toFixed(1)
        } s: ` +
          `${files.join(", ")}\nkernel: received ${st.kernelReceived}, dropped ${st.kernelDropped}, ` +
          `interface dropped ${st.ifDropped}`,
      );
    }
    return 0;
  },
};

const info: Command = {
  name: "info",
  summary: "Read a pcap/pcapng file and print its counters (packets, link types, damage)",
  positionals: [{ name: "FILE", description: "pcap or pcapng file" }],
  options: {
    strict: {
      type: "boolean",
      description:
        "Fail at the first damaged record, rejected header field or bad timestamp (names the offset)",
    },
    json: { type: "boolean", description: "Print JSON" },
  },
  async run(args: ParsedArgs) {
    const { forEachPacket, damageSummary } = await import("../capture/reader.ts");
    const file = args.positionals[0];
    let ip4 = 0, ip6 = 0, other = 0, first = Infinity, last = -Infinity;
    const progress = new Progress({ label: "packets" });
    const stats = await forEachPacket(file, (p) => {
      if (p.ipVersion === 4) ip4++;
      else if (p.ipVersion === 6) ip6++;
      else other++;
      if (p.tsUs < first) first = p.tsUs;
      if (p.tsUs > last) last = p.tsUs;
      progress.tick(1);
    }, { strict: bool(args, "strict") });
    progress.done();
    const out = {
      file,
      ...stats,
      ipv4: ip4,
      ipv6: ip6,
      nonIp: other,
      firstUs: stats.packets ? first : null,
      lastUs: stats.packets ? last : null,
    };
    if (bool(args, "json")) console.log(JSON.stringify(out, null, 2));
    else {
      console.log(
        `${file}: ${stats.format}, ${stats.packets} packets (${ip4} IPv4, ${ip6} IPv6, ${other} other), ` +
          `${stats.bytes} bytes, link types ${
            JSON.stringify(stats.linkTypes)
          }, ${stats.interfaces} interface(s)` +
          (stats.packets
            ? `, ${new Date(first / 1000).toISOString()} … ${new Date(last / 1000).toISOString()}`
            : ""),
      );
    }
    const dmg = damageSummary(stats);
    if (dmg) console.error(`nadir capture info: warning: ${file}: ${dmg}`);
    return 0;
  },
};

export const command: Command = {
  name: "capture",
  summary: "Live capture with libpcap (list interfaces, record to pcapng) and capture-file info",
  subcommands: [list, record, info],
};
