/**
 * The commit a result, report or figure was made from. Results name their
 * folders after it and figures stamp it, so both ask git the same way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gitCommit } from "./git.ts";
 * const dir = Deno.makeTempDirSync();
 * assert.equal(gitCommit(dir), undefined); // not a repository
 * Deno.removeSync(dir);
 * ```
 * @module
 */

/**
 * The abbreviated commit of HEAD in `cwd` (`length` hex digits, at least; git
 * lengthens it when that is ambiguous), or undefined outside a git checkout or
 * without git. Uncommitted changes are not marked.
 */
export function gitCommit(cwd?: string, length = 7): string | undefined {
  try {
    const r = new Deno.Command("git", {
      args: ["rev-parse", `--short=${length}`, "HEAD"],
      cwd,
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (!r.success) return undefined;
    return new TextDecoder().decode(r.stdout).trim() || undefined;
  } catch {
    return undefined;
  }
}
