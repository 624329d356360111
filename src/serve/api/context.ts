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
 * assert.deepEqual(api.models, []);
 * ```
 * @module
 */
import { type AlertStore, LiveStats } from "../store.ts";
import type { MonitorMetrics } from "../metrics.ts";
import type { PredictModel } from "./predict_input.ts";

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
}

/** {@link ApiOptions} with the defaults filled in, plus the handler's start time. */
export interface ApiState {
  store: AlertStore;
  stats: LiveStats;
  metrics?: MonitorMetrics;
  models: PredictModel[];
  maxBodyBytes: number;
  maxRows: number;
  /** `Date.now()` when the handler was built (for `/health`'s uptime). */
  started: number;
}

/** Fills in the defaults of {@link ApiOptions}. */
export function resolveOptions(o: ApiOptions): ApiState {
  return {
    store: o.store,
    stats: o.stats ?? new LiveStats(),
    metrics: o.metrics,
    models: o.models ?? [],
    maxBodyBytes: o.maxBodyBytes ?? 8 * 1024 * 1024,
    maxRows: o.maxRows ?? 100_000,
    started: Date.now(),
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
