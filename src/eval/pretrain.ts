/**
 * Pre-training on unlabelled traffic (issue 14, scope 3): a flow corpus
 * (src/flows/corpus.ts: captures metered with one feature set, flow tables)
 * trains a detector that can continue training (`partialFit`: flow-lm, the
 * autoencoder) through the ordinary training path (src/detectors/train.ts),
 * every flow counting as training data. `nadir pretrain` saves the result as
 * a model directory; `nadir train --init` (or `fineTuneFrom` in
 * src/detectors/train.ts) continues from it on a site's benign rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pretrain } from "./pretrain.ts";
 * const { result, corpus } = await pretrain(["data/pcaps/zeek-smtp.pcap", "data/pcaps/synscan.pcapng"], {
 *   params: { epochs: 1, width: 8, heads: 2 },
 *   silent: true,
 * });
 * assert.equal(corpus.files.length, 2);
 * assert.ok(result.trainRows > 0 && typeof result.detector.partialFit === "function");
 * result.detector.dispose?.();
 * ```
 * @module
 */
import { matrixToFrame } from "../data/preprocess.ts";
import { createDetector } from "../detectors/registry.ts";
import { trainOnFrame, type TrainResult } from "../detectors/train.ts";
import { type FlowCorpus, flowCorpus } from "../flows/corpus.ts";
import type { FeatureSetName } from "../flows/features/mod.ts";
import { InputError } from "../util/errors.ts";

/** Options for {@link pretrain}. */
export interface PretrainOptions {
  /** Feature set captures are metered with (default "cic"). */
  features?: FeatureSetName;
  /** Default "flow-lm"; must have `partialFit`. */
  detector?: string;
  params?: Record<string, unknown>;
  seed?: number;
  /** Corpus flows held out for early stopping and the checkpoint's threshold (default 0.1). */
  valFraction?: number;
  /** At most this many (deduplicated) flows, a seeded sample. */
  maxRows?: number;
  silent?: boolean;
}

/** Fewest corpus flows a pre-training accepts. */
export const MIN_PRETRAIN_FLOWS = 20;

/** Meters `inputs` into a corpus and trains on all of it (see the module docs). */
export async function pretrain(
  inputs: readonly string[],
  opts: PretrainOptions = {},
): Promise<{ result: TrainResult; corpus: FlowCorpus }> {
  const detector = opts.detector ?? "flow-lm";
  const probe = createDetector(detector, opts.params ?? {}, 0);
  const tunes = typeof probe.partialFit === "function";
  probe.dispose?.();
  if (!tunes) {
    throw new InputError(
      `detector "${detector}" cannot be fine-tuned after pre-training (no partialFit); use flow-lm or autoencoder`,
    );
  }
  const corpus = await flowCorpus(inputs, { features: opts.features, silent: opts.silent });
  if (corpus.matrix.rows < MIN_PRETRAIN_FLOWS) {
    throw new InputError(
      `expected at least ${MIN_PRETRAIN_FLOWS} flows to pre-train on, found ${corpus.matrix.rows} in ${corpus.files.length} file(s)`,
    );
  }
  const result = await trainOnFrame(matrixToFrame(corpus.matrix), {
    detector,
    params: opts.params,
    seed: opts.seed ?? 0,
    features: corpus.matrix.names,
    assumeBenign: true,
    valFraction: opts.valFraction,
    split: "random",
    maxRows: opts.maxRows,
    silent: opts.silent,
  });
  return { result, corpus };
}
