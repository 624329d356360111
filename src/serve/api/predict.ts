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
import type { Matrix } from "../../data/matrix.ts";
import type { RouteContext } from "./context.ts";
import {
  json,
  jsonError,
  mediaType,
  parseJsonBody,
  queryProblems,
  readBody,
  yieldToEventLoop,
} from "./http.ts";
import { parsePredictInput, predictInputFromJson, type PredictModel } from "./predict_input.ts";

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

/** The model a parsed JSON body names in its `model` field, if any. */
function modelInJson(v: unknown): string | undefined {
  const model = typeof v === "object" && v !== null ? (v as { model?: unknown }).model : undefined;
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
 * Scores `x` in slices of `sliceRows` rows, letting the event loop run between slices: an 80,000-row
 * request once held every other request (even /health) for over a second. Returns the scores and,
 * per row, whether the model's transform dropped it.
 */
export async function scoreInSlices(
  model: PredictModel,
  x: Matrix,
  categories: ReadonlyMap<string, readonly (string | null)[]> | undefined,
  sliceRows: number,
): Promise<{ scores: Float64Array; dropped: Uint8Array }> {
  const scores = new Float64Array(x.rows);
  const dropped = new Uint8Array(x.rows);
  const step = Math.max(1, Math.floor(sliceRows));
  for (let lo = 0; lo < x.rows; lo += step) {
    const hi = Math.min(x.rows, lo + step);
    if (lo > 0) await yieldToEventLoop();
    const part: Matrix = {
      data: x.data.subarray(lo * x.cols, hi * x.cols),
      rows: hi - lo,
      cols: x.cols,
      names: x.names,
    };
    const cats = categories && new Map([...categories].map(([k, v]) => [k, v.slice(lo, hi)]));
    const s = await model.score(part, cats, dropped.subarray(lo, hi));
    if (s.length !== hi - lo) {
      throw new Error(`model ${model.name} returned ${s.length} scores for ${hi - lo} rows`);
    }
    scores.set(s, lo);
  }
  return { scores, dropped };
}

/** Why a row has no score: its model failed on it, or its transform dropped it. */
export type NoScoreReason = "non_finite_score" | "dropped";

/**
 * The response fields for `scores`: finite scores as they are; a non-finite one (the model failed on
 * the row: NaN weights, an overflow) fails closed, as null that is anomalous with reason
 * `non_finite_score`, so a broken model cannot pass everything; a row the transform dropped is null,
 * not anomalous, reason `dropped`. `reasons` and the count appear only when some row has a reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predictFields } from "./predict.ts";
 *
 * const f = predictFields(Float64Array.of(1, NaN, Infinity, NaN), Uint8Array.of(0, 0, 0, 1), 2);
 * assert.deepEqual(f, {
 *   scores: [1, null, null, null],
 *   threshold: 2,
 *   anomalous: [false, true, true, false],
 *   reasons: [null, "non_finite_score", "non_finite_score", "dropped"],
 *   non_finite_scores: 2,
 * });
 * ```
 */
export function predictFields(
  scores: Float64Array,
  dropped: Uint8Array,
  threshold: number | undefined,
): Record<string, unknown> {
  const reasons: (NoScoreReason | null)[] = new Array(scores.length).fill(null);
  let nonFinite = 0, any = false;
  const out: (number | null)[] = new Array(scores.length);
  const anomalous: boolean[] = new Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (Number.isFinite(s)) {
      out[i] = s;
      anomalous[i] = threshold !== undefined && s > threshold;
      continue;
    }
    out[i] = null;
    any = true;
    if (dropped[i]) {
      reasons[i] = "dropped";
      anomalous[i] = false;
    } else {
      reasons[i] = "non_finite_score";
      anomalous[i] = true;
      nonFinite++;
    }
  }
  return {
    scores: out,
    threshold: threshold ?? null,
    // Without a threshold there is no verdict, except that a failed score is never "normal".
    ...(threshold !== undefined || nonFinite ? { anomalous } : {}),
    ...(any ? { reasons, non_finite_scores: nonFinite } : {}),
  };
}

/**
 * POST /predict[?model=NAME]: JSON or CSV rows in (the router admits only those two content types),
 * one score per row out, `anomalous` when the model has a threshold; see {@link predictFields} for
 * rows without a score.
 */
export async function predict(ctx: RouteContext): Promise<Response> {
  const { models } = ctx.api;
  if (!models.length) return jsonError(404, "no model loaded (start with --model DIR)");
  const slots = ctx.api.predictSlots;
  if (slots.busy >= slots.max) {
    // Refused before its body is read: what a request holds is what bounds the server's memory.
    return jsonError(
      503,
      `busy: ${slots.busy} /predict requests are being scored, the most at once; retry shortly`,
      undefined,
      { "retry-after": "1" },
    );
  }
  slots.busy++;
  try {
    return await predictOne(ctx);
  } finally {
    slots.busy--;
  }
}

async function predictOne(ctx: RouteContext): Promise<Response> {
  const { models, maxBodyBytes, maxRows } = ctx.api;
  const qErrs = queryProblems(ctx.url.searchParams, ["model"]);
  if (qErrs.length) return jsonError(400, "invalid query", qErrs);
  const csv = mediaType(ctx.req) === "text/csv";
  const body = await readBody(ctx.req, maxBodyBytes);
  let value: unknown;
  if (!csv) {
    // Parsed once, after the nesting check: the model's name may be inside.
    const p = parseJsonBody(body);
    if (p.error) return jsonError(400, "validation failed", [p.error]);
    value = p.value;
  }
  const inQuery = ctx.url.searchParams.get("model") ?? undefined,
    inBody = csv ? undefined : modelInJson(value);
  // Both given and different: which one was meant is the client's to say (the query had won silently).
  if (inQuery !== undefined && inBody !== undefined && inQuery !== inBody) {
    return jsonError(400, "validation failed", [{
      field: "model",
      message: `the query names model ${JSON.stringify(inQuery)} and the body ${JSON.stringify(inBody)}`,
    }]);
  }
  const name = inQuery ?? inBody;
  const model = chooseModel(models, name);
  if (model instanceof Response) return model;
  const parsed = csv
    ? parsePredictInput(body, "text/csv", model, maxRows)
    : predictInputFromJson(value, model, maxRows);
  if (!parsed.matrix) return jsonError(400, "validation failed", parsed.errors);
  const { scores, dropped } = await scoreInSlices(
    model,
    parsed.matrix,
    parsed.categories,
    ctx.api.predictChunkRows,
  );
  const fields = predictFields(scores, dropped, model.threshold);
  const nonFinite = (fields.non_finite_scores as number | undefined) ?? 0;
  if (nonFinite) ctx.api.predictNonFinite?.inc(nonFinite, { model: model.name });
  return json({ model: model.name, ...fields });
}
