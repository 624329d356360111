/**
 * One way to build a registry entry ({@link DetectorFactory}) for every
 * detector: a detector states its specs and how to construct it from typed
 * params, and restores itself from saved state ({@link RestorableDetector});
 * the factory's `create` and `load` (which the registry and model directories
 * call) are written once here, so every detector validates its params and
 * restores the same way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineDetector } from "./factory.ts";
 * import { defineParams } from "./params.ts";
 * import type { Detector, DetectorState } from "./types.ts";
 *
 * const specs = defineParams({ offset: { type: "number", default: 0, description: "added to every score" } });
 * class Constant implements Detector {
 *   readonly name = "constant";
 *   nFeatures: number | undefined;
 *   constructor(readonly params: { offset: number }) {}
 *   fit(x: { cols: number }) {
 *     this.nFeatures = x.cols;
 *   }
 *   score(x: { rows: number }) {
 *     return new Float64Array(x.rows).fill(this.params.offset);
 *   }
 *   save(): DetectorState {
 *     return { state: { nFeatures: this.nFeatures } };
 *   }
 *   restore(saved: DetectorState): void {
 *     this.nFeatures = saved.state.nFeatures as number;
 *   }
 * }
 * const factory = defineDetector({
 *   name: "constant",
 *   summary: "scores every row the same",
 *   params: specs,
 *   create: (params) => new Constant(params),
 * });
 * const d = await factory.load({ state: { nFeatures: 3 } }, { offset: "2" }, 0);
 * assert.equal(d.nFeatures, 3);
 * assert.equal(d.params.offset, 2);
 * assert.throws(() => factory.create({ offest: 1 }, 0), /detector "constant" has no parameter offest/);
 * ```
 * @module
 */
import { type ParamSpecs, type ParamValues, validateParams } from "./params.ts";
import type { Detector, DetectorFactory, DetectorState } from "./types.ts";

/** A detector that can refill itself, fresh from its constructor, from {@link Detector.save}'s output. */
export interface RestorableDetector extends Detector {
  /** Restores the saved model; throws an InputError when the state is invalid. */
  restore(saved: DetectorState): unknown;
}

/** What {@link defineDetector} needs: the parts of a registry entry that differ between detectors. */
export interface DetectorDefinition<S extends ParamSpecs, D extends RestorableDetector> {
  /** Registry name, e.g. "knn" (also the detector's `name`). */
  name: string;
  /** One line for `nadir detectors` and docs. */
  summary: string;
  /** Hyperparameter specs, declared with {@link defineParams} so the values are typed. */
  params: S;
  /** Builds an unfitted detector from validated params (defaults filled in) and a seed. */
  create(params: ParamValues<S>, seed: number): D;
  /** Small settings for the conformance suite (see {@link DetectorFactory.conformanceParams}). */
  conformanceParams?: Record<string, unknown>;
  /** Compute backend name; "js" when absent. */
  backend?: () => string;
}

/**
 * The registry entry for a detector. `create` and `load` validate their
 * params themselves (callers may pass raw `--param` strings or a partial
 * record, as tests and notebooks do). `load` builds a fresh detector and
 * calls its `restore`; it stays synchronous when `restore` is, so
 * plain-TypeScript detectors restore without a microtask.
 */
export function defineDetector<S extends ParamSpecs, D extends RestorableDetector>(
  def: DetectorDefinition<S, D>,
): DetectorFactory {
  const create = (params: Record<string, unknown>, seed: number): D =>
    def.create(validateParams(def.name, def.params, params), seed);
  const factory: DetectorFactory = {
    name: def.name,
    summary: def.summary,
    params: def.params,
    create,
    load(saved, params, seed) {
      const d = create(params, seed);
      const done = d.restore(saved);
      return done instanceof Promise ? done.then(() => d) : d;
    },
    backend: def.backend ?? (() => "js"),
  };
  if (def.conformanceParams) factory.conformanceParams = def.conformanceParams;
  return factory;
}
