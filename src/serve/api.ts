/**
 * The sensor's HTTP API and dashboard (docs/openapi.json is the contract;
 * test/serve/api_test.ts checks the routes against it).
 *
 * Security stance: a bearer token guards every data route and is mandatory
 * off loopback ({@link serveApi} refuses to start otherwise); bodies are
 * size-limited while they stream in (413); inputs are validated field by
 * field (400 with `errors: [{field, message}]`); the dashboard is static and
 * renders every string with textContent under a strict Content-Security-Policy.
 *
 * @example
 * ```ts ignore
 * import { createHandler, serveApi } from "./api.ts";
 * import { AlertStore } from "./store.ts";
 * const server = serveApi({ host: "127.0.0.1", port: 8787, handler: createHandler({ store: new AlertStore() }) });
 * await server.shutdown();
 * ```
 * @module
 */
import spec from "../../docs/openapi.json" with { type: "json" };
import type { Matrix } from "../data/matrix.ts";
import { splitCsvLine } from "../data/csv_line.ts";
import { VERSION } from "../version.ts";
import { type AlertStore, type FeedbackInput, LiveStats } from "./store.ts";
import type { MonitorMetrics } from "./metrics.ts";
import { UsageError } from "../util/errors.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A model that POST /predict can use. */
export interface PredictModel {
  name: string;
  detector: string;
  /**
   * Columns each row carries, in order: the model's features, or for a model with a preprocessing
   * transform its raw input columns (the transform is applied by `score`).
   */
  featureNames: readonly string[];
  /** Columns of `featureNames` that take text (categories of a transform); NaN in the matrix. */
  categorical?: readonly string[];
  /** `score` applies a saved preprocessing transform to the raw rows. */
  preprocessed?: boolean;
  /** Numeric cells may be null / empty (missing: the transform's nanPolicy fills or drops them). */
  allowMissing?: boolean;
  featureSet?: string;
  threshold?: number;
  /** One score per row; NaN for a row the model's transform dropped. */
  score(
    x: Matrix,
    categories?: ReadonlyMap<string, readonly (string | null)[]>,
  ): Promise<Float64Array> | Float64Array;
}

/** What the handler serves. */
export interface ApiOptions {
  store: AlertStore;
  stats?: LiveStats;
  metrics?: MonitorMetrics;
  models?: PredictModel[];
  /** Bearer token; undefined = no auth (only allowed on loopback, see {@link serveApi}). */
  token?: string;
  /** Largest accepted request body. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Most rows per /predict request. Default 100000. */
  maxRows?: number;
}

/** One validation problem. */
export interface FieldError {
  field: string;
  message: string;
}

const MAX_ERRORS = 50;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DASHBOARD_DIR = fileURLToPath(new URL("./dashboard/", import.meta.url));

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  // Plot writes a <style> element into each SVG, hence 'unsafe-inline' for styles only; scripts are 'self'.
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
};

function json(body: unknown, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...SECURITY_HEADERS,
      ...extra,
    },
  });
}

function error(
  status: number,
  message: string,
  errors?: FieldError[],
  extra: Record<string, string> = {},
): Response {
  return json(errors ? { error: message, errors } : { error: message }, status, extra);
}

/** Thrown by {@link readBody} when the body exceeds the limit. */
class TooLarge extends Error {}

/** Reads the body as bytes, stopping (413) as soon as it passes `limit`. */
async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const len = req.headers.get("content-length");
  if (len !== null && Number(len) > limit) throw new TooLarge();
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new TooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

async function sha256(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
}

