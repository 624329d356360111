/**
 * The layering of src/ (README "Architecture"): imports point one way. The
 * building blocks never reach up into evaluation, serving or the CLI, and
 * detectors stay independent of where rows come from (capture, flow meters).
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { importSpecifiers } from "../src/eval/report_inputs.ts";
import { ROOT } from "./_shared.ts";

const SRC = join(ROOT, "src");

/** Folders under src/ each folder must not import (static, re-export or dynamic import). */
const FORBIDDEN: Record<string, string[]> = {
  util: [
    "data",
    "capture",
    "flows",
    "nn",
    "detectors",
    "thresholds",
    "adapt",
    "ids",
    "eval",
    "figures",
    "serve",
    "cli",
  ],
  data: ["eval", "serve", "cli"],
  capture: ["eval", "serve", "cli"],
  flows: ["eval", "serve", "cli"],
  nn: ["eval", "serve", "cli", "detectors"],
  detectors: ["eval", "serve", "cli", "capture", "flows"],
  thresholds: ["eval", "serve", "cli"],
  adapt: ["eval", "serve", "cli"],
  ids: ["serve", "cli"],
};

function* tsFiles(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* tsFiles(p);
    else if (e.isFile && e.name.endsWith(".ts")) yield p;
  }
}

/** The src/ folder a file lies in ("" for src/cli.ts and src/version.ts). */
function layer(file: string, src = SRC): string {
  const rel = relative(src, file).split("/");
  return rel.length > 1 ? rel[0] : "";
}

/** Every (file, imported src/ folder) pair that breaks {@link FORBIDDEN}. */
export function layerViolations(files: Iterable<string>, src = SRC): string[] {
  const out: string[] = [];
  for (const file of files) {
    const from = layer(file, src);
    const banned = FORBIDDEN[from];
    if (!banned) continue;
    // Doc comments show imports in examples: only code lines count.
    const code = Deno.readTextFileSync(file).replace(/^\s*(\*|\/\/).*$/gm, "");
    for (const spec of importSpecifiers(code)) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(src + "/")) continue;
      const to = layer(target, src);
      if (banned.includes(to)) {
        out.push(`src/${relative(src, file)} imports src/${relative(src, target)} (${from}/ → ${to}/)`);
      }
    }
  }
  return out;
}

Deno.test("architecture: imports point one way (building blocks never import eval/, serve/ or cli/)", () => {
  const files = [...tsFiles(SRC)];
  assert.ok(files.length > 100, "src/ scanned");
  for (const l of Object.keys(FORBIDDEN)) {
    assert.ok(files.some((f) => layer(f) === l), `src/${l}/ exists`);
  }
  assert.deepEqual(layerViolations(files), []);
});

Deno.test("architecture: the scan catches a detector importing the flow meter and a lazy import of the CLI", () => {
  // A hand-made src/ tree with one offending module.
  const src = join(Deno.makeTempDirSync({ prefix: "nadir-layers-" }), "src");
  Deno.mkdirSync(join(src, "detectors"), { recursive: true });
  const probe = join(src, "detectors", "P.ts");
  Deno.writeTextFileSync(
    probe,
    `import { x } from "../flows/pipeline.ts";\n// import { y } from "../serve/api.ts";\nconst c = await import("../cli/command.ts");\n`,
  );
  try {
    const found = layerViolations([probe], src);
    assert.deepEqual(found, [
      "src/detectors/P.ts imports src/flows/pipeline.ts (detectors/ → flows/)",
      "src/detectors/P.ts imports src/cli/command.ts (detectors/ → cli/)",
    ]);
  } finally {
    Deno.removeSync(dirname(src), { recursive: true });
  }
});
