/**
 * Numbers written as text in a CSV field: what {@link textNumber} reads, and
 * whether a text column is a numeric one with a few bad cells
 * ({@link mostlyNumbers}) rather than a categorical one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mostlyNumbers, textNumber } from "./number_text.ts";
 * assert.equal(textNumber(" 1.5e3 "), 1500);
 * assert.equal(textNumber("Infinity"), Infinity);
 * assert.ok(Number.isNaN(textNumber("")!));
 * assert.equal(textNumber("abc"), undefined);
 * assert.equal(mostlyNumbers(["1", "2", "abc", "4"]), true);
 * assert.equal(mostlyNumbers(["tcp", "udp", "6"]), false);
 * ```
 * @module
 */

const NUMBER_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const SPECIAL: Record<string, number> = {
  inf: Infinity,
  "+inf": Infinity,
  "-inf": -Infinity,
  infinity: Infinity,
  "+infinity": Infinity,
  "-infinity": -Infinity,
  nan: NaN,
};

/** The number a CSV field spells (empty: NaN), or undefined when it is not one. */
export function textNumber(v: string | null | undefined): number | undefined {
  if (v === null || v === undefined || v === "") return NaN;
  if (NUMBER_TEXT.test(v)) return Number(v);
  return SPECIAL[v.trim().toLowerCase()];
}

/**
 * Whether at least half of the non-empty values spell numbers: a column CSV type inference made text
 * because of a few bad cells ("abc", "0x1F"), which must be named as errors, not one-hot encoded as a
 * category per distinct number.
 */
export function mostlyNumbers(values: readonly (string | null | undefined)[]): boolean {
  let numbers = 0, text = 0;
  for (const v of values) {
    if (v === null || v === undefined || v === "") continue;
    if (textNumber(v) === undefined) text++;
    else numbers++;
  }
  return numbers > 0 && numbers >= text;
}
