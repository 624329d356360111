/**
 * Result folders: `results/<id>/<UTC timestamp>-<git short sha>/`.
 *
 * A run writes into `results/<id>/partial-<stamp>/` and renames it to
 * `<stamp>/` only when every file is written; a failed run keeps the
 * `partial-` folder with a `PARTIAL` file holding the error. Each file is
 * written to a temporary name and renamed, so no reader ever sees half a
 * metrics file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runStamp } from "./results.ts";
 * assert.equal(runStamp(new Date(Date.UTC(2026, 10, 23, 12)), "abc1234"), "20261123T120000Z-abc1234");
 * ```
 * @module
 */
import { join } from "node:path";
import { gitCommit } from "../util/git.ts";
import { exists } from "../util/fs.ts";

/** `20261123T120000Z-<sha>`. */
export function runStamp(date: Date, sha: string): string {
  const iso = date.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
  return `${iso}-${sha}`;
}

const shaAtStart = new Map<string, string>();

/**
 * The short git sha (7 digits) of the checkout `cwd` is in, or "nogit" outside one — as it was the
 * first time this process asked. The code a process runs is the code it loaded when it started, so a
 * long batch keeps naming that commit even when commits land while it runs.
 */
export function gitShortSha(cwd?: string): string {
  const key = cwd ?? Deno.cwd();
  let sha = shaAtStart.get(key);
  if (sha === undefined) shaAtStart.set(key, sha = gitCommit(cwd, 7) ?? "nogit");
  return sha;
}

/** Writes `data` to `path` atomically (temp file in the same folder, then rename). */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

/** JSON with stable 2-space formatting; non-finite numbers become null. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) +
    "\n";
}

/** A result folder being written. */
export class RunFolder {
  readonly id: string;
  /** The run's folder name: the stamp given to {@link create}, with `-2`, `-3` … when that name was taken. */
  readonly stamp: string;
  readonly root: string;
  #dir: string;
  #finished = false;

  private constructor(root: string, id: string, stamp: string) {
    this.root = root;
    this.id = id;
    this.stamp = stamp;
    this.#dir = join(root, id, `partial-${stamp}`);
  }

  /**
   * Creates `root/<id>/partial-<stamp>/`. Stamps are to the second, so two runs of one config that
   * start within the same second (a batch of quick runs, two shells) would share a folder: the later
   * one takes `<stamp>-2` (then `-3`, …), checked against both the partial and the finished name.
   */
  static async create(root: string, id: string, stamp: string): Promise<RunFolder> {
    await Deno.mkdir(join(root, id), { recursive: true });
    for (let k = 1;; k++) {
      const f = new RunFolder(root, id, k === 1 ? stamp : `${stamp}-${k}`);
      if (await exists(join(root, id, f.stamp))) continue;
      try {
        await Deno.mkdir(f.#dir); // not recursive: fails if another run holds this name
        return f;
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
    }
  }

  /** Current folder path (partial until {@link finish}). */
  get dir(): string {
    return this.#dir;
  }

  /** Path of a file inside the folder. */
  path(name: string): string {
    return join(this.#dir, name);
  }

  async writeJson(name: string, value: unknown): Promise<void> {
    await writeAtomic(this.path(name), toJson(value));
  }

  async writeBytes(name: string, bytes: Uint8Array | string): Promise<void> {
    await writeAtomic(this.path(name), bytes);
  }

  /** Renames the folder to its final name. */
  async finish(): Promise<string> {
    const final = join(this.root, this.id, this.stamp);
    await Deno.rename(this.#dir, final);
    this.#dir = final;
    this.#finished = true;
    return final;
  }

  /** Leaves the folder marked partial with the error. */
  async fail(error: unknown): Promise<void> {
    if (this.#finished) return;
    const msg = error instanceof Error
      ? `${error.name}: ${error.message}\n${error.stack ?? ""}`
      : String(error);
    await writeAtomic(this.path("PARTIAL"), `run failed at ${new Date().toISOString()}\n${msg}\n`);
  }
}
