/**
 * Adam / AdamW over a {@link Params} set, one pass over each parameter per
 * step (moments, bias correction, update and optional decoupled weight decay
 * fused), with optional global gradient-norm clipping.
 *
 * Defaults follow tfjs's `tf.train.adam` (β1 0.9, β2 0.999, ε 1e-7) so both
 * engines train with the same optimiser maths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Adam } from "./adam.ts";
 * import { Params } from "./params.ts";
 * const p = new Params();
 * const w = p.add("w", [1], new Float32Array([1]));
 * const opt = new Adam(p, { lr: 0.1 });
 * for (let i = 0; i < 100; i++) {
 *   p.grad("w")[0] = 2 * w[0]; // d/dw of w²
 *   opt.step();
 * }
 * assert.ok(Math.abs(w[0]) < 0.1);
 * ```
 * @module
 */
import type { Params } from "./params.ts";

/** Options of {@link Adam}. */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay (AdamW); 0 = plain Adam. */
  weightDecay?: number;
  /** Global gradient-norm clip (0 = off). */
  clipNorm?: number;
}

/** Adam with state buffers allocated once per parameter. */
export class Adam {
  readonly #params: Params;
  readonly #m: Float32Array[];
  readonly #v: Float32Array[];
  readonly lr: number;
  readonly #b1: number;
  readonly #b2: number;
  readonly #eps: number;
  readonly #wd: number;
  readonly #clip: number;
  #t = 0;

  constructor(params: Params, o: AdamOptions) {
    this.#params = params;
    this.lr = o.lr;
    this.#b1 = o.beta1 ?? 0.9;
    this.#b2 = o.beta2 ?? 0.999;
    this.#eps = o.epsilon ?? 1e-7;
    this.#wd = o.weightDecay ?? 0;
    this.#clip = o.clipNorm ?? 0;
    const list = params.list();
    this.#m = list.map((p) => new Float32Array(p.value.length));
    this.#v = list.map((p) => new Float32Array(p.value.length));
  }

  /**
   * Applies the gradients accumulated in the parameters; returns the gradient
   * norm before clipping when clipping is on (NaN otherwise: not computed, it
   * is a full extra pass over the gradients).
   */
  step(): number {
    const list = this.#params.list();
    const norm = this.#clip > 0 ? this.#params.gradNorm() : NaN;
    const f = this.#clip > 0 && norm > this.#clip ? this.#clip / norm : 1;
    this.#t++;
    const b1 = this.#b1, b2 = this.#b2, eps = this.#eps;
    const c1 = 1 / (1 - b1 ** this.#t), c2 = 1 / (1 - b2 ** this.#t);
    const lr = this.lr, decay = 1 - lr * this.#wd;
    for (let p = 0; p < list.length; p++) {
      const w = list[p].value, g = list[p].grad, m = this.#m[p], v = this.#v[p];
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * f;
        const mi = m[i] = b1 * m[i] + (1 - b1) * gi;
        const vi = v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] = w[i] * decay - lr * (mi * c1) / (Math.sqrt(vi * c2) + eps);
      }
    }
    return norm;
  }
}
