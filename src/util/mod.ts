/**
 * Small shared pieces: user-facing errors with file/line/column locations
 * ({@link InputError}, {@link UsageError}), progress bars that also update in
 * place in Jupyter ({@link Progress}), a seeded random generator ({@link Rng}),
 * sha256 helpers and quantiles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError, isUserError, Progress, quantileSorted, Rng, sha256Hex } from "nadir/util";
 *
 * const a = new Rng(42), b = new Rng(42);
 * assert.equal(a.next(), b.next(), "same seed, same stream");
 * assert.equal(quantileSorted([1, 2, 3, 4, 5], 0.5), 3);
 * assert.equal(sha256Hex(new TextEncoder().encode("")).slice(0, 8), "e3b0c442");
 * assert.ok(isUserError(new InputError("bad row", { file: "x.csv", line: 3 })));
 * const p = new Progress({ label: "rows", total: 2, silent: true });
 * p.tick(2);
 * p.done();
 * ```
 * @module
 */
export * from "./errors.ts";
export * from "./progress.ts";
export * from "./random.ts";
export * from "./quantile.ts";
export * from "./hash.ts";
export * from "./bytes.ts";
export * from "./fs.ts";
export * from "./git.ts";
export * from "./inputs.ts";
