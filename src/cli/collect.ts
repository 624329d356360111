/**
 * `nadir collect`: many sensors as one — read the alerts, drift events and
 * health that monitors publish into NATS JetStream, store them in a SQLite
 * file exactly once, and serve the API and dashboard over all of them.
 *
 * @module
 */
import { type Command, num, str } from "./command.ts";
import { UsageError } from "../util/errors.ts";

/** `HOST:PORT` (or `nats://HOST:PORT`) → host and port. */
export function parseNatsUrl(url: string): { host: string; port: number } {
  const m = /^(?:nats:\/\/)?([^:/\s]+)(?::(\d{1,5}))?\/?$/.exec(url);
  const port = Number(m?.[2] ?? 4222);
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new UsageError(`nadir collect: --nats expects HOST:PORT or nats://HOST:PORT, found "${url}"`);
  }
  return { host: m[1], port };
}

export const command: Command = {
  name: "collect",
  summary: "Collect many sensors' alerts from NATS JetStream into one store, API and dashboard",
  options: {
    nats: { type: "string", arg: "URL", description: "NATS server (HOST:PORT or nats://HOST:PORT)" },
    db: { type: "string", arg: "FILE", description: "SQLite store", default: "collector.db" },
    stream: {
      type: "string",
      arg: "NAME",
      description: "JetStream stream the sensors publish into",
      default: "NADIR",
    },
    durable: {
      type: "string",
      arg: "NAME",
      description: "Durable consumer name",
      default: "nadir-collector",
    },
    "token-file": { type: "string", arg: "FILE", description: "NATS token (file holding it)" },
    tls: { type: "boolean", description: "TLS to the NATS server (used anyway when the server requires it)" },
    "tls-ca": {
      type: "string",
      arg: "FILE",
      description: "PEM of the CA that signed the NATS server's certificate",
    },
    port: { type: "number", arg: "N", description: "Serve the API and dashboard on this port" },
    host: { type: "string", arg: "ADDR", description: "API bind address (default 127.0.0.1)" },
    "api-token-file": { type: "string", arg: "FILE", description: "Bearer token the API requires" },
  },
  details: `
Examples:
  nadir collect --nats 127.0.0.1:4222 --db /var/lib/nadir/fleet.db --port 8788
Sensors publish with a config holding "sinks": {"nats": {"host": ..., "port": 4222, "jetstream": true}}.
Each alert is stored once (by id) and acknowledged only after it is stored: stop and restart the collector
at any time. GET /alerts?sensor=NAME lists one sensor's alerts. See docs/monitor.md#a-fleet-of-sensors.`,
  async run(args) {
    const url = str(args, "nats");
    if (!url) throw new UsageError("nadir collect: give --nats HOST:PORT");
    const nats = parseNatsUrl(url);
    // JetStream names cannot hold ".", "*", ">", "/", "\\" or white space: the server never answers for such
    // a stream, and the collector had asked again every 5 s, forever ("STREAM.INFO timed out").
    for (const k of ["stream", "durable"]) {
      const v = str(args, k);
      if (v !== undefined && !/^[A-Za-z0-9_-]{1,255}$/.test(v)) {
        throw new UsageError(
          `nadir collect: --${k} expects a JetStream name (letters, digits, "_", "-"), found "${v}"`,
        );
      }
    }
    const tokenFile = str(args, "token-file");
    let token: string | undefined;
    try {
      token = tokenFile ? Deno.readTextFileSync(tokenFile).trim() : undefined;
    } catch (e) {
      throw new UsageError(`nadir collect: cannot read --token-file ${tokenFile}: ${(e as Error).message}`);
    }
    const apiTokenFile = str(args, "api-token-file");
    if (apiTokenFile !== undefined) {
      // Checked here, by its own name: the API's reader called it --token-file, another option of this command.
      try {
        Deno.statSync(apiTokenFile);
      } catch (e) {
        throw new UsageError(
          `nadir collect: cannot read --api-token-file ${apiTokenFile}: ${(e as Error).message}`,
        );
      }
    }
    const { runCollector } = await import("../serve/collector.ts");
    const stop = new AbortController();
    const onSignal = () => {
      console.error("nadir collect: stopping");
      stop.abort();
    };
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
    try {
      const port = num(args, "port");
      const r = await runCollector({
        nats: {
          ...nats,
          token,
          tls: args.options.tls || str(args, "tls-ca") ? { caFile: str(args, "tls-ca") } : undefined,
        },
        db: str(args, "db")!,
        stream: str(args, "stream"),
        durable: str(args, "durable"),
        api: port === undefined
          ? undefined
          : { port, host: str(args, "host"), token_file: str(args, "api-token-file") },
        signal: stop.signal,
      });
      console.error(
        `nadir collect: stored ${r.alerts} alerts, ${r.drift} drift events, ${r.health} health records; ` +
          `${r.repeats} repeats dropped, ${r.skipped} messages skipped, ${r.reconnects} reconnects`,
      );
    } finally {
      for (const s of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(s, onSignal);
    }
    return 0;
  },
};
