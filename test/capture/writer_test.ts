/**
 * Writers: real captures written back as pcapng and pcap read identically by
 * nadir and by tshark/capinfos; several interfaces; in-memory encoding equals
 * the file; rotation names.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { newStats, readAllPackets } from "../../src/capture/reader.ts";
import { encodeCapture, PcapngWriter, PcapWriter, writePcap } from "../../src/capture/writer.ts";
import { rotatedName } from "../../src/cli/capture.ts";
import { needWireshark, nfstreamPcap, run, tempDir, tsharkFields, vendoredPcaps } from "./_util.ts";
import { testWhen } from "../_shared.ts";

testWhen(
  [needWireshark()],
  "writer: pcapng and pcap round trips of a real capture (nadir and tshark read the same frames)",
  async () => {
    const src = vendoredPcaps().find((f) => f.endsWith("zeek-http-methods.pcap"))!;
    const orig = await readAllPackets(src);
    const { dir, cleanup } = tempDir();
    try {
      for (const fmt of ["pcapng", "pcap"] as const) {
        const out = join(dir, `copy.${fmt}`);
        const n = writePcap(out, orig.map((p) => ({ tsUs: p.tsUs, data: p.raw, wireLen: p.wireLen })), {
          linkType: 1,
        });
        assert.equal(n, orig.length);
        const stats = newStats();
        const back = await readAllPackets(out, { stats });
        assert.equal(stats.format, fmt);
        assert.equal(stats.damaged + stats.truncated, 0);
        assert.equal(back.length, orig.length);
        for (let i = 0; i < orig.length; i++) assert.deepEqual(back[i].toJSON(), orig[i].toJSON());
        const rows = tsharkFields(out, ["frame.len", "frame.cap_len", "frame.time_epoch"]);
        assert.equal(rows.length, orig.length);
        const srcRows = tsharkFields(src, ["frame.len", "frame.cap_len", "frame.time_epoch"]);
        assert.deepEqual(rows, srcRows);
      }
    } finally {
      cleanup();
    }
  },
);

testWhen(
  [needWireshark()],
  "writer: several interfaces with their own link types; capinfos reads the file",
  async () => {
    const eth = await readAllPackets(
      vendoredPcaps().find((f) => f.endsWith("stratosphere-test12-icmp-portscan.pcap"))!,
    );
    const hdlc = await readAllPackets(nfstreamPcap("BGP_redist.pcap"));
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, "multi.pcapng");
      const w = PcapngWriter.create(out, {
        interfaces: [{ linkType: 1, name: "eth0" }, {
          linkType: 104,
          name: "serial0",
          description: "Cisco HDLC",
        }],
        comment: "nadir writer test",
      });
      for (const p of eth) w.writePacket(p.tsUs, p.raw, p.wireLen, 0);
      for (const p of hdlc) w.writePacket(p.tsUs, p.raw, p.wireLen, 1);
      assert.throws(() => w.writePacket(0, new Uint8Array(10), 10, 2), /interface 2 not described/);
      w.close();
      const stats = newStats();
      const back = await readAllPackets(out, { stats });
      assert.equal(stats.interfaces, 2);
      assert.equal(back.length, eth.length + hdlc.length);
      assert.ok(back.slice(eth.length).every((p) => p.ifIndex === 1 && p.linkType === 104));
      assert.deepEqual(back.slice(eth.length).map((p) => p.srcIp), hdlc.map((p) => p.srcIp));
      const info = run("capinfos", ["-c", "-I", out]);
      assert.match(info, new RegExp(`Number of packets:\\s+${eth.length + hdlc.length}`));
      assert.match(info, /Number of interfaces in file: 2/);
    } finally {
      cleanup();
    }
  },
);

Deno.test("writer: in-memory encoding equals the file; pcap truncates to snaplen and keeps the wire length", async () => {
  const pkts = (await readAllPackets(vendoredPcaps().find((f) => f.endsWith("zeek-smtp.pcap"))!)).slice(
    0,
    30,
  );
  const frames = pkts.map((p) => ({ tsUs: p.tsUs, data: p.raw, wireLen: p.wireLen }));
  const { dir, cleanup } = tempDir();
  try {
    for (const format of ["pcap", "pcapng"] as const) {
      const f = join(dir, `x.${format}`);
      writePcap(f, frames, { format });
      assert.deepEqual(encodeCapture(frames, { format }), Deno.readFileSync(f));
    }
    const w = PcapWriter.inMemory({ snaplen: 64 });
    for (const fr of frames) w.writePacket(fr.tsUs, fr.data, fr.wireLen);
    const back: { cap: number; wire: number }[] = [];
    const { parseCaptureBytes } = await import("../../src/capture/reader.ts");
    parseCaptureBytes(w.toBytes(), (p) => {
      back.push({ cap: p.capLen, wire: p.wireLen });
    });
    assert.deepEqual(back, frames.map((fr) => ({ cap: Math.min(64, fr.data.length), wire: fr.wireLen })));
  } finally {
    cleanup();
  }
});

Deno.test("writer: rotation file names", () => {
  assert.equal(rotatedName("/tmp/cap.pcapng", 1), "/tmp/cap-0001.pcapng");
  assert.equal(rotatedName("run.pcap", 12), "run-0012.pcap");
  assert.equal(rotatedName("noext", 3), "noext-0003");
});
