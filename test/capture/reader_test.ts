/**
 * Reader + decoder against tshark on real captures: every vendored pcap and
 * pcapng, the link types and tunnels in the vendored NFStream subset, and
 * variants made from real captures at test time (nanosecond pcap via editcap,
 * big-endian pcap by byte-swapping a real file's headers, pcap versions before
 * 2.3 and the "modified" record format by rewriting a real file's headers,
 * multi-interface and multi-section pcapng via mergecap / concatenation).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type DecodedPacket,
  forEachPacket,
  newStats,
  parseCaptureBytes,
  readAllPackets,
  readPackets,
} from "../../src/capture/reader.ts";
import { formatIpv6, writeIpv6Text } from "../../src/capture/decode.ts";
import {
  epochToUs,
  needWireshark,
  nfstreamPcap,
  run,
  tempDir,
  tsharkFields,
  vendoredPcaps,
} from "./_util.ts";
import { needPrograms, testWhen } from "../_shared.ts";

const FIELDS = [
  "frame.len",
  "frame.cap_len",
  "frame.time_epoch",
  "ip.src",
  "ip.dst",
  "ipv6.src",
  "ipv6.dst",
  "ip.proto",
  "tcp.srcport",
  "tcp.dstport",
  "udp.srcport",
  "udp.dstport",
  "tcp.flags",
  "ip.ttl",
  "vlan.id",
];

interface Cmp {
  frames: number;
  checked: number;
  mismatches: string[];
}

/**
 * Compares decoded packets with tshark's fields. `which` picks the first
 * (outer) or last (innermost) value of multi-valued fields (tunnels, ICMP
 * errors quoting a header).
 */
function compareWithTshark(file: string, pkts: DecodedPacket[], which: "first" | "last" = "first"): Cmp {
  // Outside tunnels, keep tshark from dissecting UDP/TCP payloads (Teredo, VXLAN, ... would add inner headers
  // that NFStream, and so nadir, does not decode).
  const noPayload = ["-d", "udp.port==1-65535,data", "-d", "tcp.port==1-65535,data"];
  const rows = tsharkFields(file, FIELDS, which === "first" ? noPayload : []);
  const mismatches: string[] = [];
  let checked = 0;
  const pick = (v: string) => {
    const parts = v.split(",");
    return which === "first" ? parts[0] : parts[parts.length - 1];
  };
  assert.equal(pkts.length, rows.length, `${file}: packet count vs tshark`);
  for (let i = 0; i < rows.length; i++) {
    const [len, cap, epoch, ipsrc, ipdst, ip6src, ip6dst, proto, tsp, tdp, usp, udp, flags, ttl] = rows[i]
      .map(pick);
    const p = pkts[i];
    const bad = (what: string, want: unknown, got: unknown) =>
      mismatches.push(`${file.split("/").pop()} #${i + 1} ${what}: tshark ${want}, nadir ${got}`);
    // vlanId is the innermost 802.1Q tag (NFStream's flow key), i.e. tshark's last vlan.id.
    const vlans = (rows[i][14] ?? "").split(",");
    if (p.ipVersion && Number(vlans[vlans.length - 1] || 0) !== p.vlanId) bad("vlan", rows[i][14], p.vlanId);
    if (Number(len) !== p.wireLen) bad("frame.len", len, p.wireLen);
    if (Number(cap) !== p.capLen) bad("frame.cap_len", cap, p.capLen);
    if (p.tsUs < 2 ** 53 && epochToUs(epoch) !== p.tsUs) bad("time", epoch, p.tsUs);
    if (ipsrc && ip6src === "") {
      if (p.ipVersion !== 4 || p.srcIp !== ipsrc || p.dstIp !== ipdst) {
        bad("ipv4", `${ipsrc}>${ipdst}`, `${p.srcIp}>${p.dstIp}`);
      }
      if (Number(ttl) !== p.ttl) bad("ttl", ttl, p.ttl);
    } else if (ip6src && ipsrc === "") {
      if (p.ipVersion !== 6 || p.srcIp !== ip6src || p.dstIp !== ip6dst) {
        bad("ipv6", `${ip6src}>${ip6dst}`, `${p.srcIp}>${p.dstIp}`);
      }
    }
    if (!p.laterFragment && p.ipVersion) {
      if (Number(proto) === 6 && tsp && p.protocol === 6) {
        if (Number(tsp) !== p.srcPort || Number(tdp) !== p.dstPort) {
          bad("tcp ports", `${tsp}>${tdp}`, `${p.srcPort}>${p.dstPort}`);
        }
        // tshark's tcp.flags also holds the 3 reserved bits (and AE); nadir keeps CWR..FIN + NS (bit 8).
        if (flags && (Number(flags) & 0x1ff) !== p.tcpFlags) bad("tcp flags", flags, p.tcpFlags);
      }
      if (Number(proto) === 17 && usp && p.protocol === 17) {
        if (Number(usp) !== p.srcPort || Number(udp) !== p.dstPort) {
          bad("udp ports", `${usp}>${udp}`, `${p.srcPort}>${p.dstPort}`);
        }
      }
    }
    checked++;
  }
  return { frames: rows.length, checked, mismatches };
}

