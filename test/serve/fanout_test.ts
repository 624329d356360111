/**
 * Live test of `--split fanout` (src/serve/shard.ts): real captures are
 * replayed with tcpreplay onto one end of a veth pair inside a network
 * namespace, and `nadir monitor --interface` captures the other end with one
 * worker, with two workers that each capture their own share (a
 * PACKET_FANOUT group), and with two fed over the ring. Every run must see
 * every packet, meter the same flows (a flow whose packets reached two shards
 * would be counted twice) and, with the alert rules off, write the same alerts.
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
      // The rules off, so that every raised alert is written whatever order the shards hand them over in.
      const config = join(dir, "rules-off.json");
      Deno.writeTextFileSync(
        config,
        JSON.stringify({ rules: { dedup_window_s: 0, per_host_per_minute: 0 } }),
      );
      // tcpreplay at a fixed pace: how many flows this traffic makes depends on its timing on the wire.
      const replayTo = (name: string, args: string[]) =>
        liveRun(v, pcap, model, ["--config", config, "--alerts", join(dir, `${name}.jsonl`), ...args], {
          pps: 20_000,
        });
      /** Each alert's flow, with its score and threshold. */
      const alerts = (name: string) =>
        new Map(
          Deno.readTextFileSync(join(dir, `${name}.jsonl`)).split("\n").filter(Boolean).map((l) =>
            JSON.parse(l)
          )
            // Drift events share the file; they follow the score stream's order, which differs by shard.
            .filter((a) => a.event_type === "alert")
            .map((a) => [
              `${a.src_ip}:${a.src_port}>${a.dest_ip}:${a.dest_port}/${a.proto}`,
              { score: a.score as number, threshold: a.threshold as number },
            ]),
        );
      const one = await replayTo("one", []);
      const fan = await replayTo("fanout", ["--workers", "2", "--split", "fanout"]);
      assert.ok(fan.lines.some((l) => /2 captures in PACKET_FANOUT group \d+/.test(l)), fan.lines.join("\n"));
      const ring = await replayTo("ring", ["--workers", "2", "--split", "ring"]);
      for (const [name, r] of [["one worker", one], ["fanout", fan], ["ring", ring]] as const) {
        assert.equal(r.drops, 0, `${name}: kernel drops`);
        assert.equal(r.packets, packets, `${name}: every replayed packet captured`);
      }
      assert.equal(fan.flows, one.flows, "fanout: the same flows as one worker (no flow in two shards)");
      assert.equal(ring.flows, one.flows, "ring: the same flows as one worker");
      assert.ok(one.alerts > 10, `alerts raised: ${one.alerts}`);
      // The same flows alert, with the same scores up to the wire's jitter: a live capture's times are the
      // kernel's and the features hold durations and gaps, so two runs of one worker differ too (by up to
      // 0.3 % seen). A flow that close to the threshold may alert in one run only.
      // On a loaded machine one flow's gaps can stretch further (6 % once, the full suite running beside):
      // one such outlier in 50 alerts is jitter, more is a real difference.
      const near = (a: { score: number; threshold: number }) => Math.abs(a.score / a.threshold - 1) < 0.05;
      const base = alerts("one");
      for (const name of ["fanout", "ring"]) {
        const got = alerts(name);
        const apart: string[] = [];
        for (const [k, a] of got) {
          const b = base.get(k);
          if (b === undefined) assert.ok(near(a), `${name}: ${k} alerted (${a.score}), not with one worker`);
          else if (Math.abs(a.score - b.score) > 0.05 * Math.abs(b.score)) {
            apart.push(`${k} ${a.score}, ${b.score}`);
          }
        }
        assert.ok(apart.length <= Math.max(1, base.size / 50), `${name}: scores apart: ${apart.join("; ")}`);
        for (const [k, b] of base) {
          assert.ok(got.has(k) || near(b), `${name}: ${k} alerted with one worker (${b.score}), not here`);
        }
        assert.ok(got.size >= 0.95 * base.size, `${name}: ${got.size} alerts, one worker ${base.size}`);
      }
      assert.equal(fan.perWorker.length, 2);
      assert.equal(fan.perWorker[0] + fan.perWorker[1], packets);
      assert.ok(Math.min(...fan.perWorker) > packets / 10, `both captures got a share: ${fan.perWorker}`);
    } finally {
      v.close();
    }
  },
});
