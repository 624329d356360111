/**
 * `nadir experiment`: Run an experiment config and record results.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "experiment",
  summary: "Run an experiment config and record results",
  run() {
    throw new UsageError("nadir experiment: not built yet");
  },
};
