/**
 * A log of the inputs a process reads, for reports that must say what they
 * were built from. `nadir report` sets `NADIR_INPUTS_LOG` to a file before it
 * executes a notebook; the loaders that read result folders call
 * {@link noteInput}, which appends one JSON line per input. Without the
 * variable nothing is written, so the call costs nothing in normal use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noteInput, readInputsLog } from "./inputs.ts";
 * const log = Deno.makeTempFileSync();
 * Deno.env.set("NADIR_INPUTS_LOG", log);
 * noteInput({ kind: "run", path: "results/nsl-kdd-knn/20261123T144212Z-f3de102" });
 * Deno.env.delete("NADIR_INPUTS_LOG");
 * noteInput({ kind: "run", path: "not/logged" });
 * assert.equal(readInputsLog(log).length, 1);
 * Deno.removeSync(log);
 * ```
 * @module
 */
import { resolve } from "node:path";

/** One input: a run folder read, or a results root listed (with the full runs it held). */
export type InputNote =
  | { kind: "run"; path: string }
  | { kind: "root"; path: string; runs: string[]; latestOnly?: boolean };

const ENV = "NADIR_INPUTS_LOG";

function logFile(): string | undefined {
  try {
    return Deno.env.get(ENV) || undefined;
  } catch {
    return undefined; // no --allow-env: nobody asked for a log
  }
}

/** Appends `note` (paths made absolute) to the file named by `NADIR_INPUTS_LOG`, when set. */
export function noteInput(note: InputNote): void {
  const file = logFile();
  if (!file) return;
  const abs: InputNote = note.kind === "run"
    ? { kind: "run", path: resolve(note.path) }
    : { ...note, path: resolve(note.path), runs: note.runs.map((r) => resolve(r)) };
  Deno.writeTextFileSync(file, JSON.stringify(abs) + "\n", { append: true });
}

/** The notes in an inputs log; a missing file holds none. Malformed lines are an error naming the line. */
export function readInputsLog(file: string): InputNote[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const out: InputNote[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line));
    } catch {
      throw new Error(
        `${file}:${i + 1}: expected one JSON input note per line, found ${JSON.stringify(line)}`,
      );
    }
  });
  return out;
}
