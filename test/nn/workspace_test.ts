import assert from "node:assert/strict";
import { actBackwardBias, denseActForward, denseBackward, mseLoss } from "../../src/nn/ops.ts";
import {
  addColumnSums,
  biasActRows,
  reluBackwardBias,
  SCRATCH_FLOATS,
  squaredErrorSum,
  Workspace,
} from "../../src/nn/workspace.ts";
import { needBlas, testWhen } from "../_shared.ts";
import { assertClose, rand, Rng } from "./_grad.ts";

const SIMD = Deno.env.get("NADIR_SIMD") !== "off";

/** Element-wise `===` (so +0 and −0 match: the plain loops make −0 where the kernels make +0). */
function assertSame(what: string, a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(a[i] === b[i], `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

/** A copy of `src` in `ws` (a view) — the same values the plain arrays hold. */
function inWs(ws: Workspace, src: Float32Array): Float32Array {
  const v = ws.alloc(src.length);
  v.set(src);
  return v;
}

const SHAPES = [[0, 5], [1, 1], [3, 3], [2, 4], [5, 5], [17, 64], [9, 78], [256, 32]];

testWhen(
  [needBlas()],
  "workspace: dense forward (bias + relu, bias alone) gives the plain loops' values, odd widths included",
  () => {
    for (const [rows, n] of SHAPES) {
      const rng = new Rng(rows * 100 + n);
      const nIn = 7, x = rand(rng, rows * nIn, 2), w = rand(rng, nIn * n), b = rand(rng, n);
      for (const act of ["relu", "linear"] as const) {
        const ws = new Workspace(rows * n + 16);
        const zPlain = new Float32Array(rows * n), zWs = ws.alloc(rows * n);
        denseActForward(x, rows, nIn, w, b, n, act, zPlain, zPlain);
        denseActForward(x, rows, nIn, w, b, n, act, zWs, zWs);
        assertSame(`${act} ${rows}×${n}`, zWs, zPlain);
      }
    }
  },
);

testWhen(
  [needBlas()],
  "workspace: relu backward with the bias gradient, and a layer's bias gradient, match the plain loops",
  () => {
    for (const [rows, n] of SHAPES) {
      const rng = new Rng(rows * 7 + n);
      const z = rand(rng, rows * n), dy = rand(rng, rows * n), db0 = rand(rng, n);
      for (const accumulate of [false, true]) {
        const ws = new Workspace(2 * rows * n + 16);
        const zW = inWs(ws, z), dyW = inWs(ws, dy), dyP = dy.slice();
        const dbW = db0.slice(), dbP = db0.slice();
        actBackwardBias("relu", zW, zW, dyW, dyW, rows, n, dbW, accumulate);
        actBackwardBias("relu", z, z, dyP, dyP, rows, n, dbP, accumulate);
        assertSame(`relu dz ${rows}×${n}`, dyW, dyP);
        assertSame(`relu db ${rows}×${n} accumulate=${accumulate}`, dbW, dbP);
      }
      // denseBackward's bias gradient (a linear layer): the column sums.
      const x = rand(rng, rows * 3), w = rand(rng, 3 * n);
      const ws = new Workspace(rows * n + 16);
      const dzW = inWs(ws, dy);
      const [dwW, dwP] = [new Float32Array(3 * n), new Float32Array(3 * n)];
      const [dbW, dbP] = [db0.slice(), db0.slice()];
      denseBackward(x, rows, 3, w, n, dzW, dwW, dbW);
      denseBackward(x, rows, 3, w, n, dy, dwP, dbP);
      assertSame(`column sums ${rows}×${n}`, dbW, dbP);
      assertSame(`dW ${rows}×${n}`, dwW, dwP);
    }
  },
);

Deno.test("workspace: the loss and its gradient match the plain loop (float32 differences only)", () => {
  for (const n of [0, 1, 3, 4, 7, 256 * 78 + 3]) {
    const rng = new Rng(n + 1);
    const pred = rand(rng, n), target = rand(rng, n);
    const ws = new Workspace(3 * n + 16);
    const [p, t, g] = [inWs(ws, pred), inWs(ws, target), ws.alloc(n)];
    const gPlain = new Float32Array(n);
    const loss = mseLoss(p, t, n, g, 0.5), lossPlain = mseLoss(pred, target, n, gPlain, 0.5);
    assertClose(`loss, n = ${n}`, [loss], [lossPlain], 1e-6, 0);
    assertClose(`gradient, n = ${n}`, g, gPlain, 1e-6, 0);
  }
});

Deno.test("workspace: the kernels run unless NADIR_SIMD=off; operands outside a workspace are left to the caller", () => {
  const ws = new Workspace(64);
  const z = ws.alloc(8), dy = ws.alloc(8), db = new Float32Array(4);
  assert.equal(biasActRows(z, new Float32Array(4), 2, 4, true), SIMD);
  assert.equal(reluBackwardBias(z, dy, 2, 4, db, false), SIMD);
  assert.equal(addColumnSums(dy, 2, 4, db, true), SIMD);
  assert.equal(squaredErrorSum(z, dy, ws.alloc(8), 8, 1) !== undefined, SIMD);
  // A plain array, or operands from two different workspaces: the plain loops' job.
  assert.equal(biasActRows(new Float32Array(8), new Float32Array(4), 2, 4, true), false);
  assert.equal(reluBackwardBias(z, new Workspace(8).alloc(8), 2, 4, db, false), false);
  assert.equal(squaredErrorSum(z, new Float32Array(8), ws.alloc(8), 8, 1), undefined);
  // Rows wider than the scratch area that holds the bias: the plain loop too.
  const wide = new Workspace(SCRATCH_FLOATS + 1);
  assert.equal(
    biasActRows(
      wide.alloc(SCRATCH_FLOATS + 1),
      new Float32Array(SCRATCH_FLOATS + 1),
      1,
      SCRATCH_FLOATS + 1,
      false,
    ),
    false,
  );
});

Deno.test("workspace: views are 16-byte aligned and zeroed; a full workspace and short operands are errors", () => {
  const ws = new Workspace(20);
  const a = ws.alloc(3), b = ws.alloc(5);
  assert.deepEqual([...a, ...b], new Array(8).fill(0));
  if (SIMD) {
    assert.equal(a.buffer, b.buffer, "one memory");
    assert.equal(b.byteOffset % 16, 0);
    assert.ok(b.byteOffset >= a.byteOffset + 12, "no overlap");
    assert.throws(() => ws.alloc(1 << 20), /workspace: 1048576 floats requested, \d+ left of \d+/);
    // Rows × width beyond the view: an error, never a write into the next buffer.
    assert.throws(
      () => biasActRows(a, new Float32Array(4), 1, 4, true),
      /1 rows of 4 need 4 floats, found 3/,
    );
  }
  // Without SIMD: plain arrays, any size.
  const plain = new Workspace(1, { simd: false });
  assert.equal(plain.kernels, undefined);
  assert.equal(plain.alloc(1000).length, 1000);
});
