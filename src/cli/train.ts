/**
 * `nadir train`: Train a detector on benign rows and save a model directory.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "train",
  summary: "Train a detector on benign rows and save a model directory",
  run() {
    throw new UsageError("nadir train: not built yet");
  },
};
