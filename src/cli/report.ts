/**
 * `nadir report`: Execute notebooks headless and render HTML reports.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "report",
  summary: "Execute notebooks headless and render HTML reports",
  run() {
    throw new UsageError("nadir report: not built yet");
  },
};
