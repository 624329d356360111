/**
 * `nadir monitor`: Live monitor: capture -> flows -> scores -> alerts.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "monitor",
  summary: "Live monitor: capture -> flows -> scores -> alerts",
  run() {
    throw new UsageError("nadir monitor: not built yet");
  },
};
