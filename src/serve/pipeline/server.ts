/**
 * API stage: the HTTP API and dashboard over the monitor's live state, when the
 * config gives `api.port`. It reads the same store, statistics and metrics the
 * pipeline writes, so what the dashboard shows is what the sinks received.
 *
 * @module
 */
import { createHandler, loadToken, type PredictModel, serveApi } from "../api.ts";
import type { MonitorConfig } from "../config.ts";
import type { MonitorMetrics } from "../metrics.ts";
import type { AlertStore, LiveStats, SensorSummary } from "../store.ts";
import type { ModelControl } from "../api/model.ts";

/** The live state the API serves. */
export interface ApiState {
  store: AlertStore;
  stats: LiveStats;
  metrics: MonitorMetrics;
  /** Models `/predict` scores with (the monitor's saved model, if any). */
  models: PredictModel[];
  /** The live model's history and update policy (`/model`), with a model history. */
  adaptation?: ModelControl;
  /** `GET /sensors` (a collector: every sensor it stored); default the store's. */
  sensors?: () => SensorSummary[];
}

/** Options for {@link startApi}. */
export interface StartApiOptions {
  log: (line: string) => void;
  /** The command its log lines name (default "nadir monitor"). */
  command?: string;
  /** Called once the API listens (port 0 → the real port). */
  onListen?: (addr: Deno.NetAddr) => void;
}

/**
 * Starts the API on `api.host` (default 127.0.0.1) and `api.port`, HTTPS with `api.cert`/`api.key`;
 * returns undefined when `api.port` is not set. The token comes from `api.token_file` or
 * NADIR_TOKEN; a non-loopback address without one is refused by serveApi.
 */
export function startApi(
  api: MonitorConfig["api"],
  state: ApiState,
  o: StartApiOptions,
): Deno.HttpServer<Deno.NetAddr> | undefined {
  if (api?.port === undefined) return undefined;
  const token = loadToken(api.token_file);
  return serveApi({
    host: api.host ?? "127.0.0.1",
    port: api.port,
    hasToken: token !== undefined,
    certFile: api.cert,
    keyFile: api.key,
    handler: createHandler({
      store: state.store,
      stats: state.stats,
      metrics: state.metrics,
      models: state.models,
      model: state.adaptation,
      sensors: state.sensors,
      token,
      maxBodyBytes: api.max_body_bytes,
    }),
    onListen: (addr) => {
      o.log(
        `${o.command ?? "nadir monitor"}: API and dashboard on ${
          api.cert ? "https" : "http"
        }://${addr.hostname}:${addr.port}/`,
      );
      o.onListen?.(addr);
    },
  });
}
