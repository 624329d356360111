/**
 * What the API serves ({@link ApiOptions}, given by the caller) and what each
 * route handler receives ({@link RouteContext}). Kept apart from the route
 * table so the handler modules can use the types without importing it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveOptions } from "./context.ts";
 * import { AlertStore } from "../store.ts";
 *
 * const api = resolveOptions({ store: new AlertStore() });
 * assert.equal(api.maxBodyBytes, 8 * 1024 * 1024);
 * assert.equal(api.maxRows, 100_000);
 * assert.equal(api.sse.maxQueueBytes, 1024 * 1024);
 * assert.equal(api.checkHost, true); // no token: only loopback Host names are answered
 * assert.deepEqual(api.models, []);
 * ```
 * @module
 */
import { type AlertStore, LiveStats, type SensorSummary } from "../store.ts";
import type { Counter, MonitorMetrics } from "../metrics.ts";
import type { PredictModel } from "./predict_input.ts";
import { SseClients } from "./sse.ts";
import type { ModelControl } from "./model.ts";

/** What the handler serves. */
export interface ApiOptions {
  store: AlertStore;
  stats?: LiveStats;
  metrics?: MonitorMetrics;
  models?: PredictModel[];
  /** Bearer token; undefined = no auth (only allowed on loopback, see `serveApi`). */
  token?: string;
  /** Largest accepted request body. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Most rows per /predict request. Default 100000. */
  maxRows?: number;
  /**
   * Host names (or addresses) a request's Host header may name, on top of the
   * loopback names (`localhost`, 127.0.0.0/8, `::1`), which are always allowed.
   * Without a token the Host header is always checked (a DNS-rebinding page
   * names its own host); with a token it is checked only when this list is given.
   */
  allowedHosts?: readonly string[];
  /** Bytes one /alerts/stream client may have queued before it is disconnected as too slow. Default 1 MiB. */
  sseMaxQueueBytes?: number;
  /** Rows /predict scores per slice before letting other requests run. Default 2048. */
  predictChunkRows?: number;
  /**
   * Most /predict requests read, parsed and scored at once; one more is 503 with `Retry-After`. Default 4:
   * each holds its body, rows and scores (an 8 MiB body of 76 k rows), and 100 at once took the server to
   * 3.7 GB and stalled /health for 18 s.
   */
  predictConcurrency?: number;
  /** The live model's history and update policy (`/model`); absent without a model history. */
  model?: ModelControl;
  /**
   * `GET /sensors`: every sensor known (a collector: all it stored, with their health), not only those
   * of the alerts held. Default: the store's ({@link AlertStore.sensors}).
   */
  sensors?: () => SensorSummary[];
}

/** {@link ApiOptions} with the defaults filled in, plus the handler's start time. */
export interface ApiState {
  store: AlertStore;
  stats: LiveStats;
  metrics?: MonitorMetrics;
  models: PredictModel[];
  maxBodyBytes: number;
  maxRows: number;
  /** Whether the Host header is checked ({@link ApiOptions.allowedHosts}). */
  checkHost: boolean;
  /** Allowed Host names besides loopback, lower-case, IPv6 without brackets. */
  allowedHosts: ReadonlySet<string>;
  /** The /alerts/stream clients and their queues. */
  sse: SseClients;
  predictChunkRows: number;
  /** /predict requests being served, and the most at once ({@link ApiOptions.predictConcurrency}). */
  predictSlots: { busy: number; max: number };
  /** Rows /predict answered null + anomalous because the model's score was not finite, by model. */
  predictNonFinite?: Counter;
  /** `Date.now()` when the handler was built (for `/health`'s uptime). */
  started: number;
  model?: ModelControl;
  sensors: () => SensorSummary[];
}

/** Fills in the defaults of {@link ApiOptions}. */
export function resolveOptions(o: ApiOptions): ApiState {
  return {
    store: o.store,
    sensors: o.sensors ?? (() => o.store.sensors()),
    stats: o.stats ?? new LiveStats(),
    metrics: o.metrics,
    models: o.models ?? [],
    maxBodyBytes: o.maxBodyBytes ?? 8 * 1024 * 1024,
    maxRows: o.maxRows ?? 100_000,
    checkHost: !o.token || o.allowedHosts !== undefined,
    allowedHosts: new Set((o.allowedHosts ?? []).map((h) => h.toLowerCase().replace(/^\[(.*)\]$/, "$1"))),
    sse: new SseClients({ maxQueueBytes: o.sseMaxQueueBytes, metrics: o.metrics }),
    predictChunkRows: o.predictChunkRows ?? 2048,
    predictSlots: { busy: 0, max: o.predictConcurrency ?? 4 },
    predictNonFinite: o.metrics?.registry.counter(
      "api_predict_non_finite_scores_total",
      "POST /predict rows whose score was not finite (answered null and anomalous), by model",
    ),
    started: Date.now(),
    model: o.model,
  };
}

/** What a route handler gets. */
export interface RouteContext {
  req: Request;
  url: URL;
  /**
   * The path's parameters by name (`:id` in the route's path → `id`; a trailing `*` → `rest`),
   * as they appear in the URL: still percent-encoded.
   */
  params: Readonly<Record<string, string>>;
  api: ApiState;
}

/** A route handler. */
export type RouteHandler = (ctx: RouteContext) => Response | Promise<Response>;