testWhen(
  [needWireshark()],
  "reader: every vendored pcap/pcapng matches tshark (lengths, time, addresses, ports, flags, ttl)",
  async () => {
    // One tshark run over all files (mergecap -a keeps file order) instead of one per file: tshark's start-up
    // dominates on small files.
    const { dir, cleanup } = tempDir();
    try {
      const files = vendoredPcaps();
      const all: DecodedPacket[] = [];
      for (const f of files) {
        const stats = newStats();
        all.push(...await readAllPackets(f, { stats }));
        assert.equal(stats.damaged + stats.truncated, 0, f);
      }
      const merged = join(dir, "all.pcapng");
      run("mergecap", ["-a", "-w", merged, ...files]);
      const c = compareWithTshark(merged, all);
      console.log(
        `reader vs tshark: ${c.frames} frames in ${files.length} files, ${c.mismatches.length} mismatching fields`,
      );
      assert.deepEqual(c.mismatches.slice(0, 10), []);
      assert.ok(c.frames > 10000);
    } finally {
      cleanup();
    }
  },
);

testWhen(
  [needWireshark()],
  "reader: link types (PPP, Cisco HDLC, BSD null, raw IP, Linux SLL) and big-endian pcapng match tshark",
  async () => {
    const names = [
      ["BGP_Cisco_hdlc_slarp.pcap", 9],
      ["BGP_redist.pcap", 104],
      ["dlt_ppp.pcap", 9],
      ["nats.pcap", 0],
      ["selfsigned.pcap", 0],
      ["raw.pcap", 101],
      ["reasm_crash_anon.pcapng", 113],
      ["dhcp_big_endian.pcapng", 1],
      ["dhcp_little_endian.pcapng", 1],
    ] as const;
    const files: string[] = [];
    const all: DecodedPacket[] = [];
    for (const [name, lt] of names) {
      const f = nfstreamPcap(name);
      const stats = newStats();
      const pkts = await readAllPackets(f, { stats });
      assert.ok(pkts.length > 0, name);
      assert.equal(pkts[0].linkType, lt, `${name}: link type`);
      assert.ok(pkts.some((p) => p.ipVersion !== 0), `${name}: decodes IP`);
      assert.equal(stats.damaged, 0);
      files.push(f);
      all.push(...pkts);
    }
    const { dir, cleanup } = tempDir();
    try {
      const merged = join(dir, "linktypes.pcapng");
      run("mergecap", ["-a", "-w", merged, ...files]);
      assert.deepEqual(compareWithTshark(merged, all).mismatches.slice(0, 5), []);
    } finally {
      cleanup();
    }
  },
);

testWhen(
  [needWireshark()],
  "decoder: tunnels give the inner packet (GTP-U, 4in6, 6in4) as tshark's innermost header",
  async () => {
    for (
      const [name, tunnel] of [["gtp-u.pcap", 1], ["4in6tunnel.pcap", 0], ["6in4tunnel.pcap", 0]] as const
    ) {
      const f = nfstreamPcap(name);
      const pkts = await readAllPackets(f);
      const c = compareWithTshark(f, pkts, "last");
      assert.deepEqual(c.mismatches.slice(0, 5), [], name);
      assert.ok(pkts.every((p) => p.tunnelId === tunnel), `${name}: tunnelId ${tunnel}`);
    }
    const pkts = await readAllPackets(nfstreamPcap("gtp-u.pcap"));
    // Inner ICMP echo, not the outer UDP 2152.
    assert.ok(
      pkts.every((p) => p.protocol === 1 && p.srcPort === 0 && (p.icmpType === 0 || p.icmpType === 8)),
    );
  },
);

