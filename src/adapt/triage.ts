/**
 * Which alerts an analyst should review first, when only a few can be
 * reviewed. `coveragePicks` picks representatives of the densest groups of
 * alerts: a verdict on a representative settles its whole group (a false
 * positive learned as benign stops the near-duplicates from alerting), so the
 * same budget of answers reaches more of the alerts. Alerts that resemble an
 * attack an analyst already confirmed are not asked about again.
 *
 * Near means within `radius` in the model's columns (Euclidean). For a
 * distance-based detector such as kNN the alert threshold is itself a
 * distance, and the natural radius: a row learned as benign makes every row
 * within the threshold of it score under it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coveragePicks } from "./triage.ts";
 * import { matrix } from "../data/matrix.ts";
 * // Rows 0–2 form a tight group, rows 3–4 another, row 5 is alone.
 * const x = matrix(new Float64Array([0, 0, 0.1, 0, 0, 0.1, 5, 5, 5.1, 5, 9, 9]), 6, 2);
 * const none = matrix(new Float64Array(0), 0, 2);
 * assert.deepEqual(coveragePicks(x, [0, 1, 2, 3, 4, 5], none, 0.5, 2), [0, 3]);
 * // Once the first group is a confirmed attack, it is not asked about again.
 * assert.deepEqual(coveragePicks(x, [0, 1, 2, 3, 4, 5], matrix(new Float64Array([0, 0]), 1, 2), 0.5, 2), [3, 5]);
 * ```
 * @module
 */
import type { Matrix } from "../data/matrix.ts";

function dist2(a: Float64Array, i: number, b: Float64Array, j: number, c: number): number {
  let s = 0;
  for (let k = 0; k < c; k++) {
    const d = a[i * c + k] - b[j * c + k];
    s += d * d;
  }
  return s;
}

/**
 * Up to `n` of the rows `idx` of `x` (alerts), densest group first: each pick is the candidate with the
 * most candidates within `radius`, and everything within `radius` of it leaves the candidates. Rows
 * within `radius` of a row of `attacks` (confirmed attacks, same columns) are never picked. Ties go to
 * the earlier row.
 */
export function coveragePicks(
  x: Matrix,
  idx: readonly number[],
  attacks: Matrix,
  radius: number,
  n: number,
): number[] {
  if (attacks.rows && attacks.cols !== x.cols) {
    throw new RangeError(`coveragePicks: attacks have ${attacks.cols} columns, the rows ${x.cols}`);
  }
  if (!(radius >= 0)) throw new RangeError(`coveragePicks: radius must be ≥ 0, found ${radius}`);
  const c = x.cols, r2 = radius * radius;
  const cand = idx.filter((i) => {
    for (let a = 0; a < attacks.rows; a++) if (dist2(x.data, i, attacks.data, a, c) <= r2) return false;
    return true;
  });
  // Neighbour lists once (positions in `cand`); densities then only shrink as groups are covered.
  const m = cand.length, near: number[][] = Array.from({ length: m }, (_, k) => [k]);
  for (let p = 0; p < m; p++) {
    for (let q = p + 1; q < m; q++) {
      if (dist2(x.data, cand[p], x.data, cand[q], c) <= r2) (near[p].push(q), near[q].push(p));
    }
  }
  const dens = Int32Array.from(near, (l) => l.length), gone = new Uint8Array(m);
  const picks: number[] = [];
  while (picks.length < n) {
    let best = -1;
    for (let p = 0; p < m; p++) if (!gone[p] && (best < 0 || dens[p] > dens[best])) best = p;
    if (best < 0) break;
    picks.push(cand[best]);
    for (const q of near[best]) {
      if (gone[q]) continue;
      gone[q] = 1;
      for (const r of near[q]) dens[r]--;
    }
  }
  return picks;
}
