/**
 * `nadir compare`: Compare result runs (Markdown table, HTML page, figure).
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "compare",
  summary: "Compare result runs (Markdown table, HTML page, figure)",
  run() {
    throw new UsageError("nadir compare: not built yet");
  },
};