Deno.test("decoder: CAPWAP data frames (UDP 5247) are decoded to the 802.11 payload with tunnelId 2", async () => {
  const f = nfstreamPcap("capwap.pcap");
  const pkts = await readAllPackets(f);
  const inner = pkts.filter((p) => p.tunnelId === 2 && p.meterable);
  assert.ok(inner.some((p) => p.protocol === 17 && p.dstPort === 67), "DHCP inside CAPWAP");
  assert.ok(inner.some((p) => p.ipVersion === 6 && p.protocol === 58), "ICMPv6 inside CAPWAP");
  // 802.11 addresses become the MACs.
  const dhcp = inner.find((p) => p.dstPort === 67)!;
  assert.match(dhcp.srcMac!, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  // Control traffic on 5246 is not a tunnel.
  assert.ok(pkts.some((p) => p.tunnelId === 0 && (p.dstPort === 5246 || p.srcPort === 5246)));
});

testWhen(
  [needWireshark()],
  "reader: nanosecond pcap (editcap -F nsecpcap) and pcapng with if_tsresol=9 read like the original",
  async () => {
    const { dir, cleanup } = tempDir();
    try {
      const src = vendoredPcaps().find((f) => f.endsWith("zeek-smtp.pcap"))!;
      const ns = join(dir, "ns.pcap");
      const ngns = join(dir, "ns.pcapng");
      run("editcap", ["-F", "nsecpcap", src, ns]);
      run("editcap", ["-F", "pcapng", ns, ngns]);
      const a = await readAllPackets(src);
      for (const f of [ns, ngns]) {
        const stats = newStats();
        const b = await readAllPackets(f, { stats });
        assert.equal(b.length, a.length);
        for (let i = 0; i < a.length; i++) {
          assert.equal(b[i].tsUs, a[i].tsUs, `${f} #${i + 1} ts`);
          assert.deepEqual(b[i].raw, a[i].raw);
        }
        assert.equal(stats.format, f.endsWith(".pcap") ? "pcap-ns" : "pcapng");
      }
    } finally {
      cleanup();
    }
  },
);

/** Rewrites a little-endian µs pcap as big-endian (header and record headers swapped; frames unchanged). */
function toBigEndian(le: Uint8Array): Uint8Array {
  const out = le.slice();
  const a = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const b = new DataView(out.buffer);
  assert.equal(a.getUint32(0, true), 0xa1b2c3d4);
  b.setUint32(0, 0xa1b2c3d4, false);
  b.setUint16(4, a.getUint16(4, true), false);
  b.setUint16(6, a.getUint16(6, true), false);
  for (const o of [8, 12, 16, 20]) b.setUint32(o, a.getUint32(o, true), false);
  let p = 24;
  while (p + 16 <= le.length) {
    const cap = a.getUint32(p + 8, true);
    for (const o of [0, 4, 8, 12]) b.setUint32(p + o, a.getUint32(p + o, true), false);
    p += 16 + cap;
  }
  return out;
}

testWhen(
  [needWireshark()],
  "reader: big-endian pcap (a real capture with swapped headers) reads like the original; tshark agrees",
  async () => {
    const { dir, cleanup } = tempDir();
    try {
      const src = vendoredPcaps().find((f) => f.endsWith("zeek-ftp-bruteforce.pcap"))!;
      const be = join(dir, "be.pcap");
      Deno.writeFileSync(be, toBigEndian(Deno.readFileSync(src)));
      const a = await readAllPackets(src);
      const b = await readAllPackets(be);
      assert.equal(b.length, a.length);
      for (let i = 0; i < a.length; i++) assert.deepEqual(b[i].toJSON(), a[i].toJSON());
      assert.deepEqual(compareWithTshark(be, b).mismatches.slice(0, 5), []);
    } finally {
      cleanup();
    }
  },
);

/**
 * A real little-endian µs pcap with every record cut to `snap` captured bytes (caplen = min(len, snap), len
 * kept, header snaplen `snap`), as `tcpdump -s` or `editcap -s` writes it. Derived, because no vendored
 * capture has a record whose captured length differs from its original length, and only unequal lengths show
 * whether a reader swapped them.
 */
function cutPcap(le: Uint8Array, snap: number): Uint8Array {
  const a = new DataView(le.buffer, le.byteOffset, le.byteLength);
  assert.equal(a.getUint32(0, true), 0xa1b2c3d4, "a little-endian µs pcap");
  const parts: Uint8Array[] = [le.slice(0, 24)];
  new DataView(parts[0].buffer).setUint32(16, snap, true);
  for (let p = 24; p + 16 <= le.length;) {
    const cap = a.getUint32(p + 8, true), keep = Math.min(cap, snap);
    const rec = le.slice(p, p + 16 + keep);
    new DataView(rec.buffer).setUint32(8, keep, true);
    parts.push(rec);
    p += 16 + cap;
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of parts) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/**
 * Rewrites a little-endian pcap as version `major.minor`, its record i holding len before caplen (the order
 * before 2.3) where `swapped(i)`, and with `modified`, in Kuznetzov's 24-byte record format (magic
 * a1b2cd34; interface index 7, protocol 0x0800, packet type 4 after the lengths).
 */
function oldPcap(
  le: Uint8Array,
  major: number,
  minor: number,
  swapped: (i: number) => boolean,
  modified = false,
): Uint8Array {
  const a = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const head = le.slice(0, 24), hv = new DataView(head.buffer);
  hv.setUint16(4, major, true);
  hv.setUint16(6, minor, true);
  if (modified) hv.setUint32(0, 0xa1b2cd34, true);
  const parts = [head];
  for (let p = 24, i = 0; p + 16 <= le.length; i++) {
    const cap = a.getUint32(p + 8, true), len = a.getUint32(p + 12, true);
    const rec = new Uint8Array((modified ? 24 : 16) + cap), rv = new DataView(rec.buffer);
    rec.set(le.subarray(p, p + 8));
    rv.setUint32(8, swapped(i) ? len : cap, true);
    rv.setUint32(12, swapped(i) ? cap : len, true);
    if (modified) {
      rv.setUint32(16, 7, true);
      rv.setUint16(20, 0x0800, true);
      rv.setUint8(22, 4);
    }
    rec.set(le.subarray(p + 16, p + 16 + cap), rec.length - cap);
    parts.push(rec);
    p += 16 + cap;
  }
  return concat(parts);
}

function readBytes(b: Uint8Array): { pkts: DecodedPacket[]; stats: ReturnType<typeof newStats> } {
  const pkts: DecodedPacket[] = [];
  const stats = parseCaptureBytes(b, (p) => {
    pkts.push(p.clone());
  });
  return { pkts, stats };
}

/** The pcap variants of the length-order tests: [name, bytes], each meant to read like the cut original. */
function oldPcapVariants(cut: Uint8Array): [string, Uint8Array][] {
  const all = () => true;
  return [
    ["2.2", oldPcap(cut, 2, 2, all)],
    ["2.0", oldPcap(cut, 2, 0, all)],
    ["543.0 (DG/UX)", oldPcap(cut, 543, 0, all)],
    // 2.3: some writers kept the old order, so records of both orders occur; every other one here.
    ["2.3, every other record in the old order", oldPcap(cut, 2, 3, (i) => i % 2 === 0)],
    ["modified 2.4", oldPcap(cut, 2, 4, () => false, true)],
    ["modified 2.2", oldPcap(cut, 2, 2, all, true)],
  ];
}

const LENGTH_ORDER_SRC = "stratosphere-test7-malicious.pcap";

Deno.test("reader: pcap versions before 2.3 and 543.0 hold len before caplen and are swapped back as libpcap does (2.3 only where caplen > len)", () => {
  const src = Deno.readFileSync(vendoredPcaps().find((f) => f.endsWith(LENGTH_ORDER_SRC))!);
  const cut = cutPcap(src, 96);
  const ref = readBytes(cut);
  const short = ref.pkts.findIndex((p) => p.capLen < p.wireLen);
  assert.ok(ref.pkts.filter((p) => p.capLen < p.wireLen).length > 100, "the cut capture has short records");
  assert.deepEqual(ref.stats.warnings, []);
  for (const [name, bytes] of oldPcapVariants(cut)) {
    const { pkts, stats } = readBytes(bytes);
    assert.equal(pkts.length, ref.pkts.length, name);
    for (let i = 0; i < pkts.length; i++) {
      assert.deepEqual(pkts[i].toJSON(), ref.pkts[i].toJSON(), `${name} #${i + 1}`);
      assert.deepEqual(pkts[i].raw, ref.pkts[i].raw, `${name} #${i + 1}`);
    }
    // libpcap reads these versions: nothing to warn about.
    assert.deepEqual(stats.warnings, [], name);
    assert.equal(stats.badHeaders + stats.damaged + stats.capOverWire, 0, name);
    assert.equal(stats.format, name.startsWith("modified") ? "pcap-modified" : "pcap", name);
  }
  // Before 2.3 libpcap swaps unconditionally, even where that makes caplen exceed len: a 2.2 file whose
  // records are in the 2.4 order reads the first short record with caplen = its original length (and then
  // out of step, as libpcap does). A 2.4 file is never swapped: old-order records stay as written.
  const w = ref.pkts[short].wireLen;
  for (
    const [name, bytes] of [
      ["2.2 in the 2.4 order", oldPcap(cut, 2, 2, () => false)],
      ["2.4 in the old order", oldPcap(cut, 2, 4, () => true)],
    ] as const
  ) {
    const { pkts } = readBytes(bytes);
    for (let i = 0; i < short; i++) {
      assert.deepEqual(pkts[i].toJSON(), ref.pkts[i].toJSON(), `${name} #${i + 1}`);
    }
    assert.deepEqual([pkts[short].capLen, pkts[short].wireLen], [w, 96], name);
  }
});

testWhen(
  [needPrograms("tshark")],
  "reader: pcap versions before 2.3, 2.3 with both orders, 543.0 and the modified format: tshark reads the same lengths",
  () => {
    const { dir, cleanup } = tempDir();
    try {
      const src = Deno.readFileSync(vendoredPcaps().find((f) => f.endsWith(LENGTH_ORDER_SRC))!);
      const cut = cutPcap(src, 96);
      const fields = ["frame.len", "frame.cap_len", "frame.time_epoch"];
      const lengths = (pkts: DecodedPacket[]) => pkts.map((p) => [p.wireLen, p.capLen, p.tsUs]);
      const tshark = (rows: string[][]) =>
        rows.map(([len, cap, t]) => [Number(len), Number(cap), epochToUs(t)]);
      for (const [i, [name, bytes]] of oldPcapVariants(cut).entries()) {
        const f = join(dir, `v${i}.pcap`);
        Deno.writeFileSync(f, bytes);
        const mine = lengths(readBytes(bytes).pkts);
        assert.deepEqual(tshark(tsharkFields(f, fields)), mine, name);
        assert.ok(mine.some(([len, cap]) => cap < len), name);
      }
      // tshark too swaps a 2.2 file's lengths unconditionally: records in the 2.4 order come out with caplen >
      // len at the first short record, then the file is out of step (tshark fails; compare up to there).
      const f = join(dir, "v22-in-24-order.pcap");
      const bytes = oldPcap(cut, 2, 2, () => false);
      Deno.writeFileSync(f, bytes);
      const r = new Deno.Command("tshark", {
        args: ["-r", f, "-T", "fields", ...fields.flatMap((x) => ["-e", x])],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      const rows = new TextDecoder().decode(r.stdout).split("\n").filter((l) => l).map((l) => l.split("\t"));
      const mine = lengths(readBytes(bytes).pkts);
      const short = mine.findIndex(([len, cap]) => cap > len);
      assert.ok(short > 0 && rows.length > short, `tshark read ${rows.length} rows`);
      assert.deepEqual(tshark(rows.slice(0, short + 1)), mine.slice(0, short + 1));
    } finally {
      cleanup();
    }
  },
);

testWhen(
  [needWireshark()],
  "reader: multi-interface pcapng (mergecap of Ethernet + Cisco HDLC + raw IP) and multi-section pcapng",
  async () => {
    const { dir, cleanup } = tempDir();
    try {
      const eth = vendoredPcaps().find((f) => f.endsWith("stratosphere-test12-icmp-portscan.pcap"))!;
      const others = [nfstreamPcap("BGP_redist.pcap"), nfstreamPcap("raw.pcap")];
      const merged = join(dir, "merged.pcapng");
      run("mergecap", ["-w", merged, eth, ...others]);
      const stats = newStats();
      const pkts = await readAllPackets(merged, { stats });
      assert.equal(stats.interfaces, 1 + others.length);
      assert.deepEqual(new Set(pkts.map((p) => p.ifIndex)).size, 1 + others.length);
      assert.deepEqual(compareWithTshark(merged, pkts).mismatches.slice(0, 5), []);
      // Two sections: a µs pcapng followed by a ns pcapng (different if_tsresol), one file.
      const ng = join(dir, "us.pcapng"),
        ngns = join(dir, "ns.pcapng"),
        both = join(dir, "two-sections.pcapng");
      run("editcap", ["-F", "pcapng", eth, ng]);
      run("editcap", ["-F", "nsecpcap", eth, join(dir, "ns.pcap")]);
      run("editcap", ["-F", "pcapng", join(dir, "ns.pcap"), ngns]);
      const bytes = new Uint8Array([...Deno.readFileSync(ng), ...Deno.readFileSync(ngns)]);
      Deno.writeFileSync(both, bytes);
      const s2 = newStats();
      const two = await readAllPackets(both, { stats: s2 });
      const one = await readAllPackets(eth);
      assert.equal(s2.sections, 2);
      assert.equal(two.length, 2 * one.length);
      for (let i = 0; i < one.length; i++) {
        assert.equal(two[i].tsUs, one[i].tsUs);
        assert.equal(two[i + one.length].tsUs, one[i].tsUs);
      }
    } finally {
      cleanup();
    }
  },
);

Deno.test("reader: small chunks, readPackets and forEachPacket agree; stop early; a big file streams in bounded memory", async () => {
  const f = vendoredPcaps().find((x) => x.endsWith("zeek-ssh-ssh.pcap"))!;
  const a = await readAllPackets(f);
  const b: DecodedPacket[] = [];
  const stats = newStats();
  for await (const p of readPackets(f, { chunkSize: 64 * 1024, stats })) b.push(p);
  assert.equal(b.length, a.length);
  assert.equal(stats.packets, a.length);
  for (let i = 0; i < a.length; i += 97) assert.deepEqual(b[i].toJSON(), a[i].toJSON());
  let n = 0;
  const st = await forEachPacket(f, () => ++n < 10);
  assert.equal(n, 10);
  assert.equal(st.packets, 10);
  // Concatenate the file 40× (~53 MB) and read it with a 64 KiB buffer: memory must not grow with the file.
  const { dir, cleanup } = tempDir();
  try {
    const one = Deno.readFileSync(f);
    const big = join(dir, "big.pcap");
    const fh = Deno.openSync(big, { write: true, create: true });
    fh.writeSync(one);
    for (let i = 1; i < 40; i++) fh.writeSync(one.subarray(24));
    fh.close();
    // This isolate's heap and external buffers, not the process RSS: --parallel runs other test files
    // in the same process, and their memory is not this reader's.
    const used = () => {
      const m = Deno.memoryUsage();
      return m.heapUsed + m.external;
    };
    const base = used();
    let peak = 0, k = 0;
    const s = await forEachPacket(big, () => {
      if (++k % 2000 === 0) peak = Math.max(peak, used() - base);
    }, { chunkSize: 64 * 1024 });
    assert.equal(s.packets, 40 * a.length);
    assert.ok(k >= 2000, "sampled during the read");
    assert.ok(peak < 40e6, `memory grew ${(peak / 1e6).toFixed(1)} MB while reading a 53 MB file`);
  } finally {
    cleanup();
  }
});

Deno.test("reader: records cut by chunk ends, one longer than the carry headroom and many chunks, read whole", async () => {
  // A record longer than 256 KiB (the room kept before each chunk for a record cut in two) read in 64 KiB
  // chunks: it is joined across 10 reads. Hand-written: no real capture here has records this long.
  const { dir, cleanup } = tempDir();
  try {
    const sizes = [60, 640 * 1024, 1514, 70_000, 60];
    const hdr = new Uint8Array(24);
    const hv = new DataView(hdr.buffer);
    hv.setUint32(0, 0xa1b2c3d4, true), hv.setUint16(4, 2, true), hv.setUint16(6, 4, true);
    hv.setUint32(16, 1 << 20, true), hv.setUint32(20, 1, true);
    const parts: Uint8Array[] = [hdr];
    sizes.forEach((n, i) => {
      const rec = new Uint8Array(16 + n), rv = new DataView(rec.buffer);
      rv.setUint32(0, 1_700_000_000 + i, true), rv.setUint32(8, n, true), rv.setUint32(12, n, true);
      for (let k = 0; k < n; k++) rec[16 + k] = (k * 31 + i) & 255;
      parts.push(rec);
    });
    const f = join(dir, "long.pcap");
    Deno.writeFileSync(f, new Uint8Array(parts.flatMap((p) => [...p])));
    const got: { ts: number; bytes: Uint8Array; at: number }[] = [];
    const st = await forEachPacket(f, (p) => {
      got.push({ ts: p.tsUs, bytes: p.raw.slice(), at: p.fileOffset });
    }, { chunkSize: 64 * 1024, maxPacketBytes: 1 << 20 });
    assert.equal(st.packets, sizes.length);
    let at = 24;
    got.forEach((g, i) => {
      assert.equal(g.ts, (1_700_000_000 + i) * 1e6);
      assert.equal(g.at, at, `record ${i} offset`);
      assert.deepEqual(g.bytes, parts[i + 1].subarray(16), `record ${i} bytes`);
      at += 16 + sizes[i];
    });
    // A consumer that stops iterating while the next chunk is being read: the read is let finish before
    // the file is closed (an unheard failure would end this test as an uncaught error).
    let k = 0;
    for await (const _ of readPackets(f, { chunkSize: 64 * 1024, maxPacketBytes: 1 << 20 })) {
      if (++k === 2) break;
    }
    assert.equal(k, 2);
  } finally {
    cleanup();
  }
});

Deno.test("decoder: IPv6 formatting follows inet_ntop (RFC 5952)", () => {
  const b = (hex: string) => Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16)));
  assert.equal(formatIpv6(b("20010db8000000000000000000000001"), 0), "2001:db8::1");
  assert.equal(formatIpv6(b("00000000000000000000000000000000"), 0), "::");
  assert.equal(formatIpv6(b("fe800000000000000000000000000001"), 0), "fe80::1");
  assert.equal(formatIpv6(b("20010db8000100000001000000000001"), 0), "2001:db8:1:0:1::1");
  assert.equal(formatIpv6(b("00000000000000000000ffffc0000201"), 0), "::ffff:192.0.2.1");
  assert.equal(formatIpv6(b("20010db8000000010000000000000000"), 0), "2001:db8:0:1::");
});

Deno.test("decoder: IPv6 text equals the C library's inet_ntop on 3,000 seeded addresses", async () => {
  // Groups are zero half the time, so runs of every length and position occur, with the IPv4-mapped and
  // IPv4-compatible prefixes forced in some; Python's socket.inet_ntop is the C library's.
  let seed = 2026;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const addrs: Uint8Array[] = [];
  for (let k = 0; k < 3000; k++) {
    const a = new Uint8Array(16);
    for (let g = 0; g < 8; g++) {
      if (rand() < 0.5) continue;
      const v = rand() < 0.3 ? Math.floor(rand() * 16) : Math.floor(rand() * 65536);
      a[2 * g] = v >> 8, a[2 * g + 1] = v & 255;
    }
    if (k % 10 === 0) a.fill(0, 0, 10), a[10] = a[11] = 255;
    if (k % 10 === 1) a.fill(0, 0, 12);
    addrs.push(a);
  }
  const hex = addrs.map((a) => [...a].map((x) => x.toString(16).padStart(2, "0")).join(""));
  const py = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import socket,sys\nfor l in sys.stdin: print(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(l.strip())))",
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = py.stdin.getWriter();
  await w.write(new TextEncoder().encode(hex.join("\n") + "\n"));
  await w.close();
  const out = await py.output();
  assert.equal(out.code, 0);
  const want = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
  assert.equal(want.length, addrs.length);
  const bytes = new Uint8Array(64);
  for (let k = 0; k < addrs.length; k++) {
    assert.equal(formatIpv6(addrs[k], 0), want[k], hex[k]);
    const dv = new DataView(addrs[k].buffer);
    const n = writeIpv6Text(bytes, 3, dv.getInt32(0), dv.getInt32(4), dv.getInt32(8), dv.getInt32(12));
    assert.equal(new TextDecoder().decode(bytes.subarray(3, n)), want[k], hex[k]);
  }
});

