import assert from "node:assert/strict";
import { dataPath } from "../_shared.ts";
import { readAllPackets } from "../../src/capture/reader.ts";
import {
  AfterImage,
  AFTERIMAGE_LAMBDAS,
  type AfterImagePacket,
} from "../../src/flows/features/afterimage.ts";
import { Rng } from "../../src/util/random.ts";

// Batch recomputation of a damped 1-D stream at time t from all earlier values (definition, O(n)).
function batch(values: { t: number; x: number }[], t: number, lambda: number) {
  let w = 0, ls = 0, ss = 0;
  for (const v of values) {
    const f = Math.pow(2, -lambda * (t - v.t));
    w += f;
    ls += f * v.x;
    ss += f * v.x * v.x;
  }
  const mean = ls / w;
  return { w, mean, variance: Math.abs(ss / w - mean * mean) };
}
const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: incremental ${a} vs batch ${b}`);

Deno.test("afterimage: 100 features (5 lambdas x 20) as in Kitsune (Mirsky et al. 2018)", () => {
  const ai = new AfterImage();
  assert.equal(ai.names.length, 100);
  assert.equal(new Set(ai.names).size, 100);
  assert.deepEqual([...AFTERIMAGE_LAMBDAS], [5, 3, 1, 0.1, 0.01]);
});

Deno.test("afterimage: incremental statistics equal batch recomputation on a real capture", async () => {
  const pkts = (await readAllPackets(dataPath("pcaps", "zeek-ftp-bruteforce.pcap"))).slice(0, 120);
  const ai = new AfterImage();
  const mi = new Map<string, { t: number; x: number }[]>();
  const host = new Map<string, { t: number; x: number }[]>();
  const jit = new Map<string, { t: number; x: number }[]>();
  const lastT = new Map<string, number>();
  for (const p of pkts) {
    const v = ai.update(p);
    const t = p.tsUs / 1e6;
    const kmi = (p.srcMac ?? "") + p.srcIp;
    (mi.get(kmi) ?? mi.set(kmi, []).get(kmi)!).push({ t, x: p.wireLen });
    (host.get(p.srcIp) ?? host.set(p.srcIp, []).get(p.srcIp)!).push({ t, x: p.wireLen });
    const kj = p.srcIp + ">" + p.dstIp;
    const gap = lastT.has(kj) ? t - lastT.get(kj)! : 0;
    lastT.set(kj, t);
    (jit.get(kj) ?? jit.set(kj, []).get(kj)!).push({ t, x: gap });
    AFTERIMAGE_LAMBDAS.forEach((lam, k) => {
      const o = k * 20;
      const b = batch(mi.get(kmi)!, t, lam);
      close(v[o], b.w, `MI weight λ=${lam}`);
      close(v[o + 1], b.mean, `MI mean λ=${lam}`);
      close(v[o + 2], b.variance, `MI variance λ=${lam}`);
      const h = batch(host.get(p.srcIp)!, t, lam);
      close(v[o + 3], h.w, "HH weight");
      close(v[o + 4], h.mean, "HH mean");
      close(v[o + 5], Math.sqrt(h.variance), "HH std");
      const other = host.get(p.dstIp);
      const r = other ? batch(other, t, lam) : { mean: 0, variance: 0 };
      close(v[o + 6], Math.sqrt(h.mean ** 2 + r.mean ** 2), "HH magnitude");
      close(v[o + 7], Math.sqrt(h.variance ** 2 + r.variance ** 2), "HH radius");
      const j = batch(jit.get(kj)!, t, lam);
      close(v[o + 10], j.w, "jitter weight");
      close(v[o + 11], j.mean, "jitter mean");
    });
    for (const x of v) assert.ok(Number.isFinite(x));
  }
});

/** The fields AfterImage reads, as a plain object that a test may change. */
function fields(p: AfterImagePacket): AfterImagePacket {
  const { tsUs, wireLen, ipVersion, srcIp, dstIp, protocol, srcPort, dstPort, srcMac, dstMac } = p;
  return { tsUs, wireLen, ipVersion, srcIp, dstIp, protocol, srcPort, dstPort, srcMac, dstMac };
}

/** Every value finite, or the index and value of the first that is not. */
function firstNonFinite(v: ArrayLike<number>): string | undefined {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return `feature ${i} = ${v[i]}`;
  return undefined;
}

Deno.test("afterimage: a host pair silent for 230 s (2^(-5*230) underflows to 0) keeps every feature finite", async () => {
  // The reproduction from issue 19: zeek-ssh-ssh.pcap has such a pause; KitNET then saw NaN in feature 8.
  const ai = new AfterImage();
  const pkts = await readAllPackets(dataPath("pcaps", "zeek-ssh-ssh.pcap"));
  for (const [i, p] of pkts.entries()) {
    const bad = firstNonFinite(ai.update(p));
    assert.equal(bad, undefined, `packet ${i}: ${bad}`);
  }
  // The same pair again after exactly 230 s of silence.
  const again = new AfterImage();
  const p = pkts[0];
  again.update(p);
  const later = { ...fields(p), tsUs: p.tsUs + 230e6 };
  const rev = {
    ...later,
    srcIp: p.dstIp,
    dstIp: p.srcIp,
    srcPort: p.dstPort,
    dstPort: p.srcPort,
    srcMac: p.dstMac,
    dstMac: p.srcMac,
  };
  assert.equal(firstNonFinite(again.update(rev)), undefined);
  assert.equal(firstNonFinite(again.update(later)), undefined);
});

Deno.test("afterimage: property — random gaps (0 to 1e6 s), equal times, constant and extreme sizes stay finite", async () => {
  const base = (await readAllPackets(dataPath("pcaps", "zeek-ftp-bruteforce.pcap"))).slice(0, 200);
  const sizes = [0, 1, 60, 1514, 65535, 2 ** 32 - 1];
  for (let seed = 1; seed <= 20; seed++) {
    const rng = new Rng(seed);
    const ai = new AfterImage();
    let t = base[0].tsUs;
    for (let i = 0; i < 400; i++) {
      const p = base[rng.int(base.length)];
      const r = rng.next();
      // A quarter equal timestamps, a quarter long silences up to 1e6 s, the rest sub-second.
      t += r < 0.25 ? 0 : r < 0.5 ? Math.floor(rng.next() * 1e12) : Math.floor(rng.next() * 1e6);
      const wireLen = seed % 2 ? sizes[rng.int(sizes.length)] : 100;
      const q = { ...fields(p), tsUs: t, wireLen };
      const bad = firstNonFinite(ai.update(q));
      assert.equal(bad, undefined, `seed ${seed}, packet ${i} (t=${t} µs, len ${wireLen}): ${bad}`);
    }
  }
});
