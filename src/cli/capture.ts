/**
 * `nadir capture`: Live capture with libpcap (list interfaces, record to pcapng).
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "capture",
  summary: "Live capture with libpcap (list interfaces, record to pcapng)",
  run() {
    throw new UsageError("nadir capture: not built yet");
  },
};
