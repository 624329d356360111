/**
 * Model updates while the sensor runs (issue 15): the monitor's flow model
 * under an update policy (src/adapt/policy.ts), driven by the same
 * {@link ModelAdapter} the drift protocol's replay measured.
 *
 * - Every batch the model scores comes here in the model's own columns (after
 *   its preprocessing). After `window_flows` of them the policy may learn:
 *   sliding and incremental after every window, on-drift only after a window in
 *   which a drift event fired on the score stream; frozen never.
 * - Guard rails: only flows that raised no alert and scored at or below the
 *   `accept_quantile` of the benign calibration scores are learned, at most
 *   `max_per_update` per update, never a flow an analyst called an attack.
 * - Analyst verdicts (API, dashboard, `nadir feedback`): a false positive is
 *   learned at the next update whatever its score; a true positive keeps the
 *   threshold below its score from then on. Verdicts are in the feedback file
 *   with the model's row, so a restarted sensor learns them again.
 * - Every update is a new version of the model history (`adapt.history`, see
 *   src/detectors/model_history.ts) holding the refit detector, its threshold
 *   and the rows it refits from (`adapt/`), with its parent; `POST
 *   /model/rollback` or `nadir model rollback` goes back. The monitor swaps
 *   models between batches: a batch being scored finishes with the model it
 *   started with.
 *
 * Updates run beside the capture: the sensor keeps scoring with the old model
 * while the new one is fit, and rows seen meanwhile are not collected.
 *
 * @module
 */
import { basename, join } from "node:path";
import { type Matrix, matrix } from "../data/matrix.ts";
import { ModelAdapter } from "../adapt/adapter.ts";
import { checkPolicy, type UpdatePolicy } from "../adapt/policy.ts";
import { hashMatrix, loadModel, type Manifest, readManifest, saveModel } from "../detectors/model_dir.ts";
import {
  commitVersion,
  headDir,
  initHistory,
  isModelHistory,
  type Lineage,
  readHistory,
  rollback as rollbackHistory,
} from "../detectors/model_history.ts";
import { createDetector } from "../detectors/registry.ts";
import type { Detector } from "../detectors/types.ts";
import { sha256Hex } from "../util/hash.ts";
import { InputError, UsageError } from "../util/errors.ts";
import { Rng } from "../util/random.ts";
import type { MonitorMetrics } from "./metrics.ts";
import type { AlertRecord, FeedbackLine } from "./store.ts";

/** The `adapt` section of the monitor's configuration (snake_case as in the file). */
export interface AdaptConfig {
  /** frozen (default), sliding, incremental or on-drift. */
  policy?: string;
  /** Model history directory; default: `model` when it is one. Created from `model` on first run. */
  history?: string;
  /** Scored flows per update window. Default 5000. */
  window_flows?: number;
  /** Learn only flows at or below this quantile of the calibration scores. Default 0.9. */
  accept_quantile?: number;
  /** Flows learned per update at most. Default 2000. */
  max_per_update?: number;
  /** Rows a sliding or on-drift pool keeps. Default 20000. */
  pool_rows?: number;
  /** No refit before the pool holds this many rows. Default 1000. */
  min_pool_rows?: number;
  /** Seed of the guard rails' samples. Default 0. */
  seed?: number;
}

/** What one update did: a new version (`refit`), or rows learned into the pool and why there is none. */
export interface UpdateOutcome {
  refit: boolean;
  learned: number;
  version?: string;
  note?: string;
}

/** What `GET /model` shows. */
export interface AdaptationStatus {
  policy: UpdatePolicy;
  history: string;
  /** The version scoring now. */
  version: string;
  threshold: number;
  /** Flows scoring at or below it may be learned (null until there are calibration rows). */
  cut: number | null;
  updates: number;
  rollbacks: number;
  /** An update is being fit now. */
  updating: boolean;
  rows: {
    pool: number;
    calibration: number;
    attacks: number;
    window: number;
    pending_false_positives: number;
  };
  window_flows: number;
  last_update: { at: string; version: string; learned: number; reason: string } | null;
  versions: Lineage[];
}

