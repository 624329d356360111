/**
 * A minimal WebAssembly bytecode encoder, shared by the engine's SIMD kernels
 * (src/nn/simd.ts: exp, GELU, layer norm, softmax; src/nn/lstm.ts: the LSTM
 * cell step).
 *
 * Why: those kernels are assembled at load time — no toolchain, no binary
 * blob in the repository — so the engine needs just enough of an encoder to
 * write LEB128 integers, constants, local access, function types and bodies
 * and a module's sections. One copy keeps the two generators from drifting
 * apart (they used to carry an encoder each).
 *
 * Code is a plain `number[]` of bytes. Helpers append with loops
 * ({@link emit}, {@link cat}), never by spreading an array into a call: the
 * project forbids spreads into calls (test/no_spread_test.ts), and the
 * instruction lists of a kernel run to thousands of bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cat, funcBody, funcType, I32, localGet, moduleBytes } from "./wasm.ts";
 * // add(a, b) = a + b, exported as "add".
 * const bytes = moduleBytes({
 *   funcs: [{
 *     name: "add",
 *     type: funcType([I32, I32], [I32]),
 *     code: funcBody([], cat(localGet(0), localGet(1), 0x6a, 0x0b)),
 *   }],
 * });
 * const { add } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as {
 *   add: (a: number, b: number) => number;
 * };
 * assert.equal(add(2, 3), 5);
 * ```
 * @module
 */

/** Bytes of encoded WebAssembly (instructions, or any part of a module). */
export type Code = number[];

/** Value type `i32`. */
export const I32 = 0x7f;
/** Value type `f32`. */
export const F32 = 0x7d;
/** Value type `f64`. */
export const F64 = 0x7c;
/** Value type `v128`. */
export const V128 = 0x7b;

/** Unsigned LEB128 of a non-negative 32-bit integer (counts, sizes, indices, offsets). */
export function uleb(n: number): Code {
  const out: Code = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** Signed LEB128 of a 32-bit integer (the immediate of `i32.const`). */
export function sleb(n: number): Code {
  const out: Code = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40))) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** The 4 little-endian bytes of `v` rounded to float32. */
export function f32Bytes(v: number): Code {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return Array.from(b);
}

/**
 * Appends parts (single bytes or byte lists) to `out` and returns it. A loop
 * per part rather than `out.push(...part)`, so no list goes onto the stack.
 */
export function emit(out: Code, ...parts: (number | Code)[]): Code {
  return append(out, parts);
}

/** A new byte list of the parts in order ({@link emit} into a fresh list). */
export function cat(...parts: (number | Code)[]): Code {
  return append([], parts);
}

function append(out: Code, parts: (number | Code)[]): Code {
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else for (const b of p) out.push(b);
  }
  return out;
}

/** An instruction of the SIMD prefix (0xfd) with sub-opcode `op`. */
export const simdOp = (op: number): Code => cat(0xfd, uleb(op));
/** `local.get i`. */
export const localGet = (i: number): Code => cat(0x20, uleb(i));
/** `local.set i`. */
export const localSet = (i: number): Code => cat(0x21, uleb(i));
/** `local.tee i`. */
export const localTee = (i: number): Code => cat(0x22, uleb(i));
/** `i32.const v`. */
export const i32Const = (v: number): Code => cat(0x41, sleb(v));
/** `f32.const v` (rounded to float32). */
export const f32Const = (v: number): Code => cat(0x43, f32Bytes(v));

/**
 * Locals numbered by name on first use, from `first` on (after a function's
 * parameters and any fixed locals): kernels name their scratch vectors
 * ("x", "t", "c3", …) and declare `size` of them at the end.
 */
export class NamedLocals {
  readonly #names = new Map<string, number>();
  /** Locals numbered from `first`. */
  constructor(readonly first: number) {}
  /** How many names have been numbered. */
  get size(): number {
    return this.#names.size;
  }
  /** The index of `name`, numbering it if new. */
  at(name: string): number {
    let i = this.#names.get(name);
    if (i === undefined) this.#names.set(name, i = this.first + this.#names.size);
    return i;
  }
  /** `local.get` of `name`. */
  get(name: string): Code {
    return localGet(this.at(name));
  }
}

