/**
 * Signature-IDS baselines scored like detectors: alerts are matched to the
 * labelled CIC-IDS2017 flows (src/eval/match.ts) and a flow with ≥ 1 matched
 * alert counts as flagged. The result folder has the same files and keys as a
 * detector run, so `nadir compare` shows both side by side.
 *
 * Test sets written:
 * - `metrics.json` (all flows): 5-tuple + time window match over every flow of
 *   the sample — flows outside the alert files' coverage count as not flagged,
 *   exactly as if Snort had been silent there;
 * - `metrics.covered.json`: the same, restricted to flows inside the time spans
 *   the alert files cover (a fairer view of what Snort saw);
 * - `metrics.tuple-only.json`: 5-tuple match ignoring time (all flows), the
 *   loosest matching.
 *
 * Clocks: the CIC-IDS2017 *improved* CSV timestamps and the Snort 3 alert
 * timestamps in ../shared/data are both on the same clock (UTC = ADT + 3 h):
 * FTP-Patator's flows span 12:19–13:20 and Monday's alerts 12:01–20:01, which
 * is the published 9:20–10:20 / 8:00–17:00 ADT schedule shifted by 3 h. So
 * the default offset between them is 0; see docs/ids.md.
 *
 * @module
 */
import type pl from "nodejs-polars";
import { basename, join } from "node:path";
import { readAlerts, skippedLines } from "../ids/mod.ts";
import type { Alert } from "../ids/types.ts";
import { evaluate, perCategory } from "./metrics.ts";
import { coverageFromAlerts, covered, type FlowTuple, matchAlerts, type MatchOptions } from "./match.ts";
import { environment } from "./env.ts";
import { gitShortSha, RunFolder, runStamp } from "./results.ts";
import { InputError } from "../util/errors.ts";
import { fileSha256 } from "../util/hash.ts";

/** Flows of a labelled frame in matcher form (CIC-IDS2017 layout: Src IP, ..., Timestamp, Flow Duration µs). */
export function cicFlows(df: pl.DataFrame, tzOffsetMinutes = 0): FlowTuple[] {
  for (const c of ["Src IP", "Src Port", "Dst IP", "Dst Port", "Protocol", "Timestamp", "Flow Duration"]) {
    if (!df.columns.includes(c)) {
      throw new InputError(`flow table lacks column "${c}" (CIC-IDS2017 layout expected)`);
    }
  }
  const col = (c: string) => df.getColumn(c).toArray() as unknown[];
  const [src, sp, dst, dp, pr, ts, dur] = [
    "Src IP",
    "Src Port",
    "Dst IP",
    "Dst Port",
    "Protocol",
    "Timestamp",
    "Flow Duration",
  ].map(col);
  const out: FlowTuple[] = new Array(df.height);
  for (let i = 0; i < df.height; i++) {
    const t = String(ts[i]);
    const start = Date.parse(t.replace(" ", "T") + (/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? "" : "Z")) -
      tzOffsetMinutes * 60_000;
    if (!Number.isFinite(start)) {
      throw new InputError(`unparseable timestamp "${t}"`, { line: i + 2, column: "Timestamp" });
    }
    out[i] = {
      src: String(src[i]),
      srcPort: Number(sp[i]),
      dst: String(dst[i]),
      dstPort: Number(dp[i]),
      proto: Number(pr[i]),
      start,
      end: start + Math.max(0, Number(dur[i])) / 1000,
    };
  }
  return out;
}

/** Options for {@link evaluateIds}. */
export interface IdsEvalOptions extends MatchOptions {
  /** Alert files (Snort alert_json/alert_fast or Suricata eve.json). */
  files: string[];
  /** Snort timestamps lack a year. Default 2017 (CIC-IDS2017). */
  year?: number;
  /** Offset of the alert clock from UTC in minutes (Snort local time). Default 0. */
  alertTzOffsetMinutes?: number;
  /** Engine label for the result ("snort3", "suricata"). */
  engine: string;
  /** Rows of the detectors' cic-ids2017 test set (seed 0): also scored as "protocol-test". */
  protocolTestRows?: Uint32Array;
  /** Accept alert files without a single alert (default false: an InputError naming the file). */
  allowEmpty?: boolean;
  /** Where to report skipped (malformed) alert lines, one message each; default: not reported. */
  warn?: (message: string) => void;
  /** Alerts already read with {@link readIdsAlerts} (then `files` are not read again). */
  read?: IdsAlerts;
}

/** Alerts of every file of an evaluation, in file order. */
export interface IdsAlerts {
  alerts: Alert[];
  perFile: Record<string, number>;
  /** Per-file alert times, for the coverage estimate. */
  spans: { source: string; ts: number[] }[];
  skipped: number;
}

