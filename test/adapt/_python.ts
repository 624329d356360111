/**
 * Python references for the drift-detector tests: the stream River's
 * documentation builds with the standard library's `random.Random`, and
 * scipy's Kolmogorov–Smirnov functions. Spawns /usr/bin/python3 (registered in
 * PROGRAMS); scipy comes with python3-sklearn, which scripts/setup.sh installs.
 *
 * @module
 */
import { needPrograms, type Unmet } from "../_shared.ts";

const PYTHON = "/usr/bin/python3";

/** Runs `code` with python3, `arg` as sys.argv[1]; returns its stdout parsed as JSON. */
export function pythonJson<T>(code: string, arg = ""): T {
  const r = new Deno.Command(PYTHON, { args: ["-c", code, arg], stdout: "piped", stderr: "piped" })
    .outputSync();
  const err = new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`python3 failed (exit ${r.code}): ${err}`);
  return JSON.parse(new TextDecoder().decode(r.stdout)) as T;
}

/** Unmet when python3 is missing. */
export function needPython(): Unmet | undefined {
  return needPrograms("python3");
}

/** Unmet when python3 or its scipy is missing. */
export function needScipy(): Unmet | undefined {
  const missing = needPrograms("python3");
  if (missing) return missing;
  const r = new Deno.Command(PYTHON, { args: ["-c", "import scipy.stats"], stdout: "null", stderr: "null" })
    .outputSync();
  return r.success ? undefined : {
    kind: "setup",
    why:
      "python3 cannot import scipy (apt install python3-scipy; python3-sklearn, which scripts/setup.sh installs, brings it)",
  };
}

/**
 * The stream of River's drift examples (https://riverml.xyz/dev/api/drift/ADWIN/,
 * .../PageHinkley/, .../KSWIN/):
 * `rng = random.Random(12345)`, then `rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)`,
 * made by Python's own generator so that it is the very same stream.
 */
export function riverExampleStream(): number[] {
  return pythonJson<number[]>(
    "import json, random\n" +
      "rng = random.Random(12345)\n" +
      "print(json.dumps(rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)))",
  );
}
