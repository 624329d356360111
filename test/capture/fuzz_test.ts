/**
 * Fuzz: mutate real captures (bit flips, overwritten length fields,
 * truncation, splices of two files, deleted and duplicated ranges) for a
 * bounded number of rounds and a bounded time. Every round must end without
 * a crash (only InputError for an unreadable header is allowed), within a
 * time bound, delivering a plausible number of packets; memory must not grow
 * without bound. Some rounds go through the streaming file reader with a
 * small buffer so resynchronisation across chunk boundaries is exercised.
 * Seeded: a failure prints its round and seed to replay.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { forEachPacket, parseCaptureBytes, type ReadOptions } from "../../src/capture/reader.ts";
import { InputError } from "../../src/util/errors.ts";
import { Rng } from "../../src/util/random.ts";
import { nfstreamPcap, tempDir, vendoredPcaps } from "./_util.ts";

const SEED = Number(Deno.env.get("NADIR_FUZZ_SEED") ?? 20240607);
const MAX_ROUNDS = Number(Deno.env.get("NADIR_FUZZ_ROUNDS") ?? 2000);
const BUDGET_MS = Number(Deno.env.get("NADIR_FUZZ_MS") ?? 8000);
const ROUND_LIMIT_MS = 3000;

function inputs(): Uint8Array[] {
  const names = [
    "zeek-ftp-bruteforce.pcap",
    "sessionhijacking.pcapng",
    "ip_frag_source.pcapng",
    "ipv6_fragments.pcapng",
    "stratosphere-test8-malicious.pcap",
    "http_dvwa_sqlinjection.pcapng",
  ];
  const files = vendoredPcaps().filter((f) => names.some((n) => f.endsWith(n)));
  for (
    const n of [
      "gtp-u.pcap",
      "capwap.pcap",
      "dhcp_big_endian.pcapng",
      "reasm_crash_anon.pcapng",
      "BGP_redist.pcap",
    ]
  ) {
    files.push(nfstreamPcap(n));
  }
  return files.map((f) => Deno.readFileSync(f));
}

type Mutation = (b: Uint8Array, rng: Rng, other: Uint8Array) => Uint8Array;

const MUTATIONS: [string, Mutation][] = [
  ["bitflips", (b, rng) => {
    const out = b.slice();
    const n = 1 + rng.int(64);
    for (let i = 0; i < n; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
    return out;
  }],
  ["length-fields", (b, rng) => {
    // Overwrite aligned 32-bit words (where record/block lengths live) with absurd or small values.
    const out = b.slice();
    const dv = new DataView(out.buffer);
    const n = 1 + rng.int(8);
    const values = [0, 1, 3, 11, 12, 13, 0xffffffff, 0x7fffffff, 0x10000, 262145, 0x0a0d0d0a, 0x1a2b3c4d];
    for (let i = 0; i < n; i++) {
      const o = rng.int(Math.max(1, (out.length >> 2) - 1)) << 2;
      dv.setUint32(o, rng.next() < 0.7 ? values[rng.int(values.length)] : rng.nextUint32(), rng.next() < 0.5);
    }
    return out;
  }],
  ["truncate", (b, rng) => b.slice(0, rng.int(b.length + 1))],
  ["splice", (b, rng, other) => {
    const a = rng.int(b.length + 1), c = rng.int(other.length + 1);
    return new Uint8Array([...b.subarray(0, a), ...other.subarray(c)]);
  }],
  ["insert", (b, rng, other) => {
    const a = rng.int(b.length + 1), s = rng.int(other.length + 1), len = rng.int(4096);
    return new Uint8Array([...b.subarray(0, a), ...other.subarray(s, s + len), ...b.subarray(a)]);
  }],
  ["delete", (b, rng) => {
    const a = rng.int(b.length + 1), len = 1 + rng.int(2048);
    return new Uint8Array([...b.subarray(0, a), ...b.subarray(a + len)]);
  }],
  ["duplicate", (b, rng) => {
    const a = rng.int(b.length + 1), len = 1 + rng.int(4096);
    return new Uint8Array([...b.subarray(0, a + len), ...b.subarray(a)]);
  }],
];

function checkRound(bytes: Uint8Array, opts: ReadOptions): { packets: number; error: boolean } {
  let packets = 0;
  try {
    const st = parseCaptureBytes(bytes, (p) => {
      packets++;
      // Touch every lazily computed field: formatting must not throw either.
      if (p.srcIp.length > 64 || p.dstIp.length > 64) throw new Error("address too long");
      void p.srcMac, p.dstMac, p.raw.length;
      if (p.capLen > bytes.length) throw new Error("capLen beyond input");
    }, opts);
    assert.equal(st.packets, packets);
    return { packets, error: false };
  } catch (e) {
    if (e instanceof InputError) return { packets, error: true };
    throw e;
  }
}

Deno.test("fuzz: mutated real captures never crash, hang or grow memory without bound", async () => {
  const files = inputs();
  assert.ok(files.length >= 4);
  const rng = new Rng(SEED);
  const rss0 = Deno.memoryUsage().rss;
  const t0 = performance.now();
  const { dir, cleanup } = tempDir();
  let rounds = 0, packets = 0, errors = 0, streamed = 0, strictErrors = 0;
  const byMutation: Record<string, number> = {};
  try {
    while (rounds < MAX_ROUNDS && performance.now() - t0 < BUDGET_MS) {
      const i = rng.int(files.length);
      const [name, mutate] = MUTATIONS[rng.int(MUTATIONS.length)];
      const bytes = mutate(files[i], rng, files[rng.int(files.length)]);
      const where = `round ${rounds} (seed ${SEED}, ${name} of input ${i})`;
      const r0 = performance.now();
      let r;
      try {
        r = checkRound(bytes, {});
        // Strict mode must fail only with InputError, never anything else.
        try {
          parseCaptureBytes(bytes, () => {}, { strict: true });
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          strictErrors++;
        }
        if (rounds % 10 === 0) {
          // Streaming path: 64 KiB buffer, damage across chunk boundaries.
          const f = join(dir, `r${rounds}.cap`);
          Deno.writeFileSync(f, bytes);
          try {
            const st = await forEachPacket(f, () => {}, { chunkSize: 64 * 1024 });
            assert.equal(
              st.packets,
              r.error ? st.packets : r.packets,
              `${where}: streaming and in-memory disagree`,
            );
          } catch (e) {
            if (!(e instanceof InputError)) throw e;
          }
          Deno.removeSync(f);
          streamed++;
        }
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).stack}`);
      }
      const ms = performance.now() - r0;
      assert.ok(ms < ROUND_LIMIT_MS, `${where} took ${ms.toFixed(0)} ms`);
      // At most one packet per 16 bytes of input (the smallest pcap record header).
      assert.ok(
        r.packets <= bytes.length / 12 + 1,
        `${where}: ${r.packets} packets from ${bytes.length} bytes`,
      );
      packets += r.packets;
      if (r.error) errors++;
      byMutation[name] = (byMutation[name] ?? 0) + 1;
      rounds++;
    }
  } finally {
    cleanup();
  }
  const grew = (Deno.memoryUsage().rss - rss0) / 1e6;
  console.log(
    `fuzz: ${rounds} rounds in ${((performance.now() - t0) / 1000).toFixed(1)} s (${streamed} streamed), ` +
      `${packets} packets, ${errors} header errors, ${strictErrors} strict stops, rss +${
        grew.toFixed(0)
      } MB, ` +
      JSON.stringify(byMutation),
  );
  assert.ok(rounds >= 50, `only ${rounds} rounds ran`);
  assert.ok(grew < 400, `rss grew ${grew.toFixed(0)} MB`);
});
