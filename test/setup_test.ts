/**
 * The fresh-machine guarantee. Every external program a test or benchmark
 * spawns is named in PROGRAMS (test/_shared.ts) with its Debian package, and
 * scripts/setup.sh installs each of those packages. These tests check both
 * directions, so a program that only the developer's machine happened to have
 * fails here, by name, instead of on a brand-new CI machine.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import {
  completeEnvironment,
  exists,
  hasCommand,
  type Program,
  PROGRAMS,
  ROOT,
  SETUP_STAMP,
} from "./_shared.ts";

/** The APT_PACKAGES array of scripts/setup.sh. */
function setupPackages(): Set<string> {
  const sh = Deno.readTextFileSync(join(ROOT, "scripts", "setup.sh"));
  const m = /^APT_PACKAGES=\(([^)]*)\)/m.exec(sh);
  assert.ok(m, "scripts/setup.sh defines APT_PACKAGES=(...)");
  return new Set(m[1].split(/\s+/).filter(Boolean));
}

function* sources(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory && e.name !== "fixtures" && e.name !== "artifacts") yield* sources(p);
    else if (e.isFile && e.name.endsWith(".ts")) yield p;
  }
}

/**
 * Program names in the places a test or bench starts a process: the first
 * argument of Deno.Command and of the tests' sh/run/Child helpers, a program
 * under `ip netns exec NS`, an argv array (`["tshark", "-r", ...]`) and an
 * absolute /usr/bin path. Subcommand arrays passed as `args:` are not
 * programs and are left out.
 */
export function spawnedPrograms(source: string): Set<string> {
  const code = source.replace(/^\s*(\/\/|\*).*$/gm, "");
  const out = new Set<string>();
  const patterns = [
    /Deno\.Command\(\s*"([^"]+)"/g,
    /\b(?:sh|Child|spawn)\(\s*\[\s*"([^"]+)"/g, // helpers taking an argv array
    /\b(?:sh|run)\(\s*"([^"]+)"/g, // helpers taking (program, args)
    /"exec",\s*\w+,\s*"([^"]+)"/g,
    /(?<!(?:args:|main\(|cli\(|nadir\(|run\(|execPath\(\),)\s*)\[\s*"([A-Za-z][\w.-]*)",\s*"-[\w-]/g,
    /"\/(?:usr\/)?s?bin\/([\w.-]+)"/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.add(m[1].replace(/^.*\//, ""));
  // Deno subcommands that start an argv array handed to Deno.execPath() (e.g. a helper returning
  // ["run", "-A", ...]); no Debian program has these names.
  for (const sub of ["run", "eval", "compile", "task"]) out.delete(sub);
  return out;
}

Deno.test("setup: every program in PROGRAMS comes from a package scripts/setup.sh installs", () => {
  const pkgs = setupPackages();
  const missing = Object.entries(PROGRAMS).filter(([, pkg]) => !pkgs.has(pkg));
  assert.deepEqual(
    missing.map(([p, pkg]) => `${p} (${pkg})`),
    [],
    "add these packages to APT_PACKAGES in scripts/setup.sh",
  );
});

Deno.test("setup: every program spawned under test/ and bench/ is registered in PROGRAMS", () => {
  const unknown: string[] = [];
  for (const dir of ["test", "bench"]) {
    for (const f of sources(join(ROOT, dir))) {
      for (const p of spawnedPrograms(Deno.readTextFileSync(f))) {
        if (!(p in PROGRAMS)) unknown.push(`${p} in ${relative(ROOT, f)}`);
      }
    }
  }
  assert.deepEqual(
    unknown,
    [],
    "register these in PROGRAMS (test/_shared.ts) with their Debian package, or spawn Deno.execPath() instead of deno",
  );
});

Deno.test("setup: the scanner finds the ways tests start programs", () => {
  const found = spawnedPrograms(`
    new Deno.Command("openssl", { args: ["req", "-x509"] });
    sh(["ip", "netns", "exec", NS_B, "ping", "-c", "6"]);
    run("editcap", ["-F", "pcapng"]);
    peers.push(["ndpiReader", "-i", file]);
    new Deno.Command("/usr/bin/python3", {});
    // new Deno.Command("commented-out")
    return ["run", "-A", "child.ts"]; // a deno argv for Deno.execPath(), not a program
  `);
  assert.deepEqual([...found].sort(), ["editcap", "ip", "ndpiReader", "openssl", "ping", "python3"]);
});

Deno.test({
  name: "setup: after scripts/setup.sh every registered program is installed",
  ignore: !exists(SETUP_STAMP),
  fn() {
    const missing = (Object.keys(PROGRAMS) as Program[]).filter((p) => !hasCommand(p));
    assert.deepEqual(missing, [], `set-up completed (${SETUP_STAMP}) yet these programs are missing`);
  },
});

Deno.test("setup: a complete environment is recognised (root, ../shared/data, set-up stamp)", () => {
  // Guards the guard: on CI (root, ../shared beside the clone, set-up run) skips must turn into failures.
  const expected = Deno.uid() === 0 && exists(join(ROOT, "..", "shared", "data")) && exists(SETUP_STAMP);
  if (!Deno.env.get("NADIR_SHARED_DATA")) assert.equal(completeEnvironment(), expected);
});

/**
 * Whether a test file can run an ONNX model: it imports the text-embedding
 * detector or names it, or it fits every registered detector.
 */
export function runsOnnx(source: string): boolean {
  return /text_embedding\.ts"|"text-embedding["]/.test(source) ||
    (/\blistDetectors\(\)/.test(source) && /\.fit\(/.test(source));
}

Deno.test("setup: every test file that runs ONNX models is in scripts/test.sh's ONNX_TESTS (one isolate at a time)", () => {
  const sh = Deno.readTextFileSync(join(ROOT, "scripts", "test.sh"));
  const m = /^ONNX_TESTS=\(([^)]*)\)/m.exec(sh);
  assert.ok(m, "scripts/test.sh defines ONNX_TESTS=(...)");
  const listed = new Set(m[1].split(/\s+/).filter(Boolean));
  const found = new Set<string>();
  for (const p of sources(join(ROOT, "test"))) {
    if (p.endsWith("_test.ts") && runsOnnx(Deno.readTextFileSync(p))) found.add(relative(ROOT, p));
  }
  assert.ok(found.has("test/detectors/text_embedding_test.ts"), "the scan finds the text-embedding tests");
  assert.deepEqual([...found].sort(), [...listed].sort());
});
