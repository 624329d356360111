/**
 * `nadir label`: Label flows from a rules file or from IDS alerts.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "label",
  summary: "Label flows from a rules file or from IDS alerts",
  run() {
    throw new UsageError("nadir label: not built yet");
  },
};