/** Constant-time token check (compares SHA-256 digests so length does not leak either). */
async function tokenOk(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function findFile(candidates: string[]): string | undefined {
  for (const c of candidates) {
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch { /* next */ }
  }
  return undefined;
}

function npmDist(pkg: string, file: string): string | undefined {
  const direct = join(ROOT, "node_modules", pkg, "dist", file);
  const cands = [direct];
  try {
    const scoped = pkg.replace("/", "+");
    for (const e of Deno.readDirSync(join(ROOT, "node_modules", ".deno"))) {
      if (e.name.startsWith(scoped + "@")) {
        cands.push(join(ROOT, "node_modules", ".deno", e.name, "node_modules", pkg, "dist", file));
      }
    }
  } catch { /* no .deno dir */ }
  return findFile(cands);
}

const STATIC: Record<string, { type: string; path: () => string | undefined }> = {
  "app.js": { type: "text/javascript; charset=utf-8", path: () => join(DASHBOARD_DIR, "app.js") },
  "style.css": { type: "text/css; charset=utf-8", path: () => join(DASHBOARD_DIR, "style.css") },
  "d3.js": { type: "text/javascript; charset=utf-8", path: () => npmDist("d3", "d3.min.js") },
  "plot.js": {
    type: "text/javascript; charset=utf-8",
    path: () => npmDist("@observablehq/plot", "plot.umd.min.js"),
  },
};

/** Parses /predict input into a matrix in the model's feature order, or field errors. */
export function parsePredictInput(
  body: Uint8Array,
  contentType: string,
  model: PredictModel,
  maxRows: number,
): {
  matrix?: Matrix;
  categories?: Map<string, (string | null)[]>;
  errors: FieldError[];
  modelName?: string;
} {
  const names = model.featureNames;
  const cols = names.length;
  const errors: FieldError[] = [];
  const push = (field: string, message: string) => {
    if (errors.length < MAX_ERRORS) errors.push({ field, message });
  };
  // Categorical columns (a transform's one-hot inputs) take text; their matrix cells stay NaN.
  const catSet = new Set(model.categorical ?? []);
  const catCols = names.map((n) => (catSet.has(n) ? [] as (string | null)[] : undefined));
  const categories = (): Map<string, (string | null)[]> | undefined =>
    catSet.size ? new Map(names.flatMap((n, j) => (catCols[j] ? [[n, catCols[j]!]] : []))) : undefined;
  const allowMissing = model.allowMissing === true;
  const expectNumber = allowMissing ? "a finite number or null" : "a finite number";
  // One cell of a JSON row; returns the number to store.
  const cell = (v: unknown, j: number, field: string): number => {
    const c = catCols[j];
    if (c) {
      if (typeof v === "string") c.push(v);
      else if (typeof v === "number" && Number.isFinite(v)) c.push(String(v));
      else if (v === null) c.push(null);
      else {
        push(field, `expected a string (category), found ${describe(v)}`);
        c.push(null);
      }
      return NaN;
    }
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (v === null && allowMissing) return NaN;
    push(field, `expected ${expectNumber}, found ${describe(v)}`);
    return NaN;
  };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return { errors: [{ field: "body", message: "expected UTF-8 text" }] };
  }
  if (contentType.startsWith("text/csv")) {
    const lines = text.split(/\r?\n/);
    while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
    if (!lines.length) {
      return { errors: [{ field: "body", message: "expected a CSV header line, found an empty body" }] };
    }
    const header = splitCsvLine(lines[0]).map((h) => h.trim());
    const idx = names.map((n) => header.indexOf(n));
    names.forEach((n, j) =>
      idx[j] < 0 && push(`header.${n}`, `missing column "${n}" required by model ${model.name}`)
    );
    if (errors.length) return { errors };
    const rows = lines.length - 1;
    if (rows < 1) {
      return { errors: [{ field: "body", message: "expected at least one data row after the header" }] };
    }
    if (rows > maxRows) {
      return { errors: [{ field: "body", message: `expected at most ${maxRows} rows, found ${rows}` }] };
    }
    const data = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const cells = splitCsvLine(lines[i + 1]);
      if (cells.length !== header.length) {
        push(`line ${i + 2}`, `expected ${header.length} cells, found ${cells.length}`);
        continue;
      }
      for (let j = 0; j < cols; j++) {
        const raw = cells[idx[j]].trim();
        const c = catCols[j];
        if (c) {
          c.push(raw === "" ? null : raw);
          data[i * cols + j] = NaN;
          continue;
        }
        const v = raw === "" ? NaN : Number(raw);
        if (!(raw === "" && allowMissing) && !Number.isFinite(v)) {
          push(
            `line ${i + 2}.${names[j]}`,
            `expected ${allowMissing ? "a finite number or an empty cell" : "a finite number"}, found ${
              JSON.stringify(raw.slice(0, 40))
            }`,
          );
        }
        data[i * cols + j] = v;
      }
    }
    return errors.length
      ? { errors }
      : { matrix: { data, rows, cols, names }, categories: categories(), errors };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { errors: [{ field: "body", message: `invalid JSON: ${(e as Error).message}` }] };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      errors: [{
        field: "body",
        message: `expected an object {"rows": [...]}, found ${
          Array.isArray(parsed) ? "an array" : typeof parsed
        }`,
      }],
    };
  }
  const o = parsed as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== "rows" && k !== "model") push(k, `unknown field (expected "rows" and optional "model")`);
  }
  if (o.model !== undefined && typeof o.model !== "string") push("model", "expected a string");
  if (!Array.isArray(o.rows)) {
    push("rows", `expected an array of rows, found ${o.rows === undefined ? "nothing" : typeof o.rows}`);
    return { errors };
  }
  const rowsIn = o.rows as unknown[];
  if (!rowsIn.length || rowsIn.length > maxRows) {
    push(
      "rows",
      rowsIn.length
        ? `expected at most ${maxRows} rows, found ${rowsIn.length}`
        : "expected at least one row",
    );
    return { errors };
  }
  const data = new Float64Array(rowsIn.length * cols);
  const known = new Set(names);
  rowsIn.forEach((r, i) => {
    if (Array.isArray(r)) {
      if (r.length !== cols) {
        push(
          `rows[${i}]`,
          `expected ${cols} values in the order of model ${model.name}'s features, found ${r.length}`,
        );
      } else {
        r.forEach((v, j) => {
          data[i * cols + j] = cell(v, j, `rows[${i}][${j}] (${names[j]})`);
        });
      }
    } else if (typeof r === "object" && r !== null) {
      const row = r as Record<string, unknown>;
      names.forEach((n, j) => {
        const v = row[n];
        if (v === undefined) push(`rows[${i}].${n}`, "missing");
        else data[i * cols + j] = cell(v, j, `rows[${i}].${n}`);
      });
      for (const k of Object.keys(row)) {
        if (!known.has(k)) push(`rows[${i}].${k.slice(0, 80)}`, `unknown feature for model ${model.name}`);
      }
    } else push(`rows[${i}]`, `expected an object or an array, found ${describe(r)}`);
  });
  return errors.length ? { errors } : {
    matrix: { data, rows: rowsIn.length, cols, names },
    categories: categories(),
    errors,
    modelName: o.model as string | undefined,
  };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `string ${JSON.stringify(v.slice(0, 40))}`;
  if (typeof v === "number") return String(v);
  return Array.isArray(v) ? "an array" : typeof v;
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const PUBLIC = new Set(["/health", "/", "/index.html", "/openapi.json", "/favicon.ico"]);

