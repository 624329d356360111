/**
 * `nadir model`: versioned model histories (src/detectors/model_history.ts,
 * docs/models.md "Model history and rollback").
 *
 *   nadir model init HOME --from MODEL_DIR   start a history whose v0001 is a copy of MODEL_DIR
 *   nadir model history HOME [--json]        versions (parent, created, reason, threshold), head marked *
 *   nadir model rollback HOME [--to V]       move HEAD to the head's parent (or to V); nothing is deleted
 *
 * Every command that takes a model directory (`predict --model`, `serve`,
 * `monitor`) also takes a history home and uses its head.
 *
 * @module
 */
import { type Command, str } from "./command.ts";
import { UsageError } from "../util/errors.ts";

function cell(v: unknown): string {
  if (v === undefined || v === null) return "-";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Pads each column to its widest cell (no spread: the rows are one per version). */
function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length));
  return rows.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd());
}

const init: Command = {
  name: "init",
  summary: "Start a model history whose first version (v0001) is a copy of a model directory",
  positionals: [{ name: "home", description: "Directory for the history (absent or empty)" }],
  options: {
    from: {
      type: "string",
      arg: "MODEL_DIR",
      description: "Model directory to copy (as `nadir train` writes)",
    },
    reason: {
      type: "string",
      arg: "TEXT",
      description: "Reason recorded for v0001",
      default: "initial model",
    },
  },
  details: `Example:
  deno task nadir model init models/knn-history --from models/knn
  deno task nadir predict --model models/knn-history --input nsl-kdd-test   # scores with the head`,
  async run(args) {
    const from = str(args, "from");
    if (!from) throw new UsageError("nadir model init: --from MODEL_DIR is required");
    const { initHistory } = await import("../detectors/model_history.ts");
    const home = args.positionals[0];
    const l = await initHistory(home, from, { reason: str(args, "reason") });
    console.log(`initialised ${home}: ${l.version} from ${from}`);
    return 0;
  },
};

const history: Command = {
  name: "history",
  summary: "List a model history's versions (head marked *) and its rollbacks",
  positionals: [{ name: "home", description: "Model history directory" }],
  options: {
    json: { type: "boolean", description: "Print one JSON object {home, head, versions, log} instead" },
  },
  async run(args) {
    const { readHistory } = await import("../detectors/model_history.ts");
    const home = args.positionals[0];
    const h = await readHistory(home);
    if (args.options.json) {
      console.log(JSON.stringify({ home, ...h }));
      return 0;
    }
    const withThreshold = h.versions.some((v) => v.threshold !== undefined);
    const rows = [["", "version", "parent", "created", ...(withThreshold ? ["threshold"] : []), "reason"]];
    for (const v of h.versions) {
      rows.push([
        v.version === h.head ? "*" : "",
        v.version,
        cell(v.parent),
        v.createdAt.replace(/\.\d+Z$/, "Z"),
        ...(withThreshold ? [cell(v.threshold)] : []),
        v.reason,
      ]);
    }
    for (const line of table(rows)) console.log(line);
    const rollbacks = h.log.filter((e) => e.action === "rollback");
    if (rollbacks.length) {
      console.log("\nrollbacks:");
      for (const e of rollbacks) {
        console.log(`  ${e.at.replace(/\.\d+Z$/, "Z")}  ${e.from} → ${e.to}  ${e.reason}`);
      }
    }
    return 0;
  },
};

const rollback: Command = {
  name: "rollback",
  summary: "Move a model history's head back to its parent (or to --to VERSION); no version is deleted",
  positionals: [{ name: "home", description: "Model history directory" }],
  options: {
    to: {
      type: "string",
      arg: "VERSION",
      description: "Version to make the head (default: the head's parent)",
    },
    reason: { type: "string", arg: "TEXT", description: "Reason recorded in the log", default: "rollback" },
  },
  details: `A rollback only moves HEAD.json and appends to log.jsonl, so it can be undone:
  deno task nadir model rollback models/knn-history            # v0003 → v0002
  deno task nadir model rollback models/knn-history --to v0003 # back again
A running \`nadir monitor\` scoring from this history follows the new head within 2 s; \`nadir serve\`
keeps the model it loaded until restarted.`,
  async run(args) {
    const { rollback } = await import("../detectors/model_history.ts");
    const home = args.positionals[0];
    const r = await rollback(home, { to: str(args, "to"), reason: str(args, "reason") });
    console.log(`rolled back ${home}: ${r.from} → ${r.to}`);
    return 0;
  },
};

export const command: Command = {
  name: "model",
  summary: "Versioned model histories: init, history, rollback",
  subcommands: [init, history, rollback],
};