/**
 * Reads and concatenates the alert files of an evaluation. Alerts are appended
 * one by one: `alerts.push(...r.alerts)` overflows the stack from ~120 k
 * alerts in one file.
 */
export async function readIdsAlerts(
  opts: Pick<IdsEvalOptions, "files" | "year" | "alertTzOffsetMinutes" | "allowEmpty" | "warn">,
): Promise<IdsAlerts> {
  const alerts: Alert[] = [];
  const perFile: Record<string, number> = {};
  const spans: { source: string; ts: number[] }[] = [];
  let skipped = 0;
  for (const f of opts.files) {
    const r = await readAlerts(f, {
      year: opts.year ?? 2017,
      tzOffsetMinutes: opts.alertTzOffsetMinutes ?? 0,
      allowEmpty: opts.allowEmpty,
    });
    for (const a of r.alerts) alerts.push(a);
    perFile[basename(f)] = r.alerts.length;
    skipped += r.skipped.length;
    spans.push({ source: basename(f), ts: r.alerts.map((a) => a.ts) });
    if (opts.warn) { for (const m of skippedLines(r)) opts.warn(m); }
  }
  return { alerts, perFile, spans, skipped };
}

/** Per-set outcome of {@link evaluateIds}. */
export interface IdsEvalResult {
  sets: Record<string, Record<string, unknown>>;
  /** Per flow (frame order): flagged (windowed match), inside coverage, label, class. */
  flags: { flagged: Uint8Array; covered: Uint8Array; y: Uint8Array; cls: string[] };
  coverage: {
    intervals: { source: string; start: string; end: string }[];
    flowsCovered: number;
    flowsTotal: number;
  };
  alerts: { total: number; matched: number; skippedLines: number; perFile: Record<string, number> };
}

/** Matches alerts to labelled flows and computes detector-comparable metrics. */
export async function evaluateIds(
  df: pl.DataFrame,
  opts: IdsEvalOptions,
): Promise<IdsEvalResult> {
  const flows = cicFlows(df, opts.tzOffsetMinutes ?? 0);
  const y = Uint8Array.from(df.getColumn("label").toArray() as number[]);
  const cls = (df.getColumn(df.columns.includes("attack") ? "attack" : "category").toArray() as string[]).map(
    String,
  );
  const { alerts, perFile, spans, skipped } = opts.read ?? await readIdsAlerts(opts);
  const intervals = coverageFromAlerts(spans, opts.toleranceMs ?? 1000);
  const cov = covered(flows, intervals);
  const sets: IdsEvalResult["sets"] = {};
  const score = (flagged: Uint8Array, rows: number[] | undefined, name: string) => {
    const idx = rows ?? Array.from({ length: y.length }, (_, i) => i);
    const yy = Uint8Array.from(idx, (i) => y[i]);
    const ss = Float64Array.from(idx, (i) => flagged[i]);
    const m = evaluate(yy, ss, 0.5);
    const pc = perCategory(idx.map((i) => cls[i]), Uint8Array.from(idx, (i) => flagged[i]));
    sets[name] = { ...m, rows: idx.length, anomalies: yy.reduce((a, b) => a + b, 0), per_category: pc };
  };
  const windowed = matchAlerts(flows, alerts, opts);
  score(windowed.flagged, undefined, "test");
  const covRows: number[] = [];
  cov.forEach((c, i) => c && covRows.push(i));
  if (covRows.length && covRows.some((i) => y[i]) && covRows.some((i) => !y[i])) {
    score(windowed.flagged, covRows, "covered");
  }
  if (opts.protocolTestRows) score(windowed.flagged, Array.from(opts.protocolTestRows), "protocol-test");
  const loose = matchAlerts(flows, alerts, { ...opts, window: false });
  score(loose.flagged, undefined, "tuple-only");
  return {
    sets,
    flags: { flagged: windowed.flagged, covered: cov, y, cls },
    coverage: {
      intervals: intervals.map((iv) => ({
        source: iv.source ?? "",
        start: new Date(iv.start).toISOString(),
        end: new Date(iv.end).toISOString(),
      })),
      flowsCovered: covRows.length,
      flowsTotal: flows.length,
    },
    alerts: { total: alerts.length, matched: windowed.alertsMatched, skippedLines: skipped, perFile },
  };
}

