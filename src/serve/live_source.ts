/**
 * Live capture for the monitor: src/capture/live.ts's libpcap source behind
 * the {@link LiveOpener} shape the runner uses (abort signal → stop, kernel
 * drop counters for the metrics). Needs `--unstable-ffi` and CAP_NET_RAW.
 *
 * @module
 */
import { LiveSource as PcapLive } from "../capture/live.ts";
import type { LiveOpener, LiveSource } from "./run.ts";

/** Opens `iface` with libpcap (non-blocking, immediate mode). */
export const openLiveSource: LiveOpener = (iface, o) => {
  const src = PcapLive.open({
    interface: iface,
    snaplen: o.snaplen,
    filter: o.bpf,
    bufferMb: o.bufferMib,
    pollMs: 2,
    fanoutGroup: o.fanoutGroup,
  });
  if (src.warning) console.error(`nadir monitor: libpcap on ${iface}: ${src.warning}`);
  const out: LiveSource = {
    fanoutGroup: src.fanoutGroup,
    async run(cb, signal, drained) {
      const stop = () => src.stop();
      signal.addEventListener("abort", stop, { once: true });
      try {
        if (!signal.aborted) await src.forEach((p) => cb(p), drained);
      } finally {
        signal.removeEventListener("abort", stop);
      }
    },
    stats() {
      const s = src.stats();
      return { received: s.kernelReceived, kernelDrops: s.kernelDropped, ifDrops: s.ifDropped };
    },
    close() {
      src.close();
    },
  };
  return Promise.resolve(out);
};
