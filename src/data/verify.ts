/**
 * Checksums of vendored data. `data/SHA256SUMS` (the format `sha256sum -c` reads: hash, two spaces,
 * path relative to data/) lists every vendored file; `nadir data verify` recomputes each hash.
 * data/SOURCES.md documents origin, licence and citation of the same files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyData } from "./verify.ts";
 * const r = await verifyData();
 * assert.ok(r.bad.length === 0 && r.ok.length > 0);
 * ```
 * @module
 */
import { fileSha256 } from "../util/hash.ts";
import { join, relative } from "node:path";
import { InputError } from "../util/errors.ts";
import { DATA_DIR } from "./source.ts";

/** One line of SHA256SUMS. */
export interface SumEntry {
  sha256: string;
  /** Path relative to the data directory. */
  path: string;
  /** Line in the sums file. */
  line: number;
}

/** Parses a SHA256SUMS file; malformed lines are InputErrors naming the line. */
export function parseSums(text: string, file = "data/SHA256SUMS"): SumEntry[] {
  const out: SumEntry[] = [];
  const seen = new Map<string, number>();
  // A byte-order mark (an editor's) is not part of the first line's hash.
  text.replace(/^\uFEFF/, "").split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (!line.trim() || line.startsWith("#")) return;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) {
      throw new InputError(`expected "<64 hex digits>  <path>", found "${line.slice(0, 80)}"`, {
        file,
        line: i + 1,
      });
    }
    const path = m[2].replace(/^\.\//, "");
    // A path that leaves the data directory ("../../etc/hostname") passed as a verified vendored file.
    if (path.startsWith("/") || path.split("/").includes("..")) {
      throw new InputError(`expected a path inside the data directory, found "${path}"`, {
        file,
        line: i + 1,
      });
    }
    const first = seen.get(path);
    if (first !== undefined) {
      throw new InputError(`"${path}" is listed twice (lines ${first} and ${i + 1})`, { file, line: i + 1 });
    }
    seen.set(path, i + 1);
    out.push({ sha256: m[1], path, line: i + 1 });
  });
  return out;
}

/** SHA-256 of a file, streamed (kept under this name for callers of verify.ts). */
export const sha256File: (path: string) => Promise<string> = fileSha256;

/** The outcome of {@link verifyData}. */
export interface VerifyResult {
  ok: string[];
  /** Files whose hash differs or that are missing, with the reason. */
  bad: { path: string; reason: string }[];
  /** Files under the data directory that SHA256SUMS does not list. */
  unlisted: string[];
}

function walk(dir: string, root: string, out: string[]): void {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) walk(p, root, out);
    else if (e.isFile) out.push(relative(root, p));
  }
}

/** Checks every file listed in `<dataDir>/SHA256SUMS`. */
export async function verifyData(dataDir: string = DATA_DIR): Promise<VerifyResult> {
  const sumsPath = join(dataDir, "SHA256SUMS");
  let text: string;
  try {
    text = Deno.readTextFileSync(sumsPath);
  } catch {
    throw new InputError("checksum list not found", { file: sumsPath });
  }
  const entries = parseSums(text, sumsPath);
  const res: VerifyResult = { ok: [], bad: [], unlisted: [] };
  for (const e of entries) {
    const p = join(dataDir, e.path);
    let got: string;
    try {
      got = await sha256File(p);
    } catch {
      res.bad.push({ path: e.path, reason: `missing (listed on line ${e.line} of SHA256SUMS)` });
      continue;
    }
    if (got === e.sha256) res.ok.push(e.path);
    else res.bad.push({ path: e.path, reason: `sha256 mismatch: expected ${e.sha256}, found ${got}` });
  }
  const listed = new Set(entries.map((e) => e.path));
  const all: string[] = [];
  walk(dataDir, dataDir, all);
  res.unlisted = all.filter((p) => !listed.has(p) && p !== "SHA256SUMS" && p !== "SOURCES.md").sort();
  return res;
}

/**
 * SHA256SUMS lines (path relative to `dataDir`) for files or directories (walked, sorted). Paths
 * outside the data directory are an InputError: only vendored files belong in the list.
 */
export async function checksumLines(paths: readonly string[], dataDir: string = DATA_DIR): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(p);
    } catch {
      throw new InputError("file not found", { file: p });
    }
    if (st.isDirectory) walk(p, ".", files);
    else files.push(p);
  }
  const out: string[] = [];
  for (const f of [...new Set(files)].sort()) {
    const rel = relative(Deno.realPathSync(dataDir), Deno.realPathSync(f));
    if (rel.startsWith("..")) {
      throw new InputError(`is outside ${dataDir}; copy it under data/ first`, { file: f });
    }
    if (rel === "SHA256SUMS" || rel === "SOURCES.md") continue;
    out.push(`${await sha256File(f)}  ${rel}`);
  }
  return out;
}
