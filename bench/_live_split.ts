/**
 * The live part of `deno task bench monitor` (issue 18): how a live capture
 * reaches two workers, `--split fanout` (every shard captures its own share,
 * Linux PACKET_FANOUT) against `--split ring` (the main thread captures every
 * packet and copies each worker's into its ring), beside one worker.
 *
 * The bench capture, rewritten without the records tcpreplay refuses, is sent
 * with `tcpreplay --topspeed` onto one end of a veth pair in a network
 * namespace of its own, and `nadir monitor --interface` captures the other
 * end. tcpreplay keeps one of this machine's two cores busy, so packets/s
 * cannot show what a second core gives; what each thread spent can. Per thread
 * (/proc/PID/task), just before the monitor is stopped: the busiest thread
 * bounds the rate the sensor can keep up with when every thread has a core,
 * and the table gives that bound beside one worker's.
 *
 * Needs root, `ip netns` and tcpreplay; without them the table is left out
 * and the reason printed.
 *
 * @module
 */
import { join } from "node:path";
import { forEachPacket } from "../src/capture/reader.ts";
import { createWriter } from "../src/capture/writer.ts";
import { cacheCapture, cachedCapture, nadirRunArgs, type Table } from "./_record.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Linux's clock ticks a second (USER_HZ), the unit of /proc's utime and stime. */
const TICKS = 100;

