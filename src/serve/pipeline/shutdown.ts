/**
 * Shutdown stage. The order is what makes an interrupted sensor lose nothing:
 * reading has stopped (the caller's source returned); the ticker stops; every
 * flow is ended and scored and the scoring awaited (Monitor.finish), so the
 * last alerts reach the sinks; only then are the sinks flushed and closed; the
 * API stops last, so the dashboard shows the final state until the end. Then
 * each sink that lost alerts gets a summary line (raised, written, lost and
 * why).
 *
 * @module
 */
import type { Monitor } from "../monitor.ts";
import type { AlertSink } from "../sinks/sink.ts";
import type { LiveStats } from "../store.ts";
import { closeSinks, lossLines, sinkReports } from "./sinks.ts";

/** What {@link shutdown} stops. */
export interface ShutdownParts {
  /** Stops the periodic tick (from `startTicker`). */
  stopTicker: () => void;
  monitor: Monitor;
  stats: LiveStats;
  sinks: AlertSink[];
  server?: Deno.HttpServer<Deno.NetAddr>;
  /** Aborts on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** After a replay that ended by itself, keep the API up until `signal` aborts. */
  stay?: boolean;
  log: (line: string) => void;
  /** Runs once every flow is scored, before the sinks close (the last health record). */
  beforeSinksClose?: () => void;
}

/** Stops the pipeline in the order of the module doc; call once the source has returned or thrown. */
export async function shutdown(p: ShutdownParts): Promise<void> {
  p.stopTicker();
  await p.monitor.finish();
  p.stats.running = false;
  if (p.stay && p.server && !p.signal.aborted) {
    p.log("nadir monitor: replay finished; serving the API until SIGINT/SIGTERM");
    await new Promise<void>((r) => p.signal.addEventListener("abort", () => r(), { once: true }));
  }
  p.beforeSinksClose?.();
  await closeSinks(p.sinks, p.log);
  // Alerts a sink lost (disk full…) are said plainly: the run "worked" but the record is incomplete.
  for (const l of lossLines(p.monitor.alertCount, sinkReports(p.sinks), p.monitor.driftEvents)) p.log(l);
  if (p.server) await p.server.shutdown();
}
