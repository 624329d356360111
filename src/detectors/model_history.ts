/**
 * Versioned model histories: every model update is a new, complete model
 * directory that names its parent, so any update can be rolled back
 * (`nadir model history|rollback`). A history is a directory (its "home"):
 *
 * ```
 * <home>/HEAD.json     {"head": "v0003", "updatedAt": ISO}, replaced atomically (temp file + rename)
 * <home>/log.jsonl     one line per action: {"at", "action": "init"|"update"|"rollback", "from", "to", "reason"}
 * <home>/v0001/        a model directory (manifest.json, weights/, see ./model_dir.ts) + lineage.json
 * <home>/v0002/ ...
 * ```
 *
 * `lineage.json` is `{version, parent, createdAt, reason, ...extra}`: `parent`
 * is the version that was the head when this one was committed (null for the
 * first), `extra` any JSON the writer adds (update policy, rows learned,
 * feedback counts, threshold). Versions are never changed or deleted once
 * written; a rollback only moves HEAD and is logged. {@link resolveModelDir}
 * turns a history home into its head version's directory, so every command
 * that takes a model directory also takes a history.
 *
 * A version is built in a temporary directory inside the home (`.tmp-*`) and
 * renamed into place only when complete, and HEAD moves after that, so a crash
 * leaves either the old head or the new one, never a half-written version
 * under HEAD (at worst an orphan `.tmp-*` directory or an unreferenced newest
 * version, both ignored). One writer at a time is assumed: two processes
 * committing to the same home concurrently may pick the same version number
 * (the second rename then fails) or race on HEAD; serialise writers yourself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { createDetector } from "./registry.ts";
 * import { loadModel, saveModel } from "./model_dir.ts";
 * import { commitVersion, initHistory, readHistory, resolveModelDir, rollback } from "./model_history.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 *
 * const fit = async (rows: number[][]) => {
 *   const d = createDetector("knn", { k: 1 }, 0);
 *   await d.fit(matrixFromRows(rows, ["a", "b"]));
 *   return d;
 * };
 * const tmp = await Deno.makeTempDir();
 * const first = join(tmp, "first");
 * await saveModel(first, { detector: await fit([[0, 0], [1, 1]]), seed: 0, featureNames: ["a", "b"] });
 *
 * const home = join(tmp, "history");
 * await initHistory(home, first, { reason: "trained on week 1" });
 * const d2 = await fit([[0, 0], [1, 1], [2, 2]]);
 * const v2 = await commitVersion(
 *   home,
 *   async (dir) => void await saveModel(dir, { detector: d2, seed: 0, featureNames: ["a", "b"] }),
 *   { reason: "sliding update", learned: 1 },
 * );
 * assert.deepEqual([v2.version, v2.parent, v2.learned], ["v0002", "v0001", 1]);
 * assert.equal(await resolveModelDir(home), join(home, "v0002"));
 *
 * assert.deepEqual(await rollback(home), { from: "v0002", to: "v0001" });
 * const h = await readHistory(home);
 * assert.equal(h.head, "v0001");
 * assert.deepEqual(h.log.map((e) => e.action), ["init", "update", "rollback"]);
 * assert.equal((await loadModel(await resolveModelDir(home))).detector.name, "knn");
 * await Deno.remove(tmp, { recursive: true });
 * ```
 * @module
 */
import { join, resolve } from "node:path";
import { InputError } from "../util/errors.ts";
import { loadModel, readManifest } from "./model_dir.ts";

/** The contents of a version's `lineage.json`. */
export interface Lineage {
  /** The version's directory name (`v0001`, `v0002`, ...). */
  version: string;
  /** The head when this version was committed; null for the first version. */
  parent: string | null;
  /** ISO-8601 time the version was committed. */
  createdAt: string;
  /** Why the version exists ("initial model", "sliding update", ...). */
  reason: string;
  /** Anything else the writer recorded (policy, rows learned, feedback, threshold, ...). */
  [key: string]: unknown;
}

/** What the writer of a new version records in its lineage: a reason and any extra JSON. */
export interface LineageInput {
  reason: string;
  [key: string]: unknown;
}

