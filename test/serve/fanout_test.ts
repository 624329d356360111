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
import { liveRun, vethPair } from "../../bench/_live_split.ts";
import { dataPath, needNetns, testWhen } from "../_shared.ts";
import { scratchDir } from "../_scratch.ts";
import { benignFlowModel, concatCaptures } from "./_helpers.ts";

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
    const v = vethPair("f");
    try {
      // tcpreplay at a fixed pace: how many flows this traffic makes depends on its timing on the wire.
      const run = (args: string[]) => liveRun(v, pcap, model, args, { pps: 20_000 });
      const one = await run([]);
      const fan = await run(["--workers", "2", "--split", "fanout"]);
      assert.ok(fan.lines.some((l) => /2 captures in PACKET_FANOUT group \d+/.test(l)), fan.lines.join("\n"));
      const ring = await run(["--workers", "2", "--split", "ring"]);
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
      v.close();
    }
  },
});
