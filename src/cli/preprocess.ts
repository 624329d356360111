/**
 * `nadir preprocess`: Fit/apply a preprocessing transform (dedupe, NaN policy, one-hot, scaling).
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "preprocess",
  summary: "Fit/apply a preprocessing transform (dedupe, NaN policy, one-hot, scaling)",
  run() {
    throw new UsageError("nadir preprocess: not built yet");
  },
};
