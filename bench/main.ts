/**
 * `deno task bench <name>`: runs a benchmark that prints nadir's figures next
 * to a peer measured in the same run, as ratios, and writes the run to
 * `bench/results/<name>-<UTC stamp>.json` (bench/_record.ts); the docs' speed
 * tables are generated from those records (`deno task bench:tables`).
 *
 * @module
 */
import { checkoutAtStart } from "./_record.ts";

const BENCHES: Record<string, string> = {
  flows: "./flows.ts",
  detectors: "./detectors.ts",
  monitor: "./monitor.ts",
  capture: "./_capture_read.ts",
  llm: "./llm_quality.ts",
  "flow-lm-sizes": "./flow_lm_sizes.ts",
  captures: "./captures_quality.ts",
  big: "./big_files.ts",
};
const name = Deno.args[0];
if (!name || !(name in BENCHES)) {
  console.error(`usage: deno task bench <${Object.keys(BENCHES).join("|")}> [args]`);
  Deno.exit(2);
}
checkoutAtStart(); // the commit the run's code comes from, before anything can change under it
const mod = await import(BENCHES[name]);
await mod.main(Deno.args.slice(1));
