/**
 * LSTM on the native engine: a layer with a hand-written backward pass
 * (backpropagation through time) and the two sequence models the `lstm`
 * detector trains — an encoder-decoder autoencoder and a next-step predictor.
 *
 * **Maths** (the tfjs reference in src/detectors/lstm.ts, per step, h0 = c0 = 0):
 * i = σ(xWi + hUi + bi), f = σ(xWf + hUf + bf), g = tanh(xWg + hUg + bg),
 * o = σ(xWo + hUo + bo), c = f⊙c + i⊙g, h = o⊙tanh(c).
 *
 * **Weights** stay per gate, as separate parameters `<cell>.W{i,f,g,o}`
 * [nIn, U], `<cell>.U{i,f,g,o}` [U, U] and `<cell>.b{i,f,g,o}` [U] — the names
 * and layout the tfjs detector saves, so models move between engines. For
 * speed each forward packs them into `[nIn, 4U]`, `[U, 4U]` and `[4U]`
 * buffers (gate order i, f, g, o): the input products of all T steps are one
 * sgemm, the recurrent product one sgemm per step, and the backward pass
 * computes packed gradients (again one sgemm each for the input and
 * recurrent weights over all steps) that are scattered back into the
 * per-gate gradient buffers.
 *
 * **Layout.** Sequences are step-major: the input of step t for sequence b is
 * row `t·B + b` of a `(T·B) × nIn` buffer, hidden states likewise
 * `(T·B) × U`. Buffers are allocated once per model and grow to the largest
 * T·B seen, so steady-state training allocates nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blasAvailable } from "./blas.ts";
 * import { LstmLayer, lstmLayerSpecs } from "./lstm.ts";
 * import { Params } from "./params.ts";
 * import { Rng } from "../util/random.ts";
 * if (blasAvailable()) {
 *   const p = new Params();
 *   for (const [name, shape, values] of lstmLayerSpecs("enc", 2, 3, new Rng(1))) p.add(name, shape, values);
 *   const layer = new LstmLayer(p, "enc", 2, 3);
 *   // 4 steps of 1 sequence with 2 features: hidden states are 4 × 3, each in (-1, 1).
 *   const h = layer.forward(new Float32Array([1, 0, 0, 1, 1, 1, 0, 0]), 1, 4);
 *   assert.equal(h.length, 12);
 *   assert.ok(h.every((v) => Math.abs(v) < 1));
 * }
 * ```
 * @module
 */
import { sgemm } from "./blas.ts";
import { denseBackward, denseForward } from "./ops.ts";
import type { Params } from "./params.ts";
import type { Rng } from "../util/random.ts";

/** Gate order of the packed buffers (and of the per-gate parameter names). */
export const LSTM_GATES = ["i", "f", "g", "o"] as const;

/**
 * Initial weights of one cell as `[name, shape, values]`: Glorot-uniform
 * W and U, zero biases except the forget gate's (1) — the tfjs detector's
 * layout and draw order.
 */
export function lstmLayerSpecs(
  cell: string,
  nIn: number,
  units: number,
  rng: Rng,
): [string, number[], Float32Array][] {
  const glorot = (a: number, b: number) => {
    const lim = Math.sqrt(6 / (a + b)), out = new Float32Array(a * b);
    for (let i = 0; i < out.length; i++) out[i] = (rng.next() * 2 - 1) * lim;
    return out;
  };
  const s: [string, number[], Float32Array][] = [];
  for (const g of LSTM_GATES) {
    s.push([`${cell}.W${g}`, [nIn, units], glorot(nIn, units)]);
    s.push([`${cell}.U${g}`, [units, units], glorot(units, units)]);
    s.push([`${cell}.b${g}`, [units], new Float32Array(units).fill(g === "f" ? 1 : 0)]);
  }
  return s;
}

