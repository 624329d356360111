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
 * The client closed its connection before its request body arrived (Deno's BadResource). Not the server's
 * error: answered without a log line, as a slow-read flood of aborted POSTs otherwise wrote three lines of
 * stack trace each.
 */
export class ClientGoneError extends Error {
  constructor(cause: unknown) {
    super("the client closed the connection before its request body arrived", { cause });
    this.name = "ClientGoneError";
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
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (e) {
      throw new ClientGoneError(e);
    }
    const { done, value } = step;
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
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : `${v} (outside the 64-bit float range)`;
  return Array.isArray(v) ? "an array" : typeof v;
}

/** Deepest JSON nesting a request body may have ({@link jsonDepthProblem}). */
export const MAX_JSON_DEPTH = 64;

/**
 * Scans JSON text for nesting deeper than `maxDepth` without parsing it: one
 * pass over the characters, skipping strings. JSON.parse of a deeply nested
 * 8 MiB body takes seconds of one thread, during which no other request is
 * served; this scan refuses such a body in a few milliseconds. Returns the
 * problem as a message, or undefined when the nesting is within the limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonDepthProblem } from "./http.ts";
 *
 * assert.equal(jsonDepthProblem('{"a":[[1]],"b":"[[[[["}', 3), undefined);
 * assert.equal(
 *   jsonDepthProblem("[[[[1]]]]", 3),
 *   "expected JSON nested at most 3 levels deep, found a 4th level at character 3",
 * );
 * ```
 */
export function jsonDepthProblem(text: string, maxDepth: number = MAX_JSON_DEPTH): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped, whatever it is
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) {
        return `expected JSON nested at most ${maxDepth} levels deep, found a ${
          ordinal(depth)
        } level at character ${i}`;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${["th", "st", "nd", "rd"][n % 10] ?? "th"}`;
}

/**
 * Decodes a request body as UTF-8 JSON after the {@link jsonDepthProblem}
 * scan. Returns the value, or the `body` field error to answer with 400.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJsonBody } from "./http.ts";
 *
 * const enc = new TextEncoder();
 * assert.deepEqual(parseJsonBody(enc.encode('{"a":1}')), { value: { a: 1 } });
 * assert.equal(parseJsonBody(enc.encode("[".repeat(100))).error?.field, "body");
 * assert.match(parseJsonBody(enc.encode("{x")).error!.message, /^invalid JSON/);
 * ```
 */
export function parseJsonBody(
  body: Uint8Array,
  maxDepth: number = MAX_JSON_DEPTH,
): { value: unknown; error?: undefined } | { value?: undefined; error: FieldError } {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch (e) {
    // A fatal TextDecoder reports bytes that are not UTF-8 with a TypeError; anything else is a bug.
    if (!(e instanceof TypeError)) throw e;
    return { error: { field: "body", message: "expected UTF-8 text" } };
  }
  const deep = jsonDepthProblem(text, maxDepth);
  if (deep) return { error: { field: "body", message: deep } };
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return { error: { field: "body", message: `invalid JSON: ${e.message}` } };
  }
}

/**
 * The media type of a request's Content-Type without parameters, lower-cased
 * (`"text/csv; charset=utf-8"` → `"text/csv"`); `""` when there is none.
 * Compared exactly, so `text/plain; x=application/json` is `text/plain`, as a
 * browser's CORS check reads it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mediaType } from "./http.ts";
 *
 * const req = (ct: string) => new Request("http://x/", { method: "POST", headers: { "content-type": ct } });
 * assert.equal(mediaType(req("Application/JSON; charset=utf-8")), "application/json");
 * assert.equal(mediaType(req("text/plain; x=application/json")), "text/plain");
 * ```
 */
export function mediaType(req: Request): string {
  return (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/**
 * Resolves after the event loop has had a turn (timers and I/O), so long work
 * done in slices lets other requests be served between the slices.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Query parameters a route does not take, or takes once and was given twice: errors, as unknown body fields
 * are. Before, `/alerts?limt=1` answered every alert and `limit=2&limit=x` used the first.
 */
export function queryProblems(q: URLSearchParams, known: readonly string[]): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  for (const k of q.keys()) {
    if (!known.includes(k)) {
      const expected = known.length ? `expected ${known.join(", ")}` : "this path takes none";
      errs.push({ field: k.slice(0, 40), message: `unknown query parameter (${expected})` });
    } else if (seen.has(k)) errs.push({ field: k, message: "given more than once" });
    seen.add(k);
  }
  return errs;
}
