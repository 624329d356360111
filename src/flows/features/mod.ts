/**
 * Feature-set registry: `featureSet("basic" | "cic" | "kdd" | "packets" | "context" | "hosts")`
 * returns a fresh instance (kdd, packets and context keep state across flows, so
 * never share one). `packets` is `basic` plus each flow's first packets
 * (./packets.ts); `context` is `packets` plus the source host's recent flows
 * (./host_context.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureSet } from "./mod.ts";
 * assert.equal(featureSet("cic").columns.length, 89);
 * ```
 * @module
 */
import { basicFeatures } from "./basic.ts";
import { cicFeatures } from "./cic.ts";
import { kddFeatures } from "./kdd.ts";
import { withHostContext } from "./host_context.ts";
import { withFirstPackets } from "./packets.ts";
import type { FeatureSet } from "./types.ts";

/** Names accepted by {@link featureSet}. */
export const FEATURE_SET_NAMES = ["basic", "cic", "kdd", "packets", "context", "hosts"] as const;
export type FeatureSetName = typeof FEATURE_SET_NAMES[number];

/** A fresh feature set by name. */
export function featureSet(name: FeatureSetName): FeatureSet<any> {
  switch (name) {
    case "basic":
      return basicFeatures;
    case "cic":
      return cicFeatures;
    case "kdd":
      return kddFeatures();
    case "packets":
      return withFirstPackets(basicFeatures, "packets");
    case "context":
      return withHostContext(withFirstPackets(basicFeatures, "packets"), "context");
    case "hosts":
      return withHostContext(withFirstPackets(basicFeatures, "packets"), "hosts", { destination: true });
  }
  throw new RangeError(`unknown feature set "${name}", expected one of ${FEATURE_SET_NAMES.join(", ")}`);
}

export type { Column, FeatureSet } from "./types.ts";
