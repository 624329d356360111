/**
 * The scoring routes: POST /predict (choose the model, parse the rows,
 * score) and GET /models (what can be chosen).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predict } from "./predict.ts";
 * import { resolveOptions } from "./context.ts";
 * import { AlertStore } from "../store.ts";
 *
 * const sum = {
 *   name: "sum",
 *   detector: "test",
 *   featureNames: ["a", "b"],
 *   threshold: 2,
 *   score: (x: { data: Float64Array; rows: number }) =>
 *     Float64Array.from({ length: x.rows }, (_, i) => x.data[2 * i] + x.data[2 * i + 1]),
 * };
 * const api = resolveOptions({ store: new AlertStore(), models: [sum] });
 * const url = new URL("http://127.0.0.1/predict");
 * const req = new Request(url, {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ rows: [[1, 2], { a: 0, b: 1 }] }),
 * });
 * const r = await predict({ req, url, params: {}, api });
 * assert.deepEqual(await r.json(), { model: "sum", scores: [3, 1], threshold: 2, anomalous: [true, false] });
 * ```
 * @module
 */
import type { RouteContext } from "./context.ts";
import { json, jsonError, readBody } from "./http.ts";
import { parsePredictInput, type PredictModel } from "./predict_input.ts";

/** GET /models: the models /predict can use and the columns each row must carry. */
export function listModels(ctx: RouteContext): Response {
  return json({
    models: ctx.api.models.map((m) => ({
      name: m.name,
      detector: m.detector,
      features: m.featureNames,
      ...(m.categorical ? { categorical: m.categorical, allow_missing: m.allowMissing === true } : {}),
      preprocessed: m.preprocessed === true,
      feature_set: m.featureSet,
      threshold: m.threshold ?? null,
    })),
  });
}

/** The model a JSON body names in its `model` field, if it is JSON and names one. */
function modelInJsonBody(body: Uint8Array): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(body));
  } catch (e) {
    // Only a peek: invalid JSON is reported field by field by parsePredictInput once a model is chosen.
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
  const model = (v as { model?: unknown } | null)?.model;
  return typeof model === "string" ? model : undefined;
}

/** The model named `name`, the only one when none is named, else the 400/404 to answer. */
function chooseModel(models: PredictModel[], name: string | undefined): PredictModel | Response {
  const loaded = models.map((m) => m.name).join(", ");
  if (name !== undefined) {
    return models.find((m) => m.name === name) ??
      jsonError(404, `no model named ${JSON.stringify(name.slice(0, 80))}; loaded: ${loaded}`);
  }
  if (models.length === 1) return models[0];
  return jsonError(400, "several models loaded: name one", [{
    field: "model",
    message: `expected one of ${loaded}`,
  }]);
}

/**
 * POST /predict[?model=NAME]: JSON or CSV rows in, one score per row out
 * (null for a row the model's transform dropped), and `anomalous` when the
 * model has a threshold.
 */
export async function predict(ctx: RouteContext): Promise<Response> {
  const { models, maxBodyBytes, maxRows } = ctx.api;
  if (!models.length) return jsonError(404, "no model loaded (start with --model DIR)");
  const ct = (ctx.req.headers.get("content-type") ?? "application/json").toLowerCase();
  if (!ct.startsWith("application/json") && !ct.startsWith("text/csv")) {
    return jsonError(
      415,
      `expected content-type application/json or text/csv, found ${JSON.stringify(ct.slice(0, 60))}`,
    );
  }
  const body = await readBody(ctx.req, maxBodyBytes);
  let name = ctx.url.searchParams.get("model") ?? undefined;
  if (!name && ct.startsWith("application/json")) name = modelInJsonBody(body) ?? name;
  const model = chooseModel(models, name);
  if (model instanceof Response) return model;
  const parsed = parsePredictInput(body, ct, model, maxRows);
  if (!parsed.matrix) return jsonError(400, "validation failed", parsed.errors);
  const scores = await model.score(parsed.matrix, parsed.categories);
  const t = model.threshold;
  return json({
    model: model.name,
    scores: Array.from(scores, (s) => (Number.isFinite(s) ? s : null)),
    threshold: t ?? null,
    ...(t !== undefined ? { anomalous: Array.from(scores, (s) => s > t) } : {}),
  });
}
