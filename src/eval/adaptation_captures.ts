/**
 * The drift protocol on real captures (issue 15, scope 4): a flow model is
 * fit on a benign warm-up (web browsing), then captures from
 * `../shared/data/pcaps` are replayed after it, one after another, as one
 * stream of flows: new benign services (SMTP, SSH) between scans, a brute
 * force, malware C2 and a DHCP flood. Flows are metered with the monitor's
 * settings (src/serve/models.ts `flowMatrixFromPcap`) and replayed by
 * {@link replayStream} — the same adapter the live monitor runs.
 *
 * Labels are per capture: every flow of an attack capture counts as an attack,
 * though some (a DNS lookup in a malware capture) are background. The counts
 * are small — 34 benign flows in the stream — so the per-window rates are
 * coarse; the result records every count.
 *
 * @example
 * ```ts ignore
 * import { captureStream, CAPTURE_STREAM } from "./adaptation_captures.ts";
 * import { replayStream } from "./adaptation.ts";
 * const input = await captureStream({ dir: "../shared/data/pcaps", spec: CAPTURE_STREAM });
 * const r = await replayStream(input, { policy: "sliding", window: 100 });
 * console.log(r.total.fpr, r.total.recall);
 * ```
 * @module
 */
import { join } from "node:path";
import { concatRows, takeRows } from "../data/matrix.ts";
import { matrixToFrame } from "../data/preprocess.ts";
import { featureSetByName, flowMatrixFromPcap } from "../serve/models.ts";
import { InputError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import type { StreamInput } from "./adaptation.ts";
import { fitPreprocess } from "./prep.ts";

/** One capture of the stream. */
export interface StreamCapture {
  pcap: string;
  /** 1: every flow counts as an attack. */
  label: 0 | 1;
  /** Attack family, or "normal". */
  category: string;
}

/** Which captures warm the model up and which are replayed after, in order. */
export interface CaptureStreamSpec {
  warmup: string[];
  stream: StreamCapture[];
  detector: { name: string; params?: Record<string, unknown> };
  threshold: { strategy: string; params?: Record<string, unknown> };
  /** Feature set the flows are metered with (default "basic"). */
  featureSet?: string;
  /** Share of warm-up flows held out to calibrate the threshold (default 0.2). */
  calibrationFraction?: number;
}

/**
 * The default stream: web browsing to warm up; then SMTP and SSH (benign services the model never saw)
 * between attacks. Fixed before any run, not chosen from results.
 */
export const CAPTURE_STREAM: Readonly<CaptureStreamSpec> = {
  warmup: ["http_espn.pcapng", "zeek-http-bro.org.pcap", "zeek-http-methods.pcap"],
  stream: [
    { pcap: "zeek-smtp.pcap", label: 0, category: "normal" },
    { pcap: "synscan.pcapng", label: 1, category: "scan" },
    { pcap: "zeek-ssh-ssh.pcap", label: 0, category: "normal" },
    { pcap: "zeek-ftp-bruteforce.pcap", label: 1, category: "brute-force" },
    { pcap: "stratosphere-test7-malicious.pcap", label: 1, category: "malware" },
    { pcap: "zeek-dhcp-dhcp_flood.pcap", label: 1, category: "flood" },
    { pcap: "stratosphere-test12-icmp-portscan.pcap", label: 1, category: "scan" },
  ],
  detector: { name: "knn", params: { k: 1 } },
  threshold: { strategy: "percentile", params: { q: 0.99 } },
  featureSet: "basic",
  calibrationFraction: 0.2,
};

/**
 * Meters the captures of `spec` (found in `dir`) into a {@link StreamInput}: warm-up flows split
 * (seeded) into fit and calibration rows, signed-log and min-max scaled as fit on the fit rows.
 */
export async function captureStream(
  o: { dir: string; spec?: CaptureStreamSpec; seed?: number },
): Promise<StreamInput & { captures: { pcap: string; flows: number; label: number }[] }> {
  const spec = o.spec ?? CAPTURE_STREAM;
  const fs = featureSetByName(spec.featureSet ?? "basic");
  const meter = async (name: string) => {
    const path = join(o.dir, name);
    try {
      await Deno.stat(path);
    } catch {
      throw new InputError(`capture not found (the drift protocol's capture stream needs it)`, {
        file: path,
      });
    }
    return await flowMatrixFromPcap(path, fs);
  };
  const warm = concatRows(await Promise.all(spec.warmup.map(meter)));
  const parts = await Promise.all(spec.stream.map((c) => meter(c.pcap)));
  const order = Array.from({ length: warm.rows }, (_, i) => i);
  new Rng(o.seed ?? 0).shuffle(order);
  const nCal = Math.max(1, Math.round(warm.rows * (spec.calibrationFraction ?? 0.2)));
  const fitRows = takeRows(warm, order.slice(nCal).sort((a, b) => a - b));
  const calRows = takeRows(warm, order.slice(0, nCal).sort((a, b) => a - b));
  const prep = fitPreprocess(matrixToFrame(fitRows), { log1p: true, scale: "minmax", dropConstant: false });
  const stream = concatRows(parts);
  const y = new Uint8Array(stream.rows), category: string[] = [];
  let at = 0;
  spec.stream.forEach((c, k) => {
    y.fill(c.label, at, at + parts[k].rows);
    for (let i = 0; i < parts[k].rows; i++) category.push(c.category);
    at += parts[k].rows;
  });
  return {
    id: `captures-${spec.detector.name}`,
    test: "captures",
    fit: prep.train,
    calibration: prep.apply(matrixToFrame(calRows)),
    stream: prep.apply(matrixToFrame(stream)),
    y,
    category,
    detector: spec.detector,
    threshold: spec.threshold,
    captures: spec.stream.map((c, k) => ({ pcap: c.pcap, flows: parts[k].rows, label: c.label })),
  };
}