Deno.test("decoder: IPv4 fragments (ip_frag_source) and IPv6 fragments are flagged; later fragments carry no ports", async () => {
  const v4 = await readAllPackets(vendoredPcaps().find((f) => f.endsWith("ip_frag_source.pcapng"))!);
  assert.ok(v4.some((p) => p.fragment && !p.laterFragment && p.ipVersion === 4));
  const later4 = v4.filter((p) => p.laterFragment);
  assert.ok(later4.length > 0);
  assert.ok(later4.every((p) => p.srcPort === 0 && p.dstPort === 0 && p.meterable === false));
  const v6 = await readAllPackets(vendoredPcaps().find((f) => f.endsWith("ipv6_fragments.pcapng"))!);
  const frag6 = v6.filter((p) => p.ipVersion === 6 && p.fragment);
  assert.ok(frag6.some((p) => !p.laterFragment) && frag6.some((p) => p.laterFragment));
  assert.ok(frag6.filter((p) => p.laterFragment).every((p) => p.srcPort === 0));
});

testWhen(
  [needWireshark()],
  "decoder: 802.1Q VLAN on real captures (mongodb, cpha) matches tshark; vlanId is the innermost tag",
  async () => {
    for (const name of ["mongodb.pcap", "cpha.pcap"]) {
      const f = nfstreamPcap(name);
      const pkts = await readAllPackets(f);
      assert.ok(pkts.filter((p) => p.vlanId !== 0).length > 0, name);
      assert.deepEqual(compareWithTshark(f, pkts).mismatches.slice(0, 5), [], name);
    }
  },
);

