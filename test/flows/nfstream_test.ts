import assert from "node:assert/strict";
import { join } from "node:path";
import { dataPath, needShared, ROOT, sharedPath, testWhen } from "../_shared.ts";
import { describeDiffs, matchAll, type MatchSummary } from "../../src/flows/nfstream_check.ts";

function report(what: string, s: MatchSummary): void {
  console.log(
    `${what}: ${s.matched}/${s.expected + s.produced - s.matched} flows equal (${
      (100 * s.rate).toFixed(2)
    } %) ` +
      `over ${s.captures} captures (NFStream ${s.expected} flows, nadir ${s.produced})` +
      (s.differing.length ? `; differing captures:\n${describeDiffs(s)}` : ""),
  );
}

Deno.test("flows: (packets, bytes) multiset equals NFStream's on the vendored captures", async () => {
  const s = await matchAll(dataPath("nfstream"));
  report("vendored", s);
  assert.ok(s.captures >= 90, `expected the vendored subset in data/nfstream, found ${s.captures} captures`);
  assert.ok(s.rate >= 0.99, `match rate ${(100 * s.rate).toFixed(2)} % < 99 %`);
});

testWhen(
  [needShared("NFStream ground truth (147 captures)", "nfstream")],
  "flows: (packets, bytes) multiset equals NFStream's on all 147 shared captures",
  async () => {
    const s = await matchAll(sharedPath("nfstream"));
    report("all shared", s);
    assert.equal(s.captures, 147);
    assert.ok(s.rate >= 0.99, `match rate ${(100 * s.rate).toFixed(2)} % < 99 %`);
    // The README quotes this figure; it must be the one measured here.
    const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
    const quoted = /<!-- nfstream-match -->(.*?)<!-- \/nfstream-match -->/.exec(readme)?.[1];
    const fmt = (n: number) => n.toLocaleString("en-US");
    const measured = `${fmt(s.matched)} of ${fmt(s.expected + s.produced - s.matched)}`;
    assert.equal(
      quoted,
      measured,
      "README.md quotes a stale NFStream match: update the nfstream-match figure",
    );
  },
);

Deno.test("flows: capwap.pcap equals NFStream exactly (non-IPv4 LLC type with a too-long garbage IPv4 header is dropped)", async () => {
  const s = await matchAll(dataPath("nfstream"));
  const capwap = s.differing.find((d) => d.name.includes("capwap"));
  assert.equal(capwap, undefined, `capwap.pcap differs from NFStream:\n${describeDiffs(s)}`);
  assert.equal(s.matched, s.expected, "every vendored NFStream flow is produced");
  assert.equal(s.produced, s.expected, "no extra flows on the vendored captures");
});
