/**
 * Reader throughput: packets/s of nadir's pcap reader + decoder on a file of
 * ≥ 1 M packets (built from the vendored captures with mergecap), next to
 * libpcap's own read loop (`tcpdump -r FILE -w /dev/null`, no decoding) and
 * tshark (`-T fields -e frame.len`, full dissection, first 100k packets, scaled) in the same run.
 *
 *   deno task bench capture [FILE] [--runs N]   (or deno run -A bench/_capture_read.ts …)
 *
 * The table is written to `bench/results/capture-<stamp>.json` (bench/_record.ts);
 * docs/capture.md's read-speed figures are generated from it.
 *
 * nadir is measured in three modes: callback with packet fields only
 * (forEachPacket), callback that also formats both IP addresses as strings,
 * and the async iterator (readPackets, one independent packet per step).
 *
 * @module
 */
import { join } from "node:path";
import { forEachPacket, readPackets } from "../src/capture/reader.ts";
import { saveRecord } from "./_record.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function buildBigFile(): string {
  const out = join(Deno.env.get("TMPDIR") ?? "/tmp", "nadir-bench-1M.pcap");
  try {
    if (Deno.statSync(out).size > 100e6) return out;
  } catch { /* build it */ }
  const dir = join(ROOT, "data/pcaps");
  const files = [...Deno.readDirSync(dir)].map((e) => join(dir, e.name)).filter((f) => /\.pcap(ng)?$/.test(f))
    .sort();
  const args = ["-a", "-F", "pcap", "-w", out];
  for (let i = 0; i < 90; i++) args.push(...files); // 22 files × ~540 packets × 90 ≈ 1.07 M packets
  const r = new Deno.Command("mergecap", { args, stderr: "piped" }).outputSync();
  if (!r.success) throw new Error(`mergecap failed: ${new TextDecoder().decode(r.stderr)}`);
  return out;
}

function timeCmd(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync();
  if (!r.success) throw new Error(`${cmd} failed`);
  return (performance.now() - t0) / 1000;
}

export async function main(argv: string[]): Promise<void> {
  const runsIdx = argv.indexOf("--runs");
  const runs = runsIdx >= 0 ? Number(argv[runsIdx + 1]) : 3;
  const file = argv.find((a, i) => !a.startsWith("--") && argv[i - 1] !== "--runs") ?? buildBigFile();
  const size = Deno.statSync(file).size;
  let packets = 0;
  await forEachPacket(file, () => {
    packets++;
  }); // warm the page cache and the JIT
  const best = (xs: number[]) => Math.min(...xs);
  const fields: number[] = [],
    strings: number[] = [],
    iter: number[] = [],
    pcap: number[] = [],
    tshark: number[] = [];
  for (let r = 0; r < runs; r++) {
    let sink = 0;
    let t0 = performance.now();
    await forEachPacket(file, (p) => {
      sink += p.srcPort + p.dstPort + p.wireLen + p.protocol + p.srcIp4;
    });
    fields.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    await forEachPacket(file, (p) => {
      sink += p.srcIp.length + p.dstIp.length;
    });
    strings.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    for await (const p of readPackets(file)) sink += p.wireLen;
    iter.push((performance.now() - t0) / 1000);
    if (sink === 0) console.log("");
    pcap.push(timeCmd("tcpdump", ["-r", file, "-w", "/dev/null"]));
    // tshark is ~100× slower: time its first 100,000 packets and scale.
    if (r === 0) {
      tshark.push(
        timeCmd("tshark", ["-r", file, "-c", "100000", "-T", "fields", "-e", "frame.len"]) * packets / 100000,
      );
    }
  }
  const pps = (s: number) => packets / s;
  const fmt = (s: number) => `${(pps(s) / 1e6).toFixed(2)} Mpps (${(size / s / 1e6).toFixed(0)} MB/s)`;
  console.log(
    `file: ${file} — ${packets} packets, ${(size / 1e6).toFixed(0)} MB; best of ${runs} runs, one core`,
  );
  console.log(`nadir forEachPacket (fields)         ${fmt(best(fields))}`);
  console.log(`nadir forEachPacket (+ IP strings)   ${fmt(best(strings))}`);
  console.log(`nadir readPackets (async, copies)    ${fmt(best(iter))}`);
  console.log(`libpcap read loop (tcpdump -w null)  ${fmt(best(pcap))}`);
  console.log(`tshark -T fields -e frame.len        ${fmt(best(tshark))}`);
  console.log(
    `ratios: nadir fields / libpcap read = ${(best(pcap) / best(fields)).toFixed(2)}×, ` +
      `nadir fields / tshark = ${(best(tshark) / best(fields)).toFixed(1)}×`,
  );
  const modes: [string, number[], number | null][] = [
    ["nadir forEachPacket (fields)", fields, null],
    ["nadir forEachPacket (+ IP strings)", strings, null],
    ["nadir readPackets (async, copies)", iter, null],
    ["libpcap read loop (tcpdump -w null)", pcap, best(pcap) / best(fields)],
    ["tshark -T fields -e frame.len (first 100k, scaled)", tshark, best(tshark) / best(fields)],
  ];
  await saveRecord("capture", {
    params: { file, packets, bytes: size, runs },
    tables: [{
      id: "read",
      title: `pcap read + decode, ${packets.toLocaleString("en-US")} packets, best of ${runs} runs, one core`,
      columns: [
        { key: "reader", label: "reader" },
        { key: "seconds", label: "s", digits: 3 },
        { key: "mpps", label: "M packets/s" },
        { key: "mbps", label: "MB/s", digits: 0 },
        { key: "ratio", label: "nadir fields vs reader", suffix: "×" },
      ],
      rows: modes.map(([reader, xs, ratio]) => ({
        reader,
        seconds: best(xs),
        mpps: pps(best(xs)) / 1e6,
        mbps: size / best(xs) / 1e6,
        ratio,
      })),
      notes: ["Ratio = reader seconds / nadir forEachPacket (fields) seconds (≥ 1.0×: nadir faster)."],
    }],
  });
}

if (import.meta.main) await main(Deno.args);
