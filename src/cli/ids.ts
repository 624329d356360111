/**
 * `nadir ids`: Signature IDS baselines (run Suricata/Snort when installed).
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "ids",
  summary: "Signature IDS baselines (run Suricata/Snort when installed)",
  run() {
    throw new UsageError("nadir ids: not built yet");
  },
};