/** Builds the request handler. */
export function createHandler(o: ApiOptions): (req: Request) => Promise<Response> {
  const started = Date.now();
  const maxBody = o.maxBodyBytes ?? 8 * 1024 * 1024;
  const maxRows = o.maxRows ?? 100_000;
  const models = o.models ?? [];
  const stats = o.stats ?? new LiveStats();

  return async (req: Request): Promise<Response> => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return error(400, "bad request URL");
    }
    const path = url.pathname;
    const method = req.method.toUpperCase();
    if (o.token && !PUBLIC.has(path) && !path.startsWith("/static/")) {
      const h = req.headers.get("authorization") ?? "";
      const m = /^Bearer\s+(\S+)$/i.exec(h);
      if (!m || !(await tokenOk(m[1], o.token))) {
        return error(401, "missing or wrong bearer token", undefined, {
          "www-authenticate": 'Bearer realm="nadir"',
        });
      }
    }
    try {
      if (method === "GET" || method === "HEAD") {
        if (path === "/" || path === "/index.html") {
          return staticFile(join(DASHBOARD_DIR, "index.html"), "text/html; charset=utf-8");
        }
        if (path.startsWith("/static/")) {
          const s = STATIC[path.slice(8)];
          const p = s?.path();
          return s && p
            ? staticFile(p, s.type)
            : error(404, `no static file ${JSON.stringify(path.slice(8, 80))}`);
        }
        if (path === "/health") {
          return json({
            status: "ok",
            version: VERSION,
            uptime_s: (Date.now() - started) / 1000,
            monitor: stats.source
              ? { source: stats.source, detector: stats.detector, running: stats.running }
              : null,
            models: models.length,
          });
        }
        if (path === "/openapi.json") return json(spec);
        if (path === "/metrics") {
          const body = o.metrics ? o.metrics.registry.render() : "";
          return new Response(body, {
            headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", ...SECURITY_HEADERS },
          });
        }
        if (path === "/stats") return json(stats.snapshot(totals(o.metrics)));
        if (path === "/models") {
          return json({
            models: models.map((m) => ({
              name: m.name,
              detector: m.detector,
              features: m.featureNames,
              ...(m.categorical
                ? { categorical: m.categorical, allow_missing: m.allowMissing === true }
                : {}),
              preprocessed: m.preprocessed === true,
              feature_set: m.featureSet,
              threshold: m.threshold ?? null,
            })),
          });
        }
        if (path === "/suppressions") return json({ rules: o.store.filter?.suppressions.rules() ?? [] });
        if (path === "/alerts") return listAlerts(url, o.store);
        if (path === "/alerts/stream") return stream(o.store, req.signal);
        const m = /^\/alerts\/([^/]+)(\/pcap)?$/.exec(path);
        if (m) {
          const id = decodeURIComponent(m[1]);
          if (!ID_RE.test(id)) {
            return error(400, "invalid alert id", [{
              field: "id",
              message: "expected 1-64 characters A-Z a-z 0-9 _ -",
            }]);
          }
          const rec = o.store.get(id);
          if (!rec) return error(404, `no alert with id "${id}"`);
          if (!m[2]) return json(rec.alert);
          const p = o.store.evidencePath(id);
          if (!p) return error(404, `alert "${id}" has no evidence pcap`);
          try {
            const bytes = await Deno.readFile(p);
            return new Response(bytes, {
              headers: {
                "content-type": "application/vnd.tcpdump.pcap",
                "content-disposition": `attachment; filename="nadir-${id}.pcap"`,
                ...SECURITY_HEADERS,
              },
            });
          } catch {
            return error(404, `evidence for alert "${id}" is no longer on disk`);
          }
        }
        return error(404, `no route GET ${path.slice(0, 100)}`);
      }
      if (method === "POST") {
        if (path === "/predict") return await predict(req, url, models, maxBody, maxRows);
        const m = /^\/alerts\/([^/]+)\/feedback$/.exec(path);
        if (m) return await feedback(req, decodeURIComponent(m[1]), o.store, Math.min(maxBody, 64 * 1024));
        return error(404, `no route POST ${path.slice(0, 100)}`);
      }
      return error(405, `method ${method.slice(0, 20)} not allowed`, undefined, { allow: "GET, HEAD, POST" });
    } catch (e) {
      if (e instanceof TooLarge) return error(413, `request body larger than ${maxBody} bytes`);
      console.error(`nadir api: ${method} ${path}: ${(e as Error).stack ?? e}`);
      return error(500, "internal error");
    }
  };
}

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

