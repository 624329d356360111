/**
 * `nadir serve`: the HTTP API and dashboard without a capture: POST /predict with saved models,
 * and the alerts of a monitor's alerts file. See docs/api.md.
 *
 * @module
 */
import { type Command, num, str } from "./command.ts";
import { UsageError } from "../util/errors.ts";
import { statIfExists } from "../util/fs.ts";

export const command: Command = {
  name: "serve",
  summary: "HTTP API and dashboard",
  options: {
    port: { type: "number", arg: "N", description: "Port (0 = any free port)", default: 8787 },
    host: {
      type: "string",
      arg: "H",
      description: "Listen address (non-loopback needs a token)",
      default: "127.0.0.1",
    },
    model: {
      type: "string",
      arg: "DIR",
      multiple: true,
      description: "Model directory for POST /predict (repeatable)",
    },
    alerts: {
      type: "string",
      arg: "FILE",
      description: "Serve (and follow) the alerts of this JSON-lines file (a monitor's --alerts)",
    },
    "token-file": { type: "string", arg: "FILE", description: "Bearer token file (else NADIR_TOKEN)" },
    "allow-host": {
      type: "string",
      arg: "NAME",
      multiple: true,
      description: "Host header name to answer besides loopback ones (repeatable; against DNS rebinding)",
    },
    cert: { type: "string", arg: "FILE", description: "TLS certificate (PEM); with --key serves HTTPS" },
    key: { type: "string", arg: "FILE", description: "TLS private key (PEM)" },
    "max-body": {
      type: "number",
      arg: "BYTES",
      description: "Largest request body",
      default: 8 * 1024 * 1024,
    },
  },
  details: `
Examples:
  nadir serve --model models/iforest-basic --port 8787
  NADIR_TOKEN=$(openssl rand -hex 24) nadir serve --host 0.0.0.0 --cert tls.crt --key tls.key --model models/a`,
  async run(args) {
    const { createHandler, loadToken, serveApi } = await import("../serve/api.ts");
    const { predictModelFromDir } = await import("../serve/models.ts");
    const { AlertStore, LiveStats } = await import("../serve/store.ts");
    const { AlertFilter, SuppressionList } = await import("../serve/rules.ts");
    const { MonitorMetrics } = await import("../serve/metrics.ts");
    const { dirname, join } = await import("node:path");
    const dirs = (args.options.model as string[] | undefined) ?? [];
    const models = [];
    for (const d of dirs) models.push(await predictModelFromDir(d));
    const names = new Set<string>();
    for (const m of models) {
      if (names.has(m.name)) {
        throw new UsageError(`nadir serve: two models named "${m.name}" (directory names must differ)`);
      }
      names.add(m.name);
    }
    const alerts = str(args, "alerts");
    // A directory had been followed forever, "Is a directory" logged once a second. A file not there yet
    // is followed until it is written.
    if (alerts !== undefined && statIfExists(alerts)?.isDirectory) {
      throw new UsageError(`nadir serve: --alerts ${alerts} is a directory; expected the alerts file`);
    }
    const base = alerts ? dirname(alerts) : undefined;
    const filter = new AlertFilter({
      suppressions: new SuppressionList(base ? join(base, "suppressions.json") : undefined),
    });
    const store = new AlertStore({
      evidenceDir: base ? join(base, "evidence") : undefined,
      feedbackFile: base ? join(base, "feedback.jsonl") : undefined,
      filter,
    });
    const token = loadToken(str(args, "token-file"));
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
    const server = serveApi({
      host: str(args, "host")!,
      port: num(args, "port")!,
      hasToken: token !== undefined,
      certFile: str(args, "cert"),
      keyFile: str(args, "key"),
      signal: stop.signal,
      handler: createHandler({
        store,
        stats: new LiveStats(),
        metrics: new MonitorMetrics(),
        models,
        token,
        allowedHosts: args.options["allow-host"] as string[] | undefined,
        maxBodyBytes: num(args, "max-body"),
      }),
      onListen: (a) =>
        console.error(
          `nadir serve: ${
            str(args, "cert") ? "https" : "http"
          }://${a.hostname}:${a.port}/ (${models.length} model(s))`,
        ),
    });
    // Follow the monitor's alerts file: new lines appear in /alerts and on the live stream.
    const following = alerts
      ? store.follow(alerts, stop.signal, 1000, (m) => console.error(`nadir serve: ${m}`))
      : Promise.resolve();
    await server.finished;
    await following;
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(s, onSignal);
    return 0;
  },
};
