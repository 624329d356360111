/**
 * Featurize and score stages, resolved from the config: either a saved flow
 * model (`--model DIR`: its feature set computes flow rows, the model scores
 * them, and the API's `/predict` serves the same model), or a streaming
 * detector trained on the sensor's own traffic (`--detector NAME`: per-packet
 * features from the {@link FeaturizerFactory}, threshold fitted after the grace
 * period).
 *
 * @module
 */
import { createDetector } from "../../detectors/registry.ts";
import { isStreaming } from "../../detectors/types.ts";
import { fitThreshold, parseThresholdSpec } from "../../thresholds/index.ts";
import { InputError, UsageError } from "../../util/errors.ts";
import type { PredictModel } from "../api.ts";
import type { MonitorConfig } from "../config.ts";
import type { FlowScoring, PacketFeaturizer, PacketScoring } from "../monitor.ts";
import { flowScoringFromDir, predictModelFromDir } from "../models.ts";

/** Builds per-packet features for a streaming detector (AfterImage); resolved lazily from src/flows/. */
export type FeaturizerFactory = () => Promise<PacketFeaturizer>;

/** The scoring the monitor runs, and the models the API serves on `/predict`. */
export interface ResolvedScoring {
  scoring: FlowScoring | PacketScoring;
  /** The saved model again for `/predict` (empty for a streaming detector: it has no fixed model). */
  predictModels: PredictModel[];
}

/**
 * Loads `cfg.model` or creates the streaming `cfg.detector`. Throws a UsageError for a detector that
 * cannot stream or a grace period too short for it, an InputError when this build has no
 * per-packet featurizer.
 */
export async function resolveScoring(
  cfg: MonitorConfig,
  featurizer: FeaturizerFactory | undefined,
): Promise<ResolvedScoring> {
  const fixed = fixedThreshold(cfg.threshold);
  if (cfg.model) {
    const scoring = await flowScoringFromDir(cfg.model);
    if (cfg.threshold !== undefined) {
      // A saved model's threshold was fit at training; only a fixed value can replace it.
      if (fixed === undefined) {
        throw new UsageError(
          `nadir monitor: with --model, --threshold takes fixed:VALUE, found "${cfg.threshold}"`,
        );
      }
      scoring.threshold = fixed;
    }
    return { scoring, predictModels: [await predictModelFromDir(cfg.model)] };
  }
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
  if (!featurizer) {
    throw new InputError("per-packet features (AfterImage) are not available in this build");
  }
  const packetFeaturizer = await featurizer();
  const th = parseThresholdSpec(fixed === undefined ? cfg.threshold ?? "percentile:0.999" : "percentile");
  const scoring: PacketScoring = {
    kind: "packet",
    name: cfg.detector!,
    detector: det,
    featurizer: packetFeaturizer,
    grace,
    calibration: cfg.calibration,
    fitThreshold: (s) => fitThreshold(th.strategy, s, th.params).value,
    ...(fixed !== undefined ? { threshold: fixed } : {}),
  };
  return { scoring, predictModels: [] };
}

/** The value of a `fixed:VALUE` threshold spec (no calibration, no model threshold); undefined otherwise. */
function fixedThreshold(spec: string | undefined): number | undefined {
  const m = /^fixed:(.+)$/.exec(spec ?? "");
  if (!m) return undefined;
  const v = Number(m[1]);
  if (!Number.isFinite(v)) {
    throw new UsageError(`nadir monitor: --threshold fixed:VALUE needs a finite number, found "${m[1]}"`);
  }
  return v;
}