async function staticFile(path: string, type: string): Promise<Response> {
  try {
    const body = await Deno.readFile(path);
    return new Response(body, {
      headers: { "content-type": type, "cache-control": "no-cache", ...SECURITY_HEADERS },
    });
  } catch {
    return error(404, "static file missing (run `deno install`)");
  }
}

function listAlerts(url: URL, store: AlertStore): Response {
  const errs: FieldError[] = [];
  const q = url.searchParams;
  const int = (name: string, lo: number, hi: number): number | undefined => {
    const v = q.get(name);
    if (v === null) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < lo || n > hi) {
      errs.push({
        field: name,
        message: `expected an integer ${lo}-${hi}, found ${JSON.stringify(v.slice(0, 40))}`,
      });
      return undefined;
    }
    return n;
  };
  const limit = int("limit", 1, 1000);
  const severity = int("severity", 1, 3);
  const before = q.get("before") ?? undefined;
  if (before !== undefined && !ID_RE.test(before)) {
    errs.push({ field: "before", message: "expected an alert id" });
  }
  const srcIp = q.get("src_ip") ?? undefined;
  if (srcIp !== undefined && srcIp.length > 64) errs.push({ field: "src_ip", message: "too long" });
  if (errs.length) return error(400, "invalid query", errs);
  return json(store.list({ limit, before, severity, srcIp }));
}

