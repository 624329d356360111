/**
 * `deno task bench flows [--runs N] [--packets N] [--seed N] [--no-long] [--flood N] [--cache DIR]`:
 * pcap → flows CPU time and memory of `nadir flows` against the pure C flow
 * meters nfpcapd (nfdump) and Argus, and against ndpiReader (nDPI: metering
 * plus protocol detection) and tshark, on five files measured in one run:
 *
 * - real, small: the Ethernet captures of ../shared/data merged (~80 k packets);
 * - real: copies of it shifted in time to ≥ 1 M packets;
 * - real, IPv6: that file with every IPv4 frame rewritten as IPv6 (bench/_ipv6.ts);
 * - many: ≥ 1 M packets in ≥ 200 k flows, generated (bench/_traffic.ts, seeded);
 * - long: ≥ 10 M packets over half an hour, flows ending by idle timeout (generated).
 *
 * Runs are interleaved (A B C A B C ...) so machine drift hits all tools.
 * Whole processes are timed (start-up included) with /usr/bin/time, which
 * gives CPU time (user + system: the fair figure on a shared machine) and peak
 * RSS. A second table sets nadir against the faster pure meter on each file:
 * CPU per packet and memory per concurrent flow (peak RSS above the tool's own
 * RSS on an empty capture). Then a generated flood of N distinct TCP SYN
 * flows (default 1 M) is metered with and without a flow-table cap, beside
 * nfpcapd and Argus holding the same flows; last, what one active flow holds
 * on nadir's heap (bench/_flow_heap.ts), without RSS's headroom.
 *
 * Tables are written with the run's parameters to
 * `bench/results/flows-<stamp>.json` (bench/_record.ts); docs/features.md's
 * figures are generated from it. Test files are cached in --cache.
 *
 * @module
 */
import { join } from "node:path";
import { sharedDataDir } from "../test/_shared.ts";
import { ipv6Copy } from "./_ipv6.ts";
import { type Cell, nadirRunArgs, saveRecord, type Table } from "./_record.ts";
import { existsSync } from "../src/util/fs.ts";
import { writePcap } from "../src/capture/writer.ts";
import { generateTraffic, PROFILES, type TrafficSummary } from "./_traffic.ts";

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

/**
 * Builds (or reuses) the real test files: `base`, the Ethernet captures of ../shared/data merged (the small real
 * file), and `file`, copies of it shifted in time until it holds at least `minPackets` packets.
 */
async function buildTestFile(
  cache: string,
  minPackets: number,
): Promise<{ base: { file: string; packets: number }; file: string; packets: number; copies: number }> {
  const file = join(cache, `flows-bench-${minPackets}.pcap`);
  const base = join(cache, "flows-bench-base.pcap");
  if (!existsSync(base)) {
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
    await sh(["mergecap", "-a", "-F", "pcap", "-w", base, ...inputs]);
  }
  const basePackets = await packetCount(base);
  const copies = Math.ceil(minPackets / basePackets);
  if (!existsSync(file)) {
    const parts: string[] = [];
    for (let i = 0; i < copies; i++) {
      const part = join(cache, `part-${i}.pcap`);
      // shift each copy by i days so copies do not merge into the same flows
      await sh(["editcap", "-F", "pcap", "-t", String(i * 86400), base, part]);
      parts.push(part);
    }
    await sh(["mergecap", "-a", "-F", "pcap", "-w", file, ...parts]);
    for (const p of parts) await Deno.remove(p);
  }
  return { base: { file: base, packets: basePackets }, file, packets: await packetCount(file), copies };
}

