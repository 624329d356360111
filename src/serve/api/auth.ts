/**
 * Who may call the API: the bearer token (loaded from NADIR_TOKEN or a
 * file, compared in constant time), the routes that need none, and the
 * loopback rule that lets a server run without a token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkBearer } from "./auth.ts";
 *
 * const token = "0123456789abcdef0123";
 * const req = (h: Record<string, string>) => new Request("http://127.0.0.1/alerts", { headers: h });
 * assert.equal(await checkBearer(req({ authorization: `Bearer ${token}` }), token), undefined);
 * assert.equal((await checkBearer(req({}), token))?.status, 401);
 * ```
 * @module
 */
import { UsageError } from "../../util/errors.ts";
import { jsonError } from "./http.ts";

/** Shortest token {@link loadToken} accepts. */
export const MIN_TOKEN_LENGTH = 16;

/** Paths served without a token (the dashboard shell, health and the contract); `/static/*` too. */
const PUBLIC = new Set(["/health", "/", "/index.html", "/openapi.json", "/favicon.ico"]);

/**
 * True for the paths anyone may fetch: the dashboard page and its static
 * files carry no data, `/health` is for probes, `/openapi.json` is the contract.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPublicPath } from "./auth.ts";
 *
 * assert.ok(isPublicPath("/health") && isPublicPath("/static/app.js"));
 * assert.ok(!isPublicPath("/alerts") && !isPublicPath("/metrics"));
 * ```
 */
export function isPublicPath(path: string): boolean {
  return PUBLIC.has(path) || path.startsWith("/static/");
}

async function sha256(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
}

/**
 * Constant-time token check. It compares SHA-256 digests, so neither where the
 * first difference is nor the length of the expected token leaks through timing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tokenMatches } from "./auth.ts";
 *
 * assert.equal(await tokenMatches("secret-secret-secret", "secret-secret-secret"), true);
 * assert.equal(await tokenMatches("secret", "secret-secret-secret"), false);
 * ```
 */
export async function tokenMatches(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Checks `Authorization: Bearer <token>`. Returns undefined when the request
 * may go on, else the 401 response to send (with `WWW-Authenticate`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkBearer } from "./auth.ts";
 *
 * const req = new Request("http://127.0.0.1/alerts", { headers: { authorization: "Basic abc" } });
 * const r = await checkBearer(req, "0123456789abcdef0123");
 * assert.equal(r?.status, 401);
 * assert.equal(r?.headers.get("www-authenticate"), 'Bearer realm="nadir"');
 * ```
 */
export async function checkBearer(req: Request, token: string): Promise<Response | undefined> {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
  if (m && await tokenMatches(m[1], token)) return undefined;
  return jsonError(401, "missing or wrong bearer token", undefined, {
    "www-authenticate": 'Bearer realm="nadir"',
  });
}

/**
 * True for 127.0.0.0/8, ::1 and "localhost".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLoopback } from "./auth.ts";
 *
 * assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost"));
 * assert.ok(!isLoopback("0.0.0.0") && !isLoopback("10.0.0.1"));
 * ```
 */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Reads the API token: NADIR_TOKEN, else the first line of `file`. Checks it
 * is long enough.
 *
 * @throws {UsageError} when the file cannot be read or the token is shorter than 16 characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadToken } from "./auth.ts";
 *
 * assert.throws(() => loadToken("/nonexistent/token"), /cannot read --token-file/);
 * ```
 */
export function loadToken(file?: string): string | undefined {
  let t: string | undefined;
  if (file) {
    try {
      t = Deno.readTextFileSync(file).split(/\r?\n/)[0].trim();
    } catch (e) {
      throw new UsageError(`cannot read --token-file ${file}: ${(e as Error).message}`);
    }
  } else t = Deno.env.get("NADIR_TOKEN")?.trim() || undefined;
  if (t !== undefined && t.length < MIN_TOKEN_LENGTH) {
    throw new UsageError(
      `API token too short: expected at least ${MIN_TOKEN_LENGTH} characters, found ${t.length}`,
    );
  }
  return t;
}

/**
 * Why a request's host name (`URL.hostname`, from its Host header) is not one
 * this server answers to, or undefined when it is: a loopback name or
 * address, or one of `allowed` (lower-case, IPv6 without brackets). A page on
 * an attacker's domain that re-points its DNS name at 127.0.0.1 (DNS
 * rebinding) reaches the server with its own name in Host, and is refused here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostProblem } from "./auth.ts";
 *
 * const allowed = new Set(["sensor.lan"]);
 * assert.equal(hostProblem("127.0.0.1", allowed), undefined);
 * assert.equal(hostProblem("[::1]", allowed), undefined);
 * assert.equal(hostProblem("Sensor.LAN", allowed), undefined);
 * assert.match(hostProblem("rebind.example", allowed)!, /not allowed: expected localhost/);
 * ```
 */
export function hostProblem(hostname: string, allowed: ReadonlySet<string>): string | undefined {
  const h = hostname.toLowerCase().replace(/\.$/, "");
  if (isLoopback(h) || allowed.has(h) || allowed.has(h.replace(/^\[(.*)\]$/, "$1"))) return undefined;
  const extra = allowed.size ? `, ${[...allowed].slice(0, 8).join(", ")}` : " (add names with --allow-host)";
  return `host ${
    JSON.stringify(h.slice(0, 100))
  } not allowed: expected localhost, 127.0.0.1 or [::1]${extra}`;
}
