/**
 * `nadir serve`: HTTP API and dashboard.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "serve",
  summary: "HTTP API and dashboard",
  run() {
    throw new UsageError("nadir serve: not built yet");
  },
};
