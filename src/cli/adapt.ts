/**
 * `nadir adapt CONFIG`: the drift protocol's replay (src/eval/adaptation.ts)
 * for one experiment config under each update policy, with and without
 * simulated analyst feedback; prints the totals and writes every window.
 *
 * @module
 */
import { type Command, str } from "./command.ts";
import { UsageError } from "../util/errors.ts";
import type { AdaptationOptions, AdaptationResult } from "../eval/adaptation.ts";

export const command: Command = {
  name: "adapt",
  summary: "Replay an experiment's test set as a stream under update policies (drift protocol)",
  positionals: [{
    name: "CONFIG",
    description: "experiments/<id>.ts (absent with --captures)",
    optional: true,
  }],
  options: {
    policy: {
      type: "string",
      arg: "P[,P…]",
      description: "frozen, sliding, incremental, on-drift (comma-separated; frozen, run first, sets the " +
        "recall the others are compared at), or all",
      default: "all",
    },
    feedback: {
      type: "string",
      arg: "S[,S…]",
      description: "Shares of alerts the simulated analyst answers, e.g. 0,0.01",
      default: "0,0.01",
    },
    pick: {
      type: "string",
      arg: "HOW",
      choices: ["random", "borderline", "coverage"],
      description: "Alerts the analyst reviews: random, borderline (lowest-scoring first), or coverage " +
        "(one per densest group of alerts, skipping ones like a confirmed attack)",
      default: "random",
    },
    window: {
      type: "number",
      arg: "N",
      description: "Stream rows per window",
      default: 2000,
      integer: true,
      min: 1,
    },
    seed: {
      type: "number",
      arg: "N",
      description: "Seed of the split, detector and feedback picks",
      default: 0,
    },
    "accept-quantile": {
      type: "number",
      arg: "Q",
      min: 0,
      max: 1,
      description: "Learn only rows scoring at or below this quantile of the benign calibration scores",
      default: 0.9,
    },
    "max-learn": {
      type: "number",
      arg: "N",
      description: "Rows learned per update at most",
      default: 2000,
      integer: true,
      min: 1,
    },
    poison: {
      type: "string",
      arg: "CATEGORY",
      description:
        "Poisoning scenario: inject half of this attack category's test rows, lowest-scoring first " +
        "(100 a window), and measure the other half's detection before and after",
    },
    "update-readme": {
      type: "boolean",
      description:
        "Instead of a run: rewrite README.md's drift protocol table from results/*-adapt/seed*.json",
    },
    captures: {
      type: "string",
      arg: "DIR",
      description:
        "Instead of CONFIG: the capture stream (warm-up on web browsing, then SMTP, SSH and attacks) " +
        "from this pcap directory, e.g. ../shared/data/pcaps",
    },
    "at-recall": {
      type: "number",
      arg: "R",
      description: "Report FPR at this recall instead of the frozen model's (e.g. another detector's)",
    },
    "order-by": {
      type: "string",
      arg: "COLUMN",
      description: "Replay the test rows sorted by this column (e.g. Timestamp) instead of file order",
    },
    quick: { type: "boolean", description: "Cap the protocol's rows (smoke test)" },
    out: {
      type: "string",
      arg: "FILE",
      description: "Write every run and window as JSON here",
      writes: "file",
    },
  },
  details: `Fits the config's detector as nadir experiment does (same split, preprocessing, threshold), then
scores the main test set in file order, a window at a time. After each window the policy may refit the
detector on its pool of rows and the threshold on held-out benign rows: sliding (a fixed-size pool of
recent accepted rows), incremental (the pool only grows), on-drift (refit when ADWIN fires on the score
stream); frozen never does. Guard rails: only rows that raised no alert and scored at or below
--accept-quantile of the benign calibration scores are learned, at most --max-learn per update.
Feedback: after each window the oracle answers random alerts, up to the share of all alerts so far,
from the test labels (every label used is recorded); false positives join the pool, true positives keep
the threshold below their scores. docs/adaptation.md.

Example:
  deno task nadir adapt experiments/nsl-kdd-knn.ts --policy frozen,sliding --feedback 0,0.01`,
  async run(args) {
    const { options, positionals } = args;
    if (options["update-readme"]) {
      const { adaptationReadmeBlock, readAdaptRecords } = await import("../eval/adaptation_table.ts");
      const { replaceBetweenMarkers } = await import("../eval/compare.ts");
      const block = adaptationReadmeBlock(await readAdaptRecords("."));
      const text = await Deno.readTextFile("README.md");
      await Deno.writeTextFile("README.md", replaceBetweenMarkers(text, block, "adaptation"));
      console.error("adapt: README.md drift protocol table rewritten");
      return;
    }
    const captures = str(args, "captures");
    if (positionals.length !== (captures ? 0 : 1)) {
      throw new UsageError(
        captures
          ? `nadir adapt: --captures replaces CONFIG, found ${positionals.join(" ")}`
          : `nadir adapt: expected one CONFIG (or --captures DIR), found ${positionals.length}`,
      );
    }
    const { replayAdaptation, replayStream } = await import("../eval/adaptation.ts");
    const { UPDATE_POLICIES, checkPolicy } = await import("../adapt/policy.ts");
    let config: { id: string; quick?: { maxRows?: number } };
    let replay: (o: AdaptationOptions) => Promise<AdaptationResult>;
    let streamInfo: unknown;
    if (captures) {
      const { captureStream } = await import("../eval/adaptation_captures.ts");
      const input = await captureStream({ dir: captures, seed: Number(options.seed ?? 0) });
      config = { id: input.id };
      streamInfo = input.captures;
      replay = (o) => replayStream(input, o);
    } else {
      const { loadConfig } = await import("../eval/config.ts");
      const c = await loadConfig(positionals[0]);
      config = c;
      replay = (o) => replayAdaptation(c, o);
    }
    const p = str(args, "policy") ?? "all";
    let policies;
    try {
      policies = p === "all" ? [...UPDATE_POLICIES] : p.split(",").map((x) => checkPolicy(x.trim()));
    } catch (e) {
      throw new UsageError(`nadir adapt: --policy: ${(e as Error).message}`);
    }
    const shares = String(options.feedback ?? "0,0.01").split(",").map((s) => {
      const v = Number(s);
      if (!(v >= 0 && v <= 1)) {
        throw new UsageError(`nadir adapt: --feedback expects shares in [0, 1], found "${s}"`);
      }
      return v;
    });
    const atRecallOpt = options["at-recall"] === undefined ? undefined : Number(options["at-recall"]);
    if (atRecallOpt !== undefined && !(atRecallOpt > 0 && atRecallOpt <= 1)) {
      throw new UsageError(
        `nadir adapt: --at-recall expects a recall in (0, 1], found "${options["at-recall"]}"`,
      );
    }
    const runs = [];
    const pct = (v: number) => Number.isFinite(v) ? `${(100 * v).toFixed(2)} %` : "–";
    console.log(
      `| policy | feedback | FPR | recall | F1 | FPR at frozen recall | updates | answers (FP/TP) |`,
    );
    console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
    let frozenRecall: number | undefined;
    for (const policy of policies) {
      // Frozen learns nothing from feedback: it runs once, without, and sets the recall to compare at.
      for (const share of policy === "frozen" ? [0] : shares) {
        const r = await replay({
          policy,
          feedback: share,
          pick: (str(args, "pick") ?? "random") as "random" | "borderline" | "coverage",
          seed: Number(options.seed ?? 0),
          window: Number(options.window ?? 2000),
          guard: {
            acceptQuantile: Number(options["accept-quantile"] ?? 0.9),
            maxPerUpdate: Number(options["max-learn"] ?? 2000),
          },
          maxRows: options.quick ? (config.quick?.maxRows ?? 2000) : undefined,
          log: (l) => console.error(l),
          atRecall: atRecallOpt ?? frozenRecall,
          orderBy: str(args, "order-by"),
          poison: str(args, "poison") ? { category: str(args, "poison")! } : undefined,
        });
        if (policy === "frozen") frozenRecall = r.total.recall;
        runs.push(r);
        if (r.poison) {
          const p = r.poison;
          console.error(
            `${policy} (feedback ${
              pct(share)
            }) poisoning with ${p.category}: ${p.learned} of ${p.injected} injected rows ` +
              `learned; held-out detection ${pct(p.detectedBefore)} before, ${pct(p.detectedAfter)} after`,
          );
        }
        const fpAns = r.feedbackUsed.filter((f) => !f.label).length;
        const atFrozen = r.fprAtRecall ? pct(r.fprAtRecall.fpr) : "–";
        console.log(
          `| ${policy} | ${pct(share)} | ${pct(r.total.fpr)} | ${pct(r.total.recall)} | ${
            r.total.f1.toFixed(3)
          } | ` +
            `${atFrozen} | ${r.updates} | ${r.feedbackUsed.length} (${fpAns}/${
              r.feedbackUsed.length - fpAns
            }) |`,
        );
      }
    }
    const out = str(args, "out");
    if (out) {
      const { gitSha } = await import("../figures/provenance.ts");
      const record = {
        config: config.id,
        ...(streamInfo ? { captures: streamInfo } : {}),
        commit: gitSha() ?? null,
        date: new Date().toISOString(),
        runs,
      };
      await Deno.writeTextFile(out, JSON.stringify(record, null, 2) + "\n");
      console.error(`adapt: wrote ${out}`);
    }
  },
};
