/**
 * The epoch loop both engines train with: per-epoch seeded shuffling,
 * mini-batches, mean validation loss after each epoch, early stopping after
 * `patience` epochs without improvement, and restoring the best weights.
 * The engine supplies only "train on this batch" and "loss of these rows", so
 * the stopping rule — and therefore what a seed means — is one piece of code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runEpochs } from "./train.ts";
 * import { Rng } from "../util/random.ts";
 * let w = 5;
 * const r = await runEpochs({
 *   rng: new Rng(1), train: new Int32Array([0, 1, 2, 3]), val: new Int32Array(0),
 *   epochs: 3, batchSize: 2, patience: 0,
 *   trainBatch: () => { w *= 0.5; return w * w; },
 *   valLoss: () => w * w,
 *   snapshot: () => w, restore: (s) => { w = s; },
 * });
 * assert.equal(r.epochs, 3);
 * ```
 * @module
 */
import type { Rng } from "../util/random.ts";

/**
 * Progress (the detectors' `FitOptions.onProgress` shape): after each epoch,
 * and — so a long epoch does not look hung — every {@link PARTIAL_EVERY_MS}
 * inside one, with a fractional `step`, the running mean loss and
 * `partial: true` (consumers that keep per-epoch history skip those).
 */
export interface EpochProgress {
  step: number;
  total: number;
  loss: number;
  valLoss?: number;
  partial?: boolean;
}

/** Wall-clock interval between in-epoch progress reports. */
export const PARTIAL_EVERY_MS = 2000;

/**
 * Longest stretch of training between yields to the event loop: the most a
 * request to the API, a timer or a Jupyter message waits on a fit.
 */
export const YIELD_EVERY_MS = 100;

/** Options for {@link runEpochs}. */
export interface EpochLoopOptions<S> {
  rng: Rng;
  /** Training example ids (already excluding validation). */
  train: Int32Array;
  /** Validation example ids (may be empty: then no early stopping). */
  val: Int32Array;
  epochs: number;
  batchSize: number;
  patience: number;
  /** Trains on one batch; returns its mean loss. */
  trainBatch: (ids: Int32Array) => number | Promise<number>;
  /** Mean loss over `ids` without training (validation). */
  valLoss: (ids: Int32Array) => number | Promise<number>;
  /** Rows per validation call (bounds memory). */
  valChunk?: number;
  /** Copy of the weights, and putting one back (best-epoch restore). */
  snapshot: () => S;
  restore: (s: S) => void;
  onProgress?: (p: EpochProgress) => void;
}

/** What {@link runEpochs} did. */
export interface TrainResult {
  epochs: number;
  loss: number[];
  valLoss: number[];
  /** 1-based epoch whose weights were kept. */
  bestEpoch: number;
}

/** Runs the epoch loop (see the module doc); throws when the training loss stops being finite. */
export async function runEpochs<S>(o: EpochLoopOptions<S>): Promise<TrainResult> {
  const loss: number[] = [];
  const valLoss: number[] = [];
  let best = Infinity, bestEpoch = -1, bad = 0;
  let snap: S | undefined;
  const order = Int32Array.from(o.train);
  const chunk = o.valChunk ?? 16384;
  const early = o.val.length > 0 && o.patience > 0;
  let yielded = performance.now(); // across epochs: many short ones must yield too
  for (let ep = 0; ep < o.epochs; ep++) {
    o.rng.shuffle(order);
    let sum = 0, n = 0;
    let reported = performance.now();
    for (let b = 0; b < order.length; b += o.batchSize) {
      const ids = order.subarray(b, Math.min(order.length, b + o.batchSize));
      sum += (await o.trainBatch(ids)) * ids.length;
      n += ids.length;
      // Yield to the event loop now and then so progress output, timers and the API stay live. By the
      // clock, not the batch count: a yield (setTimeout 0) costs ≈ 2.3 ms here, and every 50 batches
      // was 24 of them — 8 % — in the autoencoder's 0.6 s bench fit, yet seconds apart for flow-lm.
      const now = performance.now();
      if (now - yielded >= YIELD_EVERY_MS) {
        await new Promise((r) => setTimeout(r, 0));
        yielded = performance.now();
        if (o.onProgress && yielded - reported >= PARTIAL_EVERY_MS && n < order.length) {
          reported = yielded;
          o.onProgress({ step: ep + n / order.length, total: o.epochs, loss: sum / n, partial: true });
        }
      }
    }
    const trainLoss = sum / Math.max(1, n);
    if (!Number.isFinite(trainLoss)) {
      throw new Error(`training diverged (loss ${trainLoss} in epoch ${ep + 1}); lower the learning rate`);
    }
    loss.push(trainLoss);
    let vl: number | undefined;
    if (o.val.length) {
      let s = 0;
      for (let b = 0; b < o.val.length; b += chunk) {
        const ids = o.val.subarray(b, Math.min(o.val.length, b + chunk));
        s += (await o.valLoss(ids)) * ids.length;
      }
      vl = s / o.val.length;
      valLoss.push(vl);
    }
    o.onProgress?.({ step: ep + 1, total: o.epochs, loss: trainLoss, valLoss: vl });
    const crit = vl ?? trainLoss;
    if (!Number.isFinite(best) || crit < best - 1e-7 * Math.abs(best)) {
      best = crit;
      bestEpoch = ep;
      bad = 0;
      if (early) snap = o.snapshot();
    } else if (early && ++bad >= o.patience) {
      break;
    }
  }
  if (snap !== undefined) o.restore(snap);
  return { epochs: loss.length, loss, valLoss, bestEpoch: bestEpoch + 1 };
}
