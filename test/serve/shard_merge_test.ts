import assert from "node:assert/strict";
import { AlertMerge, comparePlaces, type MergeEntry } from "../../src/serve/shard_merge.ts";
import { watermarkPlace } from "../../src/serve/shard_open.ts";
import { Rng } from "../../src/util/random.ts";
import { readAllPackets } from "../../src/capture/reader.ts";
import type { Matrix } from "../../src/data/matrix.ts";
import type { Detector } from "../../src/detectors/types.ts";
import { basicFeatures } from "../../src/flows/features/basic.ts";
import { EndPhase } from "../../src/flows/meter.ts";
import { MonitorMetrics } from "../../src/serve/metrics.ts";
import { Monitor, type MonitorOptions } from "../../src/serve/monitor.ts";
import { AlertFilter } from "../../src/serve/rules.ts";
import { AlertStore, LiveStats } from "../../src/serve/store.ts";
import { dataPath } from "../_shared.ts";

// AlertMerge is checked on made-up alerts (what it orders is tested on real captures in shard_test.ts).

const entry = (clockMs: number, flowId: number, orderUs = clockMs * 1000): MergeEntry<string> => ({
  clockUs: clockMs * 1000,
  orderUs,
  flowId,
  item: `${flowId}@${clockMs}`,
});

function merged(shards: number) {
  const judged: string[] = [], ended: number[] = [];
  const said = { waiting: -1 };
  const m = new AlertMerge<string>(shards, {
    judge: (a) => void judged.push(a),
    ended: (id) => void ended.push(id),
    waiting: (n) => void (said.waiting = n),
  });
  return { m, judged, ended, said };
}

Deno.test("AlertMerge: alerts go to the rules in packet-clock order, up to the lowest watermark", () => {
  const { m, judged, said } = merged(3);
  m.add(2, entry(30, 3));
  m.add(1, entry(20, 2));
  m.add(1, entry(40, 4));
  assert.equal(said.waiting, 3, "the waiting count is said as it changes");
  m.mark(1, 50_000);
  m.mark(2, 50_000);
  assert.deepEqual(judged, [], "shard 0 has said nothing");
  m.mark(0, 25_000);
  assert.deepEqual(judged, ["2@20"], "up to the lowest watermark");
  m.add(0, entry(30, 6, 29_000));
  m.mark(0, 30_000);
  assert.deepEqual(
    judged,
    ["2@20", "6@30", "3@30"],
    "at the watermark too; a tie goes by the alert's own time",
  );
  m.mark(0, 10_000);
  assert.equal(m.waiting, 1, "a watermark never goes back");
  m.mark(0, Infinity);
  assert.deepEqual(judged, ["2@20", "6@30", "3@30", "4@40"]);
  assert.equal(said.waiting, 0);
});

Deno.test("AlertMerge: a flow's end waits for its alerts; flush judges what is left", () => {
  const { m, judged, ended } = merged(2);
  m.add(0, entry(5, 7));
  m.ended(7);
  m.ended(8);
  assert.deepEqual(ended, [8], "a flow with nothing waiting ends at once");
  m.mark(0, 9_000);
  m.mark(1, 9_000);
  assert.deepEqual(judged, ["7@5"]);
  assert.deepEqual(ended, [8, 7], "then the flow whose alert waited");
  m.add(1, entry(100, 9));
  m.flush();
  assert.deepEqual(judged, ["7@5", "9@100"]);
  assert.equal(m.waiting, 0);
});

Deno.test("AlertMerge: alerts of one clock go by pass then order time; a place lets those before it go", () => {
  const { m, judged } = merged(2);
  const at = (clockMs: number, phase: number, orderMs: number, flowId: number): MergeEntry<string> => ({
    clockUs: clockMs * 1000,
    phase,
    orderUs: orderMs * 1000,
    flowId,
    item: `${flowId}@${clockMs}/${phase}/${orderMs}`,
  });
  // One clock (50 ms): shard 1 busy with its idle scan (pass 1), shard 0 with a linger (pass 0) and a scan.
  m.add(1, at(50, 1, 10, 1));
  m.add(0, at(50, 0, 45, 2));
  m.add(0, at(50, 1, 12, 3));
  m.add(1, at(50, 1, 20, 4));
  m.mark(0, 50_000); // shard 0 is done with the clock
  assert.deepEqual(judged, [], "shard 1 said nothing yet");
  m.mark(1, 50_000, 1, 10_000); // shard 1 handed its scan's alert at 10 ms with all before it
  assert.deepEqual(
    judged,
    ["2@50/0/45", "1@50/1/10"],
    "the linger comes before any scan; 1@50/1/10 is at shard 1's own place (its later alerts arrive later)",
  );
  m.mark(1, 50_000, 1, 15_000);
  assert.deepEqual(judged, ["2@50/0/45", "1@50/1/10", "3@50/1/12"]);
  m.mark(1, 50_000, 1, 12_000);
  assert.equal(m.waiting, 1, "a place never goes back");
  m.add(0, at(50, 2, 49, 5)); // shard 0's own flow, at the same clock, after its scan
  m.mark(1, 50_000); // shard 1's watermark: done with the clock
  assert.deepEqual(judged, ["2@50/0/45", "1@50/1/10", "3@50/1/12", "4@50/1/20", "5@50/2/49"]);
  m.add(1, at(60, 1, 30, 6));
  m.mark(1, 60_000, 1, 31_000);
  m.mark(0, 60_000, 0, Infinity); // shard 0 past all its lingers at 60 ms, not its scan
  assert.equal(judged.length, 5, "6 waits for shard 0's scan at 60 ms");
  m.mark(0, 60_000, 1, 30_001);
  assert.deepEqual(judged.at(-1), "6@60/1/30");
});

