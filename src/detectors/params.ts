/**
 * Hyperparameter validation shared by every detector. Values may arrive typed
 * (experiment configs, notebooks) or as strings (`nadir train --param k=5`);
 * both are checked against the detector's {@link ParamSpec}s and defaults are
 * filled in, so a saved model always records every hyperparameter it used.
 *
 * A detector declares its specs once with {@link defineParams}; the literal
 * types are kept, so {@link validateParams} hands back a typed object
 * ({@link ParamValues}): `int`/`number` → `number`, `int[]` → `number[]`,
 * `boolean` → `boolean`, `string` → the union of its `choices` (or `string`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineParams, validateParams } from "./params.ts";
 * const specs = defineParams({
 *   k: { type: "int", default: 5, min: 1, description: "neighbours" },
 *   metric: { type: "string", default: "l2", choices: ["l1", "l2"], description: "distance" },
 * });
 * const p = validateParams("knn", specs, { k: "3" });
 * const k: number = p.k; // typed: no cast needed
 * const metric: "l1" | "l2" = p.metric;
 * assert.equal(k, 3);
 * assert.equal(metric, "l2");
 * assert.throws(() => validateParams("knn", specs, { k: 0 }), /parameter k expects an integer >= 1, found 0/);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import type { ParamSpec } from "./types.ts";

/** A detector's hyperparameter specs by name. */
export type ParamSpecs = Record<string, ParamSpec>;

/** The value type of a spec `type` (distributes over a union of types). */
type ValueOfType<T extends ParamSpec["type"]> = T extends "int" | "number" ? number
  : T extends "boolean" ? boolean
  : T extends "int[]" ? number[]
  : string;

/** The validated value type of one spec: a string spec with `choices` is the union of the choices. */
export type ParamValue<S extends ParamSpec> = S extends
  { type: "string"; choices: readonly (infer C extends string)[] } ? C
  : ValueOfType<S["type"]>;

/** The validated, typed hyperparameters of `specs` (what {@link validateParams} returns). */
export type ParamValues<S extends ParamSpecs> = { [K in keyof S]: ParamValue<S[K]> };

/**
 * Declares a detector's specs, keeping their literal types (`"int"`, the
 * `choices`) so that {@link ParamValues} can type the validated values. It
 * returns `specs` unchanged.
 */
export function defineParams<const S extends ParamSpecs>(specs: S): S {
  return specs;
}

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
export function validateParams<S extends ParamSpecs>(
  detector: string,
  specs: S,
  given: Record<string, unknown> = {},
): ParamValues<S> {
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
  // Every name of `specs` is filled and each value was checked against its spec's type above.
  return out as ParamValues<S>;
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
