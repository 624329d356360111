/**
 * `nadir flows`: Meter a pcap/pcapng file into bidirectional flows with features.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "flows",
  summary: "Meter a pcap/pcapng file into bidirectional flows with features",
  run() {
    throw new UsageError("nadir flows: not built yet");
  },
};
