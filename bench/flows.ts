/**
 * `deno task bench flows [--runs N] [--packets N] [--flood N] [--cache DIR]`:
 * pcap → flows throughput of `nadir flows` against ndpiReader (nDPI) and
 * tshark (`-q -z conv,tcp -z conv,udp`) on the same ≥ 1 M-packet file, in the
 * same run, runs interleaved (A B C A B C ...) so machine drift hits all
 * peers; prints median packets/s and the ratios. Whole processes are timed
 * (start-up included) with /usr/bin/time, which also gives CPU time (user +
 * system: the fair figure on a shared, loaded machine) and peak RSS.
 *
 * Like with like: `nadir flows --out /dev/null` meters every flow and formats
 * its 75-column CSV row. The like-for-like peer is `ndpiReader -q -C
 * /dev/null`, which meters, runs nDPI's protocol detection and writes its own
 * per-flow CSV (packet-length / inter-arrival statistics and TCP flag counts,
 * the same kind of columns); `ndpiReader -q` (no per-flow output) is kept as a
 * second yardstick. tshark only prints conversation totals. Then
 * meters a generated flood of N distinct TCP SYN flows (default 1 M) with and
 * without a flow-table cap and prints peak memory and evictions.
 *
 * Both tables (throughput, flood) are written with the run's parameters to
 * `bench/results/flows-<stamp>.json` (bench/_record.ts); docs/features.md's
 * figures are generated from it.
 *
 * The test file is built once from the Ethernet captures in ../shared/data
 * (mergecap, each copy shifted in time with editcap) and cached.
 *
 * @module
 */
import { join } from "node:path";
import { sharedDataDir } from "../test/_shared.ts";
import { type Cell, saveRecord, type Table } from "./_record.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
}

