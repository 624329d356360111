/**
 * `nadir feedback ALERT_ID --label fp|tp`: an analyst's verdict on an alert,
 * sent to a running sensor's API (`POST /alerts/{id}/feedback`, docs/openapi.json).
 *
 * A false positive adds a suppression rule and, when the monitor keeps a model
 * history, is learned as benign at the next model update; a true positive keeps
 * the model's threshold below the alert's score.
 *
 * Exit codes: 0 recorded, 1 the API was unreachable or refused the verdict
 * (its error is printed), 2 a bad command line.
 *
 * @module
 */
import { type Command, num, str } from "./command.ts";
import { InputError, UsageError } from "../util/errors.ts";

/** Default API address (`nadir monitor`/`nadir serve` listen on 127.0.0.1:8787). */
export const DEFAULT_API = "http://127.0.0.1:8787";

const LABELS: Record<string, "false_positive" | "true_positive"> = {
  fp: "false_positive",
  false_positive: "false_positive",
  tp: "true_positive",
  true_positive: "true_positive",
};

/** A suppression rule as the API returns it, in one line: `src 10.0.0.1 → 10.0.0.2:22/tcp (kmeans)`. */
function describeRule(r: Record<string, unknown>): string {
  const dest = r.dest !== undefined
    ? ` → ${r.dest}${r.dest_port !== undefined ? `:${r.dest_port}` : ""}${r.proto ? `/${r.proto}` : ""}`
    : " → any";
  const parts = [`src ${r.src ?? "any"}${dest}`];
  if (r.detector) parts.push(`detector ${r.detector}`);
  if (r.until) parts.push(`until ${r.until}`);
  return parts.join(", ");
}

/** The server's error body (`{"error", "errors"?}`) as one line, or the status text when it has none. */
async function serverError(r: Response): Promise<string> {
  const text = await r.text();
  try {
    const o = JSON.parse(text) as { error?: unknown; errors?: { field?: string; message?: string }[] };
    if (typeof o.error === "string") {
      const details = Array.isArray(o.errors)
        ? o.errors.map((e) => `${e.field ?? "?"}: ${e.message ?? "?"}`).join("; ")
        : "";
      return details ? `${o.error} (${details})` : o.error;
    }
  } catch { /* not JSON: fall through */ }
  return text.trim().slice(0, 500) || r.statusText;
}

export const command: Command = {
  name: "feedback",
  summary: "Send a verdict on an alert (false/true positive) to a running sensor's API",
  positionals: [{
    name: "alert_id",
    description: "Alert id (as in eve.jsonl, GET /alerts or the dashboard)",
  }],
  options: {
    label: {
      type: "string",
      arg: "fp|tp",
      choices: Object.keys(LABELS),
      description: "Verdict: fp (false_positive) or tp (true_positive)",
    },
    note: { type: "string", arg: "TEXT", description: "Note stored with the verdict" },
    scope: {
      type: "string",
      choices: ["pair", "src", "flow"],
      description: "What a false positive suppresses (the server's default: pair)",
    },
    "suppress-for": {
      type: "number",
      arg: "SECONDS",
      description: "A false positive's suppression expires after this many seconds (default: never)",
    },
    api: { type: "string", arg: "URL", description: "The sensor's API", default: DEFAULT_API },
    "token-file": { type: "string", arg: "FILE", description: "API bearer token file (else NADIR_TOKEN)" },
  },
  details: `A false positive suppresses similar alerts and, when the monitor keeps a model history
(--adapt/--history), is learned as benign at the next model update; a true positive keeps the
model's threshold below the alert's score.

Examples:
  deno task nadir feedback 3f2a9c1e0b7d4a55 --label fp --note "nightly backup"
  deno task nadir feedback 3f2a9c1e0b7d4a55 --label tp --api https://sensor:8787 --token-file token`,
  async run(args) {
    const id = args.positionals[0];
    const labelArg = str(args, "label");
    if (!labelArg) throw new UsageError("nadir feedback: --label fp|tp is required");
    const label = LABELS[labelArg];
    const suppressFor = num(args, "suppress-for");
    if (suppressFor !== undefined && label !== "false_positive") {
      throw new UsageError("nadir feedback: --suppress-for applies to a false positive (--label fp) only");
    }
    if (str(args, "scope") !== undefined && label !== "false_positive") {
      throw new UsageError("nadir feedback: --scope applies to a false positive (--label fp) only");
    }
    const apiArg = str(args, "api") ?? DEFAULT_API;
    let base: URL;
    try {
      base = new URL(apiArg);
      if (base.protocol !== "http:" && base.protocol !== "https:") throw new Error("not http(s)");
    } catch {
      throw new UsageError(`nadir feedback: --api expects an http(s) URL, found "${apiArg}"`);
    }
    const { loadToken } = await import("../serve/api/auth.ts");
    const token = loadToken(str(args, "token-file"));

    const body: Record<string, unknown> = { label };
    const note = str(args, "note");
    if (note !== undefined) body.note = note;
    if (str(args, "scope") !== undefined) body.scope = str(args, "scope");
    if (suppressFor !== undefined) body.suppress_for_s = suppressFor;
    const url = new URL(
      `${base.pathname.replace(/\/+$/, "")}/alerts/${encodeURIComponent(id)}/feedback`,
      base,
    );
    let r: Response;
    try {
      r = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      const err = e as Error;
      // Deno's fetch says "fetch failed"; the cause names the reason ("... tcp connect error: Connection refused").
      const cause = err.cause instanceof Error ? err.cause.message.replace(/^.*: (?=[^:]+$)/, "") : "";
      const why = err.name === "TimeoutError" ? "no answer within 30 s" : cause || err.message;
      throw new InputError(
        `cannot reach the sensor's API at ${base.origin}: ${why} (is it running? see --api)`,
      );
    }
    if (!r.ok) {
      const msg = await serverError(r);
      const hint = r.status === 401 ? " (give --token-file or set NADIR_TOKEN)" : "";
      throw new InputError(`the API at ${base.origin} refused the verdict (${r.status}): ${msg}${hint}`);
    }
    const res = await r.json().catch(() => ({})) as { suppression?: Record<string, unknown> };
    const said = label === "false_positive" ? "false positive" : "true positive";
    let line = `alert ${id} marked ${said}`;
    if (res.suppression) line += `; suppression added: ${describeRule(res.suppression)}`;
    console.log(line);
    return 0;
  },
};
