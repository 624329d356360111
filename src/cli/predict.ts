/**
 * `nadir predict`: Score a file with a saved model (JSON lines out).
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "predict",
  summary: "Score a file with a saved model (JSON lines out)",
  run() {
    throw new UsageError("nadir predict: not built yet");
  },
};
