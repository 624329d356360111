import assert from "node:assert/strict";
import { join } from "node:path";
import { benignFlowModel } from "./_helpers.ts";
import { soakChildArgs, writeSynFlood } from "./_flood.ts";
import { scratchDir } from "../_scratch.ts";

/** Runs test/serve/_soak_child.ts on an `n`-flow SYN flood; returns its JSON summary. */
async function soak(n: number, maxFlows: number) {
  const dir = scratchDir("nadir-soak-");
  try {
    const pcap = join(dir, "flood.pcap");
    await writeSynFlood(pcap, n, 19);
    const out = join(dir, "out");
    Deno.mkdirSync(out);
    const r = await new Deno.Command(Deno.execPath(), {
      args: soakChildArgs(pcap, await benignFlowModel(), out, maxFlows),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.ok(r.success, `soak child failed: ${err.slice(-2000)}`);
    const line = new TextDecoder().decode(r.stdout).trim().split("\n").pop()!;
    return JSON.parse(line);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

// Issue 19: a flood of single-packet flows where every flow alerts. Before the fix each alert cost
// ~10 ms (the evidence budget stat()ed every pcap still to be written: O(n²) per burst), so this
// run did not finish in 10 minutes; the flow table's per-flow side tables grew the heap too. The
// evidence buffer's cap counted frame bytes only (1/9 of what a one-frame flow holds), and V8 let
// garbage grow to 4× the live heap: 564 MiB here, 4.1 GB for the full 1.5 M flood.
Deno.test("soak: 120 k single-packet flows, every one alerting — bounded memory, every alert accounted", async () => {
  const n = 120_000, cap = 40_000;
  const s = await soak(n, cap);
  assert.equal(s.packets, n);
  assert.equal(s.flows, n, "one flow per packet");
  assert.equal(s.evicted, n - cap, "the flow table stayed at its cap: the rest were evicted (and counted)");
  assert.equal(s.alertsRaised, n, "every flow raised an alert (threshold below every score)");
  const dropped = Object.values(s.alertsDropped as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.equal(s.alerts, s.alertsRaised - dropped, "alerts emitted = raised − reported drops");
  // The file sink's count covers drift events too (the score stream is watched by default).
  assert.equal(
    s.written,
    s.alertsRaised - dropped + s.driftEvents,
    "the file sink wrote raised − reported drops",
  );
  assert.equal(s.lost, 0);
  assert.equal(s.nonFiniteScores, 0);
  // Every alert's pcap is written, lost or reported missing (its frames forgotten under the cap).
  const ev = s.evidence;
  assert.equal(ev.written + ev.lost + ev.missing, s.alerts, JSON.stringify(ev));
  assert.equal(ev.lost, 0);
  assert.equal(ev.written, s.evidenceWritten, 'nadir_sink_written_total{sink="evidence"}');
  // Issue 19's bound is 1 GiB for the full 1.5 M flood; this run peaked at 564 MiB before the fix.
  assert.ok(s.peakRssMiB <= 1024, `peak RSS ${s.peakRssMiB.toFixed(0)} MiB`);
  assert.ok(s.peakRssMiB <= 450, `peak RSS ${s.peakRssMiB.toFixed(0)} MiB (was 564 before issue 19's fix)`);
});
