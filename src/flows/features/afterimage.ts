/**
 * Kitsune's AfterImage (Mirsky et al., NDSS 2018): damped incremental
 * statistics per packet, 100 features = 5 decay factors λ ∈ {5, 3, 1, 0.1,
 * 0.01} × 20:
 * - source MAC-IP: weight, mean, variance of packet sizes (3);
 * - channel (source IP → destination IP): weight, mean, std of the source's
 *   packet sizes, then magnitude, radius, covariance and correlation between
 *   the two directions' size streams (7);
 * - channel jitter: weight, mean, variance of inter-arrival times (3);
 * - socket (source IP:port → destination IP:port): as channel (7).
 *
 * Each statistic decays by 2^(−λ·Δt) (Δt in seconds). O(1) per packet: a
 * few map lookups and arithmetic; {@link AfterImage.update} fills and returns
 * one reused Float64Array. Names follow Kitsune's column naming
 * (`MI_dir_L5_weight`, `HH_L5_magnitude`, `HH_jit_L5_mean`, `HpHp_L5_pcc`, ...).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AfterImage } from "./afterimage.ts";
 * const ai = new AfterImage();
 * const p = { tsUs: 1e6, wireLen: 100, srcIp: "10.0.0.1", dstIp: "10.0.0.2", srcPort: 1, dstPort: 2, protocol: 6, ipVersion: 4 as const };
 * const v = ai.update(p);
 * assert.ok(v.length === 100 && Math.abs(v[1] - 100) < 1e-9);
 * ```
 * @module
 */
import type { Packet } from "../../capture/packet.ts";

/** Kitsune's decay factors. */
export const AFTERIMAGE_LAMBDAS: readonly number[] = [5, 3, 1, 0.1, 0.01];

/** The packet fields AfterImage reads. */
export type AfterImagePacket =
  & Pick<Packet, "tsUs" | "wireLen" | "srcIp" | "dstIp" | "srcPort" | "dstPort" | "protocol" | "ipVersion">
  & {
    srcMac?: string;
    dstMac?: string;
  };

// One damped 1-D stream for L lambdas: per lambda [w, LS, SS, lastT].
const S = 4;
/** Weight of an empty stream (Kitsune's initial value). */
const EMPTY_WEIGHT = 1e-20;
/**
 * Below this a decayed weight is about to leave the normal float range: after
 * a long silence 2^(−λΔt) underflows (λ = 5, Δt > ~215 s gives exactly 0) and
 * LS/w, SS/w become 0/0 = NaN — a feature any remote host could trigger by
 * pausing; subnormal weights already lose the precision the ratios need. Such
 * a stream is reset to empty, as if first seen now. Above it nothing changes,
 * so features stay Kitsune's.
 */
const MIN_WEIGHT = 1e-300;

class Stream {
  readonly v: Float64Array;
  constructor(L: number, t: number) {
    this.v = new Float64Array(L * S);
    for (let k = 0; k < L; k++) {
      this.v[k * S] = EMPTY_WEIGHT;
      this.v[k * S + 3] = t;
    }
  }
  decay(k: number, lambda: number, t: number): void {
    const v = this.v, o = k * S;
    const dt = t - v[o + 3];
    if (dt > 0) {
      const f = Math.pow(2, -lambda * dt);
      if (v[o] * f < MIN_WEIGHT) {
        v[o] = EMPTY_WEIGHT;
        v[o + 1] = 0;
        v[o + 2] = 0;
      } else {
        v[o] *= f;
        v[o + 1] *= f;
        v[o + 2] *= f;
      }
      v[o + 3] = t;
    }
  }
  insert(k: number, lambda: number, t: number, x: number): void {
    this.decay(k, lambda, t);
    const v = this.v, o = k * S;
    v[o] += 1;
    v[o + 1] += x;
    v[o + 2] += x * x;
  }
  w(k: number): number {
    return this.v[k * S];
  }
  mean(k: number): number {
    return this.v[k * S + 1] / this.v[k * S];
  }
  variance(k: number): number {
    const m = this.mean(k);
    return Math.abs(this.v[k * S + 2] / this.v[k * S] - m * m);
  }
}

