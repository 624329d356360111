/**
 * Hyperparameter validation shared by every detector. Values may arrive typed
 * (experiment configs, notebooks) or as strings (`nadir train --param k=5`);
 * both are checked against the detector's {@link ParamSpec}s and defaults are
 * filled in, so a saved model always records every hyperparameter it used.
 *
 * @example
 * ```ts
 * import { validateParams } from "./params.ts";
 * const p = validateParams("knn", { k: { type: "int", default: 5, min: 1, description: "neighbours" } }, { k: "3" });
 * console.assert(p.k === 3);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import type { ParamSpec } from "./types.ts";

function describe(spec: ParamSpec): string {
  let what = spec.type === "int"
    ? "an integer"
    : spec.type === "number"
    ? "a number"
    : spec.type === "boolean"
    ? "true or false"
    : spec.type === "int[]"
    ? "a list of integers (e.g. 64,32,64)"
    : "a string";
  if (spec.choices) what = `one of ${spec.choices.join(", ")}`;
  const range: string[] = [];
  if (spec.min !== undefined) range.push(`>= ${spec.min}`);
  if (spec.max !== undefined) range.push(`<= ${spec.max}`);
  return range.length ? `${what} ${range.join(" and ")}` : what;
}

function show(v: unknown): string {
  return typeof v === "string" ? `"${v}"` : JSON.stringify(v) ?? String(v);
}

function checkNumber(detector: string, name: string, spec: ParamSpec, v: unknown, integer: boolean): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  const bad = () =>
    new InputError(`detector "${detector}": parameter ${name} expects ${describe(spec)}, found ${show(v)}`);
  if (typeof n !== "number" || !Number.isFinite(n)) throw bad();
  if (integer && !Number.isInteger(n)) throw bad();
  if (spec.min !== undefined && n < spec.min) throw bad();
  if (spec.max !== undefined && n > spec.max) throw bad();
  return n;
}

/** Checks one value against its spec and returns it converted to the spec's type. */
export function validateParam(detector: string, name: string, spec: ParamSpec, v: unknown): unknown {
  switch (spec.type) {
    case "int":
      return checkNumber(detector, name, spec, v, true);
    case "number":
      return checkNumber(detector, name, spec, v, false);
    case "boolean": {
      if (typeof v === "boolean") return v;
      if (v === "true" || v === "1") return true;
      if (v === "false" || v === "0") return false;
      throw new InputError(
        `detector "${detector}": parameter ${name} expects true or false, found ${show(v)}`,
      );
    }
    case "string": {
      if (typeof v !== "string" || (spec.choices && !spec.choices.includes(v))) {
        throw new InputError(
          `detector "${detector}": parameter ${name} expects ${describe(spec)}, found ${show(v)}`,
        );
      }
      return v;
    }
    case "int[]": {
      const list = typeof v === "string" ? (v.trim() === "" ? [] : v.split(",")) : v;
      if (!Array.isArray(list)) {
        throw new InputError(
          `detector "${detector}": parameter ${name} expects ${describe(spec)}, found ${show(v)}`,
        );
      }
      const elem: ParamSpec = { ...spec, type: "int" };
      return list.map((x, i) => {
        try {
          return checkNumber(detector, name, elem, x, true);
        } catch {
          throw new InputError(
            `detector "${detector}": parameter ${name} expects ${describe(spec)}, found ${show(v)} (item ${
              i + 1
            })`,
          );
        }
      });
    }
  }
}

/**
 * Fills defaults and validates `given` against `specs`. Unknown names are an
 * error (a typo must not silently train with the default).
 */
export function validateParams(
  detector: string,
  specs: Record<string, ParamSpec>,
  given: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const k of Object.keys(given)) {
    if (!(k in specs)) {
      const known = Object.keys(specs).join(", ") || "(none)";
      throw new InputError(`detector "${detector}" has no parameter ${k}; known parameters: ${known}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const v = given[name];
    out[name] = v === undefined ? structuredClone(spec.default) : validateParam(detector, name, spec, v);
  }
  return out;
}

/** Parses `["k=5", "metric=l2"]` (CLI `--param`) into a record of strings. */
export function parseParamArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf("=");
    if (eq <= 0) throw new InputError(`--param expects NAME=VALUE, found "${a}"`);
    out[a.slice(0, eq).trim()] = a.slice(eq + 1).trim();
  }
  return out;
}