Deno.test("AlertMerge: alerts at one place go by shard: a later shard at that place does not hold an earlier one", () => {
  const { m, judged } = merged(3);
  // A held clock: every flow ended at 70 ms has the same last packet time, 60 ms, in every shard.
  const tie = (shard: number, flowId: number) =>
    m.add(shard, { clockUs: 70_000, phase: 1, orderUs: 60_000, flowId, item: `${flowId}/s${shard}` });
  tie(1, 1);
  tie(0, 2);
  tie(2, 3);
  m.mark(0, 70_000, 1, 60_000);
  m.mark(2, 70_000, 1, 60_000);
  assert.deepEqual(
    judged,
    [],
    "shard 1 has said nothing: shard 0's alert could still be followed by one of its own",
  );
  m.mark(1, 70_000, 1, 60_000);
  assert.deepEqual(
    judged,
    ["2/s0"],
    "shards 1 and 2 may still hand over alerts at the place: shard 0's go first",
  );
  tie(0, 4);
  assert.deepEqual(judged, ["2/s0", "4/s0"], "shard 0's next alert at its own place goes at once");
  m.mark(0, 70_000); // shard 0 done with the clock
  assert.deepEqual(judged, ["2/s0", "4/s0", "1/s1"], "shard 2 is at the place, after shard 1");
  tie(1, 5);
  assert.deepEqual(judged.at(-1), "5/s1");
  m.mark(1, 70_000);
  assert.deepEqual(judged, ["2/s0", "4/s0", "1/s1", "5/s1", "3/s2"]);
});

Deno.test("AlertMerge: shards handing over in their own order, watermarks and places moving apart, give the sorted order", () => {
  const rng = new Rng(11);
  const shards = 4, per = 2_000;
  const { m, judged } = merged(shards);
  const clocks = Array.from({ length: shards }, () => 0);
  const sent = Array.from({ length: shards }, () => 0);
  const all: { c: number; id: number; s: number }[] = [];
  let id = 0;
  while (sent.some((n) => n < per)) {
    const s = rng.int(shards);
    if (sent[s] === per) continue;
    clocks[s] += rng.int(4); // each shard's clock only goes forward; shards often share a place
    const c = clocks[s];
    m.add(s, entry(c, id));
    all.push({ c, id: id++, s });
    sent[s]++;
    const say = rng.int(4);
    if (say === 0) (m.mark(s, c * 1000), clocks[s]++); // a watermark: done with clock c
    else if (say === 1) m.mark(s, c * 1000, 2, c * 1000); // a place: none before this alert's
    if (sent[s] === per) m.mark(s, Infinity);
  }
  assert.equal(m.waiting, 0, "every shard done: nothing waits");
  // One place: by shard, then arrival.
  const want = all.sort((a, b) => a.c - b.c || a.s - b.s || a.id - b.id).map((a) => `${a.id}@${a.c}`);
  assert.deepEqual(judged, want);
});

