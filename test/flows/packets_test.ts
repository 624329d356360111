import assert from "node:assert/strict";
import { meterFile } from "../../src/flows/pipeline.ts";
import { dataPath } from "../_shared.ts";

/** Rows of a capture metered with one feature set, as objects by column name. */
async function rows(file: string, features: "basic" | "packets"): Promise<Record<string, number | string>[]> {
  const out: Record<string, number | string>[] = [];
  await meterFile(file, {
    features,
    onRow: (r, cols) => out.push(Object.fromEntries(cols.map((c, i) => [c.name, r[i]]))),
  });
  return out;
}

// A SYN scan's flows are short enough to check whole; the FTP logins are longer than 8 packets.
for (const [capture, someShort] of [["synscan.pcapng", true], ["zeek-ftp-bruteforce.pcap", false]] as const) {
  Deno.test(`packets feature set: basic columns unchanged, first packets add up (${capture})`, async () => {
    const file = dataPath("pcaps", capture);
    const basic = await rows(file, "basic"), packets = await rows(file, "packets");
    assert.equal(packets.length, basic.length);
    assert.ok(packets.length > 10);
    let short = 0;
    for (let k = 0; k < basic.length; k++) {
      const b = basic[k], p = packets[k];
      for (const [name, v] of Object.entries(b)) assert.equal(p[name], v, `flow ${k} ${name}`);
      const n = Number(b.bidirectional_packets);
      const sizes = Array.from({ length: 8 }, (_, i) => Number(p[`pkt${i + 1}_bytes`]));
      const iats = Array.from({ length: 8 }, (_, i) => Number(p[`pkt${i + 1}_iat_ms`]));
      // As many recorded packets as the flow had (up to 8); the first comes from the initiator.
      assert.equal(sizes.filter((s) => s !== 0).length, Math.min(8, n), `flow ${k}`);
      assert.ok(sizes[0] > 0, `flow ${k}: first packet from the initiator`);
      assert.equal(iats[0], 0);
      assert.equal(
        sizes.filter((s) => s < 0).length,
        Math.min(8, n) - sizes.filter((s) => s > 0).length,
      );
      if (n <= 8) {
        // The whole flow is recorded: sizes add up to its bytes per direction, gaps to its duration.
        short++;
        assert.equal(
          sizes.filter((s) => s > 0).reduce((a, s) => a + s, 0),
          Number(b.src2dst_bytes),
          `flow ${k}`,
        );
        assert.equal(
          sizes.filter((s) => s < 0).reduce((a, s) => a - s, 0),
          Number(b.dst2src_bytes),
          `flow ${k}`,
        );
        const span = iats.reduce((a, v) => a + v, 0);
        assert.ok(Math.abs(span - Number(b.bidirectional_duration_ms)) <= 1, `flow ${k}: ${span} ms`);
      }
    }
    if (someShort) assert.ok(short > 100, `${short} flows short enough to check whole`);
  });
}
