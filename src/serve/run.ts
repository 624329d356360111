/**
 * Wires a {@link MonitorConfig} into a running sensor: packet source,
 * {@link Monitor}, filter, sinks, store, metrics and (optionally) the HTTP
 * API, and shuts all of it down in order on abort (SIGINT/SIGTERM in the CLI):
 * stop reading, end every flow and score it, wait for scoring, flush and close
 * the sinks, stop the server.
 *
 * @module
 */
import type { Packet } from "../capture/packet.ts";
import { damageSummary, forEachPacket, newStats, readPackets } from "../capture/reader.ts";
import { createDetector } from "../detectors/registry.ts";
import { isStreaming } from "../detectors/types.ts";
import { fitThreshold, parseThresholdSpec } from "../thresholds/index.ts";
import { InputError, UsageError } from "../util/errors.ts";
import { createHandler, loadToken, type PredictModel, serveApi } from "./api.ts";
import type { MonitorConfig } from "./config.ts";
import { MonitorMetrics } from "./metrics.ts";
import { Monitor, type PacketFeaturizer, type PacketScoring } from "./monitor.ts";
import { flowScoringFromDir, predictModelFromDir } from "./models.ts";
import { AlertFilter, SuppressionList } from "./rules.ts";
import { type AlertSink, FileSink, StdoutSink } from "./sinks/sink.ts";
import { WebhookSink } from "./sinks/webhook.ts";
import { SyslogSink } from "./sinks/syslog.ts";
import { NatsSink } from "./sinks/nats.ts";
import { AlertStore, LiveStats } from "./store.ts";
import { dirname, join } from "node:path";

/** A live packet source (libpcap); see {@link openLiveSource}. */
export interface LiveSource {
  /** Delivers packets until `signal` aborts; the packet object may be reused. */
  run(cb: (p: Packet) => void, signal: AbortSignal): Promise<void>;
  /** Kernel counters (libpcap pcap_stats). */
  stats(): { received: number; kernelDrops: number; ifDrops: number };
  close(): void;
}

/** Opens a live capture; replaced in tests. Loads src/capture/live.ts lazily (it needs --unstable-ffi). */
export type LiveOpener = (
  iface: string,
  o: { snaplen: number; bufferMib: number; bpf?: string },
) => Promise<LiveSource>;

/** Builds per-packet features for a streaming detector (AfterImage); resolved lazily from src/flows/. */
export type FeaturizerFactory = () => Promise<PacketFeaturizer>;

/** What {@link runMonitor} returns. */
export interface RunSummary {
  packets: number;
  flows: number;
  alerts: number;
  kernelDrops: number;
  internalDrops: number;
  evicted: number;
  seconds: number;
  captureDamage?: string;
}

/** Options beyond the config. */
export interface RunOptions {
  signal?: AbortSignal;
  /** Keep serving the API after a pcap replay ends, until `signal` aborts. */
  stay?: boolean;
  /** Called once the API listens (port 0 → the real port). */
  onListen?: (addr: Deno.NetAddr) => void;
  /** Called once everything is set up (before the first packet). */
  onReady?: (m: { monitor: Monitor; store: AlertStore; metrics: MonitorMetrics; stats: LiveStats }) => void;
  liveOpener?: LiveOpener;
  featurizer?: FeaturizerFactory;
  /** Passed to the monitor (see MonitorOptions.cpuClock / onAlert). */
  cpuClock?: () => number;
  onAlert?: (a: import("./alert.ts").Alert, latencyMs: number, cpuLatencyMs?: number) => void;
  /** Log line sink (stderr by default). */
  log?: (line: string) => void;
}

function replaySpeed(r: string | undefined): number {
  if (!r || r === "fast") return Infinity;
  if (r === "realtime") return 1;
  const m = /^x([0-9]+(?:\.[0-9]+)?)$/.exec(r);
  if (!m || !(Number(m[1]) > 0)) {
    throw new UsageError(`--replay expects fast, realtime or xN (e.g. x10), found "${r}"`);
  }
  return Number(m[1]);
}

