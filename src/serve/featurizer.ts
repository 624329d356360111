/**
 * Per-packet features for streaming detectors (KitNET): AfterImage from
 * src/flows/ when that module is present.
 *
 * @module
 */
import { InputError } from "../util/errors.ts";
import type { PacketFeaturizer } from "./monitor.ts";

/** AfterImage (Kitsune's damped incremental statistics) as a {@link PacketFeaturizer}. */
export function afterImageFeaturizer(): Promise<PacketFeaturizer> {
  return Promise.reject(new InputError("per-packet AfterImage features (src/flows/afterimage.ts) are not in this build yet"));
}
