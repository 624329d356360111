/**
 * The live model's endpoints (issue 15): `GET /model` (update policy, the
 * version scoring now, the rows it learns from, every version of its
 * history), `POST /model/rollback` (`{"to": "v0002"}`, or `{}` for the
 * head's parent) and `POST /model/update` (learn from what was scored since
 * the last update now). Without a model history (a frozen plain model or a
 * streaming detector) they answer 404 saying so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createHandler } from "./routes.ts";
 * import { AlertStore } from "../store.ts";
 * const handler = createHandler({ store: new AlertStore() });
 * const r = await handler(new Request("http://127.0.0.1/model"));
 * assert.equal(r.status, 404);
 * assert.match((await r.json()).error, /no model history/);
 * ```
 * @module
 */
import { UsageError } from "../../util/errors.ts";
import { InputError } from "../../util/errors.ts";
import type { RouteContext } from "./context.ts";
import { json, jsonError, parseJsonBody, readBody } from "./http.ts";

/** What the API needs of the live model (src/serve/adaptation.ts `LiveAdaptation`). */
export interface ModelControl {
  status(): Promise<unknown>;
  rollback(to?: string): Promise<unknown>;
  updateNow(): Promise<unknown>;
}

const MAX_MODEL_BODY = 1024;
const VERSION = /^v\d{4,}$/;

function control(ctx: RouteContext): ModelControl | Response {
  return ctx.api.model ??
    jsonError(404, "no model history: the monitor runs a frozen plain model or a streaming detector");
}

/** GET /model. */
export async function getModel(ctx: RouteContext): Promise<Response> {
  const c = control(ctx);
  return c instanceof Response ? c : json(await c.status());
}

/** POST /model/rollback: body `{}` or `{"to": "vNNNN"}`. */
export async function postRollback(ctx: RouteContext): Promise<Response> {
  const c = control(ctx);
  if (c instanceof Response) return c;
  const parsed = parseJsonBody(await readBody(ctx.req, Math.min(ctx.api.maxBodyBytes, MAX_MODEL_BODY)));
  if (parsed.error) return jsonError(400, "validation failed", [parsed.error]);
  const v = parsed.value;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return jsonError(400, "validation failed", [{ field: "body", message: "expected an object" }]);
  }
  const o = v as Record<string, unknown>;
  const errs = Object.keys(o).filter((k) => k !== "to").map((k) => ({ field: k, message: "unknown field" }));
  if (o.to !== undefined && !(typeof o.to === "string" && VERSION.test(o.to))) {
    errs.push({ field: "to", message: `expected a version such as "v0002", found ${JSON.stringify(o.to)}` });
  }
  if (errs.length) return jsonError(400, "validation failed", errs);
  return await refused(() => c.rollback(o.to as string | undefined));
}

/** POST /model/update: body `{}`. */
export async function postUpdate(ctx: RouteContext): Promise<Response> {
  const c = control(ctx);
  if (c instanceof Response) return c;
  const parsed = parseJsonBody(await readBody(ctx.req, Math.min(ctx.api.maxBodyBytes, MAX_MODEL_BODY)));
  if (parsed.error) return jsonError(400, "validation failed", [parsed.error]);
  const v = parsed.value;
  if (typeof v !== "object" || v === null || Array.isArray(v) || Object.keys(v).length) {
    return jsonError(400, "validation failed", [{ field: "body", message: "expected {}" }]);
  }
  return await refused(() => c.updateNow());
}

/** 409 for what the model's state refuses now (busy, frozen, nothing to learn, no such version). */
async function refused(f: () => Promise<unknown>): Promise<Response> {
  try {
    return json({ ok: true, model: await f() });
  } catch (e) {
    // The detail only: an InputError's location is a path on the sensor (its model history), not the client's.
    if (e instanceof InputError) return jsonError(409, e.detail);
    if (e instanceof UsageError) return jsonError(409, e.message);
    throw e;
  }
}
