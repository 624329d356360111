import assert from "node:assert/strict";
import { Rng } from "../src/util/random.ts";
import { InputError } from "../src/util/errors.ts";
import { Progress } from "../src/util/progress.ts";
import { forEachLine } from "../src/util/lines.ts";
import { topIndices } from "../src/util/top.ts";

Deno.test("Rng: same seed same stream, different seed different stream", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const xa = Array.from({ length: 5 }, () => a.next());
  const xb = Array.from({ length: 5 }, () => b.next());
  const xc = Array.from({ length: 5 }, () => c.next());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
  for (const x of xa) assert.ok(x >= 0 && x < 1);
});

Deno.test("Rng: uniform mean and normal moments are plausible", () => {
  const r = new Rng(1);
  let s = 0, sn = 0, sn2 = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    s += r.next();
    const z = r.normal();
    sn += z;
    sn2 += z * z;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.01);
  assert.ok(Math.abs(sn / n) < 0.02);
  assert.ok(Math.abs(sn2 / n - 1) < 0.03);
});

Deno.test("Rng: sampleIndices gives distinct in-range indices", () => {
  const idx = new Rng(3).sampleIndices(100, 30);
  assert.equal(new Set(idx).size, 30);
  for (const i of idx) assert.ok(i < 100);
  assert.throws(() => new Rng(3).sampleIndices(3, 4), /cannot sample 4 of 3/);
});

Deno.test("InputError names file, line and column", () => {
  const e = new InputError('expected a number, found "abc"', { file: "x.csv", line: 3, column: "src_bytes" });
  assert.equal(e.message, 'x.csv:3, column "src_bytes": expected a number, found "abc"');
});

Deno.test("Progress counts silently", () => {
  const p = new Progress({ label: "x", total: 10, silent: true });
  p.tick(4);
  p.update(9);
  p.done();
  assert.equal(p.count, 9);
});

Deno.test("forEachLine: the lines text.split gives, whatever the chunk size (a real eve.json; edge cases)", () => {
  const real = "data/alerts/suricata/stratosphere-test6-eve-head300.json";
  const dir = Deno.makeTempDirSync({ prefix: "nadir-lines-" });
  try {
    const cases: Record<string, string> = {
      real: Deno.readTextFileSync(real),
      empty: "",
      newline: "\n",
      blank: "\n\n\n",
      unterminated: "a\nb",
      // a multi-byte character across every chunk boundary, and a line longer than a chunk
      utf8: "é✓𝄞 x\n" + "ü".repeat(40) + "\n€",
    };
    for (const [name, text] of Object.entries(cases)) {
      const path = `${dir}/${name}`;
      Deno.writeTextFileSync(path, text);
      const want = text.split("\n");
      if (want.at(-1) === "") want.pop(); // a "\n" ends the last line; it starts no empty one
      for (const chunkBytes of [1, 2, 3, 7, 4096, undefined]) {
        const got: string[] = [];
        const nos: number[] = [];
        assert.equal(forEachLine(path, (l, n) => void (got.push(l), nos.push(n)), { chunkBytes }), true);
        assert.deepEqual(got, want, `${name}, chunks of ${chunkBytes}`);
        assert.deepEqual(nos, want.map((_, i) => i + 1), `${name} line numbers`);
      }
    }
    assert.equal(forEachLine(`${dir}/missing`, () => assert.fail("called")), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("forEachLine: endByte is where the next line starts; start resumes there, false stops", () => {
  const real = "data/alerts/suricata/stratosphere-test6-eve-head300.json";
  const bytes = Deno.readFileSync(real);
  const text = new TextDecoder().decode(bytes);
  const want = text.split("\n");
  if (want.at(-1) === "") want.pop();
  for (const chunkBytes of [5, 4096, undefined]) {
    const ends: number[] = [];
    forEachLine(real, (_l, _n, end) => void ends.push(end), { chunkBytes });
    assert.equal(ends.at(-1), bytes.length, "the last line ends at the file's end");
    for (let i = 0; i < ends.length - 1; i++) {
      assert.equal(bytes[ends[i] - 1], 10, `line ${i + 1} ends after its "\\n"`);
    }
    // Resume after line 100, and stop after 3 lines.
    const got: string[] = [];
    const nos: number[] = [];
    forEachLine(real, (l, n) => {
      got.push(l);
      nos.push(n);
      return got.length < 3;
    }, { chunkBytes, start: ends[99] });
    assert.deepEqual(got, want.slice(100, 103), `chunks of ${chunkBytes}`);
    assert.deepEqual(nos, [1, 2, 3]);
  }
});

Deno.test("topIndices: the k largest, largest first, ties in index order, NaN after every number", () => {
  assert.deepEqual(topIndices([3, 9, NaN, 9, Infinity, 1], 3), [4, 1, 3]);
  assert.deepEqual(topIndices([NaN, 2, NaN, -Infinity], 4), [1, 3, 0, 2], "NaNs last, in their order");
  assert.deepEqual(topIndices([5, 6], 0), []);
  assert.deepEqual(topIndices([], 3), []);
  // Against a stable sort of every index with a consistent comparator, on random values with ties,
  // infinities and NaNs (the case a comparator by difference gets wrong).
  const rng = new Rng(3);
  for (let t = 0; t < 2_000; t++) {
    const c = Array.from({ length: 1 + rng.int(60) }, () => {
      const r = rng.next();
      return r < 0.1 ? Infinity : r < 0.3 ? rng.int(3) : r < 0.4 ? NaN : rng.next() * 100;
    });
    const k = rng.int(8);
    const order = c.map((_, j) => j).sort((a, b) => {
      const x = c[a], y = c[b];
      if (Number.isNaN(x) || Number.isNaN(y)) {
        return Number.isNaN(x) === Number.isNaN(y) ? a - b : Number.isNaN(x) ? 1 : -1;
      }
      return x > y ? -1 : x < y ? 1 : a - b;
    });
    assert.deepEqual(topIndices(c, k), order.slice(0, k), `case ${t}: ${c} (k ${k})`);
  }
});