/** Runs {@link evaluateIds} on the CIC-IDS2017 sample and writes a result folder `root/<id>/<stamp>/`. */
export async function runIdsBaseline(
  opts: IdsEvalOptions & { id: string; root?: string; dataset?: string; datasetPath?: string },
): Promise<{ dir: string; result: IdsEvalResult }> {
  // Alerts first: a bad or empty alert file fails before a result folder exists.
  const read = opts.read ?? await readIdsAlerts(opts);
  const { loadDataset } = await import("../data/datasets.ts");
  const { listSourceFiles } = await import("../data/csv.ts");
  const { resolveSource } = await import("../data/source.ts");
  const name = opts.dataset ?? "cic-ids2017";
  const d = loadDataset(opts.datasetPath ? { name, path: opts.datasetPath } : name, { warn: () => {} });
  const folder = await RunFolder.create(opts.root ?? "results", opts.id, runStamp(new Date(), gitShortSha()));
  try {
    const { getProtocol } = await import("./protocols.ts");
    const split = await getProtocol("cic-ids2017").load({ seed: 0 });
    const result = await evaluateIds(d.df, {
      ...opts,
      read,
      protocolTestRows: opts.datasetPath ? undefined : split.tests[0].rows,
    });
    const { files: _f, read: _r, warn: _w, ...matchOpts } = opts;
    await folder.writeJson("config.json", {
      id: opts.id,
      protocol: "cic-ids2017",
      detector: opts.engine,
      kind: "signature-ids",
      alert_files: opts.files.map((f) => f.replace(/^.*\/shared\/data\//, "../shared/data/")),
      match: {
        toleranceMs: opts.toleranceMs ?? 1000,
        tzOffsetMinutes: opts.tzOffsetMinutes ?? 0,
        alertTzOffsetMinutes: opts.alertTzOffsetMinutes ?? 0,
        year: opts.year ?? 2017,
        icmpIgnorePorts: matchOpts.icmpIgnorePorts ?? true,
      },
    });
    await folder.writeJson("env.json", environment("n/a (recorded alerts)"));
    const hashes: Record<string, string> = {};
    for (
      const f of [...listSourceFiles(resolveSource(opts.datasetPath ?? name, "cic-ids2017")), ...opts.files]
    ) {
      hashes[
        f.replace(/^.*?\/(data|shared\/data)\//, (_m, p) => (p === "data" ? "data/" : "../shared/data/"))
      ] = await fileSha256(f);
    }
    await folder.writeJson("data.json", {
      protocol: "cic-ids2017",
      files: hashes,
      frames: { [name]: { rows: d.df.height, columns: d.df.width } },
      coverage: result.coverage,
      alerts: result.alerts,
      notes: [
        "all 25,127 flows are scored (no training split: a signature IDS needs none); the detectors' cic-ids2017 test set is a subset",
        "flagged = at least one alert matched by 5-tuple (either direction) within [start - tol, end + tol]",
        "metrics.protocol-test.json: the same flags on the detectors' cic-ids2017 test rows of seed 0 (same flows as their first seed)",
      ],
    });
    const env = { train_seconds: 0, score_rows_per_s: 0, model_bytes: 0, peak_rss_bytes: 0 };
    for (const [set, m] of Object.entries(result.sets)) {
      const { per_category, tp, fp, tn, fn, ...flat } = m as Record<string, unknown>;
      await folder.writeJson(set === "test" ? "metrics.json" : `metrics.${set}.json`, {
        protocol: "cic-ids2017",
        detector: opts.engine,
        test_set: set,
        kind: "signature-ids",
        ...flat,
        ...env,
        n_seeds: 1,
        std: {},
        ci95: {},
        per_seed: [{ seed: 0, ...flat, confusion: { tp, fp, tn, fn } }],
        per_category,
        coverage: set === "covered" ? result.coverage : undefined,
        f1_oracle_note: "binary alerts: f1_oracle, roc_auc and pr_auc treat 'alerted' as a 0/1 score",
      });
    }
    const pl = (await import("nodejs-polars")).default;
    const f = result.flags;
    pl.DataFrame({
      row: pl.Series("row", Array.from({ length: f.y.length }, (_, i) => i), pl.UInt32),
      label: pl.Series("label", Array.from(f.y), pl.UInt8),
      category: pl.Series("category", f.cls, pl.Utf8),
      score: pl.Series("score", Array.from(f.flagged), pl.Float64),
      covered: pl.Series("covered", Array.from(f.covered), pl.UInt8),
    }).writeParquet(folder.path("scores.parquet.tmp"));
    await Deno.rename(folder.path("scores.parquet.tmp"), folder.path("scores.parquet"));
    return { dir: await folder.finish(), result };
  } catch (e) {
    await folder.fail(e);
    throw e;
  }
}

/** The Snort 3 CIC-IDS2017 alert files in a directory: Monday's full-day file plus every partial file of other days. */
export function snort3CicFiles(dir: string): string[] {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"));
  const hasFullMonday = names.includes("Monday-WorkingHours-full.json");
  return names
    .filter((n) => !(hasFullMonday && /^Monday_/.test(n))) // the partial Monday files are slices of the full one
    .sort()
    .map((n) => join(dir, n));
}
