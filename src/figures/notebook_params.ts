/**
 * Which parameters `nadir report` hands to which notebook.
 *
 * A notebook declares its parameters in the code cell tagged `parameters`,
 * one `const NAME = value;` a line (scripts/nbrun.py rewrites those lines).
 * `--param KEY=VALUE` goes to every selected notebook that declares KEY —
 * `DATASET` means something in 01 and 02, nothing in 04 — and is an error
 * only when none of them does. `--param 01:KEY=VALUE` goes to the notebooks
 * whose name starts with `01` and must be declared there.
 *
 * Output folders: a render into a folder other than the repository's
 * reports/ must not touch tracked files or the checkout, so notebooks that
 * declare an output-folder parameter ({@link OUTPUT_PARAMS}: feature sets,
 * saved models) get a folder under OUT unless the caller set one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planParams } from "./notebook_params.ts";
 * const plan = planParams(
 *   [{ name: "01-eda", declared: ["DATASET", "QUICK"] }, { name: "04-ids-benchmark", declared: ["QUICK"] }],
 *   { global: { DATASET: "cic-ids2017" }, perNotebook: [] },
 * );
 * assert.deepEqual(plan.get("01-eda"), { DATASET: "cic-ids2017" });
 * assert.deepEqual(plan.get("04-ids-benchmark"), {});
 * ```
 * @module
 */
import { join } from "node:path";
import { UsageError } from "../util/errors.ts";

/** Parameters naming where a notebook writes files, and the folder under OUT each gets. */
export const OUTPUT_PARAMS: Readonly<Record<string, string>> = {
  FEATURE_SETS_DIR: "feature-sets",
  MODELS_DIR: "models",
};

/** A `--param`, parsed: KEY, VALUE (JSON when it parses, else the string) and an optional notebook prefix. */
export interface ParamArg {
  key: string;
  value: unknown;
  notebook?: string;
}

/**
 * Parses `[NOTEBOOK:]KEY=VALUE`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseParamArg } from "./notebook_params.ts";
 * assert.deepEqual(parseParamArg("01:DATASET=\"unsw-nb15\""), { key: "DATASET", value: "unsw-nb15", notebook: "01" });
 * assert.deepEqual(parseParamArg("QUICK=true"), { key: "QUICK", value: true });
 * assert.deepEqual(parseParamArg("NAME=plain text"), { key: "NAME", value: "plain text" });
 * ```
 */
export function parseParamArg(arg: string): ParamArg {
  const eq = arg.indexOf("=");
  const head = eq > 0 ? arg.slice(0, eq) : "";
  const m = /^(?:([^:=\s]+):)?([A-Za-z_$][\w$]*)$/.exec(head);
  if (!m) {
    throw new UsageError(
      `nadir report: --param expects [NOTEBOOK:]KEY=VALUE (e.g. 01:DATASET=cic-ids2017), found "${arg}"`,
    );
  }
  const raw = arg.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return m[1] ? { key: m[2], value, notebook: m[1] } : { key: m[2], value };
}

/**
 * The names a notebook's `parameters` cell declares (`const NAME = …;` lines),
 * or [] without such a cell.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declaredParams } from "./notebook_params.ts";
 * const nb = { cells: [{ cell_type: "code", metadata: { tags: ["parameters"] }, source: ["const A = 1;\n", "let B = 2; // why\n"] }] };
 * assert.deepEqual(declaredParams(nb), ["A", "B"]);
 * ```
 */
export function declaredParams(
  nb: { cells?: { cell_type?: string; metadata?: { tags?: string[] }; source?: string | string[] }[] },
): string[] {
  const cell = (nb.cells ?? []).find((c) =>
    c.cell_type === "code" && (c.metadata?.tags ?? []).includes("parameters")
  );
  if (!cell) return [];
  const src = Array.isArray(cell.source) ? cell.source.join("") : cell.source ?? "";
  return [...src.matchAll(/^\s*(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=/gm)].map((m) => m[1]);
}

/**
 * Parameters per notebook (by name): global ones where declared, then the
 * notebook's own (which win), then output folders under `outputsUnder` for
 * declared output parameters nobody set. Throws a {@link UsageError} for a
 * global parameter no selected notebook declares, a notebook prefix that
 * matches none, or a per-notebook parameter the notebook does not declare.
 */
export function planParams(
  notebooks: { name: string; declared: string[] }[],
  args: { global: Record<string, unknown>; perNotebook: ParamArg[]; outputsUnder?: string },
): Map<string, Record<string, unknown>> {
  for (const key of Object.keys(args.global)) {
    if (!notebooks.some((n) => n.declared.includes(key))) {
      throw new UsageError(
        `nadir report: no selected notebook declares parameter ${key} (${
          notebooks.map((n) => `${n.name}: ${n.declared.join(", ") || "none"}`).join("; ")
        })`,
      );
    }
  }
  for (const p of args.perNotebook) {
    const hit = notebooks.filter((n) => n.name.startsWith(p.notebook ?? ""));
    if (!hit.length) {
      throw new UsageError(
        `nadir report: --param ${p.notebook}:${p.key}: no selected notebook starts with "${p.notebook}" (${
          notebooks.map((n) => n.name).join(", ")
        })`,
      );
    }
    for (const n of hit) {
      if (!n.declared.includes(p.key)) {
        throw new UsageError(
          `nadir report: --param ${p.notebook}:${p.key}: ${n.name} declares ${
            n.declared.join(", ") || "no parameters"
          }`,
        );
      }
    }
  }
  const plan = new Map<string, Record<string, unknown>>();
  for (const n of notebooks) {
    const own: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(args.global)) if (n.declared.includes(k)) own[k] = v;
    for (const p of args.perNotebook) if (n.name.startsWith(p.notebook ?? "")) own[p.key] = p.value;
    if (args.outputsUnder !== undefined) {
      for (const [k, dir] of Object.entries(OUTPUT_PARAMS)) {
        if (n.declared.includes(k) && !(k in own)) own[k] = join(args.outputsUnder, dir);
      }
    }
    plan.set(n.name, own);
  }
  return plan;
}