/** Runs the sensor until the capture ends (pcap) or `signal` aborts. */
export async function runMonitor(cfg: MonitorConfig, ro: RunOptions = {}): Promise<RunSummary> {
  const log = ro.log ?? ((l: string) => console.error(l));
  const src = cfg.source ?? {};
  if (!src.interface && !src.pcap) throw new UsageError("nadir monitor: give --interface IF or --pcap FILE");
  if (!cfg.model && !cfg.detector) throw new UsageError("nadir monitor: give --model DIR or --detector NAME");
  const speed = replaySpeed(src.replay);
  const t0 = performance.now();

  // --- scoring
  let scoring;
  const predictModels: PredictModel[] = [];
  if (cfg.model) {
    scoring = await flowScoringFromDir(cfg.model);
    predictModels.push(await predictModelFromDir(cfg.model));
  } else {
    const params: Record<string, unknown> = { ...(cfg.detector_params ?? {}) };
    const grace = cfg.grace ?? 50_000;
    // KitNET maps features during its first fmGrace rows and only then trains: keep that phase inside the
    // monitor's grace period (Kitsune's own defaults: 5,000 of 50,000), or nothing would ever be scored.
    if (cfg.detector === "kitnet" && params.fmGrace === undefined) {
      params.fmGrace = Math.max(1, Math.min(5000, Math.floor(grace / 10)));
    }
    if (params.fmGrace !== undefined && Number(params.fmGrace) >= grace) {
      throw new UsageError(
        `nadir monitor: --grace ${grace} must exceed the detector's fmGrace ${params.fmGrace} (it learns the feature map first)`,
      );
    }
    const det = createDetector(cfg.detector!, params, cfg.seed ?? 0);
    if (!isStreaming(det)) {
      throw new UsageError(
        `nadir monitor: --detector ${cfg.detector} is not a streaming detector; train it and pass --model DIR`,
      );
    }
    if (!ro.featurizer) {
      throw new InputError("per-packet features (AfterImage) are not available in this build");
    }
    const featurizer = await ro.featurizer();
    const th = parseThresholdSpec(cfg.threshold ?? "percentile:0.999");
    const ps: PacketScoring = {
      kind: "packet",
      name: cfg.detector!,
      detector: det,
      featurizer,
      grace,
      calibration: cfg.calibration,
      fitThreshold: (s) => fitThreshold(th.strategy, s, th.params).value,
    };
    scoring = ps;
  }

  // --- state, rules, sinks
  const metrics = new MonitorMetrics();
  const stats = new LiveStats();
  stats.source = src.interface ? `interface ${src.interface}` : `pcap ${src.pcap}`;
  const suppressions = new SuppressionList(cfg.rules?.suppressions_file);
  for (const r of cfg.rules?.allowlist ?? []) {
    suppressions.rules().some((x) => JSON.stringify(x) === JSON.stringify(r)) ||
      suppressions.add({ ...r, reason: r.reason ?? "allowlist" });
  }
  const filter = new AlertFilter({
    dedupWindowS: cfg.rules?.dedup_window_s,
    perHostPerMinute: cfg.rules?.per_host_per_minute,
    suppressions,
  });
  const alertsFile = cfg.alerts?.file;
  const baseDir = alertsFile ? dirname(alertsFile) : undefined;
  const evidenceDir = cfg.evidence?.dir ?? (baseDir ? join(baseDir, "evidence") : undefined);
  const store = new AlertStore({
    evidenceDir,
    feedbackFile: cfg.feedback_file ?? (baseDir ? join(baseDir, "feedback.jsonl") : undefined),
    filter,
  });
  const onErr = (name: string) => () => metrics.sinkErrors.inc(1, { sink: name });
  const sinks: AlertSink[] = [];
  if (alertsFile) {
    store.loadFile(alertsFile);
    sinks.push(new FileSink(alertsFile, { maxBytes: cfg.alerts?.max_bytes, keep: cfg.alerts?.keep }));
  }
  if (cfg.alerts?.stdout) sinks.push(new StdoutSink());
  const sk = cfg.sinks ?? {};
  if (sk.webhook) {
    sinks.push(
      new WebhookSink({
        url: sk.webhook.url,
        headers: sk.webhook.headers,
        timeoutMs: sk.webhook.timeout_ms,
        spoolPath: sk.webhook.spool ?? join(baseDir ?? ".", "webhook.spool"),
        onError: onErr("webhook"),
      }),
    );
  }
  if (sk.syslog) {
    sinks.push(
      new SyslogSink({
        host: sk.syslog.host,
        port: sk.syslog.port,
        transport: sk.syslog.transport ?? "udp",
        facility: sk.syslog.facility,
        onError: onErr("syslog"),
      }),
    );
  }
  if (sk.nats) {
    const token = sk.nats.token_file ? Deno.readTextFileSync(sk.nats.token_file).trim() : undefined;
    sinks.push(
      new NatsSink({
        host: sk.nats.host,
        port: sk.nats.port,
        subject: sk.nats.subject,
        token,
        onError: onErr("nats"),
      }),
    );
  }
  if (!sinks.length) {
    log("nadir monitor: no alert sink configured (--alerts FILE); alerts are only kept for the API");
  }

  const fl = cfg.flows ?? {};
  const monitor = new Monitor({
    scoring,
    metrics,
    store,
    stats,
    filter,
    sinks,
    evidenceDir,
    evidence: {
      perFlowPackets: cfg.evidence?.packets_per_flow,
      perFlowBytes: cfg.evidence?.bytes_per_flow,
      maxBytes: cfg.evidence?.max_bytes,
    },
    idleTimeoutS: fl.idle_timeout_s,
    activeTimeoutS: fl.active_timeout_s,
    rescoreIntervalS: fl.rescore_interval_s,
    maxFlows: fl.max_flows,
    batchSize: fl.batch_size,
    maxBatchDelayMs: fl.max_batch_delay_ms,
    sensor: cfg.sensor,
    cpuClock: ro.cpuClock,
    onAlert: ro.onAlert,
  });

  // --- API
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  const stop = new AbortController();
  ro.signal?.addEventListener("abort", () => stop.abort(), { once: true });
  if (cfg.api?.port !== undefined) {
    const token = loadToken(cfg.api.token_file);
    server = serveApi({
      host: cfg.api.host ?? "127.0.0.1",
      port: cfg.api.port,
      hasToken: token !== undefined,
      certFile: cfg.api.cert,
      keyFile: cfg.api.key,
      handler: createHandler({
        store,
        stats,
        metrics,
        models: predictModels,
        token,
        maxBodyBytes: cfg.api.max_body_bytes,
      }),
      onListen: (addr) => {
        log(
          `nadir monitor: API and dashboard on ${
            cfg.api?.cert ? "https" : "http"
          }://${addr.hostname}:${addr.port}/`,
        );
        ro.onListen?.(addr);
      },
    });
  }
  ro.onReady?.({ monitor, store, metrics, stats });

  // --- source
  stats.running = true;
  let kernelDrops = 0;
  let damage: string | undefined;
  const live = src.interface !== undefined;
  const ticker = setInterval(() => {
    try {
      monitor.tick(live ? Date.now() * 1000 : undefined);
    } catch (e) {
      log(`nadir monitor: tick failed: ${(e as Error).stack ?? e}`);
    }
  }, live ? 500 : 1000);
  try {
    if (live) {
      const opener = ro.liveOpener ?? (await defaultLiveOpener());
      const source = await opener(src.interface!, {
        snaplen: src.snaplen ?? 2048,
        bufferMib: src.buffer_mib ?? 64,
        bpf: src.bpf,
      });
      log(`nadir monitor: capturing on ${src.interface}${src.bpf ? ` (filter ${src.bpf})` : ""}`);
      const dropTicker = setInterval(() => {
        const s = source.stats();
        kernelDrops = s.kernelDrops;
        metrics.kernelDrops.setTotal(s.kernelDrops);
        metrics.ifDrops.setTotal(s.ifDrops);
      }, 1000);
      try {
        await source.run((p) => monitor.packet(p), stop.signal);
      } finally {
        clearInterval(dropTicker);
        const s = source.stats();
        kernelDrops = s.kernelDrops;
        metrics.kernelDrops.setTotal(s.kernelDrops);
        metrics.ifDrops.setTotal(s.ifDrops);
        source.close();
      }
    } else if (speed === Infinity) {
      const cs = await forEachPacket(src.pcap!, (p) => {
        if (stop.signal.aborted) return false;
        monitor.packet(p);
        // Small reads: microtasks (batch flushes, async explanations) run between chunks, so an alert
        // never waits for a multi-MiB chunk to be parsed.
      }, { signal: stop.signal, chunkSize: 256 * 1024 });
      damage = damageSummary(cs) || undefined;
    } else {
      const cs = newStats();
      let first = NaN;
      let wall0 = 0;
      for await (const p of readPackets(src.pcap!, { stats: cs, signal: stop.signal })) {
        if (stop.signal.aborted) break;
        if (Number.isNaN(first)) {
          first = p.tsUs;
          wall0 = performance.now();
        }
        const due = wall0 + (p.tsUs - first) / 1000 / speed;
        const wait = due - performance.now();
        if (wait > 2) await sleepAbortable(wait, stop.signal);
        if (stop.signal.aborted) break;
        monitor.packet(p);
      }
      damage = damageSummary(cs) || undefined;
    }
    if (damage) log(`nadir monitor: capture damage: ${damage}`);
  } finally {
    clearInterval(ticker);
    await monitor.finish();
    stats.running = false;
    if (ro.stay && server && !stop.signal.aborted) {
      log("nadir monitor: replay finished; serving the API until SIGINT/SIGTERM");
      await new Promise<void>((r) => stop.signal.addEventListener("abort", () => r(), { once: true }));
    }
    await Promise.all(
      sinks.map((s) =>
        s.close().catch((e) => log(`nadir monitor: closing sink ${s.name}: ${(e as Error).message}`))
      ),
    );
    if (server) await server.shutdown();
  }
  const ms = monitor.meter.stats;
  return {
    packets: metrics.packets.get(),
    flows: ms.created,
    alerts: monitor.alertCount,
    kernelDrops,
    internalDrops: metrics.internalDrops.get(),
    evicted: ms.evicted,
    seconds: (performance.now() - t0) / 1000,
    captureDamage: damage,
  };
}

function sleepAbortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      r();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

async function defaultLiveOpener(): Promise<LiveOpener> {
  const mod = await import("./live_source.ts");
  return mod.openLiveSource;
}
