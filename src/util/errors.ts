/**
 * Errors a user can act on. The CLI prints their message on one line and exits
 * with {@link NadirError.exitCode}; anything else is a bug and keeps its stack.
 *
 * @module
 */

/** Where in an input the problem is. Every field is optional; set what you know. */
export interface Location {
  /** File path (or a name such as "request body"). */
  file?: string;
  /** 1-based line number. */
  line?: number;
  /**
   * 1-based data row of a table (the header not counted), where the line is not known: a frame's rows
   * are not its file's lines once blank lines or quoted newlines come between them.
   */
  row?: number;
  /** Column name or 1-based column number. */
  column?: string | number;
  /** Byte offset inside a binary file. */
  offset?: number;
}

/** Formats a location as `file:line, column "x", byte offset N`. */
export function formatLocation(loc: Location): string {
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(loc.line !== undefined ? `${loc.file}:${loc.line}` : loc.file);
  else if (loc.line !== undefined) parts.push(`line ${loc.line}`);
  if (loc.row !== undefined && loc.line === undefined) parts.push(`data row ${loc.row}`);
  if (loc.column !== undefined) {
    parts.push(typeof loc.column === "number" ? `column ${loc.column}` : `column "${loc.column}"`);
  }
  if (loc.offset !== undefined) parts.push(`byte offset ${loc.offset}`);
  return parts.join(", ");
}

/**
 * A mistake in the user's input (bad file, unknown dataset, corrupt model dir).
 * The CLI exits 1 with the message and no stack trace.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError } from "./errors.ts";
 * const e = new InputError("expected 42 columns, found 41", { file: "a.csv", line: 7 });
 * assert.equal(e.message, "a.csv:7: expected 42 columns, found 41");
 * ```
 */
export class InputError extends Error {
  readonly exitCode: number = 1;
  readonly location: Location;
  /** The message without its location. */
  readonly detail: string;
  constructor(detail: string, location: Location = {}, options?: ErrorOptions) {
    const where = formatLocation(location);
    super(where ? `${where}: ${detail}` : detail, options);
    this.name = "InputError";
    this.location = location;
    this.detail = detail;
  }
}

/**
 * Runs `fn`; an {@link InputError} that does not say which file it is about
 * (a column check deep in preprocessing knows the column, not the file) gets
 * `file` added. Other errors pass through unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError, withFile } from "./errors.ts";
 * await assert.rejects(
 *   () => withFile("flows.csv", () => Promise.reject(new InputError("bad", { column: "x" }))),
 *   /^InputError: flows\.csv, column "x": bad$/,
 * );
 * ```
 */
export async function withFile<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof InputError && e.location.file === undefined) {
      throw new InputError(e.detail, { ...e.location, file }, { cause: e });
    }
    throw e;
  }
}

/** A wrong command line (unknown flag, missing argument). The CLI exits 2. */
export class UsageError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A usage error caused by data the user has to supply (a dataset that is not in the repository). A
 * batch of experiments reports these as skipped rather than failed.
 */
export class MissingDataError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = "MissingDataError";
  }
}

/** True for errors whose message is meant for the user as is. */
export function isUserError(e: unknown): e is InputError | UsageError {
  return e instanceof InputError || e instanceof UsageError;
}
