/**
 * Live test of `--split fanout` (src/serve/shard.ts): real captures are
 * replayed with tcpreplay onto one end of a veth pair inside a network
 * namespace, and `nadir monitor --interface` captures the other end with one
 * worker, with two workers that each capture their own share (a
 * PACKET_FANOUT group), and with two fed over the ring. Every run must see
 * every packet and meter the same flows: a flow whose packets reached two
 * shards would be counted twice.
 * Skips (with a message) without root, `ip netns` or tcpreplay.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dataPath, nadirArgs, needNetns, testWhen } from "../_shared.ts";
import { scratchDir } from "../_scratch.ts";
import { benignFlowModel, concatCaptures } from "./_helpers.ts";

const NS = `nadirf${Deno.pid % 100000}`;
const IF_TX = `nf${Deno.pid % 100000}t`;
const IF_RX = `nf${Deno.pid % 100000}r`;

function sh(args: string[]): { ok: boolean; out: string } {
  const r = new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped" }).outputSync();
  return { ok: r.success, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

/** Runs the monitor on IF_RX while tcpreplay sends `pcap` on IF_TX; returns its stderr lines. */
async function monitorDuring(pcap: string, model: string, args: string[]): Promise<string[]> {
  const mon = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      NS,
      Deno.execPath(),
      ...nadirArgs(),
      "monitor",
      "--interface",
      IF_RX,
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
    for (let i = 0; i < 300 && !lines.some((l) => l.includes("capturing on")); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(lines.some((l) => l.includes("capturing on")), `monitor did not start:\n${lines.join("\n")}`);
    const tx = sh(["ip", "netns", "exec", NS, "tcpreplay", "-q", "-i", IF_TX, "--pps", "20000", pcap]);
    assert.ok(tx.ok, `tcpreplay: ${tx.out}`);
    // The kernel hands a block over after at most its 10 ms timeout; the shards poll every 2 ms.
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    try {
      mon.kill("SIGTERM");
    } catch { /* gone */ }
    await mon.status;
    await read;
  }
  return lines;
}

/** The numbers of the monitor's run summary. */
function summary(lines: string[]): { packets: number; flows: number; drops: number; perWorker: number[] } {
  const l = lines.find((x) => /nadir monitor: \d+ packets/.test(x));
  assert.ok(l, `no run summary:\n${lines.join("\n")}`);
  const m = /: (\d+) packets, (\d+) flows, \d+ alerts, (\d+) kernel drops/.exec(l!)!;
  const w = /packets per worker: ([\d, ]+)/.exec(l!);
  return {
    packets: Number(m[1]),
    flows: Number(m[2]),
    drops: Number(m[3]),
    perWorker: w ? w[1].split(", ").map(Number) : [],
  };
}

testWhen([needNetns("tcpreplay")], {
  name: "live: --workers 2 --split fanout meters the same packets and flows as one worker and as the ring",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = scratchDir("nadir-fanout-");
    const pcap = join(dir, "replay.pcap");
    // Real captures of many flows in both directions (a SYN scan, FTP, SSH, HTTP); none fragmented: a
    // fanout shard sees a fragmented datagram reassembled (PACKET_FANOUT_FLAG_DEFRAG), the ring its pieces.
    const { packets } = await concatCaptures(
      ["synscan.pcapng", "zeek-ftp-bruteforce.pcap", "zeek-ssh-ssh.pcap", "http_espn.pcapng"].map((f) =>
        dataPath("pcaps", f)
      ),
      pcap,
      0,
    );
    const model = await benignFlowModel();
    try {
      for (
        const cmd of [
          ["ip", "netns", "add", NS],
          // No IPv6 of the veths' own (router solicitations, MLD): the runs must see the replay alone.
          [
            "ip",
            "netns",
            "exec",
            NS,
            "sh",
            "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6",
          ],
          ["ip", "-n", NS, "link", "add", IF_TX, "type", "veth", "peer", "name", IF_RX],
          // Some frames of these captures are larger than Ethernet's 1,500 bytes (offloaded segments).
          ["ip", "-n", NS, "link", "set", IF_TX, "mtu", "9000"],
          ["ip", "-n", NS, "link", "set", IF_RX, "mtu", "9000"],
          ["ip", "-n", NS, "link", "set", IF_TX, "up"],
          ["ip", "-n", NS, "link", "set", IF_RX, "up"],
        ]
      ) {
        const r = sh(cmd);
        assert.ok(r.ok, `${cmd.join(" ")}: ${r.out}`);
      }
      const one = summary(await monitorDuring(pcap, model, []));
      const fanLines = await monitorDuring(pcap, model, ["--workers", "2", "--split", "fanout"]);
      assert.ok(fanLines.some((l) => /2 captures in PACKET_FANOUT group \d+/.test(l)), fanLines.join("\n"));
      const fan = summary(fanLines);
      const ring = summary(await monitorDuring(pcap, model, ["--workers", "2", "--split", "ring"]));
      for (const [name, r] of [["one worker", one], ["fanout", fan], ["ring", ring]] as const) {
        assert.equal(r.drops, 0, `${name}: kernel drops`);
        assert.equal(r.packets, packets, `${name}: every replayed packet captured`);
      }
      assert.equal(fan.flows, one.flows, "fanout: the same flows as one worker (no flow in two shards)");
      assert.equal(ring.flows, one.flows, "ring: the same flows as one worker");
      assert.equal(fan.perWorker.length, 2);
      assert.equal(fan.perWorker[0] + fan.perWorker[1], packets);
      assert.ok(Math.min(...fan.perWorker) > packets / 10, `both captures got a share: ${fan.perWorker}`);
    } finally {
      sh(["ip", "netns", "del", NS]);
    }
  },
});