/** One line of `log.jsonl`. */
export interface LogEntry {
  /** ISO-8601 time of the action. */
  at: string;
  action: "init" | "update" | "rollback";
  /** The head before the action (null for init). */
  from: string | null;
  /** The head after the action. */
  to: string;
  reason: string;
}

/** Everything {@link readHistory} reads. */
export interface History {
  /** The head version's name. */
  head: string;
  /** Every version's lineage, oldest first. */
  versions: Lineage[];
  /** Every logged action, oldest first. */
  log: LogEntry[];
}

/** Options of {@link initHistory}. */
export interface InitHistoryOptions {
  /** The first version's reason (default "initial model"). */
  reason?: string;
}

/** Options of {@link rollback}. */
export interface RollbackOptions {
  /** Version to make the head (default: the head's parent). */
  to?: string;
  /** Why (default "rollback"), recorded in the log. */
  reason?: string;
}

const VERSION_NAME = /^v\d{4,}$/;
const HEAD = "HEAD.json";
const LOG = "log.jsonl";
const LINEAGE = "lineage.json";

function versionName(n: number): string {
  return `v${String(n).padStart(4, "0")}`;
}

function versionNumber(v: string): number {
  return Number(v.slice(1));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
}

/** `JSON.stringify` cut to a readable length, for "found ..." in messages. */
function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** True when `dir` is a model history (it holds `HEAD.json`). */
export async function isModelHistory(dir: string): Promise<boolean> {
  try {
    return (await Deno.stat(join(dir, HEAD))).isFile;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

async function readJson(file: string, missing: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (isNotFound(e)) throw new InputError(missing, { file });
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, { file });
  }
}

