/**
 * Per-packet features for streaming detectors (KitNET): Kitsune's AfterImage
 * from src/flows/features/afterimage.ts as a {@link PacketFeaturizer}, pruned
 * periodically so a long-running sensor keeps bounded memory.
 *
 * @module
 */
import { AfterImage } from "../flows/features/afterimage.ts";
import type { PacketFeaturizer } from "./monitor.ts";
import type { Packet } from "../capture/packet.ts";

/** AfterImage (5 decay factors × 20 statistics = 100 features per packet). */
export function afterImageFeaturizer(): Promise<PacketFeaturizer> {
  const ai = new AfterImage();
  let lastPruneUs = -Infinity;
  return Promise.resolve({
    names: ai.names,
    update(p: Packet, out: Float64Array) {
      // Streams idle for long decay to nothing under the slowest λ; drop them every 60 s of traffic.
      if (p.tsUs - lastPruneUs > 60e6) {
        if (lastPruneUs !== -Infinity) ai.prune(p.tsUs);
        lastPruneUs = p.tsUs;
      }
      out.set(ai.update(p));
    },
  });
}
