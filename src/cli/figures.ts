/**
 * `nadir figures`: Render the slide figures (SVG + PNG, 1600x900).
 *
 * @module
 */
import type { Command } from "./command.ts";
import { UsageError } from "../util/errors.ts";

export const command: Command = {
  name: "figures",
  summary: "Render the slide figures (SVG + PNG, 1600x900)",
  run() {
    throw new UsageError("nadir figures: not built yet");
  },
};
