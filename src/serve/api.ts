/**
 * The sensor's HTTP API and dashboard (docs/openapi.json is the contract;
 * test/serve/api_test.ts checks the routes against it). This module is the
 * public entry; the parts live under ./api/: the route table and handler
 * (routes.ts), one module per group of routes (alerts.ts, predict.ts,
 * status.ts, sse.ts, static.ts), /predict input parsing (predict_input.ts),
 * auth (auth.ts), responses and body limits (http.ts) and the server (server.ts).
 *
 * Security stance: a bearer token guards every data route and is mandatory
 * off loopback ({@link serveApi} refuses to start otherwise); bodies are
 * size-limited while they stream in (413); inputs are validated field by
 * field (400 with `errors: [{field, message}]`); the dashboard is static and
 * renders every string with textContent under a strict Content-Security-Policy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createHandler, isLoopback } from "./api.ts";
 * import { AlertStore } from "./store.ts";
 *
 * // serveApi({ host: "127.0.0.1", port: 8787, handler }) would listen; the handler alone needs no socket.
 * const handler = createHandler({ store: new AlertStore() });
 * const r = await handler(new Request("http://127.0.0.1/alerts"));
 * assert.equal(r.status, 200);
 * assert.deepEqual(await r.json(), { alerts: [], next: null, total: 0 });
 * assert.ok(isLoopback("127.0.0.1"));
 * ```
 * @module
 */
export { type ApiOptions } from "./api/context.ts";
export { createHandler, matchRoute, type Route, ROUTES } from "./api/routes.ts";
export { type FieldError } from "./api/http.ts";
export {
  MAX_FIELD_ERRORS,
  parsePredictInput,
  type PredictInput,
  type PredictModel,
} from "./api/predict_input.ts";
export { isLoopback, loadToken } from "./api/auth.ts";
export { serveApi, type ServeOptions } from "./api/server.ts";
