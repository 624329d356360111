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
import { InputError, UsageError } from "../../util/errors.ts";
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
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) {
    throw new UsageError(`expected a port 0–65535 to listen on, found ${o.port}`);
  }
  const pem = (file: string, what: string) => {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (e) {
      throw new InputError(`cannot read the TLS ${what}: ${(e as Error).message}`, { file });
    }
    if (!/-----BEGIN [A-Z ]+-----/.test(text)) {
      throw new InputError(`expected a PEM ${what} ("-----BEGIN …-----"), found none`, { file });
    }
    return text;
  };
  const tls = o.certFile && o.keyFile
    ? { cert: pem(o.certFile, "certificate"), key: pem(o.keyFile, "key") }
    : {};
  // What a user gets wrong here (a port in use, an address not of this machine, a key that does not
  // match) had ended in a stack trace: said in one line, naming what was asked for.
  try {
    return Deno.serve({
      hostname: o.host,
      port: o.port,
      signal: o.signal,
      ...tls,
      onListen: (addr) => o.onListen?.(addr as Deno.NetAddr),
    }, o.handler);
  } catch (e) {
    const where = `${o.host}:${o.port}`;
    if (e instanceof Deno.errors.AddrInUse) {
      throw new InputError(
        `cannot listen on ${where}: the port is in use (another nadir, or another program)`,
      );
    }
    if (
      e instanceof Deno.errors.AddrNotAvailable || e instanceof TypeError ||
      e instanceof Deno.errors.InvalidData
    ) {
      throw new InputError(`cannot listen on ${where}: ${(e as Error).message}`);
    }
    throw e;
  }
}