function stream(store: AlertStore, signal: AbortSignal): Response {
  const enc = new TextEncoder();
  let unsub = () => {};
  let beat: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (s: string) => {
        try {
          controller.enqueue(enc.encode(s));
        } catch {
          cleanup();
        }
      };
      const cleanup = () => {
        unsub();
        if (beat !== undefined) clearInterval(beat);
        try {
          controller.close();
        } catch { /* closed */ }
      };
      send(": nadir alert stream\nretry: 2000\n\n");
      unsub = store.subscribe((a) => send(`event: alert\nid: ${a.id}\ndata: ${JSON.stringify(a)}\n\n`));
      beat = setInterval(() => send(": keep-alive\n\n"), 15_000);
      // A client that goes away cancels the stream (cancel() below); the request signal is only
      // used when it aborts before the response started.
      if (signal.aborted) cleanup();
    },
    cancel() {
      unsub();
      if (beat !== undefined) clearInterval(beat);
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
      ...SECURITY_HEADERS,
    },
  });
}

async function predict(
  req: Request,
  url: URL,
  models: PredictModel[],
  maxBody: number,
  maxRows: number,
): Promise<Response> {
  if (!models.length) return error(404, "no model loaded (start with --model DIR)");
  const ct = (req.headers.get("content-type") ?? "application/json").toLowerCase();
  if (!ct.startsWith("application/json") && !ct.startsWith("text/csv")) {
    return error(
      415,
      `expected content-type application/json or text/csv, found ${JSON.stringify(ct.slice(0, 60))}`,
    );
  }
  const body = await readBody(req, maxBody);
  let name = url.searchParams.get("model") ?? undefined;
  // The model may also be named in the JSON body; peek without full validation.
  if (!name && ct.startsWith("application/json")) {
    try {
      const v = JSON.parse(new TextDecoder().decode(body));
      if (v && typeof v.model === "string") name = v.model;
    } catch { /* reported below */ }
  }
  let model: PredictModel | undefined;
  if (name !== undefined) {
    model = models.find((m) => m.name === name);
    if (!model) {
      return error(
        404,
        `no model named ${JSON.stringify(name.slice(0, 80))}; loaded: ${
          models.map((m) => m.name).join(", ")
        }`,
      );
    }
  } else if (models.length === 1) model = models[0];
  else {return error(400, "several models loaded: name one", [{
      field: "model",
      message: `expected one of ${models.map((m) => m.name).join(", ")}`,
    }]);}
  const parsed = parsePredictInput(body, ct, model, maxRows);
  if (!parsed.matrix) return error(400, "validation failed", parsed.errors);
  const scores = await model.score(parsed.matrix, parsed.categories);
  const out = Array.from(scores, (s) => (Number.isFinite(s) ? s : null));
  const t = model.threshold;
  return json({
    model: model.name,
    scores: out,
    threshold: t ?? null,
    ...(t !== undefined ? { anomalous: Array.from(scores, (s) => s > t) } : {}),
  });
}

