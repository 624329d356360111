/**
 * One sha256 for files and bytes. Data verification, provenance stamps, model
 * fingerprints and result records all hash the same way (streamed, hex), so a
 * digest printed by one command can be compared with another's or with
 * `sha256sum`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex } from "./hash.ts";
 * assert.equal(
 *   sha256Hex(new TextEncoder().encode("abc")),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 * @module
 */
import { createHash, type Hash } from "node:crypto";

/** Hex sha256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Feeds a file into `h` in chunks (memory stays flat for large captures). */
async function update(h: Hash, path: string): Promise<void> {
  using f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await f.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
  }
}

/** Hex sha256 of a file's bytes, streamed (what `sha256sum FILE` prints). */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash("sha256");
  await update(h, path);
  return h.digest("hex");
}

/** Hex sha256 of several files' bytes concatenated in the given order. */
export async function filesSha256(paths: readonly string[]): Promise<string> {
  const h = createHash("sha256");
  for (const p of paths) await update(h, p);
  return h.digest("hex");
}