/** Writes a pcap of `n` TCP SYNs with distinct (src IP, src port): n distinct flows. */
export async function buildFlood(cache: string, n: number): Promise<string> {
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

/** One capture the throughput table measures. */
interface BenchFile {
  label: string;
  file: string;
  packets: number;
}

/** Generates (or reuses) a seeded synthetic capture of `bench/_traffic.ts`. */
function trafficFile(cache: string, profile: keyof typeof PROFILES, seed: number): BenchFile {
  const file = join(cache, `traffic-${profile}-s${seed}-v${TRAFFIC_VERSION}.pcap`);
  const meta = file + ".json";
  let s: TrafficSummary;
  try {
    s = JSON.parse(Deno.readTextFileSync(meta));
  } catch {
    console.log(`generating ${file} (bench/_traffic.ts, profile ${profile}, seed ${seed})`);
    s = generateTraffic(file, { ...PROFILES[profile], seed });
    Deno.writeTextFileSync(meta, JSON.stringify(s));
  }
  const label = `${profile}: ${(s.flows / 1000).toFixed(0)} k flows in ${
    (s.seconds / 60).toFixed(0)
  } min (generated)`;
  return { label, file, packets: s.packets };
}

/** Bumped when bench/_traffic.ts changes what it writes (cached files are regenerated). */
const TRAFFIC_VERSION = 1;

/**
 * The meters compared. nfpcapd and Argus are pure flow meters (no DPI) written in C; their defaults end a TCP
 * flow on FIN/RST and after 60 s idle (nfpcapd also after 300 s active), so `nadir flows` runs twice: with
 * NFStream's semantics (the `basic` default) and with those timeouts (like for like with the C meters).
 */
function tools(file: string, packets: number, nfDir: string): [string, string[]][] {
  const nadir = [Deno.execPath(), ...nadirRunArgs()];
  nadir.push(join(ROOT, "src/cli.ts"), "flows", file, "--out", "/dev/null");
  const out: [string, string[]][] = [
    ["nadir flows (basic)", nadir],
    ["nadir flows (60 s idle, FIN ends)", [
      ...nadir,
      "--tcp-end",
      "--idle-timeout",
      "60",
      "--active-timeout",
      "300",
    ]],
  ];
  if (has("nfpcapd")) out.push(["nfpcapd (nfdump)", ["nfpcapd", "-r", file, "-w", nfDir]]);
  if (has("argus")) out.push(["Argus", ["argus", "-r", file, "-w", "/dev/null"]]);
  if (has("ndpiReader")) {
    out.push(["ndpiReader -q -C (CSV)", ["ndpiReader", "-i", file, "-q", "-C", "/dev/null"]]);
  }
  // tshark keeps every conversation's packets in memory: only the files up to ~1 M packets.
  if (has("tshark") && packets <= 1_100_000) {
    out.push(["tshark conv,tcp+udp", ["tshark", "-r", file, "-q", "-z", "conv,tcp", "-z", "conv,udp"]]);
  }
  return out;
}

const PURE_METERS = ["nfpcapd (nfdump)", "Argus"];
const LIKE = "nadir flows (60 s idle, FIN ends)";

export async function main(args: string[]): Promise<void> {
  const runs = Number(arg(args, "runs", "3"));
  const minPackets = Number(arg(args, "packets", "1000000"));
  const floodN = Number(arg(args, "flood", "1000000"));
  const seed = Number(arg(args, "seed", "1"));
  const cache = arg(args, "cache", Deno.env.get("NADIR_BENCH_CACHE") ?? "/tmp/nadir-bench-cache");
  await Deno.mkdir(cache, { recursive: true });
  for (const t of ["mergecap", "editcap", "capinfos"]) {
    if (!has(t)) throw new Error(`bench flows needs ${t} (Debian tshark/wireshark-common)`);
  }
  for (const t of ["nfpcapd", "argus"]) {
    if (!has(t)) console.log(`${t} not found (Debian ${t === "argus" ? "argus-server" : "nfdump"}): skipped`);
  }
  const real = await buildTestFile(cache, minPackets);
  const real6 = ipv6Copy(real.file);
  const files: BenchFile[] = [
    { label: "real, small: the Ethernet captures merged", ...real.base },
    { label: `real: merged captures ×${real.copies}`, file: real.file, packets: real.packets },
    { label: `real, IPv6: the same, rewritten as IPv6`, file: real6, packets: real.packets },
    trafficFile(cache, "many", seed),
  ];
  if (!args.includes("--no-long")) files.push(trafficFile(cache, "long", seed));
  const empty = join(cache, "empty.pcap");
  writePcap(empty, []);
  const nfDir = await Deno.makeTempDir({ prefix: "nadir-bench-nfpcapd-" });
  const rows: Record<string, Cell>[] = [];
  const summary: Record<string, Cell>[] = [];
  await timed(tools(real.base.file, 0, nfDir)[0][1]); // warm-up (module cache)
  // Each tool's RSS on an empty capture: what it costs before the first flow.
  const baseRss = new Map<string, number>();
  for (const [name, cmd] of tools(empty, 0, nfDir)) {
    const r = await timed(cmd);
    baseRss.set(name, r.rssKb);
  }
  for (const f of files) {
    const peers = tools(f.file, f.packets, nfDir);
    console.log(`\n${f.label}: ${f.file} (${f.packets.toLocaleString("en-US")} packets)`);
    const cpus: number[][] = peers.map(() => []), walls: number[][] = peers.map(() => []);
    const rss: number[][] = peers.map(() => []);
    let concurrent = 0;
    for (let r = 0; r < runs; r++) {
      for (let i = 0; i < peers.length; i++) {
        for (const e of Deno.readDirSync(nfDir)) Deno.removeSync(join(nfDir, e.name));
        const t = await timed(peers[i][1]);
        cpus[i].push(t.cpu);
        walls[i].push(t.wall);
        rss[i].push(t.rssKb);
        if (peers[i][0] === LIKE) concurrent = JSON.parse(t.out).peakActiveFlows;
      }
    }
    const cpuOf = (i: number) => median(cpus[i]);
    const likeI = peers.findIndex(([n]) => n === LIKE);
    peers.forEach(([tool], i) => {
      const row = {
        file: f.label,
        tool,
        wall: median(walls[i]),
        cpu: cpuOf(i),
        mppsCpu: f.packets / cpuOf(i) / 1e6,
        rss: median(rss[i]) / 1024,
        ratioCpu: i === likeI ? null : cpuOf(i) / cpuOf(likeI),
      };
      rows.push(row);
      console.log(
        `  ${tool.padEnd(34)} CPU ${row.cpu.toFixed(2)} s (${row.mppsCpu.toFixed(3)} M packets/CPU-s), wall ${
          row.wall.toFixed(2)
        } s, peak RSS ${row.rss.toFixed(0)} MiB` +
          (row.ratioCpu === null ? "" : `, nadir ${row.ratioCpu.toFixed(2)}×`),
      );
    });
    const pure = peers.map(([n], i) => [n, i] as const).filter(([n]) => PURE_METERS.includes(n));
    if (pure.length) {
      const [fastName, fastI] = pure.reduce((a, b) => (cpuOf(b[1]) < cpuOf(a[1]) ? b : a));
      const perFlow = (i: number) =>
        (median(rss[i]) - (baseRss.get(peers[i][0]) ?? 0)) / Math.max(1, concurrent);
      summary.push({
        file: f.label,
        concurrent,
        fastest: fastName,
        ratioCpu: cpuOf(fastI) / cpuOf(likeI),
        nadirKiB: perFlow(likeI),
        ...Object.fromEntries(pure.map(([n, i]) => [n === "Argus" ? "argusKiB" : "nfpcapdKiB", perFlow(i)])),
      });
    }
  }
  const peerTable: Table = {
    id: "throughput",
    title: `pcap → flows, ${runs} interleaved runs per file, whole process (medians)`,
    columns: [
      { key: "file", label: "file" },
      { key: "tool", label: "tool" },
      { key: "cpu", label: "CPU s" },
      { key: "mppsCpu", label: "M packets/CPU-s", digits: 3 },
      { key: "wall", label: "wall s" },
      { key: "rss", label: "peak RSS MiB", int: true },
      { key: "ratioCpu", label: "nadir (like for like) vs tool, CPU", suffix: "×" },
    ],
    rows,
    notes: [
      "CPU = user + system seconds of the whole process (start-up included), from /usr/bin/time.",
      `Ratio = tool CPU s / \`${LIKE}\` CPU s on the same file (≥ 1.0×: nadir uses less CPU per packet).`,
    ],
  };
  const goalTable: Table = {
    id: "pure-meters",
    title: "nadir against the fastest pure meter (nfpcapd, Argus) per file",
    columns: [
      { key: "file", label: "file" },
      { key: "fastest", label: "fastest pure meter" },
      { key: "ratioCpu", label: "nadir vs it, CPU per packet", suffix: "×" },
      { key: "concurrent", label: "concurrent flows", int: true },
      { key: "nadirKiB", label: "nadir KiB/flow", digits: 2 },
      { key: "nfpcapdKiB", label: "nfpcapd KiB/flow", digits: 2 },
      { key: "argusKiB", label: "Argus KiB/flow", digits: 2 },
    ],
    rows: summary,
    notes: [
      "Concurrent flows = the peak flow table of `nadir flows` with the C meters' timeouts (60 s idle, FIN/RST ends).",
      "KiB/flow = (peak RSS on the file − peak RSS on an empty capture) / concurrent flows. nfpcapd allocates its " +
      "node cache (524,288 nodes) up front, so its growth is near zero until the cache fills.",
    ],
  };
  const floodRows: Record<string, Cell>[] = [];

  const flood = await buildFlood(cache, floodN);
  console.log(`\nflood: ${floodN} distinct TCP SYN flows (${flood})`);
  // The runs whose memory per flow is compared (nadir holding every flow, nfpcapd) are interleaved `runs`
  // times and their medians kept: one run's peak RSS moves by ~10 % with the garbage collector's timing.
  // The capped nadir run, Argus and ndpiReader (slow) run once.
  type FloodRun = { name: string; cmd: string[]; repeat: boolean; cap?: number };
  const floodRuns: FloodRun[] = [4_000_000, 100_000].map((cap) => ({
    name: `nadir flows --max-flows ${cap}`,
    cmd: [...tools(flood, 0, "")[0][1], "--max-flows", String(cap)],
    repeat: cap > floodN,
    cap,
  }));
  // The pure meters hold every flow too (one SYN each, 10 s of traffic: none reaches their 60 s idle timeout).
  for (const [name, cmd] of tools(flood, 0, nfDir).filter(([n]) => PURE_METERS.includes(n))) {
    floodRuns.push({ name, cmd, repeat: name.startsWith("nfpcapd") });
  }
  if (has("ndpiReader") && !args.includes("--no-flood-peer")) {
    floodRuns.push({ name: "ndpiReader -q (peer)", cmd: ["ndpiReader", "-i", flood, "-q"], repeat: false });
  }
  const floodTimes: Run[][] = floodRuns.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < floodRuns.length; i++) {
      if (r > 0 && !floodRuns[i].repeat) continue;
      for (const e of Deno.readDirSync(nfDir)) Deno.removeSync(join(nfDir, e.name));
      floodTimes[i].push(await timed(floodRuns[i].cmd));
    }
  }
  for (let i = 0; i < floodRuns.length; i++) {
    const { name, cap } = floodRuns[i], ts = floodTimes[i];
    const rssKb = median(ts.map((t) => t.rssKb)), wall = median(ts.map((t) => t.wall));
    const cpu = median(ts.map((t) => t.cpu));
    const n = ts.length > 1 ? ` (median of ${ts.length})` : "";
    const row: Record<string, Cell> = { run: name, runs: ts.length, rss: rssKb / 1024, wall, cpu };
    let line = `  ${name.padEnd(22)} peak RSS ${(rssKb / 1024).toFixed(0)} MiB, ${wall.toFixed(2)} s${n}`;
    if (cap !== undefined) {
      // nadir's own counts: the flows it held at its peak are what its memory is divided by.
      const s = JSON.parse(ts[0].out);
      Object.assign(row, { flows: s.flows, peak: s.peakActiveFlows, evicted: s.evictedFlows });
      row.perFlow = rssKb * 1024 / s.peakActiveFlows;
      line += `, flows ${s.flows}, peak table ${s.peakActiveFlows}, evicted ${s.evictedFlows}`;
    } else row.perFlow = name.startsWith("ndpiReader") ? "-" : rssKb * 1024 / floodN;
    console.log(line);
    floodRows.push(row);
  }
  await Deno.remove(nfDir, { recursive: true });

  // What a flow holds on the heap, apart from RSS's headroom (bench/_flow_heap.ts).
  const heapRows: Record<string, Cell>[] = [];
  const small6 = ipv6Copy(real.base.file);
  const many = files.find((f) => f.label.startsWith("many"))!;
  const heapFiles: [string, string, number][] = [
    // The small real file, not its shifted copies: with no timeouts a copy's packets join the first copy's flows.
    [files[0].label, files[0].file, files[0].packets],
    ["real, small, rewritten as IPv6", small6, files[0].packets],
    [many.label, many.file, 600_000],
    ["flood (one SYN a flow)", flood, floodN],
  ];
  for (const [label, file, packets] of heapFiles) {
    for (const features of ["none", "basic"]) {
      const r = await sh([
        Deno.execPath(),
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        join(ROOT, "bench", "_flow_heap.ts"),
        file,
        String(packets),
        features,
      ], { quiet: true });
      if (r.code !== 0) throw new Error(`bench/_flow_heap.ts ${file} failed: ${r.err.slice(-400)}`);
      const h = JSON.parse(r.out.trim().split("\n").pop()!);
      console.log(
        `  heap per flow, ${label}, ${features}: ${h.bytesPerFlow.toFixed(0)} B (${h.flows} flows)`,
      );
      heapRows.push({ file: label, packets, features, flows: h.flows, bytes: h.bytesPerFlow });
    }
  }
  const heapTable: Table = {
    id: "heap",
    title: "What an active flow holds on nadir's heap (after a full garbage collection)",
    columns: [
      { key: "file", label: "file" },
      { key: "packets", label: "packets read", int: true },
      { key: "features", label: "features" },
      { key: "flows", label: "flows held", int: true },
      { key: "bytes", label: "heap B per flow", int: true },
    ],
    rows: heapRows,
    notes: [
      "No timeouts: every flow stays active. Bytes = growth of V8's used heap between the first half and the " +
      "whole prefix ÷ the flows added (what does not grow with the flows drops out). `none` is the flow record alone.",
    ],
  };

  const floodTable: Table = {
    id: "flood",
    title: `Flood: ${floodN.toLocaleString("en-US")} distinct TCP SYN flows`,
    columns: [
      { key: "run", label: "run" },
      { key: "runs", label: "runs", int: true },
      { key: "rss", label: "peak RSS MiB", int: true },
      { key: "wall", label: "wall s" },
      { key: "cpu", label: "CPU s" },
      { key: "flows", label: "flows", int: true },
      { key: "peak", label: "peak table", int: true },
      { key: "evicted", label: "evicted", int: true },
      { key: "perFlow", label: "RSS B per flow held", int: true },
    ],
    rows: floodRows,
    notes: [
      "RSS B per flow held = the whole process's peak RSS / the flows it held at the peak: nadir's peak table, " +
      "every flow for nfpcapd and Argus (a SYN each, 10 s of traffic: none reaches their 60 s idle timeout). " +
      "The whole process, start-up included, so that nfpcapd's node cache (allocated up front) counts.",
      "Runs > 1: interleaved, medians (peak RSS, wall and CPU each).",
    ],
  };
  await saveRecord("flows", {
    params: {
      files: files.map((f) => ({ label: f.label, file: f.file, packets: f.packets })),
      seed,
      runs,
      minPackets,
      floodFlows: floodN,
      floodPeer: !args.includes("--no-flood-peer"),
    },
    tables: [peerTable, goalTable, floodTable, heapTable],
  });
}

if (import.meta.main) await main(Deno.args);
