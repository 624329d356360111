/**
 * The parsers' one way to give up on a line: count it in `skipped` with its
 * reason (and the field, when one field was bad), or — strict — throw an
 * InputError naming file, line and field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { skipLine, skippedMessage } from "./skip.ts";
 * import { FieldError } from "./validate.ts";
 * const skipped: { line: number; reason: string; field?: string }[] = [];
 * skipLine({}, skipped, 3, new FieldError("src_port", "a port 0–65535", "99999999"));
 * assert.equal(skippedMessage("a.json", skipped[0]), 'a.json:3, column "src_port": expected a port 0–65535, found 99999999');
 * ```
 * @module
 */
import { formatLocation, InputError } from "../util/errors.ts";
import type { ParseOptions, Skipped } from "./types.ts";
import { FieldError } from "./validate.ts";

/** Records why line `line` was skipped, or throws when `opts.strict`. */
export function skipLine(opts: ParseOptions, skipped: Skipped[], line: number, e: unknown): void {
  const reason = e instanceof Error ? e.message : String(e);
  if (e instanceof FieldError) {
    if (opts.strict) throw new InputError(e.detail, { file: opts.file, line, column: e.field });
    skipped.push({ line, field: e.field, reason });
    return;
  }
  if (opts.strict) throw new InputError(reason, { file: opts.file, line });
  skipped.push({ line, reason });
}

/** `file:line, column "field": expected …, found …` for a skipped line (as strict mode would say it). */
export function skippedMessage(file: string, s: Skipped): string {
  const prefix = s.field !== undefined ? `field "${s.field}": ` : "";
  const reason = prefix && s.reason.startsWith(prefix) ? s.reason.slice(prefix.length) : s.reason;
  return `${formatLocation({ file, line: s.line, column: s.field })}: ${reason}`;
}
