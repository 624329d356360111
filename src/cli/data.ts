/**
 * `nadir data`: Inspect and verify datasets (info, verify).
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "data",
  summary: "Inspect and verify datasets (info, verify)",
  run() {
    throw new UsageError("nadir data: not built yet");
  },
};
