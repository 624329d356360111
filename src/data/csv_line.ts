/**
 * Splitting one CSV line, kept apart from src/data/csv.ts so that code which
 * must not load polars (the HTTP API) can share it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitCsvLine } from "./csv_line.ts";
 * assert.equal(splitCsvLine('a,"b,""c""",d').join("|"), 'a|b,"c"|d');
 * ```
 * @module
 */

/** Splits one CSV line, honouring double quotes (RFC 4180: `""` inside quotes is one `"`). */
export function splitCsvLine(s: string): string[] {
  if (!s.includes('"')) return s.split(",");
  const out: string[] = [];
  let cur = "";
  let q = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (q) {
      if (ch === '"' && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
