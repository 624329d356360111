/**
 * Numerical safety of the flow features: real frames re-timed with random
 * gaps (0 to 10^6 s), equal timestamps and extreme wire lengths must give
 * finite numbers in every feature set — a rate over a zero duration, a
 * variance of one value or a silence longer than any timeout must not become
 * NaN or Infinity. The frames are real (data/pcaps); only their timestamps
 * and wire lengths are changed, which no real capture here varies this way.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readAllPackets } from "../../src/capture/reader.ts";
import { writePcap } from "../../src/capture/writer.ts";
import { FEATURE_SET_NAMES } from "../../src/flows/features/mod.ts";
import { meterFile } from "../../src/flows/pipeline.ts";
import { Rng } from "../../src/util/random.ts";
import { dataPath } from "../_shared.ts";

async function retimed(seed: number, out: string): Promise<void> {
  const src = [
    ...(await readAllPackets(dataPath("pcaps", "zeek-ftp-bruteforce.pcap"))).slice(0, 150),
    ...(await readAllPackets(dataPath("pcaps", "synscan.pcapng"))).slice(0, 150),
  ].filter((p) => p.linkType === 1);
  const rng = new Rng(seed);
  let t = 1_500_000_000_000_000;
  const frames = [];
  for (let i = 0; i < 400; i++) {
    const p = src[rng.int(src.length)];
    const r = rng.next();
    t += r < 0.25 ? 0 : r < 0.45 ? Math.floor(rng.next() * 1e12) : Math.floor(rng.next() * 2e6);
    const big = rng.next() < 0.2;
    frames.push({ tsUs: t, data: p.raw.slice(), wireLen: big ? 2 ** 31 + rng.int(1 << 20) : p.wireLen });
  }
  writePcap(out, frames, { linkType: 1, format: "pcap" });
}

Deno.test("flow features: random gaps, equal times and huge wire lengths stay finite in every feature set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-flowprop-" });
  try {
    for (let seed = 1; seed <= 6; seed++) {
      const file = join(dir, `s${seed}.pcap`);
      await retimed(seed, file);
      for (const features of FEATURE_SET_NAMES) {
        let rows = 0;
        await meterFile(file, {
          features,
          onRow: (r, cols) => {
            rows++;
            for (let i = 0; i < cols.length; i++) {
              const v = r[i];
              if (typeof v === "number") {
                assert.ok(
                  Number.isFinite(v),
                  `seed ${seed}, ${features}: ${cols[i].name} = ${v} (row ${rows})`,
                );
              }
            }
            // A one-packet flow's first packet is the whole flow, however big (frames past 2^31 too).
            const at = (name: string) => r[cols.findIndex((c) => c.name === name)];
            if (features === "packets" && at("bidirectional_packets") === 1) {
              assert.equal(at("pkt1_bytes"), at("bidirectional_bytes"), `seed ${seed} row ${rows}`);
            }
          },
        });
        assert.ok(rows > 10, `seed ${seed}, ${features}: ${rows} flows`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