/** Reads HEAD.json and checks that the version it names exists. */
async function readHead(home: string): Promise<string> {
  const file = join(home, HEAD);
  let st: Deno.FileInfo | undefined;
  try {
    st = await Deno.stat(home);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (!st) throw new InputError("model history not found", { file: home });
  if (!st.isDirectory) {
    throw new InputError("expected a model history directory, found a file", { file: home });
  }
  const h = await readJson(
    file,
    "not a model history: HEAD.json is missing (create one with `nadir model init HOME --from MODEL_DIR`)",
  );
  if (!isObject(h) || typeof h.head !== "string" || !VERSION_NAME.test(h.head)) {
    throw new InputError(
      `expected {"head": "vNNNN", "updatedAt": ...}, found ${shown(h)}`,
      { file },
    );
  }
  if (!await isDir(join(home, h.head))) {
    throw new InputError(`HEAD names version ${h.head}, but ${join(home, h.head)} does not exist`, { file });
  }
  return h.head;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Reads and checks one version's lineage.json. */
async function readLineage(home: string, version: string): Promise<Lineage> {
  const file = join(home, version, LINEAGE);
  const l = await readJson(file, `version ${version} has no lineage.json`);
  const problem = !isObject(l)
    ? `expected a JSON object, found ${shown(l)}`
    : l.version !== version
    ? `field version should be "${version}" (the directory's name), found ${shown(l.version)}`
    : !(l.parent === null || (typeof l.parent === "string" && VERSION_NAME.test(l.parent)))
    ? `field parent should be null or a version name like "v0001", found ${shown(l.parent)}`
    // A version is made from the head, so its parent is older: a later or equal one is a cycle (rollbacks
    // went v0003 → v0002 → v0001 → v0003, forward) or an edit, not a history.
    : l.parent !== null && versionNumber(l.parent as string) >= versionNumber(version)
    ? `field parent should be an older version than ${version}, found ${shown(l.parent)}`
    : typeof l.createdAt !== "string"
    ? `field createdAt should be an ISO-8601 string, found ${shown(l.createdAt)}`
    : typeof l.reason !== "string"
    ? `field reason should be a string, found ${shown(l.reason)}`
    : undefined;
  if (problem) throw new InputError(problem, { file });
  return l as Lineage;
}

/** Version directory names in `home`, in version order. */
async function listVersions(home: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(home)) {
    if (e.isDirectory && VERSION_NAME.test(e.name)) out.push(e.name);
  }
  return out.sort((a, b) => versionNumber(a) - versionNumber(b));
}

async function writeHead(home: string, head: string): Promise<void> {
  const tmp = await Deno.makeTempFile({ dir: home, prefix: ".HEAD.json.tmp-" });
  try {
    await Deno.writeTextFile(tmp, JSON.stringify({ head, updatedAt: new Date().toISOString() }) + "\n");
    await Deno.rename(tmp, join(home, HEAD));
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

async function appendLog(home: string, entry: LogEntry): Promise<void> {
  await Deno.writeTextFile(join(home, LOG), JSON.stringify(entry) + "\n", { append: true });
}

/** Copies a directory tree of regular files (a symbolic link is refused: it could point anywhere). */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    const src = join(from, e.name), dst = join(to, e.name);
    if (e.isDirectory) await copyTree(src, dst);
    else if (e.isFile) await Deno.copyFile(src, dst);
    else {
      throw new InputError(
        `expected only regular files and directories in a model directory, found ${
          e.isSymlink ? "a symbolic link" : "something else"
        }`,
        { file: src },
      );
    }
  }
}

/**
 * Builds a version in a temporary directory inside `home`, renames it to the next version number and
 * moves HEAD to it. On any failure the temporary directory is removed and HEAD is unchanged.
 */
async function addVersion(
  home: string,
  parent: string | null,
  write: (dir: string) => Promise<void>,
  lineage: LineageInput,
): Promise<Lineage> {
  if (typeof lineage?.reason !== "string") {
    throw new TypeError(`lineage.reason should be a string, found ${shown(lineage?.reason)}`);
  }
  const existing = await listVersions(home);
  const version = versionName(existing.length ? versionNumber(existing[existing.length - 1]) + 1 : 1);
  const tmp = await Deno.makeTempDir({ dir: home, prefix: ".tmp-" });
  const full: Lineage = {
    version,
    parent,
    createdAt: new Date().toISOString(),
    reason: lineage.reason,
  };
  for (const [k, v] of Object.entries(lineage)) if (!(k in full)) full[k] = v;
  try {
    await write(tmp);
    try {
      await readManifest(tmp);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw new InputError(
        `the new version is not a complete model directory (${e.detail}); nothing was committed`,
        { file: join(home, version) },
        { cause: e },
      );
    }
    await Deno.writeTextFile(join(tmp, LINEAGE), JSON.stringify(full, null, 2) + "\n");
    await Deno.rename(tmp, join(home, version));
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  await writeHead(home, version);
  await appendLog(home, {
    at: full.createdAt,
    action: parent === null ? "init" : "update",
    from: parent,
    to: version,
    reason: full.reason,
  });
  return full;
}

/**
 * Creates a model history at `home` (absent or an empty directory) whose first version, `v0001`, is a
 * copy of the model directory `fromModelDir` (checked with {@link readManifest} first).
 */
export async function initHistory(
  home: string,
  fromModelDir: string,
  options: InitHistoryOptions = {},
): Promise<Lineage> {
  if (await isModelHistory(fromModelDir)) {
    throw new InputError(
      "expected a model directory to start the history from, found a model history; " +
        "pass one of its versions (e.g. its head) instead",
      { file: fromModelDir },
    );
  }
  (await loadModel(fromModelDir)).detector.dispose?.();
  // Copied into itself until "File name too long", leaving an empty folder inside the source model.
  const src = resolve(fromModelDir), dst = resolve(home);
  if (dst === src || dst.startsWith(src + "/")) {
    throw new InputError(`the new model history would be inside the model it starts from (${fromModelDir})`, {
      file: home,
    });
  }
  try {
    const st = await Deno.stat(home);
    if (!st.isDirectory) {
      throw new InputError("expected an absent or empty directory for the new model history, found a file", {
        file: home,
      });
    }
    const existing = await isModelHistory(home);
    for await (const e of Deno.readDir(home)) {
      throw new InputError(
        `expected an absent or empty directory for the new model history, found ${
          existing ? "an existing model history" : `"${e.name}" in it`
        }`,
        { file: home },
      );
    }
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  await Deno.mkdir(home, { recursive: true });
  return await addVersion(home, null, (dir) => copyTree(fromModelDir, dir), {
    reason: options.reason ?? "initial model",
  });
}

/**
 * Commits a new version: `write(dir)` fills a fresh temporary directory inside `home` (typically with
 * {@link saveModel}, plus any extra files); the result must be a model directory. Its `lineage.json`
 * gets `lineage` with `version`, `parent` (the current head) and `createdAt` set here, then the
 * directory becomes the next version (`max + 1`) and HEAD moves to it. When `write` throws, the
 * temporary directory is removed, HEAD is unchanged and the error propagates.
 */
export async function commitVersion(
  home: string,
  write: (dir: string) => Promise<void>,
  lineage: LineageInput,
): Promise<Lineage> {
  const head = await readHead(home);
  return await addVersion(home, head, write, lineage);
}

/** Reads HEAD, every version's lineage (oldest first) and the action log. */
export async function readHistory(home: string): Promise<History> {
  const head = await readHead(home);
  const versions: Lineage[] = [];
  const names = await listVersions(home);
  for (const v of names) versions.push(await readLineage(home, v));
  for (const l of versions) {
    if (l.parent !== null && !names.includes(l.parent)) {
      throw new InputError(`field parent names ${l.parent}, which is not a version of this history`, {
        file: join(home, l.version, LINEAGE),
      });
    }
  }
  const log: LogEntry[] = [];
  const file = join(home, LOG);
  let text = "";
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(lines[i]);
    } catch (e) {
      throw new InputError(`invalid JSON: ${(e as Error).message}`, { file, line: i + 1 });
    }
    if (
      !isObject(entry) || typeof entry.at !== "string" || typeof entry.to !== "string" ||
      !["init", "update", "rollback"].includes(entry.action as string)
    ) {
      throw new InputError(
        `expected {"at", "action": "init"|"update"|"rollback", "from", "to", "reason"}, found ${
          shown(entry)
        }`,
        { file, line: i + 1 },
      );
    }
    log.push(entry as unknown as LogEntry);
  }
  return { head, versions, log };
}

/** The directory of the head version of the history at `home`. */
export async function headDir(home: string): Promise<string> {
  return join(home, await readHead(home));
}

/**
 * Moves HEAD back to `options.to` (default: the head's parent) and logs it. No version is deleted, so a
 * rollback can itself be undone (`rollback(home, {to: "v0003"})`). Fails with an {@link InputError} when
 * the head has no parent, `to` is not a version of this history, or it already is the head.
 */
export async function rollback(
  home: string,
  options: RollbackOptions = {},
): Promise<{ from: string; to: string }> {
  // The whole history first: a rollback had appended to a log that `history` could no longer read, and
  // followed lineage that went in a circle.
  await readHistory(home);
  const from = await readHead(home);
  let to = options.to;
  if (to === undefined) {
    const parent = (await readLineage(home, from)).parent;
    if (parent === null) {
      throw new InputError(
        `the head ${from} is the first version (its parent is null); nothing to roll back to`,
        {
          file: join(home, from, LINEAGE),
        },
      );
    }
    to = parent;
  } else if (!VERSION_NAME.test(to)) {
    throw new InputError(`expected a version name like "v0002", found "${to}"`, { file: home });
  }
  if (!await isDir(join(home, to))) {
    const known = (await listVersions(home)).join(", ");
    throw new InputError(`version ${to} does not exist; the versions are ${known}`, { file: home });
  }
  if (to === from) throw new InputError(`${to} already is the head; nothing to roll back`, { file: home });
  await readLineage(home, to);
  // Loaded whole, weights checked against the manifest: a version with a truncated weight file had become
  // the head, and every predict with it failed after.
  (await loadModel(join(home, to))).detector.dispose?.();
  await writeHead(home, to);
  await appendLog(home, {
    at: new Date().toISOString(),
    action: "rollback",
    from,
    to,
    reason: options.reason ?? "rollback",
  });
  return { from, to };
}

/**
 * The model directory to load for `dir`: `dir` itself for a plain model directory, the head version's
 * directory for a model history.
 */
export async function resolveModelDir(dir: string): Promise<string> {
  return await isModelHistory(dir) ? await headDir(dir) : dir;
}