// Covariance between two streams for L lambdas: per lambda [CF3, w3, lastT, lastRes0, lastRes1].
const C = 5;
class Cov {
  readonly v: Float64Array;
  constructor(L: number, t: number) {
    this.v = new Float64Array(L * C);
    for (let k = 0; k < L; k++) {
      this.v[k * C + 1] = EMPTY_WEIGHT;
      this.v[k * C + 2] = t;
    }
  }
  /** Stream `inc` (0 or 1) received value x (its stats already updated). */
  update(k: number, lambda: number, t: number, inc: 0 | 1, x: number, mean: number): void {
    const v = this.v, o = k * C;
    const dt = t - v[o + 2];
    if (dt > 0) {
      const f = Math.pow(2, -lambda * dt);
      // No underflow guard needed: w3 gains 1 below before cov() divides by it.
      v[o] *= f;
      v[o + 1] *= f;
      v[o + 2] = t;
      v[o + 3 + inc] *= f;
    }
    const res = x - mean;
    v[o] += res * v[o + 3 + (1 - inc)];
    v[o + 1] += 1;
    v[o + 3 + inc] = res;
  }
  cov(k: number): number {
    return this.v[k * C] / this.v[k * C + 1];
  }
}

/** Feature names in output order (100 with the default lambdas). */
export function afterImageNames(lambdas: readonly number[] = AFTERIMAGE_LAMBDAS): string[] {
  const names: string[] = [];
  for (const l of lambdas) {
    const L = `L${l}`;
    names.push(`MI_dir_${L}_weight`, `MI_dir_${L}_mean`, `MI_dir_${L}_variance`);
    names.push(
      `HH_${L}_weight`,
      `HH_${L}_mean`,
      `HH_${L}_std`,
      `HH_${L}_magnitude`,
      `HH_${L}_radius`,
      `HH_${L}_covariance`,
      `HH_${L}_pcc`,
    );
    names.push(`HH_jit_${L}_weight`, `HH_jit_${L}_mean`, `HH_jit_${L}_variance`);
    names.push(
      `HpHp_${L}_weight`,
      `HpHp_${L}_mean`,
      `HpHp_${L}_std`,
      `HpHp_${L}_magnitude`,
      `HpHp_${L}_radius`,
      `HpHp_${L}_covariance`,
      `HpHp_${L}_pcc`,
    );
  }
  return names;
}

/** Streaming per-packet damped statistics (Kitsune's feature extractor). */
export class AfterImage {
  readonly lambdas: readonly number[];
  readonly names: readonly string[];
  readonly #out: Float64Array;
  readonly #streams = new Map<string, Stream>();
  readonly #covs = new Map<string, Cov>();
  readonly #jit = new Map<string, Stream>();
  readonly #lastSeen = new Map<string, number>();

  constructor(opts: { lambdas?: readonly number[] } = {}) {
    this.lambdas = opts.lambdas ?? AFTERIMAGE_LAMBDAS;
    this.names = afterImageNames(this.lambdas);
    this.#out = new Float64Array(this.names.length);
  }

  /** Number of keys tracked (memory grows with distinct hosts/sockets; call {@link prune} on long runs). */
  get size(): number {
    return this.#streams.size + this.#covs.size + this.#jit.size;
  }

  /** Drops streams whose weight has decayed below `minWeight` for the slowest λ at time `nowUs`. */
  prune(nowUs: number, minWeight = 1e-6): void {
    const t = nowUs / 1e6;
    const k = this.lambdas.length - 1;
    const lam = this.lambdas[k];
    for (const [key, s] of this.#streams) {
      s.decay(k, lam, t);
      if (s.w(k) < minWeight) this.#streams.delete(key), this.#lastSeen.delete(key);
    }
    for (const [key, s] of this.#jit) {
      s.decay(k, lam, t);
      if (s.w(k) < minWeight) this.#jit.delete(key), this.#lastSeen.delete("j" + key);
    }
    for (const [key] of this.#covs) {
      const [a, b] = key.split("\u0000");
      if (!this.#streams.has(a) || !this.#streams.has(b)) this.#covs.delete(key);
    }
  }

  #stream(key: string, t: number): Stream {
    let s = this.#streams.get(key);
    if (s === undefined) {
      s = new Stream(this.lambdas.length, t);
      this.#streams.set(key, s);
    }
    return s;
  }

