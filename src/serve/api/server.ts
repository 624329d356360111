/**
 * Starting the HTTP(S) server: Deno.serve with the loopback rule (no token,
 * no listening off loopback) and optional TLS from PEM files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveApi } from "./server.ts";
 *
 * const handler = () => Promise.resolve(new Response("ok"));
 * assert.throws(() => serveApi({ host: "0.0.0.0", port: 0, handler }), /without a token/);
 * assert.throws(
 *   () => serveApi({ host: "127.0.0.1", port: 0, handler, certFile: "cert.pem" }),
 *   /--cert and --key go together/,
 * );
 * ```
 * @module
 */
import { UsageError } from "../../util/errors.ts";
import { isLoopback } from "./auth.ts";

/** Options for {@link serveApi}. */
export interface ServeOptions {
  host: string;
  port: number;
  handler: (req: Request) => Promise<Response>;
  /** Whether a token is configured (required off loopback). */
  hasToken?: boolean;
  /** PEM certificate and key file paths for HTTPS. */
  certFile?: string;
  keyFile?: string;
  signal?: AbortSignal;
  onListen?: (addr: Deno.NetAddr) => void;
}

/**
 * Starts Deno.serve with the auth rule and optional TLS.
 *
 * @throws {UsageError} when asked to listen off loopback without a token, or
 * given only one of `certFile` and `keyFile`.
 */
export function serveApi(o: ServeOptions): Deno.HttpServer<Deno.NetAddr> {
  if (!isLoopback(o.host) && !o.hasToken) {
    throw new UsageError(
      `refusing to listen on ${o.host} without a token: set NADIR_TOKEN or pass --token-file (loopback needs none)`,
    );
  }
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const tls = o.certFile && o.keyFile
    ? { cert: Deno.readTextFileSync(o.certFile), key: Deno.readTextFileSync(o.keyFile) }
    : {};
  return Deno.serve({
    hostname: o.host,
    port: o.port,
    signal: o.signal,
    ...tls,
    onListen: (addr) => o.onListen?.(addr as Deno.NetAddr),
  }, o.handler);
}