/** How the adaptation reaches the running monitor. */
export interface AdaptationHost {
  /** Scores with this model from the next batch on; resolves when batches scored before have settled. */
  swap(detector: Detector, threshold: number): Promise<void>;
  log(line: string): void;
  metrics?: MonitorMetrics;
}

const STATE_DIR = "adapt";
const STATE_FILE = "state.json";
const POOLS = ["pool", "calibration", "attacks"] as const;

/**
 * The model history an adaptive monitor scores from, created from `model` when it does not exist yet.
 * Returns undefined for a frozen monitor whose model is a plain directory (nothing to version).
 */
export async function prepareHistory(model: string, cfg: AdaptConfig = {}): Promise<string | undefined> {
  const policy = policyOf(cfg);
  const modelIsHistory = await isModelHistory(model);
  const home = cfg.history ?? (modelIsHistory ? model : undefined);
  if (!home) {
    if (policy === "frozen") return undefined;
    throw new UsageError(
      `nadir monitor: adapt.policy ${policy} writes every update as a new model version: give adapt.history ` +
        `(--history DIR; created from --model on first run), or pass a model history as --model`,
    );
  }
  if (await isModelHistory(home)) return home;
  if (modelIsHistory) {
    throw new UsageError(
      `nadir monitor: --model ${model} is a model history and adapt.history ${home} is another directory; ` +
        `give one of them`,
    );
  }
  await initHistory(home, model, { reason: `initial model (${model})` });
  return home;
}

function policyOf(cfg: AdaptConfig): UpdatePolicy {
  try {
    return checkPolicy(cfg.policy ?? "frozen");
  } catch (e) {
    throw new UsageError(`nadir monitor: adapt.policy: ${(e as Error).message}`);
  }
}

/** See the module doc. */
export class LiveAdaptation {
  readonly policy: UpdatePolicy;
  readonly home: string;
  readonly windowFlows: number;
  #cfg: AdaptConfig;
  #host: AdaptationHost;
  #adapter: ModelAdapter;
  #manifest: Manifest;
  #version: string;
  #names: readonly string[];
  #win: Float64Array;
  #winScores: Float64Array;
  #winRows = 0;
  #pendingFp: Float64Array[] = [];
  #tpSinceUpdate = 0;
  #driftPending = false;
  #busy: Promise<unknown> | null = null;
  #rollbacks = 0;
  #written = 0;
  #lastUpdate: AdaptationStatus["last_update"] = null;
  /** Models replaced by a refit, disposed once the batches scoring with them settle. */
  #retired: Detector[] = [];

  private constructor(
    cfg: AdaptConfig,
    home: string,
    host: AdaptationHost,
    adapter: ModelAdapter,
    manifest: Manifest,
    version: string,
  ) {
    this.#cfg = cfg;
    this.policy = policyOf(cfg);
    this.home = home;
    this.#host = host;
    this.#adapter = adapter;
    this.#manifest = manifest;
    this.#version = version;
    this.#names = manifest.features.names;
    this.windowFlows = cfg.window_flows ?? 5000;
    if (!(Number.isInteger(this.windowFlows) && this.windowFlows >= 1)) {
      throw new UsageError(
        `nadir monitor: adapt.window_flows must be an integer ≥ 1, found ${this.windowFlows}`,
      );
    }
    this.#win = new Float64Array(this.windowFlows * this.#names.length);
    this.#winScores = new Float64Array(this.windowFlows);
    host.metrics?.modelVersion.set(versionNumber(version));
  }