/**
 * Derived captures (no real file here has QinQ, PPPoE or MPLS over Ethernet): real Ethernet frames with a
 * header stack inserted after the MAC addresses. tshark is the judge of what the result means.
 */
testWhen(
  [needWireshark()],
  "decoder: QinQ (0x88a8 + 0x8100), MPLS label stack and PPPoE session inserted into real frames",
  async () => {
    const src = vendoredPcaps().find((f) => f.endsWith("zeek-http-bro.org.pcap"))!;
    const orig = (await readAllPackets(src)).slice(0, 200);
    const stacks: [string, (frame: Uint8Array) => number[], number][] = [
      ["qinq", () => [0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00], 200],
      ["mpls", () => [0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40], 0],
      ["pppoe", (fr) => {
        const plen = fr.length - 14 + 2;
        return [0x88, 0x64, 0x11, 0x00, 0x12, 0x34, plen >> 8, plen & 0xff, 0x00, 0x21];
      }, 0],
    ];
    const { dir, cleanup } = tempDir();
    try {
      for (const [name, stack, vlan] of stacks) {
        const frames = orig.map((p) => {
          const r = p.raw;
          if (p.ipVersion !== 4) return r;
          // MAC addresses, the inserted stack (which ends with its own type field), then the IP packet.
          return new Uint8Array([...r.subarray(0, 12), ...stack(r), ...r.subarray(14)]);
        });
        const f = join(dir, `${name}.pcap`);
        const { writePcap } = await import("../../src/capture/writer.ts");
        writePcap(f, frames.map((data, i) => ({ tsUs: orig[i].tsUs, data })));
        const pkts = await readAllPackets(f);
        assert.deepEqual(compareWithTshark(f, pkts).mismatches.slice(0, 5), [], name);
        const ip = pkts.filter((p) => p.ipVersion === 4);
        assert.equal(ip.length, orig.filter((p) => p.ipVersion === 4).length, name);
        assert.ok(ip.every((p) => p.vlanId === vlan && p.meterable), name);
        assert.deepEqual(
          ip.map((p) => p.srcPort),
          orig.filter((p) => p.ipVersion === 4).map((p) => p.srcPort),
        );
      }
    } finally {
      cleanup();
    }
  },
);

