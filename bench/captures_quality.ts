/**
 * Detection on labelled captures (src/eval/captures_protocol.ts): flow-lm
 * next to the autoencoder and KitNET, each on whole-flow aggregates (`basic`),
 * on the same plus each flow's first 8 packets (`packets`), and on that plus
 * the source host's recent flows (`context`). AUROC over
 * every test flow and per attack (FTP brute force, SYN scan, ICMP sweep, DHCP
 * flood: each attack's flows against all benign test flows), mean of the
 * seeds. Default hyperparameters; nothing is tuned on these labels.
 *
 * Usage: `deno task bench captures [--seeds 1,2,3,4,5] [--detectors flow-lm,autoencoder,kitnet]
 * [--features basic,packets,context,hosts]`. Writes `bench/results/captures-<stamp>.json`; docs/llm.md's table is
 * generated from the newest full record.
 *
 * @module
 */
import { rocAuc } from "../src/eval/metrics.ts";
import { createDetector, detectorBackend } from "../src/detectors/registry.ts";
import { aggregateSurprisal, type FlowLmScores } from "../src/detectors/flow_lm.ts";
import { CAPTURES_PROTOCOL, capturesSplit } from "../src/eval/captures_protocol.ts";
import type { FeatureSetName } from "../src/flows/features/mod.ts";
import { join } from "node:path";
import { existsSync } from "../src/util/fs.ts";
import { type Cell, printTable, saveRecord, type Table } from "./_record.ts";

const DEFAULT_DETECTORS = "flow-lm,autoencoder,kitnet";
const DEFAULT_FEATURES = "basic,packets,context,hosts";
const DEFAULT_SEEDS = "1,2,3,4,5";

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

interface Row {
  seed: number;
  features: string;
  detector: string;
  auroc: number;
  perAttack: Record<string, number>;
}

/** AUROC of each attack's flows against every benign test flow. */
function perAttack(attack: string[], scores: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of [...new Set(attack.filter((a) => a))].sort()) {
    const idx = attack.map((t, i) => (t === a || t === "") ? i : -1).filter((i) => i >= 0);
    out[a] = rocAuc(Int32Array.from(idx, (i) => attack[i] ? 1 : 0), Float64Array.from(idx, (i) => scores[i]));
  }
  return out;
}

/** Runs the comparison, prints the tables and writes the record. */
export async function main(args: string[] = []): Promise<Row[]> {
  const seeds = (arg(args, "--seeds") ?? DEFAULT_SEEDS).split(",").map(Number);
  const detectors = (arg(args, "--detectors") ?? DEFAULT_DETECTORS).split(",");
  const sets = (arg(args, "--features") ?? DEFAULT_FEATURES).split(",") as FeatureSetName[];
  const shared = "../shared/data";
  const captureDir = existsSync(join(shared, "nfstream/pcaps")) ? shared : undefined;
  const rows: Row[] = [];
  let counts: Record<string, unknown> = {};
  for (const seed of seeds) {
    for (const features of sets) {
      const s = await capturesSplit({ features, seed, captureDir });
      counts = { ...counts, [features]: { ...s.counts, columns: s.train.cols } };
      console.error(`seed ${seed} ${features}: train ${s.train.rows} × ${s.train.cols}, test ${s.test.rows}`);
      for (const name of detectors) {
        // KitNET's feature-mapping grace (default 5,000 rows) is longer than this training set: a tenth of it.
        const params = name === "kitnet" ? { fmGrace: Math.max(10, Math.floor(s.train.rows / 10)) } : {};
        const d = createDetector(name, params, seed);
        await d.fit(s.train);
        const score = await d.score(s.test);
        const push = (label: string, v: Float64Array) => {
          rows.push({
            seed,
            features,
            detector: label,
            auroc: rocAuc(s.y, v),
            perAttack: perAttack(s.attack, v),
          });
          const r = rows[rows.length - 1];
          console.error(`  ${label}: AUROC ${r.auroc.toFixed(4)} ${JSON.stringify(r.perAttack)}`);
        };
        push(name, score);
        if (name === "flow-lm") {
          const lm = d as unknown as FlowLmScores;
          const sur = await lm.surprisal(s.test);
          push(
            "flow-lm score=ztopk",
            aggregateSurprisal(sur, sur.length / s.test.rows, "ztopk", 5, lm.fieldStats),
          );
          push("flow-lm score=knn", lm.neighbourScore(s.test));
        }
        d.dispose?.();
      }
    }
  }
  const attacks = [...new Set(rows.flatMap((r) => Object.keys(r.perAttack)))].sort();
  const mean = (f: (r: Row) => number, features: string, detector: string): Cell => {
    const v = rows.filter((r) => r.features === features && r.detector === detector).map(f);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  const labels = [...new Set(rows.map((r) => r.detector))];
  const table: Table = {
    id: "auroc",
    title:
      `AUROC on labelled captures (benign: ${CAPTURES_PROTOCOL.benign.length} sources, attacks: ${CAPTURES_PROTOCOL.attacks.length} captures), mean of seeds ${
        seeds.join(", ")
      }`,
    columns: [
      { key: "features", label: "features" },
      { key: "detector", label: "detector" },
      { key: "all", label: "all attacks", digits: 4 },
      ...attacks.map((a) => ({ key: a, label: a, digits: 4 })),
    ],
    rows: sets.flatMap((features) =>
      labels.map((detector) => ({
        features,
        detector,
        all: mean((r) => r.auroc, features, detector),
        ...Object.fromEntries(
          attacks.map((a) => [a, mean((r) => r.perAttack[a] ?? NaN, features, detector)]),
        ),
      }))
    ),
    notes: [
      "basic: NFStream's whole-flow columns; packets: the same plus each flow's first 8 packets (signed size, " +
      "gap); context: packets plus the source host's flows in the last 60 s (counts, distinct ports and " +
      "addresses) and its last 4 flows (port, protocol, packets, bytes, gap); hosts: context plus the " +
      "destination's flows in the last 60 s (count, distinct sources, same port) and the service's (protocol " +
      "and destination port: count, distinct sources and destinations).",
      "Per-attack columns: that attack's flows against every benign test flow. flow-lm score=ztopk is the same " +
      "fitted flow-lm with each field's surprisal standardised by its benign held-out spread, top 5 fields; " +
      "flow-lm score=knn the same model's hidden states' distance to the 5th nearest benign training row's.",
      `Captures from ${captureDir ?? "the repository's data/"}. Flows: ${JSON.stringify(counts)}.`,
      "KitNET's feature-mapping grace is a tenth of the training rows (its default, 5,000, exceeds them).",
    ],
  };
  printTable(table);
  await saveRecord("captures", {
    engine: detectorBackend("flow-lm"),
    params: {
      captureDir: captureDir ?? "data",
      seeds,
      detectors,
      features: sets,
      partial: detectors.join(",") !== DEFAULT_DETECTORS || sets.join(",") !== DEFAULT_FEATURES ||
        seeds.join(",") !== DEFAULT_SEEDS,
    },
    tables: [table],
  });
  return rows;
}

if (import.meta.main) await main(Deno.args);