  /**
   * Opens the history's head for adaptation. `detector` and `threshold` are the model the monitor
   * scores with (loaded from the head); `feedback` is the feedback file's lines, whose verdicts newer
   * than the head are learned again.
   */
  static async open(
    home: string,
    cfg: AdaptConfig,
    current: { detector: Detector; threshold: number },
    host: AdaptationHost,
    feedback: FeedbackLine[] = [],
  ): Promise<LiveAdaptation> {
    const hist = await readHistory(home);
    const dir = join(home, hist.head);
    const manifest = await readManifest(dir);
    const adapter = await startAdapter(cfg, dir, manifest, current, (old) => a.#retire(old));
    const a: LiveAdaptation = new LiveAdaptation(cfg, home, host, adapter, manifest, hist.head);
    const since = Date.parse(hist.versions.find((v) => v.version === hist.head)?.createdAt ?? "") ||
      -Infinity;
    let fp = 0, tp = 0;
    // One verdict an alert, its first (AlertStore.feedback refuses a second; older files may repeat one).
    const judged = new Set<string>();
    for (const l of feedback) {
      if (judged.has(l.alert_id)) continue;
      judged.add(l.alert_id);
      if (!(Date.parse(l.timestamp) > since) || !l.model_features) continue;
      if (l.model_features.length !== a.#names.length) continue; // a verdict on another model's row
      const row = Float64Array.from(l.model_features, (v) => v ?? NaN);
      if (l.verdict === "false_positive") (a.#pendingFp.push(row), fp++);
      else (adapter.confirmAttack(row), tp++);
    }
    if (fp + tp) {
      host.log(`nadir monitor: ${fp} false and ${tp} true positive verdict(s) since ${hist.head} reloaded`);
    }
    return a;
  }

  /** The model version scoring now. */
  get version(): string {
    return this.#version;
  }
  /** Versions this run wrote. */
  get updates(): number {
    return this.#written;
  }
  /** Rollbacks this run made. */
  get rollbacks(): number {
    return this.#rollbacks;
  }

  /** One scored batch in the model's columns. Starts an update when the window is full. */
  scored(x: Matrix, scores: ArrayLike<number>): void {
    if (this.policy === "frozen" || this.#busy) return;
    const c = this.#names.length;
    if (x.cols !== c) return; // cannot happen for the model this was opened with; never learn a wrong shape
    for (let i = 0; i < x.rows && this.#winRows < this.windowFlows; i++) {
      this.#win.set(x.data.subarray(i * c, (i + 1) * c), this.#winRows * c);
      this.#winScores[this.#winRows++] = scores[i];
    }
    if (this.#winRows < this.windowFlows) return;
    if (this.policy === "on-drift" && !this.#driftPending) {
      this.#winRows = 0; // nothing changed: the next window starts afresh
      return;
    }
    this.#startUpdate(this.policy === "on-drift" ? "drift on the score stream" : `${this.policy} window`);
  }

  /** A drift event: on-drift refits after the window it fell in. */
  drift(stream: string): void {
    if (stream === "score") this.#driftPending = true;
  }

  /** An analyst's verdict on an alert (its model row is learned at the next update). */
  verdict(rec: AlertRecord, label: "false_positive" | "true_positive"): void {
    const v = rec.modelFeatures;
    if (!v || v.length !== this.#names.length) return; // an alert of an earlier run, loaded from the file
    if (label === "false_positive") this.#pendingFp.push(Float64Array.from(v));
    else {
      this.#adapter.confirmAttack(v);
      this.#tpSinceUpdate++;
    }
  }

  /**
   * Learns from the rows collected so far now (`POST /model/update`) instead of at the end of the
   * window. Throws a UsageError under the frozen policy or while an update runs.
   */
  async updateNow(): Promise<AdaptationStatus & { update: UpdateOutcome }> {
    if (this.policy === "frozen") throw new UsageError("the model's update policy is frozen");
    if (this.#busy) throw new UsageError("an update is already running");
    if (!this.#winRows && !this.#pendingFp.length) {
      throw new UsageError("no scored flows since the last update");
    }
    const update = (await this.#startUpdate("requested through the API", true))!;
    return { ...(await this.status()), update };
  }

  /** Makes `to` (default: the head's parent) the head and scores with it. */
  async rollback(to?: string): Promise<AdaptationStatus> {
    if (this.#busy) throw new UsageError("an update is running; roll back when it is done");
    await this.#exclusive(async () => {
      const r = await rollbackHistory(this.home, { to, reason: "rollback (API)" });
      await this.#switchTo(r.to);
      this.#host.log(`nadir monitor: model rolled back ${r.from} → ${r.to}`);
    });
    return this.status();
  }

  /**
   * Follows the history's head when something else moved it (`nadir model rollback HOME` while the
   * sensor runs): scores with the new head. The monitor calls it every few seconds; a no-op while an
   * update or rollback runs, or when the head is the version scoring.
   */
  async followHead(): Promise<void> {
    if (this.#busy) return;
    // HEAD.json alone: this runs every few seconds, and readHistory would read every version's lineage.
    const head = basename(await headDir(this.home));
    if (head === this.#version || this.#busy) return;
    await this.#exclusive(async () => {
      const from = this.#version;
      await this.#switchTo(head);
      this.#host.log(`nadir monitor: the history's head moved: now scoring with ${head} (was ${from})`);
    });
  }

  async #exclusive(f: () => Promise<void>): Promise<void> {
    const run = f();
    this.#busy = run;
    try {
      await run;
    } finally {
      this.#busy = null;
    }
  }

  /** Scores with `version` of the history (already its head) from the next batch on. */
  async #switchTo(version: string): Promise<void> {
    const dir = join(this.home, version);
    const m = await loadModel(dir);
    if (m.featureNames.join("\0") !== this.#names.join("\0")) {
      throw new InputError(`version ${version} has other features than the running model`, {
        file: join(dir, "manifest.json"),
      });
    }
    if (!m.threshold) {
      throw new InputError("the version has no threshold", { file: join(dir, "manifest.json") });
    }
    const threshold = m.threshold.value;
    const next = await startAdapter(
      this.#cfg,
      dir,
      m.manifest,
      { detector: m.detector, threshold },
      (old) => this.#retire(old),
    );
    // What analysts confirmed stays known whatever the version.
    const att = this.#adapter.attacks;
    if (att.size) next.attacks.add(att.matrix().data);
    const old = this.#adapter;
    this.#adapter = next;
    this.#manifest = m.manifest;
    this.#version = version;
    this.#winRows = 0;
    this.#driftPending = false;
    await this.#host.swap(m.detector, threshold);
    old.dispose();
    this.#rollbacks++;
    this.#host.metrics?.modelRollbacks.inc();
    this.#host.metrics?.modelVersion.set(versionNumber(version));
  }

  /** What `GET /model` shows. */
  async status(): Promise<AdaptationStatus> {
    const a = this.#adapter, h = await readHistory(this.home);
    return {
      policy: this.policy,
      history: this.home,
      version: this.#version,
      threshold: a.threshold,
      cut: Number.isNaN(a.cut) ? null : a.cut,
      updates: this.#written,
      rollbacks: this.#rollbacks,
      updating: this.#busy !== null,
      rows: {
        pool: a.pool.size,
        calibration: a.calibration.size,
        attacks: a.attacks.size,
        window: this.#winRows,
        pending_false_positives: this.#pendingFp.length,
      },
      window_flows: this.windowFlows,
      last_update: this.#lastUpdate,
      versions: h.versions,
    };
  }

  /** Waits for a running update (shutdown). */
  async settle(): Promise<void> {
    await this.#busy?.catch(() => {});
  }

  /** Releases the model's native memory (after the monitor stopped scoring). */
  dispose(): void {
    this.#adapter.dispose();
    for (const d of this.#retired.splice(0)) d.dispose?.();
  }

  #retire(old: Detector): void {
    this.#retired.push(old);
  }

  /** Runs an update beside the capture; a failure is logged (and with `rethrow` also thrown). */
  #startUpdate(reason: string, rethrow = false): Promise<UpdateOutcome | undefined> {
    const run = this.#update(reason);
    this.#busy = run.catch(() => {}).finally(() => (this.#busy = null));
    return run.catch((e) => {
      this.#host.log(
        `nadir monitor: model update failed, still scoring with ${this.#version}: ${(e as Error).message}`,
      );
      if (rethrow) throw e;
      return undefined;
    });
  }

  async #update(reason: string): Promise<UpdateOutcome> {
    const c = this.#names.length, n = this.#winRows, fps = this.#pendingFp.splice(0);
    const rows = n + fps.length;
    const data = new Float64Array(rows * c);
    data.set(this.#win.subarray(0, n * c));
    fps.forEach((r, k) => data.set(r, (n + k) * c));
    const scores = new Float64Array(rows);
    scores.set(this.#winScores.subarray(0, n));
    const a = this.#adapter, threshold = a.threshold;
    // Alerted (or not finite: failed closed) rows are never learned; the analyst's false positives are.
    const alerted = Uint8Array.from(scores, (s, i) => (i >= n || !(s <= threshold) ? 1 : 0));
    const confirmed = fps.map((_, k) => n + k);
    this.#winRows = 0;
    this.#driftPending = false;
    const tp = this.#tpSinceUpdate;
    this.#tpSinceUpdate = 0;
    const r = await a.update(matrix(data, rows, c, this.#names), scores, alerted, confirmed);
    const m = this.#host.metrics;
    const fromFeedback = r.learned ? fps.length : 0;
    m?.modelRowsLearned.inc(r.learned - fromFeedback, { source: "guard_rails" });
    if (fromFeedback) m?.modelRowsLearned.inc(fromFeedback, { source: "feedback" });
    if (r.learned < fps.length) {
      // No cut yet: nothing was learned, the analysts' rows included; they wait for the next update.
      this.#pendingFp = fps.concat(this.#pendingFp);
    }
    if (!r.refit) {
      // Calibrating (no cut yet) or filling the pool: nothing new to score with.
      const note = `pool ${a.pool.size} of the ${this.#cfg.min_pool_rows ?? 1000} rows a refit needs`;
      this.#host.log(
        `nadir monitor: ${this.policy}: ${r.learned} flow(s) learned, ${r.calibrated} calibrate; ${note}`,
      );
      return { refit: false, learned: r.learned, note: `no new version: ${note}` };
    }
    const lin = await commitVersion(this.home, (dir) => this.#save(dir), {
      reason,
      policy: this.policy,
      learned: r.learned,
      calibrated: r.calibrated,
      feedback: { fp: fps.length, tp },
      threshold: a.threshold,
      cut: a.cut,
      rows: { pool: a.pool.size, calibration: a.calibration.size, attacks: a.attacks.size },
    });
    this.#version = lin.version;
    this.#written++;
    await this.#host.swap(a.detector, a.threshold);
    for (const d of this.#retired.splice(0)) d.dispose?.();
    m?.modelUpdates.inc(1, { policy: this.policy });
    m?.modelVersion.set(versionNumber(lin.version));
    this.#lastUpdate = { at: lin.createdAt, version: lin.version, learned: r.learned, reason };
    this.#host.log(
      `nadir monitor: model ${lin.parent} → ${lin.version} (${reason}): learned ${r.learned} flow(s) ` +
        `(${fps.length} false positive(s) from analysts), threshold ${threshold.toPrecision(4)} → ` +
        `${a.threshold.toPrecision(4)}`,
    );
    return { refit: true, learned: r.learned, version: lin.version };
  }

  /** Writes the adapter's model as a model directory plus its rows (`adapt/`). */
  async #save(dir: string): Promise<void> {
    const a = this.#adapter, m = this.#manifest;
    const pool = a.pool.matrix(this.#names);
    if (!m.threshold) throw new Error("the model has no threshold");
    await saveModel(dir, {
      detector: a.detector,
      seed: m.detector.seed,
      featureNames: this.#names,
      featureSet: m.features.set ?? undefined,
      transform: m.transform ?? undefined,
      threshold: { ...m.threshold, value: a.threshold },
      trainingDataHash: hashMatrix(pool),
      training: { ...m.training, rows: pool.rows, updatedBy: this.policy },
      profile: m.profile ?? undefined,
    });
    await writeAdaptState(dir, { pool, calibration: a.calibration.matrix(), attacks: a.attacks.matrix() });
  }
}

function versionNumber(v: string): number {
  return Number(v.replace(/^v/, "")) || 0;
}

async function startAdapter(
  cfg: AdaptConfig,
  dir: string,
  manifest: Manifest,
  current: { detector: Detector; threshold: number },
  retire: (d: Detector) => void,
): Promise<ModelAdapter> {
  const names = manifest.features.names, c = names.length;
  const state = await readAdaptState(dir, c);
  const empty = matrix(new Float64Array(0), 0, c, names);
  const th = manifest.threshold;
  if (!th) throw new InputError("the model has no threshold", { file: join(dir, "manifest.json") });
  const d = manifest.detector;
  return await ModelAdapter.start(
    {
      policy: policyOf(cfg),
      create: () => createDetector(d.name, d.params, d.seed),
      seed: d.seed,
      threshold: { strategy: th.strategy, params: th.params },
      names,
      guard: {
        ...(cfg.accept_quantile !== undefined ? { acceptQuantile: cfg.accept_quantile } : {}),
        ...(cfg.max_per_update !== undefined ? { maxPerUpdate: cfg.max_per_update } : {}),
      },
      capacity: cfg.pool_rows ?? 20_000,
      calibrationCapacity: Math.max(200, Math.ceil((cfg.pool_rows ?? 20_000) / 4)),
      minPoolRows: cfg.min_pool_rows ?? 1000,
      rng: new Rng(cfg.seed ?? 0),
      fitted: current,
      retire,
    },
    state?.pool ?? empty,
    state?.calibration ?? empty,
  ).then((a) => {
    if (state?.attacks.rows) a.attacks.add(state.attacks.data);
    return a;
  });
}

/** The rows a version refits from, written beside its model (`adapt/`). */
export interface AdaptState {
  pool: Matrix;
  calibration: Matrix;
  attacks: Matrix;
}

/** Writes `adapt/state.json` and one little-endian float64 file per set of rows. */
export async function writeAdaptState(dir: string, s: AdaptState): Promise<void> {
  await Deno.mkdir(join(dir, STATE_DIR), { recursive: true });
  const files: Record<string, { file: string; rows: number; sha256: string }> = {};
  for (const k of POOLS) {
    const m = s[k];
    const bytes = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    const file = `${k}.f64`;
    await Deno.writeFile(join(dir, STATE_DIR, file), bytes);
    files[k] = { file, rows: m.rows, sha256: sha256Hex(bytes) };
  }
  await Deno.writeTextFile(
    join(dir, STATE_DIR, STATE_FILE),
    JSON.stringify({ format: 1, cols: s.pool.cols, ...files }, null, 2) + "\n",
  );
}

/** Reads what {@link writeAdaptState} wrote (undefined when the version has no `adapt/`). */
export async function readAdaptState(dir: string, cols: number): Promise<AdaptState | undefined> {
  const file = join(dir, STATE_DIR, STATE_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  let st: Record<string, unknown>;
  try {
    st = JSON.parse(text);
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, { file });
  }
  if (st?.format !== 1 || st.cols !== cols) {
    throw new InputError(
      `expected format 1 and ${cols} columns (the model's), found format ${st?.format} and ${st?.cols}`,
      { file },
    );
  }
  const out: Partial<AdaptState> = {};
  for (const k of POOLS) {
    const e = st[k] as { file?: unknown; rows?: unknown; sha256?: unknown } | undefined;
    if (!e || typeof e.file !== "string" || !/^[a-z]+\.f64$/.test(e.file) || !Number.isInteger(e.rows)) {
      throw new InputError(`field "${k}": expected {file, rows, sha256}, found ${JSON.stringify(e)}`, {
        file,
      });
    }
    const path = join(dir, STATE_DIR, e.file);
    const bytes = await Deno.readFile(path).catch((err) => {
      throw new InputError(`cannot read the ${k} rows: ${(err as Error).message}`, { file: path });
    });
    const rows = e.rows as number;
    if (bytes.byteLength !== rows * cols * 8) {
      throw new InputError(
        `expected ${rows} rows × ${cols} float64 = ${rows * cols * 8} bytes, found ${bytes.byteLength}`,
        {
          file: path,
        },
      );
    }
    if (sha256Hex(bytes) !== e.sha256) {
      throw new InputError("sha256 differs from state.json (damaged)", { file: path });
    }
    const data = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    out[k] = matrix(data, rows, cols);
  }
  return out as AdaptState;
}
