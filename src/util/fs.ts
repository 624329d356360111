/**
 * Whether a path exists, for the places that only need a yes or no. A
 * permission or I/O error counts as "no": callers that must tell them apart
 * stat the path themselves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exists, existsSync, readTextIfExists, statIfExists } from "./fs.ts";
 * const dir = Deno.makeTempDirSync();
 * assert.equal(await exists(dir), true);
 * assert.equal(existsSync(`${dir}/missing`), false);
 * assert.equal(readTextIfExists(`${dir}/missing`), undefined);
 * assert.equal(statIfExists(dir)?.isDirectory, true);
 * assert.equal(statIfExists(`${dir}/missing`), undefined);
 * Deno.removeSync(dir);
 * ```
 * @module
 */

/** Whether `path` exists (a dangling symlink counts: it is not followed). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** {@link exists}, synchronously. */
export function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * What `Deno.statSync` finds at `path` (links followed), or undefined when it finds nothing it can read:
 * for checks that only tell "a file", "a directory" and "not there" apart.
 */
export function statIfExists(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * A text file's contents, or undefined when it does not exist (a file a program keeps across runs and
 * may not have written yet); any other error is thrown.
 */
export function readTextIfExists(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}
