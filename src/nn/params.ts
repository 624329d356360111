/**
 * Named float32 parameters with gradients, for the native engine.
 *
 * Each parameter is one `Float32Array` (row-major, the same layout as the
 * tfjs variable of the same name) and a gradient buffer of the same size,
 * allocated once per model; training steps accumulate into the gradients and
 * the optimiser reads them. Saved weights are one little-endian float32 blob
 * per parameter (`w.<name>`) plus a shape table — the format the tfjs
 * detectors write — so a model saved by either engine loads in the other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Params } from "./params.ts";
 * const p = new Params();
 * p.add("W", [2, 3], new Float32Array(6).fill(0.5));
 * const { shapes, blobs } = p.toBlobs();
 * const q = new Params();
 * q.add("W", [2, 3], new Float32Array(6));
 * q.fromBlobs("demo", shapes, blobs);
 * assert.equal(q.get("W")[5], 0.5);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import { toBytes } from "../util/bytes.ts";

/** One parameter: values, gradient and shape. */
export interface Param {
  name: string;
  shape: number[];
  value: Float32Array;
  grad: Float32Array;
}

/**
 * Checks one saved weight blob against the expected shape and returns its
 * values: the blob must exist, hold exactly `prod(shape)` floats, match the
 * saved shape when one is recorded, and be finite (a NaN weight would make
 * every score NaN).
 */
export function decodeWeightBlob(
  detector: string,
  name: string,
  shape: readonly number[],
  savedShape: readonly number[] | undefined,
  blob: Uint8Array | undefined,
  prefix = "w.",
): Float32Array {
  if (!blob) throw new InputError(`${detector}: saved model lacks weight blob "${prefix + name}"`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (blob.byteLength !== size * 4) {
    throw new InputError(
      `${detector}: weight blob "${prefix + name}" has ${blob.byteLength} bytes, expected ${
        size * 4
      } for shape [${shape}]`,
    );
  }
  if (savedShape && savedShape.join(",") !== shape.join(",")) {
    throw new InputError(`${detector}: weight "${name}" has shape [${savedShape}], expected [${shape}]`);
  }
  const f = new Float32Array(size);
  new Uint8Array(f.buffer).set(blob);
  for (let i = 0; i < f.length; i++) {
    if (!Number.isFinite(f[i])) {
      throw new InputError(`${detector}: weight "${name}" holds a non-finite value`);
    }
  }
  return f;
}

/** An ordered set of named parameters. */
export class Params {
  readonly #byName = new Map<string, Param>();

  /** Adds a parameter initialised from `values` (copied). */
  add(name: string, shape: number[], values: Float32Array): Float32Array {
    if (this.#byName.has(name)) throw new Error(`duplicate parameter ${name}`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) {
      throw new Error(`parameter ${name}: ${values.length} values for shape [${shape}] (${size})`);
    }
    const p: Param = {
      name,
      shape: shape.slice(),
      value: Float32Array.from(values),
      grad: new Float32Array(size),
    };
    this.#byName.set(name, p);
    return p.value;
  }

  #param(name: string): Param {
    const p = this.#byName.get(name);
    if (!p) throw new Error(`unknown parameter ${name}`);
    return p;
  }

  /** Values of `name`. */
  get(name: string): Float32Array {
    return this.#param(name).value;
  }

  /** Gradient buffer of `name`. */
  grad(name: string): Float32Array {
    return this.#param(name).grad;
  }

  /** Shape of `name`. */
  shape(name: string): number[] {
    return this.#param(name).shape.slice();
  }

  /** All parameters, in insertion order. */
  list(): Param[] {
    return [...this.#byName.values()];
  }

  /**
   * A set over some of these parameters, sharing their values and gradients: `rename` maps each name
   * to its name in the new set, or undefined to leave it out. (flow-lm's field orders each train
   * their own network, with their own optimiser, inside one saved set.)
   */
  select(rename: (name: string) => string | undefined): Params {
    const out = new Params();
    for (const [k, p] of this.#byName) {
      const n = rename(k);
      if (n !== undefined) out.#byName.set(n, { ...p, name: n });
    }
    return out;
  }

  /** Number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const p of this.#byName.values()) n += p.value.length;
    return n;
  }

  /** Zeroes every gradient (before a step accumulates into them). */
  zeroGrad(): void {
    for (const p of this.#byName.values()) p.grad.fill(0);
  }

  /** L2 norm of all gradients together. */
  gradNorm(): number {
    let s = 0;
    for (const p of this.#byName.values()) {
      const g = p.grad;
      for (let i = 0; i < g.length; i++) s += g[i] * g[i];
    }
    return Math.sqrt(s);
  }

  /** Copies of the current values (for "restore best weights"). */
  snapshot(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, p] of this.#byName) out.set(k, p.value.slice());
    return out;
  }

  /** Puts back values from {@link snapshot}. */
  restore(snap: Map<string, Float32Array>): void {
    for (const [k, p] of this.#byName) {
      const v = snap.get(k);
      if (v) p.value.set(v);
    }
  }

  /** One blob per parameter plus the shape table of the saved state. */
  toBlobs(prefix = "w."): { shapes: Record<string, number[]>; blobs: Record<string, Uint8Array> } {
    const shapes: Record<string, number[]> = {};
    const blobs: Record<string, Uint8Array> = {};
    for (const [k, p] of this.#byName) {
      shapes[k] = p.shape.slice();
      blobs[prefix + k] = toBytes(p.value);
    }
    return { shapes, blobs };
  }

  /** Fills every parameter from blobs written by {@link toBlobs} (either engine); checks names, sizes, values. */
  fromBlobs(
    detector: string,
    shapes: Record<string, number[]>,
    blobs: Record<string, Uint8Array> | undefined,
    prefix = "w.",
  ): void {
    for (const [k, p] of this.#byName) {
      p.value.set(decodeWeightBlob(detector, k, p.shape, shapes[k], blobs?.[prefix + k], prefix));
    }
  }
}