async function sh(
  cmd: string[],
  opts: { quiet?: boolean } = {},
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" }).output();
  const out = new TextDecoder().decode(r.stdout), err = new TextDecoder().decode(r.stderr);
  if (r.code !== 0 && !opts.quiet) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${err.slice(-500)}`);
  return { code: r.code, out, err };
}

function has(cmd: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function packetCount(file: string): Promise<number> {
  const r = await sh(["capinfos", "-M", "-c", "-T", "-r", file]);
  return Number(r.out.trim().split("\t").pop());
}

/** Builds (or reuses) a pcap of at least `minPackets` packets from the shared Ethernet captures. */
async function buildTestFile(cache: string, minPackets: number): Promise<{ file: string; packets: number }> {
  const file = join(cache, `flows-bench-${minPackets}.pcap`);
  try {
    await Deno.stat(file);
    return { file, packets: await packetCount(file) };
  } catch { /* build it */ }
  const shared = sharedDataDir();
  if (!shared) throw new Error("bench flows needs ../shared/data (captures to build the test file from)");
  const inputs: string[] = [];
  for (const dir of [join(shared, "nfstream", "pcaps"), join(shared, "pcaps")]) {
    for (const e of Deno.readDirSync(dir)) {
      const f = join(dir, e.name);
      const r = await sh(["capinfos", "-E", "-T", "-r", f], { quiet: true });
      if (r.code === 0 && r.out.trim().split("\t")[1] === "ether") inputs.push(f);
    }
  }
  inputs.sort();
  const base = join(cache, "base.pcap");
  await sh(["mergecap", "-a", "-F", "pcap", "-w", base, ...inputs]);
  const basePackets = await packetCount(base);
  const copies = Math.ceil(minPackets / basePackets);
  const parts: string[] = [];
  for (let i = 0; i < copies; i++) {
    const part = join(cache, `part-${i}.pcap`);
    // shift each copy by i days so copies do not merge into the same flows
    await sh(["editcap", "-F", "pcap", "-t", String(i * 86400), base, part]);
    parts.push(part);
  }
  await sh(["mergecap", "-a", "-F", "pcap", "-w", file, ...parts]);
  for (const p of [...parts, base]) await Deno.remove(p);
  return { file, packets: await packetCount(file) };
}

/** Writes a pcap of `n` TCP SYNs with distinct (src IP, src port): n distinct flows. */
async function buildFlood(cache: string, n: number): Promise<string> {
  const file = join(cache, `flood-${n}.pcap`);
  try {
    await Deno.stat(file);
    return file;
  } catch { /* build */ }
  const rec = 16 + 54;
  const f = await Deno.open(file, { write: true, create: true, truncate: true });
  const hdr = new Uint8Array(24);
  const hv = new DataView(hdr.buffer);
  hv.setUint32(0, 0xa1b2c3d4, true);
  hv.setUint16(4, 2, true);
  hv.setUint16(6, 4, true);
  hv.setUint32(16, 65535, true);
  hv.setUint32(20, 1, true); // Ethernet
  await f.write(hdr);
  const chunk = 16384;
  const buf = new Uint8Array(rec * chunk);
  const v = new DataView(buf.buffer);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    for (let j = 0; j < m; j++) {
      const i = start + j, o = j * rec;
      const tsUs = 1_700_000_000_000_000 + i * 10; // 100k packets/s
      v.setUint32(o, Math.floor(tsUs / 1e6), true);
      v.setUint32(o + 4, tsUs % 1e6, true);
      v.setUint32(o + 8, 54, true);
      v.setUint32(o + 12, 54, true);
      const e = o + 16;
      buf.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2], e); // dst, src MAC
      v.setUint16(e + 12, 0x0800);
      const ip = e + 14;
      buf.set([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0], ip);
      v.setUint32(ip + 12, (10 << 24) | (Math.floor(i / 60000) + 1)); // 10.x.y.z source
      v.setUint32(ip + 16, (192 << 24) | (168 << 16) | 1); // 192.168.0.1
      const tcp = ip + 20;
      v.setUint16(tcp, 1024 + (i % 60000));
      v.setUint16(tcp + 2, 80);
      v.setUint32(tcp + 4, i);
      v.setUint32(tcp + 8, 0);
      v.setUint16(tcp + 12, (5 << 12) | 0x02); // data offset 5, SYN
      v.setUint16(tcp + 14, 64240);
      v.setUint32(tcp + 16, 0);
    }
    await f.write(buf.subarray(0, m * rec));
  }
  f.close();
  return file;
}

interface Run {
  wall: number;
  /** user + system CPU seconds */
  cpu: number;
  rssKb: number;
  out: string;
}

async function timed(cmd: string[]): Promise<Run> {
  const r = await sh(["/usr/bin/time", "-f", "__TIME__ %e %M %U %S", ...cmd], { quiet: true });
  const m = r.err.match(/__TIME__ ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/);
  if (r.code !== 0 || !m) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.err.slice(-400)}`);
  return { wall: Number(m[1]), rssKb: Number(m[2]), cpu: Number(m[3]) + Number(m[4]), out: r.out };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function main(args: string[]): Promise<void> {
  const runs = Number(arg(args, "runs", "3"));
  const minPackets = Number(arg(args, "packets", "1000000"));
  const floodN = Number(arg(args, "flood", "1000000"));
  const cache = arg(args, "cache", Deno.env.get("NADIR_BENCH_CACHE") ?? "/tmp/nadir-bench-cache");
  await Deno.mkdir(cache, { recursive: true });
  for (const t of ["mergecap", "editcap", "capinfos"]) {
    if (!has(t)) throw new Error(`bench flows needs ${t} (Debian tshark/wireshark-common)`);
  }
  const { file, packets } = await buildTestFile(cache, minPackets);
  console.log(`test file: ${file} (${packets} packets)`);
  const deno = Deno.execPath();
  const nadir = [
    deno,
    "run",
    "-A",
    "--unstable-ffi",
    join(ROOT, "src/cli.ts"),
    "flows",
    file,
    "--out",
    "/dev/null",
  ];
  const peers: [string, string[]][] = [["nadir flows (basic)", nadir]];
  if (has("ndpiReader")) {
    peers.push(["ndpiReader -q -C (CSV)", ["ndpiReader", "-i", file, "-q", "-C", "/dev/null"]]);
    peers.push(["ndpiReader -q", ["ndpiReader", "-i", file, "-q"]]);
  } else console.log("ndpiReader not found: skipped");
  if (has("tshark")) {
    peers.push(["tshark conv,tcp+udp", ["tshark", "-r", file, "-q", "-z", "conv,tcp", "-z", "conv,udp"]]);
  }
  const walls: number[][] = peers.map(() => []);
  const cpus: number[][] = peers.map(() => []);
  const rss: number[][] = peers.map(() => []);
  await timed(nadir); // warm-up (module cache)
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < peers.length; i++) {
      const t = await timed(peers[i][1]);
      walls[i].push(t.wall);
      cpus[i].push(t.cpu);
      rss[i].push(t.rssKb);
    }
  }
  console.log(`\npcap → flows, ${packets} packets, ${runs} interleaved runs, whole process (medians):`);
  const pps = walls.map((w) => packets / median(w));
  const ppsCpu = cpus.map((c) => packets / median(c));
  peers.forEach(([name], i) =>
    console.log(
      `  ${name.padEnd(24)} wall ${median(walls[i]).toFixed(2)} s (${
        (pps[i] / 1e6).toFixed(3)
      } M packets/s)  ` +
        `CPU ${median(cpus[i]).toFixed(2)} s (${(ppsCpu[i] / 1e6).toFixed(3)} M packets/CPU-s)  peak RSS ${
          (median(rss[i]) / 1024).toFixed(0)
        } MiB`,
    )
  );
  for (let i = 1; i < peers.length; i++) {
    console.log(
      `  ratio nadir / ${peers[i][0]}: ${(pps[0] / pps[i]).toFixed(2)}x packets/s (wall), ` +
        `${(ppsCpu[0] / ppsCpu[i]).toFixed(2)}x packets per CPU-second`,
    );
  }

  const peerTable: Table = {
    id: "throughput",
    title: `pcap → flows, ${
      packets.toLocaleString("en-US")
    } packets, ${runs} interleaved runs, whole process (medians)`,
    columns: [
      { key: "tool", label: "tool" },
      { key: "wall", label: "wall s" },
      { key: "mpps", label: "M packets/s", digits: 3 },
      { key: "cpu", label: "CPU s" },
      { key: "mppsCpu", label: "M packets/CPU-s", digits: 3 },
      { key: "rss", label: "peak RSS MiB", int: true },
      { key: "ratioWall", label: "nadir vs tool (wall)", suffix: "×" },
      { key: "ratioCpu", label: "nadir vs tool (CPU)", suffix: "×" },
    ],
    rows: peers.map(([tool], i) => ({
      tool,
      wall: median(walls[i]),
      mpps: pps[i] / 1e6,
      cpu: median(cpus[i]),
      mppsCpu: ppsCpu[i] / 1e6,
      rss: median(rss[i]) / 1024,
      ratioWall: i ? pps[0] / pps[i] : null,
      ratioCpu: i ? ppsCpu[0] / ppsCpu[i] : null,
    })),
    notes: ["Ratio = nadir packets/s / tool packets/s (≥ 1.0×: nadir faster)."],
  };
  const floodRows: Record<string, Cell>[] = [];

  const flood = await buildFlood(cache, floodN);
  console.log(`\nflood: ${floodN} distinct TCP SYN flows (${flood})`);
  for (const cap of [4_000_000, 100_000]) {
    const t = await timed([
      deno,
      "run",
      "-A",
      "--unstable-ffi",
      join(ROOT, "src/cli.ts"),
      "flows",
      flood,
      "--out",
      "/dev/null",
      "--max-flows",
      String(cap),
    ]);
    const s = JSON.parse(t.out);
    console.log(
      `  --max-flows ${String(cap).padEnd(8)} peak RSS ${(t.rssKb / 1024).toFixed(0)} MiB, ${
        t.wall.toFixed(2)
      } s, ` +
        `flows ${s.flows}, peak table ${s.peakActiveFlows}, evicted ${s.evictedFlows}`,
    );
    floodRows.push({
      run: `nadir flows --max-flows ${cap}`,
      rss: t.rssKb / 1024,
      wall: t.wall,
      flows: s.flows,
      peak: s.peakActiveFlows,
      evicted: s.evictedFlows,
    });
  }
  if (has("ndpiReader") && !args.includes("--no-flood-peer")) {
    const t = await timed(["ndpiReader", "-i", flood, "-q"]);
    console.log(
      `  ndpiReader -q (peer)    peak RSS ${(t.rssKb / 1024).toFixed(0)} MiB, ${t.wall.toFixed(2)} s`,
    );
    floodRows.push({ run: "ndpiReader -q (peer)", rss: t.rssKb / 1024, wall: t.wall });
  }
  const floodTable: Table = {
    id: "flood",
    title: `Flood: ${floodN.toLocaleString("en-US")} distinct TCP SYN flows`,
    columns: [
      { key: "run", label: "run" },
      { key: "rss", label: "peak RSS MiB", int: true },
      { key: "wall", label: "wall s" },
      { key: "flows", label: "flows", int: true },
      { key: "peak", label: "peak table", int: true },
      { key: "evicted", label: "evicted", int: true },
    ],
    rows: floodRows,
  };
  await saveRecord("flows", {
    params: {
      file,
      packets,
      runs,
      minPackets,
      floodFlows: floodN,
      floodPeer: !args.includes("--no-flood-peer"),
    },
    tables: [peerTable, floodTable],
  });
}

if (import.meta.main) await main(Deno.args);
