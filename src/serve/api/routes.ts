/**
 * Every endpoint of the API in one table ({@link ROUTES}), and the request
 * handler that applies the bearer token, finds the route and turns failures
 * into the API's error responses (413 for a body over the limit, 500 logged
 * for anything unexpected). Before any route runs it checks the Host header
 * (421 for a name the server does not answer to: DNS rebinding) and, for
 * POST, the Content-Type (415 unless the route accepts it: JSON everywhere,
 * CSV too for /predict; a browser cannot send either cross-site without a
 * CORS preflight, which the API never grants). docs/openapi.json is the contract;
 * test/serve/api_test.ts checks that every path in it is routed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createHandler } from "./routes.ts";
 * import { AlertStore } from "../store.ts";
 *
 * const handler = createHandler({ store: new AlertStore(), token: "0123456789abcdef0123" });
 * const health = await handler(new Request("http://127.0.0.1/health"));
 * assert.equal(health.status, 200);
 * const alerts = await handler(new Request("http://127.0.0.1/alerts"));
 * assert.equal(alerts.status, 401);
 * const put = await handler(new Request("http://127.0.0.1/health", { method: "PUT" }));
 * assert.equal(put.status, 405);
 * assert.equal(put.headers.get("allow"), "GET, HEAD, POST");
 * const rebound = await handler(new Request("http://evil.example/health"));
 * assert.equal(rebound.status, 200); // with a token the Host is checked only against --allow-host
 * const open = createHandler({ store: new AlertStore() });
 * assert.equal((await open(new Request("http://evil.example/alerts"))).status, 421);
 * ```
 * @module
 */
import spec from "../../../docs/openapi.json" with { type: "json" };
import {
  getAlert,
  getAlertPcap,
  listAlerts,
  listDrift,
  listSensors,
  listSuppressions,
  postFeedback,
} from "./alerts.ts";
import { checkBearer, hostProblem, isPublicPath } from "./auth.ts";
import { type ApiOptions, resolveOptions, type RouteHandler } from "./context.ts";
import { BodyTooLargeError, ClientGoneError, json, jsonError, mediaType } from "./http.ts";
import { listModels, predict } from "./predict.ts";
import { getModel, postRollback, postUpdate } from "./model.ts";
import { INDEX_HTML, serveStatic, staticFile } from "./static.ts";
import { health, metrics, stats } from "./status.ts";

/** One endpoint. */
export interface Route {
  /** GET routes answer HEAD too (Deno.serve drops the body). */
  method: "GET" | "POST";
  /**
   * Literal segments, `:name` for one segment (a parameter) or a final `*` for the rest of the
   * path, which may be empty or hold slashes (parameter `rest`).
   */
  path: string;
  handler: RouteHandler;
  /**
   * Media types a POST body may have; default `application/json` alone. Anything else is 415 before
   * the handler runs, so no state-changing route takes a type a cross-site form can send.
   */
  accepts?: readonly string[];
}

const dashboard: RouteHandler = () => staticFile(INDEX_HTML, "text/html; charset=utf-8");

/** Every endpoint. The first route whose method and path match wins, so literals go before parameters. */
export const ROUTES: readonly Route[] = [
  { method: "GET", path: "/", handler: dashboard },
  { method: "GET", path: "/index.html", handler: dashboard },
  { method: "GET", path: "/static/*", handler: (c) => serveStatic(c.params.rest) },
  { method: "GET", path: "/health", handler: health },
  { method: "GET", path: "/openapi.json", handler: () => json(spec) },
  { method: "GET", path: "/metrics", handler: metrics },
  { method: "GET", path: "/stats", handler: stats },
  { method: "GET", path: "/models", handler: listModels },
  { method: "GET", path: "/suppressions", handler: listSuppressions },
  { method: "GET", path: "/drift", handler: listDrift },
  { method: "GET", path: "/sensors", handler: listSensors },
  { method: "GET", path: "/alerts", handler: listAlerts },
  { method: "GET", path: "/alerts/stream", handler: (c) => c.api.sse.stream(c.api.store) },
  { method: "GET", path: "/alerts/:id", handler: getAlert },
  { method: "GET", path: "/alerts/:id/pcap", handler: getAlertPcap },
  { method: "POST", path: "/predict", handler: predict, accepts: ["application/json", "text/csv"] },
  { method: "POST", path: "/alerts/:id/feedback", handler: postFeedback },
  { method: "GET", path: "/model", handler: getModel },
  { method: "POST", path: "/model/rollback", handler: postRollback },
  { method: "POST", path: "/model/update", handler: postUpdate },
];

