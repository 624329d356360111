/**
 * Option and input checks shared by the drift detectors: unknown option names,
 * numbers out of range and non-finite stream values are errors that say what
 * was expected and what was found (an InputError, so the CLI prints one line).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberOption } from "./options.ts";
 * assert.equal(numberOption("ADWIN", {}, "clock", 32, { min: 1, integer: true }), 32);
 * assert.throws(
 *   () => numberOption("ADWIN", { clock: 0 }, "clock", 32, { min: 1, integer: true }),
 *   /ADWIN option clock expects an integer ≥ 1, found 0/,
 * );
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";

/** Range of a numeric option; bounds are inclusive unless `minOpen`/`maxOpen`. */
export interface NumberRange {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
  integer?: boolean;
}

function describe(r: NumberRange): string {
  const kind = r.integer ? "an integer" : "a number";
  if (r.min !== undefined && r.max !== undefined) {
    return `${kind} in ${r.minOpen ? "(" : "["}${r.min}, ${r.max}${r.maxOpen ? ")" : "]"}`;
  }
  if (r.min !== undefined) return `${kind} ${r.minOpen ? ">" : "≥"} ${r.min}`;
  if (r.max !== undefined) return `${kind} ${r.maxOpen ? "<" : "≤"} ${r.max}`;
  return `a finite ${r.integer ? "integer" : "number"}`;
}

function shown(v: unknown): string {
  if (typeof v === "string") return `"${v}" (a string)`;
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return String(v);
}

/** The options object, after checking it names only `known` options. */
export function checkOptionNames(
  detector: string,
  options: object | undefined,
  known: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new InputError(`${detector} options: expected an object, found ${shown(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      throw new InputError(`${detector} has no option "${k}"; known: ${known.join(", ")}`);
    }
  }
  return options as Record<string, unknown>;
}

/** A numeric option (default when absent or undefined) checked against `range`. */
export function numberOption(
  detector: string,
  options: Record<string, unknown>,
  name: string,
  dflt: number,
  range: NumberRange,
): number {
  const v = options[name] ?? dflt;
  const ok = typeof v === "number" && Number.isFinite(v) &&
    (!range.integer || Number.isInteger(v)) &&
    (range.min === undefined || (range.minOpen ? v > range.min : v >= range.min)) &&
    (range.max === undefined || (range.maxOpen ? v < range.max : v <= range.max));
  if (!ok) {
    throw new InputError(`${detector} option ${name} expects ${describe(range)}, found ${shown(v)}`);
  }
  return v as number;
}

/** `x` when it is a finite number; else an InputError naming the detector and the value's position. */
export function finiteValue(detector: string, x: unknown, index: number): number {
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new InputError(
      `${detector}.update: the value at index ${index} is ${shown(x)}, expected a finite number`,
    );
  }
  return x;
}