Deno.test("a shard's watermark: no alert is handed over older than a watermark it gave before", async () => {
  // A real capture (a SYN scan: a flow per probed port), a model that flags every flow, and explanations
  // that answer late: queued rows and alerts being explained must hold the watermark back.
  const packets = await readAllPackets(dataPath("pcaps", "synscan.pcapng"));
  const later: (() => void)[] = [];
  let mark = -Infinity, handed = 0, older = 0;
  const m = flagEveryFlow({
    explain: () => new Promise<string>((resolve) => later.push(() => resolve("late"))),
    shard: {
      precheck: () => undefined,
      dropped() {},
      alert(r) {
        handed++;
        if (r.clockUs < mark) older++;
      },
      ended() {},
    },
  });
  for (let i = 0; i < packets.length; i++) {
    m.packet(packets[i]);
    mark = Math.max(mark, m.watermarkUs());
    if (i % 97 === 96) {
      for (const answer of later.splice(0)) answer();
      await new Promise((r) => setTimeout(r, 0)); // batches scored, explanations delivered
    }
  }
  const finished = m.finish();
  while (later.length || handed < m.meter.stats.created) {
    for (const answer of later.splice(0)) answer();
    await new Promise((r) => setTimeout(r, 0));
  }
  await finished;
  assert.ok(handed > 1000, `alerts handed over: ${handed}`);
  assert.equal(older, 0, "an alert older than a watermark given before it");
  assert.ok(mark > 0, "the watermark moved");
});

Deno.test("a shard's place: no alert is handed over before a place it gave, and bursts give places", async () => {
  // Every vendored capture (a SYN scan, an FTP brute force, a DHCP flood among them) with a short idle
  // timeout: idle scans and lingers end flows in bursts, whose alerts the shard places as it goes.
  let places = 0, handed = 0, before = 0;
  const names = [...Deno.readDirSync(dataPath("pcaps"))].map((e) => e.name).filter((n) =>
    /\.pcap(ng)?$/.test(n)
  );
  for (const name of names.sort()) {
    let place: [number, number, number] = [-Infinity, -Infinity, -Infinity];
    const m = flagEveryFlow({
      idleTimeoutS: 1,
      // Re-scoring too: its rows (and a packet's own flow) come in no promised order, and give no place.
      rescoreIntervalS: 1,
      rescoreMinPackets: 1,
      shard: {
        precheck: () => undefined,
        dropped() {},
        alert(r) {
          handed++;
          if (comparePlaces(r.clockUs, r.phase, r.orderUs, ...place) < 0) before++;
        },
        mark(us, phase, orderUs) {
          places++;
          place = [us, phase, orderUs];
        },
        ended() {},
      },
    });
    for (const p of await readAllPackets(dataPath("pcaps", name))) m.packet(p);
    await m.finish();
  }
  assert.ok(handed > 1000, `alerts handed over: ${handed}`);
  assert.ok(places > handed / 4, `places given: ${places} for ${handed} alerts`);
  assert.equal(before, 0, "an alert handed over before a place given earlier");
});

Deno.test("a shard's watermark place: the end of the input comes after every place it gave", async () => {
  // The end of a capture ends every flow left at the last clock, after the shard has given its watermark
  // there. Given as "nothing more at this clock", the rules judged other shards' alerts of that end first:
  // with --workers 2 another alert of a group passed than with one.
  let flushed = 0, before = 0, mark: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (const name of ["zeek-ftp-bruteforce.pcap", "tcp_ports.pcapng", "http_espn.pcapng"]) {
    const m = flagEveryFlow({
      shard: {
        precheck: () => undefined,
        dropped() {},
        alert(r) {
          if (r.phase !== EndPhase.FLUSH) return;
          flushed++;
          if (comparePlaces(r.clockUs, r.phase, r.orderUs, mark[0], mark[1], mark[2]) < 0) before++;
        },
        ended() {},
      },
    });
    mark = [-Infinity, -Infinity, -Infinity];
    for (const p of await readAllPackets(dataPath("pcaps", name))) {
      m.packet(p);
      const w = watermarkPlace(m);
      if (comparePlaces(w[0], w[1], w[2], mark[0], mark[1], mark[2]) > 0) mark = w;
    }
    await m.finish();
  }
  assert.ok(flushed > 10, `alerts of the end of the input: ${flushed}`);
  assert.equal(before, 0, "an alert of the end of the input handed over before the watermark's place");
});

/** A monitor whose model flags every flow, no rules, and options `o` (a shard link, timers). */
function flagEveryFlow(o: Partial<MonitorOptions>): Monitor {
  const filter = new AlertFilter({ dedupWindowS: 0, perHostPerMinute: 0 });
  return new Monitor({
    metrics: new MonitorMetrics(),
    store: new AlertStore({ filter }),
    stats: new LiveStats(),
    filter,
    sinks: [],
    scoring: {
      kind: "flow",
      name: "all",
      detector: {
        name: "all",
        score: (x: Matrix) => new Float64Array(x.rows).fill(1),
      } as unknown as Detector,
      featureSet: basicFeatures,
      featureNames: ["bidirectional_packets", "bidirectional_bytes"],
      threshold: 0,
    },
    ...o,
  });
}
