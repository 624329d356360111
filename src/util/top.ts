/**
 * The indices of the k largest values, found as they are met: what a shard builds for every alert (its top
 * features by deviation, its explanation's by contribution), where sorting every index with a comparator
 * closure was a tenth of the alert's cost.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topIndices } from "./top.ts";
 * assert.deepEqual(topIndices([3, 9, NaN, 9, 1], 2), [1, 3]);
 * ```
 * @module
 */

/**
 * The indices of the `k` largest of `c`, largest first, ties in index order, NaN after every number: what a
 * stable sort of all indices by value would begin with. A sort by `c[b] - c[a]` is inconsistent once a value
 * is NaN, and where it then put a NaN differed between V8's interpreter and its optimised code (20,000
 * random cases: identical without optimisation, not with it).
 */
export function topIndices(c: ArrayLike<number>, k: number): number[] {
  const idx: number[] = [];
  // A NaN is placed only after everything before it (it moves past nothing), so NaNs keep their order.
  for (let j = 0; j < c.length; j++) {
    const v = c[j];
    let at = idx.length;
    if (v === v) { while (at > 0 && lessThan(c[idx[at - 1]], v)) at--; }
    if (at >= k) continue;
    idx.splice(at, 0, j);
    if (idx.length > k) idx.pop();
  }
  return idx;
}

/** `a` ranks below `b` (a NaN below any number). */
function lessThan(a: number, b: number): boolean {
  return a !== a || a < b;
}
