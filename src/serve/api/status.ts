/**
 * The status routes: GET /health (for probes, no token), GET /metrics
 * (Prometheus text) and GET /stats (the dashboard's snapshot).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { health } from "./status.ts";
 * import { resolveOptions } from "./context.ts";
 * import { AlertStore } from "../store.ts";
 * import { VERSION } from "../../version.ts";
 *
 * const api = resolveOptions({ store: new AlertStore() });
 * const url = new URL("http://127.0.0.1/health");
 * const body = await health({ req: new Request(url), url, params: {}, api }).json();
 * assert.equal(body.status, "ok");
 * assert.equal(body.version, VERSION);
 * assert.equal(body.monitor, null);
 * ```
 * @module
 */
import { VERSION } from "../../version.ts";
import type { MonitorMetrics } from "../metrics.ts";
import type { RouteContext } from "./context.ts";
import { json, SECURITY_HEADERS } from "./http.ts";

/** GET /health: version, uptime, the monitor's state (null when serving alone), models loaded. */
export function health(ctx: RouteContext): Response {
  const { stats, models, started } = ctx.api;
  return json({
    status: "ok",
    version: VERSION,
    uptime_s: (Date.now() - started) / 1000,
    monitor: stats.source ? { source: stats.source, detector: stats.detector, running: stats.running } : null,
    models: models.length,
  });
}

/** GET /metrics: the Prometheus exposition (empty when there is no monitor). */
export function metrics(ctx: RouteContext): Response {
  const body = ctx.api.metrics ? ctx.api.metrics.registry.render() : "";
  return new Response(body, {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", ...SECURITY_HEADERS },
  });
}

/** GET /stats: rates, top talkers and recent scores, with the monitor's running totals. */
export function stats(ctx: RouteContext): Response {
  return json(ctx.api.stats.snapshot(totals(ctx.api.metrics)));
}

/** The counters the dashboard shows as totals; empty without a monitor. */
function totals(m?: MonitorMetrics): Record<string, number> {
  if (!m) return {};
  return {
    packets: m.packets.get(),
    bytes: m.bytes.get(),
    kernel_drops: m.kernelDrops.get(),
    internal_drops: m.internalDrops.get(),
    flows_active: m.flowsActive.get(),
    flows_ended: m.flowsEnded.get(),
    flows_evicted: m.flowsEvicted.get(),
    flows_scored: m.flowsScored.get(),
    alerts: [1, 2, 3].reduce((s, k) => s + m.alerts.get({ severity: String(k) }), 0),
  };
}
