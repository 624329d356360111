/**
 * Drift detection over numeric streams (a detector's scores, a flow feature):
 * ADWIN, Page-Hinkley and KSWIN with River's definitions and defaults, behind
 * one {@link DriftDetector} interface. docs/adapt.md explains each and when
 * to use which.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDriftDetector } from "./mod.ts";
 * const d = createDriftDetector("page-hinkley", { threshold: 20 });
 * let fired = -1;
 * for (let i = 0; i < 200 && fired < 0; i++) if (d.update(i < 100 ? 0 : 5)) fired = i;
 * assert.ok(fired >= 100 && fired < 110);
 * assert.equal(d.lastDrift!.direction, "up");
 * assert.throws(() => createDriftDetector("cusum"), /unknown drift detector "cusum"; known: adwin, page-hinkley, kswin/);
 * ```
 * @module
 */
import { InputError } from "../util/errors.ts";
import { ADWIN, type ADWINOptions } from "./adwin.ts";
import { KSWIN, type KSWINOptions } from "./kswin.ts";
import { PageHinkley, type PageHinkleyOptions } from "./page_hinkley.ts";
import type { DriftDetector } from "./types.ts";

export { ADWIN, type ADWINOptions } from "./adwin.ts";
export { KSWIN, KSWIN_MIN_STATISTIC, type KSWINOptions } from "./kswin.ts";
export { PageHinkley, type PageHinkleyMode, type PageHinkleyOptions } from "./page_hinkley.ts";
export {
  kolmogorovSf,
  ks2Samp,
  ks2SampExactSf,
  KS_EXACT_MAX_N,
  type KsMethod,
  type KsResult,
  ksStatistic,
} from "./ks.ts";
export { directionOf, type DriftDetector, type DriftEvent, type WindowStats } from "./types.ts";
export {
  acceptRows,
  BenignPool,
  checkPolicy,
  DEFAULT_GUARD_RAILS,
  FeedbackBudget,
  type GuardRails,
  UPDATE_POLICIES,
  type UpdatePolicy,
} from "./policy.ts";

export { ModelAdapter, type ModelAdapterOptions, type UpdateResult } from "./adapter.ts";
export { coveragePicks } from "./triage.ts";

/** Names accepted by {@link createDriftDetector}. */
export const DRIFT_DETECTORS = ["adwin", "page-hinkley", "kswin"] as const;

/** A detector name from {@link DRIFT_DETECTORS}. */
export type DriftDetectorName = (typeof DRIFT_DETECTORS)[number];

/** Options of each detector, by name. */
export interface DriftDetectorOptions {
  adwin: ADWINOptions;
  "page-hinkley": PageHinkleyOptions;
  kswin: KSWINOptions;
}

/**
 * A detector by name (as a config file or command line gives it), with its
 * options checked: an unknown name or option is an InputError listing the known ones.
 */
export function createDriftDetector<N extends DriftDetectorName>(
  name: N | string,
  options?: DriftDetectorOptions[N],
): DriftDetector {
  switch (name) {
    case "adwin":
      return new ADWIN(options as ADWINOptions);
    case "page-hinkley":
      return new PageHinkley(options as PageHinkleyOptions);
    case "kswin":
      return new KSWIN(options as KSWINOptions);
    default:
      throw new InputError(`unknown drift detector "${name}"; known: ${DRIFT_DETECTORS.join(", ")}`);
  }
}