  /** 1-D part (w, mean, std) then 2-D part for stream a (sender) against stream b (the reverse direction). */
  #oneTwo(a: string, b: string, t: number, x: number, out: Float64Array, base: number, stride: number): void {
    const sa = this.#stream(a, t), sb = this.#stream(b, t);
    const first = a < b;
    const ck = first ? a + "\u0000" + b : b + "\u0000" + a;
    let cv = this.#covs.get(ck);
    if (cv === undefined) {
      cv = new Cov(this.lambdas.length, t);
      this.#covs.set(ck, cv);
    }
    const inc: 0 | 1 = first ? 0 : 1;
    for (let k = 0; k < this.lambdas.length; k++) {
      const lam = this.lambdas[k];
      sa.insert(k, lam, t, x);
      sb.decay(k, lam, t);
      const ma = sa.mean(k);
      cv.update(k, lam, t, inc, x, ma);
      const va = sa.variance(k), vb = sb.variance(k);
      const mb = sb.w(k) > 1e-19 ? sb.mean(k) : 0;
      const o = base + k * stride;
      out[o] = sa.w(k);
      out[o + 1] = ma;
      out[o + 2] = Math.sqrt(va);
      out[o + 3] = Math.sqrt(ma * ma + mb * mb);
      out[o + 4] = Math.sqrt(va * va + vb * vb); // Kitsune's AfterImage.py: sqrt(var1² + var2²)
      const cov = cv.cov(k);
      out[o + 5] = cov;
      const ss = Math.sqrt(va) * Math.sqrt(vb);
      out[o + 6] = ss !== 0 ? cov / ss : 0;
    }
  }

  /** Updates the statistics with one packet and returns its feature vector (reused buffer: copy to keep). */
  update(p: AfterImagePacket): Float64Array {
    const t = p.tsUs / 1e6;
    const x = p.wireLen;
    const out = this.#out;
    const L = this.lambdas.length;
    const ip = p.ipVersion !== 0;
    const src = ip ? p.srcIp : (p.srcMac ?? "");
    const dst = ip ? p.dstIp : (p.dstMac ?? "");
    // Kitsune: ports for TCP/UDP, the protocol name otherwise ("icmp", "arp").
    const ported = p.protocol === 6 || p.protocol === 17;
    const sp = ported ? String(p.srcPort) : ip ? `p${p.protocol}` : "arp";
    const dp = ported ? String(p.dstPort) : sp;
    const stride = 20;
    // MI: source MAC + IP, 1-D.
    const mi = this.#stream("m" + (p.srcMac ?? "") + src, t);
    for (let k = 0; k < L; k++) {
      mi.insert(k, this.lambdas[k], t, x);
      const o = k * stride;
      out[o] = mi.w(k);
      out[o + 1] = mi.mean(k);
      out[o + 2] = mi.variance(k);
    }
    // HH: channel srcIP→dstIP, 1-D of the sender + 2-D against the reverse.
    this.#oneTwo("h" + src, "h" + dst, t, x, out, 3, stride);
    // HH jitter: inter-arrival times on the channel.
    const jk = src + ">" + dst;
    const lastT = this.#lastSeen.get("j" + jk);
    const gap = lastT === undefined ? 0 : Math.max(0, t - lastT);
    this.#lastSeen.set("j" + jk, t);
    let js = this.#jit.get(jk);
    if (js === undefined) {
      js = new Stream(L, t);
      this.#jit.set(jk, js);
    }
    for (let k = 0; k < L; k++) {
      js.insert(k, this.lambdas[k], t, gap);
      const o = k * stride + 10;
      out[o] = js.w(k);
      out[o + 1] = js.mean(k);
      out[o + 2] = js.variance(k);
    }
    // HpHp: socket.
    this.#oneTwo("s" + src + ":" + sp, "s" + dst + ":" + dp, t, x, out, 13, stride);
    return out;
  }
}
