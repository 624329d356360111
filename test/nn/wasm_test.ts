import assert from "node:assert/strict";
import {
  cat,
  emit,
  f32Bytes,
  funcBody,
  funcType,
  I32,
  localGet,
  moduleBytes,
  NamedLocals,
  section,
  sleb,
  uleb,
  V128,
  wasmName,
} from "../../src/nn/wasm.ts";
import { simdModuleBytes } from "../../src/nn/simd.ts";
import { lstmCellModuleBytes } from "../../src/nn/lstm.ts";

Deno.test("wasm: LEB128 and float32 encodings match the specification's examples", () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(uleb(0xffffffff), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual(sleb(0), [0]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(-64), [0x40]);
  assert.deepEqual(sleb(-65), [0xbf, 0x7f]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(sleb(-2147483648), [0x80, 0x80, 0x80, 0x80, 0x78]);
  assert.deepEqual(f32Bytes(1), [0x00, 0x00, 0x80, 0x3f]);
  assert.deepEqual(f32Bytes(-Infinity), [0x00, 0x00, 0x80, 0xff]);
});

Deno.test("wasm: emit and cat flatten parts in order, also lists longer than a call's argument limit", () => {
  assert.deepEqual(cat(1, [2, 3], [], 4), [1, 2, 3, 4]);
  const out = [9];
  assert.equal(emit(out, [8], 7), out);
  assert.deepEqual(out, [9, 8, 7]);
  const big = new Array(300_000).fill(1);
  assert.equal(cat(big, big).length, 600_000);
  assert.deepEqual(section(7, [[1], [2, 3]]), [7, 4, 2, 1, 2, 3]);
  assert.deepEqual(wasmName("é"), [2, 0xc3, 0xa9]);
  assert.deepEqual(funcType([I32, I32], []), [0x60, 2, I32, I32, 0]);
  assert.deepEqual(funcBody([[2, V128]], [0x0b]), [4, 1, 2, V128, 0x0b]);
});

Deno.test("wasm: NamedLocals numbers names on first use after `first`", () => {
  const L = new NamedLocals(3);
  assert.equal(L.at("x"), 3);
  assert.equal(L.at("y"), 4);
  assert.equal(L.at("x"), 3);
  assert.equal(L.size, 2);
  assert.deepEqual(L.get("y"), localGet(4));
});

Deno.test("wasm: moduleBytes links an imported memory and exports functions by name", () => {
  // store(p, v): i32.store at p; load(p): i32.load at p.
  const bytes = moduleBytes({
    funcs: [
      {
        name: "store",
        type: funcType([I32, I32], []),
        code: funcBody([], cat(localGet(0), localGet(1), 0x36, 2, 0, 0x0b)),
      },
      { name: "load", type: funcType([I32], [I32]), code: funcBody([], cat(localGet(0), 0x28, 2, 0, 0x0b)) },
    ],
    importMemory: { module: "e", name: "m", min: 1 },
  });
  assert.ok(WebAssembly.validate(bytes));
  const mem = new WebAssembly.Memory({ initial: 1 });
  const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { e: { m: mem } }).exports as {
    store: (p: number, v: number) => void;
    load: (p: number) => number;
  };
  e.store(8, 123456);
  assert.equal(new Int32Array(mem.buffer)[2], 123456);
  assert.equal(e.load(8), 123456);
  const own = moduleBytes({ funcs: [], memory: { min: 2, export: "mem" } });
  const m = new WebAssembly.Instance(new WebAssembly.Module(own)).exports.mem as WebAssembly.Memory;
  assert.equal(m.buffer.byteLength, 2 * 65536);
});

Deno.test("wasm: both kernel generators built on the encoder produce valid modules", () => {
  assert.ok(WebAssembly.validate(simdModuleBytes(3)));
  for (const U of [4, 8, 32, 128]) assert.ok(WebAssembly.validate(lstmCellModuleBytes(U)), `U ${U}`);
});
