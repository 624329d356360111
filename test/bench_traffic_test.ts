import assert from "node:assert/strict";
import { generateTraffic, PROFILES } from "../bench/_traffic.ts";
import { meterFile } from "../src/flows/pipeline.ts";
import { forEachPacket } from "../src/capture/reader.ts";

const small = { ...PROFILES.many, minPackets: 20_000, minFlows: 3_000 };

async function sha(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("bench traffic: a meter finds exactly the generated flows and packets", async () => {
  const file = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const s = generateTraffic(file, { ...small, seed: 7 });
    assert.ok(s.packets >= 20_000 && s.flows >= 3_000, `${s.packets} packets, ${s.flows} flows`);
    assert.ok(Object.keys(s.kinds).length >= 4, `several kinds of flow: ${JSON.stringify(s.kinds)}`);
    const m = await meterFile(file, { features: "basic", onRow: () => {}, strict: true });
    assert.equal(m.capture.packets, s.packets);
    assert.equal(m.meter.metered, s.packets, "every packet is IPv4 TCP/UDP/ICMP");
    assert.equal(m.flows, s.flows, "one flow per generated 5-tuple");
    // packet time only moves forward and frames keep their wire length
    let last = -Infinity, wire = 0;
    await forEachPacket(file, (p) => {
      assert.ok(p.tsUs >= last, `time order at ${p.fileOffset}`);
      last = p.tsUs;
      assert.ok(p.capLen <= 128 && p.capLen <= p.wireLen);
      wire += p.wireLen;
    });
    assert.equal(wire, s.bytesOnWire);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("bench traffic: the same seed writes the same bytes, another seed others", async () => {
  const [a, b, c] = [0, 1, 2].map(() => Deno.makeTempFileSync({ suffix: ".pcap" }));
  try {
    generateTraffic(a, { ...small, minPackets: 3000, minFlows: 0, seed: 1 });
    generateTraffic(b, { ...small, minPackets: 3000, minFlows: 0, seed: 1 });
    generateTraffic(c, { ...small, minPackets: 3000, minFlows: 0, seed: 2 });
    assert.equal(await sha(a), await sha(b));
    assert.notEqual(await sha(a), await sha(c));
  } finally {
    for (const f of [a, b, c]) Deno.removeSync(f);
  }
});

Deno.test("bench traffic: the long profile's silent flows end by idle timeout", async () => {
  const file = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const s = generateTraffic(file, { ...PROFILES.long, flowRate: 10, minPackets: 200_000, seed: 3 });
    assert.ok((s.kinds["tcp-silent"] ?? 0) > 0);
    const m = await meterFile(file, {
      features: "basic",
      idleTimeout: 60,
      onRow: () => {},
      strict: true,
    });
    assert.equal(m.flows, s.flows);
    assert.ok(m.meter.peakActive < s.flows, `flows expire while the file runs: peak ${m.meter.peakActive}`);
  } finally {
    await Deno.remove(file);
  }
});
