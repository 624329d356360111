/**
 * Helpers for the data tests: temp files built from slices of the real vendored files.
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { dataPath, nadir, ROOT } from "../_shared.ts";
import { scratchDir } from "../_scratch.ts";

export { dataPath, nadir, ROOT };

/** Path of a hand-written fixture (see test/fixtures/data/README.md). */
export function fixture(...parts: string[]): string {
  return `${ROOT}test/fixtures/data/${parts.join("/")}`;
}

/** The first `n` lines of a vendored gzipped file, as text lines. */
export function realLines(rel: string, n: number): string[] {
  const text = new TextDecoder().decode(gunzipSync(Deno.readFileSync(dataPath(rel))));
  return text.split("\n").slice(0, n);
}

/** Writes text (gzipped when the name ends in .gz) to a new temp file and returns its path. */
export function tempFile(name: string, content: string | Uint8Array): string {
  const dir = scratchDir("nadir-data-");
  const path = `${dir}/${name}`;
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  Deno.writeFileSync(path, name.endsWith(".gz") && typeof content === "string" ? gzipSync(bytes) : bytes);
  return path;
}