/** A function type (`0x60`, parameter and result value types). */
export function funcType(params: number[], results: number[]): Code {
  return cat(0x60, uleb(params.length), params, uleb(results.length), results);
}

/**
 * A function body as the code section holds it: its size, then the local
 * declarations — `[count, valueType]` groups — and `expr` (which must end
 * with `end`, 0x0b).
 */
export function funcBody(locals: [number, number][], expr: Code): Code {
  const body = uleb(locals.length);
  for (const [n, t] of locals) emit(body, uleb(n), t);
  emit(body, expr);
  return cat(uleb(body.length), body);
}

/** A section: id, byte size, item count, the items. */
export function section(id: number, items: Code[]): Code {
  const body = uleb(items.length);
  for (const it of items) emit(body, it);
  return cat(id, uleb(body.length), body);
}

/** A name as modules store it: UTF-8 byte length, then the bytes. */
export function wasmName(s: string): Code {
  const b = new TextEncoder().encode(s);
  return cat(uleb(b.length), Array.from(b));
}

/** What {@link moduleBytes} assembles. */
export interface ModuleSpec {
  /** Functions, each with its own type, exported under `name` (index = position). */
  funcs: { name: string; type: Code; code: Code }[];
  /** A memory of `min` 64 KiB pages, defined here and exported as `export` (if given). */
  memory?: { min: number; export?: string };
  /** Or a memory imported as `module`.`name`, at least `min` pages. */
  importMemory?: { module: string; name: string; min: number };
}

/**
 * The bytes of a module: header, then the type, import, function, memory,
 * export and code sections (in the order the format requires; empty ones
 * are left out). Function i has type i.
 */
export function moduleBytes(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const { funcs, memory, importMemory } = spec;
  const out: Code = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  emit(out, section(1, funcs.map((f) => f.type)));
  if (importMemory) {
    const m = importMemory;
    emit(out, section(2, [cat(wasmName(m.module), wasmName(m.name), 0x02, 0x00, uleb(m.min))]));
  }
  emit(out, section(3, funcs.map((_, i) => uleb(i))));
  if (memory) emit(out, section(5, [cat(0x00, uleb(memory.min))]));
  const exports = funcs.map((f, i) => cat(wasmName(f.name), 0x00, uleb(i)));
  if (memory?.export !== undefined) exports.push(cat(wasmName(memory.export), 0x02, 0));
  emit(out, section(7, exports));
  emit(out, section(10, funcs.map((f) => f.code)));
  return new Uint8Array(out);
}

/**
 * A memoised compile of a kernel module for the engine's SIMD users: null
 * where `NADIR_SIMD=off` or where the module does not compile (no
 * WebAssembly SIMD), so each caller falls back to its plain loops. `build`
 * runs once, on first use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cat, funcBody, funcType, lazyKernelModule, moduleBytes } from "./wasm.ts";
 * const mod = lazyKernelModule(() =>
 *   moduleBytes({ funcs: [{ name: "nop", type: funcType([], []), code: funcBody([], cat(0x0b)) }] })
 * );
 * assert.equal(mod() === null, Deno.env.get("NADIR_SIMD") === "off");
 * assert.equal(mod(), mod()); // compiled once
 * ```
 */
export function lazyKernelModule(build: () => Uint8Array<ArrayBuffer>): () => WebAssembly.Module | null {
  let compiled: WebAssembly.Module | null | undefined;
  return () => {
    if (compiled !== undefined) return compiled;
    compiled = null;
    try {
      if (Deno.env.get("NADIR_SIMD") === "off") return compiled;
    } catch { /* no env permission: the default */ }
    try {
      compiled = new WebAssembly.Module(build());
    } catch {
      compiled = null;
    }
    return compiled;
  };
}
