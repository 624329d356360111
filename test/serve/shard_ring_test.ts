import assert from "node:assert/strict";
import { DecodedPacket } from "../../src/capture/decode.ts";
import { forEachPacket } from "../../src/capture/reader.ts";
import { PacketRing } from "../../src/serve/shard_ring.ts";
import { dataPath } from "../_shared.ts";

Deno.test("PacketRing: packets, ticks and caught-up marks come out as they went in, across many wraps of a small ring", async () => {
  const ring = PacketRing.create(65536);
  const reader = PacketRing.attach(ring.buffer);
  const sent: string[] = [], got: string[] = [];
  const pkt = new DecodedPacket();
  const handlers = {
    packet: (p: DecodedPacket) =>
      void got.push(
        `P ${p.tsUs} ${p.wireLen} ${p.capLen} ${p.srcIp}:${p.srcPort}>${p.dstIp}:${p.dstPort} ${p.raw[13]}`,
      ),
    tick: (ts: number, metered: boolean) => void got.push(`T ${ts} ${metered}`),
    caughtUp: (ts: number) => void got.push(`C ${ts}`),
  };
  let pending = 0, bytes = 0;
  await forEachPacket(dataPath("pcaps", "http_espn.pcapng"), (p) => {
    ring.packet(p, p.tsUs);
    bytes += p.capLen;
    sent.push(
      `P ${p.tsUs} ${p.wireLen} ${p.capLen} ${p.srcIp}:${p.srcPort}>${p.dstIp}:${p.dstPort} ${p.raw[13]}`,
    );
    ring.tick(p.tsUs + 1, p.capLen % 2 === 0);
    sent.push(`T ${p.tsUs + 1} ${p.capLen % 2 === 0}`);
    if (p.capLen % 3 === 0) (ring.caughtUp(p.tsUs - 7), sent.push(`C ${p.tsUs - 7}`));
    // Read every few records so the 64 KiB ring never fills (this test has one thread).
    if (++pending === 8) {
      ring.flush();
      while (reader.read(handlers, pkt, 3) > 0) { /* drain */ }
      pending = 0;
    }
  });
  ring.close();
  let n: number;
  while ((n = reader.read(handlers, pkt, 1000)) > 0) assert.ok(n <= 1000);
  assert.equal(n, -1, "closed and drained");
  assert.ok(bytes > 8 * 65536, `enough bytes to wrap the ring many times: ${bytes}`);
  assert.deepEqual(got, sent);
});

Deno.test("PacketRing: an aborted ring stops a blocked writer with an error", () => {
  const ring = PacketRing.create(65536);
  const reader = PacketRing.attach(ring.buffer);
  reader.abort();
  const p = { tsUs: 1, wireLen: 60, capLen: 60, ifIndex: 0, linkType: 1, raw: new Uint8Array(60) };
  assert.throws(() => ring.packet(p as never, 0), /the shard reading this ring stopped/);
});

Deno.test("PacketRing: a record larger than half the ring is refused with its size", () => {
  const ring = PacketRing.create(65536);
  const p = { tsUs: 1, wireLen: 40000, capLen: 40000, ifIndex: 0, linkType: 1, raw: new Uint8Array(40000) };
  assert.throws(() => ring.packet(p as never, 0), /a 40032-byte record does not fit a 65536-byte ring/);
});
