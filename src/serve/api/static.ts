/**
 * The dashboard's files: its page, script and style from src/serve/dashboard/,
 * and the d3 and Observable Plot bundles from the `dist` folders of their npm
 * packages in node_modules. Only the names in a fixed list are served, so a
 * request path never becomes a file path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { staticAsset } from "./static.ts";
 *
 * assert.equal(staticAsset("style.css")?.type, "text/css; charset=utf-8");
 * assert.equal(staticAsset("../../deno.json"), undefined);
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { jsonError, SECURITY_HEADERS } from "./http.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const DASHBOARD_DIR = fileURLToPath(new URL("../dashboard/", import.meta.url));

/** Path of the dashboard page. */
export const INDEX_HTML: string = join(DASHBOARD_DIR, "index.html");

/** What a lookup can fail with and still mean "not here": try the next candidate. */
function isMissing(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
}

/**
 * The first of `candidates` that is a file.
 *
 * @throws {Error} when a candidate cannot be checked for another reason than
 * being absent (e.g. PermissionDenied): that is a broken install, not a missing file.
 */
function findFile(candidates: string[]): string | undefined {
  for (const c of candidates) {
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch (e) {
      // Absent is the expected case (try the next place); anything else must not pass as absent.
      if (!isMissing(e)) throw e;
    }
  }
  return undefined;
}

/**
 * `node_modules/<pkg>/dist/<file>`, or the same under `node_modules/.deno/<pkg>@<version>/`
 * where Deno's npm layout keeps the package when it is not linked at the top.
 */
export function npmDist(pkg: string, file: string): string | undefined {
  const cands = [join(ROOT, "node_modules", pkg, "dist", file)];
  const scoped = pkg.replace("/", "+");
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(join(ROOT, "node_modules", ".deno"))];
  } catch (e) {
    // No .deno folder means no such layout: only the direct path is left. A folder that is
    // there but unreadable is a broken install and is reported, not taken for "not installed".
    if (!isMissing(e)) throw e;
  }
  for (const e of entries) {
    if (e.name.startsWith(scoped + "@")) {
      cands.push(join(ROOT, "node_modules", ".deno", e.name, "node_modules", pkg, "dist", file));
    }
  }
  return findFile(cands);
}

/** A file served under `/static/`. */
export interface StaticAsset {
  /** Content-Type. */
  type: string;
  /** Where the file is now; undefined when it is not installed. */
  path: () => string | undefined;
}

const JS = "text/javascript; charset=utf-8";
const ASSETS: ReadonlyMap<string, StaticAsset> = new Map([
  ["app.js", { type: JS, path: () => join(DASHBOARD_DIR, "app.js") }],
  ["style.css", { type: "text/css; charset=utf-8", path: () => join(DASHBOARD_DIR, "style.css") }],
  ["d3.js", { type: JS, path: () => npmDist("d3", "d3.min.js") }],
  ["plot.js", { type: JS, path: () => npmDist("@observablehq/plot", "plot.umd.min.js") }],
]);

/** The asset served as `/static/<name>`, if `name` is one. */
export function staticAsset(name: string): StaticAsset | undefined {
  return ASSETS.get(name);
}

/**
 * A file as a response (`cache-control: no-cache`, security headers), or 404
 * when it is not on disk.
 */
export async function staticFile(path: string, type: string): Promise<Response> {
  try {
    const body = await Deno.readFile(path);
    return new Response(body, {
      headers: { "content-type": type, "cache-control": "no-cache", ...SECURITY_HEADERS },
    });
  } catch (e) {
    // The npm bundles are absent until `deno install`; other errors are not "missing" and go to the router.
    if (!isMissing(e)) throw e;
    return jsonError(404, "static file missing (run `deno install`)");
  }
}

/**
 * GET /static/<name>: one of the listed assets, else 404 naming what was asked for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveStatic } from "./static.ts";
 *
 * const r = await serveStatic("constructor");
 * assert.equal(r.status, 404);
 * assert.deepEqual(await r.json(), { error: 'no static file "constructor"' });
 * ```
 */
export function serveStatic(name: string): Promise<Response> {
  const asset = staticAsset(name);
  const p = asset?.path();
  return asset && p
    ? staticFile(p, asset.type)
    : Promise.resolve(jsonError(404, `no static file ${JSON.stringify(name.slice(0, 72))}`));
}
