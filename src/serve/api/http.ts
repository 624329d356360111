/**
 * Response and request plumbing shared by every route: JSON bodies and
 * errors with the API's security headers, and request bodies read with a
 * size limit that holds while the body streams in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonError } from "./http.ts";
 *
 * const r = jsonError(400, "validation failed", [{ field: "rows", message: "expected an array" }]);
 * assert.equal(r.status, 400);
 * assert.equal(r.headers.get("x-content-type-options"), "nosniff");
 * assert.deepEqual(await r.json(), {
 *   error: "validation failed",
 *   errors: [{ field: "rows", message: "expected an array" }],
 * });
 * ```
 * @module
 */

/** One validation problem. */
export interface FieldError {
  field: string;
  message: string;
}

/** Headers on every response, data and dashboard alike. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  // Plot writes a <style> element into each SVG, hence 'unsafe-inline' for styles only; scripts are 'self'.
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
};

/**
 * A JSON response that is never cached, with {@link SECURITY_HEADERS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { json } from "./http.ts";
 *
 * const r = json({ ok: true }, 201, { "x-extra": "1" });
 * assert.equal(r.status, 201);
 * assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
 * assert.equal(r.headers.get("cache-control"), "no-store");
 * assert.equal(r.headers.get("x-extra"), "1");
 * assert.deepEqual(await r.json(), { ok: true });
 * ```
 */
export function json(body: unknown, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...SECURITY_HEADERS,
      ...extra,
    },
  });
}

/**
 * The API's error body: `{"error": message}`, plus `errors` (one entry per field) when given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonError } from "./http.ts";
 *
 * const r = jsonError(404, "no alert with id \"x\"");
 * assert.equal(r.status, 404);
 * assert.deepEqual(await r.json(), { error: "no alert with id \"x\"" });
 * ```
 */
export function jsonError(
  status: number,
  message: string,
  errors?: FieldError[],
  extra: Record<string, string> = {},
): Response {
  return json(errors ? { error: message, errors } : { error: message }, status, extra);
}

/**
 * Thrown by {@link readBody} when the body is larger than its limit; the
 * router answers it with 413.
 */
export class BodyTooLargeError extends Error {
  /**
   * @param limit The limit, in bytes, the body went past.
   */
  constructor(readonly limit: number) {
    super(`expected a request body of at most ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/**
 * Reads the body as bytes, stopping as soon as it passes `limit`: a
 * Content-Length above the limit is refused before reading, and a missing or
 * lying one does not help because the count is kept while the chunks arrive.
 *
 * @throws {BodyTooLargeError} when the body is larger than `limit` bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BodyTooLargeError, readBody } from "./http.ts";
 *
 * const req = (body: string) => new Request("http://localhost/", { method: "POST", body });
 * assert.deepEqual(await readBody(req("abc"), 3), new TextEncoder().encode("abc"));
 * await assert.rejects(readBody(req("abcd"), 3), BodyTooLargeError);
 * ```
 */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const len = req.headers.get("content-length");
  if (len !== null && Number(len) > limit) throw new BodyTooLargeError(limit);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      // The answer is 413 whatever cancel() does; it only rejects when the stream has
      // already errored, and then there is nothing left to release.
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/**
 * A value as an error message shows it: `null`, a number, a quoted string
 * (cut at 40 characters), or its kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeValue } from "./http.ts";
 *
 * assert.equal(describeValue("abc"), 'string "abc"');
 * assert.equal(describeValue([1]), "an array");
 * assert.equal(describeValue(undefined), "undefined");
 * ```
 */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `string ${JSON.stringify(v.slice(0, 40))}`;
  if (typeof v === "number") return String(v);
  return Array.isArray(v) ? "an array" : typeof v;
}