/** pcapng Simple and obsolete Packet blocks: no tool here writes them, so they are built from real frames. */
Deno.test("reader: pcapng Simple Packet and obsolete Packet blocks (built from real frames) read like EPBs", async () => {
  const src = vendoredPcaps().find((f) => f.endsWith("zeek-smtp.pcap"))!;
  const orig = (await readAllPackets(src)).slice(0, 50);
  const { PcapngWriter } = await import("../../src/capture/writer.ts");
  const head = PcapngWriter.inMemory({ linkType: 1, snaplen: 262144 }).toBytes();
  const blocks: Uint8Array[] = [head];
  for (const [i, p] of orig.entries()) {
    const cap = p.capLen, pad = (cap + 3) & ~3;
    if (i % 2 === 0) { // SPB: type 3, original length, data
      const b = new Uint8Array(16 + pad);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, 3, true);
      dv.setUint32(4, b.length, true);
      dv.setUint32(8, p.wireLen, true);
      b.set(p.raw, 12);
      dv.setUint32(b.length - 4, b.length, true);
      blocks.push(b);
    } else { // OPB: type 2, interface 16 bits, drops 16 bits, timestamp, lengths, data
      const b = new Uint8Array(32 + pad);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, 2, true);
      dv.setUint32(4, b.length, true);
      dv.setUint16(8, 0, true);
      dv.setUint32(12, Math.floor(p.tsUs / 2 ** 32), true);
      dv.setUint32(16, p.tsUs % 2 ** 32, true);
      dv.setUint32(20, cap, true);
      dv.setUint32(24, p.wireLen, true);
      b.set(p.raw, 28);
      dv.setUint32(b.length - 4, b.length, true);
      blocks.push(b);
    }
  }
  const all = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    all.set(b, o);
    o += b.length;
  }
  const back: DecodedPacket[] = [];
  const { parseCaptureBytes } = await import("../../src/capture/reader.ts");
  const stats = parseCaptureBytes(all, (p) => {
    back.push(p.clone());
  });
  assert.equal(stats.damaged, 0);
  assert.equal(back.length, orig.length);
  for (let i = 0; i < orig.length; i++) {
    assert.deepEqual(back[i].raw, orig[i].raw);
    assert.equal(back[i].srcIp, orig[i].srcIp);
    assert.equal(back[i].tsUs, i % 2 === 0 ? 0 : orig[i].tsUs); // SPBs carry no timestamp
  }
});
