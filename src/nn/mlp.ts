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
  actBackwardBias,
  type Activation,
  denseActForward,
  denseBackward,
  dropoutBackward,
  dropoutForward,
} from "./ops.ts";
import type { Params } from "./params.ts";
import { addColumnSums, Workspace } from "./workspace.ts";

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
  #dOut = new Float32Array(0);
  #in = new Float32Array(0);
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
    const nL = this.sizes.length - 1, outs = this.sizes.slice(1);
    const gelu = this.#act === "gelu";
    const widest = this.sizes.reduce((a, b) => Math.max(a, b), 0);
    const sum = outs.reduce((a, b) => a + b, 0);
    // Activations and gradients in one workspace, where the bias/relu passes run in SIMD in place.
    const ws = new Workspace(cap * ((gelu ? 2 : 1) * sum + 2 * widest + outs[nL - 1] + this.sizes[0]));
    this.#y = outs.map((n) => ws.alloc(cap * n));
    // Only GELU's backward needs the pre-activation; every other activation's derivative follows from
    // its output (relu and elu: y > 0 ⇔ z > 0), so z and y share a buffer and the forward writes once.
    this.#z = gelu ? outs.map((n) => ws.alloc(cap * n)) : this.#y;
    // Dropout buffers only when dropout runs (see forward): fresh pages are not free here.
    this.#mask = [];
    this.#yd = [];
    this.#dA = ws.alloc(cap * widest);
    this.#dB = ws.alloc(cap * widest);
    this.#dOut = ws.alloc(cap * outs[nL - 1]);
    this.#in = ws.alloc(cap * this.sizes[0]);
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
    if (this.#dropped && this.#mask.length === 0) {
      this.#mask = Array.from({ length: nL }, (_, l) => new Float32Array(this.#cap * this.sizes[l + 1]));
      this.#yd = Array.from({ length: nL }, (_, l) => new Float32Array(this.#cap * this.sizes[l + 1]));
    }
    let h = x;
    for (let l = 0; l < nL; l++) {
      const nIn = this.sizes[l], nOut = this.sizes[l + 1], n = rows * nOut;
      const z = this.#z[l], y = this.#y[l];
      const hidden = l < nL - 1;
      denseActForward(h, rows, nIn, this.#w[l], this.#b[l], nOut, hidden ? this.#act : "linear", z, y);
      h = y;
      if (hidden && this.#dropped) {
        h = this.#yd[l];
        h.set(y.subarray(0, n));
        dropoutForward(h, this.#mask[l], n, dropout!.rate, dropout!.rng);
      }
    }
    return h.subarray(0, rows * this.sizes[nL]);
  }

  /**
   * A buffer for `rows` input rows in the network's workspace, to gather a
   * batch into: an autoencoder's loss then compares two workspace views (in
   * SIMD, see ./ops.ts `mseLoss`). Valid until a call (here or to
   * {@link forward}) with more rows than any before.
   */
  inputBuffer(rows: number): Float32Array {
    this.#reserve(rows);
    return this.#in.subarray(0, rows * this.sizes[0]);
  }

  /**
   * A buffer for the loss gradient of `rows` output rows, in the network's
   * workspace: handing it to {@link backward} lets the output layer's bias
   * gradient run in SIMD. Valid as {@link inputBuffer}'s.
   */
  outputGrad(rows: number): Float32Array {
    this.#reserve(rows);
    return this.#dOut.subarray(0, rows * this.sizes[this.sizes.length - 1]);
  }

  /**
   * Backward pass of the last {@link forward}: `dOut` is the gradient of the
   * loss with respect to the output (rows × sizes[last]). Adds into the
   * parameters' gradients, or — `accumulate: false`, when this network is the
   * only user of its weights in the step — overwrites them, which saves the
   * zeroing pass. The input needs no gradient, so none is computed.
   */
  backward(dOut: Float32Array, opts: { accumulate?: boolean } = {}): void {
    const acc = opts.accumulate ?? true;
    const nL = this.sizes.length - 1, rows = this.#rows;
    let dy = dOut;
    for (let l = nL - 1; l >= 0; l--) {
      const nIn = this.sizes[l], nOut = this.sizes[l + 1];
      // dz of this layer: the output layer is linear, hidden layers go through their activation.
      let dz = dy;
      if (l === nL - 1) {
        const db = this.#db[l];
        if (!addColumnSums(dy, rows, nOut, db, acc)) {
          if (!acc) db.fill(0);
          for (let r = 0; r < rows; r++) for (let j = 0; j < nOut; j++) db[j] += dy[r * nOut + j];
        }
      } else {
        if (this.#dropped) dropoutBackward(dy, this.#mask[l], rows * nOut);
        actBackwardBias(this.#act, this.#z[l], this.#y[l], dy, dy, rows, nOut, this.#db[l], acc);
        dz = dy;
      }
      const input = l === 0 ? this.#x : this.#dropped ? this.#yd[l - 1] : this.#y[l - 1];
      const dIn = l > 0 ? (dz === this.#dA ? this.#dB : this.#dA) : undefined;
      denseBackward(input, rows, nIn, this.#w[l], nOut, dz, this.#dw[l], undefined, dIn, false, acc);
      if (dIn) dy = dIn;
    }
  }
}