/** σ(v) in float64 (one exp; exact limits 0 and 1 for large |v|). */
function sig(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** tanh(v) through one exp: 2σ(2v) − 1 (absolute error ~1e-16, far below float32's). */
function tanh(v: number): number {
  return 2 / (1 + Math.exp(-2 * v)) - 1;
}

/** One LSTM cell unrolled over T steps for a batch of B sequences (see the module doc). */
export class LstmLayer {
  readonly nIn: number;
  readonly units: number;
  readonly cell: string;
  readonly #w: Float32Array[];
  readonly #u: Float32Array[];
  readonly #b: Float32Array[];
  readonly #dw: Float32Array[];
  readonly #du: Float32Array[];
  readonly #db: Float32Array[];
  /** Packed weights [nIn, 4U], [U, 4U], [4U] and their gradients. */
  readonly #wp: Float32Array;
  readonly #up: Float32Array;
  readonly #bp: Float32Array;
  readonly #dwp: Float32Array;
  readonly #dup: Float32Array;
  readonly #dbp: Float32Array;
  #cap = 0;
  #capB = 0;
  /** Gate activations (T·B) × 4U (overwritten by their pre-activation gradients in backward). */
  #a = new Float32Array(0);
  /** Cell states, tanh of them and hidden states, (T·B) × U each. */
  #c = new Float32Array(0);
  #tc = new Float32Array(0);
  #h = new Float32Array(0);
  /** Input projection of the repeated input (B × 4U), and backward carries dh, dc (B × U). */
  #zx = new Float32Array(0);
  #dh = new Float32Array(0);
  #dc = new Float32Array(0);
  #x: Float32Array = new Float32Array(0);
  #B = 0;
  #T = 0;
  #repeat = false;

  constructor(params: Params, cell: string, nIn: number, units: number) {
    this.cell = cell;
    this.nIn = nIn;
    this.units = units;
    const get = (k: string) => LSTM_GATES.map((g) => params.get(`${cell}.${k}${g}`));
    const grad = (k: string) => LSTM_GATES.map((g) => params.grad(`${cell}.${k}${g}`));
    this.#w = get("W");
    this.#u = get("U");
    this.#b = get("b");
    this.#dw = grad("W");
    this.#du = grad("U");
    this.#db = grad("b");
    for (let q = 0; q < 4; q++) {
      if (this.#w[q].length !== nIn * units || this.#u[q].length !== units * units) {
        throw new Error(`${cell}: gate ${LSTM_GATES[q]} weights do not match nIn ${nIn}, units ${units}`);
      }
    }
    const G = 4 * units;
    this.#wp = new Float32Array(nIn * G);
    this.#up = new Float32Array(units * G);
    this.#bp = new Float32Array(G);
    this.#dwp = new Float32Array(nIn * G);
    this.#dup = new Float32Array(units * G);
    this.#dbp = new Float32Array(G);
  }

  #reserve(B: number, T: number): void {
    const U = this.units, G = 4 * U;
    const n = B * T;
    if (n > this.#cap) {
      const cap = Math.max(n, Math.min(2 * this.#cap, 1 << 20));
      this.#a = new Float32Array(cap * G);
      this.#c = new Float32Array(cap * U);
      this.#tc = new Float32Array(cap * U);
      this.#h = new Float32Array(cap * U);
      this.#cap = cap;
    }
    if (B > this.#capB) {
      const capB = Math.max(B, 2 * this.#capB);
      this.#zx = new Float32Array(capB * G);
      this.#dh = new Float32Array(capB * U);
      this.#dc = new Float32Array(capB * U);
      this.#capB = capB;
    }
  }

  /** Copies the per-gate weights into the packed buffers (done by every forward). */
  pack(): void {
    const U = this.units, G = 4 * U, nIn = this.nIn;
    for (let q = 0; q < 4; q++) {
      const w = this.#w[q], u = this.#u[q], off = q * U;
      for (let k = 0; k < nIn; k++) this.#wp.set(w.subarray(k * U, k * U + U), k * G + off);
      for (let k = 0; k < U; k++) this.#up.set(u.subarray(k * U, k * U + U), k * G + off);
      this.#bp.set(this.#b[q], off);
    }
  }

  /**
   * Runs T steps over B sequences and returns the hidden states, (T·B) × U
   * step-major (a view into an internal buffer, valid until the next
   * forward). `x` is (T·B) × nIn step-major, or with `repeat` one B × nIn
   * input fed at every step (the decoder's use). Keeps what
   * {@link backward} needs.
   */
  forward(x: Float32Array, B: number, T: number, repeat = false): Float32Array {
    const U = this.units, G = 4 * U, nIn = this.nIn;
    this.#reserve(B, T);
    this.pack();
    this.#x = x;
    this.#B = B;
    this.#T = T;
    this.#repeat = repeat;
    const a = this.#a, c = this.#c, tc = this.#tc, h = this.#h;
    if (B === 0 || T === 0) return h.subarray(0, 0);
    // Input projections (+ bias) of every step: one product.
    if (repeat) {
      denseForward(x, B, nIn, this.#wp, this.#bp, G, this.#zx);
      const zx = this.#zx.subarray(0, B * G);
      for (let t = 0; t < T; t++) a.set(zx, t * B * G);
    } else {
      denseForward(x, T * B, nIn, this.#wp, this.#bp, G, a);
    }
    for (let t = 0; t < T; t++) {
      const zo = t * B * G, ho = t * B * U, po = ho - B * U;
      if (t > 0) sgemm(false, false, B, G, U, 1, h.subarray(po), U, this.#up, G, 1, a.subarray(zo), G);
      for (let b = 0; b < B; b++) {
        const ro = zo + b * G, so = ho + b * U, sp = po + b * U;
        for (let j = 0; j < U; j++) {
          const ig = sig(a[ro + j]);
          const fg = sig(a[ro + U + j]);
          const gg = tanh(a[ro + 2 * U + j]);
          const og = sig(a[ro + 3 * U + j]);
          a[ro + j] = ig;
          a[ro + U + j] = fg;
          a[ro + 2 * U + j] = gg;
          a[ro + 3 * U + j] = og;
          const cv = t > 0 ? fg * c[sp + j] + ig * gg : ig * gg;
          c[so + j] = cv;
          const tv = tanh(Math.fround(cv));
          tc[so + j] = tv;
          h[so + j] = og * Math.fround(tv);
        }
      }
    }
    return h.subarray(0, T * B * U);
  }

  /** Hidden states of the last {@link forward}, (T·B) × U step-major (a view). */
  hidden(): Float32Array {
    return this.#h.subarray(0, this.#T * this.#B * this.units);
  }

  /**
   * Backward pass of the last {@link forward}: `dH` is the loss gradient with
   * respect to every hidden state ((T·B) × U, or undefined when only the last
   * step feeds the loss), `dhLast` (B × U) an extra gradient on the last
   * step's h. Accumulates into the per-gate parameter gradients and writes
   * the input gradient into `dx` when given ((T·B) × nIn, or B × nIn for a
   * repeated input). Consumes the saved gate activations: call once per
   * forward.
   */
  backward(dH?: Float32Array, dhLast?: Float32Array, dx?: Float32Array): void {
    const U = this.units, G = 4 * U, nIn = this.nIn, B = this.#B, T = this.#T;
    if (B === 0 || T === 0) {
      if (dx) dx.fill(0, 0, (this.#repeat ? B : T * B) * nIn);
      return;
    }
    const a = this.#a, c = this.#c, tc = this.#tc, h = this.#h, dh = this.#dh, dc = this.#dc;
    const BU = B * U;
    if (dhLast) dh.set(dhLast.subarray(0, BU));
    else dh.fill(0, 0, BU);
    dc.fill(0, 0, BU);
    for (let t = T - 1; t >= 0; t--) {
      const zo = t * B * G, ho = t * B * U, po = ho - BU;
      for (let b = 0; b < B; b++) {
        const ro = zo + b * G, so = ho + b * U, sp = po + b * U, bo = b * U;
        for (let j = 0; j < U; j++) {
          const dhv = dH ? dh[bo + j] + dH[so + j] : dh[bo + j];
          const ig = a[ro + j], fg = a[ro + U + j], gg = a[ro + 2 * U + j], og = a[ro + 3 * U + j];
          const tv = tc[so + j];
          const dcv = dhv * og * (1 - tv * tv) + dc[bo + j];
          const cp = t > 0 ? c[sp + j] : 0;
          dc[bo + j] = dcv * fg;
          a[ro + j] = dcv * gg * ig * (1 - ig);
          a[ro + U + j] = dcv * cp * fg * (1 - fg);
          a[ro + 2 * U + j] = dcv * ig * (1 - gg * gg);
          a[ro + 3 * U + j] = dhv * tv * og * (1 - og);
        }
      }
      // dh for step t−1: dZ[t] · Upᵀ.
      if (t > 0) sgemm(false, true, B, U, G, 1, a.subarray(zo), G, this.#up, G, 0, dh, U);
    }
    const dz = a; // (T·B) × 4U pre-activation gradients
    // Recurrent weights: Σ_t h[t−1]ᵀ · dZ[t] in one product.
    if (T > 1) {
      sgemm(true, false, U, G, (T - 1) * B, 1, h, U, dz.subarray(B * G), G, 0, this.#dup, G);
    } else this.#dup.fill(0);
    this.#dwp.fill(0);
    this.#dbp.fill(0);
    if (this.#repeat) {
      // The same input at every step: sum dZ over steps first.
      const s = this.#zx;
      s.set(dz.subarray(0, B * G));
      for (let t = 1; t < T; t++) {
        const o = t * B * G;
        for (let i = 0; i < B * G; i++) s[i] += dz[o + i];
      }
      denseBackward(this.#x, B, nIn, this.#wp, G, s, this.#dwp, this.#dbp, dx);
    } else {
      denseBackward(this.#x, T * B, nIn, this.#wp, G, dz, this.#dwp, this.#dbp, dx);
    }
    this.#scatter();
  }

  /** Adds the packed gradients into the per-gate gradient buffers. */
  #scatter(): void {
    const U = this.units, G = 4 * U, nIn = this.nIn;
    const dwp = this.#dwp, dup = this.#dup, dbp = this.#dbp;
    for (let q = 0; q < 4; q++) {
      const dw = this.#dw[q], du = this.#du[q], db = this.#db[q], off = q * U;
      for (let k = 0; k < nIn; k++) {
        const s = k * G + off, d = k * U;
        for (let j = 0; j < U; j++) dw[d + j] += dwp[s + j];
      }
      for (let k = 0; k < U; k++) {
        const s = k * G + off, d = k * U;
        for (let j = 0; j < U; j++) du[d + j] += dup[s + j];
      }
      for (let j = 0; j < U; j++) db[j] += dbp[off + j];
    }
  }
}

/** Which sequence model: encoder-decoder reconstruction, or next-step prediction. */
export type LstmMode = "autoencoder" | "predict";

/**
 * The `lstm` detector's network on the native engine, over parameters
 * `enc.*` (and `dec.*` for the autoencoder) plus `out.W` [U, F] / `out.b` [F].
 *
 * - `autoencoder`: the encoder reads T steps, the decoder is fed the
 *   encoder's last h at every step, and `out` maps each decoder h back to the
 *   F features; the loss is the masked mean over real steps of the per-step
 *   mean squared error.
 * - `predict`: the encoder reads T steps and `out` maps its last h to the
 *   predicted next row; the loss is the mean squared error.
 *
 * Inputs are step-major `(T·B) × F` with padded slots zero; `mask` is B × T
 * (1 for real steps), the layout the detector builds its windows in.
 */
export class LstmSeqModel {
  readonly mode: LstmMode;
  readonly features: number;
  readonly units: number;
  readonly enc: LstmLayer;
  readonly dec: LstmLayer | undefined;
  readonly #ow: Float32Array;
  readonly #ob: Float32Array;
  readonly #dow: Float32Array;
  readonly #dob: Float32Array;
  #cap = 0;
  #capB = 0;
  /** Outputs and their gradients: (T·B) × F (autoencoder) or B × F (predict). */
  #y = new Float32Array(0);
  #dy = new Float32Array(0);
  /** Gradients of the decoder's hidden states ((T·B) × U) and of the code / last h (B × U). */
  #dhs = new Float32Array(0);
  #dz = new Float32Array(0);

  constructor(params: Params, mode: LstmMode, features: number, units: number) {
    this.mode = mode;
    this.features = features;
    this.units = units;
    this.enc = new LstmLayer(params, "enc", features, units);
    this.dec = mode === "autoencoder" ? new LstmLayer(params, "dec", units, units) : undefined;
    this.#ow = params.get("out.W");
    this.#ob = params.get("out.b");
    this.#dow = params.grad("out.W");
    this.#dob = params.grad("out.b");
    if (this.#ow.length !== units * features || this.#ob.length !== features) {
      throw new Error(`out.W/out.b do not match units ${units}, features ${features}`);
    }
  }

  #reserve(B: number, T: number): void {
    const F = this.features, U = this.units;
    const rows = this.mode === "autoencoder" ? B * T : B;
    if (rows > this.#cap) {
      const cap = Math.max(rows, Math.min(2 * this.#cap, 1 << 20));
      this.#y = new Float32Array(cap * F);
      this.#dy = new Float32Array(cap * F);
      this.#dhs = new Float32Array(this.mode === "autoencoder" ? cap * U : 0);
      this.#cap = cap;
    }
    if (B > this.#capB) {
      this.#capB = Math.max(B, 2 * this.#capB);
      this.#dz = new Float32Array(this.#capB * U);
    }
  }

  /** Forward pass; returns the outputs (a view: (T·B) × F or B × F). */
  #forward(x: Float32Array, B: number, T: number): Float32Array {
    const F = this.features, U = this.units;
    this.#reserve(B, T);
    const henc = this.enc.forward(x, B, T);
    if (B === 0) return this.#y.subarray(0, 0);
    const last = henc.subarray((T - 1) * B * U, T * B * U);
    if (this.dec) {
      const hdec = this.dec.forward(last, B, T, true);
      denseForward(hdec, T * B, U, this.#ow, this.#ob, F, this.#y);
      return this.#y.subarray(0, T * B * F);
    }
    denseForward(last, B, U, this.#ow, this.#ob, F, this.#y);
    return this.#y.subarray(0, B * F);
  }

  /**
   * Per-window errors: for the autoencoder the mean squared error of every
   * step into `out` (B × T, padded steps included: the caller masks), for
   * predict the prediction error of each window against `target` (B × F)
   * into `out` (B).
   */
  errors(x: Float32Array, B: number, T: number, target: Float32Array | undefined, out: Float32Array): void {
    const F = this.features;
    const y = this.#forward(x, B, T);
    if (this.dec) {
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const o = (t * B + b) * F;
          let s = 0;
          for (let j = 0; j < F; j++) {
            const d = y[o + j] - x[o + j];
            s += d * d;
          }
          out[b * T + t] = s / F;
        }
      }
      return;
    }
    for (let b = 0; b < B; b++) {
      const o = b * F;
      let s = 0;
      for (let j = 0; j < F; j++) {
        const d = y[o + j] - target![o + j];
        s += d * d;
      }
      out[b] = s / F;
    }
  }

  /**
   * Training loss of one batch and its gradients, accumulated into the
   * parameters' gradient buffers (zero them first). Autoencoder: Σ mask ·
   * step error / max(Σ mask, 1); predict: mean squared error against
   * `target` (B × F). With `sums` the autoencoder also reports the masked
   * error sum and the mask count (for means over several chunks).
   */
  lossAndGrad(
    x: Float32Array,
    B: number,
    T: number,
    mask: Float32Array | undefined,
    target: Float32Array | undefined,
    backward = true,
  ): { loss: number; sum: number; count: number } {
    const F = this.features, U = this.units;
    const y = this.#forward(x, B, T);
    const dy = this.#dy;
    if (this.dec) {
      let count = 0;
      for (let i = 0; i < B * T; i++) count += mask![i];
      const k = 2 / (F * Math.max(count, 1));
      let sum = 0;
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const o = (t * B + b) * F, m = mask![b * T + t];
          let s = 0;
          for (let j = 0; j < F; j++) {
            const d = y[o + j] - x[o + j];
            s += d * d;
            dy[o + j] = m * k * d;
          }
          sum += m * (s / F);
        }
      }
      const loss = sum / Math.max(count, 1);
      if (backward && B > 0) {
        const dhs = this.#dhs, dz = this.#dz;
        const hdec = this.dec.hidden();
        denseBackward(hdec, T * B, U, this.#ow, F, dy, this.#dow, this.#dob, dhs);
        this.dec.backward(dhs, undefined, dz);
        this.enc.backward(undefined, dz);
      }
      return { loss, sum, count };
    }
    if (B === 0) return { loss: 0, sum: 0, count: 0 };
    let sum = 0;
    const k = 2 / (B * F);
    for (let i = 0; i < B * F; i++) {
      const d = y[i] - target![i];
      sum += d * d;
      dy[i] = k * d;
    }
    const loss = sum / (B * F);
    if (backward && B > 0) {
      const henc = this.enc.hidden();
      const last = henc.subarray((T - 1) * B * U, T * B * U);
      denseBackward(last, B, U, this.#ow, F, dy, this.#dow, this.#dob, this.#dz);
      this.enc.backward(undefined, this.#dz);
    }
    return { loss, sum: sum / F, count: B };
  }
}
