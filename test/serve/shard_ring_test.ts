import assert from "node:assert/strict";
import { DecodedPacket, decodeFrame } from "../../src/capture/decode.ts";
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

Deno.test("PacketRing: frames come out whole, at their source's address modulo 8 (V8 copies shared memory word by word only then)", async () => {
  const ring = PacketRing.create(65536);
  const reader = PacketRing.attach(ring.buffer);
  const pkt = new DecodedPacket();
  const sent: { bytes: Uint8Array; shift: number }[] = [];
  const got: { bytes: Uint8Array; shift: number }[] = [];
  const handlers = {
    packet: (p: DecodedPacket) => void got.push({ bytes: p.raw.slice(), shift: p.raw.byteOffset & 7 }),
    tick: () => {},
  };
  // A real capture's frames, each decoded again from a copy placed at the next alignment modulo 8.
  const frames: { raw: Uint8Array; tsUs: number; linkType: number }[] = [];
  await forEachPacket(dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), (p) => {
    frames.push({ raw: p.raw.slice(), tsUs: p.tsUs, linkType: p.linkType });
  });
  const src = new DecodedPacket();
  frames.forEach((f, i) => {
    const shift = i % 8, buf = new Uint8Array(f.raw.length + 8);
    buf.set(f.raw, shift);
    decodeFrame(src, buf, shift, f.raw.length, f.linkType);
    src.tsUs = f.tsUs;
    src.wireLen = f.raw.length;
    ring.packet(src, f.tsUs);
    sent.push({ bytes: f.raw, shift: (buf.byteOffset + shift) & 7 });
    if (i % 4 === 3) {
      ring.flush();
      while (reader.read(handlers, pkt, 16) > 0) { /* drain */ }
    }
  });
  ring.close();
  while (reader.read(handlers, pkt, 1000) > 0) { /* drain */ }
  assert.equal(got.length, sent.length);
  assert.deepEqual(new Set(sent.map((s) => s.shift)).size, 8, "every alignment was sent");
  got.forEach((g, i) => {
    assert.deepEqual(g.bytes, sent[i].bytes, `frame ${i}`);
    assert.equal(g.shift, sent[i].shift, `frame ${i} alignment`);
  });
});
