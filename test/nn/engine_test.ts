import assert from "node:assert/strict";
import { join } from "node:path";
import { nativeEngineLine, nnEngine, setNnEngine } from "../../src/nn/engine.ts";
import { needBlas, ROOT, testWhen } from "../_shared.ts";

/** Runs a one-line script importing the engine in a child with `env`; returns stdout and stderr. */
async function child(env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const code = `import { nnEngine } from "${join(ROOT, "src", "nn", "engine.ts")}";
    const a = nnEngine(); const b = nnEngine(); console.log(JSON.stringify(a), a === b);`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-ffi", code],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout).trim(), err: dec.decode(r.stderr) };
}

testWhen(
  [needBlas()],
  "engine: native by default when OpenBLAS loads; the line names OpenBLAS and threads",
  () => {
    setNnEngine(undefined);
    const saved = Deno.env.get("NADIR_BACKEND");
    Deno.env.delete("NADIR_BACKEND");
    try {
      assert.equal(nnEngine().name, "native");
      assert.match(nativeEngineLine(), /^native \(OpenBLAS [\d.]+, \d+ threads?\)$/);
    } finally {
      if (saved !== undefined) Deno.env.set("NADIR_BACKEND", saved);
      setNnEngine(undefined);
    }
  },
);

Deno.test("engine: without OpenBLAS it falls back to tfjs with one notice, never a crash", async () => {
  const r = await child({ NADIR_BLAS_LIB: "/nonexistent/libopenblas.so.0", NADIR_BACKEND: "native" });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /"name":"tfjs"/);
  assert.match(r.out, /true$/, "decided once per process");
  const notices = r.err.split("\n").filter((l) => l.includes("OpenBLAS not found"));
  assert.equal(notices.length, 1, r.err);
  assert.match(notices[0], /neural detectors run on tfjs.*libopenblas0-pthread/);
});

Deno.test("engine: NADIR_BACKEND=tfjs is honoured; an unknown value is a clear error", async () => {
  const t = await child({ NADIR_BACKEND: "tfjs" });
  assert.match(t.out, /"name":"tfjs"/);
  const bad = await child({ NADIR_BACKEND: "cuda" });
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /NADIR_BACKEND must be "native" or "tfjs", found "cuda"/);
});
