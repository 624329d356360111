/**
 * A stack of dense layers on the native engine — the autoencoder's network
 * and the building block of other models' feed-forward parts.
 *
 * Layer `l` maps `sizes[l]` to `sizes[l+1]` with weights `W{l}` (in × out,
 * row-major) and bias `b{l}` — the names and layout the tfjs autoencoder
 * uses, so weights move between engines unchanged. Hidden layers apply the
 * activation (and dropout while training); the last layer is linear.
 *
 * Activations are kept per layer for the backward pass in buffers sized for
 * the largest batch seen, so steady-state training allocates nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Mlp } from "./mlp.ts";
 * import { Params } from "./params.ts";
 * import { blasAvailable } from "./blas.ts";
 * if (blasAvailable()) {
 *   const p = new Params();
 *   p.add("W0", [2, 1], new Float32Array([1, 1]));
 *   p.add("b0", [1], new Float32Array([0.5]));
 *   const net = new Mlp(p, [2, 1], "relu");
 *   const y = net.forward(new Float32Array([1, 2]), 1);
 *   assert.equal(y[0], 3.5);
 * }
 * ```
 * @module
 */
import type { Rng } from "../util/random.ts";
import {
  type Activation,
  activationBackward,
  activationForward,
  denseBackward,
  denseForward,
  dropoutBackward,
  dropoutForward,
} from "./ops.ts";
import type { Params } from "./params.ts";

/** Dense layers over a {@link Params} set holding `W{l}`/`b{l}`. */
export class Mlp {
  readonly sizes: readonly number[];
  readonly #act: Activation;
  readonly #w: Float32Array[];
  readonly #b: Float32Array[];
  readonly #dw: Float32Array[];
  readonly #db: Float32Array[];
  #cap = 0;
  /** Per layer: pre-activation z, activation y, dropout mask and y after dropout (the next layer's input). */
  #z: Float32Array[] = [];
  #y: Float32Array[] = [];
  #mask: Float32Array[] = [];
  #yd: Float32Array[] = [];
  #dA = new Float32Array(0);
  #dB = new Float32Array(0);
  #x: Float32Array = new Float32Array(0);
  #rows = 0;
  #dropped = false;

  constructor(params: Params, sizes: readonly number[], act: Activation) {
    this.sizes = sizes.slice();
    this.#act = act;
    const nL = sizes.length - 1;
    this.#w = Array.from({ length: nL }, (_, l) => params.get(`W${l}`));
    this.#b = Array.from({ length: nL }, (_, l) => params.get(`b${l}`));
    this.#dw = Array.from({ length: nL }, (_, l) => params.grad(`W${l}`));
    this.#db = Array.from({ length: nL }, (_, l) => params.grad(`b${l}`));
  }

  #reserve(rows: number): void {
    if (rows <= this.#cap) return;
    const cap = Math.max(rows, this.#cap * 2);
    const nL = this.sizes.length - 1;
    this.#z = Array.from({ length: nL }, (_, l) => new Float32Array(cap * this.sizes[l + 1]));
    this.#y = Array.from({ length: nL }, (_, l) => new Float32Array(cap * this.sizes[l + 1]));
    this.#mask = Array.from({ length: nL }, (_, l) => new Float32Array(cap * this.sizes[l + 1]));
    this.#yd = Array.from({ length: nL }, (_, l) => new Float32Array(cap * this.sizes[l + 1]));
    const widest = Math.max(...this.sizes);
    this.#dA = new Float32Array(cap * widest);
    this.#dB = new Float32Array(cap * widest);
    this.#cap = cap;
  }

  /**
   * Output for `rows` rows of `x` (rows × sizes[0]); a view into an internal
   * buffer, valid until the next call. With `dropout` (rate and rng) hidden
   * layers are dropped out, as in training.
   */
  forward(x: Float32Array, rows: number, dropout?: { rate: number; rng: Rng }): Float32Array {
    this.#reserve(rows);
    const nL = this.sizes.length - 1;
    this.#x = x;
    this.#rows = rows;
    this.#dropped = !!dropout && dropout.rate > 0;
    let h = x;
    for (let l = 0; l < nL; l++) {
      const nIn = this.sizes[l], nOut = this.sizes[l + 1], n = rows * nOut;
      const z = this.#z[l], y = this.#y[l];
      denseForward(h, rows, nIn, this.#w[l], this.#b[l], nOut, z);
      if (l < nL - 1) {
        activationForward(this.#act, z, y, n);
        h = y;
        if (this.#dropped) {
          h = this.#yd[l];
          h.set(y.subarray(0, n));
          dropoutForward(h, this.#mask[l], n, dropout!.rate, dropout!.rng);
        }
      } else {
        h = z;
      }
    }
    return h.subarray(0, rows * this.sizes[nL]);
  }

  /**
   * Backward pass of the last {@link forward}: `dOut` is the gradient of the
   * loss with respect to the output (rows × sizes[last]); accumulates into the
   * parameters' gradients. Returns nothing: the input needs no gradient.
   */
  backward(dOut: Float32Array): void {
    const nL = this.sizes.length - 1, rows = this.#rows;
    let dz = dOut;
    for (let l = nL - 1; l >= 0; l--) {
      const nIn = this.sizes[l], nOut = this.sizes[l + 1];
      const input = l === 0 ? this.#x : this.#dropped ? this.#yd[l - 1] : this.#y[l - 1];
      const dIn = l > 0 ? (dz === this.#dA ? this.#dB : this.#dA) : undefined;
      denseBackward(input, rows, nIn, this.#w[l], nOut, dz, this.#dw[l], this.#db[l], dIn);
      if (l > 0) {
        const n = rows * nIn;
        if (this.#dropped) dropoutBackward(dIn!, this.#mask[l - 1], n);
        activationBackward(this.#act, this.#z[l - 1], this.#y[l - 1], dIn!, dIn!, n);
        dz = dIn!;
      }
    }
  }
}