function sh(args: string[]): { ok: boolean; out: string } {
  try {
    const r = new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped" })
      .outputSync();
    return { ok: r.success, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
  } catch (e) {
    return { ok: false, out: (e as Error).message };
  }
}

/** Why the live runs cannot be made here, or "" when they can. */
export function liveSplitUnmet(): string {
  if (Deno.build.os !== "linux") return "live capture split needs Linux";
  if (Deno.uid?.() !== 0) return "not root (network namespaces and capture need it)";
  if (!sh(["tcpreplay", "--version"]).ok) return "tcpreplay not installed (Debian tcpreplay)";
  if (!sh(["ip", "netns", "list"]).ok) return "ip netns unavailable";
  return "";
}

/**
 * Rewrites the first `packets` frames of `src` into a pcap that tcpreplay sends whole: frames longer than a
 * veth's largest MTU (65,535 bytes) are left out, and the reader's resynchronisation has already skipped the
 * damaged records that tcpreplay stops at. Cached beside the bench capture.
 */
async function replayable(
  src: string,
  cache: string,
  packets: number,
): Promise<{ path: string; packets: number }> {
  const path = join(cache, `live-${packets}.pcap`);
  const cached = cachedCapture(path);
  if (cached !== undefined) return { path, packets: cached };
  const w = createWriter(path, { format: "pcap", linkType: 1 });
  let n = 0;
  await forEachPacket(src, (p) => {
    if (p.raw.length > 65535 - 14) return;
    w.writePacket(p.tsUs, p.raw, Math.min(p.wireLen, 65535));
    return ++n < packets;
  });
  w.close();
  cacheCapture(path, n);
  return { path, packets: n };
}

interface LiveRun {
  /** What tcpreplay reported sending, packets/s. */
  offered: number;
  packets: number;
  flows: number;
  alerts: number;
  drops: number;
  /** CPU seconds of the whole process, and of its busiest thread. */
  cpu: number;
  busiest: number;
  busiestName: string;
  perWorker: number[];
}

/** CPU seconds of each thread of `pid` ([name, seconds, thread id], the busiest first), and of the process. */
export function threadCpu(pid: number): { threads: [string, number, number][]; total: number } {
  const threads: [string, number, number][] = [];
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/stat`);
      // Fields after the name in parentheses (which may hold spaces): utime and stime are 14th and 15th.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim();
      threads.push([name, (Number(f[11]) + Number(f[12])) / TICKS, Number(t.name)]);
    } catch { /* the thread ended */ }
  }
  threads.sort((a, b) => b[1] - a[1]);
  return { threads, total: threads.reduce((s, t) => s + t[1], 0) };
}

/** A veth pair inside a network namespace of its own: tcpreplay sends on `tx`, the monitor captures `rx`. */
export interface Veth {
  ns: string;
  tx: string;
  rx: string;
  /** Deletes the namespace and the pair with it. */
  close(): void;
}

/**
 * Creates a {@link Veth} (names from `tag` and the process id). Its ends take 65,535-byte frames (the
 * captures hold offloaded segments larger than Ethernet's), and the namespace has no IPv6 of its own
 * (router solicitations, MLD), so the monitor sees the replay alone.
 */
export function vethPair(tag: string): Veth {
  const id = Deno.pid % 100000;
  const ns = `nadir${tag}${id}`, tx = `n${tag}${id}t`, rx = `n${tag}${id}r`;
  const close = () => void sh(["ip", "netns", "del", ns]);
  try {
    for (
      const cmd of [
        ["ip", "netns", "add", ns],
        [
          "ip",
          "netns",
          "exec",
          ns,
          "sh",
          "-c",
          "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6",
        ],
        ["ip", "-n", ns, "link", "add", tx, "type", "veth", "peer", "name", rx],
        ["ip", "-n", ns, "link", "set", tx, "mtu", "65535"],
        ["ip", "-n", ns, "link", "set", rx, "mtu", "65535"],
        ["ip", "-n", ns, "link", "set", tx, "up"],
        ["ip", "-n", ns, "link", "set", rx, "up"],
      ]
    ) {
      const r = sh(cmd);
      if (!r.ok) throw new Error(`${cmd.join(" ")}: ${r.out}`);
    }
  } catch (e) {
    close();
    throw e;
  }
  return { ns, tx, rx, close };
}

/**
 * One `nadir monitor --interface` run on `v.rx` with `args` while tcpreplay sends `pcap` on `v.tx`, at top
 * speed or `o.pps`; the monitor is stopped 1 s after the last packet was sent. Returns the run summary's
 * figures, each thread's CPU just before the stop, and the monitor's stderr lines.
 */
export async function liveRun(
  v: Veth,
  pcap: string,
  model: string,
  args: string[],
  o: { pps?: number } = {},
): Promise<LiveRun & { lines: string[] }> {
  const mon = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      v.ns,
      Deno.execPath(),
      ...nadirRunArgs(),
      join(ROOT, "src", "cli.ts"),
      "monitor",
      "--interface",
      v.rx,
      "--model",
      model,
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", NADIR_PROGRESS: "0" },
  }).spawn();
  const lines: string[] = [];
  const read = (async () => {
    let buf = "";
    for await (const chunk of mon.stderr.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      lines.push(...parts);
    }
    if (buf) lines.push(buf);
  })();
  try {
    for (let i = 0; i < 600 && !lines.some((l) => l.includes("capturing on")); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!lines.some((l) => l.includes("capturing on"))) {
      throw new Error(`monitor did not start:\n${lines.join("\n")}`);
    }
    const rate = o.pps ? `--pps=${o.pps}` : "--topspeed";
    const tx1 = sh(["ip", "netns", "exec", v.ns, "tcpreplay", "-q", "-i", v.tx, rate, pcap]);
    if (!tx1.ok) throw new Error(`tcpreplay: ${tx1.out}`);
    const offered = Number(/Mbps, ([\d.]+) pps/.exec(tx1.out)?.[1] ?? NaN);
    // Everything captured is metered by now: a block is handed over within 10 ms, the shards poll every 2 ms.
    await new Promise((r) => setTimeout(r, 1000));
    // `ip netns exec` execs the monitor: the child's pid is the monitor's.
    const cpu = threadCpu(mon.pid);
    mon.kill("SIGTERM");
    await mon.status;
    await read;
    const l = lines.find((x) => /nadir monitor: \d+ packets/.test(x)) ?? "";
    const m = /: (\d+) packets, (\d+) flows, (\d+) alerts, (\d+) kernel drops/.exec(l);
    if (!m) throw new Error(`no run summary:\n${lines.join("\n")}`);
    const w = /packets per worker: ([\d, ]+)/.exec(l);
    return {
      offered,
      packets: Number(m[1]),
      flows: Number(m[2]),
      alerts: Number(m[3]),
      drops: Number(m[4]),
      cpu: cpu.total,
      busiest: cpu.threads[0][1],
      busiestName: cpu.threads[0][0],
      perWorker: w ? w[1].split(", ").map(Number) : [],
      lines,
    };
  } finally {
    try {
      mon.kill("SIGKILL");
    } catch { /* ended */ }
    await mon.status;
  }
}

/**
 * The live table: one worker, `n` workers over fanout and `n` over the ring, `reps` interleaved runs each
 * (the row is the run with the median busiest thread), on the first `packets` frames of `capture`.
 */
export async function liveSplitRuns(
  o: {
    capture: string;
    cache: string;
    packets: number;
    model: string;
    work: string;
    n: number;
    reps: number;
  },
): Promise<Table> {
  const src = await replayable(o.capture, o.cache, o.packets);
  const modes: [label: string, short: string, args: string[]][] = [
    ["1 worker", "1 worker", []],
    [`${o.n} workers, --split fanout (each captures its share)`, "fanout", [
      "--workers",
      String(o.n),
      "--split",
      "fanout",
    ]],
    [`${o.n} workers, --split ring (one capture, copies to rings)`, "ring", [
      "--workers",
      String(o.n),
      "--split",
      "ring",
    ]],
  ];
  const runs: LiveRun[][] = modes.map(() => []);
  const v = vethPair("b");
  try {
    let k = 0;
    for (let r = 0; r < o.reps; r++) {
      for (let m = 0; m < modes.length; m++) {
        // Removed with o.work at the end: deleting a run's files just before the next run slows its file
        // creation (bench/monitor.ts, phaseArgs).
        const own = join(o.work, `live-${k++}`);
        Deno.mkdirSync(own, { recursive: true });
        console.error(`bench monitor: live, ${modes[m][0]}, run ${r + 1} of ${o.reps}`);
        const got = await liveRun(v, src.path, o.model, [
          "--alerts",
          join(own, "alerts.jsonl"),
          ...modes[m][2],
        ]);
        runs[m].push(got);
        console.error(
          `bench monitor: live, ${
            modes[m][1]
          }: ${got.packets} packets, ${got.flows} flows, ${got.drops} drops, ` +
            `busiest thread ${got.busiest.toFixed(2)} s (${got.busiestName}), sent at ${
              Math.round(got.offered)
            } packets/s`,
        );
      }
    }
  } finally {
    v.close();
  }
  const median = (xs: LiveRun[]) =>
    [...xs].sort((a, b) => a.busiest - b.busiest)[Math.floor((xs.length - 1) / 2)];
  const rows = runs.map(median);
  const one = rows[0];
  const range = (xs: LiveRun[]) => {
    const b = xs.map((x) => x.busiest);
    return `${Math.min(...b).toFixed(2)}–${Math.max(...b).toFixed(2)} s`;
  };
  return {
    id: "live",
    title:
      `Live capture on a veth, ${src.packets.toLocaleString("en-US")} packets sent by tcpreplay at top ` +
      `speed: how ${o.n} workers get their packets (medians of ${o.reps} interleaved runs)`,
    columns: [
      { key: "run", label: "run" },
      { key: "offered", label: "sent packets/s", int: true },
      { key: "packets", label: "captured", int: true },
      { key: "drops", label: "kernel drops", int: true },
      { key: "flows", label: "flows", int: true },
      { key: "cpu", label: "CPU s" },
      { key: "busiest", label: "busiest thread CPU s" },
      { key: "vsOne", label: "vs 1 worker", suffix: "×" },
      { key: "bound", label: "packets/s the busiest thread allows", int: true },
      { key: "split", label: "packets per worker" },
    ],
    rows: rows.map((r, i) => ({
      run: modes[i][0],
      offered: r.offered,
      packets: r.packets,
      drops: r.drops,
      flows: r.flows,
      cpu: r.cpu,
      busiest: r.busiest,
      vsOne: r.busiest / one.busiest,
      bound: r.packets / r.busiest,
      split: r.perWorker.join(" / ") || "-",
    })),
    notes: [
      "tcpreplay keeps one of the cores busy, so the sensor's packets/s here is the sender's; what bounds the " +
      "sensor is its busiest thread (CPU seconds read from /proc/PID/task just before the stop, idle polling " +
      "included). Its ranges over the runs: " +
      runs.map((xs, i) => `${modes[i][1]} ${range(xs)}`).join("; ") + ". Kernel drops, run by run: " +
      runs.map((xs, i) => `${modes[i][1]} ${xs.map((x) => x.drops.toLocaleString("en-US")).join(" / ")}`)
        .join("; ") +
      ".",
      "Fanout reassembles IP fragments before the kernel's hash (PACKET_FANOUT_FLAG_DEFRAG), so a fragmented " +
      "datagram is captured as one packet: the difference in the captured column.",
    ],
  };
}