/** Methods the API answers; any other is 405 whatever the path. */
const ALLOWED_METHODS = ["GET", "HEAD", "POST"];

/** A route path as an anchored regular expression with named groups for its parameters. */
function compilePath(path: string): RegExp {
  const src = path.split("/").map((seg, i, all) => {
    if (seg === "*" && i === all.length - 1) return "(?<rest>.*)";
    if (seg.startsWith(":")) return `(?<${seg.slice(1)}>[^/]+)`;
    return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
  return new RegExp(`^${src}$`);
}

const COMPILED = ROUTES.map((route) => ({ route, re: compilePath(route.path) }));

/**
 * The route for `method` (GET or POST) and `path`, with its path parameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchRoute } from "./routes.ts";
 *
 * const m = matchRoute("GET", "/alerts/abc/pcap");
 * assert.equal(m?.route.path, "/alerts/:id/pcap");
 * assert.deepEqual(m?.params, { id: "abc" });
 * assert.equal(matchRoute("GET", "/alerts/stream")?.route.path, "/alerts/stream");
 * assert.deepEqual(matchRoute("GET", "/static/a/b")?.params, { rest: "a/b" });
 * assert.equal(matchRoute("POST", "/health"), undefined);
 * ```
 */
export function matchRoute(
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const { route, re } of COMPILED) {
    if (route.method !== method) continue;
    const m = re.exec(path);
    if (m) return { route, params: { ...m.groups } };
  }
  return undefined;
}

/** How a 413 names the route: the path with its alert id replaced. */
function routeName(path: string): string {
  return path.startsWith("/alerts/") ? "POST /alerts/{id}/feedback" : `POST ${path.slice(0, 40)}`;
}

/** Builds the request handler. */
export function createHandler(o: ApiOptions): (req: Request) => Promise<Response> {
  const api = resolveOptions(o);
  return async (req: Request): Promise<Response> => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch (e) {
      // An unparsable URL is a TypeError and the client's fault; anything else is ours.
      if (!(e instanceof TypeError)) throw e;
      return jsonError(400, "bad request URL");
    }
    const path = url.pathname;
    const method = req.method.toUpperCase();
    // The Host check comes first: a DNS-rebinding page must learn nothing, not even that a token is needed.
    if (api.checkHost) {
      const bad = hostProblem(url.hostname, api.allowedHosts);
      if (bad) return jsonError(421, bad);
    }
    // Auth comes before routing, so that without the token even the 404s say nothing about the API.
    if (o.token && !isPublicPath(path)) {
      const denied = await checkBearer(req, o.token);
      if (denied) return denied;
    }
    try {
      if (!ALLOWED_METHODS.includes(method)) {
        return jsonError(405, `method ${method.slice(0, 20)} not allowed`, undefined, {
          allow: ALLOWED_METHODS.join(", "),
        });
      }
      const routeMethod = method === "HEAD" ? "GET" : method;
      const found = matchRoute(routeMethod, path);
      if (!found) return jsonError(404, `no route ${routeMethod} ${path.slice(0, 100)}`);
      if (routeMethod === "POST") {
        // A compressed body was read as its compressed bytes ("expected UTF-8 text"): say what is wrong.
        const encoding = (req.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
        if (encoding !== "identity") {
          return jsonError(
            415,
            `content-encoding ${
              JSON.stringify(encoding.slice(0, 40))
            } is not accepted; send the body uncompressed`,
          );
        }
        const accepts = found.route.accepts ?? ["application/json"];
        const type = mediaType(req);
        if (!accepts.includes(type)) {
          return jsonError(
            415,
            `expected content-type ${accepts.join(" or ")}, found ${
              type ? JSON.stringify(type.slice(0, 60)) : "none"
            }`,
          );
        }
      }
      return await found.route.handler({ req, url, params: found.params, api });
    } catch (e) {
      // The limit is the route's own (feedback's is smaller than --max-body).
      if (e instanceof BodyTooLargeError) {
        return jsonError(413, `request body larger than ${e.limit} bytes, the limit of ${routeName(path)}`);
      }
      // decodeURIComponent of a malformed %-escape: the client's URL is wrong, not the server.
      if (e instanceof URIError) return jsonError(400, `malformed %-escape in ${path.slice(0, 100)}`);
      // Nobody reads this answer; the point is not to log an aborted upload as the server's fault.
      if (e instanceof ClientGoneError) return jsonError(400, e.message);
      console.error(`nadir api: ${method} ${path}: ${(e as Error).stack ?? e}`);
      return jsonError(500, "internal error");
    }
  };
}
