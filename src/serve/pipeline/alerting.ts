/**
 * Alert stage: what decides whether an alert is emitted (suppressions, the
 * config's allowlist, dedup window, per-host rate) and where emitted alerts
 * are kept for the API (the store, with evidence pcaps and analyst feedback).
 *
 * Evidence and feedback live next to the alerts file by default, so one
 * directory holds everything a sensor produced.
 *
 * @module
 */
import { type MonitorConfig, statePaths } from "../config.ts";
import { AlertFilter, SuppressionList } from "../rules.ts";
import { AlertStore, type FeedbackLine } from "../store.ts";
import { describeRepair, repairJsonLines } from "../sinks/repair.ts";

/** The filter and store the Monitor and the API share. */
export interface Alerting {
  filter: AlertFilter;
  store: AlertStore;
  /** Directory for evidence pcaps; none are written when undefined. */
  evidenceDir?: string;
  /** Directory of the alerts file, default home for the other sensor files; undefined without one. */
  baseDir?: string;
  /** The feedback file's verdicts, oldest first (the update policy learns them again). */
  feedback: FeedbackLine[];
}

/**
 * Builds the filter and store from `cfg.rules`, `cfg.evidence` and `cfg.feedback_file`, and loads the
 * alerts already in `cfg.alerts.file` and the verdicts of the feedback file: a restarted sensor serves its
 * earlier alerts with their labels. Allowlist rules
 * already in the suppressions file are not added twice (a restart must not grow the file).
 */
export function openAlerting(cfg: MonitorConfig): Alerting {
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
  const { baseDir, evidenceDir, feedbackFile } = statePaths(cfg);
  const store = new AlertStore({
    evidenceDir,
    feedbackFile,
    filter,
    driftCapacity: cfg.drift?.max_events,
  });
  // Read before any sink appends to the file, so the store holds exactly the earlier runs' alerts.
  if (alertsFile) store.loadFile(alertsFile);
  // Verdicts survive restarts: each held alert gets its label back (the update policy reads them again).
  // Its torn tail first, as the alerts file's: the next verdict had been appended onto the fragment (both
  // lost), and the start after that refused the file, --repair or not.
  if (feedbackFile) {
    const r = repairJsonLines(feedbackFile, { all: cfg.alerts?.repair });
    if (r) console.error(`nadir monitor: repaired ${describeRepair(r)}`);
  }
  const feedback = store.loadFeedback();
  return { filter, store, evidenceDir, baseDir, feedback };
}