async function feedback(req: Request, id: string, store: AlertStore, limit: number): Promise<Response> {
  if (!ID_RE.test(id)) {
    return error(400, "invalid alert id", [{
      field: "id",
      message: "expected 1-64 characters A-Z a-z 0-9 _ -",
    }]);
  }
  const body = await readBody(req, limit).catch((e) => {
    if (e instanceof TooLarge) throw new TooLarge();
    throw e;
  });
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(body));
  } catch (e) {
    return error(400, "validation failed", [{
      field: "body",
      message: `invalid JSON: ${(e as Error).message}`,
    }]);
  }
  const errs: FieldError[] = [];
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return error(400, "validation failed", [{ field: "body", message: "expected an object" }]);
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["label", "note", "scope", "suppress_for_s"].includes(k)) {
      errs.push({ field: k.slice(0, 80), message: "unknown field" });
    }
  }
  if (o.label !== "false_positive" && o.label !== "true_positive") {
    errs.push({
      field: "label",
      message: `expected "false_positive" or "true_positive", found ${describe(o.label)}`,
    });
  }
  if (o.note !== undefined && (typeof o.note !== "string" || o.note.length > 2000)) {
    errs.push({ field: "note", message: "expected a string of at most 2000 characters" });
  }
  if (o.scope !== undefined && !["pair", "src", "flow"].includes(o.scope as string)) {
    errs.push({ field: "scope", message: `expected "pair", "src" or "flow"` });
  }
  if (o.suppress_for_s !== undefined && (typeof o.suppress_for_s !== "number" || !(o.suppress_for_s >= 0))) {
    errs.push({ field: "suppress_for_s", message: "expected a number ≥ 0" });
  }
  if (errs.length) return error(400, "validation failed", errs);
  if (!store.get(id)) return error(404, `no alert with id "${id}"`);
  const r = store.feedback(id, o as unknown as FeedbackInput);
  return json({ ok: true, ...r });
}

/** Options for {@link serveApi}. */
export interface ServeOptions {
  host: string;
  port: number;
  handler: (req: Request) => Promise<Response>;
  /** Whether a token is configured (required off loopback). */
  hasToken?: boolean;
  /** PEM certificate and key file paths for HTTPS. */
  certFile?: string;
  keyFile?: string;
  signal?: AbortSignal;
  onListen?: (addr: Deno.NetAddr) => void;
}

/** True for 127.0.0.0/8, ::1 and "localhost". */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Starts Deno.serve with the auth rule and optional TLS. */
export function serveApi(o: ServeOptions): Deno.HttpServer<Deno.NetAddr> {
  if (!isLoopback(o.host) && !o.hasToken) {
    throw new UsageError(
      `refusing to listen on ${o.host} without a token: set NADIR_TOKEN or pass --token-file (loopback needs none)`,
    );
  }
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const tls = o.certFile && o.keyFile
    ? { cert: Deno.readTextFileSync(o.certFile), key: Deno.readTextFileSync(o.keyFile) }
    : {};
  return Deno.serve({
    hostname: o.host,
    port: o.port,
    signal: o.signal,
    ...tls,
    onListen: (addr) => o.onListen?.(addr as Deno.NetAddr),
  }, o.handler);
}

/** Reads the API token: NADIR_TOKEN, else the first line of `file`. Checks it is long enough. */
export function loadToken(file?: string): string | undefined {
  let t: string | undefined;
  if (file) {
    try {
      t = Deno.readTextFileSync(file).split(/\r?\n/)[0].trim();
    } catch (e) {
      throw new UsageError(`cannot read --token-file ${file}: ${(e as Error).message}`);
    }
  } else t = Deno.env.get("NADIR_TOKEN")?.trim() || undefined;
  if (t !== undefined && t.length < 16) {
    throw new UsageError(`API token too short: expected at least 16 characters, found ${t.length}`);
  }
  return t;
}
