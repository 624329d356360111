/**
 * `nadir experiment experiments/<id>.ts [--seeds N] [--quick]`: runs an
 * experiment config and writes results/<id>/<UTC stamp>-<git sha>/.
 *
 * @module
 */
import type { Command } from "./command.ts";

export const command: Command = {
  name: "experiment",
  summary: "Run an experiment config and record results",
  positionals: [{ name: "CONFIG", description: "experiments/<id>.ts (default-exports an ExperimentConfig)" }],
  options: {
    seeds: { type: "number", description: "Use only the first N seeds of the config", arg: "N" },
    quick: { type: "boolean", description: "Tiny slice with the config's quick overrides (smoke test)" },
    root: { type: "string", description: "Results root", default: "results", arg: "DIR" },
    "no-figures": { type: "boolean", description: "Skip figures" },
  },
  details:
    `Writes config.json, env.json, data.json, metrics.json (+ metrics.<TestSet>.json), scores.parquet and
figures/ (ROC, PR, score histogram, confusion matrix; SVG + PNG). A failed run leaves results/<id>/partial-<stamp>/
with a PARTIAL file. Protocols: docs/protocols.md.

Example:
  deno task nadir experiment experiments/nsl-kdd-knn.ts --seeds 1`,
  async run({ options, positionals }) {
    const { loadConfig } = await import("../eval/config.ts");
    const { runExperiment } = await import("../eval/runner.ts");
    const config = await loadConfig(positionals[0]);
    const { dir, metrics } = await runExperiment(config, {
      quick: !!options.quick,
      seeds: options.seeds as number | undefined,
      root: options.root as string,
      figures: !options["no-figures"],
      log: (l) => console.error(l),
    });
    for (const [set, m] of Object.entries(metrics)) {
      const f = (k: string) => Number(m[k]).toFixed(4);
      console.log(
        `${config.id} ${set}: f1 ${f("f1")} precision ${f("precision")} recall ${f("recall")} accuracy ${
          f("accuracy")
        } fpr ${f("fpr")} roc_auc ${f("roc_auc")} f1_oracle ${f("f1_oracle")}`,
      );
    }
    console.log(dir);
  },
};
